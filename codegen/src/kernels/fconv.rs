//! f32 `conv` (ungrouped, 1-d / 2-d) in ONNX Runtime's MLAS summation order, exactly as the
//! interpreter computes it (`qcc_ir::interp`, mlas.rs): the image is unfolded into an
//! im2col matrix `[K][N]` in scratch space (0.0 in the padding), then every output is a
//! sequence of FMA blocks over the depth, `acc = fma(w, x, acc)` from 0.0, each block added
//! to the output (`acc + 0.0` for the first), with the blocks MLAS's `sgemm_strides` cut;
//! the bias is added last. Vectorised over 4 output positions (hardware FMA required).
//! Filters `M == 1` or a column block of width 1 use other MLAS kernels and are left to
//! the interpreter.

use super::conv::conv_axes;
use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::Variable;
use qcc_ir::interp::sgemm_strides;
use qcc_ir::{ConvAttrs, DType};

/// Output positions `[n0, n1)` and their depth blocks `[k0, k1)`, in order.
type Segment = (usize, usize, Vec<(usize, usize)>);

struct FConv {
    batch: usize,
    c: usize,
    m: usize,
    k: usize,
    n: usize,
    in_n: usize,
    taps: usize,
    /// Per tap and output position: the input offset, or -1 in the padding.
    table: Addr,
    w: Addr,
    bias: Option<Addr>,
    x: Addr,
    y: Addr,
    /// The im2col scratch matrix, or None for a pointwise conv (the image is its own
    /// `[C][N]` matrix).
    col: Option<Addr>,
    segments: Vec<Segment>,
    /// An i64 zero for [`Fb::fence`].
    zero: Addr,
    /// Fused output clamp (`x < lo -> lo`, then `x > hi -> hi`) after the bias.
    clamp: (Option<f32>, Option<f32>),
}

/// `[k0, k1)` cut into blocks of `stride`.
fn blocks(k0: usize, k1: usize, stride: usize) -> Vec<(usize, usize)> {
    (k0..k1)
        .step_by(stride.max(1))
        .map(|a| (a, (a + stride).min(k1)))
        .collect()
}

/// MLAS's segmentation of one (batch, group) GEMM (see `conv_group` in the interpreter);
/// `None` where a segment would take the M1 / transposed-M1 kernels.
fn schedule(m: usize, n: usize, k: usize, pointwise: bool) -> Option<Vec<Segment>> {
    if m <= 1 {
        return None;
    }
    if pointwise || m > n {
        if n <= 1 {
            return None;
        }
        return Some(vec![(0, n, blocks(0, k, sgemm_strides(n, k).1))]);
    }
    let (sn, sk) = sgemm_strides(n, k);
    let mut out = Vec::new();
    for n0 in (0..n).step_by(sn) {
        let cn = sn.min(n - n0);
        if cn <= 1 {
            return None;
        }
        let mut subs = Vec::new();
        for k0 in (0..k).step_by(sk) {
            let ck = sk.min(k - k0);
            subs.extend(blocks(k0, k0 + ck, sgemm_strides(cn, ck).1));
        }
        out.push((n0, n0 + cn, subs));
    }
    Some(out)
}

/// Lowers an f32 `conv` with constant weights (and bias) on targets with FMA.
pub fn lower(l: &mut Lower, a: &ConvAttrs) -> Lowered {
    if !l.fma || a.group != 1 || l.in_ty(0)?.dtype != DType::F32 {
        return Ok(None);
    }
    let (xs, ws, ys) = (l.in_dims(0)?, l.in_dims(1)?, l.out_dims(0)?);
    if !(3..=4).contains(&xs.len()) || ws.len() != xs.len() || ws[1] != xs[1] {
        return Ok(None);
    }
    let Some((h, w, _)) = conv_axes(&xs, &ws, &ys, a) else {
        return Ok(None);
    };
    let Some(wt) = l
        .const_operand(1)
        .and_then(|t| t.as_slice::<f32>().map(<[f32]>::to_vec))
    else {
        return Ok(None);
    };
    let bias = match l.node.inputs.len() {
        2 => None,
        _ => match l
            .const_operand(2)
            .and_then(|t| t.as_slice::<f32>().map(<[f32]>::to_vec))
        {
            Some(b) => Some(b),
            None => return Ok(None),
        },
    };
    let (c, m) = (xs[1], ws[0]);
    let taps = h.kernel * w.kernel;
    let (k, n, in_n) = (c * taps, h.output * w.output, h.input * w.input);
    let pointwise =
        taps == 1 && a.strides.iter().all(|&s| s == 1) && a.pads.iter().all(|&p| p == 0);
    let Some(segments) = schedule(m, n, k, pointwise) else {
        return Ok(None);
    };
    if wt.len() != m * k
        || bias.as_ref().is_some_and(|b| b.len() != m)
        || i32::try_from((k + 1) * n.max(m) * 4).is_err()
    {
        return Ok(None);
    }
    let mut table = Vec::with_capacity(taps * n);
    for kh in 0..h.kernel {
        for kw in 0..w.kernel {
            for oh in 0..h.output {
                for ow in 0..w.output {
                    let ih = (oh * h.stride + kh * h.dil) as i64 - h.pad as i64;
                    let iw = (ow * w.stride + kw * w.dil) as i64 - w.pad as i64;
                    let inside =
                        (0..h.input as i64).contains(&ih) && (0..w.input as i64).contains(&iw);
                    table.push(if inside {
                        (ih * w.input as i64 + iw) as i32
                    } else {
                        -1
                    });
                }
            }
        }
    }
    let f32s = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let col = (!pointwise).then(|| l.scratch(k * n * 4));
    let clamp = l.take_clamp().unwrap_or((None, None));
    Ok(Some(Box::new(FConv {
        batch: xs[0],
        c,
        m,
        k,
        n,
        in_n,
        taps,
        table: l.pool.i32s(&table),
        w: l.pool.add(&f32s(&wt)),
        bias: bias.map(|b| l.pool.add(&f32s(&b))),
        x: l.in_addr(0)?,
        y: l.out_addr(0)?,
        col,
        segments,
        zero: l.pool.i32s(&[0, 0]),
        clamp,
    })))
}

