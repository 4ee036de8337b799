//! Unit tests for shape, dtype and quantization inference.

// Operand lists are built inline, cloning shared operand types for readability.
#![allow(clippy::cloned_ref_to_slice_refs)]

use super::*;
use crate::{Clamp, ConvAttrs, GemmAttrs, PadMode, PoolAttrs, ReduceOp, Tensor};

// ------------------------------------------------------------------ helpers

/// Parses `"N,64,7,7"` (`?` = Any, numbers = Fixed, names = Sym); `""` is a scalar.
fn dims(s: &str) -> Vec<Dim> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p {
            "?" => Dim::Any,
            _ => p
                .parse::<usize>()
                .map(Dim::Fixed)
                .unwrap_or_else(|_| Dim::Sym(p.to_string())),
        })
        .collect()
}

fn ty(dt: DType, s: &str) -> TensorType {
    TensorType::with_dims(dt, dims(s))
}

fn f(s: &str) -> TensorType {
    ty(DType::F32, s)
}

fn shapes_n(op: &Op, ins: &[TensorType], n: usize) -> Result<Vec<Vec<Dim>>, String> {
    let refs: Vec<&TensorType> = ins.iter().collect();
    infer_shapes(op, &refs, n, &Module::default())
}

fn shape(op: &Op, ins: &[TensorType]) -> Vec<Dim> {
    let mut r = shapes_n(op, ins, 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.len(), 1);
    r.remove(0)
}

fn err(op: &Op, ins: &[TensorType]) -> String {
    match shapes_n(op, ins, 1) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e,
    }
}

fn dts(op: &Op, ins: &[TensorType], n: usize) -> Result<Vec<Option<DType>>, String> {
    let refs: Vec<&TensorType> = ins.iter().collect();
    infer_dtypes(op, &refs, n, &Module::default())
}

fn quant(op: &Op, ins: &[TensorType]) -> Vec<Option<QParams>> {
    let refs: Vec<&TensorType> = ins.iter().collect();
    inherited_quant(op, &refs, &Module::default())
}

fn conv_attrs(strides: &[usize], pads: &[usize], dil: &[usize], group: usize) -> ConvAttrs {
    ConvAttrs {
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: dil.to_vec(),
        group,
    }
}

fn pool_attrs(kernel: &[usize], strides: &[usize], pads: &[usize], ceil: bool) -> PoolAttrs {
    PoolAttrs {
        kernel: kernel.to_vec(),
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: vec![],
        ceil_mode: ceil,
        count_include_pad: false,
        row_major_sum: false,
    }
}

fn slice_op(starts: &[i64], ends: &[i64], axes: &[i64], steps: &[i64]) -> Op {
    Op::Slice {
        starts: starts.to_vec(),
        ends: ends.to_vec(),
        axes: axes.to_vec(),
        steps: steps.to_vec(),
    }
}

fn reshape_op(s: &[i64]) -> Op {
    Op::Reshape {
        shape: s.to_vec(),
        allowzero: false,
    }
}

fn reduce_op(axes: Option<&[i64]>, keepdims: bool, noop: bool) -> Op {
    Op::Reduce {
        op: ReduceOp::Sum,
        axes: axes.map(<[i64]>::to_vec),
        keepdims,
        noop_with_empty_axes: noop,
    }
}

fn gemm_op(ta: bool, tb: bool) -> Op {
    Op::Gemm(GemmAttrs {
        alpha: 1.0,
        beta: 1.0,
        trans_a: ta,
        trans_b: tb,
    })
}

fn q8(scale: f32, zp: i32) -> QParams {
    QParams::per_tensor(scale, zp)
}

fn qi8(s: &str, q: QParams) -> TensorType {
    ty(DType::I8, s).quantized(q)
}

// ------------------------------------------------------------------ arity

#[test]
fn operand_and_result_counts_are_checked() {
    assert_eq!(
        err(&Op::Conv(conv_attrs(&[], &[], &[], 1)), &[f("1,1,5,5")]),
        "conv: expected 2 or 3 operands, got 1"
    );
    assert_eq!(
        err(&Op::Unary(UnaryOp::Relu), &[f("1"), f("1")]),
        "relu: expected 1 operand, got 2"
    );
    assert_eq!(
        err(&slice_op(&[], &[], &[], &[]), &[f("3"), f("1")]),
        "slice: expected 1 operand (static) or 3 to 5 (dynamic), got 2"
    );
    assert_eq!(
        shapes_n(&Op::Identity, &[f("3")], 2).unwrap_err(),
        "identity: expected 1 result, got 2"
    );
    assert_eq!(
        shapes_n(
            &Op::MaxPool(pool_attrs(&[1], &[], &[], false)),
            &[f("1,1,3")],
            3
        )
        .unwrap_err(),
        "maxpool: expected 1 or 2 results, got 3"
    );
    assert_eq!(
        shapes_n(&Op::DynamicQuantizeLinear, &[f("3")], 1).unwrap_err(),
        "dynamic_quantize_linear: expected 3 results, got 1"
    );
    assert_eq!(
        dts(&Op::Concat { axis: 0 }, &[], 1).unwrap_err(),
        "concat: expected at least 1 operand, got 0"
    );
    assert_eq!(
        err(&Op::MatMulInteger, &[f("2,2")]),
        "matmul_integer: expected 2 to 4 operands, got 1"
    );
}

// ------------------------------------------------------------------ const

#[test]
fn const_takes_the_constants_type() {
    let mut m = Module::default();
    let q = q8(0.5, 3);
    let c = m.add_const(
        "w",
        ty(DType::I8, "2,3").quantized(q.clone()),
        Tensor::zeros(DType::I8, vec![2, 3]),
    );
    let op = Op::Const(c);
    assert_eq!(infer_shapes(&op, &[], 1, &m).unwrap(), vec![dims("2,3")]);
    assert_eq!(
        infer_dtypes(&op, &[], 1, &m).unwrap(),
        vec![Some(DType::I8)]
    );
    assert_eq!(inherited_quant(&op, &[], &m), vec![Some(q)]);
    let bad = Op::Const(ConstId(7));
    assert_eq!(
        infer_shapes(&bad, &[], 1, &m).unwrap_err(),
        "const: unknown constant #7"
    );
    assert_eq!(inherited_quant(&bad, &[], &m), vec![None]);
}

// ------------------------------------------------------------------ elementwise

#[test]
fn binary_broadcasting() {
    let add = Op::Binary(BinaryOp::Add);
    assert_eq!(shape(&add, &[f("N,3,4"), f("4")]), dims("N,3,4"));
    assert_eq!(shape(&add, &[f("N,1"), f("1,5")]), dims("N,5"));
    assert_eq!(shape(&add, &[f("N,5"), f("N,5")]), dims("N,5"));
    assert_eq!(shape(&add, &[f("1,5"), f("N,1")]), dims("N,5"));
    // N must be 1 or 3, so the result is 3.
    assert_eq!(shape(&add, &[f("N,5"), f("3,5")]), dims("3,5"));
    assert_eq!(shape(&add, &[f("N"), f("M")]), dims("?"));
    assert_eq!(shape(&add, &[f("?,5"), f("3,1")]), dims("?,5"));
    assert_eq!(shape(&add, &[f("?"), f("1")]), dims("?"));
    assert_eq!(shape(&add, &[f("0,3"), f("1,3")]), dims("0,3"));
    assert_eq!(shape(&add, &[f(""), f("2,3")]), dims("2,3"));
    assert_eq!(
        err(&add, &[f("2,3"), f("4")]),
        "add: cannot broadcast [2, 3] with [4]"
    );
    assert_eq!(
        err(&Op::Binary(BinaryOp::Mul), &[f("0,3"), f("2,3")]),
        "mul: cannot broadcast [0, 3] with [2, 3]"
    );
}

#[test]
fn binary_dtypes() {
    let less = Op::Binary(BinaryOp::Less);
    assert_eq!(
        dts(&less, &[f("3"), f("3")], 1).unwrap(),
        vec![Some(DType::Bool)]
    );
    let and = Op::Binary(BinaryOp::And);
    assert_eq!(
        dts(&and, &[ty(DType::Bool, "3"), ty(DType::Bool, "1")], 1).unwrap(),
        vec![Some(DType::Bool)]
    );
    assert_eq!(
        dts(&Op::Binary(BinaryOp::Add), &[f("3"), f("3")], 1).unwrap(),
        vec![Some(DType::F32)]
    );
    assert_eq!(
        dts(
            &Op::Binary(BinaryOp::Sub),
            &[f("3"), ty(DType::I64, "3")],
            1
        )
        .unwrap_err(),
        "sub: operand 1 has dtype i64, expected f32 like operand 0"
    );
    // Pow's exponent may have another type.
    assert_eq!(
        dts(&Op::Binary(BinaryOp::Pow), &[f("3"), ty(DType::I64, "")], 1).unwrap(),
        vec![Some(DType::F32)]
    );
}

