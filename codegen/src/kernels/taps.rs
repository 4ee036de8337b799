//! Interior rows of convolutions with few input channels per group (depthwise convs, the
//! 3-channel stem): kernel taps along W paired for `pmaddwd`, W stride 1 or 2, no W
//! dilation.
//!
//! Output column `j` of tap pair `(2p, 2p+1)` reads input bytes `c + s*j + 2p` and the one
//! after it, which are adjacent in memory, so one widening 8-byte load (`pmovzxbw`) gives
//! the interleaved pairs of four columns: with stride 2 the load at `c + 8g + 2p` serves
//! columns `4g..4g+4`; with stride 1 the load at `c + g + 2p` serves the even (`g = 0`) or
//! odd (`g = 1`) columns of an 8-column group, and the bytes are put back in order after
//! requantization (one `pshufb`). An odd last tap `K-1` is paired as `(0, w[K-1])` read at
//! `K-2`. No shuffles on the input side, and every byte read is one that some output
//! column of the block needs, so loads never run past a row or the buffer.
//!
//! Only rows and columns whose taps all fall inside the input come here (the caller keeps
//! the padded borders), so the input zero point is folded into the bias:
//! `bias + sum (x - zx) w = (bias - zx sum w) + sum x w` in wrapping i32, like the
//! interpreter's wrapping accumulation. A row's last block overlaps the previous one
//! (recomputing a few columns) instead of leaving a scalar tail.
//!
//! Depthwise convolutions (one input and one output channel per group) whose padded plane
//! fits in [`MAX_PADDED`] bytes have no borders at all: each input plane is copied into a
//! stack buffer filled with the zero point (padding contributes `(zx - zx) w = 0`, as in
//! the interpreter), with slack after each row, and every output row and column is
//! computed from there; rows narrower than a block store only their columns.

use super::conv::Axis;
use super::{simd, Addr, Fb, Pool, Requant};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::DType;

/// Accumulators held per pass: output channels x (columns / 4) i32x4 vectors.
const MAX_ACCS: usize = 8;
/// Weight-pair vectors kept in registers across a channel's rows.
const MAX_HOISTED: usize = 8;
/// Largest zero-point-padded plane copied to the stack (bytes).
pub const MAX_PADDED: usize = 64 * 1024;

/// The stack copy of one input plane: `rows` rows of `rs` bytes, the input at row `pt`,
/// column `pl`, everything else the input zero point.
#[derive(Clone, Copy, Debug)]
pub struct Padded {
    rows: usize,
    rs: usize,
    pt: usize,
    pl: usize,
    zx: i32,
}

/// The plan of one convolution's interior kernel.
pub struct Taps {
    /// Weight pairs `[M][cg][KH][P]`, each broadcast to a 16-byte vector of four i32
    /// (low 16 bits `w[2p]`, high `w[2p+1]`; the odd last tap `(0, w[K-1])`), zero points
    /// subtracted: read with plain vector loads.
    pairs: Addr,
    /// Per output channel `bias - zx * sum(w)` (wrapping i32).
    bias: Addr,
    /// Output rows `[r0, r1)` whose taps are all inside the input.
    pub rows: (usize, usize),
    /// Output columns `[c0, c1)` whose taps are all inside the input (`c1 - c0 >= 8`).
    pub cols: (usize, usize),
    /// Output columns per block (8 or 16).
    block: usize,
    /// Output channels per pass.
    mb: usize,
    h: Axis,
    w: Axis,
    /// Bytes from one input row to the next where the kernel reads (`W` or the padded
    /// copy's row stride) and the padding subtracted from input coordinates.
    rs: usize,
    pads: (usize, usize),
    /// The stack copy of each plane, for depthwise convolutions.
    padded: Option<Padded>,
    /// An i64 zero for [`Fb::fence`].
    zero: Addr,
    cg: usize,
    /// Tap pairs per kernel row.
    np: usize,
    ow: usize,
    x_dt: DType,
    y_dt: DType,
}

/// The full-tap interval of an axis: `[a, b)` where every tap is inside the input.
fn interior(a: &Axis) -> (usize, usize) {
    let full = (0, a.kernel as i32);
    let r = a.tap_ranges();
    match r.iter().position(|&t| t == full) {
        Some(s) => (s, s + r[s..].iter().take_while(|&&t| t == full).count()),
        None => (0, 0),
    }
}

