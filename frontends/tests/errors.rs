//! Every malformed input is an error with a one-line message naming the file (and node).

mod common;
use common::*;
use prost::Message;

fn assert_one_line(msg: &str) {
    assert!(!msg.contains('\n'), "multi-line message: {msg}");
    assert!(
        msg.starts_with("m.onnx: "),
        "message does not name the file: {msg}"
    );
}

fn relu_model() -> M {
    M::new(13)
        .input(vi("x", DT::Float, &[1, 4]))
        .node(node("Relu", "r", &["x"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[1, 4]))
}

#[test]
fn unsupported_op_names_op_opset_and_node() {
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1]))
        .node(node("Foo", "conv_3", &["x"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: unsupported op 'Foo' (opset 13) at node 'conv_3'"
    );
}

#[test]
fn unsupported_domain_op_is_qualified() {
    let e = M::new(17)
        .opset_import("com.microsoft", 1)
        .input(vi("x", DT::Float, &[1]))
        .node(ms_node("FusedGemm", "", &["x"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: unsupported op 'com.microsoft.FusedGemm' (opset 1) at node 'FusedGemm_0'"
    );
}

#[test]
fn op_newer_than_the_opset_is_unsupported() {
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1]))
        .node(node("HardSwish", "h", &["x"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: unsupported op 'HardSwish' (opset 13) at node 'h'"
    );
}

#[test]
fn missing_input_is_named() {
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1, 1, 4, 4]))
        .node(node("Conv", "n4", &["x", "w"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(e, "m.onnx: node 'n4' (Conv): input 'w' is not defined");
}

#[test]
fn missing_required_input_slot() {
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1, 1, 4, 4]))
        .node(node("Conv", "c", &["x"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(e, "m.onnx: node 'c' (Conv): expected 2 to 3 inputs, got 1");
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1, 1, 4, 4]))
        .node(node("Conv", "c", &["x", ""], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(e, "m.onnx: node 'c' (Conv): missing required input #1");
}

#[test]
fn wrong_attribute_type() {
    let e = M::new(13)
        .input(vi("x", DT::Float, &[2, 3]))
        .node(node(
            "Flatten",
            "f",
            &["x"],
            &["y"],
            vec![a_float("axis", 1.0)],
        ))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: node 'f' (Flatten): attribute 'axis' has type FLOAT, expected INT"
    );
}

#[test]
fn truncated_bytes() {
    let b = relu_model().bytes();
    let e = load_bytes(&b[..b.len() - 3]).unwrap_err();
    assert!(e.starts_with("m.onnx: not a valid ONNX protobuf: "), "{e}");
    assert_one_line(&e);
}

#[test]
fn corrupt_and_empty_bytes() {
    let e = load_bytes(b"\xff\xff\xff\xff garbage").unwrap_err();
    assert!(e.starts_with("m.onnx: not a valid ONNX protobuf: "), "{e}");
    let e = load_bytes(b"").unwrap_err();
    assert_eq!(e, "m.onnx: not a valid ONNX protobuf: empty file");
}

#[test]
fn no_truncation_or_byte_flip_panics() {
    // A model exercising initializers, attributes and several ops.
    let m = M::new(13)
        .input(vi_sym("x", DT::Float, &["N", "1", "4", "4"]))
        .init(f32s("w", &[2, 1, 3, 3], &[0.5; 18]))
        .init(i64s("shape", &[2], &[-1, 32]))
        .init(scalar_f32("s", 0.1))
        .init(ints("z", DT::Uint8, &[], &[3]))
        .node(node(
            "Conv",
            "c",
            &["x", "w"],
            &["c"],
            vec![a_str("auto_pad", "SAME_UPPER")],
        ))
        .node(node(
            "QuantizeLinear",
            "q",
            &["c", "s", "z"],
            &["q"],
            vec![],
        ))
        .node(node(
            "DequantizeLinear",
            "dq",
            &["q", "s", "z"],
            &["d"],
            vec![],
        ))
        .node(node("Reshape", "r", &["d", "shape"], &["y"], vec![]))
        .output(vi_sym("y", DT::Float, &["N", "32"]));
    m.ok();
    let b = m.bytes();
    for n in 0..b.len() {
        let _ = load_bytes(&b[..n]);
    }
    for i in 0..b.len() {
        for x in [0xff, 0x01, 0x80] {
            let mut c = b.clone();
            c[i] ^= x;
            if let Err(e) = load_bytes(&c) {
                assert_one_line(&e);
            }
        }
    }
}

