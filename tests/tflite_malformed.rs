//! Malformed `.tflite` files (made by `scripts/gen_malformed_tflite.py` from small corpus
//! models): each must end in the specific one-line error, never a panic.

use qcc_frontends::tflite::{load_tflite, TfliteError};
use qcc_tests::fixture;

/// (fixture name, substrings the error message must contain).
const CASES: &[(&str, &[&str])] = &[
    (
        "empty",
        &["not a valid TFLite flatbuffer", "0 bytes, too short"],
    ),
    ("truncated_8_bytes", &["not a valid TFLite flatbuffer"]),
    ("truncated_half", &["not a valid TFLite flatbuffer"]),
    ("truncated_tail", &["not a valid TFLite flatbuffer"]),
    ("bad_identifier", &["file identifier", "TFL3"]),
    ("root_offset_past_end", &["not a valid TFLite flatbuffer"]),
    (
        "garbage_with_identifier",
        &["not a valid TFLite flatbuffer"],
    ),
    ("schema_version_2", &["unsupported schema version 2"]),
    (
        "op_input_index_out_of_range",
        &["operator #0", "tensor index 4242 is out of range"],
    ),
    (
        "op_input_index_negative",
        &["operator #1", "tensor index -7 is out of range"],
    ),
    (
        "graph_output_index_out_of_range",
        &["graph output tensor index 99 is out of range"],
    ),
    (
        "opcode_index_out_of_range",
        &["opcode index 77 is out of range"],
    ),
    (
        "buffer_index_out_of_range",
        &["buffer index 500 is out of range"],
    ),
    ("buffer_too_short_for_shape", &["bytes but shape"]),
    (
        "missing_weight_buffer",
        &["operator #1", "FULLY_CONNECTED", "non-constant weights"],
    ),
    (
        "scale_zero_point_count_mismatch",
        &["1 scales but 0 zero points"],
    ),
    (
        "zero_scale",
        &["quantization scale 0 is not a positive finite number"],
    ),
    (
        "zero_point_out_of_range",
        &["zero point 1000 is outside the i8 range"],
    ),
    ("unknown_tensor_type", &["unsupported tensor type"]),
    ("negative_dim", &["negative dim -5"]),
    (
        "output_shape_mismatch",
        &["operator #0", "computed output shape"],
    ),
    ("too_few_op_inputs", &["operator #0", "has 1 inputs"]),
    (
        "unsupported_op_svdf",
        &[
            "operator #0",
            "unsupported op SVDF (builtin code 27, version",
        ],
    ),
    (
        "unsupported_op_version",
        &[
            "operator #0",
            "FULLY_CONNECTED",
            "version 99 is not supported",
        ],
    ),
    (
        "quantized_dimension_out_of_range",
        &["quantized_dimension 7 is out of range"],
    ),
    (
        "per_axis_scale_count_mismatch",
        &["7 per-axis scales for dim 3 of size 8"],
    ),
    (
        "depthwise_stride_zero",
        &[
            "operator #1",
            "DEPTHWISE_CONV_2D",
            "stride_w must be positive",
        ],
    ),
];

#[test]
fn malformed_files_give_specific_errors() {
    let mut failures = Vec::new();
    for (name, wanted) in CASES {
        let path = fixture(&format!("tflite_malformed/{name}.tflite"));
        match load_tflite(&path) {
            Ok(_) => failures.push(format!("{name}: loaded without error")),
            Err(e) => {
                let msg = e.to_string();
                if msg.contains('\n') {
                    failures.push(format!("{name}: multi-line message {msg:?}"));
                }
                if !msg.starts_with(&path.display().to_string()) {
                    failures.push(format!(
                        "{name}: message does not start with the file: {msg}"
                    ));
                }
                for w in wanted.iter() {
                    if !msg.contains(w) {
                        failures.push(format!("{name}: {msg:?} lacks {w:?}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn at_least_twenty_malformed_fixtures() {
    let n = std::fs::read_dir(fixture("tflite_malformed"))
        .unwrap()
        .filter(|e| {
            let p = e.as_ref().unwrap().path();
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            p.extension().is_some_and(|x| x == "tflite") && !stem.starts_with("ok_")
        })
        .count();
    assert!(n >= 20, "only {n} malformed fixtures");
    assert_eq!(
        n,
        CASES.len(),
        "every fixture needs an expected error in CASES"
    );
}

#[test]
fn deprecated_builtin_code_fallback_is_used() {
    // builtin_code was overwritten with 0 (ADD); deprecated_builtin_code still says
    // FULLY_CONNECTED, and TFLite takes the larger of the two.
    let m = load_tflite(&fixture(
        "tflite_malformed/ok_deprecated_builtin_code_fallback.tflite",
    ))
    .unwrap();
    assert!(m
        .graph
        .nodes
        .iter()
        .any(|n| n.op.name() == "qfully_connected"));
}

#[test]
fn unsupported_op_error_names_index_code_and_version() {
    let e = load_tflite(&fixture("tflite_malformed/unsupported_op_svdf.tflite")).unwrap_err();
    assert!(matches!(
        e,
        TfliteError::UnsupportedOp {
            index: 0,
            code: 27,
            ..
        }
    ));
}
