//! Named conditions and computations that rule files may call.
//!
//! A condition looks at the classes bound to its arguments and answers yes or no; a
//! computation builds a new class (a constant, a type leaf, an attribute leaf) or declines
//! (`None`), in which case the rule does not fire. Adding one is adding an entry to
//! [`CONDITIONS`] or [`COMPUTATIONS`]; the engine never changes.

use crate::analysis::{leaf_attrs, leaf_type, QEGraph};
use crate::lang::{AttrLeaf, QNode, TypeLeaf};
use egg::Id;
use qcc_ir::quant::{quantize_f32_mode, round_half_even};
use qcc_ir::{Constant, DType, Data, Op, QParams, Tensor, TensorType};
use std::sync::Arc;

/// A named yes/no question about bound classes.
pub struct Condition {
    /// Name used in rule files.
    pub name: &'static str,
    /// Number of arguments.
    pub arity: usize,
    /// The check.
    pub check: fn(&QEGraph, &[Id]) -> bool,
    /// One line for documentation.
    pub doc: &'static str,
}

/// A named computation that adds a class for the right-hand side.
pub struct Compute {
    /// Name used in rule files.
    pub name: &'static str,
    /// Number of arguments.
    pub arity: usize,
    /// The computation.
    pub run: fn(&mut QEGraph, &[Id]) -> Option<Id>,
    /// One line for documentation.
    pub doc: &'static str,
    /// Ops the class it adds may contain beyond the rule's right-hand pattern (a computed
    /// right-hand side), so targets can refuse them like pattern ops.
    pub builds: &'static [&'static str],
}