#[test]
fn where_broadcasts_three_ways() {
    let c = ty(DType::Bool, "N,1,4");
    assert_eq!(
        shape(&Op::Where, &[c.clone(), f("3,1"), f("")]),
        dims("N,3,4")
    );
    assert_eq!(
        err(&Op::Where, &[c.clone(), f("3,2"), f("")]),
        "where: cannot broadcast [N, 1, 4], [3, 2] and []"
    );
    assert_eq!(
        dts(&Op::Where, &[c.clone(), f("1"), f("1")], 1).unwrap(),
        vec![Some(DType::F32)]
    );
    assert_eq!(
        dts(&Op::Where, &[f("1"), f("1"), f("1")], 1).unwrap_err(),
        "where: condition must be bool, got f32"
    );
    assert!(dts(&Op::Where, &[c, f("1"), ty(DType::I32, "1")], 1).is_err());
}

#[test]
fn unary_family_keeps_the_shape() {
    for op in [
        Op::Unary(UnaryOp::Relu),
        Op::Unary(UnaryOp::Erf),
        Op::LeakyRelu { alpha: 0.1 },
        Op::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Op::Identity,
        Op::Cast { to: DType::I64 },
        Op::Clip {
            min: Some(0.0),
            max: None,
        },
        Op::Quantize,
        Op::Dequantize,
        Op::Requantize,
        Op::Softmax { axis: -1 },
    ] {
        assert_eq!(shape(&op, &[f("N,3,?")]), dims("N,3,?"), "{}", op.name());
    }
    assert_eq!(
        dts(&Op::Cast { to: DType::I64 }, &[f("3")], 1).unwrap(),
        vec![Some(DType::I64)]
    );
    assert_eq!(
        dts(&Op::Unary(UnaryOp::Not), &[ty(DType::Bool, "3")], 1).unwrap(),
        vec![Some(DType::Bool)]
    );
    assert_eq!(
        dts(&Op::Unary(UnaryOp::Exp), &[ty(DType::F64, "3")], 1).unwrap(),
        vec![Some(DType::F64)]
    );
}

#[test]
fn softmax_axis_is_checked() {
    assert_eq!(
        err(&Op::Softmax { axis: 2 }, &[f("N,10")]),
        "softmax: axis 2 out of range for rank 2"
    );
    assert_eq!(shape(&Op::Softmax { axis: -2 }, &[f("N,10")]), dims("N,10"));
}

#[test]
fn dynamic_clip_bounds_are_scalars() {
    let clip = Op::Clip {
        min: None,
        max: None,
    };
    assert_eq!(shape(&clip, &[f("N,3"), f(""), f("1")]), dims("N,3"));
    assert_eq!(
        err(&clip, &[f("N,3"), f(""), f("3")]),
        "clip: max must be a scalar, got shape [3]"
    );
    assert_eq!(
        dts(&clip, &[f("3"), ty(DType::F64, "")], 1).unwrap_err(),
        "clip: operand 1 has dtype f64, expected f32 like operand 0"
    );
}

// ------------------------------------------------------------------ quantization

#[test]
fn quantize_dequantize_dtypes() {
    let x = f("N,4");
    assert_eq!(dts(&Op::Quantize, &[x.clone()], 1).unwrap(), vec![None]);
    assert_eq!(
        dts(&Op::Requantize, &[qi8("4", q8(1.0, 0))], 1).unwrap(),
        vec![None]
    );
    assert_eq!(
        dts(&Op::Dequantize, &[qi8("4", q8(1.0, 0))], 1).unwrap(),
        vec![Some(DType::F32)]
    );
    let ql = Op::QuantizeLinear {
        axis: 1,
        block_size: 0,
    };
    assert_eq!(
        dts(&ql, &[x.clone(), f(""), ty(DType::I8, "")], 1).unwrap(),
        vec![Some(DType::I8)]
    );
    assert_eq!(dts(&ql, &[x.clone(), f("")], 1).unwrap(), vec![None]);
    let dl = Op::DequantizeLinear {
        axis: 1,
        block_size: 0,
    };
    assert_eq!(
        dts(&dl, &[ty(DType::U8, "N,4"), f(""), ty(DType::U8, "")], 1).unwrap(),
        vec![Some(DType::F32)]
    );
    assert_eq!(shape(&dl, &[ty(DType::U8, "N,4"), f("")]), dims("N,4"));
}

#[test]
fn linear_quantization_parameter_shapes() {
    let ql = |axis, block_size| Op::QuantizeLinear { axis, block_size };
    // Per-tensor, per-axis (negative axis), blocked.
    assert_eq!(
        shape(&ql(1, 0), &[f("N,4,3"), f(""), ty(DType::U8, "")]),
        dims("N,4,3")
    );
    assert_eq!(
        shape(&ql(-2, 0), &[f("N,4,3"), f("4"), ty(DType::I8, "4")]),
        dims("N,4,3")
    );
    assert_eq!(shape(&ql(0, 0), &[f("N,4,3"), f("1")]), dims("N,4,3"));
    assert_eq!(shape(&ql(1, 3), &[f("2,7"), f("2,3")]), dims("2,7"));
    assert_eq!(
        err(&ql(1, 0), &[f("N,4,3"), f("3")]),
        "quantize_linear: scale has 3 elements but axis 1 has size 4"
    );
    assert_eq!(
        err(&ql(1, 0), &[f("N,4,3"), f("4"), ty(DType::U8, "")]),
        "quantize_linear: zero point shape [] differs from scale shape [4]"
    );
    assert_eq!(
        err(&ql(1, 3), &[f("2,7"), f("2,2")]),
        "quantize_linear: scale dim 1 is 2, expected ceil(7 / 3) = 3"
    );
    assert_eq!(
        err(&ql(1, 3), &[f("2,7"), f("3")]),
        "quantize_linear: blocked scale must have rank 2, got shape [3]"
    );
    assert_eq!(
        err(&ql(3, 0), &[f("N,4,3"), f("4")]),
        "quantize_linear: axis 3 out of range for rank 3"
    );
    assert_eq!(
        err(&ql(0, 0), &[f("4,4"), f("4,4")]),
        "quantize_linear: scale must be a scalar or 1-d without block_size, got shape [4, 4]"
    );
}

#[test]
fn dynamic_quantize_linear_has_three_results() {
    let op = Op::DynamicQuantizeLinear;
    assert_eq!(
        shapes_n(&op, &[f("N,16")], 3).unwrap(),
        vec![dims("N,16"), vec![], vec![]]
    );
    assert_eq!(
        dts(&op, &[f("N,16")], 3).unwrap(),
        vec![Some(DType::U8), Some(DType::F32), Some(DType::U8)]
    );
    assert_eq!(quant(&op, &[f("N,16")]), vec![None, None, None]);
}

// ------------------------------------------------------------------ conv

#[test]
fn conv_onnx_examples() {
    // ONNX Conv docs: 7x5 input, 3x3 kernel, strides 2.
    let x = f("1,1,7,5");
    let w = f("1,1,3,3");
    let c = |pads: &[usize]| Op::Conv(conv_attrs(&[2, 2], pads, &[], 1));
    assert_eq!(
        shape(&c(&[1, 1, 1, 1]), &[x.clone(), w.clone()]),
        dims("1,1,4,3")
    );
    assert_eq!(
        shape(&c(&[0, 0, 0, 0]), &[x.clone(), w.clone()]),
        dims("1,1,3,2")
    );
    assert_eq!(
        shape(&c(&[1, 0, 1, 0]), &[x.clone(), w.clone()]),
        dims("1,1,4,2")
    );
    // conv_with_autopad_same resolved: 5x5, k3, s2, pads 1 -> 3x3.
    let same = Op::Conv(conv_attrs(&[2, 2], &[1, 1, 1, 1], &[], 1));
    assert_eq!(shape(&same, &[f("1,1,5,5"), f("1,1,3,3")]), dims("1,1,3,3"));
    // Dilations: extent 2*(3-1)+1 = 5.
    let dil = Op::Conv(conv_attrs(&[], &[], &[2, 2], 1));
    assert_eq!(shape(&dil, &[f("1,1,7,7"), f("1,1,3,3")]), dims("1,1,3,3"));
}

