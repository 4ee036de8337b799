//! `qconv` with the u8 x i8 dot product (`vpdpbusd`, targets with VNNI), for convolutions
//! whose weights (zero points subtracted) fit in i8: ungrouped, or grouped with whole
//! 4-channel groups of inputs and outputs per conv group (RegNet, ResNeXt).
//!
//! Each image is first repacked into scratch space ([`super::repack`]) as `[ceil(C/4)][Hp][Wp][4]` bytes: four
//! input channels interleaved per pixel, in the u8 domain (i8 inputs get 128 added), with
//! the padding and a right margin filled with the input zero point. One 16-byte load then
//! holds 4 output pixels x 4 input channels, which is what `vpdpbusd` multiplies against a
//! broadcast group of 4 weights. Because padded taps read the zero point,
//! `sum w * (x - z_x) = sum w * x_u8 - z_u8 * sum w` over *all* taps, and the second term is
//! folded into each channel's bias: no border cases at all.
//!
//! A pass computes 4 output channels x 8 pixels (8 accumulators; kxk convs with at most 12
//! input channels per group), 4 x 12 (12 accumulators, weights broadcast from memory;
//! deeper kxk convs and 1x1 convs with more than 24 input channels) or 2 x 16 (shallower
//! 1x1 convs). Each output row runs its full blocks, then one narrower pass over the
//! remaining pixels, which stores only those; planes of short rows that would end in a
//! one-vector pass (14x14) take passes of 4-pixel vectors across rows instead. Kernel rows
//! and columns are run-time loops, so one tap's input vectors are live at a time.
//!
//! ONNX ConvInteger (dynamic quantization) takes the same kernel with raw i32 results: its
//! input zero point may be a run-time scalar (DynamicQuantizeLinear's), so the repack's
//! border byte is loaded at run time and each channel's correction `z_u8 * sum w` is
//! computed per pass instead of folded into a bias.

use super::conv::{conv_axes, conv_quant, flatten_pointwise, ConvQuant};
use super::repack::{Repack, ZeroByte};
use super::requant::{self, OutMode, Requant};
use super::simd::{dot_i8_u8_acc, store_q_clamped, ReqVec};
use super::{small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, Value};
use qcc_ir::{ConvAttrs, DType};

/// Output channels per pass (with [`PV`] pixel vectors), or half as many with twice the
/// pixels (1x1 convs with little depth, whose requantization epilogue dominates: twice
/// the pixels per channel's constants and full 16-byte stores).
const OCB: usize = 4;
/// Pixel vectors (of 4) per pass.
const PV: usize = 2;
/// Pixel vectors per pass of the deep 1x1 convs: 4 channels x 12 pixels in 12
/// accumulators, each channel's weights broadcast from memory (`vmovss` + `vbroadcastss`), so the
/// 3 input vectors and one weight vector fill the 16 xmm registers and each accumulator
/// takes one `vpdpbusd` per channel group (8 accumulators took two dependent ones).
const PV_LANES: usize = 3;
/// Depth (channel groups of 4 per conv group, i.e. at least 13 input channels) from which
/// kxk convs take 4 channels x 12 pixels too, with each channel's weights broadcast from
/// memory (12 accumulators beat the latency of 8 chains: a ResNet 64->64 3x3 conv 2.05 ->
/// 1.83 ms before kernel columns became a loop, 1.15 ms after; 4x less weight memory:
/// ResNet-18's 512-channel 3x3 convs 2.67 -> 2.42 ms). Shallower ones (the stem: 3 -> 32 at
/// stride 2, 0.27 -> 0.33 ms with 12 pixels) keep 4 x 8 with pre-broadcast weights.
const DEEP_KXK_GROUPS: usize = 4;
/// Most 4-pixel vectors in a plane whose passes run across rows
/// ([`ConvVnni::packed_passes`], unrolled: one pass per `pv` vectors).
const MAX_PACKED_VECTORS: usize = 64;
/// Depth (channel groups of 4) up to which a 1x1 conv takes the wide passes.
const WIDE_MAX_GROUPS: usize = 6;

/// Geometry of the repacked input and the convolution over it.
#[derive(Clone, Debug)]
struct Geo {
    /// Input channels, output channels.
    c: usize,
    m: usize,
    /// Input channel groups of 4 per output channel (per conv group).
    cg4: usize,
    /// Conv groups and output channels per group (grouped convs: each group reads its own
    /// `cg4` channel groups of the repacked image).
    group: usize,
    mg: usize,
    /// Input plane (H, W) and output plane (OH, OW).
    ih: usize,
    iw: usize,
    oh: usize,
    ow: usize,
    /// Kernel (KH, KW), strides, dilations, leading pads.
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pt: usize,
    pl: usize,
    /// Repacked plane (rows, columns), padding and margin included.
    hp: usize,
    wp: usize,
}