/// Every condition rule files may use.
pub static CONDITIONS: &[Condition] = &[
    Condition {
        name: "float_requant",
        arity: 0,
        check: |g, _| g.analysis.shadow.requant == qcc_ir::RequantMode::Float,
        doc: "the module uses float requantization (ONNX Runtime's arithmetic), where the Q/DQ folding rules reproduce the reference's fused kernels",
    },
    Condition {
        name: "same_qparams",
        arity: 2,
        check: |g, a| match (tensor_type(g, a[0]), tensor_type(g, a[1])) {
            (Some(x), Some(y)) => x.dtype == y.dtype && same_quant(&x.quant, &y.quant),
            _ => false,
        },
        doc: "both are quantized with the same element type and bit-identical parameters",
    },
    Condition {
        name: "zero_point_is_min",
        arity: 1,
        check: |g, a| {
            tensor_type(g, a[0]).is_some_and(|t| match &t.quant {
                Some(q) => q.zero_point.iter().all(|&z| z as i64 == q.storage_range(t.dtype).0),
                None => false,
            })
        },
        doc: "every zero point is the storage minimum, so quantizing saturates negatives to real 0",
    },
    Condition {
        name: "is_const",
        arity: 1,
        check: |g, a| g[a[0]].data.konst.is_some(),
        doc: "the class is a constant",
    },
    Condition {
        name: "is_float_const",
        arity: 1,
        check: |g, a| const_tensor(g, a[0]).is_some_and(|t| t.dtype() == DType::F32),
        doc: "the class is an f32 constant",
    },
    Condition {
        name: "single_use",
        arity: 1,
        check: |g, a| g[a[0]].data.uses <= 1 && !g[a[0]].data.is_output,
        doc: "the value had at most one user and is not a graph output",
    },
    Condition {
        name: "operand_single_use",
        arity: 1,
        check: |g, a| {
            g[a[0]].nodes.iter().all(|n| {
                egg::Language::children(n)
                    .iter()
                    .all(|&c| g[c].data.uses <= 1 && !g[c].data.is_output)
            })
        },
        doc: "every operand of every node of the class (use ?matched) has at most one user and is not a graph output",
    },
    Condition {
        name: "per_tensor",
        arity: 1,
        check: |g, a| tensor_type(g, a[0]).is_some_and(|t| t.quant.as_ref().is_some_and(QParams::is_per_tensor)),
        doc: "quantized with one scale and zero point",
    },
    Condition {
        name: "per_tensor_8bit",
        arity: 1,
        check: |g, a| {
            tensor_type(g, a[0]).is_some_and(|t| {
                t.dtype.size() == 1 && t.quant.as_ref().is_some_and(QParams::is_per_tensor)
            })
        },
        doc: "8-bit storage quantized with one scale and zero point",
    },
    Condition {
        name: "ort_uint8_group",
        arity: 1,
        check: ort_uint8_group,
        doc: "an activation ONNX Runtime's x86 QDQ fusions accept: uint8, or an int8 QuantizeLinear result that QDQS8ToU8Transformer turns into uint8 (its one DequantizeLinear is its only use and has at most one user)",
    },
    Condition {
        name: "weights_per_axis_ok",
        arity: 2,
        check: weights_ok,
        doc: "weights (arg 1) are per-tensor or per-axis along the output channel of the op (arg 0's attrs or 'matmul')",
    },
    Condition {
        name: "bias_scale_matches",
        arity: 3,
        check: bias_scale_matches,
        doc: "an i32 bias (arg 0) quantized with zero point 0 and scale s_x * s_w[c] (args 1, 2)",
    },
    Condition {
        name: "gemm_beta_is_one",
        arity: 1,
        check: |g, a| {
            leaf_attrs(g, a[0]).is_some_and(|l| matches!(&*l.op, Op::Gemm(ga) if ga.beta == 1.0))
        },
        doc: "a gemm whose bias is added unscaled",
    },
    Condition {
        name: "clip_within_range",
        arity: 2,
        check: clip_within_range,
        doc: "the integer clip (arg 0) of the quantized value arg 1 covers its whole storage range",
    },
    Condition {
        name: "avgpool_foldable",
        arity: 1,
        check: |g, a| {
            leaf_attrs(g, a[0]).is_some_and(|l| match &*l.op {
                Op::AvgPool(p) => {
                    p.dilations.iter().all(|&d| d == 1) && !(p.ceil_mode && p.count_include_pad)
                }
                _ => false,
            })
        },
        doc: "an avgpool without dilation, and not ceil_mode with count_include_pad",
    },
    Condition {
        name: "perms_cancel",
        arity: 2,
        check: |g, a| composed_perm(g, a[0], a[1]).is_some_and(|p| p.iter().enumerate().all(|(i, &d)| i == d)),
        doc: "transpose attrs arg 0 applied after transpose attrs arg 1 is the identity",
    },
    Condition {
        name: "clip_is_static",
        arity: 1,
        check: |g, a| leaf_attrs(g, a[0]).is_some_and(|l| matches!(&*l.op, Op::Clip { .. })),
        doc: "a clip with compile-time bounds",
    },
];

