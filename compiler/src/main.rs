//! The `qcc` binary.

use clap::Parser;

fn main() {
    let cli = qcc::cli::Cli::parse();
    if let Err(e) = qcc::cli::run_cli(cli) {
        // One line: the outermost context first, then the causes.
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("qcc: error: {}", msg.join(": ").replace('\n', " "));
        std::process::exit(1);
    }
}
