//! Depthwise `qconv` with stride 1 or 2 and kernel rows of at most 8 taps on VNNI targets:
//! one `vpdpbusd` per kernel row (two for rows of 5 to 8 taps) and 4 output pixels.
//!
//! Each input plane is copied into a scratch buffer padded with the input zero point (in
//! the u8 domain: i8 inputs get 128 added, folded into the bias like the zero point), with
//! a right margin, so every output pixel reads only buffer bytes and there are no borders:
//! `sum w (x - z_x) = sum w x_u8 - z_u8 sum w` over all taps. For 16 output columns and one
//! kernel row, four 16-byte loads at shifted starts (stride 1: bytes 0, 1, 2, 3 of the
//! block; stride 2: 0, 2, 16, 18) put each column's 4-byte window `x[s j + 4 q ..
//! s j + 4 q + 4]` in a lane of one of them with no shuffle, and `vpdpbusd` multiplies it
//! with the quad's weights (`(w0, w1, w2, 0)` for a 3-tap row; a 5-tap row takes
//! `(w0 .. w3)` and `(w4, 0, 0, 0)`); the columns come out interleaved and one byte
//! permutation at the store orders them. Blocks of 8 columns (rows of at most 8) gather
//! the windows with one `pshufb` per 4 columns and quad instead.
//! Only the valid columns of the last block are stored.

use super::conv::{conv_axes, conv_quant, ConvQuant};
use super::requant::{self, OutMode, Requant};
use super::simd::{dot_i8_u8_acc, store_q_clamped, ReqVec};
use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, Value};
use qcc_ir::{ConvAttrs, DType};

/// Output columns per block (8 when a row has at most 8).
const COLS: usize = 16;

struct DwVnni {
    n: usize,
    c: usize,
    /// Input plane, output plane, kernel rows.
    ih: usize,
    iw: usize,
    oh: usize,
    ow: usize,
    kh: usize,
    /// 4-tap quads per kernel row: 1 (up to 4 taps) or 2 (5 to 8).
    quads: usize,
    /// Leading pads.
    pt: usize,
    pl: usize,
    /// Padded buffer: rows and row stride.
    rows: usize,
    rs: usize,
    x: Addr,
    x_dt: DType,
    zx_u8: u8,
    buf: Addr,
    /// Per channel, kernel row and quad: the quad's 4 weights (zeros past the row's last tap)
    /// repeated 4 times.
    w16: Addr,
    y: Addr,
    y_dt: DType,
    req: Requant,
    /// An i64 zero for [`Fb::fence`].
    zero: Addr,
    /// Output columns per block: 16, or 8 for rows of at most 8.
    cols: usize,
    /// Stride (both axes): 1 or 2.
    stride: usize,
}

