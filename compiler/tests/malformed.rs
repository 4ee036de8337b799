//! Malformed models, IR files, .npy inputs and command lines: each must end in a one-line
//! error naming what is wrong, a non-zero exit code, and never a panic.
//! Fixtures: `tests/fixtures/malformed/` (written by `scripts/make_malformed_fixtures.py`).

use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/malformed")
}

/// Runs qcc with `args` (paths relative to the fixture folder) and returns (exit code, stderr).
fn qcc(args: &[&str]) -> (i32, String) {
    let out_dir = std::env::temp_dir().join(format!("qcc-malformed-{}", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qcc"));
    cmd.current_dir(fixtures());
    for a in args {
        cmd.arg(a.replace("{out}", &out_dir.to_string_lossy()));
    }
    let out = cmd.output().expect("qcc runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One case: the command line and text the error must contain.
struct Case {
    args: &'static [&'static str],
    expect: &'static [&'static str],
}

const fn case(args: &'static [&'static str], expect: &'static [&'static str]) -> Case {
    Case { args, expect }
}

const CASES: &[Case] = &[
    // Broken model files.
    case(&["no_such_model.onnx"], &["no_such_model.onnx"]),
    case(&["input_ok.npy"], &["unknown model format"]),
    case(&["empty_file.onnx"], &["empty_file.onnx"]),
    case(&["truncated_protobuf.onnx"], &["truncated_protobuf.onnx"]),
    case(
        &["truncated_first_bytes.onnx"],
        &["truncated_first_bytes.onnx"],
    ),
    case(&["garbage_bytes.onnx"], &["garbage_bytes.onnx"]),
    case(&["text_not_protobuf.onnx"], &["text_not_protobuf.onnx"]),
    case(
        &["unsupported_op.onnx"],
        &["unsupported op 'Foo'", "opset 17", "foo_1"],
    ),
    case(&["missing_initializer.onnx"], &["mm", "W_missing"]),
    case(&["cyclic_graph.onnx"], &["cyclic_graph.onnx"]),
    case(&["bad_attribute_type.onnx"], &["conv_0", "strides"]),
    case(&["conv_channel_mismatch.onnx"], &["conv_0"]),
    case(&["matmul_shape_mismatch.onnx"], &["mm"]),
    case(&["raw_data_wrong_length.onnx"], &["'W'"]),
    case(&["unsupported_dtype_float16.onnx"], &["float16"]),
    case(&["external_data.onnx"], &["external"]),
    case(&["reshape_impossible.onnx"], &["reshape_0"]),
    case(&["quantize_zero_scale.onnx"], &["q0", "scale"]),
    case(&["quantize_negative_scale.onnx"], &["q0", "scale"]),
    case(&["per_axis_scale_length_mismatch.onnx"], &["dq_w"]),
    case(&["duplicate_definition.onnx"], &["'y'"]),
    case(&["undefined_graph_output.onnx"], &["'z'"]),
    case(&["opset_too_new.onnx"], &["opset 99"]),
    case(&["concat_axis_out_of_range.onnx"], &["cat"]),
    case(&["transpose_bad_perm.onnx"], &["tr"]),
    case(
        &["gather_index_out_of_range.onnx"],
        &["gather_0", "Gather", "index 5 is out of range"],
    ),
    case(
        &["expand_incompatible_shape.onnx"],
        &["expand_0", "Expand", "broadcast"],
    ),
    case(&["split_sizes_do_not_sum.onnx"], &["split_0"]),
    case(&["gemm_rank3.onnx"], &["gemm_0"]),
    case(&["conv_missing_weight_operand.onnx"], &["conv_0"]),
    case(
        &["maxpool_missing_kernel.onnx"],
        &["pool_0", "kernel_shape"],
    ),
    case(&["no_graph_outputs.onnx"], &["output"]),
    case(&["declared_output_shape_mismatch.onnx"], &["'y'"]),
    case(&["negative_input_dim.onnx"], &["'x'"]),
    case(&["bad_ir.qir"], &["bad_ir.qir:3:", "undefined"]),
    case(&["model.tflite"], &["model.tflite"]),
    // Bad inputs to `qcc run` on a valid model (x: f32 [1, 4]).
    case(
        &["run", "valid_matmul_relu.onnx", "--output-dir", "{out}"],
        &["1 input(s), 0 .npy"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_ok.npy",
            "-i",
            "input_ok.npy",
            "--output-dir",
            "{out}",
        ],
        &["1 input(s), 2 .npy"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_wrong_dtype.npy",
            "--output-dir",
            "{out}",
        ],
        &["i32", "f32"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_wrong_rank.npy",
            "--output-dir",
            "{out}",
        ],
        &["rank"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_wrong_dim.npy",
            "--output-dir",
            "{out}",
        ],
        &["5"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_fortran.npy",
            "--output-dir",
            "{out}",
        ],
        &["Fortran"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_complex.npy",
            "--output-dir",
            "{out}",
        ],
        &["unsupported dtype"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_truncated.npy",
            "--output-dir",
            "{out}",
        ],
        &["input_truncated.npy"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_garbage.npy",
            "--output-dir",
            "{out}",
        ],
        &["input_garbage.npy"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "no_such_input.npy",
            "--output-dir",
            "{out}",
        ],
        &["no_such_input.npy"],
    ),
    case(
        &["run", "valid_matmul_relu.onnx", "-i", "input_ok.npy"],
        &["--output-dir"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_ok.npy",
            "--output-dir",
            "input_ok.npy",
        ],
        &["input_ok.npy"],
    ),
    case(
        &[
            "run",
            "valid_matmul_relu.onnx",
            "-i",
            "input_wrong_dim.npy",
            "-o",
            "{out}.npy",
            "--engine",
            "interp",
        ],
        &["5"],
    ),
    // Bad command lines (clap reports these; exit code 2).
    case(&["valid_matmul_relu.onnx", "-O7"], &["-O"]),
    case(&["valid_matmul_relu.onnx", "--target", "riscv"], &["riscv"]),
    case(&["valid_matmul_relu.onnx", "--emit", "pdf"], &["pdf"]),
];

#[test]
fn every_malformed_input_gives_a_one_line_error() {
    assert!(CASES.len() >= 30);
    let mut problems = Vec::new();
    for c in CASES {
        let (code, stderr) = qcc(c.args);
        let what = c.args.join(" ");
        if code == 0 {
            problems.push(format!("`qcc {what}` succeeded"));
            continue;
        }
        if stderr.contains("panicked") || code == 101 {
            problems.push(format!("`qcc {what}` panicked: {stderr}"));
            continue;
        }
        // clap usage errors span a few lines; qcc's own errors are one line.
        let is_clap = code == 2;
        if !is_clap && stderr.trim().lines().count() != 1 {
            problems.push(format!("`qcc {what}`: error is not one line:\n{stderr}"));
        }
        for e in c.expect {
            if !stderr.contains(e) {
                problems.push(format!(
                    "`qcc {what}`: error lacks '{e}': {}",
                    stderr.trim()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_valid_model_runs() {
    let out = std::env::temp_dir().join(format!("qcc-valid-{}.npy", std::process::id()));
    let (code, stderr) = qcc(&[
        "run",
        "valid_matmul_relu.onnx",
        "-i",
        "input_ok.npy",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let y = qcc::npy::read_npy(&out).unwrap();
    // x = ones(1,4), W = ones(4,4): relu(x @ W) = 4 everywhere.
    assert_eq!(y.as_slice::<f32>().unwrap(), &[4.0; 4]);
}