struct ConvVnni {
    n: usize,
    g: Geo,
    x: Addr,
    /// The repacking of each image into `scratch`.
    rp: Repack,
    /// Repacked image.
    scratch: Addr,
    /// Weights `[M][cg4][KH][KW]` x 16 bytes: the 4 channel weights repeated 4 times.
    w16: Addr,
    y: Addr,
    y_dt: DType,
    out: ConvOut,
    /// Output channels and pixel vectors per pass: (4, 2), (4, 3) or (2, 4).
    ocb: usize,
    pv: usize,
    /// An i64 zero for [`Fb::fence`].
    zero: Addr,
    /// Weights stored as 4 channels' groups per 16 bytes, each group broadcast from memory.
    lanes: bool,
}

/// What leaves the accumulators.
enum ConvOut {
    /// `qconv`: requantized 8-bit results (the zero point's share folded into the biases).
    Quant(Requant),
    /// `conv_integer`: raw i32 sums; each output channel's weight sum, for the zero point's
    /// share `z_u8 * sum w` taken at run time.
    Raw(Addr),
}

/// Lowers `qconv` to the VNNI kernel when it applies (`Ok(None)` otherwise).
pub fn lower(l: &mut Lower, a: &ConvAttrs, clamp: Option<(i64, i64)>) -> Lowered {
    build(l, a, clamp, false)
}

/// Lowers `conv_integer` (`[x, w, x_zero_point?, w_zero_point?] -> i32`, the input zero
/// point a constant or a run-time scalar, the weights' constant) to the VNNI kernel.
pub fn lower_integer(l: &mut Lower, a: &ConvAttrs) -> Lowered {
    build(l, a, None, true)
}

/// The zero points of a `conv_integer`: the input's (a constant, in the u8 domain, or the
/// address of a run-time scalar) and the weights' per output channel.
fn integer_zero_points(l: &mut Lower, m: usize) -> Result<Option<(ZeroByte, Vec<i32>)>, String> {
    let x_dt = l.in_ty(0)?.dtype;
    let u8_domain = |v: i64| (v + if x_dt == DType::I8 { 128 } else { 0 }) as u8;
    let zx = match l.node.inputs.get(2) {
        None => ZeroByte::Const(u8_domain(0)),
        Some(_) => {
            let t = l.in_ty(2)?;
            if t.dtype != x_dt || l.in_dims(2)?.iter().product::<usize>() != 1 {
                return Ok(None);
            }
            match l.const_operand(2) {
                Some(c) => ZeroByte::Const(u8_domain(c.data.to_i64_vec()[0])),
                None => ZeroByte::Run(l.in_addr(2)?),
            }
        }
    };
    let Some(zw) = l.const_zero_points(3, m) else {
        return Ok(None);
    };
    Ok(Some((zx, zw.into_iter().map(|z| z as i32).collect())))
}

