//! Data-movement ops (transpose, slice, pad, concat, split, nearest resize, expand, gather
//! with constant indices) as block copies.
//!
//! The op's meaning is taken from the interpreter itself: at compile time it runs on
//! *index tensors* (each input holding its elements' global positions, a pad filling with
//! -1), so every result element names the input element it comes from, or the fill. That
//! map is cut into the longest equal blocks `L` in which consecutive results read
//! consecutive elements of one input (a concat along channels at batch 1 is one block per
//! input; a transpose that keeps the innermost dim copies whole rows), and the kernel
//! copies each block with 16-byte moves from a table of source offsets. Every offset is
//! checked against its buffer at compile time, whatever the op's parameters.

use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use crate::plan::Loc;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::{Data, Op, PadMode, Tensor};

/// Largest number of elements whose index map is built at compile time.
const MAX_ELEMS: usize = 1 << 22;
/// Up to this many blocks are copied by straight-line code (no table).
const UNROLL_BLOCKS: usize = 16;

/// One result: `blocks` copies of `block` bytes, block `b` to `y + b * block`.
struct Out {
    y: Addr,
    block: usize,
    /// Arena byte offset of each block's source, -1 for the fill.
    srcs: Vec<i64>,
    /// The offsets as i32 in the pool (more than [`UNROLL_BLOCKS`] blocks).
    table: Option<Addr>,
}

struct Gather {
    outs: Vec<Out>,
    /// The fill element's bytes repeated to 16 (pads only).
    fill: Option<Addr>,
}

/// True for the ops whose results only move input elements (any dtype).
fn moves_elements(op: &Op) -> bool {
    matches!(
        op,
        Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::Pad { .. }
            | Op::Concat { .. }
            | Op::Split { .. }
            | Op::ResizeNearest { .. }
            | Op::Expand { .. }
            | Op::Gather { .. }
    )
}

/// Number of leading operands holding data (the rest are constant parameters).
fn data_operands(op: &Op, n: usize) -> usize {
    match op {
        Op::Concat { .. } => n,
        _ => 1,
    }
}

