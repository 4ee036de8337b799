//! Interpreter tests: small modules built by hand, checked against hand-computed values,
//! ONNX documentation examples and independent naive implementations.

// Reference values are written with all the digits the sources give; slices of clones keep
// the builder calls uniform.
#![allow(clippy::excessive_precision, clippy::cloned_ref_to_slice_refs)]

use super::run;
use crate::quant::{quantize_f32, requantize_fixed, Multiplier};
use crate::*;

// ---------------------------------------------------------------------------------------------
// Builders.

fn ty(dt: DType, dims: &[usize]) -> TensorType {
    TensorType::new(dt, dims)
}

fn qty(dt: DType, dims: &[usize], q: QParams) -> TensorType {
    TensorType::new(dt, dims).quantized(q)
}

fn any(dt: DType, rank: usize) -> TensorType {
    TensorType::with_dims(dt, vec![Dim::Any; rank])
}

fn f32t(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::new(shape.to_vec(), Data::F32(v.to_vec()))
}

fn i64t(v: &[i64]) -> Tensor {
    Tensor::new(vec![v.len()], Data::I64(v.to_vec()))
}

fn typed_t(dt: DType, shape: &[usize], v: &[i64]) -> Tensor {
    Tensor::new(shape.to_vec(), Data::from_i64(dt, v))
}

fn tt(t: &Tensor) -> TensorType {
    ty(t.dtype(), &t.shape)
}

#[derive(Default)]
struct B {
    m: Module,
}

impl B {
    fn input(&mut self, name: &str, t: TensorType) -> ValueId {
        self.m.graph.add_input(name, t)
    }

    fn konst(&mut self, name: &str, t: Tensor) -> ValueId {
        let ty = tt(&t);
        self.konst_ty(name, t, ty)
    }

    fn konst_ty(&mut self, name: &str, t: Tensor, ty: TensorType) -> ValueId {
        let c = self.m.add_const(name, ty.clone(), t);
        self.m
            .graph
            .add_node(name, Op::Const(c), vec![], vec![(name.to_string(), ty)])[0]
    }

    fn node(&mut self, op: Op, ins: &[ValueId], outs: &[TensorType]) -> Vec<ValueId> {
        let name = format!("n{}", self.m.graph.nodes.len());
        let results = outs
            .iter()
            .enumerate()
            .map(|(k, t)| (format!("{name}_{k}"), t.clone()))
            .collect();
        self.m.graph.add_node(name, op, ins.to_vec(), results)
    }

    fn out(&mut self, v: ValueId) {
        self.m.graph.outputs.push(v);
    }

    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        run(&self.m, inputs)
    }
}

/// One node whose operands are graph inputs of the given types; all results are outputs.
fn run_op_ty(op: Op, ins: &[(Tensor, TensorType)], outs: &[TensorType]) -> Result<Vec<Tensor>> {
    run_op_mode(op, ins, outs, RequantMode::Float)
}

fn run_op_mode(
    op: Op,
    ins: &[(Tensor, TensorType)],
    outs: &[TensorType],
    mode: RequantMode,
) -> Result<Vec<Tensor>> {
    let mut b = B::default();
    b.m.requant = mode;
    let ids: Vec<ValueId> = ins
        .iter()
        .enumerate()
        .map(|(i, (_, t))| b.input(&format!("in{i}"), t.clone()))
        .collect();
    for v in b.node(op, &ids, outs) {
        b.out(v);
    }
    let tensors: Vec<Tensor> = ins.iter().map(|(t, _)| t.clone()).collect();
    b.run(&tensors)
}

fn run_op(op: Op, ins: &[Tensor], outs: &[TensorType]) -> Result<Vec<Tensor>> {
    let with: Vec<(Tensor, TensorType)> = ins.iter().map(|t| (t.clone(), tt(t))).collect();
    run_op_ty(op, &with, outs)
}

fn run1(op: Op, ins: &[Tensor], out: TensorType) -> Tensor {
    run_op(op, ins, &[out]).unwrap().remove(0)
}

fn f32v(t: &Tensor) -> Vec<f32> {
    t.as_slice::<f32>().expect("f32 tensor").to_vec()
}

fn err_msg(r: Result<Vec<Tensor>>) -> String {
    match r {
        Err(Error::Exec(m)) => m,
        other => panic!("expected an exec error, got {other:?}"),
    }
}

fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "lengths differ: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {i}: got {g}, want {w} (all: {got:?})"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Driver: inputs, outputs, liveness, errors.

#[test]
fn input_validation() {
    let mut b = B::default();
    let x = b.input(
        "x",
        TensorType::with_dims(DType::F32, vec![Dim::Sym("N".into()), Dim::Fixed(2)]),
    );
    let y = b.input(
        "y",
        TensorType::with_dims(DType::F32, vec![Dim::Sym("N".into()), Dim::Any]),
    );
    b.out(x);
    b.out(y);
    let ok = b.run(&[f32t(&[3, 2], &[0.0; 6]), f32t(&[3, 5], &[0.0; 15])]);
    assert_eq!(ok.unwrap().len(), 2);

    let m = err_msg(b.run(&[f32t(&[3, 2], &[0.0; 6])]));
    assert_eq!(m, "expected 2 input(s), got 1");
    let m = err_msg(b.run(&[
        Tensor::new(vec![3, 2], Data::U8(vec![0; 6])),
        f32t(&[3, 1], &[0.0; 3]),
    ]));
    assert_eq!(m, "input 0 ('x'): expected dtype f32, got u8");
    let m = err_msg(b.run(&[f32t(&[6], &[0.0; 6]), f32t(&[3, 1], &[0.0; 3])]));
    assert!(
        m.starts_with("input 0 ('x'): expected rank 2 (shape [N, 2]), got rank 1"),
        "{m}"
    );
    let m = err_msg(b.run(&[f32t(&[2, 3], &[0.0; 6]), f32t(&[2, 1], &[0.0; 2])]));
    assert!(
        m.starts_with("input 0 ('x'): dim 1 expected 2, got 3"),
        "{m}"
    );
    let m = err_msg(b.run(&[f32t(&[3, 2], &[0.0; 6]), f32t(&[4, 1], &[0.0; 4])]));
    assert_eq!(
        m,
        "input 1 ('y'): dim 0 ('N') is 4 but input 0 ('x') bound 'N' to 3"
    );
    let bad = Tensor {
        shape: vec![3, 2],
        data: Data::F32(vec![0.0; 5]),
    };
    let m = err_msg(b.run(&[bad, f32t(&[3, 1], &[0.0; 3])]));
    assert_eq!(
        m,
        "input 0 ('x'): shape [3, 2] needs 6 elements but the data has 5"
    );
}

#[test]
fn outputs_may_be_inputs_or_constants_and_values_live_until_last_use() {
    let mut b = B::default();
    let x = b.input("x", ty(DType::F32, &[2]));
    let c = b.konst("c", f32t(&[2], &[10.0, 20.0]));
    let s = b.node(Op::Binary(BinaryOp::Add), &[x, c], &[ty(DType::F32, &[2])])[0];
    let r = b.node(Op::Unary(UnaryOp::Neg), &[s], &[ty(DType::F32, &[2])])[0];
    // `s` is used again after `r` (and by a reshape that may move buffers).
    let r2 = b.node(
        Op::Reshape {
            shape: vec![2, 1],
            allowzero: false,
        },
        &[s],
        &[ty(DType::F32, &[2, 1])],
    )[0];
    let t = b.node(Op::Binary(BinaryOp::Mul), &[s, r], &[ty(DType::F32, &[2])])[0];
    // A dead value (never used, not an output).
    b.node(Op::Unary(UnaryOp::Abs), &[x], &[ty(DType::F32, &[2])]);
    for v in [t, x, c, r2, t] {
        b.out(v);
    }
    let o = b.run(&[f32t(&[2], &[1.0, 2.0])]).unwrap();
    assert_eq!(f32v(&o[0]), vec![-121.0, -484.0]);
    assert_eq!(f32v(&o[1]), vec![1.0, 2.0]);
    assert_eq!(f32v(&o[2]), vec![10.0, 20.0]);
    assert_eq!(o[3].shape, vec![2, 1]);
    assert_eq!(f32v(&o[3]), vec![11.0, 22.0]);
    assert_eq!(f32v(&o[4]), vec![-121.0, -484.0]);
}

#[test]
fn reshape_moves_or_copies_correctly() {
    // The reshape input is used once more afterwards: it must not be moved away.
    let mut b = B::default();
    let x = b.input("x", ty(DType::F32, &[4]));
    let a = b.node(Op::Unary(UnaryOp::Neg), &[x], &[ty(DType::F32, &[4])])[0];
    let r = b.node(
        Op::Reshape {
            shape: vec![2, 2],
            allowzero: false,
        },
        &[a],
        &[ty(DType::F32, &[2, 2])],
    )[0];
    let s = b.node(
        Op::Squeeze { axes: vec![] },
        &[r],
        &[ty(DType::F32, &[2, 2])],
    )[0];
    let z = b.node(Op::Binary(BinaryOp::Add), &[a, a], &[ty(DType::F32, &[4])])[0];
    b.out(s);
    b.out(z);
    let o = b.run(&[f32t(&[4], &[1.0, 2.0, 3.0, 4.0])]).unwrap();
    assert_eq!(o[0].shape, vec![2, 2]);
    assert_eq!(f32v(&o[0]), vec![-1.0, -2.0, -3.0, -4.0]);
    assert_eq!(f32v(&o[1]), vec![-2.0, -4.0, -6.0, -8.0]);
}

#[test]
fn kernel_errors_name_the_node() {
    let m = err_msg(run_op(
        Op::Binary(BinaryOp::Add),
        &[f32t(&[2, 3], &[0.0; 6]), f32t(&[4], &[0.0; 4])],
        &[any(DType::F32, 2)],
    ));
    assert_eq!(
        m,
        "node 'n0' (add): shapes [2, 3], [4] cannot be broadcast together"
    );
    let m = err_msg(run_op(
        Op::MatMul,
        &[f32t(&[2, 3], &[0.0; 6]), f32t(&[2, 3], &[0.0; 6])],
        &[any(DType::F32, 2)],
    ));
    assert_eq!(
        m,
        "node 'n0' (matmul): inner dimensions differ: [2, 3] x [2, 3] (3 vs 2)"
    );
    let m = err_msg(run_op(
        Op::Concat { axis: 0 },
        &[f32t(&[2, 3], &[0.0; 6]), f32t(&[2, 2], &[0.0; 4])],
        &[any(DType::F32, 2)],
    ));
    assert!(
        m.starts_with("node 'n0' (concat): operand 1 has shape [2, 2]"),
        "{m}"
    );
    let m = err_msg(run_op(
        Op::Reshape {
            shape: vec![4, -1],
            allowzero: false,
        },
        &[f32t(&[2, 3], &[0.0; 6])],
        &[any(DType::F32, 2)],
    ));
    assert_eq!(
        m,
        "node 'n0' (reshape): cannot reshape [2, 3] (6 elements) to [4, -1]"
    );
    let m = err_msg(run_op(
        Op::Softmax { axis: 2 },
        &[f32t(&[2, 3], &[0.0; 6])],
        &[any(DType::F32, 2)],
    ));
    assert_eq!(m, "node 'n0' (softmax): axis 2 is out of range for rank 2");
    let m = err_msg(run_op(
        Op::Binary(BinaryOp::Add),
        &[f32t(&[2], &[0.0; 2]), f32t(&[2], &[0.0; 2])],
        &[ty(DType::F32, &[3])],
    ));
    assert_eq!(
        m,
        "node 'n0' (add): result 0 ('n0_0') has shape [2] but its type says [3]"
    );
    let m = err_msg(run_op(
        Op::Quantize,
        &[f32t(&[2], &[0.0; 2])],
        &[ty(DType::U8, &[2])],
    ));
    assert_eq!(
        m,
        "node 'n0' (quantize): result 0 ('n0_0') has no quantization parameters"
    );
    // Empty and zero-size tensors.
    let z = run1(
        Op::Binary(BinaryOp::Add),
        &[f32t(&[0, 3], &[]), f32t(&[3], &[1.0, 2.0, 3.0])],
        ty(DType::F32, &[0, 3]),
    );
    assert!(z.is_empty());
}