/// Every computation rule files may use.
pub static COMPUTATIONS: &[Compute] = &[
    Compute {
        name: "quantize_bias",
        arity: 3,
        run: quantize_bias,
        doc: "an f32 bias (arg 0) as i32 on the grid s_x * s_w[c] of the input (arg 1) and weights (arg 2)",
        builds: &[],
    },
    Compute {
        name: "bn_fold_weights",
        arity: 4,
        run: bn_fold_weights,
        doc: "conv weights (arg 1) scaled per output channel by g / sqrt(var + eps) (batchnorm attrs arg 0, g arg 2, var arg 3); quantized weights keep their integers and take the scale",
        builds: &[],
    },
    Compute {
        name: "bn_fold_bias",
        arity: 6,
        run: bn_fold_bias,
        doc: "the f32 bias (b - mean) * g / sqrt(var + eps) + beta (attrs, b, g, beta, mean, var; b may be absent)",
        builds: &[],
    },
    Compute {
        name: "lookup_table",
        arity: 2,
        run: super::lut::lookup_table,
        doc: "the table of quantize(f(dequantize(v))) for every stored value v of the 8-bit arg 1, where arg 0 (?matched) is quantize(f(dequantize(arg 1), constants...)); one table per channel for batchnorm",
        builds: &[],
    },
    Compute {
        name: "concat_on_integers",
        arity: 2,
        run: concat_on_integers,
        doc: "(concat ?a (requantize ?ti ?xi) ...) for arg 0 (?matched) = quantize(concat(dequantize(?x1), ...)) with any number of inputs, each ?ti being ?xi's shape with the quantize's parameters; arg 1 is the concat",
        builds: &["concat", "requantize"],
    },
    Compute {
        name: "product_table",
        arity: 2,
        run: super::lut::product_table,
        doc: "the table of qmul(v, lut(v)) for every stored value v of the 8-bit arg 1, where arg 0 (?matched) is qmul of arg 1 and a 256-entry lut of arg 1 (either order)",
        builds: &[],
    },
    Compute {
        name: "with_qparams_of",
        arity: 2,
        run: with_qparams_of,
        doc: "a type leaf: the shape of arg 0 with the element type and quantization parameters of arg 1 (a type leaf)",
        builds: &[],
    },
    Compute {
        name: "relu_on_grid",
        arity: 1,
        run: relu_on_grid,
        doc: "the integer clip [z, qmax] that relu is on the per-tensor grid of the type leaf arg 0",
        builds: &[],
    },
    Compute {
        name: "fuse_clamp",
        arity: 2,
        run: fuse_clamp,
        doc: "the qconv or qgemm of class arg 1 with its output clamp narrowed by the integer clip attrs arg 0",
        builds: &[],
    },
    Compute {
        name: "merged_clamp_qparams",
        arity: 2,
        run: merged_clamp_qparams,
        doc: "the type leaf arg 0 with parameters recomputed for its range narrowed by the relu or clip attrs arg 1 (asymmetric, or symmetric when the zero point is 0 on a signed type)",
        builds: &[],
    },
    Compute {
        name: "pad_on_grid",
        arity: 2,
        run: pad_on_grid,
        doc: "the pad attrs arg 0 with its fill value replaced by its stored integer on the per-tensor grid of arg 1, if that integer dequantizes exactly to the fill value",
        builds: &[],
    },
    Compute {
        name: "compose_perms",
        arity: 2,
        run: |g, a| {
            let perm = composed_perm(g, a[0], a[1])?;
            Some(g.add(QNode::Attrs(AttrLeaf::new(Op::Transpose { perm }, 1))))
        },
        doc: "the transpose attrs of transpose arg 0 applied after transpose arg 1",
        builds: &[],
    },
    Compute {
        name: "clip_on_grid",
        arity: 2,
        run: clip_on_grid,
        doc: "the float clip bounds (arg 0) quantized onto the grid of arg 1, as integer clip attributes",
        builds: &[],
    },
];

/// Looks up a condition.
pub fn condition(name: &str) -> Option<&'static Condition> {
    CONDITIONS.iter().find(|c| c.name == name)
}

/// Looks up a computation.
pub fn compute(name: &str) -> Option<&'static Compute> {
    COMPUTATIONS.iter().find(|c| c.name == name)
}

/// Names of all conditions.
pub fn condition_names() -> Vec<&'static str> {
    CONDITIONS.iter().map(|c| c.name).collect()
}

/// Names of all computations.
pub fn compute_names() -> Vec<&'static str> {
    COMPUTATIONS.iter().map(|c| c.name).collect()
}