impl FConv {
    /// The im2col matrix of image `b`: `col[ci * taps + t][o]`.
    fn unfold(&self, fb: &mut Fb, b: Value, col: Addr) {
        let (n, taps, in_n) = (self.n, self.taps, self.in_n);
        let xb = fb.base(self.x);
        let img = fb.index(xb, b, self.c * in_n * 4);
        let tb = fb.base(self.table);
        let cb = fb.base(col);
        let zero = fb.f32c(0.0);
        let izero = fb.c32(0);
        fb.for_n(self.c, |fb, ci| {
            let plane = fb.index(img, ci, in_n * 4);
            let crow0 = fb.index(cb, ci, taps * n * 4);
            fb.for_n(taps * n, |fb, i| {
                let ta = fb.index(tb, i, 4);
                let off = fb.b.ins().load(types::I32, super::const_flags(), ta, 0);
                // A padding tap (-1) reads element 0 and is replaced by 0.0.
                let pad = fb.b.ins().icmp_imm_s(
                    cranelift_codegen::ir::condcodes::IntCC::SignedLessThan,
                    off,
                    0,
                );
                let safe = fb.b.ins().select(pad, izero, off);
                let safe = fb.b.ins().sextend(types::I64, safe);
                let xa = fb.index(plane, safe, 4);
                let v = fb.b.ins().load(types::F32, flags(), xa, 0);
                let v = fb.b.ins().select(pad, zero, v);
                let ca = fb.index(crow0, i, 4);
                fb.b.ins().store(flags(), v, ca, 0);
            });
        });
    }

    /// Outputs `o .. o + vecs * lanes` (`lanes` 4: vectors, 1: scalars) of filters
    /// `mi .. mi + filters` of image `b`, from the `[K][N]` matrix at `mat`; all
    /// accumulators live at once so each column load serves every filter. The depth loop
    /// is unrolled [`UNROLL`] times with constant offsets.
    #[allow(clippy::too_many_arguments)]
    fn outputs(
        &self,
        fb: &mut Fb,
        (mat, b): (Value, Value),
        mi: Value,
        filters: usize,
        o: Value,
        (vecs, lanes): (usize, usize),
        subs: &[(usize, usize)],
    ) {
        let (n, k) = (self.n, self.k);
        let ty = if lanes == 4 { types::F32X4 } else { types::F32 };
        let splat = |fb: &mut Fb, v: Value| {
            if lanes == 4 {
                fb.b.ins().splat(ty, v)
            } else {
                v
            }
        };
        let wb = fb.base(self.w);
        let wrow = fb.index(wb, mi, k * 4);
        let ccol = fb.index(mat, o, 4);
        let zero = fb.f32c(0.0);
        let zero = splat(fb, zero);
        // One depth step: `acc = fma(w, x, acc)` for every filter and vector.
        let step = |fb: &mut Fb, accs: &[Variable], xa: Value, wa: Value, s: usize| {
            let xs: Vec<Value> = (0..vecs)
                .map(|v| {
                    let off = (s * n * 4 + v * lanes * 4) as i32;
                    // Movable: `mat` is fenced after the unfold, and nothing this kernel
                    // stores aliases the matrix.
                    fb.b.ins().load(ty, super::const_flags(), xa, off)
                })
                .collect();
            for f in 0..filters {
                let off = ((f * k + s) * 4) as i32;
                let wv = fb.b.ins().load(types::F32, super::const_flags(), wa, off);
                let wv = splat(fb, wv);
                for (v, &xv) in xs.iter().enumerate() {
                    let a = fb.b.use_var(accs[f * vecs + v]);
                    let a = fb.b.ins().fma(wv, xv, a);
                    fb.b.def_var(accs[f * vecs + v], a);
                }
            }
        };
        let mut c: Vec<Option<Value>> = vec![None; filters * vecs];
        for &(k0, k1) in subs {
            let accs: Vec<_> = (0..filters * vecs).map(|_| fb.var(ty, zero)).collect();
            let chunks = (k1 - k0) / UNROLL;
            fb.for_n(chunks, |fb, u| {
                let kk = fb.b.ins().imul_imm_s(u, UNROLL as i64);
                let kk = fb.b.ins().iadd_imm_s(kk, k0 as i64);
                let xa = fb.index(ccol, kk, n * 4);
                let wa = fb.index(wrow, kk, 4);
                for s in 0..UNROLL {
                    step(fb, &accs, xa, wa, s);
                }
            });
            for kk in k0 + chunks * UNROLL..k1 {
                step(fb, &accs, ccol, wrow, kk);
            }
            for (slot, acc) in c.iter_mut().zip(&accs) {
                let a = fb.b.use_var(*acc);
                *slot = Some(fb.b.ins().fadd(a, slot.unwrap_or(zero)));
            }
        }
        let (lo, hi) = self.clamp;
        let lo = lo.map(|x| {
            let x = fb.f32c(x);
            splat(fb, x)
        });
        let hi = hi.map(|x| {
            let x = fb.f32c(x);
            splat(fb, x)
        });
        let yb = fb.base(self.y);
        for f in 0..filters {
            let m = fb.b.ins().iadd_imm_s(mi, f as i64);
            let bias = self.bias.map(|bias| {
                let bb = fb.base(bias);
                let ba = fb.index(bb, m, 4);
                let bv = fb.b.ins().load(types::F32, super::const_flags(), ba, 0);
                splat(fb, bv)
            });
            let bm = fb.b.ins().imul_imm_s(b, self.m as i64);
            let bm = fb.b.ins().iadd(bm, m);
            let yrow = fb.index(yb, bm, n * 4);
            let ya = fb.index(yrow, o, 4);
            for v in 0..vecs {
                let mut y = c[f * vecs + v].unwrap_or(zero);
                if let Some(bv) = bias {
                    y = fb.b.ins().fadd(y, bv);
                }
                y = clamp(fb, y, lo, hi);
                fb.b.ins().store(flags(), y, ya, (v * lanes * 4) as i32);
            }
        }
    }
}

