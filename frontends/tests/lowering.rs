//! One test per lowering family: the IR each ONNX construct becomes.

mod common;
use common::*;
use qcc_ir::{DType, Dim, Op, PadMode, QParams, ReduceOp};

fn q_of<'a>(m: &'a qcc_ir::Module, name: &str) -> Option<&'a QParams> {
    value(m, name).1.ty.quant.as_ref()
}

#[test]
fn qdq_per_tensor_becomes_static_ops() {
    let m = M::new(13)
        .input(vi("x", DT::Float, &[1, 4]))
        .init(scalar_f32("s", 0.5))
        .init(ints("z", DT::Uint8, &[], &[10]))
        .node(node(
            "QuantizeLinear",
            "q",
            &["x", "s", "z"],
            &["xq"],
            vec![a_int("axis", 1)],
        ))
        .node(node(
            "DequantizeLinear",
            "dq",
            &["xq", "s", "z"],
            &["y"],
            vec![],
        ))
        .output(vi("y", DT::Float, &[1, 4]))
        .ok();
    assert_eq!(ops(&m), ["quantize", "dequantize"]);
    let xq = value(&m, "xq").1;
    assert_eq!(xq.ty.dtype, DType::U8);
    assert_eq!(xq.ty.quant, Some(QParams::per_tensor(0.5, 10)));
    assert!(
        m.consts.is_empty(),
        "folded scale / zero point constants are dropped"
    );
    assert_eq!(m.requant, qcc_ir::RequantMode::Float);
    assert_eq!(m.name, "g");
}

#[test]
fn dq_of_int8_weight_types_the_constant_per_axis() {
    let m = M::new(13)
        .init(ints("w", DT::Int8, &[2, 1, 1, 1], &[3, -4]))
        .init(f32s("s", &[2], &[0.5, 0.25]))
        .init(ints("z", DT::Int8, &[2], &[0, 0]))
        .node(node(
            "DequantizeLinear",
            "dq",
            &["w", "s", "z"],
            &["y"],
            vec![a_int("axis", -4)],
        ))
        .output(vi("y", DT::Float, &[2, 1, 1, 1]))
        .ok();
    assert_eq!(ops(&m), ["const", "dequantize"]);
    assert_eq!(m.consts.len(), 1);
    let q = m.consts[0].ty.quant.clone().expect("quantized constant");
    assert_eq!(q, QParams::per_axis(vec![0.5, 0.25], vec![0, 0], 0));
    assert_eq!(m.consts[0].name, "w");
}

#[test]
fn dq_of_plain_runtime_value_attaches_params_with_cast() {
    let m = M::new(13)
        .input(vi("x", DT::Uint8, &[4]))
        .init(scalar_f32("s", 0.5))
        .node(node(
            "DequantizeLinear",
            "dq1",
            &["x", "s"],
            &["y1"],
            vec![],
        ))
        .node(node(
            "DequantizeLinear",
            "dq2",
            &["x", "s"],
            &["y2"],
            vec![],
        ))
        .output(vi("y1", DT::Float, &[4]))
        .output(vi("y2", DT::Float, &[4]))
        .ok();
    // One cast shared by both dequantizes; missing zero point is 0.
    assert_eq!(ops(&m), ["cast", "dequantize", "dequantize"]);
    let cast = &m.graph.nodes[0];
    assert_eq!(cast.op, Op::Cast { to: DType::U8 });
    let t = m.graph.ty(cast.outputs[0]);
    assert_eq!(t.quant, Some(QParams::per_tensor(0.5, 0)));
}

