//! f32 `layer_norm` over rows of at least 8 elements with ONNX Runtime 1.32's arithmetic
//! (`MlasLayerNormKernelAvx2`, the interpreter's `norm::mlas_stats`), bit for bit (hardware
//! FMA required); shorter rows (ONNX Runtime's scalar Welford fallback) stay with the
//! interpreter. Per row:
//!
//! 1. the mean from four f64 lane sums over chunks of four (`(l0 + l2) + (l1 + l3)`), then
//!    the tail added in order, divided by `n` and rounded to f32;
//! 2. the centred variance from eight f32 FMA lanes over chunks of eight, combined
//!    `acc[k] + acc[k + 4]` then `(r0 + r2) + (r1 + r3)`; four plain squares when four
//!    elements remain, then FMAs;
//! 3. `inv = 1 / sqrt(var / n + eps)` and `y = fma((x - mean) * inv, scale, bias)`
//!    (`((x - mean) * inv) * scale` without a bias), four lanes at a time.

use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};
use qcc_ir::DType;

struct LayerNorm {
    rows: usize,
    n: usize,
    x: Addr,
    y: Addr,
    scale: Addr,
    bias: Option<Addr>,
    eps: f32,
}

/// Lowers `layer_norm` (f32 scale and bias, constant or computed) on targets with FMA.
pub fn lower(l: &mut Lower, axis: i64, eps: f32) -> Lowered {
    let dims = l.in_dims(0)?;
    let rank = dims.len() as i64;
    if !l.fma || !l.simd || !(-rank..rank).contains(&axis) {
        return Ok(None);
    }
    let a = if axis < 0 { axis + rank } else { axis } as usize;
    let n: usize = dims[a..].iter().product();
    if n < 8
        || l.in_ty(0)?.dtype != DType::F32
        || l.out_ty(0)?.dtype != DType::F32
        || l.node.inputs.len() > 3
    {
        return Ok(None);
    }
    // Scale and bias: constants, or f32 values of n elements computed at run time (a QDQ
    // model dequantizes its gamma).
    let param = |l: &mut Lower, i: usize| -> Result<Option<Addr>, String> {
        if let Some(t) = l.const_operand(i).cloned() {
            return Ok(t
                .as_slice::<f32>()
                .filter(|v| v.len() == n)
                .map(|v| l.pool.f32s(v)));
        }
        let ok = l.in_ty(i)?.dtype == DType::F32 && l.in_dims(i)?.iter().product::<usize>() == n;
        Ok(if ok { Some(l.in_addr(i)?) } else { None })
    };
    let Some(scale) = param(l, 1)? else {
        return Ok(None);
    };
    let bias = match l.node.inputs.len() {
        3 => match param(l, 2)? {
            Some(b) => Some(b),
            None => return Ok(None),
        },
        _ => None,
    };
    Ok(Some(Box::new(LayerNorm {
        rows: dims.iter().product::<usize>() / n,
        n,
        x: l.in_addr(0)?,
        y: l.out_addr(0)?,
        scale,
        bias,
        eps,
    })))
}

impl LayerNorm {
    /// Two f32 at `p + off` widened to f64x2.
    fn pair_f64(fb: &mut Fb, p: Value, off: i32) -> Value {
        let bits = fb.b.ins().load(types::F64, flags(), p, off);
        let v = fb.b.ins().scalar_to_vector(types::F64X2, bits);
        let le = MemFlagsData::new().with_endianness(cranelift_codegen::ir::Endianness::Little);
        let v = fb.b.ins().bitcast(types::F32X4, le, v);
        fb.b.ins().fvpromote_low(v)
    }

    /// The row's mean (f32) from f64 lane sums.
    fn mean(&self, fb: &mut Fb, xrow: Value) -> Value {
        let n = self.n;
        let z = fb.b.ins().f64const(0.0);
        let zv = fb.b.ins().splat(types::F64X2, z);
        let (l01, l23) = (fb.var(types::F64X2, zv), fb.var(types::F64X2, zv));
        fb.for_ptrs(n / 4, &[xrow], &[16], |fb, p| {
            for (lanes, off) in [(l01, 0), (l23, 8)] {
                let v = Self::pair_f64(fb, p[0], off);
                let s = fb.b.use_var(lanes);
                let s = fb.b.ins().fadd(s, v);
                fb.b.def_var(lanes, s);
            }
        });
        let (a, b) = (fb.b.use_var(l01), fb.b.use_var(l23));
        let s = fb.b.ins().fadd(a, b);
        let (s0, s1) = (fb.b.ins().extractlane(s, 0), fb.b.ins().extractlane(s, 1));
        let mut dsum = fb.b.ins().fadd(s0, s1);
        for t in n / 4 * 4..n {
            let v = fb.b.ins().load(types::F32, flags(), xrow, (t * 4) as i32);
            let v = fb.b.ins().fpromote(types::F64, v);
            dsum = fb.b.ins().fadd(dsum, v);
        }
        let nf = fb.b.ins().f64const(n as f64);
        let m = fb.b.ins().fdiv(dsum, nf);
        fb.b.ins().fdemote(types::F32, m)
    }

