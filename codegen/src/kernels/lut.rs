//! `lut`: `y = table[c][x - storage_min(x)]` for an 8- or 16-bit operand, one table of
//! 256 or 65536 entries for all elements or one per channel (dim 1). The constant table is
//! stored in the result's element size in the program's pool; the loop is a load of the
//! operand, one indexed load, a store.

use super::{flags, small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::DType;

struct Lut {
    /// `outer x channels x inner` elements; `channels == 1` for one table.
    outer: usize,
    channels: usize,
    inner: usize,
    x: Addr,
    x_dt: DType,
    /// Entries per table (256 or 65536).
    entries: usize,
    table: Addr,
    y: Addr,
    y_dt: DType,
}

/// Lowers `lut` with a constant table, an 8- or 16-bit operand and an 8- or 16-bit result.
pub fn lower(l: &mut Lower) -> Lowered {
    let x_dt = l.in_ty(0)?.dtype;
    let y_dt = l.out_ty(0)?.dtype;
    let Some(entries) = qcc_ir::quant::lut_entries(x_dt) else {
        return Ok(None);
    };
    if !small_int(y_dt) || !matches!(y_dt.size(), 1 | 2) {
        return Ok(None);
    }
    let Some(t) = l.const_operand(1).cloned() else {
        return Ok(None);
    };
    let xs = l.in_dims(0)?;
    let n: usize = xs.iter().product();
    let channels = match t.shape.as_slice() {
        [e] if *e == entries => 1,
        [c, e] if *e == entries && xs.get(1) == Some(c) => *c,
        _ => return Ok(None),
    };
    let (outer, inner) = if channels == 1 {
        (1, n)
    } else {
        (xs[0], xs[2..].iter().product())
    };
    // Little-endian entries of the result's size.
    let bytes: Vec<u8> = t
        .data
        .to_i64_vec()
        .iter()
        .flat_map(|&v| (v as u16).to_le_bytes().into_iter().take(y_dt.size()))
        .collect();
    Ok(Some(Box::new(Lut {
        outer,
        channels,
        inner,
        x: l.in_addr(0)?,
        x_dt,
        entries,
        table: l.pool.add(&bytes),
        y: l.out_addr(0)?,
        y_dt,
    })))
}

/// Lookups per iteration of the inner loop.
const UNROLL: usize = 8;

impl Kernel for Lut {
    fn emit(&self, fb: &mut Fb) {
        let xb = fb.base(self.x);
        let yb = fb.base(self.y);
        let tb = fb.base(self.table);
        // Signed operands index from their minimum: bias the loaded value by -min.
        let bias = -self.x_dt.int_range().map_or(0, |r| r.0);
        let (xsz, ysz) = (self.x_dt.size(), self.y_dt.size());
        fb.for_n(self.outer, |fb, o| {
            fb.for_n(self.channels, |fb, c| {
                let oc = fb.b.ins().imul_imm_s(o, self.channels as i64);
                let oc = fb.b.ins().iadd(oc, c);
                let x0 = fb.index(xb, oc, self.inner * xsz);
                let y0 = fb.index(yb, oc, self.inner * ysz);
                let t0 = fb.index(tb, c, self.entries * ysz);
                // Element `k` after the one at `xa` / `ya`.
                let one = |fb: &mut Fb, xa: Value, ya: Value, k: usize| {
                    let v = fb.load_int(self.x_dt, xa, (k * xsz) as i32);
                    let v = fb.b.ins().iadd_imm_s(v, bias);
                    let v = fb.b.ins().sextend(types::I64, v);
                    let ta = fb.index(t0, v, ysz);
                    let at = (k * ysz) as i32;
                    if ysz == 1 {
                        let q = fb.b.ins().uload8(types::I32, super::const_flags(), ta, 0);
                        fb.b.ins().istore8(flags(), q, ya, at);
                    } else {
                        let q = fb.b.ins().uload16(types::I32, super::const_flags(), ta, 0);
                        fb.b.ins().istore16(flags(), q, ya, at);
                    }
                };
                // Eight lookups per iteration (constant offsets, one loop step), then the rest.
                fb.for_n(self.inner / UNROLL, |fb, i| {
                    let xa = fb.index(x0, i, UNROLL * xsz);
                    let ya = fb.index(y0, i, UNROLL * ysz);
                    for k in 0..UNROLL {
                        one(fb, xa, ya, k);
                    }
                });
                fb.for_span(self.inner / UNROLL * UNROLL, self.inner, |fb, i| {
                    let xa = fb.index(x0, i, xsz);
                    let ya = fb.index(y0, i, ysz);
                    one(fb, xa, ya, 0);
                });
            });
        });
    }
}