#[test]
fn conv_symbolic_batch_and_bias() {
    let op = Op::Conv(conv_attrs(&[1, 1], &[1, 1, 1, 1], &[1, 1], 1));
    assert_eq!(
        shape(&op, &[f("N,3,32,32"), f("16,3,3,3"), f("16")]),
        dims("N,16,32,32")
    );
    // Size-preserving windows keep symbolic spatial dims; others become Any.
    assert_eq!(shape(&op, &[f("N,3,H,W"), f("16,3,3,3")]), dims("N,16,H,W"));
    let s2 = Op::Conv(conv_attrs(&[2, 2], &[1, 1, 1, 1], &[], 1));
    assert_eq!(shape(&s2, &[f("N,3,H,W"), f("16,3,3,3")]), dims("N,16,?,?"));
    // Unknown kernel size.
    assert_eq!(shape(&op, &[f("N,3,8,8"), f("16,3,?,3")]), dims("N,16,?,8"));
    // Bias pins an unknown output channel count.
    assert_eq!(
        shape(&op, &[f("N,3,8,8"), f("?,3,3,3"), f("16")]),
        dims("N,16,8,8")
    );
    assert_eq!(
        err(&op, &[f("N,3,8,8"), f("16,3,3,3"), f("8")]),
        "conv: bias has 8 elements, expected 16"
    );
    assert_eq!(
        err(&op, &[f("N,3,8,8"), f("16,3,3,3"), f("1,16")]),
        "conv: bias operand must be 1-d, got shape [1, 16]"
    );
}

#[test]
fn conv_1d_3d_and_groups() {
    let c1 = Op::Conv(conv_attrs(&[2], &[0, 0], &[], 1));
    assert_eq!(shape(&c1, &[f("N,4,10"), f("8,4,3")]), dims("N,8,4"));
    let c3 = Op::Conv(conv_attrs(&[], &[], &[], 1));
    assert_eq!(
        shape(&c3, &[f("1,2,4,5,6"), f("3,2,2,2,2")]),
        dims("1,3,3,4,5")
    );
    // Depthwise: group == channels.
    let dw = Op::Conv(conv_attrs(&[], &[1, 1, 1, 1], &[], 32));
    assert_eq!(
        shape(&dw, &[f("N,32,14,14"), f("32,1,3,3")]),
        dims("N,32,14,14")
    );
    assert_eq!(
        err(&dw, &[f("N,32,14,14"), f("32,2,3,3")]),
        "conv: input has 32 channels, but weight expects 2 x group 32"
    );
    let g2 = Op::Conv(conv_attrs(&[], &[], &[], 2));
    assert_eq!(
        err(&g2, &[f("N,4,5,5"), f("3,2,3,3")]),
        "conv: 3 output channels not divisible by group 2"
    );
    assert_eq!(shape(&g2, &[f("N,4,5,5"), f("6,2,3,3")]), dims("N,6,3,3"));
}

#[test]
fn conv_errors() {
    let op = Op::Conv(conv_attrs(&[], &[], &[], 1));
    assert_eq!(
        err(&op, &[f("N,3,2,2"), f("4,3,3,3")]),
        "conv: window extent 3 exceeds padded input 2 on spatial dim 0"
    );
    assert_eq!(
        err(&op, &[f("N,3"), f("4,3")]),
        "conv: input must have rank >= 3 (N, C, spatial...), got shape [N, 3]"
    );
    assert_eq!(
        err(&op, &[f("N,3,5,5"), f("4,3,3")]),
        "conv: weight has shape [4, 3, 3], expected rank 4 like the input"
    );
    let bad_pads = Op::Conv(conv_attrs(&[], &[1, 1], &[], 1));
    assert_eq!(
        err(&bad_pads, &[f("N,3,5,5"), f("4,3,3,3")]),
        "conv: pads has 2 values, expected 4"
    );
    let zero_stride = Op::Conv(conv_attrs(&[0, 1], &[], &[], 1));
    assert_eq!(
        err(&zero_stride, &[f("N,3,5,5"), f("4,3,3,3")]),
        "conv: strides must be positive, got [0, 1]"
    );
    let zero_group = Op::Conv(conv_attrs(&[], &[], &[], 0));
    assert_eq!(
        err(&zero_group, &[f("N,3,5,5"), f("4,3,3,3")]),
        "conv: group must be positive"
    );
    assert_eq!(
        err(&op, &[f("N,3,5,5"), f("4,3,0,3")]),
        "conv: kernel size 0 on spatial dim 0"
    );
}

#[test]
fn conv_integer_and_qconv() {
    let a = conv_attrs(&[], &[], &[], 1);
    let ci = Op::ConvInteger(a.clone());
    let x = ty(DType::U8, "N,3,5,5");
    let w = ty(DType::I8, "4,3,3,3");
    let xz = ty(DType::U8, "");
    assert_eq!(shape(&ci, &[x.clone(), w.clone()]), dims("N,4,3,3"));
    assert_eq!(
        shape(&ci, &[x.clone(), w.clone(), xz.clone(), ty(DType::I8, "4")]),
        dims("N,4,3,3")
    );
    assert_eq!(
        err(&ci, &[x.clone(), w.clone(), xz.clone(), ty(DType::I8, "3")]),
        "conv_integer: w_zero_point has 3 elements, expected 1 or 4"
    );
    assert_eq!(
        err(&ci, &[x.clone(), w.clone(), ty(DType::U8, "3")]),
        "conv_integer: x_zero_point must be a scalar, got shape [3]"
    );
    assert_eq!(
        dts(&ci, &[x.clone(), w.clone()], 1).unwrap(),
        vec![Some(DType::I32)]
    );
    let qc = Op::QConv(a, Clamp::default());
    let xq = qi8("N,3,5,5", q8(0.1, 0));
    let wq = qi8("4,3,3,3", q8(0.2, 0));
    assert_eq!(
        shape(&qc, &[xq.clone(), wq.clone(), ty(DType::I32, "4")]),
        dims("N,4,3,3")
    );
    assert_eq!(dts(&qc, &[xq.clone(), wq.clone()], 1).unwrap(), vec![None]);
    assert_eq!(quant(&qc, &[xq, wq]), vec![None]);
}

// ------------------------------------------------------------------ matmul / gemm

#[test]
fn matmul_numpy_rules() {
    let mm = Op::MatMul;
    assert_eq!(shape(&mm, &[f("N,128"), f("128,10")]), dims("N,10"));
    assert_eq!(shape(&mm, &[f("N,S,64"), f("64,32")]), dims("N,S,32"));
    assert_eq!(shape(&mm, &[f("2,1,3,4"), f("5,4,6")]), dims("2,5,3,6"));
    assert_eq!(shape(&mm, &[f("4"), f("4,6")]), dims("6"));
    assert_eq!(shape(&mm, &[f("N,3,4"), f("4")]), dims("N,3"));
    assert_eq!(shape(&mm, &[f("4"), f("4")]), dims(""));
    assert_eq!(shape(&mm, &[f("3,?"), f("K,5")]), dims("3,5"));
    assert_eq!(
        err(&mm, &[f("N,64"), f("32,10")]),
        "matmul: inner dims 64 and 32 differ"
    );
    assert_eq!(
        err(&mm, &[f("2,3,4"), f("3,4,5")]),
        "matmul: cannot broadcast batch dims of [2, 3, 4] and [3, 4, 5]"
    );
    assert_eq!(
        err(&mm, &[f(""), f("3")]),
        "matmul: operands must have rank >= 1, got [] and [3]"
    );
    assert_eq!(
        dts(&mm, &[f("2,2"), ty(DType::F64, "2,2")], 1).unwrap_err(),
        "matmul: operand 1 has dtype f64, expected f32 like operand 0"
    );
}

#[test]
fn integer_and_quantized_matmul() {
    let mi = Op::MatMulInteger;
    let a = ty(DType::U8, "N,3,4");
    let b = ty(DType::I8, "4,5");
    assert_eq!(shape(&mi, &[a.clone(), b.clone()]), dims("N,3,5"));
    assert_eq!(
        shape(
            &mi,
            &[a.clone(), b.clone(), ty(DType::U8, ""), ty(DType::I8, "5")]
        ),
        dims("N,3,5")
    );
    assert_eq!(
        err(
            &mi,
            &[a.clone(), b.clone(), ty(DType::U8, ""), ty(DType::I8, "4")]
        ),
        "matmul_integer: b_zero_point has 4 elements, expected 1 or 5"
    );
    assert_eq!(
        err(&mi, &[a.clone(), b.clone(), ty(DType::U8, "2")]),
        "matmul_integer: a_zero_point has 2 elements, expected 1 or 3"
    );
    assert_eq!(dts(&mi, &[a, b], 1).unwrap(), vec![Some(DType::I32)]);
    let qm = Op::QMatMul;
    assert_eq!(
        shape(&qm, &[qi8("N,64", q8(0.1, 0)), qi8("64,10", q8(0.1, 0))]),
        dims("N,10")
    );
    assert_eq!(
        err(&qm, &[qi8("N,64", q8(0.1, 0)), qi8("32,10", q8(0.1, 0))]),
        "qmatmul: inner dims 64 and 32 differ"
    );
}