#[test]
fn cyclic_graph() {
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1]))
        .node(node("Add", "a", &["x", "b_out"], &["a_out"], vec![]))
        .node(node("Relu", "b", &["a_out"], &["b_out"], vec![]))
        .output_name("b_out")
        .err();
    assert_eq!(
        e,
        "m.onnx: node 'a' (Add): the graph has a cycle through this node"
    );
    let e = M::new(13)
        .node(node("Relu", "self", &["y"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: node 'self' (Relu): the graph has a cycle through this node"
    );
}

#[test]
fn nodes_out_of_order_are_sorted() {
    let m = M::new(13)
        .input(vi("x", DT::Float, &[2]))
        .node(node("Neg", "b", &["t"], &["y"], vec![]))
        .node(node("Relu", "a", &["x"], &["t"], vec![]))
        .output(vi("y", DT::Float, &[2]))
        .ok();
    assert_eq!(ops(&m), ["relu", "neg"]);
}

#[test]
fn raw_data_of_the_wrong_length() {
    let e = relu_model()
        .init(raw("w", DT::Float, &[2, 2], vec![0; 15]))
        .err();
    assert_eq!(
        e,
        "m.onnx: initializer 'w': raw_data has 15 bytes, expected 16 (4 x f32 for shape [2, 2])"
    );
    let e = relu_model().init(f32s("w", &[3], &[1.0, 2.0])).err();
    assert_eq!(
        e,
        "m.onnx: initializer 'w': float_data has 2 elements, shape [3] needs 3"
    );
}

#[test]
fn unsupported_dtypes_name_the_tensor() {
    let e = relu_model()
        .init(raw("half", DT::Float16, &[2], vec![0; 4]))
        .err();
    assert_eq!(e, "m.onnx: initializer 'half': unsupported dtype FLOAT16");
    let e = relu_model()
        .init(raw("b", DT::Bfloat16, &[1], vec![0; 2]))
        .err();
    assert_eq!(e, "m.onnx: initializer 'b': unsupported dtype BFLOAT16");
    let e = relu_model()
        .init(raw("f8", DT::Float8e4m3fn, &[1], vec![0]))
        .err();
    assert_eq!(
        e,
        "m.onnx: initializer 'f8': unsupported dtype FLOAT8E4M3FN"
    );
    let e = M::new(13)
        .input(vi("x", DT::Float16, &[1]))
        .node(node("Relu", "r", &["x"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(e, "m.onnx: graph input 'x' has unsupported dtype FLOAT16");
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1]))
        .node(node(
            "Cast",
            "c",
            &["x"],
            &["y"],
            vec![a_int("to", DT::Float16 as i64)],
        ))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: node 'c' (Cast): unsupported at opset 13: Cast to FLOAT16"
    );
}

#[test]
fn external_data() {
    let mut t = f32s("w", &[1], &[]);
    t.data_location = Some(1);
    t.external_data
        .push(tract_onnx::pb::StringStringEntryProto {
            key: "location".into(),
            value: "w.bin".into(),
        });
    let e = relu_model().init(t).err();
    assert_eq!(
        e,
        "m.onnx: initializer 'w': external data can only be read when the model is loaded from its file"
    );
}

#[test]
fn negative_dims() {
    let e = relu_model().init(f32s("w", &[-1], &[])).err();
    assert_eq!(e, "m.onnx: initializer 'w': negative dimension -1 in [-1]");
    let mut bad = vi("x", DT::Float, &[1]);
    if let Some(tract_onnx::pb::type_proto::Value::TensorType(t)) =
        bad.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.shape.as_mut().unwrap().dim[0].value =
            Some(tract_onnx::pb::tensor_shape_proto::dimension::Value::DimValue(-3));
    }
    let e = M::new(13)
        .input(bad)
        .node(node("Relu", "r", &["x"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(e, "m.onnx: graph input 'x' has a negative dimension -3");
}

#[test]
fn duplicate_output_names() {
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1]))
        .node(node("Relu", "a", &["x"], &["y"], vec![]))
        .node(node("Neg", "b", &["x"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(e, "m.onnx: node 'b' (Neg): output 'y' is already defined");
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1]))
        .node(node("Relu", "a", &["x"], &["x"], vec![]))
        .output_name("x")
        .err();
    assert_eq!(e, "m.onnx: node 'a' (Relu): output 'x' is already defined");
    let e = relu_model().output(vi("y", DT::Float, &[1, 4])).err();
    assert_eq!(e, "m.onnx: graph output 'y' is listed twice");
}