/// The interpreter's clamp on a scalar or vector: `x < lo -> lo`, then `x > hi -> hi`.
pub fn clamp(fb: &mut Fb, mut y: Value, lo: Option<Value>, hi: Option<Value>) -> Value {
    let vector = fb.b.func.dfg.value_type(y).is_vector();
    for (bound, cc) in [(lo, FloatCC::LessThan), (hi, FloatCC::GreaterThan)] {
        if let Some(bound) = bound {
            let out = fb.b.ins().fcmp(cc, y, bound);
            y = if vector {
                fb.b.ins().bitselect(out, bound, y)
            } else {
                fb.b.ins().select(out, bound, y)
            };
        }
    }
    y
}

/// Depth steps per iteration of the depth loop.
const UNROLL: usize = 2;

/// Filters per pass.
const FILTERS: usize = 8;
/// Vectors of 4 output positions per pass.
const VECS: usize = 1;

impl Kernel for FConv {
    fn emit(&self, fb: &mut Fb) {
        fb.for_n(self.batch, |fb, b| {
            let mat = match self.col {
                Some(col) => {
                    self.unfold(fb, b, col);
                    let base = fb.base(col);
                    fb.fence(base, self.zero)
                }
                None => {
                    let xb = fb.base(self.x);
                    fb.index(xb, b, self.c * self.in_n * 4)
                }
            };
            for (n0, n1, subs) in &self.segments {
                let len = n1 - n0;
                let groups = len / (4 * VECS);
                let rest = (len % (4 * VECS)) / 4;
                let scalars = len % 4;
                let row = |fb: &mut Fb, mi: Value, filters: usize| {
                    fb.for_n(groups, |fb, g| {
                        let o = fb.b.ins().imul_imm_s(g, (4 * VECS) as i64);
                        let o = fb.b.ins().iadd_imm_s(o, *n0 as i64);
                        self.outputs(fb, (mat, b), mi, filters, o, (VECS, 4), subs);
                    });
                    let base = n0 + groups * 4 * VECS;
                    if rest > 0 {
                        let o = fb.c64(base as i64);
                        self.outputs(fb, (mat, b), mi, filters, o, (rest, 4), subs);
                    }
                    if scalars > 0 {
                        let o = fb.c64((base + rest * 4) as i64);
                        self.outputs(fb, (mat, b), mi, filters, o, (scalars, 1), subs);
                    }
                };
                fb.for_n(self.m / FILTERS, |fb, mb| {
                    let mi = fb.b.ins().imul_imm_s(mb, FILTERS as i64);
                    row(fb, mi, FILTERS);
                });
                for mi in self.m / FILTERS * FILTERS..self.m {
                    let mi = fb.c64(mi as i64);
                    row(fb, mi, 1);
                }
            }
        });
    }
}