#[test]
fn gemm_transposes_and_c() {
    assert_eq!(
        shape(&gemm_op(false, false), &[f("N,4"), f("4,6")]),
        dims("N,6")
    );
    assert_eq!(
        shape(&gemm_op(true, false), &[f("4,N"), f("4,6")]),
        dims("N,6")
    );
    assert_eq!(
        shape(&gemm_op(false, true), &[f("N,4"), f("6,4"), f("6")]),
        dims("N,6")
    );
    assert_eq!(
        shape(&gemm_op(true, true), &[f("4,3"), f("6,4"), f("1,1")]),
        dims("3,6")
    );
    // C pins a symbolic M.
    assert_eq!(
        shape(&gemm_op(false, false), &[f("N,4"), f("4,6"), f("5,6")]),
        dims("5,6")
    );
    assert_eq!(
        shape(&gemm_op(false, false), &[f("N,4"), f("4,6"), f("")]),
        dims("N,6")
    );
    assert_eq!(
        err(&gemm_op(false, false), &[f("N,4"), f("5,6")]),
        "gemm: inner dims 4 and 5 differ"
    );
    assert_eq!(
        err(&gemm_op(false, true), &[f("N,4"), f("6,4"), f("5")]),
        "gemm: C of shape [5] does not broadcast to [N, 6]"
    );
    assert_eq!(
        err(&gemm_op(false, false), &[f("N,2,4"), f("4,6")]),
        "gemm: A must be 2-d, got shape [N, 2, 4]"
    );
    let qg = Op::QGemm(
        GemmAttrs {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: true,
        },
        Clamp::default(),
    );
    assert_eq!(
        shape(
            &qg,
            &[
                qi8("N,4", q8(1.0, 0)),
                qi8("6,4", q8(1.0, 0)),
                ty(DType::I32, "6")
            ]
        ),
        dims("N,6")
    );
}

// ------------------------------------------------------------------ batchnorm

#[test]
fn batchnorm_results() {
    let bn = |training| Op::BatchNorm {
        epsilon: 1e-5,
        momentum: 0.9,
        training,
    };
    let p = f("C");
    let ins = [f("N,16,8,8"), f("16"), f("16"), f("16"), f("16")];
    assert_eq!(shape(&bn(false), &ins), dims("N,16,8,8"));
    assert_eq!(
        shapes_n(&bn(true), &ins, 3).unwrap(),
        vec![dims("N,16,8,8"), dims("16"), dims("16")]
    );
    assert_eq!(
        shapes_n(&bn(false), &ins, 3).unwrap_err(),
        "batchnorm: expected 1 result, got 3"
    );
    // Channels unify across the parameters.
    assert_eq!(
        shape(&bn(false), &[f("N,?,4"), p.clone(), f("8"), p.clone(), p]),
        dims("N,8,4")
    );
    assert_eq!(
        err(
            &bn(false),
            &[f("N,16,8,8"), f("16"), f("16"), f("8"), f("16")]
        ),
        "batchnorm: mean has 8 elements, expected 16"
    );
    assert_eq!(
        err(&bn(false), &[f("16"), f("16"), f("16"), f("16"), f("16")]),
        "batchnorm: input must have rank >= 2 (N, C, ...), got shape [16]"
    );
    let mixed = [
        f("N,4"),
        f("4"),
        f("4"),
        ty(DType::F64, "4"),
        ty(DType::F64, "4"),
    ];
    assert_eq!(
        dts(&bn(true), &mixed, 3).unwrap(),
        vec![Some(DType::F32), Some(DType::F64), Some(DType::F64)]
    );
}

// ------------------------------------------------------------------ pooling

#[test]
fn pool_onnx_examples() {
    let mp = |k: &[usize], s: &[usize], p: &[usize], ceil| Op::MaxPool(pool_attrs(k, s, p, ceil));
    // maxpool_2d_ceil / averagepool_2d_ceil: 4x4, k3, s2 -> 2x2 (floor gives 1x1).
    assert_eq!(
        shape(&mp(&[3, 3], &[2, 2], &[], true), &[f("1,1,4,4")]),
        dims("1,1,2,2")
    );
    assert_eq!(
        shape(&mp(&[3, 3], &[2, 2], &[], false), &[f("1,1,4,4")]),
        dims("1,1,1,1")
    );
    let ap = Op::AvgPool(pool_attrs(&[3, 3], &[2, 2], &[], true));
    assert_eq!(shape(&ap, &[f("1,1,4,4")]), dims("1,1,2,2"));
    // maxpool_2d_ceil_output_size_reduce_by_one: 2x2, k1, s2 -> 1x1 (the second window
    // would start in the padding).
    assert_eq!(
        shape(&mp(&[1, 1], &[2, 2], &[], true), &[f("1,1,2,2")]),
        dims("1,1,1,1")
    );
    // maxpool_2d_pads: 28x28, k3, pads 2 -> 30x30.
    assert_eq!(
        shape(&mp(&[3, 3], &[], &[2, 2, 2, 2], false), &[f("1,3,28,28")]),
        dims("1,3,30,30")
    );
    // maxpool_2d_precomputed_strides: 5x5, k2, s2 -> 2x2.
    assert_eq!(
        shape(&mp(&[2, 2], &[2, 2], &[], false), &[f("1,1,5,5")]),
        dims("1,1,2,2")
    );
    // averagepool_2d_strides: 32x32, k5, s3 -> 10x10.
    let ap = Op::AvgPool(pool_attrs(&[5, 5], &[3, 3], &[], false));
    assert_eq!(shape(&ap, &[f("1,3,32,32")]), dims("1,3,10,10"));
    // maxpool_1d_default: 32, k2 -> 31.
    assert_eq!(
        shape(&mp(&[2], &[], &[], false), &[f("1,3,32")]),
        dims("1,3,31")
    );
    // maxpool_2d_dilations: 4x4, k2, s1, d2 -> 2x2.
    let dil = Op::MaxPool(PoolAttrs {
        dilations: vec![2, 2],
        ..pool_attrs(&[2, 2], &[1, 1], &[], false)
    });
    assert_eq!(shape(&dil, &[f("1,1,4,4")]), dims("1,1,2,2"));
    // maxpool_3d_dilations_use_ref_impl_large: 32^3, k2, s2, d2, ceil -> 16^3.
    let d3 = Op::MaxPool(PoolAttrs {
        dilations: vec![2, 2, 2],
        ..pool_attrs(&[2, 2, 2], &[2, 2, 2], &[], true)
    });
    assert_eq!(shape(&d3, &[f("1,1,32,32,32")]), dims("1,1,16,16,16"));
    // ResNet stem: 112, k3, s2, pads 1 -> 56.
    assert_eq!(
        shape(
            &mp(&[3, 3], &[2, 2], &[1, 1, 1, 1], false),
            &[f("N,64,112,112")]
        ),
        dims("N,64,56,56")
    );
}

#[test]
fn maxpool_indices_and_errors() {
    let op = Op::MaxPool(pool_attrs(&[2, 2], &[2, 2], &[], false));
    assert_eq!(
        shapes_n(&op, &[f("N,3,8,8")], 2).unwrap(),
        vec![dims("N,3,4,4"), dims("N,3,4,4")]
    );
    assert_eq!(
        dts(&op, &[f("N,3,8,8")], 2).unwrap(),
        vec![Some(DType::F32), Some(DType::I64)]
    );
    assert_eq!(
        err(&op, &[f("N,3,8")]),
        "maxpool: kernel has 2 dims, expected 1 for input shape [N, 3, 8]"
    );
    assert_eq!(
        err(&op, &[f("N,3,1,8")]),
        "maxpool: window extent 2 exceeds padded input 1 on spatial dim 0"
    );
    assert_eq!(
        err(&op, &[f("N,3")]),
        "maxpool: input must have rank >= 3 (N, C, spatial...), got shape [N, 3]"
    );
    // Symbolic spatial dims: Any unless the window preserves the size.
    assert_eq!(shape(&op, &[f("N,3,H,W")]), dims("N,3,?,?"));
    let same = Op::MaxPool(pool_attrs(&[3, 3], &[1, 1], &[1, 1, 1, 1], true));
    assert_eq!(shape(&same, &[f("N,3,H,8")]), dims("N,3,H,8"));
}

