//! The memory plan: one arena per compiled model, buffers placed by liveness.
//!
//! Every non-constant value gets a byte range in the arena; shape-only ops (reshape,
//! flatten, squeeze, unsqueeze, identity) alias their operand's range. A buffer lives from
//! the node that defines it to its last reader (graph outputs live to the end), and a new
//! buffer takes the lowest free gap among the buffers live at its definition, so a node's
//! operands and results never overlap.

use qcc_ir::{Module, Op};

/// Buffers are aligned to this many bytes (a cache line; plenty for 128-bit loads).
pub const ALIGN: usize = 64;

/// Where a value's bytes live at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// At this byte offset in the arena.
    Arena(usize),
    /// In the module's constant table (`ConstId` index).
    Const(u32),
}

/// The memory plan of one concrete (all dims known) module.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Location of every value, indexed by `ValueId` (None: never defined).
    pub loc: Vec<Option<Loc>>,
    /// Arena size in bytes.
    pub arena_bytes: usize,
    /// Sum of all buffer sizes without reuse (for reporting what liveness saved).
    pub unshared_bytes: usize,
}

/// True for ops whose result is a new view of the operand's bytes.
pub fn is_view(op: &Op) -> bool {
    matches!(
        op,
        Op::Reshape { .. }
            | Op::Flatten { .. }
            | Op::Squeeze { .. }
            | Op::Unsqueeze { .. }
            | Op::Identity
    )
}

/// Byte size of value `v` in a concrete module.
pub fn value_bytes(m: &Module, v: qcc_ir::ValueId) -> Result<usize, String> {
    let val = m.graph.value(v);
    let n = val
        .ty
        .fixed_dims()
        .ok_or_else(|| format!("value '{}' has no fixed shape", val.name))?
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .and_then(|n| n.checked_mul(val.ty.dtype.size()))
        .ok_or_else(|| format!("value '{}' is too large", val.name))?;
    Ok(n)
}

/// Plans the arena for a concrete module (every value type has fixed dims).
pub fn plan(m: &Module) -> Result<Plan, String> {
    plan_with(m, &[])
}

/// Like [`plan`], with some results defined early: `(node, value)` places `value` as if
/// node `node` (an earlier one) wrote it, as a fused epilogue does ([`crate::fuse`]).
pub fn plan_with(m: &Module, early: &[(usize, qcc_ir::ValueId)]) -> Result<Plan, String> {
    let g = &m.graph;
    let nv = g.values.len();
    let nn = g.nodes.len();
    // root[v]: the value whose buffer v uses (itself unless v is a view).
    let mut root: Vec<usize> = (0..nv).collect();
    let mut constant: Vec<Option<u32>> = vec![None; nv];
    let mut def: Vec<Option<usize>> = vec![None; nv];
    for &v in &g.inputs {
        def[v.0 as usize] = Some(0);
    }
    for (i, n) in g.nodes.iter().enumerate() {
        match &n.op {
            Op::Const(c) => {
                if let Some(o) = n.outputs.first() {
                    constant[o.0 as usize] = Some(c.0);
                }
            }
            op if is_view(op) && !n.inputs.is_empty() && n.outputs.len() == 1 => {
                let r = root[n.inputs[0].0 as usize];
                let o = n.outputs[0].0 as usize;
                root[o] = r;
                constant[o] = constant[r];
            }
            _ => {
                for o in &n.outputs {
                    def[o.0 as usize] = Some(i);
                }
            }
        }
    }
    // Last use of every root buffer (node index; nn = the end of the run).
    let mut last: Vec<usize> = vec![0; nv];
    for (i, n) in g.nodes.iter().enumerate() {
        for v in n.inputs.iter().chain(&n.outputs) {
            let r = root[v.0 as usize];
            last[r] = last[r].max(i);
        }
    }
    for v in &g.outputs {
        last[root[v.0 as usize]] = nn;
    }
    // Allocation in definition order: inputs first, then node results.
    let mut order: Vec<(usize, usize)> = Vec::new(); // (def node, value)
    for &v in &g.inputs {
        order.push((0, v.0 as usize));
    }
    for (i, n) in g.nodes.iter().enumerate() {
        for o in &n.outputs {
            let o = o.0 as usize;
            if root[o] == o && constant[o].is_none() && def[o] == Some(i) {
                let d = early
                    .iter()
                    .find(|e| e.1 .0 as usize == o)
                    .map_or(i, |e| e.0.min(i));
                order.push((d, o));
            }
        }
    }
    // Buffers are placed in definition order (a stable sort keeps the rest as it was).
    order.sort_by_key(|&(d, _)| d);
    let mut live: Vec<(usize, usize, usize)> = Vec::new(); // (offset, size, last use)
    let mut offset_of: Vec<Option<usize>> = vec![None; nv];
    let mut arena = 0usize;
    let mut unshared = 0usize;
    for (d, v) in order {
        live.retain(|&(_, _, l)| l >= d);
        let size = value_bytes(m, qcc_ir::ValueId(v as u32))?.max(1);
        let size = size.div_ceil(ALIGN) * ALIGN;
        unshared += size;
        live.sort_unstable();
        let mut off = 0usize;
        for &(o, s, _) in &live {
            if off + size <= o {
                break;
            }
            off = off.max(o + s);
        }
        live.push((off, size, last[v].max(d)));
        arena = arena.max(off + size);
        offset_of[v] = Some(off);
    }
    let loc = (0..nv)
        .map(|v| match constant[v] {
            Some(c) => Some(Loc::Const(c)),
            None => offset_of[root[v]].map(Loc::Arena),
        })
        .collect();
    Ok(Plan {
        loc,
        arena_bytes: arena,
        unshared_bytes: unshared,
    })
}