    /// The centred variance (sum of squares, not yet divided by `n`).
    fn var(&self, fb: &mut Fb, xrow: Value, mean: Value) -> Value {
        let n = self.n;
        let mv = fb.b.ins().splat(types::F32X4, mean);
        let z = fb.f32c(0.0);
        let zv = fb.b.ins().splat(types::F32X4, z);
        let (lo, hi) = (fb.var(types::F32X4, zv), fb.var(types::F32X4, zv));
        fb.for_ptrs(n / 8, &[xrow], &[32], |fb, p| {
            for (acc, off) in [(lo, 0), (hi, 16)] {
                let v = fb.b.ins().load(types::F32X4, flags(), p[0], off);
                let d = fb.b.ins().fsub(v, mv);
                let a = fb.b.use_var(acc);
                let a = fb.b.ins().fma(d, d, a);
                fb.b.def_var(acc, a);
            }
        });
        let (a, b) = (fb.b.use_var(lo), fb.b.use_var(hi));
        let r = fb.b.ins().fadd(a, b);
        let lane = |fb: &mut Fb, k: u8| fb.b.ins().extractlane(r, k);
        let (r0, r1, r2, r3) = (lane(fb, 0), lane(fb, 1), lane(fb, 2), lane(fb, 3));
        let left = fb.b.ins().fadd(r0, r2);
        let right = fb.b.ins().fadd(r1, r3);
        let mut var = fb.b.ins().fadd(left, right);
        let mut t = n / 8 * 8;
        let centred = |fb: &mut Fb, t: usize| {
            let v = fb.b.ins().load(types::F32, flags(), xrow, (t * 4) as i32);
            fb.b.ins().fsub(v, mean)
        };
        if t + 4 <= n {
            for k in t..t + 4 {
                let d = centred(fb, k);
                let sq = fb.b.ins().fmul(d, d);
                var = fb.b.ins().fadd(var, sq);
            }
            t += 4;
        }
        for k in t..n {
            let d = centred(fb, k);
            var = fb.b.ins().fma(d, d, var);
        }
        var
    }

    /// `y = fma((x - mean) * inv, scale, bias)` (or `* scale`) for element(s) at byte
    /// offset `off` of `xrow` / `yrow`, `ty` one f32 or four.
    #[allow(clippy::too_many_arguments)]
    fn out(
        &self,
        fb: &mut Fb,
        ty: cranelift_codegen::ir::Type,
        (xrow, yrow): (Value, Value),
        off: Value,
        (mean, inv): (Value, Value),
    ) {
        let at = |fb: &mut Fb, base: Value| fb.b.ins().iadd(base, off);
        let xa = at(fb, xrow);
        let v = fb.b.ins().load(ty, flags(), xa, 0);
        let q = fb.b.ins().fsub(v, mean);
        let q = fb.b.ins().fmul(q, inv);
        let sb = fb.base(self.scale);
        let sa = at(fb, sb);
        let s = fb.b.ins().load(ty, flags(), sa, 0);
        let y = match self.bias {
            Some(b) => {
                let bb = fb.base(b);
                let ba = at(fb, bb);
                let bv = fb.b.ins().load(ty, flags(), ba, 0);
                fb.b.ins().fma(q, s, bv)
            }
            None => fb.b.ins().fmul(q, s),
        };
        let ya = at(fb, yrow);
        fb.b.ins().store(flags(), y, ya, 0);
    }
}

impl Kernel for LayerNorm {
    fn emit(&self, fb: &mut Fb) {
        let n = self.n;
        fb.for_n(self.rows, |fb, r| {
            let x0 = fb.base(self.x);
            let xrow = fb.index(x0, r, n * 4);
            let y0 = fb.base(self.y);
            let yrow = fb.index(y0, r, n * 4);
            let mean = self.mean(fb, xrow);
            let var = self.var(fb, xrow, mean);
            let nf = fb.f32c(n as f32);
            let v = fb.b.ins().fdiv(var, nf);
            let eps = fb.f32c(self.eps);
            let v = fb.b.ins().fadd(v, eps);
            let v = fb.b.ins().sqrt(v);
            let one = fb.f32c(1.0);
            let inv = fb.b.ins().fdiv(one, v);
            let (mv, iv) = (
                fb.b.ins().splat(types::F32X4, mean),
                fb.b.ins().splat(types::F32X4, inv),
            );
            fb.for_n(n / 4, |fb, c| {
                let off = fb.b.ins().imul_imm_s(c, 16);
                self.out(fb, types::F32X4, (xrow, yrow), off, (mv, iv));
            });
            for t in n / 4 * 4..n {
                let off = fb.c64((t * 4) as i64);
                self.out(fb, types::F32, (xrow, yrow), off, (mean, inv));
            }
        });
    }
}