#[test]
fn global_pools() {
    assert_eq!(
        shape(&Op::GlobalAvgPool, &[f("N,512,7,7")]),
        dims("N,512,1,1")
    );
    assert_eq!(
        shape(&Op::GlobalMaxPool, &[f("N,8,?,?,4")]),
        dims("N,8,1,1,1")
    );
    assert_eq!(
        err(&Op::GlobalAvgPool, &[f("N,8")]),
        "global_avgpool: input must have rank >= 3 (N, C, spatial...), got shape [N, 8]"
    );
}

#[test]
fn reductions() {
    let x = f("N,3,4,5");
    assert_eq!(
        shape(&reduce_op(Some(&[1]), true, false), &[x.clone()]),
        dims("N,1,4,5")
    );
    assert_eq!(
        shape(&reduce_op(Some(&[-1, 1]), false, false), &[x.clone()]),
        dims("N,4")
    );
    assert_eq!(
        shape(&reduce_op(None, true, false), &[x.clone()]),
        dims("1,1,1,1")
    );
    assert_eq!(
        shape(&reduce_op(None, false, false), &[x.clone()]),
        dims("")
    );
    assert_eq!(
        shape(&reduce_op(Some(&[]), false, false), &[x.clone()]),
        dims("")
    );
    assert_eq!(
        shape(&reduce_op(None, false, true), &[x.clone()]),
        dims("N,3,4,5")
    );
    assert_eq!(
        err(&reduce_op(Some(&[4]), true, false), &[x.clone()]),
        "reduce_sum: axis 4 out of range for rank 4"
    );
    assert_eq!(
        err(&reduce_op(Some(&[1, -3]), true, false), &[x.clone()]),
        "reduce_sum: axis -3 repeated in [1, -3]"
    );
    // Dynamic form: [x, axes].
    let dynr = |keep| reduce_op(None, keep, false);
    let x1 = f("N,1,4");
    assert_eq!(
        shape(&dynr(false), &[x1.clone(), ty(DType::I64, "2")]),
        dims("?")
    );
    assert_eq!(
        shape(&dynr(true), &[x1.clone(), ty(DType::I64, "2")]),
        dims("?,1,?")
    );
    assert_eq!(
        shape(&dynr(true), &[x1.clone(), ty(DType::I64, "?")]),
        dims("?,1,?")
    );
    assert_eq!(
        shape(&dynr(false), &[x1.clone(), ty(DType::I64, "0")]),
        dims("")
    );
    assert_eq!(
        err(&dynr(false), &[x1.clone(), ty(DType::I64, "?")]),
        "reduce_sum: cannot infer rank of dynamic reduce: axes operand length unknown"
    );
    assert_eq!(
        err(&dynr(false), &[x1, ty(DType::I64, "4")]),
        "reduce_sum: axes operand has 4 entries but the input has rank 3"
    );
}

// ------------------------------------------------------------------ reshape / flatten

#[test]
fn reshape_static() {
    let x = f("N,64,7,7");
    assert_eq!(
        shape(&reshape_op(&[-1, 3136]), &[x.clone()]),
        dims("N,3136")
    );
    assert_eq!(shape(&reshape_op(&[0, -1]), &[x.clone()]), dims("N,3136"));
    assert_eq!(
        shape(&reshape_op(&[0, 64, 49]), &[x.clone()]),
        dims("N,64,49")
    );
    assert_eq!(
        shape(&reshape_op(&[0, 0, -1]), &[x.clone()]),
        dims("N,64,49")
    );
    assert_eq!(shape(&reshape_op(&[-1]), &[f("2,3,4")]), dims("24"));
    assert_eq!(
        shape(&reshape_op(&[2, -1, 2]), &[f("2,3,4")]),
        dims("2,6,2")
    );
    assert_eq!(shape(&reshape_op(&[]), &[f("1,1")]), dims(""));
    // 3136*N / 100 might be an integer for some N.
    assert_eq!(shape(&reshape_op(&[-1, 100]), &[x.clone()]), dims("?,100"));
    assert_eq!(shape(&reshape_op(&[-1, 2]), &[f("N,M,4")]), dims("?,2"));
    assert_eq!(shape(&reshape_op(&[0, -1]), &[f("N,M,4")]), dims("N,?"));
    assert_eq!(shape(&reshape_op(&[8, -1]), &[f("N,4,2")]), dims("8,N"));
    assert_eq!(shape(&reshape_op(&[-1, 10]), &[f("?,10")]), dims("?,10"));
    assert_eq!(shape(&reshape_op(&[-1, 10]), &[f("?,0")]), dims("0,10"));
    let az = Op::Reshape {
        shape: vec![0, 3],
        allowzero: true,
    };
    assert_eq!(shape(&az, &[f("0,3")]), dims("0,3"));
}

#[test]
fn reshape_errors() {
    assert_eq!(
        err(&reshape_op(&[-1, 100]), &[f("64,7,7")]),
        "reshape: cannot reshape 3136 elements into [-1, 100]"
    );
    assert_eq!(
        err(&reshape_op(&[3, 5]), &[f("2,7")]),
        "reshape: cannot reshape 14 elements into [3, 5]"
    );
    assert_eq!(
        err(&reshape_op(&[0, 5]), &[f("N,4")]),
        "reshape: cannot reshape 4*N elements into [0, 5]"
    );
    assert_eq!(
        err(&reshape_op(&[0, 3, -1]), &[f("N,10")]),
        "reshape: cannot reshape 10*N elements into [0, 3, -1]"
    );
    assert_eq!(
        err(&reshape_op(&[-1, -1]), &[f("4")]),
        "reshape: more than one -1 in shape [-1, -1]"
    );
    assert_eq!(
        err(&reshape_op(&[-2, 2]), &[f("4")]),
        "reshape: invalid dim -2 in shape [-2, 2]"
    );
    assert_eq!(
        err(&reshape_op(&[2, 0]), &[f("4")]),
        "reshape: shape [2, 0]: 0 at index 1 copies a dim the rank-1 input lacks"
    );
    let az = Op::Reshape {
        shape: vec![0, -1],
        allowzero: true,
    };
    assert_eq!(
        err(&az, &[f("4")]),
        "reshape: shape [0, -1] has both 0 and -1 with allowzero"
    );
    assert_eq!(
        err(&reshape_op(&[0, -1]), &[f("0,4")]),
        "reshape: cannot infer -1 in shape [0, -1] next to a zero-size dim"
    );
}

#[test]
fn reshape_dynamic() {
    let op = reshape_op(&[]);
    assert_eq!(shape(&op, &[f("N,64"), ty(DType::I64, "3")]), dims("?,?,?"));
    assert_eq!(
        err(&op, &[f("N,64"), ty(DType::I64, "?")]),
        "reshape: cannot infer rank of dynamic reshape: shape operand length unknown"
    );
    assert_eq!(
        err(&op, &[f("N,64"), ty(DType::I64, "1,3")]),
        "reshape: shape operand must be 1-d, got shape [1, 3]"
    );
}

#[test]
fn flatten_rules() {
    let fl = |axis| Op::Flatten { axis };
    assert_eq!(shape(&fl(1), &[f("N,64,7,7")]), dims("N,3136"));
    assert_eq!(shape(&fl(0), &[f("N,64,7,7")]), dims("1,?"));
    assert_eq!(shape(&fl(0), &[f("2,3")]), dims("1,6"));
    assert_eq!(shape(&fl(-1), &[f("N,4,5")]), dims("?,5"));
    assert_eq!(shape(&fl(3), &[f("2,3,4")]), dims("24,1"));
    assert_eq!(shape(&fl(2), &[f("N,1,4,?")]), dims("N,?"));
    assert_eq!(shape(&fl(2), &[f("?,0,4,5")]), dims("0,20"));
    assert_eq!(
        err(&fl(4), &[f("2,3,4")]),
        "flatten: axis 4 out of range for rank 3"
    );
    assert_eq!(
        err(&fl(-4), &[f("2,3,4")]),
        "flatten: axis -4 out of range for rank 3"
    );
}

// ------------------------------------------------------------------ transpose / squeeze / unsqueeze

#[test]
fn transpose_rules() {
    let tr = |p: &[usize]| Op::Transpose { perm: p.to_vec() };
    assert_eq!(shape(&tr(&[]), &[f("N,3,4")]), dims("4,3,N"));
    assert_eq!(shape(&tr(&[0, 2, 3, 1]), &[f("N,3,H,W")]), dims("N,H,W,3"));
    assert_eq!(
        err(&tr(&[0, 0]), &[f("2,3")]),
        "transpose: perm [0, 0] is not a permutation of 2 dims"
    );
    assert_eq!(
        err(&tr(&[0, 1, 2]), &[f("2,3")]),
        "transpose: perm [0, 1, 2] is not a permutation of 2 dims"
    );
    assert_eq!(
        err(&tr(&[0, 2]), &[f("2,3")]),
        "transpose: perm [0, 2] is not a permutation of 2 dims"
    );
}

