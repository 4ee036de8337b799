//! `dynamic_quantize_linear` (f32 -> u8, scale, zero point) with the interpreter's
//! arithmetic: `max` / `min` folded from 0 (a NaN element is skipped), `scale = (max - min)
//! / 255` (1 when they are equal), `zp = round_half_even(clamp(0 - min / scale, 0, 255))`,
//! then each element quantized as `quantize` does.

use super::requant::add_zp_clamp;
use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder};
use qcc_ir::DType;

struct Dql {
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
        n: l.in_dims(0)?.iter().product(),
        x: l.in_addr(0)?,
        y: l.out_addr(0)?,
        scale: l.out_addr(1)?,
        zp: l.out_addr(2)?,
    })))
}

impl Kernel for Dql {
    fn emit(&self, fb: &mut Fb) {
        let xb = fb.base(self.x);
        let zero = fb.f32c(0.0);
        let maxv = fb.var(types::F32, zero);
        let minv = fb.var(types::F32, zero);
        fb.for_n(self.n, |fb, i| {
            let xa = fb.index(xb, i, 4);
            let v = fb.b.ins().load(types::F32, flags(), xa, 0);
            // `m.max(v)` / `m.min(v)` with m never NaN: a NaN v keeps m.
            let m = fb.b.use_var(maxv);
            let gt = fb.b.ins().fcmp(FloatCC::GreaterThan, v, m);
            let m = fb.b.ins().select(gt, v, m);
            fb.b.def_var(maxv, m);
            let m = fb.b.use_var(minv);
            let lt = fb.b.ins().fcmp(FloatCC::LessThan, v, m);
            let m = fb.b.ins().select(lt, v, m);
            fb.b.def_var(minv, m);
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
        fb.for_n(self.n, |fb, i| {
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
