//! The `lookup_table` computation: a 256-entry table (or one per channel) that replaces
//! `quantize(f(dequantize(x)))` for an 8-bit `x`.
//!
//! The table is built by running the matched float ops through the reference interpreter on
//! every stored value, so `table[v]` is exactly what the float graph computes for `v`: the
//! rewrite is bit-exact by construction. `f` may be a chain of up to [`MAX_CHAIN`]
//! elementwise ops whose results depend only on the element's value (unary ops, LeakyRelu,
//! HardSigmoid, a binary op with a one-element constant, as in GELU's `erf(x / sqrt 2)`),
//! or an inference batchnorm alone, whose per-channel parameters give one table per
//! channel (dim 1).
//!
//! `product_table` does the same for `qmul(x, lut(x))` (swish and hard-swish once their
//! halves are integer ops): the product of two functions of one 8-bit value is a third.

use super::registry::tensor_type;
use crate::analysis::{leaf_type, split_children, QEGraph};
use crate::lang::QNode;
use egg::Id;
use qcc_ir::{Constant, DType, Dim, Module, Op, Tensor, TensorType};
use std::sync::Arc;

/// Longest chain of float ops between `dequantize(x)` and the root `quantize`.
const MAX_CHAIN: usize = 3;

/// One float op of a matched chain and its other operands: constants, each used as is or
/// through a `dequantize` (`true`).
struct Step {
    op: Op,
    consts: Vec<(Constant, bool)>,
}

/// The float ops between `dequantize(x)` and the root `quantize` (innermost first) and the
/// quantize's result type.
struct Matched {
    steps: Vec<Step>,
    out: TensorType,
}

/// A constant operand class: the constant itself, or `dequantize` of one (`true`).
fn const_operand(g: &QEGraph, c: Id) -> Option<(Constant, bool)> {
    if let Some(k) = g[c].data.konst {
        return Some((g.analysis.consts[k as usize].clone(), false));
    }
    g[c].nodes.iter().find_map(|n| match n {
        QNode::Op(s, ch) if s.as_str() == "dequantize" && ch.len() == 1 => {
            let k = g[ch[0]].data.konst?;
            Some((g.analysis.consts[k as usize].clone(), true))
        }
        _ => None,
    })
}

/// The type and parameters of a table's index class `x`: 8-bit integers with per-tensor
/// parameters, or `None`.
fn table_index(g: &QEGraph, x: Id) -> Option<(TensorType, qcc_ir::QParams)> {
    let xty = tensor_type(g, x)?;
    let xq = xty.quant.clone().filter(|q| q.is_per_tensor())?;
    (xty.dtype.size() == 1 && xty.dtype.is_int()).then_some((xty, xq))
}

