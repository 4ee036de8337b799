//! Prints the IR of an ONNX model: `cargo run -p qcc-frontends --example onnx_dump -- model.onnx`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: onnx_dump MODEL.onnx");
        std::process::exit(2);
    };
    match qcc_frontends::onnx::load_onnx(std::path::Path::new(&path)) {
        Ok(m) => print!("{}", qcc_ir::text::print_module(&m)),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
