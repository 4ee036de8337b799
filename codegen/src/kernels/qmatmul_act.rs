//! `qmatmul` of two run-time operands (attention's `Q·Kᵀ` and `P·V`): A `[.., M, K]` times
//! B `[.., K, N]`, batch dims equal or one side shared by every batch (vector targets).
//!
//! In float modules B is packed per batch into scratch as i16 depth pairs per column,
//! `[ceil(K/2)][N rounded up to 16][2]`, zero points subtracted, zero-padded; each row's
//! `(a[2p] - za, a[2p + 1] - za)` pair is broadcast and one pmaddwd-shaped multiply-add
//! accumulates 4 columns, 16 columns per pass, requantized on the lanes with each column's
//! constants ([`super::gemm_cols::ColumnRequant`]). Otherwise B is packed as i16
//! `[N][K rounded up to 8]` and every output is one vector dot product of A's row with a
//! packed row, requantized as the constant-B kernel does.

use super::gemm::{column_params, qmatmul_requant};
use super::gemm_cols::{ColumnRequant, COLS};
use super::requant::{OutMode, Requant};
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
    form: Form,
    /// An i64 zero for [`Fb::fence`].
    zero: Addr,
}

/// How B is packed and the outputs computed.
enum Form {
    /// Float modules: depth pairs per column, 16 columns per pass, per-column constants.
    Cols(ColumnRequant),
    /// Otherwise: `[N][K rounded up to 8]`, one dot product and requantization per output.
    Dots(Requant),
}

/// Lowers `qmatmul` whose B is not a constant (the constant case is `gemm::lower_qmatmul`).
pub fn lower(l: &mut Lower) -> Lowered {
    if l.const_operand(1).is_some() {
        return Ok(None);
    }
    let (a_dt, b_dt) = (l.in_ty(0)?.dtype, l.in_ty(1)?.dtype);
    let int8 = |d: DType| matches!(d, DType::U8 | DType::I8);
    if !l.simd || !int8(a_dt) || !int8(b_dt) {
        return Ok(None);
    }
    let Some(mb) = l.matmul_batches()? else {
        return Ok(None);
    };
    let (m, k, n) = (mb.m, mb.k, mb.n);
    let Some((sa, za)) = l.in_q_tensor(0) else {
        return Ok(None);
    };
    let Some(b_q) = l.in_ty(1)?.quant.clone() else {
        return Ok(None);
    };
    let b_rank = l.in_ty(1)?.rank();
    let Some((sb, zb)) = column_params(&b_q, b_rank - 1, n) else {
        return Ok(None);
    };
    let Some((chans, out)) = qmatmul_requant(l, sa, &sb)? else {
        return Ok(None);
    };
    let y_dt = l.out_ty(0)?.dtype;
    let n16 = n.div_ceil(COLS) * COLS;
    let cols = match out {
        OutMode::Quant { qmin, qmax } => ColumnRequant::new(l, &chans, (qmin, qmax), n16),
        OutMode::F32 => None,
    };
    let (form, packed) = match cols {
        Some(c) => (Form::Cols(c), l.scratch(k.div_ceil(2) * n16 * 4)),
        None => (
            Form::Dots(Requant::new(l.pool, &chans, out)),
            l.scratch(n * k.div_ceil(8) * 8 * 2),
        ),
    };
    let zb = l.pool.i32s(&zb);
    Ok(Some(Box::new(ActMatMul {
        batch: mb.batches,
        a_batched: mb.a_batched,
        b_batched: mb.b_batched,
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
        form,
        zero: l.pool.i32s(&[0, 0]),
    })))
}

impl ActMatMul {
    /// Packs B (at `bbase`) into scratch as depth pairs per column (the column form):
    /// i16 `bp[kk / 2][j][kk % 2] = b[kk, j] - zb[j]`, zeros past K and N.
    fn pack_pairs(&self, fb: &mut Fb, bbase: Value) {
        let (k, n) = (self.k, self.n);
        let n16 = n.div_ceil(COLS) * COLS;
        let bsz = self.b_dt.size();
        let pbase = fb.base(self.packed);
        let z = fb.c32(0);
        let zv = fb.b.ins().splat(types::I32X4, z);
        fb.for_n(k.div_ceil(2) * n16 / 4, |fb, i| {
            let a = fb.index(pbase, i, 16);
            fb.b.ins().store(super::flags(), zv, a, 0);
        });
        let zbase = fb.base(self.zb);
        fb.for_n(k, |fb, kk| {
            let src = fb.index(bbase, kk, n * bsz);
            // Row kk goes to pair kk / 2, half kk % 2.
            let half = fb.b.ins().band_imm_u(kk, 1);
            let pair = fb.b.ins().ushr_imm_u(kk, 1);
            let dst = fb.index(pbase, pair, n16 * 4);
            let dst = fb.index(dst, half, 2);
            fb.for_ptrs(n, &[dst, src, zbase], &[4, bsz as i64, 4], |fb, p| {
                let v = fb.load_int(self.b_dt, p[1], 0);
                let zb = fb.b.ins().load(types::I32, super::const_flags(), p[2], 0);
                let v = fb.b.ins().isub(v, zb);
                fb.b.ins().istore16(super::flags(), v, p[0], 0);
            });
        });
    }