/// `lookup_table(?matched, ?x)`: the table class, or `None` when the match is not a
/// per-element map of an 8-bit per-tensor `x`.
pub(crate) fn lookup_table(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let (root, x) = (a[0], g.find(a[1]));
    let (xty, xq) = table_index(g, x)?;
    let m = find_match(g, root, x)?;
    let per_channel = matches!(
        m.steps[..],
        [Step {
            op: Op::BatchNorm {
                training: false,
                ..
            },
            ..
        }]
    );
    let scalar_map =
        |st: &Step| elementwise(&st.op) && st.consts.iter().all(|(c, _)| c.data.len() == 1);
    if !per_channel && !m.steps.iter().all(scalar_map) {
        return None;
    }
    let channels = if per_channel {
        xty.shape.get(1)?.fixed()?
    } else {
        1
    };
    let (lo, _) = xty.dtype.int_range()?;
    // The input: every stored value once per channel, laid out [1, C, 256] (or [256]).
    let shape: Vec<usize> = if per_channel {
        vec![1, channels, 256]
    } else {
        vec![256]
    };
    let vals: Vec<i64> = (0..channels).flat_map(|_| lo..lo + 256).collect();
    let input = Tensor::new(shape.clone(), qcc_ir::Data::from_i64(xty.dtype, &vals));
    let dims = |s: &[usize]| s.iter().map(|&d| Dim::Fixed(d)).collect::<Vec<_>>();
    let mut module = Module {
        requant: g.analysis.shadow.requant,
        ..Module::default()
    };
    let gr = &mut module.graph;
    let xin = gr.add_input(
        "x",
        TensorType::with_dims(xty.dtype, dims(&shape)).quantized(xq),
    );
    let real = TensorType::with_dims(DType::F32, dims(&shape));
    let d = gr.add_node(
        "dq",
        Op::Dequantize,
        vec![xin],
        vec![("d".into(), real.clone())],
    )[0];
    let mut f = d;
    for (si, st) in m.steps.iter().enumerate() {
        let mut operands = vec![f];
        for (i, (c, dequantized)) in st.consts.iter().enumerate() {
            let id = module.add_const(format!("c{si}_{i}"), c.ty.clone(), (*c.data).clone());
            let gr = &mut module.graph;
            let mut v = gr.add_node(
                format!("k{si}_{i}"),
                Op::Const(id),
                vec![],
                vec![(format!("k{si}_{i}"), c.ty.clone())],
            )[0];
            if *dequantized {
                let real = TensorType {
                    dtype: DType::F32,
                    quant: None,
                    ..c.ty.clone()
                };
                v = gr.add_node(
                    format!("dk{si}_{i}"),
                    Op::Dequantize,
                    vec![v],
                    vec![(format!("dk{si}_{i}"), real)],
                )[0];
            }
            operands.push(v);
        }
        let gr = &mut module.graph;
        f = gr.add_node(
            format!("f{si}"),
            st.op.clone(),
            operands,
            vec![(format!("f{si}"), real.clone())],
        )[0];
    }
    let gr = &mut module.graph;
    let out_ty = TensorType {
        shape: dims(&shape),
        ..m.out.clone()
    };
    let y = gr.add_node("q", Op::Quantize, vec![f], vec![("y".into(), out_ty)])[0];
    gr.outputs.push(y);
    let table = qcc_ir::interp::run(&module, &[input]).ok()?.pop()?;
    let tshape = if per_channel {
        vec![channels, 256]
    } else {
        vec![256]
    };
    let tty = TensorType::new(m.out.dtype, &tshape);
    let data = Tensor::new(tshape, table.data);
    let k = g.analysis.add_const(Constant {
        name: format!("lut.{}", m.steps.last()?.op.name()),
        ty: tty,
        data: Arc::new(data),
    });
    Some(g.add(QNode::Const(k)))
}

/// Ops whose every result element depends only on the same element of operand 0 (and on
/// one-element constants).
fn elementwise(op: &Op) -> bool {
    matches!(
        op,
        Op::Unary(_)
            | Op::LeakyRelu { .. }
            | Op::HardSigmoid { .. }
            | Op::Clip { .. }
            | Op::Binary(_)
            | Op::Identity
    )
}

/// Finds `quantize(op_n(... op_1(dequantize(x), consts...) ..., consts...))` in the class
/// `root`, with at most [`MAX_CHAIN`] ops.
fn find_match(g: &QEGraph, root: Id, x: Id) -> Option<Matched> {
    for node in &g[root].nodes {
        let QNode::Op(sym, ch) = node else { continue };
        if sym.as_str() != "quantize" || ch.len() != 2 {
            continue;
        }
        let out = leaf_type(g, ch[0])?;
        if let Some(steps) = chain(g, ch[1], x, MAX_CHAIN) {
            return Some(Matched { steps, out });
        }
    }
    None
}

