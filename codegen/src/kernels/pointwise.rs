//! Pointwise (1x1, stride 1, unpadded) convolutions: each input plane is one row of
//! `H*W` columns and the convolution is a matrix product over input channels.
//!
//! A pass computes `cols` columns of `mb` output channels with `mb * cols / 4` independent
//! i32x4 accumulators. Per pair of input channels it loads the columns of both planes
//! (`pmovzxbw`), interleaves them once (`punpcklwd`/`punpckhwd`) and multiplies-adds them
//! (`pmaddwd`) against each output channel's broadcast weight pair; the weights of a pass
//! are packed `[cp][mb]` so they are read in order. An odd last input channel is paired
//! with zeros. Every tap is inside the input, so the input zero point is folded into the
//! bias (`bias - zx * sum(w)`, wrapping i32 like the interpreter's accumulation). A row's
//! last block overlaps the previous one instead of leaving a scalar tail; loads read
//! exactly the block's columns.

use super::{simd, Addr, Fb, Pool, Requant};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::DType;

/// The plan of one pointwise convolution.
pub struct Pointwise {
    /// Weight pairs `[M / mb][ceil(cg / 2)][mb]` (i32: low 16 bits channel `2p`, high
    /// `2p + 1`, zero for a missing odd channel), zero points subtracted.
    pairs: Addr,
    /// Per output channel `bias - zx * sum(w)` (wrapping i32).
    bias: Addr,
    /// Output channels per pass.
    mb: usize,
    /// Columns per pass (8 or 16).
    cols: usize,
    /// Columns of a plane (`H*W`).
    width: usize,
    cg: usize,
    x_dt: DType,
    y_dt: DType,
    /// An i64 zero for [`Fb::fence`].
    zero: Addr,
}

/// Output channels per pass for `mg` output channels per group, and columns per pass.
fn blocking(mg: usize, width: usize) -> (usize, usize) {
    let mb = [4, 2, 1]
        .into_iter()
        .find(|b| mg.is_multiple_of(*b))
        .unwrap_or(1);
    let cols = if mb <= 2 && width >= 16 { 16 } else { 8 };
    (mb, cols)
}

/// Plans the kernel for a convolution whose planes are rows of `width` columns: u8/i8
/// input and output, at least 8 columns. `packed` holds the weights `[M][cg]` with their
/// zero points subtracted.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    pool: &mut Pool,
    width: usize,
    (m, cg, mg): (usize, usize, usize),
    packed: &[i32],
    bias: Option<&[i32]>,
    zx: i32,
    x_dt: DType,
    y_dt: DType,
) -> Option<Pointwise> {
    let ok = matches!(x_dt, DType::U8 | DType::I8)
        && matches!(y_dt, DType::U8 | DType::I8)
        && width >= 8
        && packed.len() == m * cg;
    if !ok {
        return None;
    }
    let (mb, cols) = blocking(mg, width);
    let ncp = cg.div_ceil(2);
    let mut pairs = Vec::with_capacity(m * ncp);
    let w16 = |mi: usize, c: usize| -> u32 {
        if c < cg {
            packed[mi * cg + c] as i16 as u16 as u32
        } else {
            0
        }
    };
    for blk in 0..m / mb {
        for cp in 0..ncp {
            for j in 0..mb {
                let mi = blk * mb + j;
                pairs.push((w16(mi, 2 * cp) | (w16(mi, 2 * cp + 1) << 16)) as i32);
            }
        }
    }
    let folded: Vec<i32> = (0..m)
        .map(|mi| {
            let sum = packed[mi * cg..(mi + 1) * cg]
                .iter()
                .fold(0i32, |a, &v| a.wrapping_add(v));
            bias.map_or(0, |b| b[mi]).wrapping_sub(zx.wrapping_mul(sum))
        })
        .collect();
    Some(Pointwise {
        pairs: pool.i32s(&pairs),
        bias: pool.i32s(&folded),
        zero: pool.i32s(&[0, 0]),
        mb,
        cols,
        width,
        cg,
        x_dt,
        y_dt,
    })
}

/// Largest per-pass buffer of broadcast weights (bytes, on the stack).
const MAX_SPLAT: usize = 32 * 1024;

/// Where a pass reads its weights: packed i32 pairs, or pairs already broadcast to
/// 16-byte vectors (`[cp][mb]`).
#[derive(Clone, Copy)]
enum Weights {
    Pairs(Value),
    Splat(Value),
}

/// One output channel of a pass: its index `m`, requantization row and output plane.
pub type Out = (Value, Value, Value);

impl Pointwise {
    /// Output channels per pass.
    pub fn mb(&self) -> usize {
        self.mb
    }