#[test]
fn undefined_operand_is_an_error() {
    let mut b = B::default();
    let x = b.input("x", ty(DType::F32, &[1]));
    let later = b.m.graph.add_value("later", ty(DType::F32, &[1]));
    b.node(
        Op::Binary(BinaryOp::Add),
        &[x, later],
        &[ty(DType::F32, &[1])],
    );
    let m = err_msg(b.run(&[f32t(&[1], &[1.0])]));
    assert_eq!(
        m,
        "node 'n0' (add): operand 1 ('later') has no value (used before it is defined)"
    );
}

// ---------------------------------------------------------------------------------------------
// Elementwise.

#[test]
fn binary_ops() {
    let a = f32t(&[2, 2], &[1.0, -2.0, 3.0, f32::NAN]);
    let b = f32t(&[2], &[2.0, 4.0]);
    let o = |op| {
        run1(
            Op::Binary(op),
            &[a.clone(), b.clone()],
            ty(DType::F32, &[2, 2]),
        )
    };
    assert_eq!(f32v(&o(BinaryOp::Add))[..3], [3.0, 2.0, 5.0]);
    assert_eq!(f32v(&o(BinaryOp::Sub))[..3], [-1.0, -6.0, 1.0]);
    assert_eq!(f32v(&o(BinaryOp::Mul))[..3], [2.0, -8.0, 6.0]);
    assert_eq!(f32v(&o(BinaryOp::Div))[..3], [0.5, -0.5, 1.5]);
    assert_eq!(f32v(&o(BinaryOp::Pow))[..3], [1.0, 16.0, 9.0]);
    let mx = f32v(&o(BinaryOp::Max));
    assert_eq!(mx[..3], [2.0, 4.0, 3.0]);
    assert!(mx[3].is_nan(), "max propagates NaN");
    assert_eq!(f32v(&o(BinaryOp::Min))[..3], [1.0, -2.0, 2.0]);

    // Integer division truncates toward zero; division by zero gives 0.
    let ia = typed_t(DType::I32, &[5], &[7, -7, 7, -7, 5]);
    let ib = typed_t(DType::I32, &[5], &[2, 2, -2, -2, 0]);
    let d = run1(
        Op::Binary(BinaryOp::Div),
        &[ia.clone(), ib.clone()],
        ty(DType::I32, &[5]),
    );
    assert_eq!(d.data, Data::I32(vec![3, -3, -3, 3, 0]));
    // Integer add wraps.
    let s = run1(
        Op::Binary(BinaryOp::Add),
        &[
            typed_t(DType::I8, &[1], &[127]),
            typed_t(DType::I8, &[1], &[1]),
        ],
        ty(DType::I8, &[1]),
    );
    assert_eq!(s.data, Data::I8(vec![-128]));
    // Integer pow; mixed pow (f32 base, i64 exponent).
    let p = run1(
        Op::Binary(BinaryOp::Pow),
        &[ia, typed_t(DType::I32, &[5], &[2, 3, 0, 1, 2])],
        ty(DType::I32, &[5]),
    );
    assert_eq!(p.data, Data::I32(vec![49, -343, 1, -7, 25]));
    let p = run1(
        Op::Binary(BinaryOp::Pow),
        &[f32t(&[3], &[2.0, 3.0, 4.0]), i64t(&[3, 2, -1])],
        ty(DType::F32, &[3]),
    );
    assert_eq!(f32v(&p), vec![8.0, 9.0, 0.25]);

    // Comparisons and logic.
    let c = run1(
        Op::Binary(BinaryOp::Less),
        &[f32t(&[3], &[1.0, 2.0, 3.0]), f32t(&[], &[2.0])],
        ty(DType::Bool, &[3]),
    );
    assert_eq!(c.data, Data::Bool(vec![true, false, false]));
    let c = run1(
        Op::Binary(BinaryOp::GreaterOrEqual),
        &[f32t(&[3], &[1.0, 2.0, 3.0]), f32t(&[], &[2.0])],
        ty(DType::Bool, &[3]),
    );
    assert_eq!(c.data, Data::Bool(vec![false, true, true]));
    let c = run1(
        Op::Binary(BinaryOp::Equal),
        &[
            typed_t(DType::I64, &[3], &[1, 2, 3]),
            typed_t(DType::I64, &[3], &[1, 0, 3]),
        ],
        ty(DType::Bool, &[3]),
    );
    assert_eq!(c.data, Data::Bool(vec![true, false, true]));
    let bt = |v: &[bool]| Tensor::new(vec![v.len()], Data::Bool(v.to_vec()));
    let c = run1(
        Op::Binary(BinaryOp::And),
        &[bt(&[true, true, false]), bt(&[true, false, false])],
        ty(DType::Bool, &[3]),
    );
    assert_eq!(c.data, Data::Bool(vec![true, false, false]));
    let c = run1(
        Op::Binary(BinaryOp::Or),
        &[bt(&[true, true, false]), bt(&[true, false, false])],
        ty(DType::Bool, &[3]),
    );
    assert_eq!(c.data, Data::Bool(vec![true, true, false]));
    // Mismatched dtypes.
    let m = err_msg(run_op(
        Op::Binary(BinaryOp::Add),
        &[f32t(&[1], &[1.0]), typed_t(DType::I32, &[1], &[1])],
        &[ty(DType::F32, &[1])],
    ));
    assert_eq!(m, "node 'n0' (add): operand dtypes differ: f32 and i32");
}

#[test]
fn unary_ops() {
    let x = f32t(&[6], &[-2.5, -0.5, 0.0, 0.5, 1.5, 2.5]);
    let o = |op| f32v(&run1(Op::Unary(op), &[x.clone()], ty(DType::F32, &[6])));
    assert_eq!(o(UnaryOp::Relu), vec![0.0, 0.0, 0.0, 0.5, 1.5, 2.5]);
    assert_eq!(o(UnaryOp::Round), vec![-2.0, -0.0, 0.0, 0.0, 2.0, 2.0]);
    assert_eq!(o(UnaryOp::Floor), vec![-3.0, -1.0, 0.0, 0.0, 1.0, 2.0]);
    assert_eq!(o(UnaryOp::Ceil), vec![-2.0, -0.0, 0.0, 1.0, 2.0, 3.0]);
    assert_eq!(o(UnaryOp::Neg), vec![2.5, 0.5, -0.0, -0.5, -1.5, -2.5]);
    assert_eq!(o(UnaryOp::Abs), vec![2.5, 0.5, 0.0, 0.5, 1.5, 2.5]);
    // hardswish: x * clamp(x/6 + 0.5, 0, 1)
    assert_close(
        &o(UnaryOp::HardSwish),
        &[
            -2.5 * (0.5 - 2.5 / 6.0),
            -0.5 * (0.5 - 0.5 / 6.0),
            0.0,
            0.5 * (0.5 + 0.5 / 6.0),
            1.5 * 0.75,
            2.5 * (0.5 + 2.5 / 6.0),
        ],
        1e-6,
    );
    assert_close(
        &o(UnaryOp::Sigmoid),
        &[
            0.07585818, 0.37754067, 0.5, 0.62245933, 0.81757448, 0.92414182,
        ],
        1e-6,
    );
    assert_close(
        &o(UnaryOp::Tanh),
        &[
            -0.98661430,
            -0.46211716,
            0.0,
            0.46211716,
            0.90514825,
            0.98661430,
        ],
        1e-6,
    );
    assert_close(
        &o(UnaryOp::Erf),
        &[
            -0.99959305,
            -0.52049988,
            0.0,
            0.52049988,
            0.96610515,
            0.99959305,
        ],
        1e-7,
    );
    let p = f32t(&[3], &[1.0, 4.0, 0.25]);
    let q = |op| f32v(&run1(Op::Unary(op), &[p.clone()], ty(DType::F32, &[3])));
    assert_close(
        &q(UnaryOp::Exp),
        &[std::f32::consts::E, 54.59815, 1.2840254],
        1e-6,
    );
    assert_close(&q(UnaryOp::Log), &[0.0, 1.3862944, -1.3862944], 1e-6);
    assert_eq!(q(UnaryOp::Sqrt), vec![1.0, 2.0, 0.5]);
    assert_eq!(q(UnaryOp::Reciprocal), vec![1.0, 0.25, 4.0]);
    // Integers and bools.
    let i = typed_t(DType::I8, &[3], &[-128, -3, 4]);
    let r = run1(Op::Unary(UnaryOp::Relu), &[i.clone()], ty(DType::I8, &[3]));
    assert_eq!(r.data, Data::I8(vec![0, 0, 4]));
    let r = run1(Op::Unary(UnaryOp::Abs), &[i.clone()], ty(DType::I8, &[3]));
    assert_eq!(r.data, Data::I8(vec![-128, 3, 4]));
    let r = run1(
        Op::Unary(UnaryOp::Not),
        &[Tensor::new(vec![2], Data::Bool(vec![true, false]))],
        ty(DType::Bool, &[2]),
    );
    assert_eq!(r.data, Data::Bool(vec![false, true]));
    let m = err_msg(run_op(
        Op::Unary(UnaryOp::Exp),
        &[i],
        &[ty(DType::I8, &[3])],
    ));
    assert_eq!(m, "node 'n0' (exp): Exp needs a float operand, got i8");
}

#[test]
fn erf_accuracy() {
    // Reference values of erf (Abramowitz & Stegun tables / high-precision).
    let cases = [
        (0.1, 0.1124629160182849),
        (1.0, 0.8427007929497149),
        (2.0, 0.9953222650189527),
        (3.0, 0.9999779095030014),
        (-0.3, -0.3286267594591274),
        (5.5, 0.9999999999999927),
    ];
    for (x, want) in cases {
        let got = super::elementwise::erf(x);
        assert!((got - want).abs() < 1e-15, "erf({x}) = {got}, want {want}");
    }
}

