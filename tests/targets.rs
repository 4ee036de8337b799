//! Target descriptions are data: a description file decides which rewrites run.

use qcc_passes::{optimize_with, OptLevel, Options, Target};

const SIGMOID_AND_CONCAT: &str = "module @t requant=float\n\nfunc @main(%x: tensor<2x4xf32>) {\n  %q = quantize %x : tensor<2x4xu8, q(0.05, 128)>\n  %d = dequantize %q : tensor<2x4xf32>\n  %s = sigmoid %d : tensor<2x4xf32>\n  %qs = quantize %s : tensor<2x4xu8, q(0.00390625, 0)>\n  %ds = dequantize %qs : tensor<2x4xf32>\n  %c = concat %d, %d {axis=1} : tensor<2x8xf32>\n  %qc = quantize %c : tensor<2x8xu8, q(0.05, 128)>\n  %dc = dequantize %qc : tensor<2x8xf32>\n  return %ds, %dc\n}\n";

fn optimise(target: Target) -> (Vec<String>, String) {
    let m = qcc_ir::text::parse_module(SIGMOID_AND_CONCAT).unwrap();
    let opts = Options {
        level: OptLevel::O2,
        target,
        ..Options::default()
    };
    let (out, report) = optimize_with(m, &opts).unwrap();
    (
        report.fired.keys().cloned().collect(),
        qcc_ir::text::print_module(&out),
    )
}

#[test]
fn builtin_targets_have_tables_and_integer_concat() {
    for name in ["native", "x86-avxvnni", "x86-avx2", "x86-64", "generic"] {
        let (fired, out) = optimise(Target::builtin(name).unwrap());
        assert!(
            fired.contains(&"sigmoid-to-lut".to_string()),
            "{name}: {fired:?}"
        );
        assert!(
            fired.contains(&"concat-on-integers".to_string()),
            "{name}: {fired:?}"
        );
        assert!(!out.contains("= sigmoid"), "{out}");
    }
}

#[test]
fn a_target_file_without_lut_or_concat_keeps_them_float() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/targets/no-lut.target"
    );
    let target = Target::load(std::path::Path::new(path)).unwrap();
    let (fired, out) = optimise(target);
    assert!(!fired.iter().any(|f| f == "sigmoid-to-lut"), "{fired:?}");
    assert!(
        !fired.iter().any(|f| f == "concat-on-integers"),
        "{fired:?}"
    );
    assert!(
        out.contains("= sigmoid") && out.contains("= concat"),
        "{out}"
    );
}

#[test]
fn malformed_target_files_name_the_line() {
    let e = Target::parse("t.target", "fused_ops = qconv\nbogus = 1\n").unwrap_err();
    assert_eq!(e, "t.target:2: unknown key 'bogus' (known: fused_ops, share_qparams, fixed_qparams, storage, disable)");
    let e = Target::parse("t.target", "# ok\nfused_ops qconv\n").unwrap_err();
    assert!(e.starts_with("t.target:2: expected 'key = values'"), "{e}");
}
