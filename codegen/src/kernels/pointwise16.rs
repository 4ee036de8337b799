//! Pointwise (1x1, stride 1, unpadded, ungrouped) `qconv` on 16-bit activations with an
//! int64 bias: TFLite's int16x8 kernels in fixed-point modules. The interpreter accumulates
//! `(x - z_x)(w - z_w)` in int64, adds the bias in int64 and requantizes with TFLite's int64
//! `MultiplyByQuantizedMultiplier` (the multiplier reduced to 16 bits). Here the sum over
//! channels runs in i32 lanes, 8 pixels at a time (`pmovsxwd`, `pmulld`), which is exact
//! because the lowering checks, per output channel, that `sum |w - z_w| * max |x - z_x|`
//! stays below 2^31; the epilogue is the interpreter's int64 arithmetic, lane by lane.

use super::conv::{conv_axes, conv_quant, flatten_pointwise, ConvQuant};
use super::requant::{add_zp_clamp, Mult};
use super::{Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::quant::Multiplier;
use qcc_ir::{ConvAttrs, DType};

/// Pixels per vector block.
const PIX: usize = 8;

struct Pointwise16 {
    n: usize,
    c: usize,
    m: usize,
    /// Pixels per plane.
    p: usize,
    x: Addr,
    zx: i32,
    /// `w - z_w` as i32, `[M][C]`.
    w: Addr,
    /// Per output channel: `[bias, reduced multiplier, rounding term, shift]` as i64.
    req: Addr,
    y: Addr,
    y_dt: DType,
    /// Output zero point per channel (i32).
    zy: Addr,
    range: (i64, i64),
}

/// Lowers an int16x8 pointwise `qconv` with an i64 bias (fixed-point modules).
pub fn lower(l: &mut Lower, a: &ConvAttrs, clamp: Option<(i64, i64)>) -> Lowered {
    let (xs, ws, ys) = (l.in_dims(0)?, l.in_dims(1)?, l.out_dims(0)?);
    let y_ty = l.out_ty(0)?.clone();
    if l.module.requant != qcc_ir::RequantMode::FixedPoint
        || l.in_ty(0)?.dtype != DType::I16
        || !matches!(y_ty.dtype, DType::I16 | DType::I8)
        || xs.len() != 4
        || ws.len() != 4
        || a.group != 1
        || ws[1] != xs[1]
    {
        return Ok(None);
    }
    let Some((h, w, ends)) = conv_axes(&xs, &ws, &ys, a) else {
        return Ok(None);
    };
    let (pointwise, _, _) = flatten_pointwise(h, w, ends);
    if !pointwise {
        return Ok(None);
    }
    let (Some(wt), Some(bias)) = (
        l.const_operand(1).cloned(),
        l.node
            .inputs
            .get(2)
            .and_then(|_| l.const_operand(2))
            .cloned(),
    ) else {
        return Ok(None);
    };
    let Some(bias) = bias.as_slice::<i64>().map(<[i64]>::to_vec) else {
        return Ok(None);
    };
    let (c, m) = (xs[1], ws[0]);
    let Some(ConvQuant { sx, zx, sw, zw, yq }) = conv_quant(l, m, &y_ty)? else {
        return Ok(None);
    };
    let wv = wt.data.to_i64_vec();
    if wv.len() != m * c || bias.len() != m {
        return Ok(None);
    }
    // Exact i32 sums: the largest |x - z_x| times each channel's sum of |w - z_w|.
    let xmax = (i16::MIN as i64 - zx as i64)
        .abs()
        .max((i16::MAX as i64 - zx as i64).abs());
    let packed: Vec<i32> = wv
        .iter()
        .enumerate()
        .map(|(i, &v)| (v - zw[i / c] as i64) as i32)
        .collect();
    for row in packed.chunks(c) {
        let s: i64 = row.iter().map(|&v| (v as i64).abs()).sum();
        if s * xmax >= 1 << 31 {
            return Ok(None);
        }
    }
    let chans = super::requant::channels(l.module.requant, 1.0, sx, &sw, &yq, None)?;
    let mut req: Vec<i64> = Vec::with_capacity(4 * m);
    let mut zy = Vec::with_capacity(m);
    for (ch, &b) in chans.iter().zip(&bias) {
        let Mult::Ir(Multiplier::Fixed { m0, shift }) = ch.mult else {
            return Ok(None);
        };
        // The interpreter's `multiply_by_quantized_multiplier_i64`.
        let reduced: i64 = if m0 < 0x7FFF_0000 {
            (m0 as i64 + (1 << 15)) >> 16
        } else {
            0x7FFF
        };
        let total = (15 - shift).clamp(1, 63) as i64;
        req.extend([b, reduced, 1i64 << (total - 1), total]);
        zy.push(ch.zp);
    }
    let range = super::out_bounds(yq.storage_range(y_ty.dtype), clamp)?;
    let req_bytes: Vec<u8> = req.iter().flat_map(|v| v.to_le_bytes()).collect();
    Ok(Some(Box::new(Pointwise16 {
        n: xs[0],
        c,
        m,
        p: xs[2] * xs[3],
        x: l.in_addr(0)?,
        zx,
        w: l.pool.i32s(&packed),
        req: l.pool.add(&req_bytes),
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        zy: l.pool.i32s(&zy),
        range,
    })))
}

impl Pointwise16 {
    /// The stored value of one i32 sum of channel `mi` (the interpreter's int64 epilogue).
    fn epilogue(&self, fb: &mut Fb, rq: Value, zy: Value, acc: Value) -> Value {
        let f = super::const_flags();
        let bias = fb.b.ins().load(types::I64, f, rq, 0);
        let reduced = fb.b.ins().load(types::I64, f, rq, 8);
        let round = fb.b.ins().load(types::I64, f, rq, 16);
        let shift = fb.b.ins().load(types::I64, f, rq, 24);
        let a = fb.b.ins().sextend(types::I64, acc);
        let a = fb.b.ins().iadd(a, bias);
        let v = fb.b.ins().imul(a, reduced);
        let v = fb.b.ins().iadd(v, round);
        let v = fb.b.ins().sshr(v, shift);
        let r = fb.b.ins().ireduce(types::I32, v);
        add_zp_clamp(fb, r, zy, self.range.0, self.range.1)
    }
}

impl Kernel for Pointwise16 {
    fn emit(&self, fb: &mut Fb) {
        let f = super::flags();
        let (p, c) = (self.p, self.c);
        let ysz = self.y_dt.size();
        let zyt = fb.base(self.zy);
        fb.for_n(self.n, |fb, b| {
            let xb = fb.base(self.x);
            let img = fb.index(xb, b, c * p * 2);
            fb.for_n(self.m, |fb, mi| {
                let wb = fb.base(self.w);
                let wrow = fb.index(wb, mi, c * 4);
                let rb = fb.base(self.req);
                let rq = fb.index(rb, mi, 32);
                let za = fb.index(zyt, mi, 4);
                let zy = fb.b.ins().load(types::I32, super::const_flags(), za, 0);
                let yb = fb.base(self.y);
                let bm = fb.b.ins().imul_imm_s(b, self.m as i64);
                let bm = fb.b.ins().iadd(bm, mi);
                let yrow = fb.index(yb, bm, p * ysz);
                let zx = fb.c32(self.zx);
                let zxv = fb.b.ins().splat(types::I32X4, zx);
                fb.for_n(p / PIX, |fb, blk| {
                    let z = fb.c32(0);
                    let zv = fb.b.ins().splat(types::I32X4, z);
                    let accs = [fb.var(types::I32X4, zv), fb.var(types::I32X4, zv)];
                    let x0 = fb.index(img, blk, PIX * 2);
                    fb.for_n(c, |fb, ci| {
                        let xa = fb.index(x0, ci, p * 2);
                        let v = fb.b.ins().load(types::I16X8, f, xa, 0);
                        let wa = fb.index(wrow, ci, 4);
                        let wv = fb.b.ins().load(types::I32, super::const_flags(), wa, 0);
                        let wv = fb.b.ins().splat(types::I32X4, wv);
                        for (k, half) in [fb.b.ins().swiden_low(v), fb.b.ins().swiden_high(v)]
                            .into_iter()
                            .enumerate()
                        {
                            let d = fb.b.ins().isub(half, zxv);
                            let prod = fb.b.ins().imul(d, wv);
                            let acc = fb.b.use_var(accs[k]);
                            let acc = fb.b.ins().iadd(acc, prod);
                            fb.b.def_var(accs[k], acc);
                        }
                    });
                    let ya = fb.index(yrow, blk, PIX * ysz);
                    for (k, var) in accs.iter().enumerate() {
                        let acc = fb.b.use_var(*var);
                        for lane in 0..4u8 {
                            let a = fb.b.ins().extractlane(acc, lane);
                            let q = self.epilogue(fb, rq, zy, a);
                            let off = ((4 * k + lane as usize) * ysz) as i32;
                            fb.store_int(self.y_dt, q, ya, off);
                        }
                    }
                });
                fb.for_span(p / PIX * PIX, p, |fb, pix| {
                    let acc = fb.c32(0);
                    let acc = fb.var(types::I32, acc);
                    let x0 = fb.index(img, pix, 2);
                    fb.for_n(c, |fb, ci| {
                        let xa = fb.index(x0, ci, p * 2);
                        let xv = fb.load_int(DType::I16, xa, 0);
                        let d = fb.b.ins().iadd_imm_s(xv, -(self.zx as i64));
                        let wa = fb.index(wrow, ci, 4);
                        let wv = fb.b.ins().load(types::I32, super::const_flags(), wa, 0);
                        let prod = fb.b.ins().imul(d, wv);
                        let s = fb.b.use_var(acc);
                        let s = fb.b.ins().iadd(s, prod);
                        fb.b.def_var(acc, s);
                    });
                    let a = fb.b.use_var(acc);
                    let q = self.epilogue(fb, rq, zy, a);
                    let ya = fb.index(yrow, pix, ysz);
                    fb.store_int(self.y_dt, q, ya, 0);
                });
            });
        });
    }
}