#[test]
fn runtime_or_blocked_params_use_dynamic_ops() {
    let m = M::new(13)
        .input(vi("x", DT::Int8, &[4]))
        .input(vi("s", DT::Float, &[]))
        .node(node("DequantizeLinear", "dq", &["x", "s"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[4]))
        .ok();
    assert_eq!(ops(&m), ["const", "dequantize_linear"]);
    let dq = def(&m, "y");
    assert_eq!(dq.inputs.len(), 3, "zero point materialised");
    assert_eq!(m.graph.ty(dq.inputs[2]).dtype, DType::I8);

    let m = M::new(21)
        .input(vi("x", DT::Float, &[2, 4]))
        .init(f32s("s", &[2, 2], &[0.5, 0.5, 0.25, 0.25]))
        .init(ints("z", DT::Int8, &[2, 2], &[0, 0, 0, 0]))
        .node(node(
            "QuantizeLinear",
            "q",
            &["x", "s", "z"],
            &["y"],
            vec![a_int("axis", 1), a_int("block_size", 2)],
        ))
        .output(vi("y", DT::Int8, &[2, 4]))
        .ok();
    assert_eq!(
        def(&m, "y").op,
        Op::QuantizeLinear {
            axis: 1,
            block_size: 2
        }
    );
}

#[test]
fn quantize_output_dtype_defaults() {
    let m = M::new(13)
        .input(vi("x", DT::Float, &[4]))
        .init(scalar_f32("s", 0.5))
        .node(node("QuantizeLinear", "q", &["x", "s"], &["y"], vec![]))
        .output(vi("y", DT::Uint8, &[4]))
        .ok();
    assert_eq!(value(&m, "y").1.ty.dtype, DType::U8);
    let m = M::new(21)
        .input(vi("x", DT::Float, &[4]))
        .init(scalar_f32("s", 0.5))
        .node(node(
            "QuantizeLinear",
            "q",
            &["x", "s"],
            &["y"],
            vec![a_int("output_dtype", DT::Int8 as i64)],
        ))
        .output(vi("y", DT::Int8, &[4]))
        .ok();
    assert_eq!(value(&m, "y").1.ty.dtype, DType::I8);
    assert_eq!(q_of(&m, "y"), Some(&QParams::per_tensor(0.5, 0)));
}

#[test]
fn fx_weight_chain_is_lowered_as_written() {
    let m = M::new(18)
        .input(vi("x", DT::Float, &[1, 1, 2, 2]))
        .init(f32s("w", &[2, 1, 1, 1], &[0.3, -0.7]))
        .init(f32s("ws", &[2], &[0.01, 0.02]))
        .init(ints("wz", DT::Int8, &[2], &[0, 0]))
        .init(ints("lo", DT::Int8, &[], &[-128]))
        .init(ints("hi", DT::Int8, &[], &[127]))
        .node(node(
            "QuantizeLinear",
            "wq",
            &["w", "ws", "wz"],
            &["wq"],
            vec![a_int("axis", 0)],
        ))
        .node(node("Clip", "clip", &["wq", "lo", "hi"], &["wc"], vec![]))
        .node(node(
            "DequantizeLinear",
            "wdq",
            &["wc", "ws", "wz"],
            &["wd"],
            vec![a_int("axis", 0)],
        ))
        .node(node("Conv", "conv", &["x", "wd"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[1, 2, 2, 2]))
        .ok();
    assert_eq!(ops(&m), ["const", "quantize", "clip", "dequantize", "conv"]);
    let q = QParams::per_axis(vec![0.01, 0.02], vec![0, 0], 0);
    assert_eq!(q_of(&m, "wc"), Some(&q), "clip keeps the qparams");
    assert_eq!(
        def(&m, "wc").op,
        Op::Clip {
            min: Some(-128.0),
            max: Some(127.0)
        }
    );
}

#[test]
fn constants_are_emitted_once_at_first_use() {
    let m = M::new(13)
        .input(vi("x", DT::Float, &[3]))
        .init(f32s("b", &[3], &[1.0, 2.0, 3.0]))
        .node(node("Add", "a1", &["x", "b"], &["t"], vec![]))
        .node(node("Mul", "m1", &["t", "b"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[3]))
        .ok();
    assert_eq!(ops(&m), ["const", "add", "mul"]);
    assert_eq!(value(&m, "b").1.ty.shape, vec![Dim::Fixed(3)]);
}

#[test]
fn initializer_that_is_also_an_input_is_a_constant() {
    let m = M::new(13)
        .input(vi("x", DT::Float, &[3]))
        .input(vi("b", DT::Float, &[3]))
        .init(f32s("b", &[3], &[1.0, 2.0, 3.0]))
        .node(node("Add", "", &["x", "b"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[3]))
        .ok();
    assert_eq!(m.graph.inputs.len(), 1);
    assert_eq!(ops(&m), ["const", "add"]);
    assert_eq!(
        m.graph.nodes[1].name, "Add_0",
        "unnamed nodes are <op>_<index>"
    );
}

#[test]
fn graph_input_dims() {
    let m = M::new(13)
        .input(vi_sym("x", DT::Float, &["N", "?", "3"]))
        .node(node("Relu", "r", &["x"], &["y"], vec![]))
        .output_name("y")
        .ok();
    assert_eq!(
        m.graph.ty(m.graph.inputs[0]).shape,
        vec![Dim::Sym("N".into()), Dim::Any, Dim::Fixed(3)]
    );
}

#[test]
fn constant_nodes_fold_into_shape_attributes() {
    let m = M::new(13)
        .input(vi("x", DT::Float, &[2, 3, 4]))
        .node(node(
            "Constant",
            "c",
            &[],
            &["shape"],
            vec![a_ints("value_ints", &[-1, 4])],
        ))
        .node(node("Reshape", "r", &["x", "shape"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[6, 4]))
        .ok();
    assert_eq!(ops(&m), ["reshape"]);
    assert!(m.consts.is_empty());
    let m = M::new(13)
        .node(node(
            "Constant",
            "c",
            &[],
            &["y"],
            vec![a_tensor("value", f32s("", &[2], &[1.0, 2.0]))],
        ))
        .node(node(
            "Constant",
            "d",
            &[],
            &["z"],
            vec![a_float("value_float", 2.5)],
        ))
        .output(vi("y", DT::Float, &[2]))
        .output(vi("z", DT::Float, &[]))
        .ok();
    assert_eq!(ops(&m), ["const", "const"]);
}

#[test]
fn runtime_shape_operands_give_dynamic_forms() {
    let m = M::new(13)
        .input(vi("x", DT::Float, &[2, 3, 4]))
        .input(vi("shape", DT::Int64, &[2]))
        .node(node("Reshape", "r", &["x", "shape"], &["y"], vec![]))
        .output_name("y")
        .ok();
    let r = def(&m, "y");
    assert_eq!(r.inputs.len(), 2);
    assert_eq!(
        r.op,
        Op::Reshape {
            shape: vec![],
            allowzero: false
        }
    );
    let m = M::new(13)
        .input(vi("x", DT::Float, &[5, 4]))
        .input(vi("starts", DT::Int64, &[1]))
        .input(vi("ends", DT::Int64, &[1]))
        .init(i64s("steps", &[1], &[2]))
        .node(node(
            "Slice",
            "s",
            &["x", "starts", "ends", "", "steps"],
            &["y"],
            vec![],
        ))
        .output_name("y")
        .ok();
    assert_eq!(
        def(&m, "y").inputs.len(),
        5,
        "axes materialised before steps"
    );
}

#[test]
fn opset_dependent_axes() {
    // Squeeze / Unsqueeze: attribute before 13, input after.
    let m = M::new(11)
        .input(vi("x", DT::Float, &[1, 3]))
        .node(node(
            "Squeeze",
            "s",
            &["x"],
            &["y"],
            vec![a_ints("axes", &[0])],
        ))
        .node(node(
            "Unsqueeze",
            "u",
            &["y"],
            &["z"],
            vec![a_ints("axes", &[1])],
        ))
        .output(vi("z", DT::Float, &[3, 1]))
        .ok();
    assert_eq!(def(&m, "y").op, Op::Squeeze { axes: vec![0] });
    assert_eq!(def(&m, "z").op, Op::Unsqueeze { axes: vec![1] });
    let m = M::new(13)
        .input(vi("x", DT::Float, &[1, 3]))
        .init(i64s("a0", &[1], &[0]))
        .node(node("Squeeze", "s", &["x", "a0"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[3]))
        .ok();
    assert_eq!(def(&m, "y").op, Op::Squeeze { axes: vec![0] });
    // ReduceMean: attribute until 17, input from 18; ReduceSum input from 13.
    let m = M::new(17)
        .input(vi("x", DT::Float, &[2, 3]))
        .node(node(
            "ReduceMean",
            "r",
            &["x"],
            &["y"],
            vec![a_ints("axes", &[1]), a_int("keepdims", 0)],
        ))
        .output(vi("y", DT::Float, &[2]))
        .ok();
    assert_eq!(
        def(&m, "y").op,
        Op::Reduce {
            op: ReduceOp::Mean,
            axes: Some(vec![1]),
            keepdims: false,
            noop_with_empty_axes: false
        }
    );
    let m = M::new(18)
        .input(vi("x", DT::Float, &[2, 3]))
        .input(vi("axes", DT::Int64, &[1]))
        .node(node("ReduceMean", "r", &["x", "axes"], &["y"], vec![]))
        .output_name("y")
        .ok();
    assert_eq!(def(&m, "y").inputs.len(), 2);
    let m = M::new(13)
        .input(vi("x", DT::Float, &[2, 3]))
        .init(i64s("axes", &[1], &[-1]))
        .node(node("ReduceSum", "r", &["x", "axes"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[2, 1]))
        .ok();
    assert!(
        matches!(&def(&m, "y").op, Op::Reduce { op: ReduceOp::Sum, axes: Some(a), keepdims: true, .. } if a == &[-1])
    );
}

#[test]
fn split_across_opsets() {
    let sizes = |m: &qcc_ir::Module| match &def(m, "a").op {
        Op::Split { sizes, .. } => sizes.clone(),
        other => panic!("{other:?}"),
    };
    let m = M::new(11)
        .input(vi("x", DT::Float, &[6, 2]))
        .node(node(
            "Split",
            "s",
            &["x"],
            &["a", "b"],
            vec![a_ints("split", &[2, 4])],
        ))
        .output(vi("a", DT::Float, &[2, 2]))
        .output(vi("b", DT::Float, &[4, 2]))
        .ok();
    assert_eq!(sizes(&m), [2, 4]);
    let m = M::new(13)
        .input(vi("x", DT::Float, &[6, 2]))
        .init(i64s("sp", &[2], &[1, 5]))
        .node(node("Split", "s", &["x", "sp"], &["a", "b"], vec![]))
        .output_name("a")
        .output_name("b")
        .ok();
    assert_eq!(sizes(&m), [1, 5]);
    let m = M::new(18)
        .input(vi("x", DT::Float, &[7, 2]))
        .node(node(
            "Split",
            "s",
            &["x"],
            &["a", "b", "c"],
            vec![a_int("num_outputs", 3)],
        ))
        .output(vi("c", DT::Float, &[1, 2]))
        .ok();
    assert_eq!(sizes(&m), [3, 3, 1]);
    let m = M::new(13)
        .input(vi("x", DT::Float, &[6, 2]))
        .node(node("Split", "s", &["x"], &["a", "b"], vec![]))
        .output(vi("b", DT::Float, &[3, 2]))
        .ok();
    assert_eq!(sizes(&m), [3, 3]);
}

#[test]
fn softmax_before_13_is_coerced_to_2d() {
    let m = M::new(11)
        .input(vi("x", DT::Float, &[2, 3, 4]))
        .node(node("Softmax", "s", &["x"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[2, 3, 4]))
        .ok();
    assert_eq!(ops(&m), ["flatten", "softmax", "reshape"]);
    let m = M::new(11)
        .input(vi("x", DT::Float, &[2, 3, 4]))
        .node(node("Softmax", "s", &["x"], &["y"], vec![a_int("axis", 2)]))
        .output(vi("y", DT::Float, &[2, 3, 4]))
        .ok();
    assert_eq!(ops(&m), ["softmax"]);
    let m = M::new(13)
        .input(vi("x", DT::Float, &[2, 3, 4]))
        .node(node("Softmax", "s", &["x"], &["y"], vec![a_int("axis", 1)]))
        .output(vi("y", DT::Float, &[2, 3, 4]))
        .ok();
    assert_eq!(def(&m, "y").op, Op::Softmax { axis: 1 });
}

#[test]
fn variadic_max_min_and_clip() {
    let m = M::new(13)
        .input(vi("a", DT::Float, &[3]))
        .input(vi("b", DT::Float, &[3]))
        .input(vi("c", DT::Float, &[1]))
        .node(node("Max", "mx", &["a", "b", "c"], &["y"], vec![]))
        .node(node("Min", "mn", &["a"], &["z"], vec![]))
        .output(vi("y", DT::Float, &[3]))
        .output(vi("z", DT::Float, &[3]))
        .ok();
    assert_eq!(ops(&m), ["max", "max", "identity"]);
    let m = M::new(6)
        .input(vi("x", DT::Float, &[3]))
        .node(node(
            "Clip",
            "c",
            &["x"],
            &["y"],
            vec![a_float("min", 0.0), a_float("max", 6.0)],
        ))
        .output(vi("y", DT::Float, &[3]))
        .ok();
    assert_eq!(
        def(&m, "y").op,
        Op::Clip {
            min: Some(0.0),
            max: Some(6.0)
        }
    );
    let m = M::new(13)
        .input(vi("x", DT::Float, &[3]))
        .init(scalar_f32("lo", -1.0))
        .node(node("Clip", "c", &["x", "lo"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[3]))
        .ok();
    assert_eq!(
        def(&m, "y").op,
        Op::Clip {
            min: Some(-1.0),
            max: None
        }
    );
    let m = M::new(13)
        .input(vi("x", DT::Float, &[3]))
        .input(vi("hi", DT::Float, &[]))
        .node(node("Clip", "c", &["x", "", "hi"], &["y"], vec![]))
        .output(vi("y", DT::Float, &[3]))
        .ok();
    assert_eq!(def(&m, "y").inputs.len(), 3, "absent min materialised");
}

#[test]
fn pad_axes_fold_into_full_pads() {
    let m = M::new(18)
        .input(vi("x", DT::Float, &[2, 3]))
        .init(i64s("pads", &[2], &[1, 2]))
        .init(i64s("axes", &[1], &[-1]))
        .node(node(
            "Pad",
            "p",
            &["x", "pads", "", "axes"],
            &["y"],
            vec![a_str("mode", "reflect")],
        ))
        .output(vi("y", DT::Float, &[2, 6]))
        .ok();
    assert_eq!(
        def(&m, "y").op,
        Op::Pad {
            mode: PadMode::Reflect,
            pads: vec![0, 1, 0, 2],
            value: 0.0
        }
    );
    let m = M::new(2)
        .input(vi("x", DT::Float, &[2, 3]))
        .node(node(
            "Pad",
            "p",
            &["x"],
            &["y"],
            vec![a_ints("pads", &[0, 1, 0, 1]), a_float("value", 1.5)],
        ))
        .output(vi("y", DT::Float, &[2, 5]))
        .ok();
    assert_eq!(
        def(&m, "y").op,
        Op::Pad {
            mode: PadMode::Constant,
            pads: vec![0, 1, 0, 1],
            value: 1.5
        }
    );
}

#[test]
fn conv_auto_pad_and_optional_bias() {
    let m = M::new(11)
        .input(vi("x", DT::Float, &[1, 1, 5, 5]))
        .init(f32s("w", &[1, 1, 3, 3], &[1.0; 9]))
        .node(node(
            "Conv",
            "c",
            &["x", "w"],
            &["y"],
            vec![a_str("auto_pad", "SAME_LOWER"), a_ints("strides", &[2, 2])],
        ))
        .output(vi("y", DT::Float, &[1, 1, 3, 3]))
        .ok();
    match &def(&m, "y").op {
        Op::Conv(a) => {
            assert_eq!(a.pads, vec![1, 1, 1, 1]);
            assert_eq!(a.strides, vec![2, 2]);
        }
        other => panic!("{other:?}"),
    }
    let m = M::new(11)
        .input(vi("x", DT::Float, &[1, 1, 4, 4]))
        .init(f32s("w", &[1, 1, 2, 2], &[1.0; 4]))
        .node(node(
            "AveragePool",
            "p",
            &["x"],
            &["y"],
            vec![
                a_str("auto_pad", "SAME_UPPER"),
                a_ints("kernel_shape", &[3, 3]),
            ],
        ))
        .output(vi("y", DT::Float, &[1, 1, 4, 4]))
        .ok();
    match &def(&m, "y").op {
        Op::AvgPool(a) => assert_eq!(a.pads, vec![1, 1, 1, 1]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn maxpool_indices_and_batchnorm_training() {
    let m = M::new(12)
        .input(vi("x", DT::Float, &[1, 1, 4, 4]))
        .node(node(
            "MaxPool",
            "mp",
            &["x"],
            &["y", "i"],
            vec![a_ints("kernel_shape", &[2, 2]), a_ints("strides", &[2, 2])],
        ))
        .output(vi("y", DT::Float, &[1, 1, 2, 2]))
        .output(vi("i", DT::Int64, &[1, 1, 2, 2]))
        .ok();
    assert_eq!(def(&m, "i").outputs.len(), 2);
    let m = M::new(15)
        .input(vi("x", DT::Float, &[2, 3, 4]))
        .init(f32s("s", &[3], &[1.0; 3]))
        .init(f32s("b", &[3], &[0.0; 3]))
        .init(f32s("mean", &[3], &[0.0; 3]))
        .init(f32s("var", &[3], &[1.0; 3]))
        .node(node(
            "BatchNormalization",
            "bn",
            &["x", "s", "b", "mean", "var"],
            &["y", "rm", "rv"],
            vec![a_int("training_mode", 1)],
        ))
        .output(vi("y", DT::Float, &[2, 3, 4]))
        .output(vi("rm", DT::Float, &[3]))
        .output(vi("rv", DT::Float, &[3]))
        .ok();
    assert!(matches!(
        def(&m, "y").op,
        Op::BatchNorm { training: true, .. }
    ));
}

#[test]
fn cast_castlike_identity_dropout() {
    let m = M::new(15)
        .input(vi("x", DT::Float, &[3]))
        .input(vi("t", DT::Int32, &[1]))
        .node(node(
            "Cast",
            "c",
            &["x"],
            &["a"],
            vec![a_int("to", DT::Uint8 as i64)],
        ))
        .node(node("CastLike", "cl", &["x", "t"], &["b"], vec![]))
        .node(node("Identity", "i", &["x"], &["c"], vec![]))
        .node(node("Dropout", "d", &["x"], &["d"], vec![]))
        .output(vi("a", DT::Uint8, &[3]))
        .output(vi("b", DT::Int32, &[3]))
        .output(vi("c", DT::Float, &[3]))
        .output(vi("d", DT::Float, &[3]))
        .ok();
    assert_eq!(ops(&m), ["cast", "cast", "identity", "identity"]);
}

#[test]
fn qlinear_conv_with_constants_is_qconv() {
    let m = M::new(10)
        .input(vi("x", DT::Uint8, &[1, 1, 3, 3]))
        .init(scalar_f32("xs", 0.1))
        .init(ints("xz", DT::Uint8, &[], &[5]))
        .init(ints("w", DT::Int8, &[2, 1, 1, 1], &[1, -1]))
        .init(f32s("ws", &[2], &[0.2, 0.3]))
        .init(ints("wz", DT::Int8, &[2], &[0, 0]))
        .init(scalar_f32("ys", 0.05))
        .init(ints("yz", DT::Uint8, &[], &[128]))
        .init(ints("b", DT::Int32, &[2], &[10, -10]))
        .node(node(
            "QLinearConv",
            "qc",
            &["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
            &["y"],
            vec![],
        ))
        .output(vi("y", DT::Uint8, &[1, 2, 3, 3]))
        .ok();
    assert_eq!(ops(&m), ["cast", "const", "const", "qconv"]);
    assert_eq!(q_of(&m, "y"), Some(&QParams::per_tensor(0.05, 128)));
    assert_eq!(
        m.consts.iter().find(|c| c.name == "w").unwrap().ty.quant,
        Some(QParams::per_axis(vec![0.2, 0.3], vec![0, 0], 0))
    );
}

#[test]
fn qlinear_matmul_with_runtime_params_is_decomposed() {
    let m = M::new(10)
        .input(vi("a", DT::Uint8, &[2, 3]))
        .input(vi("as", DT::Float, &[]))
        .input(vi("az", DT::Uint8, &[]))
        .input(vi("b", DT::Uint8, &[3, 2]))
        .input(vi("bs", DT::Float, &[]))
        .input(vi("bz", DT::Uint8, &[]))
        .input(vi("ys", DT::Float, &[]))
        .input(vi("yz", DT::Uint8, &[]))
        .node(node(
            "QLinearMatMul",
            "qm",
            &["a", "as", "az", "b", "bs", "bz", "ys", "yz"],
            &["y"],
            vec![],
        ))
        .output(vi("y", DT::Uint8, &[2, 2]))
        .ok();
    let o = ops(&m);
    assert_eq!(o[0], "matmul_integer");
    assert_eq!(o.last(), Some(&"cast"));
    assert!(o.contains(&"round") && o.contains(&"clip"));
}

#[test]
fn qgemm_float_output_and_contrib_ops() {
    let m = M::new(17)
        .opset_import("com.microsoft", 1)
        .opset_import("ai.onnx.ml", 3)
        .input(vi("a", DT::Uint8, &[2, 3]))
        .init(scalar_f32("as", 0.1))
        .init(ints("az", DT::Uint8, &[], &[3]))
        .init(ints("b", DT::Int8, &[4, 3], &[1; 12]))
        .init(scalar_f32("bs", 0.2))
        .init(ints("bz", DT::Int8, &[], &[0]))
        .init(ints("c", DT::Int32, &[4], &[1, 2, 3, 4]))
        .node(ms_node(
            "QGemm",
            "g",
            &["a", "as", "az", "b", "bs", "bz", "c"],
            &["y"],
            vec![a_int("transB", 1)],
        ))
        .output(vi("y", DT::Float, &[2, 4]))
        .ok();
    let y = value(&m, "y").1;
    assert_eq!((y.ty.dtype, y.ty.quant.clone()), (DType::F32, None));
    assert!(matches!(def(&m, "y").op, Op::QGemm(ref g, _) if g.trans_b));

    let m = M::new(17)
        .opset_import("com.microsoft", 1)
        .input(vi("a", DT::Uint8, &[4]))
        .input(vi("b", DT::Uint8, &[4]))
        .init(scalar_f32("s1", 0.1))
        .init(ints("z1", DT::Uint8, &[], &[3]))
        .init(scalar_f32("s2", 0.2))
        .init(scalar_f32("s3", 0.3))
        .init(ints("z3", DT::Uint8, &[], &[7]))
        .node(ms_node(
            "QLinearAdd",
            "add",
            &["a", "s1", "z1", "b", "s2", "", "s3", "z3"],
            &["y"],
            vec![],
        ))
        .node(ms_node(
            "QLinearSigmoid",
            "sig",
            &["y", "s3", "z3", "s1", "z1"],
            &["z"],
            vec![],
        ))
        .output(vi("y", DT::Uint8, &[4]))
        .output(vi("z", DT::Uint8, &[4]))
        .ok();
    assert_eq!(
        ops(&m),
        [
            "cast",
            "dequantize",
            "cast",
            "dequantize",
            "add",
            "quantize",
            "dequantize",
            "sigmoid",
            "quantize"
        ]
    );
    assert_eq!(q_of(&m, "z"), Some(&QParams::per_tensor(0.1, 3)));
}

#[test]
fn integer_ops_and_dynamic_quantize() {
    let m = M::new(11)
        .input(vi("x", DT::Float, &[2, 3]))
        .init(ints("w", DT::Int8, &[3, 4], &[1; 12]))
        .node(node(
            "DynamicQuantizeLinear",
            "dq",
            &["x"],
            &["xq", "xs", "xz"],
            vec![],
        ))
        .node(node(
            "MatMulInteger",
            "mm",
            &["xq", "w", "xz"],
            &["acc"],
            vec![],
        ))
        .output(vi("acc", DT::Int32, &[2, 4]))
        .output(vi("xs", DT::Float, &[]))
        .ok();
    assert_eq!(
        ops(&m),
        [
            "dynamic_quantize_linear",
            "const",
            "const",
            "matmul_integer"
        ]
    );
    assert_eq!(def(&m, "acc").inputs.len(), 4, "b zero point materialised");
    let m = M::new(10)
        .input(vi("x", DT::Uint8, &[1, 1, 3, 3]))
        .input(vi("w", DT::Uint8, &[1, 1, 2, 2]))
        .node(node("ConvInteger", "ci", &["x", "w"], &["y"], vec![]))
        .output(vi("y", DT::Int32, &[1, 1, 2, 2]))
        .ok();
    assert_eq!(def(&m, "y").inputs.len(), 4);
}

#[test]
fn gemm_without_c_and_elementwise() {
    let m = M::new(13)
        .input(vi("a", DT::Float, &[2, 3]))
        .input(vi("b", DT::Float, &[4, 3]))
        .node(node(
            "Gemm",
            "g",
            &["a", "b"],
            &["y"],
            vec![a_int("transB", 1), a_float("alpha", 2.0)],
        ))
        .node(node("Less", "l", &["y", "y"], &["c"], vec![]))
        .node(node("Where", "w", &["c", "y", "y"], &["z"], vec![]))
        .node(node("LeakyRelu", "lr", &["z"], &["o"], vec![]))
        .node(node("HardSigmoid", "hs", &["o"], &["p"], vec![]))
        .output(vi("p", DT::Float, &[2, 4]))
        .output(vi("c", DT::Bool, &[2, 4]))
        .ok();
    assert_eq!(
        ops(&m),
        ["gemm", "less", "where", "leaky_relu", "hard_sigmoid"]
    );
    assert_eq!(def(&m, "o").op, Op::LeakyRelu { alpha: 0.01 });
    assert_eq!(
        def(&m, "p").op,
        Op::HardSigmoid {
            alpha: 0.2,
            beta: 0.5
        }
    );
}