#[test]
fn shape_mismatch_from_inference() {
    let e = M::new(13)
        .input(vi("a", DT::Float, &[2, 3]))
        .input(vi("b", DT::Float, &[4, 5]))
        .node(node("Add", "add", &["a", "b"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert!(e.starts_with("m.onnx: node 'add' (Add): add: "), "{e}");
    assert_one_line(&e);
}

#[test]
fn declared_output_types_are_checked() {
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1, 4]))
        .node(node("Relu", "r", &["x"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[1, 5]))
        .err();
    assert_eq!(
        e,
        "m.onnx: graph output 'y' is declared with shape [1x5] but computes [1x4]"
    );
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1, 4]))
        .node(node("Relu", "r", &["x"], &["y"], vec![]))
        .output(vi("y", DT::Int8, &[1, 4]))
        .err();
    assert_eq!(
        e,
        "m.onnx: graph output 'y' is declared i8 but computes f32"
    );
    // Symbolic or unknown declared dims never conflict.
    M::new(13)
        .input(vi("x", DT::Float, &[1, 4]))
        .node(node("Relu", "r", &["x"], &["y"], vec![]))
        .output(vi_sym("y", DT::Float, &["N", "?"]))
        .ok();
}

#[test]
fn model_level_errors() {
    let mut p = relu_model().proto();
    p.graph = None;
    let e = load_bytes(&p.encode_to_vec()).unwrap_err();
    assert_eq!(e, "m.onnx: model has no graph");
    let e = M::new(29)
        .input(vi("x", DT::Float, &[1]))
        .output_name("x")
        .err();
    assert_eq!(
        e,
        "m.onnx: unsupported ai.onnx opset 29 (supported: 1..=28)"
    );
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1]))
        .output_name("nope")
        .err();
    assert_eq!(e, "m.onnx: graph output 'nope' is not defined");
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1]))
        .input(vi("x", DT::Float, &[1]))
        .output_name("x")
        .err();
    assert_eq!(e, "m.onnx: graph input 'x' is listed twice");
}

#[test]
fn unsupported_variants_are_node_errors() {
    let e = M::new(13)
        .input(vi_sym("x", DT::Float, &["1", "1", "H", "4"]))
        .node(node(
            "MaxPool",
            "mp",
            &["x"],
            &["y", "i"],
            vec![a_ints("kernel_shape", &[2, 2]), a_int("storage_order", 1)],
        ))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: node 'mp' (MaxPool): unsupported at opset 13: MaxPool with storage_order=1 other than 2-d pooling of a fixed H x W"
    );
    let e = M::new(13)
        .input(vi("x", DT::Float, &[1, 4]))
        .node(node(
            "Pad",
            "p",
            &["x", "pads"],
            &["y"],
            vec![a_str("mode", "mirror")],
        ))
        .init(i64s("pads", &[4], &[0, 1, 0, 1]))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: node 'p' (Pad): unsupported at opset 13: Pad mode 'mirror'"
    );
}

