//! The verifier: structural, SSA and type checks run after lowering (and after every pass
//! in debug builds).
//!
//! It checks that
//! * every value is defined exactly once (a graph input or one node result) and every use
//!   comes after its definition (nodes are in topological order; a cycle is reported as such);
//! * constants referenced by `const` exist and the node's type is the constant's type;
//! * every type is well formed: quantization only on integer storage, scales finite and
//!   positive, zero points inside the storage range, per-axis lengths matching the axis dim;
//! * each op has a legal operand count and the quantized ops see quantized operands;
//! * declared result types agree with [`crate::infer`] (shapes, element types, inherited qparams).

use crate::{
    infer, DType, Dim, Error, Module, Node, Op, QParams, RequantMode, Result, TensorType, ValueId,
};
use petgraph::graph::DiGraph;

fn fail<T>(msg: String) -> Result<T> {
    Err(Error::Verify(msg))
}

/// Verifies `module`; the error names the offending node and op.
pub fn verify_module(module: &Module) -> Result<()> {
    let g = &module.graph;
    let nvals = g.values.len();
    let mut defined = vec![false; nvals];
    let check_id = |v: ValueId, what: &str| -> Result<()> {
        if (v.0 as usize) < nvals {
            Ok(())
        } else {
            fail(format!(
                "{what} refers to value #{} which does not exist",
                v.0
            ))
        }
    };
    for (i, c) in module.consts.iter().enumerate() {
        check_type(&c.ty).map_err(|m| Error::Verify(format!("constant @{} : {m}", c.name)))?;
        let dims = c.ty.fixed_dims();
        if dims.as_deref() != Some(&c.data.shape[..]) || c.ty.dtype != c.data.dtype() {
            return fail(format!(
                "constant #{i} @{}: type {:?}x{} does not match its data {:?}x{}",
                c.name,
                c.ty.shape,
                c.ty.dtype,
                c.data.shape,
                c.data.dtype()
            ));
        }
    }
    for &v in &g.inputs {
        check_id(v, "graph input")?;
        if std::mem::replace(&mut defined[v.0 as usize], true) {
            return fail(format!("graph input %{} is listed twice", g.value(v).name));
        }
        check_type(g.ty(v))
            .map_err(|m| Error::Verify(format!("graph input %{}: {m}", g.value(v).name)))?;
    }
    for node in &g.nodes {
        let here = |msg: String| {
            Error::Verify(format!("node '{}' ({}): {msg}", node.name, node.op.name()))
        };
        for &v in &node.inputs {
            check_id(v, &format!("node '{}'", node.name))?;
            if !defined[v.0 as usize] {
                return Err(if has_cycle(module) {
                    here(format!(
                        "the graph has a cycle through value %{}",
                        g.value(v).name
                    ))
                } else {
                    here(format!(
                        "operand %{} is used before it is defined",
                        g.value(v).name
                    ))
                });
            }
        }
        for &v in &node.outputs {
            check_id(v, &format!("node '{}'", node.name))?;
            if std::mem::replace(&mut defined[v.0 as usize], true) {
                return Err(here(format!("value %{} is defined twice", g.value(v).name)));
            }
            check_type(g.ty(v)).map_err(|m| here(format!("result %{}: {m}", g.value(v).name)))?;
        }
        check_node(module, node).map_err(here)?;
    }
    for &v in &g.outputs {
        check_id(v, "graph output")?;
        if !defined[v.0 as usize] {
            return fail(format!(
                "graph output %{} is never defined",
                g.value(v).name
            ));
        }
    }
    Ok(())
}

/// True when the node dependency graph has a cycle (petgraph's cycle check).
fn has_cycle(module: &Module) -> bool {
    let g = &module.graph;
    let mut producer = vec![None; g.values.len()];
    let mut dg = DiGraph::<usize, ()>::new();
    let idx: Vec<_> = (0..g.nodes.len()).map(|i| dg.add_node(i)).collect();
    for (i, n) in g.nodes.iter().enumerate() {
        for &o in &n.outputs {
            if let Some(p) = producer.get_mut(o.0 as usize) {
                *p = Some(i);
            }
        }
    }
    for (i, n) in g.nodes.iter().enumerate() {
        for &v in &n.inputs {
            if let Some(Some(p)) = producer.get(v.0 as usize) {
                dg.add_edge(idx[*p], idx[i], ());
            }
        }
    }
    petgraph::algo::is_cyclic_directed(&dg)
}