fn build(l: &mut Lower, a: &ConvAttrs, clamp: Option<(i64, i64)>, integer: bool) -> Lowered {
    if !l.vnni || a.group == 0 {
        return Ok(None);
    }
    let xs = l.in_dims(0)?;
    let ws = l.in_dims(1)?;
    let ys = l.out_dims(0)?;
    let x_dt = l.in_ty(0)?.dtype;
    let y_ty = l.out_ty(0)?.clone();
    let y_ok = if integer {
        y_ty.dtype == DType::I32 && matches!(l.in_ty(1)?.dtype, DType::U8 | DType::I8)
    } else {
        matches!(y_ty.dtype, DType::U8 | DType::I8) && small_int(y_ty.dtype)
    };
    if !matches!(x_dt, DType::U8 | DType::I8)
        || !y_ok
        || !(3..=4).contains(&xs.len())
        || ws.len() != xs.len()
        || ys.len() != xs.len()
        || ws[1].checked_mul(a.group) != Some(xs[1])
        || ws[0] % a.group != 0
        || ys[1] != ws[0]
        || ys[0] != xs[0]
    {
        return Ok(None);
    }
    let Some((h, w, ends)) = conv_axes(&xs, &ws, &ys, a) else {
        return Ok(None);
    };
    if h.out_size(ends[0]) != Some(h.output)
        || w.out_size(ends[1]) != Some(w.output)
        || h.output == 0
        || w.output == 0
    {
        return Ok(None);
    }
    let (_, h, w) = flatten_pointwise(h, w, ends);
    let Some(wt) = l.const_operand(1).cloned() else {
        return Ok(None);
    };
    let bias: Option<Vec<i32>> = match l.node.inputs.len() {
        _ if integer => None,
        2 => None,
        3 => match l.const_operand(2).and_then(|t| t.as_slice::<i32>()) {
            Some(b) if b.len() == ws[0] => Some(b.to_vec()),
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    // Grouped convs: whole channel groups of 4 per conv group, and whole passes of output
    // channels (4, or 2 for the wide passes) per group.
    let (cg, mg) = (c / a.group, m / a.group);
    if a.group > 1 && (!cg.is_multiple_of(4) || !mg.is_multiple_of(4)) {
        return Ok(None);
    }
    // `qconv`: the quantization; `conv_integer`: the zero points (none of the rest).
    // (`conv_integer` takes its zero point's share at run time: `zx` only fills `corr`,
    // which it does not use.)
    let (quant, zx_byte, zx, zw) = if integer {
        let Some((zb, zw)) = integer_zero_points(l, m)? else {
            return Ok(None);
        };
        (None, Some(zb), 0, zw)
    } else {
        let Some(cq) = conv_quant(l, m, &y_ty)? else {
            return Ok(None);
        };
        let (zx, zw) = (cq.zx, cq.zw.clone());
        (Some(cq), None, zx, zw)
    };
    let taps = h.kernel * w.kernel;
    let wv = wt.data.to_i64_vec();
    if wv.len() != m * cg * taps {
        return Ok(None);
    }
    let packed: Vec<i64> = wv
        .iter()
        .enumerate()
        .map(|(i, &v)| v - zw[i / (cg * taps)] as i64)
        .collect();
    if packed.iter().any(|&v| i8::try_from(v).is_err()) {
        return Ok(None);
    }
    let cg4 = cg.div_ceil(4);
    // Passes read whole vectors of 4 pixels: up to pixel `ow4 - 1` (full blocks end inside
    // the row, the last pass covers the rest rounded up to 4).
    let ow4 = w.output.div_ceil(4) * 4;
    let g = Geo {
        c,
        m,
        cg4,
        group: a.group,
        mg,
        ih: h.input,
        iw: w.input,
        oh: h.output,
        ow: w.output,
        kh: h.kernel,
        kw: w.kernel,
        sh: h.stride,
        sw: w.stride,
        dh: h.dil,
        dw: w.dil,
        pt: h.pad,
        pl: w.pad,
        hp: (h.pad + h.input).max((h.output - 1) * h.stride + (h.kernel - 1) * h.dil + 1),
        // The last pass reads up to pixel `ow4 - 1`; stride 2 reads 4 columns beyond its
        // last pixel pair.
        wp: (w.pad + w.input).max(ow4 * w.stride + (w.kernel - 1) * w.dil + 4),
    };
    // The weights, repeated 4 times per 4-channel group, and the bias correction.
    let zx_u8 = zx + if x_dt == DType::I8 { 128 } else { 0 };
    // 1x1 and deep kxk convs with passes of 4 channels store the 4 channels' 4-byte groups in
    // one 16-byte vector per tap and broadcast each group from memory (4x less weight
    // memory); other passes read each channel's group pre-broadcast.
    let wide = taps == 1 && cg4 <= WIDE_MAX_GROUPS && w.output >= 16;
    // (Measured: 1x1 and deep kxk convs gain from the smaller weights; shallow kxk ones do not.)
    let lanes = !wide && (taps == 1 || cg4 >= DEEP_KXK_GROUPS);
    let mut w16 = vec![0u8; m.div_ceil(4) * 4 * cg4 * taps * 16 / if lanes { 4 } else { 1 }];
    let mut corr = vec![0i32; m];
    for mi in 0..m {
        for ci in 0..cg {
            for t in 0..taps {
                let v = packed[(mi * cg + ci) * taps + t];
                corr[mi] = corr[mi].wrapping_add(zx_u8.wrapping_mul(v as i32));
                if !lanes {
                    let at = ((mi * cg4 + ci / 4) * taps + t) * 16 + ci % 4;
                    for rep in 0..4 {
                        w16[at + 4 * rep] = v as i8 as u8;
                    }
                } else {
                    let at = (((mi / 4) * cg4 + ci / 4) * taps + t) * 16 + 4 * (mi % 4) + ci % 4;
                    w16[at] = v as i8 as u8;
                }
            }
        }
    }
    let out = match quant {
        Some(ConvQuant { sx, sw, yq, .. }) => {
            let mut chans =
                requant::channels(l.module.requant, 1.0, sx, &sw, &yq, bias.as_deref())?;
            for (ch, k) in chans.iter_mut().zip(&corr) {
                ch.bias = ch.bias.wrapping_sub(*k);
            }
            let (qmin, qmax) = super::out_bounds(yq.storage_range(y_ty.dtype), clamp)?;
            let ranges = acc_ranges(&packed, m);
            let req = Requant::new(l.pool, &chans, OutMode::Quant { qmin, qmax })
                .with_acc_ranges(&chans, &ranges);
            ConvOut::Quant(req)
        }
        None => {
            let sums: Vec<i32> = packed
                .chunks(cg * taps)
                .map(|ws| ws.iter().fold(0i32, |s, &v| s.wrapping_add(v as i32)))
                .collect();
            ConvOut::Raw(l.pool.i32s(&sums))
        }
    };
    let rp = Repack {
        c,
        ih: g.ih,
        iw: g.iw,
        hp: g.hp,
        wp: g.wp,
        pt: g.pt,
        pl: g.pl,
        x_dt,
        zx_u8: zx_byte.unwrap_or(ZeroByte::Const(zx_u8 as u8)),
    };
    let scratch = l.scratch(rp.bytes());
    Ok(Some(Box::new(ConvVnni {
        n,
        x: l.in_addr(0)?,
        rp,
        scratch,
        w16: l.pool.add(&w16),
        y: l.out_addr(0)?,
        y_dt: y_ty.dtype,
        out,
        zero: l.pool.i32s(&[0, 0]),
        lanes,
        ocb: if wide { OCB / 2 } else { OCB },
        pv: if wide {
            2 * PV
        } else if lanes {
            PV_LANES
        } else {
            PV
        },
        g,
    })))
}

/// Each of `m` channels' accumulator range `sum w * x` over `x` in `[0, 255]` (the
/// repacked u8 domain), its weights the channel's contiguous slice of `w`.
pub fn acc_ranges(w: &[i64], m: usize) -> Vec<(i64, i64)> {
    w.chunks(w.len() / m.max(1))
        .map(|ws| {
            let neg: i64 = ws.iter().filter(|&&v| v < 0).sum();
            let pos: i64 = ws.iter().filter(|&&v| v > 0).sum();
            (255 * neg, 255 * pos)
        })
        .collect()
}

impl ConvVnni {
    /// Repacks image `b` into the scratch buffer.
    fn repack(&self, fb: &mut Fb, b: Value) {
        let xbase = fb.base(self.x);
        let img = fb.index(xbase, b, self.g.c * self.g.ih * self.g.iw);
        let s = fb.base(self.scratch);
        self.rp.emit(fb, img, s);
    }

    /// Four output pixels starting at padded column `col` (an i64 byte offset `off` of the
    /// row start): one 16-byte vector of `[pixel][4 channels]`.
    fn load4(&self, fb: &mut Fb, row: Value, col: usize) -> Value {
        let sw = self.g.sw;
        // Movable loads (the scratch pointer is fenced after the repack): each is placed
        // next to its use rather than with every other load of the pass at its top.
        let f = super::const_flags();
        match sw {
            1 => fb.b.ins().load(types::I8X16, f, row, (col * 4) as i32),
            2 => {
                let a = fb.b.ins().load(types::I8X16, f, row, (col * 4) as i32);
                let b =
                    fb.b.ins()
                        .load(types::I8X16, f, row, ((col + 4) * 4) as i32);
                let mask: Vec<u8> = vec![0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
                let imm = fb.b.func.dfg.immediates.push(ConstantData::from(mask));
                fb.b.ins().shuffle(a, b, imm)
            }
            _ => {
                let z = fb.c32(0);
                let mut v = fb.b.ins().splat(types::I32X4, z);
                for p in 0..4u8 {
                    let e =
                        fb.b.ins()
                            .load(types::I32, f, row, ((col + p as usize * sw) * 4) as i32);
                    v = fb.b.ins().insertlane(v, e, p);
                }
                let le = f.with_endianness(cranelift_codegen::ir::Endianness::Little);
                fb.b.ins().bitcast(types::I8X16, le, v)
            }
        }
    }

    /// Output channels `m0 .. m0 + ocb` (m0 an i64 value) of image `b`, in the conv group
    /// whose channel groups start `sg` bytes into the repacked image: per output row, the
    /// full blocks of `4 * pv` pixels, then one narrower pass over the rest.
    fn block(&self, fb: &mut Fb, (b, sg): (Value, Value), m0: Value, ocb: usize) {
        let g = &self.g;
        let taps = g.kh * g.kw;
        let s = fb.base(self.scratch);
        let s = fb.fence(s, self.zero);
        let s = fb.b.ins().iadd(s, sg);
        let wbase = fb.base(self.w16);
        // Wide passes: 16 bytes per channel and tap; 4-channel passes: 16 bytes per 4
        // channels (m0 is a multiple of 4) and tap.
        let per_channel = if self.lanes { 4 } else { 16 };
        let w0 = fb.index(wbase, m0, g.cg4 * taps * per_channel);
        let ybase = fb.base(self.y);
        let bm = fb.b.ins().imul_imm_s(b, g.m as i64);
        let bm = fb.b.ins().iadd(bm, m0);
        let y0 = fb.index(ybase, bm, g.oh * g.ow * self.y_dt.size());
        let pix = 4 * self.pv;
        let (full, rest) = (g.ow / pix, g.ow % pix);
        let at = Pass { s, w0, y0, m0, ocb };
        let row_vecs = g.ow.div_ceil(4);
        // Only when each row would end in a one-vector pass (4 accumulator chains: about
        // half the dot-product throughput). Measured on ResNet-18: 14x14 3x3 convs 2.95 ->
        // 1.42 ms packed; 7x7 ones, whose rows end in a two-vector pass, 1.76 ms in rows
        // against 2.31 ms packed.
        // The slots' offsets are immediates within one repacked plane: it must fit an i32.
        let plane_fits = i32::try_from(g.hp * g.wp * 4).is_ok();
        if rest > 0 && rest <= 4 && g.oh > 1 && g.oh * row_vecs <= MAX_PACKED_VECTORS && plane_fits
        {
            let slots: Vec<(usize, usize, usize)> = (0..g.oh)
                .flat_map(|oh| (0..row_vecs).map(move |v| (oh, 4 * v, (g.ow - 4 * v).min(4))))
                .collect();
            let zero = fb.c64(0);
            self.packed_passes(fb, &at, zero, &slots);
            return;
        }
        let full_passes = |fb: &mut Fb, oh: Value| {
            fb.for_n(full, |fb, pb| {
                let px = fb.b.ins().imul_imm_s(pb, pix as i64);
                self.pass(fb, &at, oh, px, self.pv, pix);
            });
        };
        if rest > 0 && rest <= 4 && full > 0 && self.pv > 1 {
            // Rows ending in one vector (28x28, 27x27): the tails of `pv` rows share one
            // pass across those rows, then the last rows take their own tail passes.
            let grp = self.pv;
            fb.for_n(g.oh / grp, |fb, i| {
                let oh0 = fb.b.ins().imul_imm_s(i, grp as i64);
                for r in 0..grp {
                    let oh = fb.b.ins().iadd_imm_s(oh0, r as i64);
                    full_passes(fb, oh);
                }
                let tails: Vec<_> = (0..grp).map(|r| (r, full * pix, rest)).collect();
                self.packed_passes(fb, &at, oh0, &tails);
            });
            fb.for_span(g.oh / grp * grp, g.oh, |fb, oh| {
                full_passes(fb, oh);
                let px = fb.c64((full * pix) as i64);
                self.pass(fb, &at, oh, px, 1, rest);
            });
            return;
        }
        fb.for_n(g.oh, |fb, oh| {
            full_passes(fb, oh);
            if rest > 0 {
                let px = fb.c64((full * pix) as i64);
                self.pass(fb, &at, oh, px, rest.div_ceil(4), rest);
            }
        });
    }

    /// One pass: `pv` vectors of 4 output pixels from pixel `px` of row `oh`, of which the
    /// first `valid` are stored.
    fn pass(&self, fb: &mut Fb, at: &Pass, oh: Value, px: Value, pv: usize, valid: usize) {
        let g = &self.g;
        // Column of the pass's first pixel in the padded plane.
        let col0 = fb.b.ins().imul_imm_s(px, (g.sw * 4) as i64);
        let r0 = fb.b.ins().imul_imm_s(oh, (g.sh * g.wp * 4) as i64);
        let base = fb.b.ins().iadd(at.s, r0);
        let base = fb.b.ins().iadd(base, col0);
        let cols: Vec<usize> = (0..pv).map(|k| 4 * k * g.sw).collect();
        let accs = self.accumulate(fb, at, base, &cols);
        self.store(fb, &accs, at, oh, px, pv, valid);
    }

    /// Passes over vectors of 4 output pixels taken row after row across the whole plane
    /// (`slots`: row, first pixel, pixels stored), `pv` vectors per pass, for planes whose
    /// rows are narrower than a few passes (7x7, 14x14): a 7-pixel row would otherwise take a
    /// pass of 8 pixels per row, a 14-pixel row one of 12 and one of 4.
    fn packed_passes(&self, fb: &mut Fb, at: &Pass, oh0: Value, slots: &[(usize, usize, usize)]) {
        let g = &self.g;
        // Slot rows count from output row `oh0`.
        let r0 = fb.b.ins().imul_imm_s(oh0, (g.sh * g.wp * 4) as i64);
        let base = fb.b.ins().iadd(at.s, r0);
        for chunk in slots.chunks(self.pv) {
            let cols: Vec<usize> = chunk
                .iter()
                .map(|&(oh, px, _)| oh * g.sh * g.wp + px * g.sw)
                .collect();
            let accs = self.accumulate(fb, at, base, &cols);
            self.store_slots(fb, &accs, at, oh0, chunk);
        }
    }

    /// The accumulators (`ocb` channels x `cols.len()` vectors, channel-major) of one pass:
    /// vector `k` reads 4 pixels from padded column `cols[k]` (in pixels, stride included)
    /// after `base`.
    fn accumulate(
        &self,
        fb: &mut Fb,
        at: &Pass,
        base: Value,
        cols: &[usize],
    ) -> Vec<cranelift_frontend::Variable> {
        let g = &self.g;
        let taps = g.kh * g.kw;
        let pv = cols.len();
        let (ocb, w0) = (at.ocb, at.w0);
        // Accumulators start at the channel's bias (one splat per channel instead of one
        // add per vector in the epilogue).
        let mut accs = Vec::with_capacity(ocb * pv);
        let zero = match self.out {
            ConvOut::Raw(_) => Some(self.rp.zero(fb)),
            ConvOut::Quant(_) => None,
        };
        for o in 0..ocb {
            let m = fb.b.ins().iadd_imm_s(at.m0, o as i64);
            let bias = match (&self.out, zero) {
                (ConvOut::Quant(req), _) => {
                    let row = req.row(fb, m);
                    req.bias(fb, row)
                }
                (&ConvOut::Raw(ws), Some(z)) => {
                    // `- z_u8 * sum w`, the zero point's share of every tap.
                    let wb = fb.base(ws);
                    let wa = fb.index(wb, m, 4);
                    let s = fb.b.ins().load(types::I32, super::const_flags(), wa, 0);
                    let c = fb.b.ins().imul(z, s);
                    fb.b.ins().ineg(c)
                }
                (ConvOut::Raw(_), None) => unreachable!("the zero point is loaded above"),
            };
            let bv = fb.b.ins().splat(types::I32X4, bias);
            accs.extend((0..pv).map(|_| fb.var(types::I32X4, bv)));
        }
        // One channel group's taps: its repacked plane at `gb`, its weights at `wg`. Kernel
        // rows and columns are run-time loops: Cranelift places pure values by accumulator,
        // so unrolled taps keep every tap's input vectors live at once and spill (a fully
        // unrolled 3x3 spilled; unrolled columns spilled 5 of 12 accumulators per row). One
        // tap at a time keeps `pv` input vectors: ResNet's 64->64 3x3 conv 1.83 -> 1.15 ms,
        // ResNet-18's 7x7 stem 3.5 -> 2.0 ms.
        let (plane, wstep) = ((g.hp * g.wp * 4) as i64, (taps * 16) as i64);
        // One tap: its inputs from `row`, its weights at `wr`.
        let tap = |fb: &mut Fb, row: Value, wr: Value| {
            let xs: Vec<Value> = cols.iter().map(|&c| self.load4(fb, row, c)).collect();
            for o in 0..ocb {
                let w = if self.lanes {
                    // Channel o's 4-byte group broadcast from memory. Movable: placed at
                    // its splat (Cranelift does not merge pure loads into their users, so
                    // this is `vmovss` + `vbroadcastss`).
                    let grp =
                        fb.b.ins()
                            .load(types::F32, super::const_flags(), wr, (4 * o) as i32);
                    let v = fb.b.ins().splat(types::F32X4, grp);
                    let le =
                        super::flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
                    fb.b.ins().bitcast(types::I8X16, le, v)
                } else {
                    let off = ((o * g.cg4 * taps) * 16) as i32;
                    fb.b.ins().load(types::I8X16, super::const_flags(), wr, off)
                };
                for (k, &x) in xs.iter().enumerate() {
                    let a = fb.b.use_var(accs[pv * o + k]);
                    let a = dot_i8_u8_acc(fb, w, x, a);
                    fb.b.def_var(accs[pv * o + k], a);
                }
            }
        };
        let group = |fb: &mut Fb, gb: Value, wg: Value| {
            fb.for_n(g.kh, |fb, kh| {
                let row = fb.index(gb, kh, g.dh * g.wp * 4);
                let wr = fb.index(wg, kh, g.kw * 16);
                if taps > 1 {
                    // Kernel columns as a run-time loop too: one tap's inputs live at a time.
                    let steps = [(g.dw * 4) as i64, 16];
                    fb.for_ptrs(g.kw, &[row, wr], &steps, |fb, p| tap(fb, p[0], p[1]));
                } else {
                    tap(fb, row, wr);
                }
            });
        };
        // The channel groups with pointers carried through the loop: one per iteration for
        // 1x1 convs (two would keep both groups' inputs and weights live: spills; measured
        // 0.383 -> 0.348 ms on mobilenet_v2's 16->96 expand), two per iteration (half the
        // loop overhead) and then the odd one for kxk convs, whose loop body is the row loop.
        if taps == 1 {
            fb.for_ptrs(g.cg4, &[base, w0], &[plane, wstep], |fb, p| {
                group(fb, p[0], p[1])
            });
        } else {
            let pairs = g.cg4 / 2;
            fb.for_ptrs(pairs, &[base, w0], &[2 * plane, 2 * wstep], |fb, p| {
                group(fb, p[0], p[1]);
                let (gb, wg) = (
                    fb.b.ins().iadd_imm_s(p[0], plane),
                    fb.b.ins().iadd_imm_s(p[1], wstep),
                );
                group(fb, gb, wg);
            });
            if g.cg4 % 2 == 1 {
                let k = (g.cg4 - 1) as i64;
                let gb = fb.b.ins().iadd_imm_s(base, k * plane);
                let wg = fb.b.ins().iadd_imm_s(w0, k * wstep);
                group(fb, gb, wg);
            }
        }
        accs
    }

    /// Requantizes and stores the vectors of one packed pass: slot `k` (row, first pixel,
    /// pixels stored) from accumulator `k` of each channel, slots that continue each other
    /// in a row packed and stored together.
    fn store_slots(
        &self,
        fb: &mut Fb,
        accs: &[cranelift_frontend::Variable],
        at: &Pass,
        oh0: Value,
        slots: &[(usize, usize, usize)],
    ) {
        let g = &self.g;
        let ysz = self.y_dt.size();
        let pv = slots.len();
        let y0 = fb.index(at.y0, oh0, g.ow * ysz);
        let ConvOut::Quant(req) = &self.out else {
            for o in 0..at.ocb {
                let yc = fb.b.ins().iadd_imm_s(y0, (o * g.oh * g.ow * ysz) as i64);
                for (k, &(oh, px, n)) in slots.iter().enumerate() {
                    let a = fb.b.use_var(accs[pv * o + k]);
                    let ya = fb.b.ins().iadd_imm_s(yc, ((oh * g.ow + px) * ysz) as i64);
                    store_i32(fb, a, ya, n);
                }
            }
            return;
        };
        for o in 0..at.ocb {
            let m = fb.b.ins().iadd_imm_s(at.m0, o as i64);
            let row = req.row(fb, m);
            let yc = fb.b.ins().iadd_imm_s(y0, (o * g.oh * g.ow * ysz) as i64);
            let r = ReqVec::new_packed(fb, req, row);
            let clamp = r.byte_clamp(req, self.y_dt);
            // Runs of slots that continue each other in one row share one store.
            let mut k = 0;
            while k < pv {
                let (oh, px, _) = slots[k];
                let mut end = k + 1;
                while end < pv && slots[end].0 == oh && slots[end].1 == slots[end - 1].1 + 4 {
                    end += 1;
                }
                let q: Vec<Value> = (k..end)
                    .map(|j| {
                        let a = fb.b.use_var(accs[pv * o + j]);
                        r.apply_packed(fb, req, a, self.y_dt)
                    })
                    .collect();
                let n: usize = slots[k..end].iter().map(|s| s.2).sum();
                let ya = fb.b.ins().iadd_imm_s(yc, ((oh * g.ow + px) * ysz) as i64);
                store_q_clamped(fb, &q, None, self.y_dt, ya, n, clamp);
                k = end;
            }
        }
    }

    /// Requantizes and stores one pass: `valid` of its `4 * pv` pixels per channel.
    #[allow(clippy::too_many_arguments)]
    fn store(
        &self,
        fb: &mut Fb,
        accs: &[cranelift_frontend::Variable],
        at: &Pass,
        oh: Value,
        px: Value,
        pv: usize,
        valid: usize,
    ) {
        let g = &self.g;
        let ysz = self.y_dt.size();
        for o in 0..at.ocb {
            let m = fb.b.ins().iadd_imm_s(at.m0, o as i64);
            let yc = fb.b.ins().iadd_imm_s(at.y0, (o * g.oh * g.ow * ysz) as i64);
            let yr = fb.index(yc, oh, g.ow * ysz);
            let ya = fb.index(yr, px, ysz);
            let ConvOut::Quant(req) = &self.out else {
                for k in 0..pv.min(valid.div_ceil(4)) {
                    let a = fb.b.use_var(accs[pv * o + k]);
                    let yk = fb.b.ins().iadd_imm_s(ya, (16 * k) as i64);
                    store_i32(fb, a, yk, (valid - 4 * k).min(4));
                }
                continue;
            };
            let row = req.row(fb, m);
            // One channel's constants for all its vectors.
            let r = ReqVec::new_packed(fb, req, row);
            let clamp = r.byte_clamp(req, self.y_dt);
            let q: Vec<Value> = (0..pv)
                .map(|k| {
                    let a = fb.b.use_var(accs[pv * o + k]);
                    r.apply_packed(fb, req, a, self.y_dt)
                })
                .collect();
            store_q_clamped(fb, &q, None, self.y_dt, ya, valid, clamp);
        }
    }
}

/// Stores the first `n` (1 to 4) lanes of the i32x4 `v` at `ya`.
fn store_i32(fb: &mut Fb, v: Value, ya: Value, n: usize) {
    if n >= 4 {
        fb.b.ins().store(super::flags(), v, ya, 0);
        return;
    }
    for lane in 0..n {
        let e = fb.b.ins().extractlane(v, lane as u8);
        fb.b.ins().store(super::flags(), e, ya, (4 * lane) as i32);
    }
}

/// Where a channel block's passes read and write: the repacked image, the block's
/// weights, its output and first channel, and the channel count.
struct Pass {
    s: Value,
    w0: Value,
    y0: Value,
    m0: Value,
    ocb: usize,
}

impl Kernel for ConvVnni {
    fn emit(&self, fb: &mut Fb) {
        let g = self.g.clone();
        fb.for_n(self.n, |fb, b| {
            self.repack(fb, b);
            let ocb = self.ocb;
            if g.group > 1 {
                // Whole passes per group (checked when lowering); group k reads channel
                // groups k * cg4 .. of the repacked image.
                let plane = (g.hp * g.wp * 4) as i64;
                fb.for_n(g.group, |fb, k| {
                    let sg = fb.b.ins().imul_imm_s(k, g.cg4 as i64 * plane);
                    let mk = fb.b.ins().imul_imm_s(k, g.mg as i64);
                    fb.for_n(g.mg / ocb, |fb, mb| {
                        let m0 = fb.b.ins().imul_imm_s(mb, ocb as i64);
                        let m0 = fb.b.ins().iadd(m0, mk);
                        self.block(fb, (b, sg), m0, ocb);
                    });
                });
                return;
            }
            let zero = fb.c64(0);
            fb.for_n(g.m / ocb, |fb, mb| {
                let m0 = fb.b.ins().imul_imm_s(mb, ocb as i64);
                self.block(fb, (b, zero), m0, ocb);
            });
            if !g.m.is_multiple_of(ocb) {
                let m0 = fb.c64((g.m / ocb * ocb) as i64);
                self.block(fb, (b, zero), m0, g.m % ocb);
            }
        });
    }
}
