//! 8-bit 2-d max pooling with padding, ceil mode, any kernel, stride 1 or 2 along the width
//! (any along the height) and any dilation, 16 outputs per vector step.
//!
//! Each plane is copied into a scratch plane whose border (padding, and the rows and columns
//! the last windows or vector steps reach beyond the input) holds the type's minimum. Every
//! window has at least one tap inside the input (checked when lowering), so the minimum
//! never wins and the maximum over the whole window is the interpreter's maximum over its
//! valid taps: no border cases. An output row takes 16-output steps (`pmaxub`/`pmaxsb` over
//! the taps; stride 2 keeps the even bytes of 32 loaded ones), the last step overlapping the
//! previous one; rows narrower than 16 take one step and store only their outputs.

use super::conv::Axis;
use super::simd::{copy_bytes, fill_bytes, store_bytes};
use super::{flags, Addr, Fb, Kernel};
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, Value};
use qcc_ir::DType;

/// Outputs per vector step.
const STEP: usize = 16;
/// Widest kernel row taken (each tap of a row is unrolled in the step's code).
const MAX_KERNEL_WIDTH: usize = 16;

/// The kernel; built by [`new`].
pub struct MaxPool8 {
    planes: usize,
    h: Axis,
    w: Axis,
    dt: DType,
    x: Addr,
    y: Addr,
    scratch: Addr,
    /// Scratch plane rows and row stride.
    hp: usize,
    wp: usize,
}

/// The kernel for `planes` planes of an 8-bit max pool over axes `h`, `w`, or None when a
/// window lies wholly in the padding (the interpreter writes 0 there), the width stride
/// is above 2, a kernel row is wider than 16 or the type is not 8-bit. `scratch` reserves scratch bytes and returns where.
pub fn new(
    planes: usize,
    (h, w): (Axis, Axis),
    dt: DType,
    (x, y): (Addr, Addr),
    scratch: impl FnOnce(usize) -> Addr,
) -> Option<MaxPool8> {
    let every_window_reads_input = |a: &Axis| a.tap_ranges().iter().all(|&(lo, hi)| lo < hi);
    if !matches!(dt, DType::U8 | DType::I8)
        || !(1..=2).contains(&w.stride)
        || h.output == 0
        || w.output == 0
        || w.kernel > MAX_KERNEL_WIDTH
        || !every_window_reads_input(&h)
        || !every_window_reads_input(&w)
    {
        return None;
    }
    // Furthest row and column read, in checked arithmetic (huge shapes decline).
    let reach = |a: &Axis, last: usize| -> Option<usize> {
        last.checked_mul(a.stride)?
            .checked_add((a.kernel - 1).checked_mul(a.dil)?)
    };
    let hp = (h.pad + h.input).max(reach(&h, h.output - 1)?.checked_add(1)?);
    // A step at output column c reads columns c * s + k * dil .. + 16 * s for every tap k;
    // the last step starts at max(ow, 16) - 16.
    let wp = (w.pad + w.input).max(reach(&w, w.output.max(STEP))?);
    let bytes = hp.checked_mul(wp).filter(|&b| i32::try_from(b).is_ok())?;
    let scratch = scratch(bytes);
    Some(MaxPool8 {
        planes,
        h,
        w,
        dt,
        x,
        y,
        scratch,
        hp,
        wp,
    })
}

impl MaxPool8 {
    /// The type's minimum as a byte.
    fn lowest(&self) -> u8 {
        if self.dt == DType::I8 {
            0x80
        } else {
            0
        }
    }

    /// Lane-wise maximum in the element type.
    fn max(&self, fb: &mut Fb, a: Value, b: Value) -> Value {
        if self.dt == DType::I8 {
            fb.b.ins().smax(a, b)
        } else {
            fb.b.ins().umax(a, b)
        }
    }

    /// The 16 inputs of one tap for outputs `c .. c + 16` at `at` (the tap's first input).
    fn tap(&self, fb: &mut Fb, at: Value) -> Value {
        let f = flags();
        let a = fb.b.ins().load(types::I8X16, f, at, 0);
        if self.w.stride == 1 {
            return a;
        }
        let b = fb.b.ins().load(types::I8X16, f, at, 16);
        let even: Vec<u8> = (0..16).map(|i| 2 * i).collect();
        let imm = fb.b.func.dfg.immediates.push(ConstantData::from(even));
        fb.b.ins().shuffle(a, b, imm)
    }

    /// One step: outputs `c .. c + 16` of output row `oh` (scratch rows from `s`), of which
    /// the first `n` are stored at `yr + c`.
    fn step(&self, fb: &mut Fb, (s, oh): (Value, Value), yr: Value, c: Value, n: usize) {
        let (h, w) = (&self.h, &self.w);
        let low = fb.c32(self.lowest() as i32);
        let low = fb.b.ins().ireduce(types::I8, low);
        let mut best = fb.b.ins().splat(types::I8X16, low);
        let r0 = fb.b.ins().imul_imm_s(oh, (h.stride * self.wp) as i64);
        let c0 = fb.b.ins().imul_imm_s(c, w.stride as i64);
        let base = fb.b.ins().iadd(s, r0);
        let base = fb.b.ins().iadd(base, c0);
        let acc = fb.var(types::I8X16, best);
        fb.for_n(h.kernel, |fb, kh| {
            let row = fb.index(base, kh, h.dil * self.wp);
            let mut m = fb.b.use_var(acc);
            for kw in 0..w.kernel {
                let at = fb.b.ins().iadd_imm_s(row, (kw * w.dil) as i64);
                let v = self.tap(fb, at);
                m = self.max(fb, m, v);
            }
            fb.b.def_var(acc, m);
        });
        best = fb.b.use_var(acc);
        let ya = fb.b.ins().iadd(yr, c);
        store_bytes(fb, best, ya, n);
    }
}

impl Kernel for MaxPool8 {
    fn emit(&self, fb: &mut Fb) {
        let (h, w) = (&self.h, &self.w);
        let (hp, wp) = (self.hp, self.wp);
        let s = fb.base(self.scratch);
        // The border: the whole scratch plane at the minimum, once (the planes' copies
        // only ever write the interior).
        fill_bytes(fb, s, hp * wp, self.lowest());
        let interior = fb.b.ins().iadd_imm_s(s, (h.pad * wp + w.pad) as i64);
        fb.for_n(self.planes, |fb, p| {
            let xb = fb.base(self.x);
            let x0 = fb.index(xb, p, h.input * w.input);
            fb.for_n(h.input, |fb, r| {
                let src = fb.index(x0, r, w.input);
                let dst = fb.index(interior, r, wp);
                copy_bytes(fb, src, dst, w.input);
            });
            let yb = fb.base(self.y);
            let y0 = fb.index(yb, p, h.output * w.output);
            fb.for_n(h.output, |fb, oh| {
                let yr = fb.index(y0, oh, w.output);
                if w.output < STEP {
                    let c = fb.c64(0);
                    self.step(fb, (s, oh), yr, c, w.output);
                    return;
                }
                fb.for_n(w.output / STEP, |fb, i| {
                    let c = fb.b.ins().imul_imm_s(i, STEP as i64);
                    self.step(fb, (s, oh), yr, c, STEP);
                });
                if !w.output.is_multiple_of(STEP) {
                    let c = fb.c64((w.output - STEP) as i64);
                    self.step(fb, (s, oh), yr, c, STEP);
                }
            });
        });
    }
}