/// Plans the kernel when it applies: u8/i8 input and output, at most 4 input channels per
/// group, W stride 1 or 2 without dilation, a kernel at least 2 wide, and either a
/// depthwise convolution (`mg == 1`) whose padded plane fits [`MAX_PADDED`] or at least 8
/// interior columns. `packed` holds the weights `[M][cg][KH][KW]` with their zero points
/// subtracted; `mb` output channels are computed per pass; `ends` are the end pads (H, W).
#[allow(clippy::too_many_arguments)]
pub fn plan(
    pool: &mut Pool,
    (h, w, ends): (&Axis, &Axis, [usize; 2]),
    (m, cg, mg, mb): (usize, usize, usize, usize),
    packed: &[i32],
    bias: Option<&[i32]>,
    zx: i32,
    x_dt: DType,
    y_dt: DType,
) -> Option<Taps> {
    let ok = matches!(x_dt, DType::U8 | DType::I8)
        && matches!(y_dt, DType::U8 | DType::I8)
        && (1..=4).contains(&cg)
        && matches!(w.stride, 1 | 2)
        && w.dil == 1
        && w.kernel >= 2;
    if !ok {
        return None;
    }
    let (kh, kw) = (h.kernel, w.kernel);
    // The padded copy: every row read, with slack so that a full block from column 0
    // stays inside (stride 1 reads up to byte K + 6 of a block, stride 2 up to K + 13).
    let prows = h.pad + h.input + ends[0];
    let rs = (w.pad + w.input + ends[1])
        .max(8 * w.stride + kw + 8)
        .next_multiple_of(16);
    let padded = (cg == 1 && mg == 1 && mb == 1 && prows * rs <= MAX_PADDED).then_some(Padded {
        rows: prows,
        rs,
        pt: h.pad,
        pl: w.pad,
        zx,
    });
    let (rows, cols, rs, pads) = match padded {
        Some(p) => ((0, h.output), (0, w.output), p.rs, (0, 0)),
        None => (interior(h), interior(w), w.input, (h.pad, w.pad)),
    };
    if rows.1 <= rows.0 || cols.1 <= cols.0 || (padded.is_none() && cols.1 < cols.0 + 8) {
        return None;
    }
    let np = kw.div_ceil(2);
    let taps = kh * kw;
    let mut pairs = Vec::with_capacity(m * cg * kh * np * 4);
    let mut folded = Vec::with_capacity(m);
    for mi in 0..m {
        let wm = &packed[mi * cg * taps..(mi + 1) * cg * taps];
        let sum = wm.iter().fold(0i32, |a, &v| a.wrapping_add(v));
        let b = bias.map_or(0, |b| b[mi]);
        folded.push(b.wrapping_sub(zx.wrapping_mul(sum)));
        for ci in 0..cg {
            for r in 0..kh {
                let at = |k: usize| wm[ci * taps + r * kw + k] as i16 as u16 as u32;
                for p in 0..np {
                    let (lo, hi) = if 2 * p + 1 < kw {
                        (at(2 * p), at(2 * p + 1))
                    } else {
                        (0, at(kw - 1))
                    };
                    pairs.extend([(lo | (hi << 16)) as i32; 4]);
                }
            }
        }
    }
    let block = if mb * 4 <= MAX_ACCS && cols.1 - cols.0 >= 16 {
        16
    } else {
        8
    };
    Some(Taps {
        pairs: pool.i32s(&pairs),
        bias: pool.i32s(&folded),
        rows,
        cols,
        block,
        mb,
        h: h.clone(),
        w: w.clone(),
        rs,
        pads,
        padded,
        zero: pool.i32s(&[0, 0]),
        cg,
        np,
        ow: w.output,
        x_dt,
        y_dt,
    })
}

/// One output channel of a pass: its index `m`, requantization row and output plane.
pub type Out = (Value, Value, Value);

/// Per-pass values computed once before the rows: folded biases (splat) and either the
/// weight-pair vectors themselves (few taps) or each channel's weight row address.
pub struct Pass {
    hoist: bool,
    req: Vec<simd::ReqVec>,
    bias: Vec<Value>,
    wvec: Vec<Vec<Value>>,
    wrow: Vec<Value>,
}

impl Taps {
    /// Output channels per pass.
    pub fn mb(&self) -> usize {
        self.mb
    }

    /// True when each input plane is first copied to a padded stack buffer
    /// ([`Taps::padded_buffer`], [`Taps::copy_plane`]) and every output comes from here.
    pub fn is_padded(&self) -> bool {
        self.padded.is_some()
    }

