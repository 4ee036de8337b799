//! Float `gemm` and `matmul` with a constant B, with the interpreter's arithmetic: each
//! output is `acc = acc + a * b` in depth order (a rounded multiply, then a rounded add;
//! never fused), then for `gemm` `acc * alpha`, or `acc * alpha + c * beta` (`c * beta` is
//! one f32 product, folded at compile time). Vectorised over 4 output columns, 4 column
//! vectors per pass; B is packed `[K][N rounded up to 4]` with zeros.

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
    })))
}

/// Lowers float `matmul` of A (rank >= 2, leading dims as rows) by a constant 2-d B.
pub fn lower_matmul(l: &mut Lower) -> Lowered {
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

impl FGemm {
    /// Columns `4 * v0 .. 4 * (v0 + vecs)` of rows `rows` (`(i, A row address)`, one or
    /// two: the B loads serve both, and twice the independent sums hide the add latency).
    fn cols(&self, fb: &mut Fb, rows: &[(Value, Value)], v0: Value, vecs: usize, tail: usize) {
        let w = n4(self.n);
        let zero = fb.f32c(0.0);
        let zv = fb.b.ins().splat(types::F32X4, zero);
        let accs: Vec<Vec<_>> = rows
            .iter()
            .map(|_| (0..vecs).map(|_| fb.var(types::F32X4, zv)).collect())
            .collect();
        let bbase = fb.base(self.b);
        let b0 = fb.index(bbase, v0, 16);
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
        let ybase = fb.base(self.y);
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
    fn row_block(&self, fb: &mut Fb, rows: &[(Value, Value)]) {
        let full = self.n / 4;
        let tail = self.n % 4;
        fb.for_n(full / VECS, |fb, p| {
            let v0 = fb.b.ins().imul_imm_s(p, VECS as i64);
            self.cols(fb, rows, v0, VECS, 0);
        });
        let rest = full % VECS + usize::from(tail != 0);
        if rest > 0 {
            let v0 = fb.c64((full / VECS * VECS) as i64);
            self.cols(fb, rows, v0, rest, tail);
        }
    }
}

impl Kernel for FGemm {
    fn emit(&self, fb: &mut Fb) {
        let row = |fb: &mut Fb, i: Value| {
            let abase = fb.base(self.a);
            let arow = fb.index(abase, i, self.a_strides.0 * 4);
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
            self.row_block(fb, &rows);
        });
        for i in self.m / ROWS * ROWS..self.m {
            let i = fb.c64(i as i64);
            let r = row(fb, i);
            self.row_block(fb, &[r]);
        }
    }
}