/// The tensor type of a value class or a type leaf.
/// ONNX Runtime fuses a DQ -> op -> Q group into its integer kernel on x86 only when its
/// activations are uint8 (`QDQIsInt8Allowed()` is false there). An int8 activation
/// becomes uint8 (zero point + 128) when `QDQS8ToU8Transformer` converts its
/// QuantizeLinear -> DequantizeLinear pair, which it does only when the Q result has one
/// edge to one DQ; `EnsureUniqueDQForNodeUnit` gives every user of a shared DQ its own copy
/// first, so a DQ with two users leaves the activation int8 and every group reading or
/// writing it runs in float (as `-O0` does). (A DQ that is a graph output still counts as
/// the Q's one edge.)
fn ort_uint8_group(g: &QEGraph, a: &[Id]) -> bool {
    let x = a[0];
    match tensor_type(g, x).map(|t| t.dtype) {
        Some(DType::U8) => true,
        Some(DType::I8) => {
            let produced_by_q = g[x]
                .nodes
                .iter()
                .any(|n| matches!(n, QNode::Op(s, _) if s.as_str() == "quantize"));
            let dq_parents: Vec<Id> = g[x]
                .parents()
                .filter(|&p| {
                    g[p].nodes.iter().any(|n| {
                        matches!(n, QNode::Op(s, ch)
                            if s.as_str() == "dequantize" && ch.len() == 1 && g.find(ch[0]) == g.find(x))
                    })
                })
                .collect();
            produced_by_q
                && g[x].data.uses == 1
                && !g[x].data.is_output
                && dq_parents.len() == 1
                && g[dq_parents[0]].data.uses <= 1
        }
        _ => false,
    }
}

pub fn tensor_type(g: &QEGraph, id: Id) -> Option<TensorType> {
    g[id].data.tensor().cloned().or_else(|| leaf_type(g, id))
}

fn same_quant(a: &Option<QParams>, b: &Option<QParams>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => x.same_as(y),
        _ => false,
    }
}

/// The constant tensor of a constant class.
fn const_tensor(g: &QEGraph, id: Id) -> Option<Arc<Tensor>> {
    let k = g[id].data.konst?;
    Some(g.analysis.consts[k as usize].data.clone())
}

fn weights_ok(g: &QEGraph, a: &[Id]) -> bool {
    let Some(w) = tensor_type(g, a[1]) else {
        return false;
    };
    let Some(q) = &w.quant else { return false };
    let want = match leaf_attrs(g, a[0]).map(|l| (*l.op).clone()) {
        Some(Op::Conv(_)) => 0,
        Some(Op::Gemm(ga)) => usize::from(!ga.trans_b),
        _ => w.rank().saturating_sub(1),
    };
    q.axis.is_none_or(|ax| ax == want)
}

/// Per-output-channel products `s_x * s_w[c]` (f32, as ONNX Runtime computes them).
fn scale_products(x: &TensorType, w: &TensorType, n: usize) -> Option<Vec<f32>> {
    let (qx, qw) = (x.quant.as_ref()?, w.quant.as_ref()?);
    if !qx.is_per_tensor() {
        return None;
    }
    let sx = qx.scale[0];
    Some(
        (0..n)
            .map(|c| {
                sx * if qw.is_per_tensor() {
                    qw.scale[0]
                } else {
                    *qw.scale.get(c).unwrap_or(&f32::NAN)
                }
            })
            .collect(),
    )
}

fn bias_scale_matches(g: &QEGraph, a: &[Id]) -> bool {
    let (Some(b), Some(x), Some(w)) = (
        tensor_type(g, a[0]),
        tensor_type(g, a[1]),
        tensor_type(g, a[2]),
    ) else {
        return false;
    };
    let Some(qb) = &b.quant else { return false };
    if b.dtype != DType::I32 || b.rank() != 1 || qb.zero_point.iter().any(|&z| z != 0) {
        return false;
    }
    let Some(n) = b.shape[0].fixed() else {
        return false;
    };
    let Some(want) = scale_products(&x, &w, n) else {
        return false;
    };
    (0..n).all(|c| {
        let s = qb.get(c).0;
        (s - want[c]).abs() <= 1e-6 * want[c].abs()
    })
}

fn quantize_bias(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let bias = const_tensor(g, a[0])?;
    let (x, w) = (tensor_type(g, a[1])?, tensor_type(g, a[2])?);
    let vals = bias.as_slice::<f32>()?;
    if bias.shape.len() != 1 {
        return None;
    }
    let scales = scale_products(&x, &w, vals.len())?;
    let q: Vec<i32> = vals
        .iter()
        .zip(&scales)
        .map(|(&b, &s)| round_half_even(b / s).clamp(i32::MIN as f32, i32::MAX as f32) as i32)
        .collect();
    let ty = TensorType::new(DType::I32, &[vals.len()]).quantized(QParams::per_axis(
        scales.clone(),
        vec![0; scales.len()],
        0,
    ));
    let data = Tensor::new(vec![vals.len()], Data::I32(q));
    let name = format!("{}.q", g.analysis.consts[g[a[0]].data.konst? as usize].name);
    let k = g.analysis.add_const(Constant {
        name,
        ty,
        data: Arc::new(data),
    });
    Some(g.add(QNode::Const(k)))
}