#[test]
fn where_clip_cast_activations() {
    let c = Tensor::new(vec![2, 1], Data::Bool(vec![true, false]));
    let a = f32t(&[3], &[1.0, 2.0, 3.0]);
    let b = f32t(&[], &[-1.0]);
    let w = run1(Op::Where, &[c, a, b], ty(DType::F32, &[2, 3]));
    assert_eq!(f32v(&w), vec![1.0, 2.0, 3.0, -1.0, -1.0, -1.0]);

    let x = f32t(&[5], &[-3.0, -1.0, 0.5, 4.0, f32::NAN]);
    let r = f32v(&run1(
        Op::Clip {
            min: Some(-1.0),
            max: Some(2.0),
        },
        &[x.clone()],
        ty(DType::F32, &[5]),
    ));
    assert_eq!(r[..4], [-1.0, -1.0, 0.5, 2.0]);
    assert!(r[4].is_nan());
    // Dynamic form with an empty min (no lower bound).
    let r = run1(
        Op::Clip {
            min: None,
            max: None,
        },
        &[x.clone(), f32t(&[0], &[]), f32t(&[], &[0.0])],
        ty(DType::F32, &[5]),
    );
    assert_eq!(f32v(&r)[..4], [-3.0, -1.0, 0.0, 0.0]);
    // Integer clip on stored values; min > max gives max.
    let q = typed_t(DType::U8, &[4], &[0, 10, 200, 255]);
    let r = run1(
        Op::Clip {
            min: Some(10.0),
            max: Some(200.0),
        },
        &[q.clone()],
        ty(DType::U8, &[4]),
    );
    assert_eq!(r.data, Data::U8(vec![10, 10, 200, 200]));
    let r = run1(
        Op::Clip {
            min: Some(5.0),
            max: Some(1.0),
        },
        &[q],
        ty(DType::U8, &[4]),
    );
    assert_eq!(r.data, Data::U8(vec![1, 1, 1, 1]));

    // Cast: float -> int truncates toward zero and saturates; NaN -> 0.
    let f = f32t(&[6], &[-1.7, 1.7, 300.0, -300.0, f32::NAN, 0.0]);
    let r = run1(
        Op::Cast { to: DType::I8 },
        &[f.clone()],
        ty(DType::I8, &[6]),
    );
    assert_eq!(r.data, Data::I8(vec![-1, 1, 127, -128, 0, 0]));
    let r = run1(
        Op::Cast { to: DType::Bool },
        &[f.clone()],
        ty(DType::Bool, &[6]),
    );
    assert_eq!(
        r.data,
        Data::Bool(vec![true, true, true, true, true, false])
    );
    let r = run1(
        Op::Cast { to: DType::F64 },
        &[f32t(&[1], &[0.1])],
        ty(DType::F64, &[1]),
    );
    assert_eq!(r.data, Data::F64(vec![0.1f32 as f64]));
    let r = run1(
        Op::Cast { to: DType::F32 },
        &[Tensor::new(vec![1], Data::F64(vec![0.1]))],
        ty(DType::F32, &[1]),
    );
    assert_eq!(r.data, Data::F32(vec![0.1f32]));
    let r = run1(
        Op::Cast { to: DType::U8 },
        &[typed_t(DType::I32, &[2], &[257, -1])],
        ty(DType::U8, &[2]),
    );
    assert_eq!(r.data, Data::U8(vec![1, 255]));
    // Cast ignores quantization parameters.
    let r = run_op_ty(
        Op::Cast { to: DType::F32 },
        &[(
            typed_t(DType::U8, &[2], &[3, 200]),
            qty(DType::U8, &[2], QParams::per_tensor(0.5, 128)),
        )],
        &[ty(DType::F32, &[2])],
    )
    .unwrap();
    assert_eq!(f32v(&r[0]), vec![3.0, 200.0]);

    let x = f32t(&[4], &[-2.0, -0.5, 0.5, 4.0]);
    let r = run1(
        Op::LeakyRelu { alpha: 0.1 },
        &[x.clone()],
        ty(DType::F32, &[4]),
    );
    assert_eq!(f32v(&r), vec![-2.0 * 0.1, -0.5 * 0.1, 0.5, 4.0]);
    let r = run1(
        Op::HardSigmoid {
            alpha: 0.5,
            beta: 0.6,
        },
        &[x],
        ty(DType::F32, &[4]),
    );
    assert_close(&f32v(&r), &[0.0, 0.35, 0.85, 1.0], 1e-7);
}

#[test]
fn softmax() {
    // ONNX example: softmax of [[-1, 0, 1]] = [[0.09003058, 0.24472848, 0.66524094]].
    let r = run1(
        Op::Softmax { axis: -1 },
        &[f32t(&[1, 3], &[-1.0, 0.0, 1.0])],
        ty(DType::F32, &[1, 3]),
    );
    assert_close(&f32v(&r), &[0.09003058, 0.24472848, 0.66524094], 1e-6);
    // Along axis 0 of a 2x2: columns normalise.
    let r = run1(
        Op::Softmax { axis: 0 },
        &[f32t(&[2, 2], &[0.0, 1000.0, 0.0, 1000.0])],
        ty(DType::F32, &[2, 2]),
    );
    assert_eq!(f32v(&r), vec![0.5, 0.5, 0.5, 0.5]);
}

// ---------------------------------------------------------------------------------------------
// Convolution and pooling.

fn conv_attrs(strides: &[usize], pads: &[usize], dil: &[usize], group: usize) -> ConvAttrs {
    ConvAttrs {
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: dil.to_vec(),
        group,
    }
}

fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut v = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        v[d] = i % shape[d];
        i /= shape[d];
    }
    v
}

fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |a, (&i, &d)| a * d + i)
}

/// A direct, per-output-element convolution in i64 (exact), padded taps skipped.
fn naive_conv(
    x: &[i64],
    xs: &[usize],
    w: &[i64],
    ws: &[usize],
    a: &ConvAttrs,
) -> (Vec<usize>, Vec<i64>) {
    let nsp = xs.len() - 2;
    let pb = &a.pads[..nsp];
    let pe = &a.pads[nsp..];
    let out_sp: Vec<usize> = (0..nsp)
        .map(|d| {
            let keff = a.dilations[d] * (ws[2 + d] - 1) + 1;
            (xs[2 + d] + pb[d] + pe[d] - keff) / a.strides[d] + 1
        })
        .collect();
    let mut ys = vec![xs[0], ws[0]];
    ys.extend(&out_sp);
    let cg = xs[1] / a.group;
    let mg = ws[0] / a.group;
    let ny: usize = ys.iter().product();
    let nk: usize = ws[2..].iter().product();
    let mut y = vec![0i64; ny];
    for (yi, yv) in y.iter_mut().enumerate() {
        let yidx = unravel(yi, &ys);
        let (n, m) = (yidx[0], yidx[1]);
        let g = m / mg;
        for ci in 0..cg {
            for k in 0..nk {
                let kidx = unravel(k, &ws[2..]);
                let mut xidx = vec![n, g * cg + ci];
                let mut inside = true;
                for d in 0..nsp {
                    let p = (yidx[2 + d] * a.strides[d] + kidx[d] * a.dilations[d]) as i64
                        - pb[d] as i64;
                    if p < 0 || p >= xs[2 + d] as i64 {
                        inside = false;
                    }
                    xidx.push(p.max(0) as usize);
                }
                if inside {
                    let mut widx = vec![m, ci];
                    widx.extend(&kidx);
                    *yv += x[ravel(&xidx, xs)] * w[ravel(&widx, ws)];
                }
            }
        }
    }
    (ys, y)
}

/// Deterministic small pseudo-random integers in `[lo, hi]`.
fn ints_in(n: usize, lo: i64, hi: i64, seed: u64) -> Vec<i64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + ((s >> 33) % (hi - lo + 1) as u64) as i64
        })
        .collect()
}

#[test]
fn conv_onnx_example_strides_padding() {
    // ONNX Conv doc example "conv_with_strides_padding".
    let x: Vec<f32> = (0..35).map(|v| v as f32).collect();
    let r = run1(
        Op::Conv(conv_attrs(&[2, 2], &[1, 1, 1, 1], &[], 1)),
        &[f32t(&[1, 1, 7, 5], &x), f32t(&[1, 1, 3, 3], &[1.0; 9])],
        ty(DType::F32, &[1, 1, 4, 3]),
    );
    assert_eq!(
        f32v(&r),
        vec![12.0, 27.0, 24.0, 63.0, 108.0, 81.0, 123.0, 198.0, 141.0, 112.0, 177.0, 124.0]
    );
    // Same with a bias of 1: every element + 1.
    let r = run1(
        Op::Conv(conv_attrs(&[2, 2], &[1, 1, 1, 1], &[1, 1], 1)),
        &[
            f32t(&[1, 1, 7, 5], &x),
            f32t(&[1, 1, 3, 3], &[1.0; 9]),
            f32t(&[1], &[1.0]),
        ],
        ty(DType::F32, &[1, 1, 4, 3]),
    );
    assert_eq!(f32v(&r)[..3], [13.0, 28.0, 25.0]);
}

#[test]
fn conv_matches_naive_nd_groups_dilations() {
    let cases: Vec<(Vec<usize>, Vec<usize>, ConvAttrs)> = vec![
        // 1-d, stride 2, asymmetric pads.
        (
            vec![2, 3, 11],
            vec![4, 3, 3],
            conv_attrs(&[2], &[2, 1], &[1], 1),
        ),
        // 2-d grouped with dilation.
        (
            vec![1, 4, 7, 6],
            vec![6, 2, 3, 2],
            conv_attrs(&[1, 2], &[1, 0, 2, 1], &[2, 1], 2),
        ),
        // 2-d depthwise, pads 1 (mobilenet style).
        (
            vec![1, 3, 5, 5],
            vec![3, 1, 3, 3],
            conv_attrs(&[2, 2], &[1, 1, 1, 1], &[1, 1], 3),
        ),
        // 3-d.
        (
            vec![1, 2, 4, 5, 3],
            vec![2, 2, 2, 3, 2],
            conv_attrs(&[1, 2, 1], &[0, 1, 1, 1, 0, 0], &[1, 1, 2], 1),
        ),
    ];
    for (i, (xs, ws, a)) in cases.into_iter().enumerate() {
        let x = ints_in(xs.iter().product(), -5, 5, i as u64);
        let w = ints_in(ws.iter().product(), -3, 3, 100 + i as u64);
        let (ys, want) = naive_conv(&x, &xs, &w, &ws, &a);
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let r = run1(
            Op::Conv(a.clone()),
            &[f32t(&xs, &xf), f32t(&ws, &wf)],
            ty(DType::F32, &ys),
        );
        let want_f: Vec<f32> = want.iter().map(|&v| v as f32).collect();
        assert_eq!(f32v(&r), want_f, "case {i}");
        // ConvInteger on the same data shifted by zero points gives the same sums.
        let (zx, zw) = (3i64, -2i64);
        let xq: Vec<i64> = x.iter().map(|&v| v + zx).collect();
        let wq: Vec<i64> = w.iter().map(|&v| v + zw).collect();
        let r = run1(
            Op::ConvInteger(a.clone()),
            &[
                typed_t(
                    DType::U8,
                    &xs,
                    &xq.iter().map(|v| v + 5).collect::<Vec<_>>(),
                ),
                typed_t(DType::I8, &ws, &wq),
                typed_t(DType::U8, &[], &[zx + 5]),
                typed_t(DType::I8, &[1], &[zw]),
            ],
            ty(DType::I32, &ys),
        );
        assert_eq!(r.data.to_i64_vec(), want, "conv_integer case {i}");
    }
}

#[test]
fn conv_errors() {
    let m = err_msg(run_op(
        Op::Conv(conv_attrs(&[], &[], &[], 1)),
        &[
            f32t(&[1, 3, 4, 4], &[0.0; 48]),
            f32t(&[2, 2, 3, 3], &[0.0; 36]),
        ],
        &[any(DType::F32, 4)],
    ));
    assert_eq!(
        m,
        "node 'n0' (conv): weight shape [2, 2, 3, 3] expects 2 input channels (2 per group x 1 groups), input has 3"
    );
    let m = err_msg(run_op(
        Op::Conv(conv_attrs(&[], &[], &[], 1)),
        &[
            f32t(&[1, 1, 2, 2], &[0.0; 4]),
            f32t(&[1, 1, 3, 3], &[0.0; 9]),
        ],
        &[any(DType::F32, 4)],
    ));
    assert_eq!(
        m,
        "node 'n0' (conv): spatial dim 0: padded input size 2 is smaller than the kernel extent 3"
    );
    let m = err_msg(run_op(
        Op::Conv(conv_attrs(&[1], &[], &[], 1)),
        &[
            f32t(&[1, 1, 3, 3], &[0.0; 9]),
            f32t(&[1, 1, 1, 1], &[0.0; 1]),
        ],
        &[any(DType::F32, 4)],
    ));
    assert_eq!(
        m,
        "node 'n0' (conv): strides has 1 values for 2 spatial dims"
    );
}

fn pool(
    kernel: &[usize],
    strides: &[usize],
    pads: &[usize],
    ceil: bool,
    include: bool,
) -> PoolAttrs {
    PoolAttrs {
        kernel: kernel.to_vec(),
        strides: strides.to_vec(),
        pads: pads.to_vec(),
        dilations: vec![],
        ceil_mode: ceil,
        count_include_pad: include,
        row_major_sum: false,
    }
}

