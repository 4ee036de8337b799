//! Float `gemm` and `matmul`, with the interpreter's arithmetic: each output is
//! `acc = acc + a * b` in depth order (a rounded multiply, then a rounded add; never fused),
//! then for `gemm` `acc * alpha`, or `acc * alpha + c * beta` (`c * beta` is one f32
//! product, folded at compile time). Vectorised over 4 output columns, 4 column vectors per
//! pass; B is packed `[K][N rounded up to 4]` with zeros: once at compile time when it is a
//! constant, per batch into scratch when it is computed at run time (a transformer's
//! attention products: equal batch dims, or one operand shared by every batch).

use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::{DType, GemmAttrs};

/// Column vectors per pass.
const VECS: usize = 4;
/// Rows per pass (with [`VECS`]: the independent sums that hide the add latency).
const ROWS: usize = 2;

/// What follows the product.
#[derive(Clone, Copy)]
enum Epilogue {
    /// `matmul`: the sum itself.
    None,
    /// `acc * alpha`.
    Alpha(f32),
    /// `acc * alpha + cb[i, j]` with `cb = c * beta` packed `[M][N4]`.
    AlphaC(f32, Addr),
}

struct FGemm {
    m: usize,
    k: usize,
    n: usize,
    /// Element strides of A along (row, depth).
    a_strides: (usize, usize),
    a: Addr,
    /// B packed `[K][n4]`.
    b: Addr,
    epi: Epilogue,
    /// Fused output clamp (`x < lo -> lo`, then `x > hi -> hi`) after the epilogue.
    clamp: (Option<f32>, Option<f32>),
    y: Addr,
    /// A run-time B: the batches and where B is packed from (`b` is then scratch).
    batch: Option<Batch>,
}

/// The batches of a `matmul` whose B is computed at run time.
struct Batch {
    n: usize,
    /// Bytes between batches of A, B (0: shared by every batch) and the result.
    a_step: usize,
    b_step: usize,
    y_step: usize,
    /// B as computed, `[K, N]` per batch.
    b_src: Addr,
    /// An i64 zero for [`Fb::fence`].
    zero: Addr,
}

