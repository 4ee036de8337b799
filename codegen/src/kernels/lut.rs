//! `lut`: `y = table[c][x - storage_min(x)]` for an 8-bit operand, one 256-entry table for
//! all elements or one per channel (dim 1). The constant table is widened to the result's
//! element size in the program's pool; the loop is a byte load, one indexed load, a store.

use super::{flags, small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder};
use qcc_ir::DType;

struct Lut {
    /// `outer x channels x inner` elements; `channels == 1` for one table.
    outer: usize,
    channels: usize,
    inner: usize,
    x: Addr,
    x_dt: DType,
    table: Addr,
    y: Addr,
}

/// Lowers `lut` with a constant table and 8-bit operand and result.
pub fn lower(l: &mut Lower) -> Lowered {
    let x_dt = l.in_ty(0)?.dtype;
    let y_dt = l.out_ty(0)?.dtype;
    if !matches!(x_dt, DType::U8 | DType::I8) || !small_int(y_dt) || y_dt.size() != 1 {
        return Ok(None);
    }
    let Some(t) = l.const_operand(1).cloned() else {
        return Ok(None);
    };
    let xs = l.in_dims(0)?;
    let n: usize = xs.iter().product();
    let channels = match t.shape.as_slice() {
        [256] => 1,
        [c, 256] if xs.get(1) == Some(c) => *c,
        _ => return Ok(None),
    };
    let (outer, inner) = if channels == 1 {
        (1, n)
    } else {
        (xs[0], xs[2..].iter().product())
    };
    let bytes: Vec<u8> = t.data.to_i64_vec().iter().map(|&v| v as u8).collect();
    Ok(Some(Box::new(Lut {
        outer,
        channels,
        inner,
        x: l.in_addr(0)?,
        x_dt,
        table: l.pool.add(&bytes),
        y: l.out_addr(0)?,
    })))
}

impl Kernel for Lut {
    fn emit(&self, fb: &mut Fb) {
        let xb = fb.base(self.x);
        let yb = fb.base(self.y);
        let tb = fb.base(self.table);
        // Signed operands index from -128: bias the loaded byte by 128.
        let bias = if self.x_dt == DType::I8 { 128 } else { 0 };
        fb.for_n(self.outer, |fb, o| {
            fb.for_n(self.channels, |fb, c| {
                let oc = fb.b.ins().imul_imm_s(o, self.channels as i64);
                let oc = fb.b.ins().iadd(oc, c);
                let x0 = fb.index(xb, oc, self.inner);
                let y0 = fb.index(yb, oc, self.inner);
                let t0 = fb.index(tb, c, 256);
                fb.for_n(self.inner, |fb, i| {
                    let xa = fb.index(x0, i, 1);
                    let v = fb.load_int(self.x_dt, xa, 0);
                    let v = fb.b.ins().iadd_imm_s(v, bias);
                    let v = fb.b.ins().sextend(types::I64, v);
                    let ta = fb.b.ins().iadd(t0, v);
                    let q = fb.b.ins().uload8(types::I32, super::const_flags(), ta, 0);
                    let ya = fb.index(y0, i, 1);
                    fb.b.ins().istore8(flags(), q, ya, 0);
                });
            });
        });
    }
}