#[test]
fn maxpool_with_indices() {
    // ONNX example "maxpool_with_argmax_2d_precomputed_pads".
    let x: Vec<f32> = (1..=25).map(|v| v as f32).collect();
    let r = run_op(
        Op::MaxPool(pool(&[5, 5], &[], &[2, 2, 2, 2], false, false)),
        &[f32t(&[1, 1, 5, 5], &x)],
        &[ty(DType::F32, &[1, 1, 5, 5]), ty(DType::I64, &[1, 1, 5, 5])],
    )
    .unwrap();
    let row = |a: f32, b: f32, c: f32| [a, b, c, c, c];
    let want: Vec<f32> = [
        row(13., 14., 15.),
        row(18., 19., 20.),
        row(23., 24., 25.),
        row(23., 24., 25.),
        row(23., 24., 25.),
    ]
    .concat();
    assert_eq!(f32v(&r[0]), want);
    let want_i: Vec<i64> = want.iter().map(|&v| v as i64 - 1).collect();
    assert_eq!(r[1].data, Data::I64(want_i));
    // Strided with ceil mode on u8 (stored integers), 2 channels: indices include the channel.
    let xq: Vec<i64> = (0..2 * 9).map(|v| (v * 7) % 11).collect();
    let r = run_op(
        Op::MaxPool(pool(&[2, 2], &[2, 2], &[], true, false)),
        &[typed_t(DType::U8, &[1, 2, 3, 3], &xq)],
        &[ty(DType::U8, &[1, 2, 2, 2]), ty(DType::I64, &[1, 2, 2, 2])],
    )
    .unwrap();
    // channel 0 = [[0,7,3],[10,6,2],[9,5,1]], channel 1 = [[8,4,0],[7,3,10],[6,2,9]]
    assert_eq!(r[0].data, Data::U8(vec![10, 3, 9, 1, 8, 10, 6, 9]));
    assert_eq!(r[1].data, Data::I64(vec![3, 2, 6, 8, 9, 14, 15, 17]));
}

#[test]
fn avgpool_variants() {
    let x: Vec<f32> = (1..=25).map(|v| v as f32).collect();
    // ONNX example "averagepool_2d_precomputed_pads_count_include_pad".
    let r = run1(
        Op::AvgPool(pool(&[5, 5], &[], &[2, 2, 2, 2], false, true)),
        &[f32t(&[1, 1, 5, 5], &x)],
        ty(DType::F32, &[1, 1, 5, 5]),
    );
    assert_close(
        &f32v(&r),
        &[
            2.52, 3.6, 4.8, 4.08, 3.24, 4.56, 6.4, 8.4, 7.04, 5.52, 7.2, 10.0, 13.0, 10.8, 8.4,
            6.96, 9.6, 12.4, 10.24, 7.92, 6.12, 8.4, 10.8, 8.88, 6.84,
        ],
        1e-6,
    );
    // "averagepool_2d_precomputed_pads" (padding excluded).
    let r = run1(
        Op::AvgPool(pool(&[5, 5], &[], &[2, 2, 2, 2], false, false)),
        &[f32t(&[1, 1, 5, 5], &x)],
        ty(DType::F32, &[1, 1, 5, 5]),
    );
    assert_close(
        &f32v(&r),
        &[
            7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 10.5, 11.0, 11.5, 12.0, 12.5, 13.0, 13.5, 14.0,
            14.5, 15.0, 15.5, 16.0, 16.5, 17.0, 17.5, 18.0, 18.5, 19.0,
        ],
        1e-6,
    );
    // "averagepool_2d_ceil": 4x4, kernel 3, stride 2, ceil.
    let x16: Vec<f32> = (1..=16).map(|v| v as f32).collect();
    let r = run1(
        Op::AvgPool(pool(&[3, 3], &[2, 2], &[], true, false)),
        &[f32t(&[1, 1, 4, 4], &x16)],
        ty(DType::F32, &[1, 1, 2, 2]),
    );
    assert_eq!(f32v(&r), vec![6.0, 7.5, 12.0, 13.5]);
    // "averagepool_2d_dilations": kernel 2, dilation 2, ceil.
    let mut a = pool(&[2, 2], &[1, 1], &[], true, false);
    a.dilations = vec![2, 2];
    let r = run1(
        Op::AvgPool(a),
        &[f32t(&[1, 1, 4, 4], &x16)],
        ty(DType::F32, &[1, 1, 2, 2]),
    );
    assert_eq!(f32v(&r), vec![6.0, 7.0, 10.0, 11.0]);
    // Ceil-mode overhang is never counted, even with count_include_pad (ORT / PyTorch):
    // [1, 2, 3, 4, 5], kernel 2, stride 2 -> [1.5, 3.5, 5.0].
    let r = run1(
        Op::AvgPool(pool(&[2], &[2], &[], true, true)),
        &[f32t(&[1, 1, 5], &[1.0, 2.0, 3.0, 4.0, 5.0])],
        ty(DType::F32, &[1, 1, 3]),
    );
    assert_eq!(f32v(&r), vec![1.5, 3.5, 5.0]);
    // ... but explicit padding is: pads [1, 1], kernel 3, stride 2, ceil on [1..5]:
    // windows [-1..1] -> (0+1+2)/3, [1..3] -> 9/3, [3..5] -> (4+5+pad)/3.
    let r = run1(
        Op::AvgPool(pool(&[3], &[2], &[1, 1], true, true)),
        &[f32t(&[1, 1, 5], &[1.0, 2.0, 3.0, 4.0, 5.0])],
        ty(DType::F32, &[1, 1, 3]),
    );
    assert_eq!(f32v(&r), vec![1.0, 3.0, 3.0]);
    // A window starting in the right padding is dropped: 2x2 input, kernel 3, stride 3,
    // pads 1, ceil -> one output.
    let r = run1(
        Op::AvgPool(pool(&[3, 3], &[3, 3], &[1, 1, 1, 1], true, false)),
        &[f32t(&[1, 1, 2, 2], &[1.0, 2.0, 3.0, 4.0])],
        ty(DType::F32, &[1, 1, 1, 1]),
    );
    assert_eq!(f32v(&r), vec![2.5]);
    // Integer average pooling rounds half away from zero.
    let r = run1(
        Op::AvgPool(pool(&[2], &[2], &[], false, false)),
        &[typed_t(DType::I8, &[1, 1, 6], &[1, 2, -1, -2, 3, 3])],
        ty(DType::I8, &[1, 1, 3]),
    );
    assert_eq!(r.data, Data::I8(vec![2, -2, 3]));
}

#[test]
fn global_pools() {
    let x = f32t(&[1, 2, 2, 2], &[1.0, 2.0, 3.0, 4.0, -1.0, -5.0, 0.0, 2.0]);
    let r = run1(
        Op::GlobalAvgPool,
        &[x.clone()],
        ty(DType::F32, &[1, 2, 1, 1]),
    );
    assert_eq!(f32v(&r), vec![2.5, -1.0]);
    let r = run1(Op::GlobalMaxPool, &[x], ty(DType::F32, &[1, 2, 1, 1]));
    assert_eq!(f32v(&r), vec![4.0, 2.0]);
    let r = run1(
        Op::GlobalMaxPool,
        &[typed_t(DType::U8, &[1, 1, 3], &[4, 9, 2])],
        ty(DType::U8, &[1, 1, 1]),
    );
    assert_eq!(r.data, Data::U8(vec![9]));
}

// ---------------------------------------------------------------------------------------------
// Matrix products.

