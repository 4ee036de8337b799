//! Tests of the text format, with the shared fixtures: [`all_ops`] (every op variant and most
//! corners of the syntax) and small helpers.

mod errors;
mod fuzz;
mod round_trip;

use super::*;
use crate::{
    BinaryOp, Clamp, ConvAttrs, DType, Data, Error, GemmAttrs, Graph, Module, Node, Op, PadMode,
    PoolAttrs, ReduceOp, RequantMode, Tensor, TensorType, UnaryOp, ValueId,
};

/// Parses a type or panics.
fn t(s: &str) -> TensorType {
    parse_type(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Adds a node with `(name, type)` results and returns the result ids.
fn node(
    g: &mut Graph,
    name: &str,
    op: Op,
    inputs: &[ValueId],
    results: &[(&str, &str)],
) -> Vec<ValueId> {
    let results = results
        .iter()
        .map(|(n, ty)| (n.to_string(), t(ty)))
        .collect();
    g.add_node(name, op, inputs.to_vec(), results)
}

fn conv_attrs() -> ConvAttrs {
    ConvAttrs {
        strides: vec![1, 2],
        pads: vec![0, 1, 0, 1],
        dilations: vec![1, 1],
        group: 1,
    }
}

fn pool_attrs(ceil: bool, include_pad: bool) -> PoolAttrs {
    PoolAttrs {
        kernel: vec![2, 2],
        strides: vec![2, 2],
        pads: vec![0, 0, 1, 1],
        dilations: vec![1, 1],
        ceil_mode: ceil,
        count_include_pad: include_pad,
        row_major_sum: false,
    }
}

/// A module that uses every op variant and most corners of the format. It is not meant to
/// verify or run, only to exercise the syntax.
fn all_ops() -> Module {
    let mut m = Module {
        name: "all ops".into(),
        requant: RequantMode::FixedPoint,
        ..Default::default()
    };
    let f = |v: Vec<f32>| Data::F32(v);
    let c_f32 = m.add_const(
        "w.f32",
        t("tensor<2x2xf32>"),
        Tensor::new(
            vec![2, 2],
            f(vec![1.5, -0.0, f32::INFINITY, f32::MIN_POSITIVE]),
        ),
    );
    let c_f64 = m.add_const(
        "w.f64",
        t("tensor<2xf64>"),
        Tensor::new(vec![2], Data::F64(vec![1e300, -2.5])),
    );
    let c_i8 = m.add_const(
        "conv1.weight",
        t("tensor<2x3xi8, q(axis=0, scale=[0.5, 0.25], zp=[0, 0], narrow)>"),
        Tensor::new(vec![2, 3], Data::I8(vec![-127, 0, 127, 1, 2, 3])),
    );
    let c_u8 = m.add_const(
        "big.u8",
        t("tensor<4x5xu8, q(0.1, 3)>"),
        Tensor::new(vec![4, 5], Data::U8((0..20).map(|i| i * 13).collect())),
    );
    m.add_const(
        "i16",
        t("tensor<3xi16>"),
        Tensor::new(vec![3], Data::I16(vec![i16::MIN, 0, i16::MAX])),
    );
    m.add_const(
        "u16",
        t("tensor<2xu16>"),
        Tensor::new(vec![2], Data::U16(vec![0, u16::MAX])),
    );
    let c_i32 = m.add_const(
        "bias",
        t("tensor<2xi32>"),
        Tensor::new(vec![2], Data::I32(vec![i32::MIN, 7])),
    );
    m.add_const(
        "u32",
        t("tensor<1xu32>"),
        Tensor::new(vec![1], Data::U32(vec![u32::MAX])),
    );
    let c_i64 = m.add_const(
        "shape",
        t("tensor<2xi64>"),
        Tensor::new(vec![2], Data::I64(vec![i64::MIN, i64::MAX])),
    );
    m.add_const(
        "u64",
        t("tensor<2xu64>"),
        Tensor::new(vec![2], Data::U64(vec![u64::MAX, 0])),
    );
    m.add_const(
        "mask",
        t("tensor<3xbool>"),
        Tensor::new(vec![3], Data::Bool(vec![true, false, true])),
    );
    m.add_const(
        "big.f32",
        t("tensor<10x10xf32>"),
        Tensor::new(
            vec![10, 10],
            f((0..100).map(|i| i as f32 * 0.37 - 3.0).collect()),
        ),
    );
    m.add_const(
        "big.bool",
        t("tensor<17xbool>"),
        Tensor::new(vec![17], Data::Bool((0..17).map(|i| i % 3 == 0).collect())),
    );
    m.add_const(
        "big.i64",
        t("tensor<17xi64>"),
        Tensor::new(
            vec![17],
            Data::I64((0..17).map(|i| -i * 1_000_000_007).collect()),
        ),
    );
    let c_scalar = m.add_const("", t("tensor<f32>"), Tensor::new(vec![], f(vec![3.25])));
    let c_quoted = m.add_const(
        "onnx::Conv_12",
        t("tensor<0xf32>"),
        Tensor::new(vec![0], f(vec![])),
    );
    // Declared with a symbolic dim, so the data's own type follows the data.
    let c_sym = m.add_const(
        "sym",
        t("tensor<Nx2xf32>"),
        Tensor::new(vec![1, 2], f(vec![1.0, 2.0])),
    );
    // Declared type and data disagree in element type.
    m.add_const(
        "mismatch",
        t("tensor<2xf32>"),
        Tensor::new(vec![2], Data::I32(vec![1, 2])),
    );
    // Two constants share a name.
    let c_dup0 = m.add_const(
        "dup",
        t("tensor<1xf32>"),
        Tensor::new(vec![1], f(vec![1.0])),
    );
    let c_dup1 = m.add_const(
        "dup",
        t("tensor<1xf32>"),
        Tensor::new(vec![1], f(vec![2.0])),
    );

    let g = &mut m.graph;
    let x = g.add_input("input", t("tensor<Nx3x8x8xf32>"));
    let x2 = g.add_input("/model/x:0", t("tensor<\"max_len\"x?x\"2d\"x\"\"xf32>"));
    let late = g.add_value("late", t("tensor<4xf32>"));
    let orphan = g.add_value("unused", t("tensor<7xi8, q(1, -3)>"));
    let _unnamed_orphan = g.add_value("", t("tensor<f32>"));
    let f4 = "tensor<Nx4xf32>";
    let q4 = "tensor<Nx4xu8, q(0.003921569, 128)>";
    let b4 = "tensor<Nx4xbool>";

    let w = node(g, "c0", Op::Const(c_f32), &[], &[("w", "tensor<2x2xf32>")])[0];
    let wi8 = node(
        g,
        "c1",
        Op::Const(c_i8),
        &[],
        &[(
            "w.i8",
            "tensor<2x3xi8, q(axis=0, scale=[0.5, 0.25], zp=[0, 0], narrow)>",
        )],
    )[0];
    let b = node(g, "", Op::Const(c_i32), &[], &[("bias", "tensor<2xi32>")])[0];
    let shp = node(g, "", Op::Const(c_i64), &[], &[("shp", "tensor<2xi64>")])[0];
    for c in [c_f64, c_u8, c_scalar, c_quoted, c_sym, c_dup0, c_dup1] {
        node(g, "", Op::Const(c), &[], &[("k", "tensor<f32>")]);
    }
    let xq = node(g, "quant \"in\"\n", Op::Quantize, &[x], &[("x_q", q4)])[0];
    let xd = node(g, "dq", Op::Dequantize, &[xq], &[("x_dq", f4)])[0];
    let xr = node(
        g,
        "rq",
        Op::Requantize,
        &[xq],
        &[("x_rq", "tensor<Nx4xi8, q(0.5, -1)>")],
    )[0];
    node(
        g,
        "ql",
        Op::QuantizeLinear {
            axis: -1,
            block_size: 32,
        },
        &[x, w, b],
        &[("ql", q4)],
    );
    node(
        g,
        "dql",
        Op::DequantizeLinear {
            axis: 0,
            block_size: 0,
        },
        &[xq, w, b],
        &[("dql", f4)],
    );
    let dyn_q = node(
        g,
        "dyn",
        Op::DynamicQuantizeLinear,
        &[x],
        &[
            ("y", "tensor<Nx4xu8>"),
            ("y_scale", "tensor<f32>"),
            ("y_zp", "tensor<u8>"),
        ],
    );
    node(
        g,
        "conv",
        Op::Conv(conv_attrs()),
        &[x, w, b],
        &[("conv", f4)],
    );
    node(
        g,
        "convi",
        Op::ConvInteger(ConvAttrs {
            group: 3,
            ..conv_attrs()
        }),
        &[xq, wi8, dyn_q[2], dyn_q[2]],
        &[("convi", "tensor<Nx4xi32>")],
    );
    node(g, "mm", Op::MatMul, &[xd, w], &[("mm", f4)]);
    node(
        g,
        "mmi",
        Op::MatMulInteger,
        &[xq, wi8, dyn_q[2], dyn_q[2]],
        &[("mmi", "tensor<Nx4xi32>")],
    );
    let gemm = GemmAttrs {
        alpha: 0.5,
        beta: 2.0,
        trans_a: true,
        trans_b: false,
    };
    node(
        g,
        "gemm",
        Op::Gemm(gemm.clone()),
        &[xd, w, b],
        &[("gemm", f4)],
    );
    node(
        g,
        "gemm2",
        Op::Gemm(gemm.clone()),
        &[xd, w],
        &[("gemm2", f4)],
    );
    node(
        g,
        "bn",
        Op::BatchNorm {
            epsilon: 1e-5,
            momentum: 0.9,
            training: true,
        },
        &[xd, w, w, w, w],
        &[
            ("bn", f4),
            ("bn_mean", "tensor<4xf32>"),
            ("bn_var", "tensor<4xf32>"),
        ],
    );
    node(
        g,
        "bn1",
        Op::BatchNorm {
            epsilon: 1e-3,
            momentum: 0.99,
            training: false,
        },
        &[xd, w, w, w, w],
        &[("bn1", f4)],
    );
    node(
        g,
        "qconv",
        Op::QConv(conv_attrs(), Clamp::default()),
        &[xq, wi8, b],
        &[("qconv", q4)],
    );
    node(
        g,
        "qconv_nobias",
        Op::QConv(conv_attrs(), Clamp::default()),
        &[xq, wi8],
        &[("qconv2", q4)],
    );
    node(g, "qmm", Op::QMatMul, &[xq, wi8], &[("qmm", q4)]);
    node(g, "qadd", Op::QAdd, &[xq, xq], &[("qadd", q4)]);
    node(g, "qgap", Op::QGlobalAvgPool, &[xq], &[("qgap", q4)]);
    node(g, "qmul", Op::QMul, &[xq, xq], &[("qmul", q4)]);
    node(g, "qsub", Op::QSub, &[xq, xq], &[("qsub", q4)]);
    node(
        g,
        "qsoftmax",
        Op::QSoftmax { axis: 1, beta: 1.0 },
        &[xq],
        &[("qsoftmax", q4)],
    );
    node(
        g,
        "qmean",
        Op::QMean {
            axes: vec![-1],
            keepdims: false,
        },
        &[xq],
        &[("qmean", q4)],
    );
    node(
        g,
        "qavgpool",
        Op::QAvgPool(pool_attrs(true, false)),
        &[xq],
        &[("qavgpool", q4)],
    );
    node(g, "lut", Op::Lut, &[xq, wi8], &[("lut", q4)]);
    node(
        g,
        "qsm",
        Op::QSoftmax {
            axis: -1,
            beta: 0.5,
        },
        &[xq],
        &[("qsm", q4)],
    );
    node(g, "qfc", Op::QFullyConnected, &[xq, wi8, b], &[("qfc", q4)]);
    node(
        g,
        "lstm",
        Op::TfliteLstm {
            time_major: true,
            cell_clip: 10.0,
            hidden_scale: 0.0078167925,
            hidden_zp: -3,
        },
        &[
            xq, wi8, wi8, wi8, wi8, wi8, wi8, wi8, wi8, b, b, b, b, xq, xq,
        ],
        &[("lstm", q4)],
    );
    node(
        g,
        "qgemm",
        Op::QGemm(
            GemmAttrs {
                trans_b: true,
                ..gemm
            },
            Clamp::default(),
        ),
        &[xq, wi8, b],
        &[("qgemm", q4)],
    );
    use BinaryOp as B;
    for op in [B::Add, B::Sub, B::Mul, B::Div, B::Max, B::Min, B::Pow] {
        node(g, "", Op::Binary(op), &[xd, xd], &[("bin", f4)]);
    }
    for op in [
        B::Less,
        B::LessOrEqual,
        B::Greater,
        B::GreaterOrEqual,
        B::Equal,
        B::And,
        B::Or,
    ] {
        node(g, "", Op::Binary(op), &[xd, xd], &[("", b4)]);
    }
    use UnaryOp as U;
    for op in [
        U::Relu,
        U::Sigmoid,
        U::Tanh,
        U::Exp,
        U::Log,
        U::Neg,
        U::Abs,
        U::Sqrt,
        U::Reciprocal,
        U::Round,
        U::Floor,
        U::Ceil,
        U::Not,
        U::HardSwish,
        U::Erf,
        U::Gelu,
        U::GeluTanh,
    ] {
        node(
            g,
            &format!("{op:?}"),
            Op::Unary(op),
            &[xd],
            &[(&format!("{op:?}"), f4)],
        );
    }
    let cond = node(g, "", Op::Binary(B::Less), &[xd, xd], &[("cond", b4)])[0];
    node(g, "where", Op::Where, &[cond, xd, xr], &[("where", f4)]);
    node(
        g,
        "lrelu",
        Op::LeakyRelu { alpha: 0.01 },
        &[xd],
        &[("lrelu", f4)],
    );
    node(
        g,
        "hsig",
        Op::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        &[xd],
        &[("hsig", f4)],
    );
    node(
        g,
        "clip",
        Op::Clip {
            min: Some(-1.0),
            max: None,
        },
        &[xd],
        &[("clip", f4)],
    );
    node(
        g,
        "clip6",
        Op::Clip {
            min: Some(0.0),
            max: Some(6.0),
        },
        &[xd],
        &[("clip6", f4)],
    );
    node(
        g,
        "clipq",
        Op::Clip {
            min: Some(1e-300),
            max: Some(f64::INFINITY),
        },
        &[xq],
        &[("clipq", q4)],
    );
    node(
        g,
        "clip_dyn",
        Op::Clip {
            min: None,
            max: None,
        },
        &[xd, w, w],
        &[("clip_dyn", f4)],
    );
    for to in DType::ALL {
        node(
            g,
            "cast",
            Op::Cast { to },
            &[xd],
            &[("cast", "tensor<Nx4xi64>")],
        );
    }
    node(
        g,
        "softmax",
        Op::Softmax { axis: -1 },
        &[xd],
        &[("softmax", f4)],
    );
    node(
        g,
        "layer_norm",
        Op::LayerNorm {
            axis: -1,
            epsilon: 1e-5,
        },
        &[xd, xd],
        &[("layer_norm", f4)],
    );
    node(
        g,
        "resize_nearest",
        Op::ResizeNearest {
            sizes: vec![-1, 8],
            scales: vec![1.0, 2.0],
            coord: "half_pixel".into(),
            nearest: "round_prefer_floor".into(),
        },
        &[xd],
        &[("resize_nearest", "tensor<Nx8xf32>")],
    );
    node(
        g,
        "resize_bilinear",
        Op::ResizeBilinear {
            sizes: vec![16, 12],
            coord: "tflite_half_pixel".into(),
        },
        &[x],
        &[("resize_bilinear", "tensor<Nx16x12x8xf32>")],
    );
    for (name, op) in [
        ("arg_max", crate::ArgOp::Max),
        ("arg_min", crate::ArgOp::Min),
    ] {
        node(
            g,
            name,
            Op::Arg {
                op,
                axis: -1,
                keepdims: false,
                select_last_index: op == crate::ArgOp::Min,
            },
            &[x],
            &[(name, "tensor<Nx3x8xi64>")],
        );
    }
    node(g, "id", Op::Identity, &[xd], &[("id", f4)]);
    node(
        g,
        "mp",
        Op::MaxPool(pool_attrs(true, false)),
        &[x],
        &[("mp", f4)],
    );
    node(
        g,
        "mp2",
        Op::MaxPool(pool_attrs(false, false)),
        &[x],
        &[("mp2", f4), ("mp2_idx", "tensor<Nx4xi64>")],
    );
    node(
        g,
        "ap",
        Op::AvgPool(pool_attrs(false, true)),
        &[x],
        &[("ap", f4)],
    );
    node(
        g,
        "gap",
        Op::GlobalAvgPool,
        &[x],
        &[("gap", "tensor<Nx3x1x1xf32>")],
    );
    node(
        g,
        "gmp",
        Op::GlobalMaxPool,
        &[x],
        &[("gmp", "tensor<Nx3x1x1xf32>")],
    );
    for (op, axes) in [
        (ReduceOp::Mean, None),
        (ReduceOp::MeanChannelsLast, Some(vec![2, 3])),
        (ReduceOp::Sum, Some(vec![])),
        (ReduceOp::Max, Some(vec![1, -1])),
        (ReduceOp::Min, Some(vec![0])),
    ] {
        let r = Op::Reduce {
            op,
            axes,
            keepdims: op == ReduceOp::Mean,
            noop_with_empty_axes: op == ReduceOp::Sum,
        };
        node(g, "reduce", r, &[xd], &[("reduce", "tensor<f32>")]);
    }
    node(
        g,
        "reduce_dyn",
        Op::Reduce {
            op: ReduceOp::Sum,
            axes: None,
            keepdims: false,
            noop_with_empty_axes: false,
        },
        &[xd, shp],
        &[("rd", "tensor<f32>")],
    );
    node(
        g,
        "reshape",
        Op::Reshape {
            shape: vec![0, -1],
            allowzero: false,
        },
        &[xd],
        &[("reshape", f4)],
    );
    node(
        g,
        "reshape_dyn",
        Op::Reshape {
            shape: vec![],
            allowzero: true,
        },
        &[xd, shp],
        &[("reshape_dyn", f4)],
    );
    node(
        g,
        "flatten",
        Op::Flatten { axis: 1 },
        &[x],
        &[("flatten", "tensor<Nx192xf32>")],
    );
    node(
        g,
        "transpose",
        Op::Transpose {
            perm: vec![0, 2, 3, 1],
        },
        &[x],
        &[("transpose", "tensor<Nx8x8x3xf32>")],
    );
    node(
        g,
        "squeeze",
        Op::Squeeze { axes: vec![] },
        &[xd],
        &[("squeeze", f4)],
    );
    node(
        g,
        "squeeze1",
        Op::Squeeze { axes: vec![1, -2] },
        &[xd],
        &[("squeeze1", f4)],
    );
    node(
        g,
        "squeeze_dyn",
        Op::Squeeze { axes: vec![] },
        &[xd, shp],
        &[("squeeze_dyn", f4)],
    );
    node(
        g,
        "unsqueeze",
        Op::Unsqueeze { axes: vec![0] },
        &[xd],
        &[("unsqueeze", "tensor<1xNx4xf32>")],
    );
    node(
        g,
        "unsqueeze_dyn",
        Op::Unsqueeze { axes: vec![] },
        &[xd, shp],
        &[("unsqueeze_dyn", "tensor<?x?x?xf32>")],
    );
    node(
        g,
        "slice",
        Op::Slice {
            starts: vec![0, 1],
            ends: vec![i64::MAX, -1],
            axes: vec![0, 1],
            steps: vec![1, -2],
        },
        &[xd],
        &[("slice", f4)],
    );
    node(
        g,
        "slice_dyn",
        Op::Slice {
            starts: vec![],
            ends: vec![],
            axes: vec![],
            steps: vec![],
        },
        &[xd, shp, shp, shp, shp],
        &[("slice_dyn", f4)],
    );
    for (mode, value) in [
        (PadMode::Constant, -1.5),
        (PadMode::Reflect, 0.0),
        (PadMode::Edge, 0.0),
        (PadMode::Wrap, 0.0),
    ] {
        node(
            g,
            "pad",
            Op::Pad {
                mode,
                pads: vec![0, 1, 0, 1],
                value,
            },
            &[xd],
            &[("pad", f4)],
        );
    }
    node(
        g,
        "pad_dyn",
        Op::Pad {
            mode: PadMode::Constant,
            pads: vec![],
            value: 0.0,
        },
        &[xd, shp, w],
        &[("pad_dyn", f4)],
    );
    node(
        g,
        "expand",
        Op::Expand {
            shape: vec![
                crate::Dim::Fixed(2),
                crate::Dim::Sym("N".into()),
                crate::Dim::Fixed(1),
            ],
        },
        &[xd],
        &[("expand", "tensor<2xNx4xf32>")],
    );
    node(
        g,
        "range",
        Op::Range {
            start: 2,
            delta: -1,
            len: vec![crate::Dim::Sym("N".into())],
            to: DType::I32,
        },
        &[],
        &[("range", "tensor<Nxi32>")],
    );
    node(
        g,
        "gather",
        Op::Gather { axis: -1 },
        &[xd, shp],
        &[("gather", "tensor<Nx2xf32>")],
    );
    node(
        g,
        "concat",
        Op::Concat { axis: 1 },
        &[xd, xd, xd],
        &[("concat", "tensor<Nx12xf32>")],
    );
    let halves = node(
        g,
        "split",
        Op::Split {
            axis: 1,
            sizes: vec![2, 2],
        },
        &[xd],
        &[("a", "tensor<Nx2xf32>"), ("b", "tensor<Nx2xf32>")],
    );
    node(
        g,
        "split_dyn",
        Op::Split {
            axis: -1,
            sizes: vec![],
        },
        &[xd, shp],
        &[
            ("s0", "tensor<Nx?xf32>"),
            ("s1", "tensor<Nx?xf32>"),
            ("s2", "tensor<Nx?xf32>"),
        ],
    );
    // A result allocated before the nodes above (non-canonical id), a zero-result node and a
    // const node with an operand (not valid IR, but still printable and parseable).
    g.nodes.push(Node {
        name: "late".into(),
        op: Op::Identity,
        inputs: vec![orphan],
        outputs: vec![late],
    });
    node(g, "sink", Op::Identity, &[late], &[]);
    node(
        g,
        "odd_const",
        Op::Const(c_f32),
        &[x2],
        &[("odd", "tensor<2x2xf32>")],
    );
    g.outputs = vec![halves[0], halves[1], x, late, halves[0]];
    m
}

/// Prints, parses and reprints `m`, checking the parse is identical; returns the text.
fn assert_round_trip(m: &Module) -> String {
    let text = print_module(m);
    let back = parse_module(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, m, "round trip changed the module:\n{text}");
    assert_eq!(print_module(&back), text);
    text
}

/// A parse error value, for comparisons.
fn parse_err(line: usize, col: usize, msg: &str) -> Error {
    Error::Parse {
        line,
        col,
        msg: msg.into(),
    }
}