/// Checks that a type is well formed.
pub fn check_type(t: &TensorType) -> std::result::Result<(), String> {
    let Some(q) = &t.quant else { return Ok(()) };
    if !t.dtype.is_quantizable() {
        return Err(format!("quantization parameters on a {} tensor", t.dtype));
    }
    check_qparams(q, t)
}

fn check_qparams(q: &QParams, t: &TensorType) -> std::result::Result<(), String> {
    if q.scale.is_empty() || q.scale.len() != q.zero_point.len() {
        return Err(format!(
            "{} scales and {} zero points",
            q.scale.len(),
            q.zero_point.len()
        ));
    }
    if let Some(s) = q.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!("scale {s} is not a positive finite number"));
    }
    let (lo, hi) = q.storage_range(t.dtype);
    if let Some(z) = q
        .zero_point
        .iter()
        .find(|&&z| (z as i64) < lo || (z as i64) > hi)
    {
        return Err(format!(
            "zero point {z} outside the {} range [{lo}, {hi}]",
            t.dtype
        ));
    }
    match q.axis {
        None if q.scale.len() != 1 => {
            Err(format!("{} scales but no quantized axis", q.scale.len()))
        }
        Some(a) if a >= t.rank() => Err(format!(
            "quantized axis {a} out of range for rank {}",
            t.rank()
        )),
        Some(a) => match &t.shape[a] {
            Dim::Fixed(n) if *n != q.scale.len() => Err(format!(
                "{} per-axis scales for axis {a} of size {n}",
                q.scale.len()
            )),
            _ => Ok(()),
        },
        None => Ok(()),
    }
}