/// `(lo, hi, qmin, qmax)`: a static clip's bounds on the grid of `grid`, and its storage range.
fn int_clip(g: &QEGraph, attrs: Id, grid: Id) -> Option<(i64, i64, i64, i64)> {
    let leaf = leaf_attrs(g, attrs)?;
    let Op::Clip { min, max } = &*leaf.op else {
        return None;
    };
    let t = tensor_type(g, grid)?;
    let q = t.quant.as_ref().filter(|q| q.is_per_tensor())?;
    let (qmin, qmax) = q.storage_range(t.dtype);
    // The interpreter's float clip compares with the bound as f32; quantize divides in f32.
    let mode = g.analysis.shadow.requant;
    let on_grid = |v: f64| -> i64 {
        quantize_f32_mode(
            mode,
            v as f32,
            q.scale[0],
            q.zero_point[0] as i64,
            qmin - 1,
            qmax + 1,
        )
    };
    let lo = min.map_or(qmin, on_grid);
    let hi = max.map_or(qmax, on_grid);
    Some((lo, hi, qmin, qmax))
}

fn clip_within_range(g: &QEGraph, a: &[Id]) -> bool {
    let (Some(leaf), Some(t)) = (leaf_attrs(g, a[0]), tensor_type(g, a[1])) else {
        return false;
    };
    let (Op::Clip { min, max }, Some(q)) = (&*leaf.op, &t.quant) else {
        return false;
    };
    let (qmin, qmax) = q.storage_range(t.dtype);
    min.is_none_or(|m| m <= qmin as f64) && max.is_none_or(|m| m >= qmax as f64)
}

fn clip_on_grid(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let (lo, hi, qmin, qmax) = int_clip(g, a[0], a[1])?;
    let (lo, hi) = (lo.clamp(qmin, qmax), hi.clamp(qmin, qmax));
    let op = Op::Clip {
        min: Some(lo as f64),
        max: Some(hi as f64),
    };
    Some(g.add(QNode::Attrs(AttrLeaf::new(op, 1))))
}

/// quantization.md's clamp merge: `new_min = max(lo, min)`, `new_max = min(hi, max)`;
/// asymmetric parameters from [new_min, new_max] (widened to include 0), or symmetric
/// `amax / ((qmax - qmin) / 2)` with zero point 0 when the old parameters were symmetric.
fn merged_clamp_qparams(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let t = leaf_type(g, a[0])?;
    let q = t.quant.as_ref().filter(|q| q.is_per_tensor())?;
    let (qmin, qmax) = q.storage_range(t.dtype);
    let (s, z) = (q.scale[0] as f64, q.zero_point[0] as f64);
    let (min, max) = ((qmin as f64 - z) * s, (qmax as f64 - z) * s);
    // arg 1 is a clip's attribute leaf, or the relu's operand (no leaf): relu is [0, inf).
    let (lo, hi) = match leaf_attrs(g, a[1]).map(|l| (*l.op).clone()) {
        Some(Op::Clip { min, max }) => (
            min.unwrap_or(f64::NEG_INFINITY),
            max.unwrap_or(f64::INFINITY),
        ),
        Some(_) => return None,
        None => (0.0, f64::INFINITY),
    };
    // The new range must contain real 0; a clamp that excludes 0 must stay.
    if lo > 0.0 || hi < 0.0 {
        return None;
    }
    let (new_min, new_max) = (lo.max(min), hi.min(max));
    if new_min <= min && new_max >= max {
        return None; // nothing to gain
    }
    let symmetric = z == 0.0 && qmin < 0;
    let (ns, nz) = if symmetric {
        let amax = new_min.abs().max(new_max.abs());
        (amax / ((qmax - qmin) as f64 / 2.0), 0)
    } else {
        let ns = (new_max - new_min) / (qmax - qmin) as f64;
        let nz = qcc_ir::quant::round_half_even_f64(qmin as f64 - new_min / ns) as i64;
        (ns, nz.clamp(qmin, qmax))
    };
    let ns = ns as f32;
    if !(ns.is_finite() && ns > 0.0) {
        return None;
    }
    let mut nq = QParams::per_tensor(ns, nz as i32);
    nq.narrow = q.narrow;
    Some(type_leaf(
        g,
        TensorType {
            quant: Some(nq),
            ..t
        },
    ))
}