#[test]
fn matmul_shapes() {
    let a = f32t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let b = f32t(&[3, 2], &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    let r = run1(Op::MatMul, &[a.clone(), b.clone()], ty(DType::F32, &[2, 2]));
    assert_eq!(f32v(&r), vec![4.0, 5.0, 10.0, 11.0]);
    // 1-d operands.
    let v = f32t(&[3], &[1.0, 1.0, 1.0]);
    let r = run1(Op::MatMul, &[v.clone(), b.clone()], ty(DType::F32, &[2]));
    assert_eq!(f32v(&r), vec![2.0, 2.0]);
    let r = run1(Op::MatMul, &[a.clone(), v.clone()], ty(DType::F32, &[2]));
    assert_eq!(f32v(&r), vec![6.0, 15.0]);
    let r = run1(Op::MatMul, &[v.clone(), v], ty(DType::F32, &[]));
    assert_eq!(f32v(&r), vec![3.0]);
    // Batch broadcasting: [2, 1, 2, 3] x [3, 3, 2] -> [2, 3, 2, 2].
    let a4: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let b3: Vec<f32> = (0..18).map(|v| (v % 5) as f32).collect();
    let r = run1(
        Op::MatMul,
        &[f32t(&[2, 1, 2, 3], &a4), f32t(&[3, 3, 2], &b3)],
        ty(DType::F32, &[2, 3, 2, 2]),
    );
    let got = f32v(&r);
    for bi in 0..2 {
        for bj in 0..3 {
            for i in 0..2 {
                for j in 0..2 {
                    let want: f32 = (0..3)
                        .map(|k| a4[bi * 6 + i * 3 + k] * b3[bj * 6 + k * 2 + j])
                        .sum();
                    assert_eq!(got[((bi * 3 + bj) * 2 + i) * 2 + j], want);
                }
            }
        }
    }
    // Integer matmul.
    let r = run1(
        Op::MatMul,
        &[
            typed_t(DType::I64, &[1, 2], &[2, 3]),
            typed_t(DType::I64, &[2, 1], &[4, 5]),
        ],
        ty(DType::I64, &[1, 1]),
    );
    assert_eq!(r.data, Data::I64(vec![23]));
}

#[test]
fn matmul_integer_zero_points() {
    // ONNX MatMulInteger example.
    let a = typed_t(DType::U8, &[4, 3], &[11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]);
    let b = typed_t(DType::U8, &[3, 2], &[1, 4, 2, 5, 3, 6]);
    let r = run1(
        Op::MatMulInteger,
        &[
            a.clone(),
            b.clone(),
            typed_t(DType::U8, &[], &[12]),
            typed_t(DType::U8, &[], &[0]),
        ],
        ty(DType::I32, &[4, 2]),
    );
    assert_eq!(
        r.data,
        Data::I32(vec![-38, -83, -44, -98, -50, -113, -56, -128])
    );
    // Per-column b zero point [0, 1]: column 1 loses sum(a - 12) per row.
    let r = run1(
        Op::MatMulInteger,
        &[
            a,
            b,
            typed_t(DType::U8, &[], &[12]),
            typed_t(DType::U8, &[2], &[0, 1]),
        ],
        ty(DType::I32, &[4, 2]),
    );
    // row sums of (a - 12): -15, -18, -21, -24
    assert_eq!(
        r.data,
        Data::I32(vec![-38, -68, -44, -80, -50, -92, -56, -104])
    );
}

#[test]
fn gemm_broadcast_and_transpose() {
    let a = f32t(&[3, 2], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // A^T of [[1,2,3],[4,5,6]]
    let b = f32t(&[2, 3], &[1.0, 0.0, 1.0, 0.0, 1.0, 1.0]); // B^T of [[1,0],[0,1],[1,1]]
    let at = GemmAttrs {
        alpha: 2.0,
        beta: 0.5,
        trans_a: true,
        trans_b: true,
    };
    // A B = [[4, 5], [10, 11]]; C = [10, 20] broadcast along rows.
    let r = run1(
        Op::Gemm(at.clone()),
        &[a.clone(), b.clone(), f32t(&[2], &[10.0, 20.0])],
        ty(DType::F32, &[2, 2]),
    );
    assert_eq!(f32v(&r), vec![13.0, 20.0, 25.0, 32.0]);
    // C as a column [2, 1].
    let r = run1(
        Op::Gemm(at.clone()),
        &[a.clone(), b.clone(), f32t(&[2, 1], &[10.0, 20.0])],
        ty(DType::F32, &[2, 2]),
    );
    assert_eq!(f32v(&r), vec![13.0, 15.0, 30.0, 32.0]);
    // Without C; scalar C.
    let r = run1(
        Op::Gemm(at.clone()),
        &[a.clone(), b.clone()],
        ty(DType::F32, &[2, 2]),
    );
    assert_eq!(f32v(&r), vec![8.0, 10.0, 20.0, 22.0]);
    let r = run1(
        Op::Gemm(at),
        &[a.clone(), b.clone(), f32t(&[], &[2.0])],
        ty(DType::F32, &[2, 2]),
    );
    assert_eq!(f32v(&r), vec![9.0, 11.0, 21.0, 23.0]);
    let m = err_msg(run_op(
        Op::Gemm(GemmAttrs {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: false,
        }),
        &[a.clone(), a, f32t(&[3], &[0.0; 3])],
        &[any(DType::F32, 2)],
    ));
    assert_eq!(
        m,
        "node 'n0' (gemm): inner dimensions differ: A' is 3x2, B' is 3x2 (shapes [3, 2], [3, 2])"
    );
}

// ---------------------------------------------------------------------------------------------
// Quantization ops.

#[test]
fn quantize_dequantize_requantize_per_axis() {
    // Per-axis along dim 1 of a [2, 3] tensor, narrow int8.
    let mut q = QParams::per_axis(vec![0.5, 1.0, 2.0], vec![0, 10, -10], 1);
    q.narrow = true;
    let x = f32t(&[2, 3], &[1.25, -200.0, 3.0, -1000.0, 0.5, 5.0]);
    let r = run1(Op::Quantize, &[x], qty(DType::I8, &[2, 3], q.clone()));
    // 1.25/0.5 = 2.5 -> 2; -200 + 10 -> -127 (narrow); 3/2 = 1.5 -> 2, -10 -> -8;
    // -1000/0.5 -> -127; 0.5 -> 0 (half even) + 10; 5/2 = 2.5 -> 2, -10 -> -8.
    assert_eq!(r.data, Data::I8(vec![2, -127, -8, -127, 10, -8]));

    let stored = typed_t(DType::I8, &[2, 3], &[2, -127, -8, -127, 10, -8]);
    let d = run_op_ty(
        Op::Dequantize,
        &[(stored.clone(), qty(DType::I8, &[2, 3], q.clone()))],
        &[ty(DType::F32, &[2, 3])],
    )
    .unwrap();
    assert_eq!(f32v(&d[0]), vec![1.0, -137.0, 4.0, -63.5, 0.0, 4.0]);

    // Requantize to per-tensor u8 (scale 0.25, zp 128): r / 0.25 + 128.
    let out_q = QParams::per_tensor(0.25, 128);
    let rq = run_op_ty(
        Op::Requantize,
        &[(stored, qty(DType::I8, &[2, 3], q))],
        &[qty(DType::U8, &[2, 3], out_q)],
    )
    .unwrap();
    assert_eq!(rq[0].data, Data::U8(vec![132, 0, 144, 0, 128, 144]));

    // Per-axis axis 0 on int16 with saturation.
    let q16 = QParams::per_axis(vec![1.0, 0.001], vec![0, 5], 0);
    let r = run1(
        Op::Quantize,
        &[f32t(&[2, 2], &[40000.0, -2.5, 40.0, -40.0])],
        qty(DType::I16, &[2, 2], q16),
    );
    assert_eq!(r.data, Data::I16(vec![32767, -2, 32767, -32768]));

    // Per-axis parameters that do not match the dim are an error.
    let m = err_msg(run_op(
        Op::Quantize,
        &[f32t(&[2, 2], &[0.0; 4])],
        &[qty(
            DType::U8,
            &[2, 2],
            QParams::per_axis(vec![1.0; 3], vec![0; 3], 1),
        )],
    ));
    assert_eq!(
        m,
        "node 'n0' (quantize): result parameters: 3 per-axis parameters but dim 1 of [2, 2] is 2"
    );
}

#[test]
fn quantize_linear_dynamic_forms() {
    // Per-tensor u8 (ONNX example).
    let x = f32t(&[6], &[0.0, 2.0, 3.0, 1000.0, -254.0, -1000.0]);
    let r = run1(
        Op::QuantizeLinear {
            axis: 1,
            block_size: 0,
        },
        &[x, f32t(&[], &[2.0]), typed_t(DType::U8, &[], &[128])],
        ty(DType::U8, &[6]),
    );
    assert_eq!(r.data, Data::U8(vec![128, 129, 130, 255, 1, 0]));
    // Per-axis (axis 1) i8, ONNX "quantizelinear_axis" style.
    let x = f32t(&[1, 3, 2], &[-162.0, 10.0, -100.0, 232.0, -20.0, -50.0]);
    let r = run1(
        Op::QuantizeLinear {
            axis: 1,
            block_size: 0,
        },
        &[
            x.clone(),
            f32t(&[3], &[2.0, 4.0, 5.0]),
            typed_t(DType::I8, &[3], &[84, 24, 196 - 256]),
        ],
        ty(DType::I8, &[1, 3, 2]),
    );
    // -81 + 84 = 3; 5 + 84 = 89; -25 + 24 = -1; 58 + 24 = 82; -4 - 60 = -64; -10 - 60 = -70
    assert_eq!(r.data, Data::I8(vec![3, 89, -1, 82, -64, -70]));
    // Without a zero point: result dtype from the result type (u16 saturates at 65535).
    let r = run1(
        Op::QuantizeLinear {
            axis: -1,
            block_size: 0,
        },
        &[f32t(&[3], &[-1.0, 70000.0, 2.5]), f32t(&[1], &[1.0])],
        ty(DType::U16, &[3]),
    );
    assert_eq!(r.data, Data::U16(vec![0, 65535, 2]));
    let r = run1(
        Op::QuantizeLinear {
            axis: 0,
            block_size: 0,
        },
        &[
            f32t(&[2], &[-40000.0, 40000.0]),
            f32t(&[], &[1.0]),
            typed_t(DType::I16, &[], &[0]),
        ],
        ty(DType::I16, &[2]),
    );
    assert_eq!(r.data, Data::I16(vec![-32768, 32767]));
    // Blocked along axis 1 with block size 2 on a [2, 5] tensor: scale shape [2, 3].
    let x = f32t(
        &[2, 5],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
    );
    let s = f32t(&[2, 3], &[1.0, 2.0, 4.0, 0.5, 1.0, 10.0]);
    let r = run1(
        Op::QuantizeLinear {
            axis: 1,
            block_size: 2,
        },
        &[
            x.clone(),
            s.clone(),
            typed_t(DType::I8, &[2, 3], &[0, 1, 2, 0, 0, 0]),
        ],
        ty(DType::I8, &[2, 5]),
    );
    // row 0: 1/1, 2/1, 3/2=1.5->2 +1, 4/2+1, 5/4=1.25->1 +2
    // row 1: 6/.5, 7/.5, 8/1, 9/1, 10/10
    assert_eq!(r.data, Data::I8(vec![1, 2, 3, 3, 3, 12, 14, 8, 9, 1]));
    let d = run1(
        Op::DequantizeLinear {
            axis: 1,
            block_size: 2,
        },
        &[r, s, typed_t(DType::I8, &[2, 3], &[0, 1, 2, 0, 0, 0])],
        ty(DType::F32, &[2, 5]),
    );
    assert_eq!(
        f32v(&d),
        vec![1.0, 2.0, 4.0, 4.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    );
    // Bad blocked scale shape.
    let m = err_msg(run_op(
        Op::QuantizeLinear {
            axis: 1,
            block_size: 2,
        },
        &[x, f32t(&[2, 2], &[1.0; 4])],
        &[ty(DType::U8, &[2, 5])],
    ));
    assert_eq!(
        m,
        "node 'n0' (quantize_linear): blocked scale must have shape [2, 3] (block size 2 on axis 1), got [2, 2]"
    );
}

#[test]
fn dequantize_linear_forms() {
    // ONNX DequantizeLinear example: (x - 128) * 2.
    let r = run1(
        Op::DequantizeLinear {
            axis: 1,
            block_size: 0,
        },
        &[
            typed_t(DType::U8, &[4], &[0, 3, 128, 255]),
            f32t(&[], &[2.0]),
            typed_t(DType::U8, &[], &[128]),
        ],
        ty(DType::F32, &[4]),
    );
    assert_eq!(f32v(&r), vec![-256.0, -250.0, 0.0, 254.0]);
    // Per-axis along 1 (ONNX "dequantizelinear_axis").
    let x = typed_t(DType::U8, &[1, 3, 2], &[3, 89, 34, 200, 74, 59]);
    let r = run1(
        Op::DequantizeLinear {
            axis: 1,
            block_size: 0,
        },
        &[
            x,
            f32t(&[3], &[2.0, 4.0, 5.0]),
            typed_t(DType::U8, &[3], &[5, 0, 10]),
        ],
        ty(DType::F32, &[1, 3, 2]),
    );
    assert_eq!(f32v(&r), vec![-4.0, 168.0, 136.0, 800.0, 320.0, 245.0]);
    // int32 (bias) without a zero point.
    let r = run1(
        Op::DequantizeLinear {
            axis: 1,
            block_size: 0,
        },
        &[typed_t(DType::I32, &[2], &[-7, 100000]), f32t(&[], &[0.5])],
        ty(DType::F32, &[2]),
    );
    assert_eq!(f32v(&r), vec![-3.5, 50000.0]);
}

#[test]
fn dynamic_quantize_linear() {
    let run_dql = |v: &[f32]| {
        run_op(
            Op::DynamicQuantizeLinear,
            &[f32t(&[v.len()], v)],
            &[
                ty(DType::U8, &[v.len()]),
                ty(DType::F32, &[]),
                ty(DType::U8, &[]),
            ],
        )
        .unwrap()
    };
    // ONNX example: x = [0, 2, -3, -2.5, 1.34, 0.5].
    let r = run_dql(&[0.0, 2.0, -3.0, -2.5, 1.34, 0.5]);
    let scale = 5.0f32 / 255.0;
    assert_eq!(f32v(&r[1]), vec![scale]);
    assert_eq!(r[2].data, Data::U8(vec![153]));
    assert_eq!(r[0].data, Data::U8(vec![153, 255, 0, 26, 221, 179]));
    // All positive: min is 0, zp 0. x = [1, 2.1, 1.3, 2.5, 3.34, 4.0, 1.5, 2.6, 3.9, 4.0, 3.0, 2.345]
    let r = run_dql(&[
        1.0, 2.1, 1.3, 2.5, 3.34, 4.0, 1.5, 2.6, 3.9, 4.0, 3.0, 2.345,
    ]);
    assert_eq!(f32v(&r[1]), vec![4.0f32 / 255.0]);
    assert_eq!(r[2].data, Data::U8(vec![0]));
    assert_eq!(
        r[0].data,
        Data::U8(vec![
            64, 134, 83, 159, 213, 255, 96, 166, 249, 255, 191, 149
        ])
    );
    // All zeros: scale 1, zp 0.
    let r = run_dql(&[0.0, 0.0]);
    assert_eq!(f32v(&r[1]), vec![1.0]);
    assert_eq!(r[0].data, Data::U8(vec![0, 0]));
}

/// QConv test data: u8 activations (zp 7), per-axis i8 weights with non-zero zero points,
/// int32 bias, pads 1, stride 2, power-of-two scales so the float pipeline is exact.
struct QConvCase {
    xs: Vec<usize>,
    ws: Vec<usize>,
    ys: Vec<usize>,
    x: Vec<i64>,
    w: Vec<i64>,
    bias: Vec<i64>,
    attrs: ConvAttrs,
    sx: f32,
    zx: i64,
    sw: Vec<f32>,
    zw: Vec<i64>,
    sy: f32,
    zy: i64,
}

fn qconv_case() -> QConvCase {
    let xs = vec![1, 2, 5, 4];
    let ws = vec![3, 2, 3, 3];
    let attrs = conv_attrs(&[2, 2], &[1, 1, 1, 1], &[1, 1], 1);
    QConvCase {
        ys: vec![1, 3, 3, 2],
        x: ints_in(40, 0, 30, 7),
        w: ints_in(54, -20, 20, 8),
        bias: vec![-40, 13, 250],
        xs,
        ws,
        attrs,
        sx: 0.25,
        zx: 7,
        sw: vec![0.5, 0.125, 1.0],
        zw: vec![0, 3, -2],
        sy: 2.0,
        zy: 100,
    }
}

fn run_qconv(c: &QConvCase, mode: RequantMode) -> Tensor {
    let qx = QParams::per_tensor(c.sx, c.zx as i32);
    let qw = QParams::per_axis(c.sw.clone(), c.zw.iter().map(|&z| z as i32).collect(), 0);
    let qy = QParams::per_tensor(c.sy, c.zy as i32);
    let mut b = B::default();
    b.m.requant = mode;
    let x = b.input("x", qty(DType::U8, &c.xs, qx));
    let w = b.konst_ty(
        "w",
        typed_t(DType::I8, &c.ws, &c.w),
        qty(DType::I8, &c.ws, qw),
    );
    let bias = b.konst("b", typed_t(DType::I32, &[3], &c.bias));
    let y = b.node(
        Op::QConv(c.attrs.clone(), Clamp::default()),
        &[x, w, bias],
        &[qty(DType::U8, &c.ys, qy)],
    )[0];
    b.out(y);
    b.run(&[typed_t(DType::U8, &c.xs, &c.x)]).unwrap().remove(0)
}

/// Exact integer accumulators `sum (x - zx)(w - zw[m]) + bias[m]` from the naive conv.
fn qconv_acc(c: &QConvCase) -> Vec<i64> {
    let xc: Vec<i64> = c.x.iter().map(|v| v - c.zx).collect();
    let per = c.w.len() / c.ws[0];
    let wc: Vec<i64> =
        c.w.iter()
            .enumerate()
            .map(|(i, v)| v - c.zw[i / per])
            .collect();
    let (ys, acc) = naive_conv(&xc, &c.xs, &wc, &c.ws, &c.attrs);
    assert_eq!(ys, c.ys);
    let o_n = ys[2] * ys[3];
    acc.iter()
        .enumerate()
        .map(|(i, a)| a + c.bias[i / o_n % 3])
        .collect()
}

#[test]
fn qconv_float_mode_matches_dequant_conv_quant() {
    let c = qconv_case();
    let got = run_qconv(&c, RequantMode::Float).data.to_i64_vec();
    // Reference: dequantize x and w, float conv (exact in f64 with these values), add the
    // dequantized bias (scale sx * sw[m]), quantize with round-half-even (padding is 0.0 in
    // the float domain, i.e. the input zero point in the integer domain).
    let xf: Vec<f64> =
        c.x.iter()
            .map(|&v| (v - c.zx) as f64 * c.sx as f64)
            .collect();
    let per = c.w.len() / 3;
    let wf: Vec<f64> =
        c.w.iter()
            .enumerate()
            .map(|(i, &v)| (v - c.zw[i / per]) as f64 * c.sw[i / per] as f64)
            .collect();
    // naive_conv works on integers: scale to integers exactly (all values are multiples
    // of 1/32), convolve, scale back.
    let k = 32.0 * 32.0;
    let xi: Vec<i64> = xf.iter().map(|v| (v * 32.0) as i64).collect();
    let wi: Vec<i64> = wf.iter().map(|v| (v * 32.0) as i64).collect();
    let (_, yi) = naive_conv(&xi, &c.xs, &wi, &c.ws, &c.attrs);
    let want: Vec<i64> = yi
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let m = i / 6;
            let real = v as f64 / k + c.bias[m] as f64 * (c.sx * c.sw[m]) as f64;
            quantize_f32(real as f32, c.sy, c.zy, 0, 255)
        })
        .collect();
    assert_eq!(got, want);
    // Sanity: the outputs are spread out and none saturates (the test exercises rounding,
    // not clamping; the first output window reads the padding).
    assert!(want.iter().all(|&v| v > 0 && v < 255));
    let mut distinct = want.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() > 10);
    // And it equals the accumulator path with the float multiplier.
    let acc = qconv_acc(&c);
    let via_acc: Vec<i64> = acc
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let m = i / 6;
            Multiplier::new(RequantMode::Float, c.sx, c.sw[m], c.sy).apply(a as i32, c.zy, 0, 255)
        })
        .collect();
    assert_eq!(got, via_acc);
}