/// Lowers a data-movement op whose data operands live in the arena and whose other
/// operands are constants.
pub fn lower(l: &mut Lower) -> Lowered {
    let op = &l.node.op;
    if !moves_elements(op) || l.node.inputs.is_empty() {
        return Ok(None);
    }
    let nd = data_operands(op, l.node.inputs.len());
    let dt = l.in_ty(0)?.dtype;
    let es = dt.size();
    // Data operands: arena offset, global index base.
    let mut srcs: Vec<(usize, i64, usize)> = Vec::new(); // (arena offset, first index, count)
    let mut refs: Vec<Tensor> = Vec::new();
    let mut next = 0i64;
    for i in 0..nd {
        let v = l.node.inputs[i];
        if l.module.graph.ty(v).dtype != dt {
            return Ok(None);
        }
        let Some(Loc::Arena(off)) = l.plan.loc.get(v.0 as usize).copied().flatten() else {
            return Ok(None);
        };
        let dims = l.in_dims(i)?;
        let n: usize = dims.iter().product();
        if next as usize + n > MAX_ELEMS {
            return Ok(None);
        }
        refs.push(Tensor::new(
            dims,
            Data::I64((next..next + n as i64).collect()),
        ));
        srcs.push((off, next, n));
        next += n as i64;
    }
    // Parameter operands: constants (a pad's fill value becomes the -1 marker).
    let mut fill_bytes: Option<Vec<u8>> = None;
    for i in nd..l.node.inputs.len() {
        let Some(t) = l.const_operand(i).cloned() else {
            return Ok(None);
        };
        if matches!(op, Op::Pad { .. }) && i == 2 && !t.is_empty() {
            fill_bytes = Some(t.data.to_le_bytes()[..es].to_vec());
            refs.push(Tensor::new(t.shape.clone(), Data::I64(vec![-1; t.len()])));
        } else {
            refs.push(t);
        }
    }
    let mut node = l.node.clone();
    if let Op::Pad { mode, value, .. } = &mut node.op {
        if *mode != PadMode::Constant {
            fill_bytes = None;
        } else if fill_bytes.is_none() {
            fill_bytes = Some(Data::from_f64(dt, &[*value]).to_le_bytes());
        }
        *value = -1.0;
    }
    let r: Vec<&Tensor> = refs.iter().collect();
    let Ok(maps) = qcc_ir::interp::run_node(l.module, &node, &r) else {
        return Ok(None);
    };
    if maps.len() != l.node.outputs.len() {
        return Ok(None);
    }
    let mut outs = Vec::with_capacity(maps.len());
    let mut any_fill = false;
    for (k, map) in maps.iter().enumerate() {
        let (Data::I64(idx), true) = (&map.data, map.shape == l.out_dims(k)?) else {
            return Ok(None);
        };
        if l.out_ty(k)?.dtype != dt {
            return Ok(None);
        }
        // Per element: arena byte offset of its source, or -1.
        let mut at: Vec<i64> = Vec::with_capacity(idx.len());
        for &g in idx {
            if g < 0 {
                if fill_bytes.is_none() {
                    return Ok(None);
                }
                any_fill = true;
                at.push(-1);
                continue;
            }
            let Some(&(off, first, n)) = srcs.iter().find(|s| (s.1..s.1 + s.2 as i64).contains(&g))
            else {
                return Ok(None);
            };
            debug_assert!(((g - first) as usize) < n);
            at.push(off as i64 + (g - first) * es as i64);
        }
        let len = block_len(&at, es as i64);
        let srcs: Vec<i64> = at.iter().step_by(len.max(1)).copied().collect();
        if srcs.iter().any(|&s| i32::try_from(s).is_err()) {
            return Ok(None);
        }
        let table = (srcs.len() > UNROLL_BLOCKS).then(|| {
            let t: Vec<i32> = srcs.iter().map(|&s| s as i32).collect();
            l.pool.i32s(&t)
        });
        outs.push(Out {
            y: l.out_addr(k)?,
            block: len * es,
            srcs,
            table,
        });
    }
    let fill = match (any_fill, fill_bytes) {
        (true, Some(f)) => {
            let pattern: Vec<u8> = f.iter().copied().cycle().take(16).collect();
            Some(l.pool.add(&pattern))
        }
        _ => None,
    };
    Ok(Some(Box::new(Gather { outs, fill })))
}

/// The longest block length dividing the map into blocks that are each all fill or one
/// run of consecutive source elements (the gcd of the maximal runs' lengths).
fn block_len(at: &[i64], es: i64) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let mut g = 0;
    let mut run = 0;
    for i in 0..at.len() {
        run += 1;
        let cont = at.get(i + 1).is_some_and(|&nx| {
            (at[i] < 0 && nx < 0) || (at[i] >= 0 && nx >= 0 && nx == at[i] + es)
        });
        if !cont {
            g = gcd(g, run);
            run = 0;
        }
    }
    g
}

impl Gather {
    /// `bytes` bytes from `src` to `dst` (16-byte moves, then 8/4/2/1).
    fn copy(fb: &mut Fb, src: Value, dst: Value, bytes: usize) {
        let vecs = bytes / 16;
        let mv = |fb: &mut Fb, ty, off: usize| {
            let v = fb.b.ins().load(ty, flags(), src, off as i32);
            fb.b.ins().store(flags(), v, dst, off as i32);
        };
        if vecs <= 8 {
            for i in 0..vecs {
                mv(fb, types::I8X16, 16 * i);
            }
        } else {
            fb.for_n(vecs, |fb, i| {
                let s = fb.index(src, i, 16);
                let d = fb.index(dst, i, 16);
                let v = fb.b.ins().load(types::I8X16, flags(), s, 0);
                fb.b.ins().store(flags(), v, d, 0);
            });
        }
        Self::tail(fb, vecs * 16, bytes, |fb, ty, off| mv(fb, ty, off));
    }