    /// Rows of one batch in the column form: A at `abase`, the result at `ybase`.
    fn rows_cols(&self, fb: &mut Fb, req: &ColumnRequant, abase: Value, ybase: Value) {
        let n = self.n;
        fb.for_n(n / COLS, |fb, jb| {
            let j0 = fb.b.ins().imul_imm_s(jb, COLS as i64);
            self.block_cols(fb, req, (abase, ybase), j0, COLS);
        });
        if !n.is_multiple_of(COLS) {
            let j0 = fb.c64((n / COLS * COLS) as i64);
            self.block_cols(fb, req, (abase, ybase), j0, n % COLS);
        }
    }

    /// Columns `j0 ..` (the first `valid` stored) of every row of one batch.
    fn block_cols(
        &self,
        fb: &mut Fb,
        req: &ColumnRequant,
        (abase, ybase): (Value, Value),
        j0: Value,
        valid: usize,
    ) {
        let (m, k, n) = (self.m, self.k, self.n);
        let n16 = n.div_ceil(COLS) * COLS;
        let (asz, ysz) = (self.a_dt.size(), self.y_dt.size());
        let vecs = valid.div_ceil(4);
        let consts = req.load(fb, j0, vecs);
        let pbase = fb.base(self.packed);
        // Reloaded after the packing stores (movable loads below).
        let pbase = fb.fence(pbase, self.zero);
        let pcol = fb.index(pbase, j0, 4);
        let le = super::flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
        fb.for_n(m, |fb, i| {
            let arow = fb.index(abase, i, k * asz);
            let z = fb.c32(0);
            let zv = fb.b.ins().splat(types::I32X4, z);
            let accs: Vec<_> = (0..vecs).map(|_| fb.var(types::I32X4, zv)).collect();
            let za = fb.c32(self.za);
            // One depth pair: A's two values broadcast as i16 pairs, then each column vector.
            let pair = |fb: &mut Fb, a0: Value, a1: Option<Value>, pb: Value| {
                let lo = fb.b.ins().isub(a0, za);
                let lo = fb.b.ins().band_imm_u(lo, 0xffff);
                let w = match a1 {
                    Some(a1) => {
                        let hi = fb.b.ins().isub(a1, za);
                        let hi = fb.b.ins().ishl_imm_s(hi, 16);
                        fb.b.ins().bor(lo, hi)
                    }
                    None => lo,
                };
                let w = fb.b.ins().splat(types::I32X4, w);
                let w = fb.b.ins().bitcast(types::I16X8, le, w);
                for (v, &acc) in accs.iter().enumerate() {
                    let b =
                        fb.b.ins()
                            .load(types::I16X8, super::const_flags(), pb, (16 * v) as i32);
                    let a = fb.b.use_var(acc);
                    let a = super::simd::madd(fb, w, b, a);
                    fb.b.def_var(acc, a);
                }
            };
            let step_b = (n16 * 4) as i64;
            fb.for_ptrs(k / 2, &[arow, pcol], &[2 * asz as i64, step_b], |fb, p| {
                let a0 = fb.load_int(self.a_dt, p[0], 0);
                let a1 = fb.load_int(self.a_dt, p[0], asz as i32);
                pair(fb, a0, Some(a1), p[1]);
            });
            if k % 2 == 1 {
                let a0 = fb.load_int(self.a_dt, arow, ((k - 1) * asz) as i32);
                let pb = fb.b.ins().iadd_imm_s(pcol, (k / 2) as i64 * step_b);
                pair(fb, a0, None, pb);
            }
            let yrow = fb.index(ybase, i, n * ysz);
            let y0 = fb.index(yrow, j0, ysz);
            for (v, &acc) in accs.iter().enumerate() {
                let a = fb.b.use_var(acc);
                let ya = fb.b.ins().iadd_imm_s(y0, (4 * v * ysz) as i64);
                consts.store(fb, v, a, self.y_dt, ya, (valid - 4 * v).min(4));
            }
        });
    }

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
        let pack = |fb: &mut Fb, bbase: Value| match self.form {
            Form::Cols(_) => self.pack_pairs(fb, bbase),
            Form::Dots(_) => self.pack(fb, bbase),
        };
        if !self.b_batched {
            let bbase = fb.base(self.b);
            pack(fb, bbase);
        }
        fb.for_n(self.batch, |fb, bi| {
            if self.b_batched {
                let b0 = fb.base(self.b);
                let bbase = fb.index(b0, bi, k * n * bsz);
                pack(fb, bbase);
            }
            let a0 = fb.base(self.a);
            let abase = if self.a_batched {
                fb.index(a0, bi, m * k * asz)
            } else {
                a0
            };
            let y0 = fb.base(self.y);
            let ybase = fb.index(y0, bi, m * n * ysz);
            let req = match &self.form {
                Form::Cols(req) => {
                    self.rows_cols(fb, req, abase, ybase);
                    return;
                }
                Form::Dots(req) => req,
            };
            fb.for_n(m, |fb, i| {
                let arow = fb.index(abase, i, k * asz);
                let yrow = fb.index(ybase, i, n * ysz);
                fb.for_n(n, |fb, j| {
                    let za = fb.c32(self.za);
                    let init = fb.c32(0);
                    let acc =
                        super::simd::dot_u8_i16(fb, self.a_dt, arow, za, self.packed, j, k, init);
                    let row = req.row(fb, j);
                    let v = req.apply(fb, row, acc);
                    let ya = fb.index(yrow, j, ysz);
                    fb.store_int(self.y_dt, v, ya, 0);
                });
            });
        });
    }
}
