//! `qmatmul` of two run-time operands (attention's `Q·Kᵀ` and `P·V`): A `[.., M, K]` times
//! B `[.., K, N]`, batch dims equal or one side shared by every batch (vector targets).
//! Per batch, B is packed into scratch as i16 `[N][K rounded up to 8]` with its zero
//! points subtracted and a zero-filled tail, then every
//! `y[i, j] = requant(sum_k (a[i, k] - za) * bp[j, k])` is one vector dot product of A's
//! row with a packed row, requantized per column exactly as the constant-B kernel does.

use super::gemm::{column_params, qmatmul_requant};
use super::requant::Requant;
use super::{Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::DType;

struct ActMatMul {
    batch: usize,
    /// A and B advance with the batch (B may be shared by every batch).
    a_batched: bool,
    b_batched: bool,
    m: usize,
    k: usize,
    n: usize,
    a: Addr,
    a_dt: DType,
    za: i32,
    b: Addr,
    b_dt: DType,
    /// B's zero point per column (i32, in the pool).
    zb: Addr,
    /// Packed B in scratch.
    packed: Addr,
    y: Addr,
    y_dt: DType,
    req: Requant,
}

/// Lowers `qmatmul` whose B is not a constant (the constant case is `gemm::lower_qmatmul`).
pub fn lower(l: &mut Lower) -> Lowered {
    if l.const_operand(1).is_some() {
        return Ok(None);
    }
    let (a_s, b_s) = (l.in_dims(0)?, l.in_dims(1)?);
    let (a_dt, b_dt) = (l.in_ty(0)?.dtype, l.in_ty(1)?.dtype);
    let int8 = |d: DType| matches!(d, DType::U8 | DType::I8);
    if !l.simd || a_s.len() < 2 || b_s.len() < 2 || !int8(a_dt) || !int8(b_dt) {
        return Ok(None);
    }
    let (m, k) = (a_s[a_s.len() - 2], a_s[a_s.len() - 1]);
    let (kb, n) = (b_s[b_s.len() - 2], b_s[b_s.len() - 1]);
    if k != kb {
        return Err(format!("inner dimensions differ: {a_s:?} x {b_s:?}"));
    }
    let a_batch: usize = a_s[..a_s.len() - 2].iter().product();
    let b_batch: usize = b_s[..b_s.len() - 2].iter().product();
    // Same batch dims (leading 1s aside), or a B shared by every batch.
    let strip = |s: &[usize]| -> Vec<usize> {
        let d = &s[..s.len() - 2];
        d[d.iter().take_while(|&&x| x == 1).count()..].to_vec()
    };
    let batch = a_batch.max(b_batch);
    if a_batch > 1 && b_batch > 1 && strip(&a_s) != strip(&b_s) {
        return Ok(None);
    }
    if l.out_dims(0)?.iter().product::<usize>() != batch * m * n {
        return Ok(None);
    }
    let Some((sa, za)) = l.in_q_tensor(0) else {
        return Ok(None);
    };
    let Some(b_q) = l.in_ty(1)?.quant.clone() else {
        return Ok(None);
    };
    let Some((sb, zb)) = column_params(&b_q, b_s.len() - 1, n) else {
        return Ok(None);
    };
    let Some((chans, out)) = qmatmul_requant(l, sa, &sb)? else {
        return Ok(None);
    };
    let y_dt = l.out_ty(0)?.dtype;
    let packed = l.scratch(n * k.div_ceil(8) * 8 * 2);
    let zb = l.pool.i32s(&zb);
    let req = Requant::new(l.pool, &chans, out);
    Ok(Some(Box::new(ActMatMul {
        batch,
        a_batched: a_batch > 1,
        b_batched: b_batch > 1,
        m,
        k,
        n,
        a: l.in_addr(0)?,
        a_dt,
        za,
        b: l.in_addr(1)?,
        b_dt,
        zb,
        packed,
        y: l.out_addr(0)?,
        y_dt,
        req,
    })))
}

impl ActMatMul {
    /// Packs B (at `bbase`) into scratch: `bp[j, kk] = b[kk, j] - zb[j]`.
    fn pack(&self, fb: &mut Fb, bbase: Value) {
        let (k, n) = (self.k, self.n);
        let bsz = self.b_dt.size();
        let (row, esz) = (k.div_ceil(8) * 8, 2);
        let pbase = fb.base(self.packed);
        let zbase = fb.base(self.zb);
        fb.for_n(n, |fb, j| {
            let za = fb.index(zbase, j, 4);
            let zbj = fb.b.ins().load(types::I32, super::const_flags(), za, 0);
            let src = fb.index(bbase, j, bsz);
            let dst = fb.index(pbase, j, row * esz);
            fb.for_ptrs(k, &[dst, src], &[esz as i64, (n * bsz) as i64], |fb, p| {
                let v = fb.load_int(self.b_dt, p[1], 0);
                let v = fb.b.ins().isub(v, zbj);
                fb.b.ins().istore16(super::flags(), v, p[0], 0);
            });
            // The zero-filled tail the vector dot product reads.
            if k < row {
                let z = fb.c32(0);
                for kk in k..row {
                    fb.b.ins()
                        .istore16(super::flags(), z, dst, (kk * esz) as i32);
                }
            }
        });
    }
}

impl Kernel for ActMatMul {
    fn emit(&self, fb: &mut Fb) {
        let (m, k, n) = (self.m, self.k, self.n);
        let (asz, bsz, ysz) = (self.a_dt.size(), self.b_dt.size(), self.y_dt.size());
        if !self.b_batched {
            let bbase = fb.base(self.b);
            self.pack(fb, bbase);
        }
        fb.for_n(self.batch, |fb, bi| {
            if self.b_batched {
                let b0 = fb.base(self.b);
                let bbase = fb.index(b0, bi, k * n * bsz);
                self.pack(fb, bbase);
            }
            let a0 = fb.base(self.a);
            let abase = if self.a_batched {
                fb.index(a0, bi, m * k * asz)
            } else {
                a0
            };
            let y0 = fb.base(self.y);
            let ybase = fb.index(y0, bi, m * n * ysz);
            fb.for_n(m, |fb, i| {
                let arow = fb.index(abase, i, k * asz);
                let yrow = fb.index(ybase, i, n * ysz);
                fb.for_n(n, |fb, j| {
                    let za = fb.c32(self.za);
                    let init = fb.c32(0);
                    let acc =
                        super::simd::dot_u8_i16(fb, self.a_dt, arow, za, self.packed, j, k, init);
                    let row = self.req.row(fb, j);
                    let v = self.req.apply(fb, row, acc);
                    let ya = fb.index(yrow, j, ysz);
                    fb.store_int(self.y_dt, v, ya, 0);
                });
            });
        });
    }
}