#[test]
fn squeeze_rules() {
    let sq = |a: &[i64]| Op::Squeeze { axes: a.to_vec() };
    assert_eq!(shape(&sq(&[2, 3]), &[f("N,512,1,1")]), dims("N,512"));
    assert_eq!(shape(&sq(&[-1]), &[f("N,512,1")]), dims("N,512"));
    assert_eq!(shape(&sq(&[]), &[f("1,3,1,5")]), dims("3,5"));
    // A symbolic dim named explicitly is assumed to be 1.
    assert_eq!(shape(&sq(&[0]), &[f("N,3")]), dims("3"));
    assert_eq!(
        err(&sq(&[1]), &[f("N,512,1,1")]),
        "squeeze: dim 1 has size 512, not 1"
    );
    assert_eq!(
        err(&sq(&[]), &[f("N,1,5")]),
        "squeeze: cannot tell whether dim 0 (N) has size 1; explicit axes needed"
    );
    assert_eq!(
        err(&sq(&[3]), &[f("N,1,5")]),
        "squeeze: axis 3 out of range for rank 3"
    );
    assert_eq!(
        err(&sq(&[1, -2]), &[f("N,1,5")]),
        "squeeze: axis -2 repeated in [1, -2]"
    );
    // Dynamic form.
    assert_eq!(
        shape(&sq(&[]), &[f("N,1,1,5"), ty(DType::I64, "2")]),
        dims("?,?")
    );
    assert_eq!(
        shape(&sq(&[]), &[f("2,1,5"), ty(DType::I64, "0")]),
        dims("2,5")
    );
    assert_eq!(
        err(&sq(&[]), &[f("N,1,5"), ty(DType::I64, "?")]),
        "squeeze: cannot infer rank of dynamic squeeze: axes operand length unknown"
    );
    assert_eq!(
        err(&sq(&[]), &[f("N,1,5"), ty(DType::I64, "4")]),
        "squeeze: axes operand has 4 entries but the input has rank 3"
    );
}

#[test]
fn unsqueeze_rules() {
    let us = |a: &[i64]| Op::Unsqueeze { axes: a.to_vec() };
    // ONNX unsqueeze_* examples on a 3x4x5 input.
    let x = f("3,4,5");
    assert_eq!(shape(&us(&[0]), &[x.clone()]), dims("1,3,4,5"));
    assert_eq!(shape(&us(&[1, 4]), &[x.clone()]), dims("3,1,4,5,1"));
    assert_eq!(shape(&us(&[2, 4, 5]), &[x.clone()]), dims("3,4,1,5,1,1"));
    assert_eq!(shape(&us(&[5, 4, 2]), &[x.clone()]), dims("3,4,1,5,1,1"));
    assert_eq!(shape(&us(&[-2]), &[f("1,3,1,5")]), dims("1,3,1,1,5"));
    assert_eq!(shape(&us(&[0]), &[f("")]), dims("1"));
    assert_eq!(shape(&us(&[-1, 0]), &[f("N")]), dims("1,N,1"));
    assert_eq!(
        err(&us(&[5]), &[x.clone()]),
        "unsqueeze: axis 5 out of range for rank 4"
    );
    assert_eq!(
        err(&us(&[1, 1]), &[x.clone()]),
        "unsqueeze: axis 1 repeated in [1, 1]"
    );
    // Dynamic form.
    assert_eq!(
        shape(&us(&[]), &[x.clone(), ty(DType::I64, "2")]),
        dims("?,?,?,?,?")
    );
    assert_eq!(
        err(&us(&[]), &[x, ty(DType::I64, "?")]),
        "unsqueeze: cannot infer rank of dynamic unsqueeze: axes operand length unknown"
    );
}

// ------------------------------------------------------------------ slice

#[test]
fn slice_onnx_examples() {
    let x = f("20,10,5");
    let m = i64::MAX;
    // slice
    assert_eq!(
        shape(&slice_op(&[0, 0], &[3, 10], &[0, 1], &[1, 1]), &[x.clone()]),
        dims("3,10,5")
    );
    // slice_neg
    assert_eq!(
        shape(&slice_op(&[0], &[-1], &[1], &[1]), &[x.clone()]),
        dims("20,9,5")
    );
    // slice_neg_steps
    assert_eq!(
        shape(
            &slice_op(&[20, 10, 4], &[0, 0, 1], &[0, 1, 2], &[-1, -3, -2]),
            &[x.clone()]
        ),
        dims("19,3,2")
    );
    // slice_start_out_of_bounds / slice_end_out_of_bounds
    assert_eq!(
        shape(&slice_op(&[1000], &[1000], &[1], &[1]), &[x.clone()]),
        dims("20,0,5")
    );
    assert_eq!(
        shape(&slice_op(&[1], &[1000], &[1], &[1]), &[x.clone()]),
        dims("20,9,5")
    );
    // slice_default_axes / slice_default_steps / slice_negative_axes
    assert_eq!(
        shape(&slice_op(&[0, 0, 3], &[20, 10, 4], &[], &[]), &[x.clone()]),
        dims("20,10,1")
    );
    assert_eq!(
        shape(
            &slice_op(&[0, 0, 3], &[20, 10, 4], &[0, 1, 2], &[]),
            &[x.clone()]
        ),
        dims("20,10,1")
    );
    assert_eq!(
        shape(
            &slice_op(&[0, 0, 3], &[20, 10, 4], &[0, -2, -1], &[]),
            &[x.clone()]
        ),
        dims("20,10,1")
    );
    // Operator docs: example 1 (steps 2) and example 2 (end -1 and 1000).
    let d = f("2,4");
    assert_eq!(
        shape(&slice_op(&[1, 0], &[2, 3], &[0, 1], &[1, 2]), &[d.clone()]),
        dims("1,2")
    );
    assert_eq!(
        shape(&slice_op(&[0, 1], &[-1, 1000], &[], &[]), &[d.clone()]),
        dims("1,3")
    );
    // Reversal with INT64_MIN / INT64_MAX.
    assert_eq!(
        shape(&slice_op(&[-1], &[i64::MIN], &[1], &[-1]), &[d.clone()]),
        dims("2,4")
    );
    assert_eq!(
        shape(&slice_op(&[m], &[i64::MIN], &[1], &[-2]), &[d.clone()]),
        dims("2,2")
    );
    assert_eq!(
        shape(&slice_op(&[i64::MIN], &[m], &[0], &[1]), &[d.clone()]),
        dims("2,4")
    );
    assert_eq!(
        shape(&slice_op(&[0], &[m], &[0], &[3]), &[f("10")]),
        dims("4")
    );
    assert_eq!(
        shape(&slice_op(&[-1], &[i64::MIN], &[0], &[-1]), &[f("0")]),
        dims("0")
    );
}

#[test]
fn slice_symbolic_and_errors() {
    let m = i64::MAX;
    let x = f("N,10");
    assert_eq!(
        shape(&slice_op(&[0], &[m], &[0], &[1]), &[x.clone()]),
        dims("N,10")
    );
    assert_eq!(
        shape(&slice_op(&[-1], &[i64::MIN], &[0], &[-1]), &[x.clone()]),
        dims("N,10")
    );
    assert_eq!(
        shape(&slice_op(&[1], &[m], &[0], &[1]), &[x.clone()]),
        dims("?,10")
    );
    assert_eq!(
        shape(&slice_op(&[5], &[3], &[0], &[1]), &[x.clone()]),
        dims("0,10")
    );
    assert_eq!(
        shape(&slice_op(&[1, 2], &[3, 8], &[0, 1], &[1, 2]), &[x.clone()]),
        dims("?,3")
    );
    assert_eq!(
        err(&slice_op(&[0], &[1, 2], &[], &[]), &[x.clone()]),
        "slice: 1 starts but 2 ends"
    );
    assert_eq!(
        err(&slice_op(&[0], &[1], &[0], &[0]), &[x.clone()]),
        "slice: step 0 on axis 0"
    );
    assert_eq!(
        err(&slice_op(&[0], &[1], &[2], &[]), &[x.clone()]),
        "slice: axis 2 out of range for rank 2"
    );
    assert_eq!(
        err(&slice_op(&[0, 0, 0], &[1, 1, 1], &[], &[]), &[x.clone()]),
        "slice: 3 starts for rank 2"
    );
    assert_eq!(
        err(&slice_op(&[0, 0], &[1, 1], &[0], &[]), &[x.clone()]),
        "slice: 1 axes for 2 starts"
    );
}