    /// Every column of the channels `outs` (a pass: `mb` consecutive channels starting at a
    /// multiple of `mb`), from the group's first input plane `x0`.
    pub fn emit(&self, fb: &mut Fb, req: &Requant, outs: &[Out], x0: Value) {
        let f = super::const_flags();
        let ncp = self.cg.div_ceil(2);
        // The pass's weights start at block m0 / mb, i.e. at m0 * ncp pairs.
        let wb = fb.base(self.pairs);
        let w0 = fb.index(wb, outs[0].0, ncp * 4);
        // Broadcast once per pass into a stack buffer of 16-byte vectors, so the column
        // blocks read them as plain vector loads (no per-use broadcast); not worth it for
        // a single block.
        let w = if ncp * self.mb * 16 <= MAX_SPLAT && self.width >= 2 * self.cols {
            use cranelift_codegen::ir::{StackSlotData, StackSlotKind};
            let slot = fb.b.create_sized_stack_slot(StackSlotData::new(
                StackSlotKind::ExplicitSlot,
                (ncp * self.mb * 16) as u32,
                4,
            ));
            let buf = fb.b.ins().stack_addr(types::I64, slot, 0);
            fb.for_n(ncp * self.mb, |fb, i| {
                let wa = fb.index(w0, i, 4);
                let v = fb.b.ins().load(types::I32, f, wa, 0);
                let v = simd::splat_pair(fb, v);
                let d = fb.index(buf, i, 16);
                fb.b.ins().store(super::flags(), v, d, 0);
            });
            // Fenced: the blocks read the buffer with movable loads.
            Weights::Splat(fb.fence(buf, self.zero))
        } else {
            Weights::Pairs(w0)
        };
        let n = self.width;
        let c = self.cols;
        fb.for_n(n / c, |fb, i| {
            let col = fb.b.ins().imul_imm_s(i, c as i64);
            self.emit_block(fb, req, outs, x0, w, col);
        });
        if !n.is_multiple_of(c) {
            let col = fb.c64((n - c) as i64);
            self.emit_block(fb, req, outs, x0, w, col);
        }
    }

    /// Columns `col..col + cols` of every channel of the pass.
    #[allow(clippy::too_many_arguments)]
    fn emit_block(
        &self,
        fb: &mut Fb,
        req: &Requant,
        outs: &[Out],
        x0: Value,
        w: Weights,
        col: Value,
    ) {
        let f = super::const_flags();
        let (w0, wsize) = match w {
            Weights::Pairs(a) => (a, 4),
            Weights::Splat(a) => (a, 16),
        };
        let plane = self.width;
        let halves = self.cols / 8;
        // Biases and requantization constants are loaded per block (not movable), so
        // they are not live across the channel loop.
        let accs: Vec<Vec<_>> = outs
            .iter()
            .map(|&(m, _, _)| {
                let bb = fb.base(self.bias);
                let ba = fb.index(bb, m, 4);
                let b = fb.b.ins().load(types::I32, super::flags(), ba, 0);
                let b = fb.b.ins().splat(types::I32X4, b);
                (0..2 * halves).map(|_| fb.var(types::I32X4, b)).collect()
            })
            .collect();
        let xc = fb.b.ins().iadd(x0, col);
        let zero16 = {
            let z = fb.b.ins().iconst(types::I16, 0);
            fb.b.ins().splat(types::I16X8, z)
        };
        let mac = |fb: &mut Fb, xa: Value, xb: Option<Value>, wa: Value| {
            let mut xs = Vec::with_capacity(2 * halves);
            for h in 0..halves {
                let off = (8 * h) as i32;
                let a = simd::load8_raw(fb, self.x_dt, xa, off);
                let b = match xb {
                    Some(xb) => simd::load8_raw(fb, self.x_dt, xb, off),
                    None => zero16,
                };
                let (lo, hi) = simd::zip16(fb, a, b);
                xs.push(lo);
                xs.push(hi);
            }
            for (j, acc) in accs.iter().enumerate() {
                let off = (j * wsize) as i32;
                let w = match w {
                    Weights::Pairs(_) => {
                        let w = fb.b.ins().load(types::I32, f, wa, off);
                        simd::splat_pair(fb, w)
                    }
                    // Readonly while the blocks run (written before, in the pass
                    // prologue): a pure load, placed at its first use rather than with
                    // the other loads at the top of the iteration.
                    Weights::Splat(_) => fb.b.ins().load(types::I16X8, f, wa, off),
                };
                for (var, &x) in acc.iter().zip(&xs) {
                    let a = fb.b.use_var(*var);
                    let a = simd::madd(fb, x, w, a);
                    fb.b.def_var(*var, a);
                }
            }
        };
        // One channel pair per iteration (two or four measured no faster), then the odd
        // channel.
        let step = self.mb * wsize;
        let full = self.cg / 2;
        fb.for_n(full, |fb, cp| {
            let xa = fb.index(xc, cp, 2 * plane);
            let xb = fb.b.ins().iadd_imm_s(xa, plane as i64);
            let wa = fb.index(w0, cp, step);
            mac(fb, xa, Some(xb), wa);
        });
        if self.cg % 2 == 1 {
            let xa = fb.b.ins().iadd_imm_s(xc, ((self.cg - 1) * plane) as i64);
            let wa = fb.b.ins().iadd_imm_s(w0, (full * step) as i64);
            mac(fb, xa, None, wa);
        }
        for (&(_, row, y0), acc) in outs.iter().zip(&accs) {
            let rq = simd::ReqVec::new(fb, req, row);
            let q: Vec<Value> = acc
                .iter()
                .map(|&v| {
                    let v = fb.b.use_var(v);
                    rq.apply(fb, req, v)
                })
                .collect();
            let ya = fb.index(y0, col, self.y_dt.size());
            simd::store_q(fb, &q, None, self.y_dt, ya);
        }
    }
}
