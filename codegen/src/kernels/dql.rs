//! `dynamic_quantize_linear` (f32 -> u8, scale, zero point) with the interpreter's
//! arithmetic: `max` / `min` folded from 0 (a NaN element is skipped), `scale = (max - min)
//! / 255` (1 when they are equal), `zp = round_half_even(clamp(0 - min / scale, 0, 255))`,
//! then each element quantized as `quantize` does. On vector targets both passes take 4
//! elements at a time: the maximum and minimum are order-free (NaN lanes skipped, each lane
//! starting from 0), and each quotient is rounded, a NaN made 0 and clamped to
//! `[-zp, 255 - zp]` in f32 before converting (what the saturating conversion and the
//! integer clamp give).

use super::requant::add_zp_clamp;
use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::Variable;
use qcc_ir::DType;

struct Dql {
    /// Vector kernels allowed.
    simd: bool,
    n: usize,
    x: Addr,
    y: Addr,
    scale: Addr,
    zp: Addr,
}

/// Lowers `dynamic_quantize_linear` of an f32 tensor.
pub fn lower(l: &mut Lower) -> Lowered {
    if l.in_ty(0)?.dtype != DType::F32
        || l.node.outputs.len() != 3
        || l.out_ty(0)?.dtype != DType::U8
        || l.out_ty(1)?.dtype != DType::F32
        || l.out_ty(2)?.dtype != DType::U8
    {
        return Ok(None);
    }
    Ok(Some(Box::new(Dql {
        simd: l.simd,
        n: l.in_dims(0)?.iter().product(),
        x: l.in_addr(0)?,
        y: l.out_addr(0)?,
        scale: l.out_addr(1)?,
        zp: l.out_addr(2)?,
    })))
}

/// `var = v cc var ? v : var` (`GreaterThan` for the maximum, `LessThan` for the minimum;
/// a NaN `v` keeps `var`), on one f32 or on four lanes.
fn keep(fb: &mut Fb, cc: FloatCC, var: Variable, v: Value) {
    let m = fb.b.use_var(var);
    let c = fb.b.ins().fcmp(cc, v, m);
    let m = if fb.b.func.dfg.value_type(v).is_vector() {
        fb.b.ins().bitselect(c, v, m)
    } else {
        fb.b.ins().select(c, v, m)
    };
    fb.b.def_var(var, m);
}

impl Kernel for Dql {
    fn emit(&self, fb: &mut Fb) {
        let xb = fb.base(self.x);
        let zero = fb.f32c(0.0);
        let maxv = fb.var(types::F32, zero);
        let minv = fb.var(types::F32, zero);
        let quads = if self.simd { self.n / 4 } else { 0 };
        if quads > 0 {
            // Four lanes from 0, then folded into the scalar running values.
            let zv = fb.b.ins().splat(types::F32X4, zero);
            let (vmax, vmin) = (fb.var(types::F32X4, zv), fb.var(types::F32X4, zv));
            fb.for_ptrs(quads, &[xb], &[16], |fb, p| {
                let v = fb.b.ins().load(types::F32X4, flags(), p[0], 0);
                keep(fb, FloatCC::GreaterThan, vmax, v);
                keep(fb, FloatCC::LessThan, vmin, v);
            });
            let (vx, vn) = (fb.b.use_var(vmax), fb.b.use_var(vmin));
            for lane in 0..4u8 {
                let e = fb.b.ins().extractlane(vx, lane);
                keep(fb, FloatCC::GreaterThan, maxv, e);
                let e = fb.b.ins().extractlane(vn, lane);
                keep(fb, FloatCC::LessThan, minv, e);
            }
        }
        fb.for_span(quads * 4, self.n, |fb, i| {
            let xa = fb.index(xb, i, 4);
            let v = fb.b.ins().load(types::F32, flags(), xa, 0);
            // `m.max(v)` / `m.min(v)` with m never NaN: a NaN v keeps m.
            keep(fb, FloatCC::GreaterThan, maxv, v);
            keep(fb, FloatCC::LessThan, minv, v);
        });
        let (mx, mn) = (fb.b.use_var(maxv), fb.b.use_var(minv));
        let range = fb.b.ins().fsub(mx, mn);
        let c255 = fb.f32c(255.0);
        let q = fb.b.ins().fdiv(range, c255);
        let one = fb.f32c(1.0);
        let same = fb.b.ins().fcmp(FloatCC::Equal, mx, mn);
        let scale = fb.b.ins().select(same, one, q);
        let d = fb.b.ins().fdiv(mn, scale);
        let z = fb.b.ins().fsub(zero, d);
        // `clamp(0, 255)` keeping a NaN, then half-to-even rounding and `as` (NaN -> 0).
        let lo = fb.b.ins().fcmp(FloatCC::LessThan, z, zero);
        let z = fb.b.ins().select(lo, zero, z);
        let hi = fb.b.ins().fcmp(FloatCC::GreaterThan, z, c255);
        let z = fb.b.ins().select(hi, c255, z);
        let z = fb.b.ins().nearest(z);
        let zp = fb.b.ins().fcvt_to_sint_sat(types::I32, z);
        let sa = fb.base(self.scale);
        fb.b.ins().store(flags(), scale, sa, 0);
        let za = fb.base(self.zp);
        fb.b.ins().istore8(flags(), zp, za, 0);
        let yb = fb.base(self.y);
        if quads > 0 {
            let sv = fb.b.ins().splat(types::F32X4, scale);
            let zpv = fb.b.ins().splat(types::I32X4, zp);
            let zpf = fb.b.ins().fcvt_from_sint(types::F32, zp);
            let lo = fb.b.ins().fneg(zpf);
            let hi = fb.b.ins().fsub(c255, zpf);
            let (lo, hi) = (
                fb.b.ins().splat(types::F32X4, lo),
                fb.b.ins().splat(types::F32X4, hi),
            );
            let zv = fb.b.ins().splat(types::F32X4, zero);
            fb.for_ptrs(quads, &[xb, yb], &[16, 4], |fb, p| {
                let v = fb.b.ins().load(types::F32X4, flags(), p[0], 0);
                let r = fb.b.ins().fdiv(v, sv);
                let r = fb.b.ins().nearest(r);
                // NaN -> 0, as the saturating conversion makes it.
                let nan = fb.b.ins().fcmp(FloatCC::Unordered, r, r);
                let r = fb.b.ins().bitselect(nan, zv, r);
                let r = fb.b.ins().fmax(r, lo);
                let r = fb.b.ins().fmin(r, hi);
                let q = fb.b.ins().x86_cvtt2dq(types::I32X4, r);
                let q = fb.b.ins().iadd(q, zpv);
                super::simd::store_q_n(fb, &[q], None, DType::U8, p[1], 4);
            });
        }
        fb.for_span(quads * 4, self.n, |fb, i| {
            let xa = fb.index(xb, i, 4);
            let v = fb.b.ins().load(types::F32, flags(), xa, 0);
            let r = fb.b.ins().fdiv(v, scale);
            let r = fb.b.ins().nearest(r);
            let r = fb.b.ins().fcvt_to_sint_sat(types::I32, r);
            let q = add_zp_clamp(fb, r, zp, 0, 255);
            let ya = fb.index(yb, i, 1);
            fb.b.ins().istore8(flags(), q, ya, 0);
        });
    }
}