#[test]
fn quantization_parameter_errors() {
    // Zero point dtype differs from the quantized input.
    let e = M::new(13)
        .input(vi("x", DT::Int8, &[4]))
        .init(scalar_f32("s", 0.5))
        .init(ints("z", DT::Uint8, &[], &[0]))
        .node(node(
            "DequantizeLinear",
            "dq",
            &["x", "s", "z"],
            &["y"],
            vec![],
        ))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: node 'dq' (DequantizeLinear): zero point 'z' has dtype u8, the quantized input has dtype i8"
    );
    // Per-axis scale count that does not match the axis.
    let e = M::new(13)
        .init(ints("w", DT::Int8, &[3, 2], &[1, 2, 3, 4, 5, 6]))
        .init(f32s("s", &[2], &[0.5, 0.25]))
        .node(node(
            "DequantizeLinear",
            "dq",
            &["w", "s"],
            &["y"],
            vec![a_int("axis", 0)],
        ))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: node 'dq' (DequantizeLinear): scale 's': 2 per-axis scales for axis 0 of size 3"
    );
    // DequantizeLinear of a float input.
    let e = M::new(13)
        .input(vi("x", DT::Float, &[4]))
        .init(scalar_f32("s", 0.5))
        .node(node("DequantizeLinear", "dq", &["x", "s"], &["y"], vec![]))
        .output_name("y")
        .err();
    assert_eq!(
        e,
        "m.onnx: node 'dq' (DequantizeLinear): input 'x' has dtype f32, expected i8, u8, i16, u16 or i32"
    );
}

#[test]
fn messages_are_single_lines() {
    for e in [
        relu_model().init(raw("w", DT::Float, &[2], vec![1])).err(),
        load_bytes(&[0x0a, 0xff]).unwrap_err(),
    ] {
        assert_one_line(&e);
    }
}