/// A chain of ops in class `c` whose first operands lead to `dequantize(x)` and whose
/// other operands are constants (innermost first), at most `depth` long.
fn chain(g: &QEGraph, c: Id, x: Id, depth: usize) -> Option<Vec<Step>> {
    if depth == 0 {
        return None;
    }
    for inner in &g[c].nodes {
        let QNode::Op(isym, ich) = inner else {
            continue;
        };
        let Some((None, op, operands)) = split_children(g, isym.as_str(), ich) else {
            continue;
        };
        let Some((first, rest)) = operands.split_first() else {
            continue;
        };
        let Some(consts) = rest.iter().map(|&k| const_operand(g, k)).collect() else {
            continue;
        };
        let reads_x = g[*first].nodes.iter().any(|n| {
            matches!(n, QNode::Op(s, k) if s.as_str() == "dequantize" && k.len() == 1 && g.find(k[0]) == x)
        });
        let mut steps = if reads_x {
            Vec::new()
        } else if elementwise(&op) {
            match chain(g, *first, x, depth - 1) {
                Some(s) => s,
                None => continue,
            }
        } else {
            continue;
        };
        steps.push(Step { op, consts });
        return Some(steps);
    }
    None
}

/// `qmul(x, lut(x))` or `qmul(lut(x), x)` in the class `root`: the qmul's result type, the
/// lut's result type and table, and whether `x` is the first operand.
fn find_product(g: &QEGraph, root: Id, x: Id) -> Option<(TensorType, TensorType, Constant, bool)> {
    for node in &g[root].nodes {
        let QNode::Op(sym, ch) = node else { continue };
        if sym.as_str() != "qmul" || ch.len() != 3 {
            continue;
        }
        let out = leaf_type(g, ch[0])?;
        for (xi, li) in [(1, 2), (2, 1)] {
            if g.find(ch[xi]) != x {
                continue;
            }
            for inner in &g[ch[li]].nodes {
                let QNode::Op(isym, ich) = inner else {
                    continue;
                };
                if isym.as_str() != "lut" || ich.len() != 3 || g.find(ich[1]) != x {
                    continue;
                }
                let Some(k) = g[ich[2]].data.konst else {
                    continue;
                };
                let table = g.analysis.consts[k as usize].clone();
                if table.data.shape != [256] {
                    continue;
                }
                return Some((out, leaf_type(g, ich[0])?, table, xi == 1));
            }
        }
    }
    None
}

/// `product_table(?matched, ?x)`: the 256-entry table of `qmul(x, lut(x))` (either operand
/// order) for an 8-bit per-tensor `x`, computed by the reference interpreter on every
/// stored value, or `None` when the match is not of that form.
pub(crate) fn product_table(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let (root, x) = (a[0], g.find(a[1]));
    let (xty, xq) = table_index(g, x)?;
    let (out, lut_ty, table, x_first) = find_product(g, root, x)?;
    let (lo, _) = xty.dtype.int_range()?;
    let vals: Vec<i64> = (lo..lo + 256).collect();
    let input = Tensor::new(vec![256], qcc_ir::Data::from_i64(xty.dtype, &vals));
    let row = vec![Dim::Fixed(256)];
    let mut module = Module {
        requant: g.analysis.shadow.requant,
        ..Module::default()
    };
    let xin = module.graph.add_input(
        "x",
        TensorType::with_dims(xty.dtype, row.clone()).quantized(xq),
    );
    let id = module.add_const("t", table.ty.clone(), (*table.data).clone());
    let gr = &mut module.graph;
    let t = gr.add_node(
        "t",
        Op::Const(id),
        vec![],
        vec![("t".into(), table.ty.clone())],
    )[0];
    let lut_ty = TensorType {
        shape: row.clone(),
        ..lut_ty
    };
    let l = gr.add_node("l", Op::Lut, vec![xin, t], vec![("l".into(), lut_ty)])[0];
    let operands = if x_first { vec![xin, l] } else { vec![l, xin] };
    let out_ty = TensorType {
        shape: row,
        ..out.clone()
    };
    let y = gr.add_node("m", Op::QMul, operands, vec![("y".into(), out_ty)])[0];
    gr.outputs.push(y);
    let result = qcc_ir::interp::run(&module, &[input]).ok()?.pop()?;
    let tty = TensorType::new(out.dtype, &[256]);
    let k = g.analysis.add_const(Constant {
        name: "lut.product".into(),
        ty: tty.clone(),
        data: Arc::new(Tensor::new(vec![256], result.data)),
    });
    Some(g.add(QNode::Const(k)))
}