#[test]
fn slice_dynamic() {
    let op = slice_op(&[], &[], &[], &[]);
    let i = |s| ty(DType::I64, s);
    let x = f("N,10,4");
    assert_eq!(shape(&op, &[x.clone(), i("1"), i("1")]), dims("?,10,4"));
    assert_eq!(
        shape(&op, &[x.clone(), i("1"), i("1"), i("1")]),
        dims("?,?,?")
    );
    assert_eq!(shape(&op, &[x.clone(), i("?"), i("?")]), dims("?,?,?"));
    assert_eq!(
        err(&op, &[x.clone(), i("1"), i("2")]),
        "slice: 1 starts but 2 ends"
    );
    assert_eq!(
        err(&op, &[x.clone(), i("2"), i("2"), i("1")]),
        "slice: 1 axes for 2 starts"
    );
    assert_eq!(err(&op, &[x, i("4"), i("4")]), "slice: 4 starts for rank 3");
}

// ------------------------------------------------------------------ pad

#[test]
fn pad_rules() {
    let pad = |p: &[i64]| Op::Pad {
        mode: PadMode::Constant,
        pads: p.to_vec(),
        value: 0.0,
    };
    assert_eq!(
        shape(&pad(&[0, 0, 1, 2, 0, 0, 1, 2]), &[f("N,3,4,4")]),
        dims("N,3,6,8")
    );
    // Negative pads crop.
    assert_eq!(shape(&pad(&[0, -1, 0, -2]), &[f("N,5")]), dims("N,2"));
    // Net-zero padding keeps a symbol.
    assert_eq!(shape(&pad(&[1, 0, -1, 0]), &[f("N,5")]), dims("N,5"));
    assert_eq!(shape(&pad(&[1, 0, 0, 0]), &[f("N,5")]), dims("?,5"));
    assert_eq!(
        err(&pad(&[0, -3, 0, -3]), &[f("N,5")]),
        "pad: dim 1 of size 5 would have size -1 after pads -3, -3"
    );
    assert_eq!(
        err(&pad(&[0, 1]), &[f("N,5")]),
        "pad: pads has 2 values, expected 4 for rank 2"
    );
    // Dynamic form: [x, pads, constant_value?, axes?].
    let i = |s| ty(DType::I64, s);
    let dp = pad(&[]);
    assert_eq!(shape(&dp, &[f("N,5"), i("4")]), dims("?,?"));
    assert_eq!(shape(&dp, &[f("N,5"), i("2"), f(""), i("1")]), dims("?,?"));
    assert_eq!(
        err(&dp, &[f("N,5"), i("6")]),
        "pad: pads operand has 6 entries, expected 4"
    );
    assert_eq!(
        err(&dp, &[f("N,5"), i("4"), f("2")]),
        "pad: constant_value must be a scalar, got shape [2]"
    );
}

// ------------------------------------------------------------------ concat / split

#[test]
fn concat_rules() {
    let cc = |axis| Op::Concat { axis };
    assert_eq!(shape(&cc(1), &[f("N,3,8"), f("N,5,8")]), dims("N,8,8"));
    assert_eq!(shape(&cc(0), &[f("N,4"), f("2,4")]), dims("?,4"));
    assert_eq!(shape(&cc(0), &[f("N,4"), f("0,4")]), dims("N,4"));
    assert_eq!(shape(&cc(-1), &[f("?,3"), f("N,5")]), dims("N,8"));
    assert_eq!(shape(&cc(0), &[f("2,?"), f("3,7")]), dims("5,7"));
    assert_eq!(shape(&cc(0), &[f("2")]), dims("2"));
    assert_eq!(
        err(&cc(1), &[f("N,3,8,8"), f("N,3,8,8"), f("N,3,8")]),
        "concat: input 2 has rank 3, expected 4"
    );
    assert_eq!(
        err(&cc(1), &[f("N,3,8"), f("N,3,9")]),
        "concat: input 1 has dim 2 = 9, expected 8"
    );
    assert_eq!(
        err(&cc(2), &[f("N,3"), f("N,3")]),
        "concat: axis 2 out of range for rank 2"
    );
    assert_eq!(
        err(&cc(0), &[f(""), f("")]),
        "concat: cannot concatenate scalars"
    );
    assert_eq!(
        dts(&cc(0), &[f("2"), ty(DType::I8, "2")], 1).unwrap_err(),
        "concat: operand 1 has dtype i8, expected f32 like operand 0"
    );
}

#[test]
fn split_rules() {
    let sp = |axis, sizes: &[usize]| Op::Split {
        axis,
        sizes: sizes.to_vec(),
    };
    assert_eq!(
        shapes_n(&sp(1, &[2, 3]), &[f("N,5")], 2).unwrap(),
        vec![dims("N,2"), dims("N,3")]
    );
    assert_eq!(
        shapes_n(&sp(-2, &[1, 1]), &[f("N,2")], 2).unwrap(),
        vec![dims("1,2"), dims("1,2")]
    );
    assert_eq!(
        shapes_n(&sp(1, &[2, 3]), &[f("N,6")], 2).unwrap_err(),
        "split: sizes [2, 3] sum to 5, but dim 1 has size 6"
    );
    assert_eq!(
        shapes_n(&sp(1, &[2, 3]), &[f("N,5")], 3).unwrap_err(),
        "split: expected 2 results, got 3"
    );
    // No sizes: ONNX num_outputs semantics (split_2d_uneven_split_opset18: 8 into 3).
    assert_eq!(
        shapes_n(&sp(1, &[]), &[f("2,8")], 3).unwrap(),
        vec![dims("2,3"), dims("2,3"), dims("2,2")]
    );
    assert_eq!(
        shapes_n(&sp(0, &[]), &[f("6")], 3).unwrap(),
        vec![dims("2"), dims("2"), dims("2")]
    );
    assert_eq!(
        shapes_n(&sp(0, &[]), &[f("5")], 4).unwrap_err(),
        "split: cannot split dim 0 of size 5 into 4 parts"
    );
    assert_eq!(
        shapes_n(&sp(0, &[]), &[f("N,3")], 2).unwrap(),
        vec![dims("?,3"), dims("?,3")]
    );
    // Dynamic form: [x, split].
    let i = |s| ty(DType::I64, s);
    assert_eq!(
        shapes_n(&sp(1, &[]), &[f("N,6"), i("3")], 3).unwrap(),
        vec![dims("N,?"), dims("N,?"), dims("N,?")]
    );
    assert_eq!(
        shapes_n(&sp(1, &[]), &[f("N,6"), i("3")], 2).unwrap_err(),
        "split: split operand has 3 sizes but the node has 2 results"
    );
    assert_eq!(
        shapes_n(&sp(0, &[]), &[f("")], 1).unwrap_err(),
        "split: cannot split a scalar"
    );
    assert_eq!(
        dts(&sp(1, &[2, 3]), &[f("N,5")], 2).unwrap(),
        vec![Some(DType::F32), Some(DType::F32)]
    );
}

// ------------------------------------------------------------------ inherited quantization

#[test]
fn share_ops_inherit_quantization() {
    let q = q8(0.05, -3);
    let x = qi8("N,8,4,4", q.clone());
    let some = vec![Some(q.clone())];
    let share = [
        Op::MaxPool(pool_attrs(&[2, 2], &[2, 2], &[], false)),
        Op::GlobalMaxPool,
        // An integer average pool averages stored values on its operand's grid.
        Op::AvgPool(pool_attrs(&[2, 2], &[2, 2], &[], false)),
        Op::GlobalAvgPool,
        reshape_op(&[0, -1]),
        Op::Flatten { axis: 1 },
        Op::Transpose { perm: vec![] },
        Op::Squeeze { axes: vec![] },
        Op::Unsqueeze { axes: vec![0] },
        slice_op(&[1], &[3], &[2], &[1]),
        Op::Pad {
            mode: PadMode::Edge,
            pads: vec![0, 0, 1, 1, 0, 0, 1, 1],
            value: 0.0,
        },
        Op::Identity,
        Op::Clip {
            min: Some(-10.0),
            max: Some(10.0),
        },
        Op::Unary(UnaryOp::Relu),
    ];
    for op in &share {
        assert_eq!(quant(op, &[x.clone()]), some, "{}", op.name());
    }
    // Not share-ops.
    for op in [
        Op::Unary(UnaryOp::Sigmoid),
        Op::Requantize,
        Op::Dequantize,
        Op::Binary(BinaryOp::Add),
    ] {
        assert_eq!(
            quant(&op, &[x.clone(), x.clone()]),
            vec![None],
            "{}",
            op.name()
        );
    }
    // Relu on a float operand, or an unquantized integer one, inherits nothing.
    assert_eq!(quant(&Op::Unary(UnaryOp::Relu), &[f("N,8")]), vec![None]);
    assert_eq!(quant(&Op::Identity, &[f("N,8")]), vec![None]);
}