    /// `bytes` bytes of the fill pattern at `dst`.
    fn fill(fb: &mut Fb, pattern: Value, dst: Value, bytes: usize) {
        let vecs = bytes / 16;
        let v = fb.b.ins().load(types::I8X16, flags(), pattern, 0);
        if vecs <= 8 {
            for i in 0..vecs {
                fb.b.ins().store(flags(), v, dst, (16 * i) as i32);
            }
        } else {
            fb.for_n(vecs, |fb, i| {
                let d = fb.index(dst, i, 16);
                fb.b.ins().store(flags(), v, d, 0);
            });
        }
        // The pattern's period (the element size) divides every tail offset.
        Self::tail(fb, vecs * 16, bytes, |fb, ty, off| {
            let v = fb.b.ins().load(ty, flags(), pattern, 0);
            fb.b.ins().store(flags(), v, dst, off as i32);
        });
    }

    /// The moves of 8, 4, 2 and 1 bytes covering `[from, to)`.
    fn tail(
        fb: &mut Fb,
        mut from: usize,
        to: usize,
        mut mv: impl FnMut(&mut Fb, types::Type, usize),
    ) {
        for (w, ty) in [
            (8, types::I64),
            (4, types::I32),
            (2, types::I16),
            (1, types::I8),
        ] {
            while to - from >= w {
                mv(fb, ty, from);
                from += w;
            }
        }
    }

    /// Block `b` of `out` (source `src`, an arena offset or -1).
    fn block(&self, fb: &mut Fb, out: &Out, src: Value, dst: Value, may_fill: bool) {
        if !may_fill {
            let s = fb.b.ins().iadd(fb.arena, src);
            Self::copy(fb, s, dst, out.block);
            return;
        }
        let is_fill = fb.b.ins().icmp_imm_s(
            cranelift_codegen::ir::condcodes::IntCC::SignedLessThan,
            src,
            0,
        );
        let (fblk, cblk, done) = (
            fb.b.create_block(),
            fb.b.create_block(),
            fb.b.create_block(),
        );
        fb.b.ins().brif(is_fill, fblk, &[], cblk, &[]);
        fb.b.switch_to_block(fblk);
        let pattern = fb.base(self.fill.expect("fill pattern for a map with fills"));
        Self::fill(fb, pattern, dst, out.block);
        fb.b.ins().jump(done, &[]);
        fb.b.switch_to_block(cblk);
        let s = fb.b.ins().iadd(fb.arena, src);
        Self::copy(fb, s, dst, out.block);
        fb.b.ins().jump(done, &[]);
        fb.b.switch_to_block(done);
    }
}

impl Kernel for Gather {
    fn emit(&self, fb: &mut Fb) {
        for out in &self.outs {
            let y = fb.base(out.y);
            let Some(table) = out.table else {
                for (b, &s) in out.srcs.iter().enumerate() {
                    let dst = fb.b.ins().iadd_imm_s(y, (b * out.block) as i64);
                    if s < 0 {
                        let pattern = fb.base(self.fill.expect("fill pattern"));
                        Self::fill(fb, pattern, dst, out.block);
                    } else {
                        let src = fb.c64(s);
                        self.block(fb, out, src, dst, false);
                    }
                }
                continue;
            };
            let table = fb.base(table);
            let may_fill = out.srcs.iter().any(|&s| s < 0);
            fb.for_n(out.srcs.len(), |fb, b| {
                let ta = fb.index(table, b, 4);
                let s = fb.b.ins().load(types::I32, super::const_flags(), ta, 0);
                let s = fb.b.ins().sextend(types::I64, s);
                let dst = fb.index(y, b, out.block);
                self.block(fb, out, s, dst, may_fill);
            });
        }
    }
}