#[test]
fn qconv_fixed_point_mode() {
    let c = qconv_case();
    let got = run_qconv(&c, RequantMode::FixedPoint).data.to_i64_vec();
    let acc = qconv_acc(&c);
    let want: Vec<i64> = acc
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            let m = i / 6;
            let (m0, shift) =
                crate::quant::quantize_multiplier(c.sx as f64 * c.sw[m] as f64 / c.sy as f64);
            requantize_fixed(a as i32, m0, shift, c.zy, 0, 255)
        })
        .collect();
    assert_eq!(got, want);
    // Float and fixed point differ only at rounding ties (half even vs TFLite's rounding).
    let float = run_qconv(&c, RequantMode::Float).data.to_i64_vec();
    for (i, (f, x)) in float.iter().zip(&got).enumerate() {
        assert!((f - x).abs() <= 1, "element {i}: float {f} vs fixed {x}");
    }
}

#[test]
fn qmatmul_per_column() {
    // a: u8 [2, 3] zp 2 scale 0.5; b: i8 [3, 2] per-axis along dim 1, scales [1, 0.25],
    // zero points [0, 1]; y: i8 scale 1, zp -3.
    let a = typed_t(DType::U8, &[2, 3], &[2, 4, 6, 10, 0, 3]);
    let b = typed_t(DType::I8, &[3, 2], &[1, 5, -2, 1, 3, -3]);
    let qa = QParams::per_tensor(0.5, 2);
    let qb = QParams::per_axis(vec![1.0, 0.25], vec![0, 1], 1);
    let qy = QParams::per_tensor(1.0, -3);
    let r = run_op_ty(
        Op::QMatMul,
        &[
            (a, qty(DType::U8, &[2, 3], qa)),
            (b, qty(DType::I8, &[3, 2], qb)),
        ],
        &[qty(DType::I8, &[2, 2], qy)],
    )
    .unwrap();
    // a - 2 = [[0, 2, 4], [8, -2, 1]]; b - zb = [[1, 4], [-2, 0], [3, -4]]
    // acc = [[0-4+12, 0+0-16], [8+4+3, 32+0-4]] = [[8, -16], [15, 28]]
    // y = round(acc * 0.5 * [1, 0.25]) - 3 = [[4-3, -2-3], [8-3 (7.5->8), 4-3 (3.5->4)]]
    assert_eq!(r[0].data, Data::I8(vec![1, -5, 5, 1]));
}

#[test]
fn qgemm_variants() {
    // a: [2, 2] u8 zp 1 scale 1; b stored [N=3, K=2] (trans_b) per-axis 0, scales [1, 0.5, 2].
    let a = typed_t(DType::U8, &[2, 2], &[2, 3, 1, 5]);
    let b = typed_t(DType::I8, &[3, 2], &[1, 2, -1, 4, 3, 0]);
    let qa = QParams::per_tensor(1.0, 1);
    let qb = QParams::per_axis(vec![1.0, 0.5, 2.0], vec![0, 0, 1], 0);
    let c = typed_t(DType::I32, &[3], &[10, 0, -1]);
    let at = GemmAttrs {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    };
    let ins = [
        (a.clone(), qty(DType::U8, &[2, 2], qa.clone())),
        (b.clone(), qty(DType::I8, &[3, 2], qb.clone())),
        (c.clone(), ty(DType::I32, &[3])),
    ];
    // a - 1 = [[1, 2], [0, 4]]; B' (K x N) = [[1, -1, 2], [2, 4, -1]] (b - zb per row n)
    // acc = [[1+4, -1+8, 2-2], [0+8, 0+16, 0-4]] + c = [[15, 7, -1], [18, 16, -5]]
    let r = run_op_ty(
        Op::QGemm(at.clone(), Clamp::default()),
        &ins,
        &[ty(DType::F32, &[2, 3])],
    )
    .unwrap();
    assert_eq!(f32v(&r[0]), vec![15.0, 3.5, -2.0, 18.0, 8.0, -10.0]);
    // Quantized output, scale 2 zp 0, alpha 2: M = 2 * 1 * sb / 2 = sb.
    let at2 = GemmAttrs {
        alpha: 2.0,
        ..at.clone()
    };
    let r = run_op_ty(
        Op::QGemm(at2, Clamp::default()),
        &ins,
        &[qty(DType::I8, &[2, 3], QParams::per_tensor(2.0, 0))],
    )
    .unwrap();
    // [[15, 3.5->4, -2], [18, 8, -10]]
    assert_eq!(r[0].data, Data::I8(vec![15, 4, -2, 18, 8, -10]));
    // Same in fixed point: 3.5 rounds away from zero -> 4 as well; check via the formula.
    let r = run_op_mode(
        Op::QGemm(GemmAttrs { alpha: 2.0, ..at }, Clamp::default()),
        &ins,
        &[qty(DType::I8, &[2, 3], QParams::per_tensor(2.0, 0))],
        RequantMode::FixedPoint,
    )
    .unwrap();
    assert_eq!(r[0].data, Data::I8(vec![15, 4, -2, 18, 8, -10]));
    // Per-axis along the wrong axis is rejected.
    let bad = QParams::per_axis(vec![1.0, 1.0], vec![0, 0], 1);
    let m = err_msg(run_op_ty(
        Op::QGemm(
            GemmAttrs {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            },
            Clamp::default(),
        ),
        &[
            (a, qty(DType::U8, &[2, 2], qa)),
            (b, qty(DType::I8, &[3, 2], bad)),
        ],
        &[ty(DType::F32, &[2, 3])],
    ));
    assert_eq!(
        m,
        "node 'n0' (qgemm): operand 1 must be per-tensor or per-axis along 0 with 3 entries, got axis 1 with 2"
    );
}

// ---------------------------------------------------------------------------------------------
// Reductions and batch norm.

#[test]
fn reductions() {
    let x = f32t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let red = |op, axes: Option<Vec<i64>>, keep, noop, out: TensorType| {
        f32v(&run1(
            Op::Reduce {
                op,
                axes,
                keepdims: keep,
                noop_with_empty_axes: noop,
            },
            &[x.clone()],
            out,
        ))
    };
    assert_eq!(
        red(
            ReduceOp::Sum,
            Some(vec![1]),
            true,
            false,
            ty(DType::F32, &[2, 1])
        ),
        vec![6.0, 15.0]
    );
    assert_eq!(
        red(
            ReduceOp::Mean,
            Some(vec![0]),
            false,
            false,
            ty(DType::F32, &[3])
        ),
        vec![2.5, 3.5, 4.5]
    );
    assert_eq!(
        red(
            ReduceOp::Max,
            Some(vec![-1]),
            false,
            false,
            ty(DType::F32, &[2])
        ),
        vec![3.0, 6.0]
    );
    assert_eq!(
        red(ReduceOp::Min, None, true, false, ty(DType::F32, &[1, 1])),
        vec![1.0]
    );
    assert_eq!(
        red(
            ReduceOp::Sum,
            Some(vec![]),
            false,
            false,
            ty(DType::F32, &[])
        ),
        vec![21.0]
    );
    assert_eq!(
        red(ReduceOp::Sum, None, true, true, ty(DType::F32, &[2, 3])),
        f32v(&x)
    );
    // Dynamic axes operand.
    let r = run1(
        Op::Reduce {
            op: ReduceOp::Mean,
            axes: None,
            keepdims: true,
            noop_with_empty_axes: false,
        },
        &[x.clone(), i64t(&[0, 1])],
        ty(DType::F32, &[1, 1]),
    );
    assert_eq!(f32v(&r), vec![3.5]);
    // Empty reduction: max -> -inf, sum -> 0.
    let e = f32t(&[2, 0], &[]);
    let r = run1(
        Op::Reduce {
            op: ReduceOp::Max,
            axes: Some(vec![1]),
            keepdims: false,
            noop_with_empty_axes: false,
        },
        &[e.clone()],
        ty(DType::F32, &[2]),
    );
    assert_eq!(f32v(&r), vec![f32::NEG_INFINITY; 2]);
    // Integer mean truncates.
    let r = run1(
        Op::Reduce {
            op: ReduceOp::Mean,
            axes: Some(vec![0]),
            keepdims: false,
            noop_with_empty_axes: false,
        },
        &[typed_t(DType::I32, &[2, 2], &[1, -1, 2, -4])],
        ty(DType::I32, &[2]),
    );
    assert_eq!(r.data, Data::I32(vec![1, -2]));
}