/// `outer(inner(x))` as one permutation: output dim `i` reads input dim `inner[outer[i]]`.
fn composed_perm(g: &QEGraph, outer: Id, inner: Id) -> Option<Vec<usize>> {
    let perm = |id: Id| match &*leaf_attrs(g, id)?.op {
        Op::Transpose { perm } if !perm.is_empty() => Some(perm.clone()),
        _ => None,
    };
    let (o, i) = (perm(outer)?, perm(inner)?);
    if o.len() != i.len() || o.iter().any(|&d| d >= i.len()) {
        return None;
    }
    Some(o.iter().map(|&d| i[d]).collect())
}

fn pad_on_grid(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let leaf = leaf_attrs(g, a[0])?;
    let Op::Pad { mode, pads, value } = &*leaf.op else {
        return None;
    };
    let t = tensor_type(g, a[1])?;
    let q = t.quant.as_ref().filter(|q| q.is_per_tensor())?;
    let (qmin, qmax) = q.storage_range(t.dtype);
    let (s, z) = (q.scale[0], q.zero_point[0] as i64);
    let fill = *value as f32;
    let stored = quantize_f32_mode(g.analysis.shadow.requant, fill, s, z, qmin, qmax);
    if qcc_ir::quant::dequantize_f32(stored, s, z) != fill {
        return None;
    }
    let op = Op::Pad {
        mode: *mode,
        pads: pads.clone(),
        value: stored as f64,
    };
    Some(g.add(QNode::Attrs(AttrLeaf::new(op, 1))))
}

fn relu_on_grid(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let t = leaf_type(g, a[0])?;
    let q = t.quant.as_ref().filter(|q| q.is_per_tensor())?;
    let (qmin, qmax) = q.storage_range(t.dtype);
    let z = (q.zero_point[0] as i64).clamp(qmin, qmax);
    let op = Op::Clip {
        min: Some(z as f64),
        max: Some(qmax as f64),
    };
    Some(g.add(QNode::Attrs(AttrLeaf::new(op, 1))))
}

fn fuse_clamp(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let leaf = leaf_attrs(g, a[0])?;
    let Op::Clip { min, max } = &*leaf.op else {
        return None;
    };
    let lo = min.map_or(i64::MIN, |v| v.ceil() as i64);
    let hi = max.map_or(i64::MAX, |v| v.floor() as i64);
    let t = tensor_type(g, a[1])?;
    let (qmin, qmax) = t.quant.as_ref()?.storage_range(t.dtype);
    let (node, attrs) = g[a[1]].nodes.iter().find_map(|n| match n {
        QNode::Op(s, ch) if matches!(s.as_str(), "qconv" | "qgemm") && ch.len() == 5 => {
            Some((n.clone(), leaf_attrs(g, ch[1])?))
        }
        _ => None,
    })?;
    let narrow = |c: qcc_ir::Clamp| {
        let (l, h) = c.and(lo, hi).bounds(qmin, qmax);
        (l <= h).then(|| qcc_ir::Clamp(((l, h) != (qmin, qmax)).then_some((l, h))))
    };
    // A qconv built by a rule may still carry the float conv's attribute leaf.
    let op = match &*attrs.op {
        Op::QConv(c, k) => Op::QConv(c.clone(), narrow(*k)?),
        Op::Conv(c) => Op::QConv(c.clone(), narrow(qcc_ir::Clamp::default())?),
        Op::QGemm(c, k) => Op::QGemm(c.clone(), narrow(*k)?),
        Op::Gemm(c) => Op::QGemm(c.clone(), narrow(qcc_ir::Clamp::default())?),
        _ => return None,
    };
    let QNode::Op(sym, mut ch) = node else {
        return None;
    };
    ch[1] = g.add(QNode::Attrs(AttrLeaf::new(op, 1)));
    Some(g.add(QNode::Op(sym, ch)))
}