#[test]
fn extreme_attribute_values_do_not_panic() {
    const BIG: i64 = i64::MAX;
    const NEG: i64 = i64::MIN;
    let x4 = || vi("x", DT::Float, &[1, 2, 6, 6]);
    let huge_in = || vi("x", DT::Float, &[BIG, BIG]);
    let cases: Vec<(&str, M)> = vec![
        (
            "conv",
            M::new(13)
                .input(x4())
                .init(f32s("w", &[2, 2, 1, 1], &[1.0; 4]))
                .node(node(
                    "Conv",
                    "c",
                    &["x", "w"],
                    &["y"],
                    vec![
                        a_ints("strides", &[BIG, BIG]),
                        a_ints("dilations", &[BIG, BIG]),
                        a_str("auto_pad", "SAME_UPPER"),
                        a_int("group", BIG),
                    ],
                ))
                .output_name("y"),
        ),
        (
            "conv pads",
            M::new(13)
                .input(x4())
                .init(f32s("w", &[2, 2, 1, 1], &[1.0; 4]))
                .node(node(
                    "Conv",
                    "c",
                    &["x", "w"],
                    &["y"],
                    vec![a_ints("pads", &[BIG, BIG, BIG, BIG])],
                ))
                .output_name("y"),
        ),
        (
            "maxpool",
            M::new(13)
                .input(x4())
                .node(node(
                    "MaxPool",
                    "p",
                    &["x"],
                    &["y", "i"],
                    vec![
                        a_ints("kernel_shape", &[BIG, BIG]),
                        a_ints("strides", &[BIG, 1]),
                        a_int("ceil_mode", 1),
                    ],
                ))
                .output_name("y"),
        ),
        (
            "avgpool",
            M::new(19)
                .input(x4())
                .node(node(
                    "AveragePool",
                    "p",
                    &["x"],
                    &["y"],
                    vec![
                        a_ints("kernel_shape", &[3, 3]),
                        a_ints("dilations", &[BIG, BIG]),
                        a_ints("pads", &[BIG, 0, 0, BIG]),
                    ],
                ))
                .output_name("y"),
        ),
        (
            "split",
            M::new(13)
                .input(x4())
                .init(i64s("s", &[2], &[BIG, BIG]))
                .node(node(
                    "Split",
                    "s",
                    &["x", "s"],
                    &["a", "b"],
                    vec![a_int("axis", NEG)],
                ))
                .output_name("a"),
        ),
        (
            "split sizes",
            M::new(13)
                .input(x4())
                .init(i64s("s", &[2], &[BIG, BIG]))
                .node(node(
                    "Split",
                    "s",
                    &["x", "s"],
                    &["a", "b"],
                    vec![a_int("axis", 2)],
                ))
                .output_name("a"),
        ),
        (
            "reshape",
            M::new(13)
                .input(x4())
                .init(i64s("s", &[3], &[BIG, BIG, -1]))
                .node(node("Reshape", "r", &["x", "s"], &["y"], vec![]))
                .output_name("y"),
        ),
        (
            "reshape huge input",
            M::new(13)
                .input(huge_in())
                .init(i64s("s", &[2], &[-1, 0]))
                .node(node("Reshape", "r", &["x", "s"], &["y"], vec![]))
                .output_name("y"),
        ),
        (
            "flatten huge input",
            M::new(13)
                .input(huge_in())
                .node(node("Flatten", "f", &["x"], &["y"], vec![a_int("axis", 0)]))
                .output_name("y"),
        ),
        (
            "slice",
            M::new(13)
                .input(x4())
                .init(i64s("st", &[1], &[NEG]))
                .init(i64s("en", &[1], &[BIG]))
                .init(i64s("ax", &[1], &[NEG]))
                .init(i64s("sp", &[1], &[NEG]))
                .node(node(
                    "Slice",
                    "s",
                    &["x", "st", "en", "ax", "sp"],
                    &["y"],
                    vec![],
                ))
                .output_name("y"),
        ),
        (
            "slice steps",
            M::new(13)
                .input(x4())
                .init(i64s("st", &[1], &[BIG]))
                .init(i64s("en", &[1], &[NEG]))
                .init(i64s("ax", &[1], &[2]))
                .init(i64s("sp", &[1], &[NEG]))
                .node(node(
                    "Slice",
                    "s",
                    &["x", "st", "en", "ax", "sp"],
                    &["y"],
                    vec![],
                ))
                .output_name("y"),
        ),
        (
            "pad",
            M::new(13)
                .input(x4())
                .init(i64s("p", &[8], &[BIG, BIG, BIG, BIG, NEG, NEG, NEG, NEG]))
                .node(node("Pad", "p", &["x", "p"], &["y"], vec![]))
                .output_name("y"),
        ),
        (
            "pad huge",
            M::new(13)
                .input(x4())
                .init(i64s("p", &[8], &[BIG, BIG, BIG, BIG, BIG, BIG, BIG, BIG]))
                .node(node(
                    "Pad",
                    "p",
                    &["x", "p"],
                    &["y"],
                    vec![a_str("mode", "reflect")],
                ))
                .output_name("y"),
        ),
        (
            "axes",
            M::new(13)
                .input(x4())
                .init(i64s("a", &[2], &[NEG, BIG]))
                .node(node("Unsqueeze", "u", &["x", "a"], &["y"], vec![]))
                .node(node("Squeeze", "s", &["x", "a"], &["z"], vec![]))
                .node(node("ReduceSum", "r", &["x", "a"], &["w"], vec![]))
                .node(node(
                    "Concat",
                    "c",
                    &["x", "x"],
                    &["v"],
                    vec![a_int("axis", NEG)],
                ))
                .node(node(
                    "Softmax",
                    "sm",
                    &["x"],
                    &["t"],
                    vec![a_int("axis", BIG)],
                ))
                .node(node(
                    "Transpose",
                    "t",
                    &["x"],
                    &["q"],
                    vec![a_ints("perm", &[BIG, NEG, 0, 1])],
                ))
                .output_name("y"),
        ),
        (
            "huge matmul",
            M::new(13)
                .input(huge_in())
                .input(vi("w", DT::Float, &[BIG, BIG]))
                .node(node("MatMul", "m", &["x", "w"], &["y"], vec![]))
                .node(node(
                    "Gemm",
                    "g",
                    &["x", "w"],
                    &["z"],
                    vec![a_int("transA", 1)],
                ))
                .node(node("GlobalAveragePool", "gap", &["x"], &["v"], vec![]))
                .output_name("y"),
        ),
        (
            "huge tensor dims",
            M::new(13)
                .input(x4())
                .init(f32s("w", &[BIG, BIG], &[]))
                .node(node("Add", "a", &["x", "w"], &["y"], vec![]))
                .output_name("y"),
        ),
    ];
    let mut panicked = Vec::new();
    for (name, m) in cases {
        let b = m.bytes();
        match std::panic::catch_unwind(|| load_bytes(&b)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => assert_one_line(&e),
            Err(_) => panicked.push(name),
        }
    }
    assert!(panicked.is_empty(), "panicked: {panicked:?}");
}