#[test]
fn batchnorm_inference_and_training() {
    let x = f32t(&[1, 2, 1, 3], &[-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]);
    let s = f32t(&[2], &[1.0, 1.5]);
    let bias = f32t(&[2], &[0.0, 1.0]);
    let mean = f32t(&[2], &[0.0, 3.0]);
    let var = f32t(&[2], &[1.0, 1.5]);
    let ins = [x, s, bias, mean, var];
    let r = run1(
        Op::BatchNorm {
            epsilon: 1e-5,
            momentum: 0.9,
            training: false,
        },
        &ins,
        ty(DType::F32, &[1, 2, 1, 3]),
    );
    let want: Vec<f32> = [-1.0f32, 0.0, 1.0]
        .iter()
        .map(|&v| v / (1.0f32 + 1e-5).sqrt())
        .chain(
            [2.0f32, 3.0, 4.0]
                .iter()
                .map(|&v| 1.5 * (v - 3.0) / (1.5f32 + 1e-5).sqrt() + 1.0),
        )
        .collect();
    assert_eq!(f32v(&r), want);
    let r = run_op(
        Op::BatchNorm {
            epsilon: 1e-5,
            momentum: 0.9,
            training: true,
        },
        &ins,
        &[
            ty(DType::F32, &[1, 2, 1, 3]),
            ty(DType::F32, &[2]),
            ty(DType::F32, &[2]),
        ],
    )
    .unwrap();
    // Batch mean [0, 3], batch var [2/3, 2/3].
    let bv = 2.0f32 / 3.0;
    assert_close(
        &f32v(&r[0]),
        &[
            -1.0 / (bv + 1e-5).sqrt(),
            0.0,
            1.0 / (bv + 1e-5).sqrt(),
            -1.5 / (bv + 1e-5).sqrt() + 1.0,
            1.0,
            1.5 / (bv + 1e-5).sqrt() + 1.0,
        ],
        1e-6,
    );
    assert_close(&f32v(&r[1]), &[0.0, 3.0], 1e-7);
    assert_close(&f32v(&r[2]), &[0.9 + bv * 0.1, 1.35 + bv * 0.1], 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Layout.

#[test]
fn reshape_flatten_squeeze_unsqueeze() {
    let x = f32t(&[2, 3, 4], &[0.0; 24]);
    let rs = |spec: Vec<i64>, allowzero: bool, x: &Tensor| {
        run_op(
            Op::Reshape {
                shape: spec,
                allowzero,
            },
            std::slice::from_ref(x),
            &[TensorType::with_dims(DType::F32, vec![])],
        )
    };
    let reshape = |spec: Vec<i64>, allowzero: bool, x: &Tensor, rank: usize| {
        run_op(
            Op::Reshape {
                shape: spec,
                allowzero,
            },
            std::slice::from_ref(x),
            &[any(DType::F32, rank)],
        )
        .map(|mut v| v.remove(0).shape)
    };
    assert_eq!(reshape(vec![0, -1], false, &x, 2).unwrap(), vec![2, 12]);
    assert_eq!(reshape(vec![-1], false, &x, 1).unwrap(), vec![24]);
    assert_eq!(reshape(vec![4, 0, 2], false, &x, 3).unwrap(), vec![4, 3, 2]);
    let e = f32t(&[0, 3], &[]);
    assert_eq!(reshape(vec![3, 0], true, &e, 2).unwrap(), vec![3, 0]);
    assert!(rs(vec![5, -1], false, &x).is_err());
    // Dynamic shape operand.
    let r = run1(
        Op::Reshape {
            shape: vec![],
            allowzero: false,
        },
        &[x.clone(), i64t(&[6, -1])],
        ty(DType::F32, &[6, 4]),
    );
    assert_eq!(r.shape, vec![6, 4]);
    let r = run1(
        Op::Flatten { axis: -1 },
        &[x.clone()],
        ty(DType::F32, &[6, 4]),
    );
    assert_eq!(r.shape, vec![6, 4]);
    let r = run1(
        Op::Flatten { axis: 0 },
        &[x.clone()],
        ty(DType::F32, &[1, 24]),
    );
    assert_eq!(r.shape, vec![1, 24]);
    let y = f32t(&[1, 3, 1, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let r = run1(
        Op::Squeeze { axes: vec![] },
        &[y.clone()],
        ty(DType::F32, &[3, 2]),
    );
    assert_eq!(f32v(&r), f32v(&y));
    let r = run1(
        Op::Squeeze { axes: vec![-2] },
        &[y.clone()],
        ty(DType::F32, &[1, 3, 2]),
    );
    assert_eq!(r.shape, vec![1, 3, 2]);
    let r = run1(
        Op::Squeeze { axes: vec![] },
        &[y.clone(), i64t(&[0])],
        ty(DType::F32, &[3, 1, 2]),
    );
    assert_eq!(r.shape, vec![3, 1, 2]);
    let m = err_msg(run_op(
        Op::Squeeze { axes: vec![1] },
        &[y.clone()],
        &[any(DType::F32, 3)],
    ));
    assert_eq!(
        m,
        "node 'n0' (squeeze): cannot squeeze axis 1 of shape [1, 3, 1, 2]: size is not 1"
    );
    let r = run1(
        Op::Unsqueeze { axes: vec![0, -1] },
        &[f32t(&[3], &[1.0, 2.0, 3.0])],
        ty(DType::F32, &[1, 3, 1]),
    );
    assert_eq!(r.shape, vec![1, 3, 1]);
    let r = run1(
        Op::Unsqueeze { axes: vec![] },
        &[f32t(&[3], &[1.0, 2.0, 3.0]), i64t(&[1])],
        ty(DType::F32, &[3, 1]),
    );
    assert_eq!(r.shape, vec![3, 1]);
    let r = run1(Op::Identity, &[y.clone()], tt(&y));
    assert_eq!(r, y);
}

#[test]
fn transpose_and_concat_and_split() {
    let x: Vec<f32> = (0..6).map(|v| v as f32).collect();
    let r = run1(
        Op::Transpose { perm: vec![1, 0] },
        &[f32t(&[2, 3], &x)],
        ty(DType::F32, &[3, 2]),
    );
    assert_eq!(f32v(&r), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    let r = run1(
        Op::Transpose { perm: vec![] },
        &[f32t(&[1, 2, 3], &x)],
        ty(DType::F32, &[3, 2, 1]),
    );
    assert_eq!(f32v(&r), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    let r = run1(
        Op::Transpose {
            perm: vec![0, 2, 1],
        },
        &[f32t(&[1, 2, 3], &x)],
        ty(DType::F32, &[1, 3, 2]),
    );
    assert_eq!(f32v(&r), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
    assert!(run_op(
        Op::Transpose { perm: vec![0, 0] },
        &[f32t(&[2, 3], &x)],
        &[any(DType::F32, 2)]
    )
    .is_err());

    let a = typed_t(DType::U8, &[2, 1], &[1, 2]);
    let b = typed_t(DType::U8, &[2, 2], &[3, 4, 5, 6]);
    let r = run1(
        Op::Concat { axis: -1 },
        &[a.clone(), b.clone()],
        ty(DType::U8, &[2, 3]),
    );
    assert_eq!(r.data, Data::U8(vec![1, 3, 4, 2, 5, 6]));
    let r = run1(
        Op::Concat { axis: 0 },
        &[b.clone(), b.clone()],
        ty(DType::U8, &[4, 2]),
    );
    assert_eq!(r.data, Data::U8(vec![3, 4, 5, 6, 3, 4, 5, 6]));

    let y: Vec<f32> = (0..10).map(|v| v as f32).collect();
    let r = run_op(
        Op::Split {
            axis: 1,
            sizes: vec![2, 3],
        },
        &[f32t(&[2, 5], &y)],
        &[ty(DType::F32, &[2, 2]), ty(DType::F32, &[2, 3])],
    )
    .unwrap();
    assert_eq!(f32v(&r[0]), vec![0.0, 1.0, 5.0, 6.0]);
    assert_eq!(f32v(&r[1]), vec![2.0, 3.0, 4.0, 7.0, 8.0, 9.0]);
    // Equal split with a smaller last part: 5 -> 2, 2, 1.
    let r = run_op(
        Op::Split {
            axis: 1,
            sizes: vec![],
        },
        &[f32t(&[2, 5], &y)],
        &[
            ty(DType::F32, &[2, 2]),
            ty(DType::F32, &[2, 2]),
            ty(DType::F32, &[2, 1]),
        ],
    )
    .unwrap();
    assert_eq!(f32v(&r[2]), vec![4.0, 9.0]);
    // Dynamic split sizes.
    let r = run_op(
        Op::Split {
            axis: 0,
            sizes: vec![],
        },
        &[f32t(&[5], &y[..5]), i64t(&[4, 1])],
        &[ty(DType::F32, &[4]), ty(DType::F32, &[1])],
    )
    .unwrap();
    assert_eq!(f32v(&r[1]), vec![4.0]);
    let m = err_msg(run_op(
        Op::Split {
            axis: 0,
            sizes: vec![2, 2],
        },
        &[f32t(&[5], &y[..5])],
        &[any(DType::F32, 1), any(DType::F32, 1)],
    ));
    assert_eq!(
        m,
        "node 'n0' (split): split sizes [2, 2] do not add up to dim 0 of [5]"
    );
}

fn slice_op(starts: &[i64], ends: &[i64], axes: &[i64], steps: &[i64]) -> Op {
    Op::Slice {
        starts: starts.to_vec(),
        ends: ends.to_vec(),
        axes: axes.to_vec(),
        steps: steps.to_vec(),
    }
}

#[test]
fn slice_semantics() {
    let x: Vec<f32> = (0..20).map(|v| v as f32).collect();
    let x = f32t(&[4, 5], &x);
    // ONNX "slice": [1:3, 0:10:1]... rows 1..3, cols 0..3.
    let r = run1(
        slice_op(&[1, 0], &[3, 3], &[], &[]),
        &[x.clone()],
        ty(DType::F32, &[2, 3]),
    );
    assert_eq!(f32v(&r), vec![5.0, 6.0, 7.0, 10.0, 11.0, 12.0]);
    // Negative step, clamped start: rows reversed.
    let r = run1(
        slice_op(&[100], &[i64::MIN], &[0], &[-1]),
        &[x.clone()],
        ty(DType::F32, &[4, 5]),
    );
    assert_eq!(f32v(&r)[..5], [15.0, 16.0, 17.0, 18.0, 19.0]);
    // Negative indices and step -2 on axis 1: cols 4, 2.
    let r = run1(
        slice_op(&[-1], &[-4], &[-1], &[-2]),
        &[x.clone()],
        ty(DType::F32, &[4, 2]),
    );
    assert_eq!(f32v(&r)[..4], [4.0, 2.0, 9.0, 7.0]);
    // Step 3 with end past the dim.
    let r = run1(
        slice_op(&[0], &[i64::MAX], &[1], &[3]),
        &[x.clone()],
        ty(DType::F32, &[4, 2]),
    );
    assert_eq!(f32v(&r)[..2], [0.0, 3.0]);
    // Empty result.
    let r = run1(
        slice_op(&[3], &[1], &[0], &[1]),
        &[x.clone()],
        ty(DType::F32, &[0, 5]),
    );
    assert!(r.is_empty());
    // Dynamic operands.
    let r = run1(
        slice_op(&[], &[], &[], &[]),
        &[x.clone(), i64t(&[1]), i64t(&[-1]), i64t(&[1]), i64t(&[2])],
        ty(DType::F32, &[4, 2]),
    );
    assert_eq!(f32v(&r)[..2], [1.0, 3.0]);
    let m = err_msg(run_op(
        slice_op(&[0], &[1], &[0], &[0]),
        &[x],
        &[any(DType::F32, 2)],
    ));
    assert_eq!(m, "node 'n0' (slice): step for axis 0 is 0");
}

#[test]
fn pad_modes() {
    let x = f32t(&[3, 2], &[1.0, 1.2, 2.3, 3.4, 4.5, 5.7]);
    let padop = |mode, pads: &[i64], value| Op::Pad {
        mode,
        pads: pads.to_vec(),
        value,
    };
    // ONNX examples (pads [0, 2, 0, 0]).
    let r = run1(
        padop(PadMode::Constant, &[0, 2, 0, 0], 0.0),
        &[x.clone()],
        ty(DType::F32, &[3, 4]),
    );
    assert_eq!(
        f32v(&r),
        vec![0.0, 0.0, 1.0, 1.2, 0.0, 0.0, 2.3, 3.4, 0.0, 0.0, 4.5, 5.7]
    );
    let r = run1(
        padop(PadMode::Reflect, &[0, 2, 0, 0], 0.0),
        &[x.clone()],
        ty(DType::F32, &[3, 4]),
    );
    assert_eq!(
        f32v(&r),
        vec![1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7]
    );
    let r = run1(
        padop(PadMode::Edge, &[0, 2, 0, 0], 0.0),
        &[x.clone()],
        ty(DType::F32, &[3, 4]),
    );
    assert_eq!(
        f32v(&r),
        vec![1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7]
    );
    let r = run1(
        padop(PadMode::Wrap, &[2, 1, 1, 1], 0.0),
        &[x.clone()],
        ty(DType::F32, &[6, 4]),
    );
    // numpy.pad(x, ((2, 1), (1, 1)), 'wrap')
    assert_eq!(
        f32v(&r),
        vec![
            3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0, 3.4, 2.3, 3.4, 2.3, 5.7,
            4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0
        ]
    );
    // Reflect larger than the dim (numpy mirrors repeatedly): [1, 2, 3] pad 4 each side.
    let r = run1(
        padop(PadMode::Reflect, &[4, 4], 0.0),
        &[f32t(&[3], &[1.0, 2.0, 3.0])],
        ty(DType::F32, &[11]),
    );
    assert_eq!(
        f32v(&r),
        vec![1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0]
    );
    // Negative pads crop; constant value on u8 stored integers.
    let q = typed_t(DType::U8, &[2, 3], &[1, 2, 3, 4, 5, 6]);
    let r = run1(
        padop(PadMode::Constant, &[0, -1, 1, 1], 128.0),
        &[q.clone()],
        ty(DType::U8, &[3, 3]),
    );
    assert_eq!(r.data, Data::U8(vec![2, 3, 128, 5, 6, 128, 128, 128, 128]));
    // Dynamic form with constant value and axes.
    let r = run1(
        padop(PadMode::Constant, &[], 0.0),
        &[q, i64t(&[1, 0]), typed_t(DType::U8, &[], &[9]), i64t(&[-1])],
        ty(DType::U8, &[2, 4]),
    );
    assert_eq!(r.data, Data::U8(vec![9, 1, 2, 3, 9, 4, 5, 6]));
}

// ---------------------------------------------------------------------------------------------
// Robustness: degenerate inputs and attributes give errors (or results), never panics.

#[test]
fn never_panics_on_degenerate_input() {
    let big = usize::MAX / 2;
    let conv_variants = [
        conv_attrs(&[], &[], &[], 1),
        conv_attrs(&[big, big], &[big, big, big, big], &[big, big], 1),
        conv_attrs(&[0, 1], &[], &[], 1),
        conv_attrs(&[1, 1], &[1, 1, 1, 1], &[1, 1], 0),
        conv_attrs(&[1, 1], &[1, 1, 1, 1], &[1, 1], 2),
        conv_attrs(&[1], &[1, 1, 1], &[1], 1),
    ];
    let pool_variants = [
        pool(&[2, 2], &[], &[], false, false),
        pool(&[2, 2], &[1, 1], &[1, 1, 1, 1], true, true),
        pool(&[big, big], &[big, big], &[big, big, big, big], true, true),
        pool(&[0, 1], &[], &[], false, false),
        pool(&[1], &[], &[], false, false),
        pool(&[3, 3], &[3, 3], &[5, 5, 5, 5], true, false),
    ];
    let gemm = GemmAttrs {
        alpha: 1.0,
        beta: 1.0,
        trans_a: true,
        trans_b: false,
    };
    let mut ops = vec![
        Op::Quantize,
        Op::Dequantize,
        Op::Requantize,
        Op::QuantizeLinear {
            axis: 1,
            block_size: 0,
        },
        Op::QuantizeLinear {
            axis: -9,
            block_size: 3,
        },
        Op::DequantizeLinear {
            axis: 0,
            block_size: 0,
        },
        Op::DequantizeLinear {
            axis: 1,
            block_size: 2,
        },
        Op::DynamicQuantizeLinear,
        Op::MatMul,
        Op::MatMulInteger,
        Op::Gemm(gemm.clone()),
        Op::QMatMul,
        Op::QGemm(gemm, Clamp::default()),
        Op::BatchNorm {
            epsilon: 1e-5,
            momentum: 0.9,
            training: true,
        },
        Op::Where,
        Op::LeakyRelu { alpha: 0.1 },
        Op::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Op::Clip {
            min: Some(1e300),
            max: Some(-1e300),
        },
        Op::Cast { to: DType::U64 },
        Op::Softmax { axis: 5 },
        Op::Softmax { axis: -1 },
        Op::Identity,
        Op::GlobalAvgPool,
        Op::GlobalMaxPool,
        Op::Reduce {
            op: ReduceOp::Mean,
            axes: Some(vec![7, -7]),
            keepdims: true,
            noop_with_empty_axes: false,
        },
        Op::Reduce {
            op: ReduceOp::Max,
            axes: None,
            keepdims: false,
            noop_with_empty_axes: true,
        },
        Op::Reshape {
            shape: vec![-1, -1],
            allowzero: false,
        },
        Op::Reshape {
            shape: vec![0, 0, 0, 0, i64::MAX],
            allowzero: true,
        },
        Op::Reshape {
            shape: vec![-2],
            allowzero: false,
        },
        Op::Flatten { axis: 9 },
        Op::Flatten { axis: -1 },
        Op::Transpose {
            perm: vec![3, 3, 1],
        },
        Op::Transpose { perm: vec![] },
        Op::Squeeze { axes: vec![9] },
        Op::Unsqueeze {
            axes: vec![0, 0, i64::MIN],
        },
        Op::Slice {
            starts: vec![i64::MIN, i64::MAX],
            ends: vec![i64::MAX, i64::MIN],
            axes: vec![-1, 0],
            steps: vec![i64::MIN, i64::MAX],
        },
        Op::Slice {
            starts: vec![0],
            ends: vec![1],
            axes: vec![0, 1],
            steps: vec![],
        },
        Op::Pad {
            mode: PadMode::Reflect,
            pads: vec![i64::MAX, i64::MIN, 1, 1, 2, 2, 3, 3],
            value: 0.0,
        },
        Op::Pad {
            mode: PadMode::Wrap,
            pads: vec![-1, 1, 5, -1],
            value: f64::NAN,
        },
        Op::Pad {
            mode: PadMode::Edge,
            pads: vec![3, 3, 3, 3],
            value: 0.0,
        },
        Op::Concat { axis: -3 },
        Op::Split {
            axis: 0,
            sizes: vec![usize::MAX, 2],
        },
        Op::Split {
            axis: -1,
            sizes: vec![],
        },
    ];
    for b in [
        BinaryOp::Add,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Less,
        BinaryOp::And,
    ] {
        ops.push(Op::Binary(b));
    }
    for u in [
        UnaryOp::Relu,
        UnaryOp::Erf,
        UnaryOp::Not,
        UnaryOp::HardSwish,
    ] {
        ops.push(Op::Unary(u));
    }
    for a in &conv_variants {
        ops.push(Op::Conv(a.clone()));
        ops.push(Op::ConvInteger(a.clone()));
        ops.push(Op::QConv(a.clone(), Clamp::default()));
    }
    for a in &pool_variants {
        ops.push(Op::MaxPool(a.clone()));
        ops.push(Op::AvgPool(a.clone()));
    }
    let q = QParams::per_tensor(0.5, 3);
    let qa = QParams::per_axis(vec![0.5, 0.25], vec![0, 1], 1);
    let input_sets: Vec<Vec<(Tensor, TensorType)>> = vec![
        vec![],
        vec![(f32t(&[], &[1.0]), ty(DType::F32, &[]))],
        vec![(f32t(&[0], &[]), ty(DType::F32, &[0]))],
        vec![(f32t(&[2, 0, 3], &[]), ty(DType::F32, &[2, 0, 3]))],
        vec![
            (f32t(&[1, 1, 0, 0], &[]), ty(DType::F32, &[1, 1, 0, 0])),
            (f32t(&[1, 1, 1, 1], &[1.0]), ty(DType::F32, &[1, 1, 1, 1])),
        ],
        vec![
            (
                f32t(&[1, 2, 3, 3], &[0.5; 18]),
                ty(DType::F32, &[1, 2, 3, 3]),
            ),
            (
                f32t(&[4, 2, 2, 2], &[0.5; 32]),
                ty(DType::F32, &[4, 2, 2, 2]),
            ),
            (f32t(&[4], &[1.0; 4]), ty(DType::F32, &[4])),
            (f32t(&[4], &[1.0; 4]), ty(DType::F32, &[4])),
            (f32t(&[4], &[1.0; 4]), ty(DType::F32, &[4])),
        ],
        vec![
            (
                typed_t(DType::U8, &[1, 2, 3, 3], &[7; 18]),
                qty(DType::U8, &[1, 2, 3, 3], q.clone()),
            ),
            (
                typed_t(DType::I8, &[2, 2, 2, 2], &[-1; 16]),
                qty(DType::I8, &[2, 2, 2, 2], qa.clone()),
            ),
            (typed_t(DType::I32, &[2], &[5, 6]), ty(DType::I32, &[2])),
        ],
        vec![
            (
                typed_t(DType::U8, &[2, 2], &[1, 2, 3, 4]),
                qty(DType::U8, &[2, 2], qa.clone()),
            ),
            (f32t(&[2], &[0.5, 0.0]), ty(DType::F32, &[2])),
            (typed_t(DType::U8, &[2], &[1, 0]), ty(DType::U8, &[2])),
        ],
        vec![
            (
                f32t(&[2, 3], &[1.0, -1.0, 0.0, f32::NAN, f32::INFINITY, -2.0]),
                ty(DType::F32, &[2, 3]),
            ),
            (i64t(&[i64::MAX, i64::MIN]), ty(DType::I64, &[2])),
            (i64t(&[-1]), ty(DType::I64, &[1])),
            (i64t(&[0, 5]), ty(DType::I64, &[2])),
        ],
        vec![
            (
                Tensor::new(vec![2], Data::Bool(vec![true, false])),
                ty(DType::Bool, &[2]),
            ),
            (
                typed_t(DType::I16, &[2], &[i16::MIN as i64, -1]),
                ty(DType::I16, &[2]),
            ),
            (typed_t(DType::I16, &[2], &[-1, 0]), ty(DType::I16, &[2])),
        ],
    ];
    let out_sets: Vec<Vec<TensorType>> = vec![
        vec![],
        vec![any(DType::F32, 2)],
        vec![qty(DType::U8, &[2, 2], q.clone())],
        vec![any(DType::F32, 4), any(DType::I64, 4)],
        vec![any(DType::U8, 1), any(DType::F32, 0), any(DType::U8, 0)],
    ];
    let (mut ran, mut ok) = (0, 0);
    for op in &ops {
        for ins in &input_sets {
            for outs in &out_sets {
                for mode in [RequantMode::Float, RequantMode::FixedPoint] {
                    // Errors are fine; a panic fails the test.
                    if run_op_mode(op.clone(), ins, outs, mode).is_ok() {
                        ok += 1;
                    }
                    ran += 1;
                }
            }
        }
    }
    assert_eq!(ran, ops.len() * input_sets.len() * out_sets.len() * 2);
    assert!(ok > 0);
}