fn with_qparams_of(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let x = tensor_type(g, a[0])?;
    let t = leaf_type(g, a[1])?;
    Some(type_leaf(
        g,
        TensorType {
            shape: x.shape,
            ..t
        },
    ))
}

/// Adds a type leaf (used by computations that choose new parameters).
pub(crate) fn type_leaf(g: &mut QEGraph, t: TensorType) -> Id {
    g.add(QNode::Type(TypeLeaf::new(t)))
}

/// Real values of a constant class: f32 data, or quantized integers dequantized with their
/// type's parameters, or a `dequantize` of such a constant.
fn real_values(g: &QEGraph, id: Id) -> Option<Vec<f32>> {
    if let Some(t) = const_tensor(g, id) {
        let ty = tensor_type(g, id)?;
        return match (&ty.quant, t.as_slice::<f32>()) {
            (None, Some(v)) => Some(v.to_vec()),
            (Some(q), _) => {
                let ints = t.data.to_i64_vec();
                let inner: usize = match q.axis {
                    Some(ax) => t.shape[ax + 1..].iter().product(),
                    None => 1,
                };
                let n = q.scale.len();
                Some(
                    ints.iter()
                        .enumerate()
                        .map(|(i, &v)| {
                            let (s, z) = q.get((i / inner.max(1)) % n.max(1));
                            (v - z as i64) as f32 * s
                        })
                        .collect(),
                )
            }
            _ => None,
        };
    }
    // (dequantize c) of a quantized constant.
    g[id].nodes.iter().find_map(|n| match n {
        QNode::Op(s, ch)
            if s.as_str() == "dequantize" && ch.len() == 1 && g[ch[0]].data.konst.is_some() =>
        {
            real_values(g, ch[0])
        }
        _ => None,
    })
}

/// `g / sqrt(var + eps)` per channel.
fn bn_factors(g: &QEGraph, attrs: Id, gamma: Id, var: Id) -> Option<Vec<f32>> {
    let leaf = leaf_attrs(g, attrs)?;
    let Op::BatchNorm {
        epsilon,
        training: false,
        ..
    } = &*leaf.op
    else {
        return None;
    };
    let (gm, v) = (real_values(g, gamma)?, real_values(g, var)?);
    (gm.len() == v.len()).then(|| {
        gm.iter()
            .zip(&v)
            .map(|(g, v)| g / (v + epsilon).sqrt())
            .collect()
    })
}

fn add_named_const(g: &mut QEGraph, name: String, ty: TensorType, data: Tensor) -> Id {
    let k = g.analysis.add_const(Constant {
        name,
        ty,
        data: Arc::new(data),
    });
    g.add(QNode::Const(k))
}