#[test]
fn concat_and_split_quantization() {
    let q = q8(0.05, -3);
    let a = qi8("N,8", q.clone());
    let b = qi8("N,4", q.clone());
    let c = qi8("N,4", q8(0.06, -3));
    let cc = Op::Concat { axis: 1 };
    assert_eq!(quant(&cc, &[a.clone(), b.clone()]), vec![Some(q.clone())]);
    assert_eq!(quant(&cc, &[a.clone(), c]), vec![None]);
    assert_eq!(quant(&cc, &[a.clone(), ty(DType::I8, "N,4")]), vec![None]);
    let sp = Op::Split {
        axis: 1,
        sizes: vec![2, 3, 3],
    };
    assert_eq!(quant(&sp, &[a.clone()]), vec![Some(q.clone()); 3]);
    let dyn_sp = Op::Split {
        axis: 1,
        sizes: vec![],
    };
    assert_eq!(
        quant(&dyn_sp, &[a.clone(), ty(DType::I64, "2")]),
        vec![Some(q.clone()); 2]
    );
    let refs = [&a];
    assert_eq!(
        inherited_quant_n(&dyn_sp, &refs, 4, &Module::default()),
        vec![Some(q.clone()); 4]
    );
    // Maxpool's indices inherit nothing.
    let mp = Op::MaxPool(pool_attrs(&[2], &[], &[], false));
    let x = qi8("N,8,4", q.clone());
    assert_eq!(
        inherited_quant_n(&mp, &[&x], 2, &Module::default()),
        vec![Some(q), None]
    );
}

#[test]
fn per_axis_quantization_follows_its_axis() {
    let pa = QParams::per_axis(vec![0.1, 0.2, 0.3], vec![0, 0, 0], 1);
    let at = |a| {
        Some(QParams {
            axis: Some(a),
            ..pa.clone()
        })
    };
    let x = qi8("N,3,1,1", pa.clone());
    assert_eq!(
        quant(
            &Op::Transpose {
                perm: vec![0, 2, 3, 1]
            },
            &[x.clone()]
        ),
        vec![at(3)]
    );
    assert_eq!(
        quant(&Op::Transpose { perm: vec![] }, &[x.clone()]),
        vec![at(2)]
    );
    assert_eq!(
        quant(&Op::Squeeze { axes: vec![2, 3] }, &[x.clone()]),
        vec![at(1)]
    );
    assert_eq!(
        quant(&Op::Squeeze { axes: vec![0] }, &[x.clone()]),
        vec![at(0)]
    );
    assert_eq!(
        quant(&Op::Unsqueeze { axes: vec![0, 2] }, &[x.clone()]),
        vec![at(3)]
    );
    assert_eq!(quant(&Op::Flatten { axis: 1 }, &[x.clone()]), vec![at(1)]);
    assert_eq!(quant(&reshape_op(&[0, 3]), &[x.clone()]), vec![at(1)]);
    assert_eq!(
        quant(&reshape_op(&[1, -1]), &[qi8("1,3", pa.clone())]),
        vec![at(1)]
    );
    assert_eq!(
        quant(&reshape_op(&[-1]), &[qi8("1,3", pa.clone())]),
        vec![at(0)]
    );
    // The quantized axis is merged, sliced, padded, split or pooled over: nothing inherited.
    assert_eq!(quant(&Op::Flatten { axis: 0 }, &[x.clone()]), vec![None]);
    assert_eq!(
        quant(&slice_op(&[1], &[3], &[1], &[1]), &[x.clone()]),
        vec![None]
    );
    assert_eq!(
        quant(&slice_op(&[0], &[i64::MAX], &[1], &[1]), &[x.clone()]),
        vec![at(1)]
    );
    assert_eq!(
        quant(&slice_op(&[-1], &[i64::MIN], &[1], &[-1]), &[x.clone()]),
        vec![None]
    );
    let pad = |p: Vec<i64>| Op::Pad {
        mode: PadMode::Constant,
        pads: p,
        value: 0.0,
    };
    assert_eq!(
        quant(&pad(vec![0, 1, 0, 0, 0, 0, 0, 0]), &[x.clone()]),
        vec![None]
    );
    assert_eq!(
        quant(&pad(vec![0, 0, 1, 0, 0, 0, 1, 0]), &[x.clone()]),
        vec![at(1)]
    );
    let sp = |axis| Op::Split {
        axis,
        sizes: vec![1, 2],
    };
    assert_eq!(quant(&sp(1), &[x.clone()]), vec![None, None]);
    assert_eq!(quant(&sp(0), &[qi8("3,3", pa.clone())]), vec![at(1), at(1)]);
    let x3 = qi8(
        "N,4,3",
        QParams::per_axis(vec![0.1, 0.2, 0.3], vec![0, 0, 0], 2),
    );
    assert_eq!(quant(&Op::GlobalMaxPool, &[x3.clone()]), vec![None]);
    assert_eq!(quant(&Op::GlobalMaxPool, &[x.clone()]), vec![at(1)]);
    assert_eq!(
        quant(&Op::Concat { axis: 1 }, &[x.clone(), x.clone()]),
        vec![None]
    );
    assert_eq!(quant(&Op::Concat { axis: 0 }, &[x.clone(), x]), vec![at(1)]);
    // A squeezed per-axis dim of size 1 becomes per-tensor.
    let one = QParams::per_axis(vec![0.5], vec![1], 0);
    assert_eq!(
        quant(&Op::Squeeze { axes: vec![0] }, &[qi8("1,3", one)]),
        vec![Some(q8(0.5, 1))]
    );
}

#[test]
fn inference_never_panics_on_degenerate_input() {
    // Every op against a handful of odd operand lists: errors are fine, panics are not.
    let sets: Vec<Vec<TensorType>> = vec![
        vec![],
        vec![f("")],
        vec![f(""), f("")],
        vec![f("?"), f("?"), f("?")],
        vec![f("0,0,0"), f("0,0,0"), f("0"), f("0"), f("0")],
        vec![
            f("N,?,1,0"),
            ty(DType::I64, "?"),
            ty(DType::I64, "?"),
            f("?"),
            f("?"),
        ],
    ];
    let ops = vec![
        Op::Const(ConstId(0)),
        Op::QuantizeLinear {
            axis: 9,
            block_size: 2,
        },
        Op::DynamicQuantizeLinear,
        Op::Conv(conv_attrs(&[], &[], &[], 1)),
        Op::ConvInteger(conv_attrs(&[], &[], &[], 0)),
        Op::MatMul,
        Op::MatMulInteger,
        gemm_op(true, true),
        Op::BatchNorm {
            epsilon: 0.0,
            momentum: 0.0,
            training: true,
        },
        Op::Where,
        Op::MaxPool(pool_attrs(&[1, 1], &[], &[], true)),
        Op::GlobalAvgPool,
        reduce_op(None, false, false),
        reshape_op(&[0, -1]),
        Op::Flatten { axis: -9 },
        Op::Transpose { perm: vec![5] },
        Op::Squeeze { axes: vec![] },
        Op::Unsqueeze { axes: vec![-7] },
        slice_op(&[i64::MIN], &[i64::MAX], &[-1], &[i64::MIN]),
        Op::Pad {
            mode: PadMode::Reflect,
            pads: vec![i64::MIN, i64::MAX, 0, 0, 0, 0, 0, 0],
            value: 0.0,
        },
        Op::Concat { axis: i64::MIN },
        Op::Split {
            axis: 0,
            sizes: vec![],
        },
    ];
    let m = Module::default();
    let mut checked = 0;
    for op in &ops {
        for set in &sets {
            let refs: Vec<&TensorType> = set.iter().collect();
            for n in 0..4 {
                if let Ok(s) = infer_shapes(op, &refs, n, &m) {
                    assert_eq!(s.len(), n, "{}", op.name());
                }
                if let Ok(d) = infer_dtypes(op, &refs, n, &m) {
                    assert_eq!(d.len(), n, "{}", op.name());
                }
                assert_eq!(inherited_quant_n(op, &refs, n, &m).len(), n);
                checked += 1;
            }
            inherited_quant(op, &refs, &m);
        }
    }
    assert_eq!(checked, ops.len() * sets.len() * 4);
}