/// `n` rounded up to a whole vector.
fn n4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// B (`[K, N]`, or `[N, K]` when `trans_b`) as `[K][n4]` f32.
fn pack_b(b: &[f32], trans_b: bool, k: usize, n: usize) -> Vec<u8> {
    let w = n4(n);
    let mut p = vec![0.0f32; k * w];
    for kk in 0..k {
        for j in 0..n {
            p[kk * w + j] = if trans_b {
                b[j * k + kk]
            } else {
                b[kk * n + j]
            };
        }
    }
    p.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Lowers float `gemm` with constant B (and constant C when `beta != 0`).
pub fn lower_gemm(l: &mut Lower, at: &GemmAttrs) -> Lowered {
    let (a_s, b_s) = (l.in_dims(0)?, l.in_dims(1)?);
    if l.in_ty(0)?.dtype != DType::F32 || l.out_ty(0)?.dtype != DType::F32 || a_s.len() != 2 {
        return Ok(None);
    }
    let (m, k) = if at.trans_a {
        (a_s[1], a_s[0])
    } else {
        (a_s[0], a_s[1])
    };
    let n = if at.trans_b { b_s[0] } else { b_s[1] };
    let Some(b) = l
        .const_operand(1)
        .and_then(|t| t.as_slice::<f32>().map(<[f32]>::to_vec))
    else {
        return Ok(None);
    };
    if b_s.len() != 2 || b.len() != k * n {
        return Ok(None);
    }
    let epi = match l.node.inputs.get(2) {
        Some(_) if at.beta != 0.0 => {
            let Some(c) = l.const_operand(2).cloned() else {
                return Ok(None);
            };
            let Some(cv) = c.as_slice::<f32>() else {
                return Ok(None);
            };
            let Some(idx) = broadcast_index(&c.shape, m, n) else {
                return Ok(None);
            };
            let w = n4(n);
            let mut cb = vec![0.0f32; m * w];
            for i in 0..m {
                for j in 0..n {
                    cb[i * w + j] = cv[idx(i, j)] * at.beta;
                }
            }
            let bytes: Vec<u8> = cb.iter().flat_map(|v| v.to_le_bytes()).collect();
            Epilogue::AlphaC(at.alpha, l.pool.add(&bytes))
        }
        _ => Epilogue::Alpha(at.alpha),
    };
    let a_strides = if at.trans_a { (1, m) } else { (k, 1) };
    Ok(Some(Box::new(FGemm {
        m,
        k,
        n,
        a_strides,
        a: l.in_addr(0)?,
        b: l.pool.add(&pack_b(&b, at.trans_b, k, n)),
        epi,
        clamp: l.take_clamp().unwrap_or((None, None)),
        y: l.out_addr(0)?,
        batch: None,
    })))
}

/// Lowers float `matmul` of A (rank >= 2, leading dims as rows) by a constant 2-d B, or of
/// two run-time operands.
pub fn lower_matmul(l: &mut Lower) -> Lowered {
    if l.const_operand(1).is_none() {
        return lower_matmul_batched(l);
    }
    let (a_s, b_s) = (l.in_dims(0)?, l.in_dims(1)?);
    if l.in_ty(0)?.dtype != DType::F32
        || l.out_ty(0)?.dtype != DType::F32
        || a_s.len() < 2
        || b_s.len() != 2
    {
        return Ok(None);
    }
    let (k, n) = (b_s[0], b_s[1]);
    if a_s[a_s.len() - 1] != k {
        return Ok(None);
    }
    let m: usize = a_s[..a_s.len() - 1].iter().product();
    let Some(b) = l
        .const_operand(1)
        .and_then(|t| t.as_slice::<f32>().map(<[f32]>::to_vec))
    else {
        return Ok(None);
    };
    Ok(Some(Box::new(FGemm {
        m,
        k,
        n,
        a_strides: (k, 1),
        a: l.in_addr(0)?,
        b: l.pool.add(&pack_b(&b, false, k, n)),
        epi: Epilogue::None,
        clamp: l.take_clamp().unwrap_or((None, None)),
        y: l.out_addr(0)?,
        batch: None,
    })))
}

/// Index of C for output `(i, j)` under unidirectional broadcasting to `[m, n]`.
fn broadcast_index(shape: &[usize], m: usize, n: usize) -> Option<impl Fn(usize, usize) -> usize> {
    let (cm, cn) = match shape {
        [] => (1, 1),
        [cn] => (1, *cn),
        [cm, cn] => (*cm, *cn),
        _ => return None,
    };
    if !(cm == 1 || cm == m) || !(cn == 1 || cn == n) {
        return None;
    }
    Some(move |i: usize, j: usize| (if cm == 1 { 0 } else { i }) * cn + if cn == 1 { 0 } else { j })
}

/// `matmul` of two run-time f32 operands `[.., M, K] x [.., K, N]`: equal batch dims
/// (leading 1s aside), or one operand shared by every batch.
fn lower_matmul_batched(l: &mut Lower) -> Lowered {
    if l.in_ty(0)?.dtype != DType::F32
        || l.in_ty(1)?.dtype != DType::F32
        || l.out_ty(0)?.dtype != DType::F32
        || !l.simd
    {
        return Ok(None);
    }
    let Some(mb) = l.matmul_batches()? else {
        return Ok(None);
    };
    let (m, k, n) = (mb.m, mb.k, mb.n);
    let b = l.scratch(k * n4(n) * 4);
    Ok(Some(Box::new(FGemm {
        m,
        k,
        n,
        a_strides: (k, 1),
        a: l.in_addr(0)?,
        b,
        epi: Epilogue::None,
        clamp: l.take_clamp().unwrap_or((None, None)),
        y: l.out_addr(0)?,
        batch: Some(Batch {
            n: mb.batches,
            a_step: if mb.a_batched { m * k * 4 } else { 0 },
            b_step: if mb.b_batched { k * n * 4 } else { 0 },
            y_step: m * n * 4,
            b_src: l.in_addr(1)?,
            zero: l.pool.i32s(&[0, 0]),
        }),
    })))
}

/// Where one product reads A and B and writes its result.
#[derive(Clone, Copy)]
struct Bases {
    a: Value,
    b: Value,
    y: Value,
}

impl FGemm {
    /// Packs the run-time B at `src` (`[K, N]`) into the scratch `[K][n4]`, zero-padded.
    fn pack(&self, fb: &mut Fb, src: Value) {
        let (k, n, w) = (self.k, self.n, n4(self.n));
        let dst = fb.base(self.b);
        let z = fb.f32c(0.0);
        fb.for_ptrs(
            k,
            &[dst, src],
            &[(w * 4) as i64, (n * 4) as i64],
            |fb, p| {
                for v in 0..n / 4 {
                    let x =
                        fb.b.ins()
                            .load(types::F32X4, flags(), p[1], (16 * v) as i32);
                    fb.b.ins().store(flags(), x, p[0], (16 * v) as i32);
                }
                for j in n / 4 * 4..n {
                    let x = fb.b.ins().load(types::F32, flags(), p[1], (4 * j) as i32);
                    fb.b.ins().store(flags(), x, p[0], (4 * j) as i32);
                }
                for j in n..w {
                    fb.b.ins().store(flags(), z, p[0], (4 * j) as i32);
                }
            },
        );
    }

    /// Columns `4 * v0 .. 4 * (v0 + vecs)` of rows `rows` (`(i, A row address)`, one or
    /// two: the B loads serve both, and twice the independent sums hide the add latency).
    fn cols(
        &self,
        fb: &mut Fb,
        bases: Bases,
        rows: &[(Value, Value)],
        v0: Value,
        vecs: usize,
        tail: usize,
    ) {
        let w = n4(self.n);
        let zero = fb.f32c(0.0);
        let zv = fb.b.ins().splat(types::F32X4, zero);
        let accs: Vec<Vec<_>> = rows
            .iter()
            .map(|_| (0..vecs).map(|_| fb.var(types::F32X4, zv)).collect())
            .collect();
        let b0 = fb.index(bases.b, v0, 16);
        // One depth step `kk` (an i64, plus `s` steps): every sum gains `a * b`.
        let step = |fb: &mut Fb, kk: Value, s: usize| {
            let avs: Vec<Value> = rows
                .iter()
                .map(|&(_, arow)| {
                    let aa = fb.index(arow, kk, self.a_strides.1 * 4);
                    let off = (s * self.a_strides.1 * 4) as i32;
                    // Movable: A is never written by this kernel.
                    let av = fb.b.ins().load(types::F32, super::const_flags(), aa, off);
                    fb.b.ins().splat(types::F32X4, av)
                })
                .collect();
            let brow = fb.index(b0, kk, w * 4);
            for t in 0..vecs {
                let off = (s * w * 4 + 16 * t) as i32;
                let bv =
                    fb.b.ins()
                        .load(types::F32X4, super::const_flags(), brow, off);
                for (row, &av) in accs.iter().zip(&avs) {
                    let p = fb.b.ins().fmul(av, bv);
                    let a = fb.b.use_var(row[t]);
                    let a = fb.b.ins().fadd(a, p);
                    fb.b.def_var(row[t], a);
                }
            }
        };
        // Two steps per iteration (in order), then the odd last one.
        fb.for_n(self.k / 2, |fb, p| {
            let kk = fb.b.ins().imul_imm_s(p, 2);
            step(fb, kk, 0);
            step(fb, kk, 1);
        });
        if self.k % 2 == 1 {
            let kk = fb.c64((self.k - 1) as i64);
            step(fb, kk, 0);
        }
        let ybase = bases.y;
        let (lo, hi) = self.clamp;
        let lo = lo.map(|x| {
            let x = fb.f32c(x);
            fb.b.ins().splat(types::F32X4, x)
        });
        let hi = hi.map(|x| {
            let x = fb.f32c(x);
            fb.b.ins().splat(types::F32X4, x)
        });
        for (r, &(i, _)) in rows.iter().enumerate() {
            let yrow = fb.index(ybase, i, self.n * 4);
            let y0 = fb.index(yrow, v0, 16);
            for (t, acc) in accs[r].iter().enumerate() {
                let mut v = fb.b.use_var(*acc);
                match self.epi {
                    Epilogue::None => {}
                    Epilogue::Alpha(alpha) => {
                        let s = fb.f32c(alpha);
                        let s = fb.b.ins().splat(types::F32X4, s);
                        v = fb.b.ins().fmul(v, s);
                    }
                    Epilogue::AlphaC(alpha, cb) => {
                        let s = fb.f32c(alpha);
                        let s = fb.b.ins().splat(types::F32X4, s);
                        v = fb.b.ins().fmul(v, s);
                        let cbase = fb.base(cb);
                        let crow = fb.index(cbase, i, w * 4);
                        let c0 = fb.index(crow, v0, 16);
                        let cv = fb.b.ins().load(
                            types::F32X4,
                            super::const_flags(),
                            c0,
                            (16 * t) as i32,
                        );
                        v = fb.b.ins().fadd(v, cv);
                    }
                }
                v = super::fconv::clamp(fb, v, lo, hi);
                // The last vector of a row may hold fewer than 4 real columns.
                let lanes = if t + 1 == vecs && tail != 0 { tail } else { 4 };
                if lanes == 4 {
                    fb.b.ins().store(flags(), v, y0, (16 * t) as i32);
                } else {
                    for lane in 0..lanes {
                        let e = fb.b.ins().extractlane(v, lane as u8);
                        fb.b.ins().store(flags(), e, y0, (16 * t + 4 * lane) as i32);
                    }
                }
            }
        }
    }

    /// All columns of rows `rows`.
    fn row_block(&self, fb: &mut Fb, bases: Bases, rows: &[(Value, Value)]) {
        let full = self.n / 4;
        let tail = self.n % 4;
        fb.for_n(full / VECS, |fb, p| {
            let v0 = fb.b.ins().imul_imm_s(p, VECS as i64);
            self.cols(fb, bases, rows, v0, VECS, 0);
        });
        let rest = full % VECS + usize::from(tail != 0);
        if rest > 0 {
            let v0 = fb.c64((full / VECS * VECS) as i64);
            self.cols(fb, bases, rows, v0, rest, tail);
        }
    }

    /// One product: every row of A at `bases.a`.
    fn product(&self, fb: &mut Fb, bases: Bases) {
        let row = |fb: &mut Fb, i: Value| {
            let arow = fb.index(bases.a, i, self.a_strides.0 * 4);
            (i, arow)
        };
        fb.for_n(self.m / ROWS, |fb, p| {
            let i0 = fb.b.ins().imul_imm_s(p, ROWS as i64);
            let rows: Vec<_> = (0..ROWS)
                .map(|r| {
                    let i = fb.b.ins().iadd_imm_s(i0, r as i64);
                    row(fb, i)
                })
                .collect();
            self.row_block(fb, bases, &rows);
        });
        for i in self.m / ROWS * ROWS..self.m {
            let i = fb.c64(i as i64);
            let r = row(fb, i);
            self.row_block(fb, bases, &[r]);
        }
    }
}

impl Kernel for FGemm {
    fn emit(&self, fb: &mut Fb) {
        let (a, y) = (fb.base(self.a), fb.base(self.y));
        let Some(bt) = &self.batch else {
            let b = fb.base(self.b);
            self.product(fb, Bases { a, b, y });
            return;
        };
        let src0 = fb.base(bt.b_src);
        // B's loads are movable: the packed pointer is re-derived after the packing stores.
        let packed = |fb: &mut Fb| {
            let b = fb.base(self.b);
            fb.fence(b, bt.zero)
        };
        if bt.b_step == 0 {
            self.pack(fb, src0);
        }
        fb.for_n(bt.n, |fb, bi| {
            if bt.b_step > 0 {
                let src = fb.index(src0, bi, bt.b_step);
                self.pack(fb, src);
            }
            let b = packed(fb);
            let ab = fb.index(a, bi, bt.a_step);
            let yb = fb.index(y, bi, bt.y_step);
            self.product(fb, Bases { a: ab, b, y: yb });
        });
    }
}