    /// Allocates the padded plane buffer in the function's frame and fills it with the
    /// input zero point (once per call; the copies only overwrite the input area).
    pub fn padded_buffer(&self, fb: &mut Fb) -> Value {
        use cranelift_codegen::ir::{StackSlotData, StackSlotKind};
        let p = self.padded.expect("padded plan");
        let size = p.rows * p.rs;
        let slot = fb.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            size as u32,
            4,
        ));
        let buf = fb.b.ins().stack_addr(types::I64, slot, 0);
        let z = fb.b.ins().iconst(types::I8, (p.zx as u8) as i64);
        let zv = fb.b.ins().splat(types::I8X16, z);
        fb.for_n(size / 16, |fb, i| {
            let a = fb.index(buf, i, 16);
            fb.b.ins().store(super::flags(), zv, a, 0);
        });
        buf
    }

    /// Copies the input plane at `x0` into the padded buffer `buf` and returns the
    /// buffer's address for the reads (fenced after the copy: the kernel reads it with
    /// movable loads).
    pub fn copy_plane(&self, fb: &mut Fb, buf: Value, x0: Value) -> Value {
        let p = self.padded.expect("padded plan");
        let iw = self.w.input;
        let dst0 = fb.b.ins().iadd_imm_s(buf, (p.pt * p.rs + p.pl) as i64);
        fb.for_n(self.h.input, |fb, r| {
            let src = fb.index(x0, r, iw);
            let dst = fb.index(dst0, r, p.rs);
            simd::copy_bytes(fb, src, dst, iw);
        });
        fb.fence(buf, self.zero)
    }

    fn per_channel(&self) -> usize {
        self.cg * self.h.kernel * self.np
    }

    /// Loads the pass constants of channels `outs` (emitted before the row loop). With
    /// one channel of few taps (depthwise) the weight vectors, bias and requantization
    /// constants stay in registers across the rows; otherwise they are loaded per block,
    /// inside it (Cranelift hoists pure loop-invariant values out of loops, and that many
    /// live vectors would spill).
    pub fn pass(&self, fb: &mut Fb, req: &Requant, outs: &[Out]) -> Pass {
        let f = super::const_flags();
        let n = self.per_channel();
        let hoist = outs.len() == 1 && n <= MAX_HOISTED;
        let mut p = Pass {
            hoist,
            req: Vec::new(),
            bias: Vec::new(),
            wvec: Vec::new(),
            wrow: Vec::new(),
        };
        for &(m, row, _) in outs {
            let wb = fb.base(self.pairs);
            let wr = fb.index(wb, m, n * 16);
            p.wrow.push(wr);
            if hoist {
                p.req.push(simd::ReqVec::new(fb, req, row));
                p.bias.push(self.bias(fb, m));
                let v = (0..n)
                    .map(|i| fb.b.ins().load(types::I16X8, f, wr, (i * 16) as i32))
                    .collect();
                p.wvec.push(v);
            }
        }
        p
    }

    /// The folded bias of channel `m` (i32x4 splat), loaded where it is emitted.
    fn bias(&self, fb: &mut Fb, m: Value) -> Value {
        let bb = fb.base(self.bias);
        let ba = fb.index(bb, m, 4);
        let b = fb.b.ins().load(types::I32, super::flags(), ba, 0);
        fb.b.ins().splat(types::I32X4, b)
    }

    /// Interior output row `oh` (an interior row) of the pass: every interior column, in
    /// blocks. `x0` is the group's first input plane.
    pub fn emit_row(
        &self,
        fb: &mut Fb,
        req: &Requant,
        pass: &Pass,
        outs: &[Out],
        x0: Value,
        oh: Value,
    ) {
        let ih0 = fb.b.ins().imul_imm_s(oh, self.h.stride as i64);
        let ih0 = fb.b.ins().iadd_imm_s(ih0, -(self.pads.0 as i64));
        let xrow = fb.index(x0, ih0, self.rs);
        let yo = fb.b.ins().imul_imm_s(oh, self.ow as i64);
        let (c0, c1) = self.cols;
        let b = self.block;
        if c1 - c0 < b {
            // Only in the padded copy, whose rows have room for a whole block.
            let ow0 = fb.c64(c0 as i64);
            self.emit_block(fb, req, pass, outs, (xrow, yo, ow0), c1 - c0);
            return;
        }
        fb.for_n((c1 - c0) / b, |fb, blk| {
            let ow0 = fb.b.ins().imul_imm_s(blk, b as i64);
            let ow0 = fb.b.ins().iadd_imm_s(ow0, c0 as i64);
            self.emit_block(fb, req, pass, outs, (xrow, yo, ow0), b);
        });
        if !(c1 - c0).is_multiple_of(b) {
            let ow0 = fb.c64((c1 - b) as i64);
            self.emit_block(fb, req, pass, outs, (xrow, yo, ow0), b);
        }
    }

    /// `block` output columns from `ow0` of every channel in `outs`, of which the first
    /// `n` are stored.
    fn emit_block(
        &self,
        fb: &mut Fb,
        req: &Requant,
        pass: &Pass,
        outs: &[Out],
        (xrow, yo, ow0): (Value, Value, Value),
        n: usize,
    ) {
        let f = super::const_flags();
        let (s, kw, np) = (self.w.stride, self.w.kernel, self.np);
        let plane = self.h.input * self.w.input;
        let iw0 = fb.b.ins().imul_imm_s(ow0, s as i64);
        let iw0 = fb.b.ins().iadd_imm_s(iw0, -(self.pads.1 as i64));
        let xb = fb.b.ins().iadd(xrow, iw0);
        // Groups of four columns: (8-column block, even/odd or low/high half).
        let groups: Vec<i32> = (0..self.block / 8)
            .flat_map(|b| (0..2).map(move |g| if s == 1 { b * 8 + g } else { b * 16 + 8 * g }))
            .map(|o| o as i32)
            .collect();
        let ng = groups.len();
        let kh = self.h.kernel;
        // Accumulates kernel row (ci, r) given its weight-vector address `wr(j)` and
        // input offset `xr`.
        let row = |fb: &mut Fb,
                   acc: &mut [Vec<Value>],
                   xr: Value,
                   wv: &dyn Fn(&mut Fb, usize, usize) -> Value| {
            for p in 0..np {
                let off = if 2 * p + 1 < kw { 2 * p } else { kw - 2 };
                let xs: Vec<Value> = groups
                    .iter()
                    .map(|&g| simd::load8_pure(fb, self.x_dt, xr, off as i32 + g))
                    .collect();
                for (j, a) in acc.iter_mut().enumerate() {
                    let w = wv(fb, j, p);
                    for (av, &x) in a.iter_mut().zip(&xs) {
                        *av = simd::madd(fb, x, w, *av);
                    }
                }
            }
        };
        let acc: Vec<Vec<Value>> = if pass.hoist {
            // Few taps: everything unrolled, weights in registers.
            let mut acc: Vec<Vec<Value>> = pass.bias.iter().map(|&b| vec![b; ng]).collect();
            for ci in 0..self.cg {
                for r in 0..kh {
                    let xr =
                        fb.b.ins()
                            .iadd_imm_s(xb, (ci * plane + r * self.h.dil * self.rs) as i64);
                    let base = (ci * kh + r) * np;
                    row(fb, &mut acc, xr, &|_, j, p| pass.wvec[j][base + p]);
                }
            }
            acc
        } else {
            // One kernel row per loop iteration, so that only its loads are live.
            let vars: Vec<Vec<_>> = outs
                .iter()
                .map(|&(m, _, _)| {
                    let b = self.bias(fb, m);
                    (0..ng).map(|_| fb.var(types::I32X4, b)).collect()
                })
                .collect();
            fb.for_n(self.cg, |fb, ci| {
                let xc = fb.index(xb, ci, plane);
                fb.for_n(kh, |fb, r| {
                    let xr = fb.index(xc, r, self.h.dil * self.rs);
                    let k = fb.b.ins().imul_imm_s(ci, kh as i64);
                    let k = fb.b.ins().iadd(k, r);
                    let wrs: Vec<Value> =
                        pass.wrow.iter().map(|&w| fb.index(w, k, np * 16)).collect();
                    let mut acc: Vec<Vec<Value>> = vars
                        .iter()
                        .map(|v| v.iter().map(|&v| fb.b.use_var(v)).collect())
                        .collect();
                    row(fb, &mut acc, xr, &|fb, j, p| {
                        fb.b.ins().load(types::I16X8, f, wrs[j], (p * 16) as i32)
                    });
                    for (v, a) in vars.iter().zip(&acc) {
                        for (&var, &x) in v.iter().zip(a) {
                            fb.b.def_var(var, x);
                        }
                    }
                });
            });
            vars.iter()
                .map(|v| v.iter().map(|&v| fb.b.use_var(v)).collect())
                .collect()
        };
        // Stride 1 packs [even 4, odd 4] per 8 columns: byte n sits at 8b + 4(n%2) + n/2.
        let perm: Vec<u8> = (0..self.block as u8)
            .map(|n| (n / 8) * 8 + (n % 8 % 2) * 4 + n % 8 / 2)
            .collect();
        let o = fb.b.ins().iadd(yo, ow0);
        for (j, (&(_, row, y0), a)) in outs.iter().zip(&acc).enumerate() {
            let rq = match pass.req.get(j) {
                Some(&rq) => rq,
                None => simd::ReqVec::new(fb, req, row),
            };
            let q: Vec<Value> = a.iter().map(|&v| rq.apply(fb, req, v)).collect();
            let ya = fb.index(y0, o, self.y_dt.size());
            simd::store_q_n(fb, &q, (s == 1).then_some(&perm[..]), self.y_dt, ya, n);
        }
    }
}