fn bn_fold_weights(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let k = bn_factors(g, a[0], a[2], a[3])?;
    let w = const_tensor(g, a[1])?;
    let wty = tensor_type(g, a[1])?;
    let c = *w.shape.first()?;
    if c != k.len() || c == 0 {
        return None;
    }
    let per = w.len() / c;
    let base = g.analysis.consts[g[a[1]].data.konst? as usize].name.clone();
    match &wty.quant {
        None => {
            let v = w.as_slice::<f32>()?;
            let out: Vec<f32> = v.iter().enumerate().map(|(i, x)| x * k[i / per]).collect();
            Some(add_named_const(
                g,
                format!("{base}.bn"),
                wty.clone(),
                Tensor::new(w.shape.clone(), Data::F32(out)),
            ))
        }
        Some(q) if q.axis.is_none_or(|ax| ax == 0) && q.zero_point.iter().all(|&z| z == 0) => {
            // Symmetric weights keep their integers; the scale absorbs |k| and a negative k
            // flips the sign of the channel's integers (saturating, so -128 becomes 127).
            let (lo, hi) = q.storage_range(wty.dtype);
            let ints = w.data.to_i64_vec();
            let out: Vec<i64> = ints
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if k[i / per] < 0.0 {
                        (-v).clamp(lo, hi)
                    } else {
                        v
                    }
                })
                .collect();
            let scales: Vec<f32> = (0..c).map(|ch| q.get(ch).0 * k[ch].abs()).collect();
            if scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
                return None;
            }
            let mut nq = QParams::per_axis(scales, vec![0; c], 0);
            nq.narrow = q.narrow;
            let ty = TensorType {
                quant: Some(nq),
                ..wty.clone()
            };
            Some(add_named_const(
                g,
                format!("{base}.bn"),
                ty,
                Tensor::new(w.shape.clone(), Data::from_i64(wty.dtype, &out)),
            ))
        }
        Some(_) => None,
    }
}

fn bn_fold_bias(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let k = bn_factors(g, a[0], a[2], a[5])?;
    let absent = g[a[1]].nodes.iter().any(|n| matches!(n, QNode::Absent));
    let b = if absent {
        vec![0.0; k.len()]
    } else {
        real_values(g, a[1])?
    };
    let (beta, mean) = (real_values(g, a[3])?, real_values(g, a[4])?);
    if b.len() != k.len() || beta.len() != k.len() || mean.len() != k.len() {
        return None;
    }
    let out: Vec<f32> = (0..k.len())
        .map(|c| (b[c] - mean[c]) * k[c] + beta[c])
        .collect();
    let n = out.len();
    Some(add_named_const(
        g,
        "bn_folded_bias".into(),
        TensorType::new(DType::F32, &[n]),
        Tensor::new(vec![n], Data::F32(out)),
    ))
}

/// The operand of every `dequantize` node of class `c` (one per node; the first found).
fn dequantized(g: &QEGraph, c: Id) -> Option<Id> {
    g[c].nodes.iter().find_map(|n| match n {
        QNode::Op(s, ch) if s.as_str() == "dequantize" && ch.len() == 1 => Some(ch[0]),
        _ => None,
    })
}

/// `concat_on_integers(?matched, ?c)`: the right-hand side of `concat-on-integers` for any
/// number of inputs: `(concat ?a (requantize ?t1 ?x1) ...)` where
/// `?matched` is `quantize ?t ?c` with a per-tensor `?t` and `?c` is
/// `concat ?a (dequantize ?x1) ...`.
fn concat_on_integers(g: &mut QEGraph, a: &[Id]) -> Option<Id> {
    let (root, c) = (a[0], g.find(a[1]));
    let t = g[root].nodes.iter().find_map(|n| match n {
        QNode::Op(s, ch) if s.as_str() == "quantize" && ch.len() == 2 && g.find(ch[1]) == c => {
            leaf_type(g, ch[0])
        }
        _ => None,
    })?;
    if !t.quant.as_ref()?.is_per_tensor() {
        return None;
    }
    let (attrs, xs) = g[c].nodes.iter().find_map(|n| match n {
        QNode::Op(s, ch) if s.as_str() == "concat" && ch.len() >= 2 => {
            let xs: Option<Vec<Id>> = ch[1..].iter().map(|&k| dequantized(g, k)).collect();
            Some((ch[0], xs?))
        }
        _ => None,
    })?;
    let mut children = vec![attrs];
    for x in xs {
        let xt = tensor_type(g, x)?;
        let ty = type_leaf(
            g,
            TensorType {
                shape: xt.shape,
                ..t.clone()
            },
        );
        children.push(g.add(QNode::Op(egg::Symbol::from("requantize"), vec![ty, x])));
    }
    Some(g.add(QNode::Op(egg::Symbol::from("concat"), children)))
}