/// Lowers a depthwise `qconv` (`group == C == M`, stride 1 or 2 on both axes, undilated,
/// kernel width <= 8,
/// 8-bit operands, weights minus zero point in i8) on VNNI targets.
pub fn lower(l: &mut Lower, a: &ConvAttrs, clamp: Option<(i64, i64)>) -> Lowered {
    let (xs, ws, ys) = (l.in_dims(0)?, l.in_dims(1)?, l.out_dims(0)?);
    let (x_dt, y_ty) = (l.in_ty(0)?.dtype, l.out_ty(0)?.clone());
    if !l.vnni
        || xs.len() != 4
        || ws.len() != 4
        || a.group != xs[1]
        || ws[0] != xs[1]
        || ws[1] != 1
        || !matches!(x_dt, DType::U8 | DType::I8)
        || !matches!(y_ty.dtype, DType::U8 | DType::I8)
    {
        return Ok(None);
    }
    let Some((h, w, ends)) = conv_axes(&xs, &ws, &ys, a) else {
        return Ok(None);
    };
    let stride = h.stride;
    if [&h, &w].iter().any(|ax| ax.stride != stride || ax.dil != 1)
        || !(1..=2).contains(&stride)
        || w.kernel > 8
        || h.output == 0
        || h.out_size(ends[0]) != Some(h.output)
        || w.out_size(ends[1]) != Some(w.output)
    {
        return Ok(None);
    }
    let Some(wt) = l.const_operand(1).cloned() else {
        return Ok(None);
    };
    let c = xs[1];
    let bias: Option<Vec<i32>> = match l.node.inputs.len() {
        2 => None,
        3 => match l.const_operand(2).and_then(|t| t.as_slice::<i32>()) {
            Some(b) if b.len() == c => Some(b.to_vec()),
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    let Some(ConvQuant { sx, zx, sw, zw, yq }) = conv_quant(l, c, &y_ty)? else {
        return Ok(None);
    };
    let (kh, kw) = (h.kernel, w.kernel);
    let wv = wt.data.to_i64_vec();
    if wv.len() != c * kh * kw {
        return Ok(None);
    }
    let zx_u8 = zx + if x_dt == DType::I8 { 128 } else { 0 };
    // Weights minus their channel's zero point, `[C][KH][KW]`.
    let wz: Vec<i64> = wv
        .iter()
        .enumerate()
        .map(|(i, &v)| v - zw[i / (kh * kw)] as i64)
        .collect();
    // Kernel rows of 5 to 8 taps take two 4-tap quads (the second padded with zeros).
    let quads = kw.div_ceil(4);
    let mut w16 = vec![0u8; c * kh * quads * 16];
    let mut corr = vec![0i32; c];
    for ch in 0..c {
        for r in 0..kh {
            for t in 0..kw {
                let v = wz[(ch * kh + r) * kw + t];
                let Ok(v8) = i8::try_from(v) else {
                    return Ok(None);
                };
                corr[ch] = corr[ch].wrapping_add(zx_u8.wrapping_mul(v as i32));
                for rep in 0..4 {
                    w16[((ch * kh + r) * quads + t / 4) * 16 + 4 * rep + t % 4] = v8 as u8;
                }
            }
        }
    }
    let mut chans = requant::channels(l.module.requant, 1.0, sx, &sw, &yq, bias.as_deref())?;
    for (ch, k) in chans.iter_mut().zip(&corr) {
        ch.bias = ch.bias.wrapping_sub(*k);
    }
    let (qmin, qmax) = super::out_bounds(yq.storage_range(y_ty.dtype), clamp)?;
    let ranges = super::conv_vnni::acc_ranges(&wz, c);
    let req = Requant::new(l.pool, &chans, OutMode::Quant { qmin, qmax })
        .with_acc_ranges(&chans, &ranges);
    let cols = if w.output <= 8 { 8 } else { COLS };
    let blocks = w.output.div_ceil(cols);
    // The furthest byte a row read reaches, from the last block's start `s (blocks - 1) cols`:
    // 16-column blocks load 16 bytes at `shifted[3] + 4 (quads - 1)` (stride 1: 3 + 4 + 15
    // = 22 bytes on; stride 2: 18 + 4 + 15 = 37), 8-column blocks at 0 (stride 1: 15) or 8
    // (stride 2: 23). `s blocks cols + 16` covers each.
    let rs = (w.pad + w.input).max(stride * blocks * cols + 16);
    let rows = (h.pad + h.input).max(stride * (h.output - 1) + kh);
    let buf = l.scratch(rows * rs);
    Ok(Some(Box::new(DwVnni {
        n: xs[0],
        c,
        ih: h.input,
        iw: w.input,
        oh: h.output,
        ow: w.output,
        kh,
        quads,
        pt: h.pad,
        pl: w.pad,
        rows,
        rs,
        x: l.in_addr(0)?,
        x_dt,
        zx_u8: zx_u8 as u8,
        buf,
        w16: l.pool.add(&w16),
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        req,
        zero: l.pool.i32s(&[0, 0]),
        cols,
        stride,
    })))
}

impl DwVnni {
    /// Fills the whole buffer with the input zero point (u8 domain).
    fn fill(&self, fb: &mut Fb, buf: Value) {
        super::simd::fill_bytes(fb, buf, self.rows * self.rs, self.zx_u8);
    }

    /// Copies input plane `plane` into the buffer's interior (+128 for i8 inputs): each row
    /// in 16-byte vectors (a loop for long rows), then 8, 4, 2 and 1 bytes.
    fn copy(&self, fb: &mut Fb, plane: Value, buf: Value) {
        let flip = self.x_dt == DType::I8;
        let m8 = fb.b.ins().iconst(types::I8, 0x80);
        let m16 = fb.b.ins().splat(types::I8X16, m8);
        let mv = |fb: &mut Fb, ty: types::Type, src: Value, dst: Value, at: i32| {
            let v = fb.b.ins().load(ty, flags(), src, at);
            let v = if !flip {
                v
            } else if ty == types::I8X16 {
                fb.b.ins().bxor(v, m16)
            } else {
                let bits = ty.bits();
                let all = 0x8080_8080_8080_8080u64;
                let imm = if bits == 64 {
                    all
                } else {
                    all & ((1u64 << bits) - 1)
                };
                let m = fb.b.ins().iconst(ty, imm as i64);
                fb.b.ins().bxor(v, m)
            };
            fb.b.ins().store(flags(), v, dst, at);
        };
        let vecs = self.iw / 16;
        fb.for_n(self.ih, |fb, r| {
            let src = fb.index(plane, r, self.iw);
            let dst = fb.index(buf, r, self.rs);
            let dst =
                fb.b.ins()
                    .iadd_imm_s(dst, (self.pt * self.rs + self.pl) as i64);
            if vecs > 8 {
                fb.for_n(vecs, |fb, i| {
                    let s = fb.index(src, i, 16);
                    let d = fb.index(dst, i, 16);
                    mv(fb, types::I8X16, s, d, 0);
                });
            } else {
                for i in 0..vecs {
                    mv(fb, types::I8X16, src, dst, (16 * i) as i32);
                }
            }
            let mut at = vecs * 16;
            while at < self.iw {
                let ty = match self.iw - at {
                    8.. => types::I64,
                    4.. => types::I32,
                    2.. => types::I16,
                    _ => types::I8,
                };
                mv(fb, ty, src, dst, at as i32);
                at += ty.bytes() as usize;
            }
        });
    }
}

impl Kernel for DwVnni {
    fn emit(&self, fb: &mut Fb) {
        // Group g (output columns 4g .. 4g + 4 of a block), quad q: the 16-byte load at
        // input byte `load_at` and the shuffle picking column l's window
        // `first + s l + 4 q + j` from it (at most byte 14 of the load: one load serves both
        // quads). Only 8-column blocks use it: stride 1 serves both groups with the load
        // at 0, stride 2 loads at 0 and 8.
        let s = self.stride as u8;
        let group = |g: usize, q: usize| -> (i32, Vec<u8>) {
            let (load_at, first) = if s == 1 {
                (8 * (g / 2), 4 * (g % 2) as u8)
            } else {
                (8 * g, 0)
            };
            let mask = (0..4u8)
                .flat_map(|l| (0..4u8).map(move |j| first + s * l + 4 * q as u8 + j))
                .collect();
            (load_at as i32, mask)
        };
        // 16-column blocks without shuffles: vector v loads at input byte `shifted[v]` of
        // the block (plus 4 q for quad q), so its lane j holds the window of column
        // `v + 4 j` (stride 1) or `m + 2 j` with m = 0, 1, 8, 9 (stride 2); `perm[c]` is
        // the packed byte (4 v + j) of column c.
        let shifted: [i32; 4] = if s == 1 { [0, 1, 2, 3] } else { [0, 2, 16, 18] };
        let perm: Vec<u8> = (0..16u8)
            .map(|c| {
                let (v, j) = if s == 1 {
                    (c % 4, c / 4)
                } else if c < 8 {
                    (c % 2, c / 2)
                } else {
                    (2 + c % 2, (c - 8) / 2)
                };
                4 * v + j
            })
            .collect();
        let ysz = self.y_dt.size();
        let cols = self.cols;
        let tail = self.ow % cols;
        fb.for_n(self.n, |fb, b| {
            let bufp = fb.base(self.buf);
            self.fill(fb, bufp);
            fb.for_n(self.c, |fb, ch| {
                let xb = fb.base(self.x);
                let img = fb.index(xb, b, self.c * self.ih * self.iw);
                let plane = fb.index(img, ch, self.ih * self.iw);
                let bufp = fb.base(self.buf);
                self.copy(fb, plane, bufp);
                // Reads of the copy are movable loads from a pointer re-derived after
                // the copy's stores (so they are scheduled next to their use).
                let copy = fb.fence(bufp, self.zero);
                let wb = fb.base(self.w16);
                let wch = fb.index(wb, ch, self.kh * self.quads * 16);
                let wrows: Vec<Value> = (0..self.kh * self.quads)
                    .map(|r| {
                        fb.b.ins()
                            .load(types::I8X16, super::const_flags(), wch, (16 * r) as i32)
                    })
                    .collect();
                let row = self.req.row(fb, ch);
                let bias = self.req.bias(fb, row);
                let bv = fb.b.ins().splat(types::I32X4, bias);
                let rq = ReqVec::new_packed(fb, &self.req, row);
                let clamp = rq.byte_clamp(&self.req, self.y_dt);
                let yb = fb.base(self.y);
                let bc = fb.b.ins().imul_imm_s(b, self.c as i64);
                let bc = fb.b.ins().iadd(bc, ch);
                let yplane = fb.index(yb, bc, self.oh * self.ow * ysz);
                fb.for_n(self.oh, |fb, oh| {
                    let r0 = fb.index(copy, oh, self.stride * self.rs);
                    let yr = fb.index(yplane, oh, self.ow * ysz);
                    let block = |fb: &mut Fb, col: Value, n: usize| {
                        let mut accs = vec![bv; cols / 4];
                        let incol = fb.b.ins().imul_imm_s(col, self.stride as i64);
                        let base = fb.b.ins().iadd(r0, incol);
                        if cols == COLS {
                            // 16 columns: vector v's lane j is the column whose window starts
                            // at the load's byte 4j (no shuffle); the columns come out
                            // interleaved and one byte permutation orders them at the store.
                            for (r, wq) in wrows.chunks(self.quads).enumerate() {
                                let off = (r * self.rs) as i32;
                                for (v, acc) in accs.iter_mut().enumerate() {
                                    for (q, &wr) in wq.iter().enumerate() {
                                        let at = off + shifted[v] + 4 * q as i32;
                                        let x = fb.b.ins().load(
                                            types::I8X16,
                                            super::const_flags(),
                                            base,
                                            at,
                                        );
                                        *acc = dot_i8_u8_acc(fb, wr, x, *acc);
                                    }
                                }
                            }
                            let q: Vec<Value> = accs
                                .iter()
                                .map(|&a| rq.apply_packed(fb, &self.req, a, self.y_dt))
                                .collect();
                            let ya = fb.index(yr, col, ysz);
                            store_q_clamped(fb, &q, Some(&perm), self.y_dt, ya, n, clamp);
                            return;
                        }
                        for (r, wq) in wrows.chunks(self.quads).enumerate() {
                            let off = (r * self.rs) as i32;
                            for (k, acc) in accs.iter_mut().enumerate() {
                                for (q, &wr) in wq.iter().enumerate() {
                                    let (at, mk) = group(k, q);
                                    // Pure loads: the two groups of one stride-1 load (and
                                    // both quads) share it.
                                    let v = fb.b.ins().load(
                                        types::I8X16,
                                        super::const_flags(),
                                        base,
                                        off + at,
                                    );
                                    let imm = fb.b.func.dfg.immediates.push(ConstantData::from(mk));
                                    let win = fb.b.ins().shuffle(v, v, imm);
                                    *acc = dot_i8_u8_acc(fb, wr, win, *acc);
                                }
                            }
                        }
                        let q: Vec<Value> = accs
                            .iter()
                            .map(|&a| rq.apply_packed(fb, &self.req, a, self.y_dt))
                            .collect();
                        let ya = fb.index(yr, col, ysz);
                        store_q_clamped(fb, &q, None, self.y_dt, ya, n, clamp);
                    };
                    let full = self.ow / cols;
                    fb.for_n(full, |fb, k| {
                        let col = fb.b.ins().imul_imm_s(k, cols as i64);
                        block(fb, col, cols);
                    });
                    if tail > 0 {
                        let col = fb.c64((full * cols) as i64);
                        block(fb, col, tail);
                    }
                });
            });
        });
    }
}