fn check_node(module: &Module, node: &Node) -> std::result::Result<(), String> {
    let g = &module.graph;
    let (lo, hi) = infer::operand_range(&node.op);
    if node.inputs.len() < lo || node.inputs.len() > hi {
        return Err(format!(
            "{} operands, expected {}",
            node.inputs.len(),
            if lo == hi {
                lo.to_string()
            } else if hi == usize::MAX {
                format!("at least {lo}")
            } else {
                format!("{lo} to {hi}")
            }
        ));
    }
    if node.outputs.is_empty() {
        return Err("no results".into());
    }
    let ins: Vec<&TensorType> = node.inputs.iter().map(|&v| g.ty(v)).collect();
    let outs: Vec<&TensorType> = node.outputs.iter().map(|&v| g.ty(v)).collect();
    let quantized = |t: &TensorType| t.quant.is_some();
    match &node.op {
        Op::Const(c) => {
            let Some(k) = module.consts.get(c.0 as usize) else {
                return Err(format!("constant #{} does not exist", c.0));
            };
            if outs[0] != &k.ty {
                return Err(format!(
                    "result type differs from constant @{}'s type",
                    k.name
                ));
            }
        }
        Op::Quantize if !ins[0].dtype.is_float() || !quantized(outs[0]) => {
            return Err("quantize needs a float operand and a quantized result type".into())
        }
        Op::Dequantize if !quantized(ins[0]) || !outs[0].dtype.is_float() => {
            return Err("dequantize needs a quantized operand and a float result".into())
        }
        Op::Requantize if !quantized(ins[0]) || !quantized(outs[0]) => {
            return Err("requantize needs quantized operand and result types".into())
        }
        Op::QAdd
        | Op::QMul
        | Op::QSub
        | Op::QGlobalAvgPool
        | Op::QAvgPool(_)
        | Op::QSoftmax { .. }
        | Op::QMean { .. }
            if !ins.iter().all(|t| quantized(t)) || !quantized(outs[0]) =>
        {
            return Err("quantized operands and result are required".into());
        }
        Op::Lut => check_lut(&ins, outs[0])?,
        Op::TfliteLstm { .. } => {
            let q_at = [0usize, 1, 2, 3, 4, 5, 6, 7, 8, 13, 14];
            if !q_at
                .iter()
                .all(|&i| ins.get(i).is_some_and(|t| quantized(t)))
                || !quantized(outs[0])
            {
                return Err("tflite_lstm needs quantized input, weights, states and result".into());
            }
        }
        Op::QConv(..) | Op::QMatMul | Op::QGemm(..) | Op::QFullyConnected => {
            if !quantized(ins[0]) || !quantized(ins[1]) {
                return Err("integer op operands must carry quantization parameters".into());
            }
            if let Some(b) = ins.get(2) {
                let i64_ok = b.dtype == DType::I64 && module.requant == RequantMode::FixedPoint;
                if b.dtype != DType::I32 && !i64_ok {
                    return Err(format!(
                        "bias must be i32 (or i64 in fixed-point modules), found {}",
                        b.dtype
                    ));
                }
            }
            let float_out = matches!(node.op, Op::QGemm(..)) && outs[0].dtype.is_float();
            if !quantized(outs[0]) && !float_out {
                return Err("integer op result must carry quantization parameters".into());
            }
        }
        _ => {}
    }
    let shapes = infer::infer_shapes(&node.op, &ins, node.outputs.len(), module)?;
    let dtypes = infer::infer_dtypes(&node.op, &ins, node.outputs.len(), module)?;
    if shapes.len() != outs.len() || dtypes.len() != outs.len() {
        return Err(format!(
            "{} results, the op defines {}",
            outs.len(),
            shapes.len()
        ));
    }
    for (k, ((out, shape), dtype)) in outs.iter().zip(&shapes).zip(&dtypes).enumerate() {
        if !shapes_agree(&out.shape, shape) {
            return Err(format!(
                "result {k} declared with shape {} but the operands give {}",
                fmt_dims(&out.shape),
                fmt_dims(shape)
            ));
        }
        if let Some(dt) = dtype {
            if *dt != out.dtype {
                return Err(format!(
                    "result {k} declared {} but the op produces {dt}",
                    out.dtype
                ));
            }
        }
    }
    for (k, q) in infer::inherited_quant_n(&node.op, &ins, node.outputs.len(), module)
        .iter()
        .enumerate()
    {
        if let (Some(q), Some(out)) = (q, outs.get(k)) {
            match &out.quant {
                Some(oq) if oq.same_as(q) => {}
                _ => {
                    return Err(format!(
                        "result {k} must keep its operand's quantization parameters"
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Declared and inferred shapes agree when ranks match and each dim is equal or either is `?`.
fn shapes_agree(declared: &[Dim], inferred: &[Dim]) -> bool {
    declared.len() == inferred.len()
        && declared
            .iter()
            .zip(inferred)
            .all(|(a, b)| a == b || *a == Dim::Any || *b == Dim::Any)
}

fn fmt_dims(d: &[Dim]) -> String {
    let parts: Vec<String> = d.iter().map(|x| x.to_string()).collect();
    format!("[{}]", parts.join("x"))
}

/// `lut`: an 8-bit per-tensor operand and a `[256]` or `[C, 256]` table of the result's
/// element type (`C` = the operand's dim 1).
fn check_lut(ins: &[&TensorType], out: &TensorType) -> std::result::Result<(), String> {
    let (x, table) = (ins[0], ins[1]);
    let per_tensor = x.quant.as_ref().is_some_and(QParams::is_per_tensor);
    let Some(e) = crate::quant::lut_entries(x.dtype).filter(|_| per_tensor) else {
        return Err("lut needs an 8- or 16-bit operand quantized per tensor".into());
    };
    if out.quant.is_none() || table.dtype != out.dtype {
        return Err(format!(
            "lut table must have the quantized result's element type {}, found {}",
            out.dtype, table.dtype
        ));
    }
    let ok = match table.shape.as_slice() {
        [Dim::Fixed(n)] => *n == e,
        [c, Dim::Fixed(n)] => *n == e && x.shape.get(1) == Some(c),
        _ => false,
    };
    if !ok {
        return Err(format!(
            "lut table must have shape [{e}] or [C, {e}] with C = operand dim 1, found {}",
            crate::text::print_type(table)
        ));
    }
    Ok(())
}
