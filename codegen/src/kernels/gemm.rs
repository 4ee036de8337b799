//! `qgemm` and `qmatmul` with constant B: B is packed once as `[N][K]` i32 with its zero
//! points subtracted (or i16 for the vector kernel), C (if any) broadcast once to `[M, N]`,
//! and the requantization table holds one row per output column.

use super::requant::{self, Channel, OutMode, Requant};
use super::{small_int, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::quant::Multiplier;
use qcc_ir::{DType, GemmAttrs};

/// One `y[i, j] = requant(C[i, j] + sum_k (a[i, k] - za) * bp[j, k])` kernel.
struct QGemm {
    m: usize,
    k: usize,
    n: usize,
    /// Element strides of A along (row, k).
    a_strides: (usize, usize),
    a: Addr,
    a_dt: DType,
    za: i32,
    bp: Addr,
    bp16: Option<Addr>,
    /// VNNI layout: B as i8 `[N][K rounded up to 16]` and per-column corrections
    /// `(za + 128 if A is i8) * sum_k B[j, k]` (wrapping i32).
    vnni: Option<(Addr, Addr)>,
    c: Option<Addr>,
    y: Addr,
    y_dt: DType,
    req: Requant,
}

/// B operand after packing: `[N][K]` with zero points subtracted, plus per-column scales.
fn pack_b(
    b: &qcc_ir::Tensor,
    b_q: &qcc_ir::QParams,
    trans_b: bool,
    k: usize,
    n: usize,
) -> Option<(Vec<i32>, Vec<f32>)> {
    let (sb, zb) = column_params(b_q, if trans_b { 0 } else { 1 }, n)?;
    let v = b.data.to_i64_vec();
    if v.len() != k * n {
        return None;
    }
    let mut p = vec![0i32; n * k];
    for j in 0..n {
        for kk in 0..k {
            let raw = if trans_b {
                v[j * k + kk]
            } else {
                v[kk * n + j]
            };
            p[j * k + kk] = (raw - zb[j] as i64) as i32;
        }
    }
    Some((p, sb))
}

/// B's scale and zero point per output column: per tensor, or per axis along `axis` (the
/// output dim) with `n` entries.
pub(super) fn column_params(
    b_q: &qcc_ir::QParams,
    axis: usize,
    n: usize,
) -> Option<(Vec<f32>, Vec<i32>)> {
    match b_q.axis {
        None => Some((vec![b_q.scale[0]; n], vec![b_q.zero_point[0]; n])),
        Some(a) if a == axis && b_q.scale.len() == n => {
            Some((b_q.scale.clone(), b_q.zero_point.clone()))
        }
        _ => None,
    }
}

/// The requantization of a `qmatmul` result (8-bit, per tensor or per column along its
/// last dim) with A's scale `sa` and B's per-column scales `sb`.
pub(super) fn qmatmul_requant(
    l: &Lower,
    sa: f32,
    sb: &[f32],
) -> Result<Option<(Vec<Channel>, OutMode)>, String> {
    let y_ty = l.out_ty(0)?;
    let Some(q) = &y_ty.quant else {
        return Ok(None);
    };
    if !small_int(y_ty.dtype) {
        return Ok(None);
    }
    let out_axis = y_ty.rank().saturating_sub(1);
    if q.axis.is_some() && (q.axis != Some(out_axis) || q.scale.len() != sb.len()) {
        return Ok(None);
    }
    let (qmin, qmax) = q.storage_range(y_ty.dtype);
    let chans = requant::channels(l.module.requant, 1.0, sa, sb, q, None)?;
    Ok(Some((chans, OutMode::Quant { qmin, qmax })))
}

#[allow(clippy::too_many_arguments)]
fn build(
    l: &mut Lower,
    (m, k, n): (usize, usize, usize),
    a_strides: (usize, usize),
    packed: Vec<i32>,
    chans: Vec<Channel>,
    out: OutMode,
    c: Option<Vec<i32>>,
) -> Lowered {
    if let OutMode::Quant { qmin, qmax } = out {
        let contiguous = a_strides == (k, 1);
        let cols = super::gemm_cols::plan(
            l,
            (m, k, n),
            contiguous,
            &packed,
            &chans,
            (qmin, qmax),
            c.as_deref(),
        )?;
        if cols.is_some() {
            return Ok(cols);
        }
    }
    let a_dt = l.in_ty(0)?.dtype;
    let y_dt = l.out_ty(0)?.dtype;
    let za = l.in_q_tensor(0).map_or(0, |q| q.1);
    let req = Requant::new(l.pool, &chans, out);
    let bp16 = if l.simd && k >= 8 && packed.iter().all(|&v| i16::try_from(v).is_ok()) {
        // Vector layout: [N][K rounded up to 8] i16, zero-filled tail.
        let k8 = k.div_ceil(8) * 8;
        let mut p = vec![0i16; n * k8];
        for j in 0..n {
            for kk in 0..k {
                p[j * k8 + kk] = packed[j * k + kk] as i16;
            }
        }
        Some(l.pool.i16s(&p))
    } else {
        None
    };
    let vnni = (l.vnni && a_strides.1 == 1 && k >= 16)
        .then(|| pack_vnni(&packed, za, a_dt, k, n))
        .flatten()
        .map(|(b8, corr)| (l.pool.add(&b8), l.pool.i32s(&corr)));
    let bp = l.pool.i32s(&packed);
    let c = c.map(|c| l.pool.i32s(&c));
    Ok(Some(Box::new(QGemm {
        m,
        k,
        n,
        a_strides,
        a: l.in_addr(0)?,
        a_dt,
        za,
        bp,
        bp16: if a_strides.1 == 1 { bp16 } else { None },
        vnni,
        c,
        y: l.out_addr(0)?,
        y_dt,
        req,
    })))
}

/// B as i8 `[N][k16]` bytes plus the per-column corrections of the u8 domain, when every
/// packed value fits in i8.
fn pack_vnni(
    packed: &[i32],
    za: i32,
    a_dt: DType,
    k: usize,
    n: usize,
) -> Option<(Vec<u8>, Vec<i32>)> {
    if packed.iter().any(|&v| i8::try_from(v).is_err()) {
        return None;
    }
    let k16 = k.div_ceil(16) * 16;
    let za_u8 = za + if a_dt == DType::I8 { 128 } else { 0 };
    let mut b8 = vec![0u8; n * k16];
    let mut corr = Vec::with_capacity(n);
    for j in 0..n {
        let row = &packed[j * k..(j + 1) * k];
        for (kk, &v) in row.iter().enumerate() {
            b8[j * k16 + kk] = v as i8 as u8;
        }
        let sum = row.iter().fold(0i32, |s, &v| s.wrapping_add(v));
        corr.push(za_u8.wrapping_mul(sum));
    }
    Some((b8, corr))
}

/// Lowers `qgemm` with a constant B (and constant C, if present).
/// `clamp` is a fused output clamp `[lo, hi]` on the stored values.
pub fn lower_qgemm(l: &mut Lower, at: &GemmAttrs, clamp: Option<(i64, i64)>) -> Lowered {
    let a_s = l.in_dims(0)?;
    let b_s = l.in_dims(1)?;
    let a_dt = l.in_ty(0)?.dtype;
    if a_s.len() != 2 || b_s.len() != 2 || !matches!(a_dt, DType::U8 | DType::I8) {
        return Ok(None);
    }
    let (m, ka) = if at.trans_a {
        (a_s[1], a_s[0])
    } else {
        (a_s[0], a_s[1])
    };
    let (kb, n) = if at.trans_b {
        (b_s[1], b_s[0])
    } else {
        (b_s[0], b_s[1])
    };
    if ka != kb {
        return Err(format!("inner dimensions differ: {a_s:?} x {b_s:?}"));
    }
    let k = ka;
    let Some(b) = l.const_operand(1).cloned() else {
        return Ok(None);
    };
    let Some((sa, _)) = l.in_q_tensor(0) else {
        return Ok(None);
    };
    let Some(b_q) = l.in_ty(1)?.quant.clone() else {
        return Ok(None);
    };
    let Some((packed, sb)) = pack_b(&b, &b_q, at.trans_b, k, n) else {
        return Ok(None);
    };
    let c = match l.node.inputs.len() {
        2 => None,
        3 => {
            let Some(ct) = l.const_operand(2).cloned() else {
                return Ok(None);
            };
            let Some(cv) = ct.as_slice::<i32>() else {
                return Ok(None);
            };
            Some(broadcast_c(cv, &ct.shape, m, n).ok_or("C does not broadcast to [M, N]")?)
        }
        _ => return Ok(None),
    };
    let y_ty = l.out_ty(0)?.clone();
    let (chans, out) = match &y_ty.quant {
        None if y_ty.dtype == DType::F32 => {
            let ch = sb
                .iter()
                .map(|&s| Channel {
                    bias: 0,
                    zp: 0,
                    mult: Multiplier::Float(at.alpha * sa * s).into(),
                })
                .collect();
            (ch, OutMode::F32)
        }
        Some(q) if small_int(y_ty.dtype) => {
            if q.axis.is_some() && (q.axis != Some(1) || q.scale.len() != n) {
                return Ok(None);
            }
            let (qmin, qmax) = super::out_bounds(q.storage_range(y_ty.dtype), clamp)?;
            (
                requant::channels(l.module.requant, at.alpha, sa, &sb, q, None)?,
                OutMode::Quant { qmin, qmax },
            )
        }
        _ => return Ok(None),
    };
    let a_strides = if at.trans_a { (1, m) } else { (k, 1) };
    build(l, (m, k, n), a_strides, packed, chans, out, c)
}

/// C broadcast (numpy, unidirectional) to `[m, n]`.
fn broadcast_c(c: &[i32], shape: &[usize], m: usize, n: usize) -> Option<Vec<i32>> {
    let (cm, cn) = match shape.len() {
        0 => (1, 1),
        1 => (1, shape[0]),
        2 => (shape[0], shape[1]),
        _ => return None,
    };
    if !(cm == 1 || cm == m) || !(cn == 1 || cn == n) || c.len() != cm * cn {
        return None;
    }
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            out.push(c[(if cm == 1 { 0 } else { i }) * cn + if cn == 1 { 0 } else { j }]);
        }
    }
    Some(out)
}

/// Lowers `qmatmul` with A of rank >= 2 and a constant 2-d B (A's leading dims are rows).
pub fn lower_qmatmul(l: &mut Lower) -> Lowered {
    let a_s = l.in_dims(0)?;
    let b_s = l.in_dims(1)?;
    let a_dt = l.in_ty(0)?.dtype;
    if a_s.len() < 2 || b_s.len() != 2 || !matches!(a_dt, DType::U8 | DType::I8) {
        return Ok(None);
    }
    let k = a_s[a_s.len() - 1];
    let (kb, n) = (b_s[0], b_s[1]);
    if k != kb {
        return Err(format!("inner dimensions differ: {a_s:?} x {b_s:?}"));
    }
    let m: usize = a_s[..a_s.len() - 1].iter().product();
    let Some(b) = l.const_operand(1).cloned() else {
        return Ok(None);
    };
    let Some((sa, _)) = l.in_q_tensor(0) else {
        return Ok(None);
    };
    let Some(b_q) = l.in_ty(1)?.quant.clone() else {
        return Ok(None);
    };
    let Some((packed, sb)) = pack_b(&b, &b_q, false, k, n) else {
        return Ok(None);
    };
    let Some((chans, out)) = qmatmul_requant(l, sa, &sb)? else {
        return Ok(None);
    };
    build(l, (m, k, n), (k, 1), packed, chans, out, None)
}

impl QGemm {
    /// `C[i, j]` or 0.
    fn init(&self, fb: &mut Fb, i: Value, j: Value) -> Value {
        match self.c {
            Some(c) => {
                let cb = fb.base(c);
                let ij = fb.b.ins().imul_imm_s(i, self.n as i64);
                let ij = fb.b.ins().iadd(ij, j);
                let ca = fb.index(cb, ij, 4);
                fb.b.ins().load(types::I32, super::const_flags(), ca, 0)
            }
            None => fb.c32(0),
        }
    }

    /// Requantizes `acc` (bias included) and stores `y[i, j]`.
    fn store(&self, fb: &mut Fb, i: Value, j: Value, acc: Value) {
        let row = self.req.row(fb, j);
        let v = self.req.apply(fb, row, acc);
        let ybase = fb.base(self.y);
        let ij = fb.b.ins().imul_imm_s(i, self.n as i64);
        let ij = fb.b.ins().iadd(ij, j);
        let ya = fb.index(ybase, ij, self.y_dt.size());
        if self.req.out == OutMode::F32 {
            fb.b.ins().store(super::flags(), v, ya, 0);
        } else {
            fb.store_int(self.y_dt, v, ya, 0);
        }
    }

    /// Columns `j0 .. j0 + cols` of row `i` with the VNNI dot product.
    fn vnni_cols(
        &self,
        fb: &mut Fb,
        (b8, corr): (Addr, Addr),
        i: Value,
        arow: Value,
        j0: Value,
        cols: usize,
    ) {
        let sums = super::simd::dot_vnni_cols(fb, self.a_dt, arow, b8, j0, cols, self.k);
        let cbase = fb.base(corr);
        let crow = fb.index(cbase, j0, 4);
        for (t, s) in sums.into_iter().enumerate() {
            let j = fb.b.ins().iadd_imm_s(j0, t as i64);
            let cv =
                fb.b.ins()
                    .load(types::I32, super::const_flags(), crow, (t * 4) as i32);
            let init = self.init(fb, i, j);
            let acc = fb.b.ins().isub(s, cv);
            let acc = fb.b.ins().iadd(acc, init);
            self.store(fb, i, j, acc);
        }
    }
}

/// Columns computed together by the VNNI kernel (independent accumulators).
const VNNI_COLS: usize = 4;

impl Kernel for QGemm {
    fn emit(&self, fb: &mut Fb) {
        let (m, k, n) = (self.m, self.k, self.n);
        let asz = self.a_dt.size();
        fb.for_n(m, |fb, i| {
            let abase = fb.base(self.a);
            let arow = fb.index(abase, i, self.a_strides.0 * asz);
            if let Some(v) = self.vnni {
                fb.for_n(n / VNNI_COLS, |fb, jb| {
                    let j0 = fb.b.ins().imul_imm_s(jb, VNNI_COLS as i64);
                    self.vnni_cols(fb, v, i, arow, j0, VNNI_COLS);
                });
                if n % VNNI_COLS != 0 {
                    let j0 = fb.c64((n / VNNI_COLS * VNNI_COLS) as i64);
                    self.vnni_cols(fb, v, i, arow, j0, n % VNNI_COLS);
                }
                return;
            }
            fb.for_n(n, |fb, j| {
                let init = self.init(fb, i, j);
                let acc = match self.bp16 {
                    Some(bp16) => {
                        let za = fb.c32(self.za);
                        super::simd::dot_u8_i16(fb, self.a_dt, arow, za, bp16, j, k, init)
                    }
                    None => {
                        let za = fb.c32(self.za);
                        let a = (arow, self.a_strides.1 * asz);
                        super::simd::dot_scalar(fb, self.a_dt, a, za, self.bp, j, k, init)
                    }
                };
                self.store(fb, i, j, acc);
            });
        });
    }
}

/// Lowers `qfully_connected` (TFLite's FULLY_CONNECTED: x `[M, K]`, constant w `[N, K]`,
/// optional i32 bias, f64 requantization rounded half away from zero; see the interpreter)
/// on the qgemm kernel, the bias as C. An i64 bias (int16x8) accumulates in i64 and is
/// left to the interpreter.
pub fn lower_qfully_connected(l: &mut Lower) -> Lowered {
    let (x_s, w_s) = (l.in_dims(0)?, l.in_dims(1)?);
    let x_dt = l.in_ty(0)?.dtype;
    if x_s.len() != 2
        || w_s.len() != 2
        || x_s[1] != w_s[1]
        || !matches!(x_dt, DType::U8 | DType::I8)
    {
        return Ok(None);
    }
    let (m, k, n) = (x_s[0], x_s[1], w_s[0]);
    let Some(w) = l.const_operand(1).cloned() else {
        return Ok(None);
    };
    let (Some((sx, _)), Some(w_q)) = (l.in_q_tensor(0), l.in_ty(1)?.quant.clone()) else {
        return Ok(None);
    };
    let Some((packed, sw)) = pack_b(&w, &w_q, true, k, n) else {
        return Ok(None);
    };
    let bias: Vec<i32> = match l.node.inputs.len() {
        2 => vec![0; n],
        3 => match l.const_operand(2).and_then(|t| t.as_slice::<i32>()) {
            Some(b) if b.len() == n => b.to_vec(),
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    let Some((sy, zy, (qmin, qmax))) = l.out_q_tensor() else {
        return Ok(None);
    };
    if !small_int(l.out_ty(0)?.dtype) {
        return Ok(None);
    }
    let chans = (0..n)
        .map(|j| Channel {
            bias: 0,
            zp: zy,
            mult: requant::Mult::HalfAwayF64(sx as f64 * sw[j] as f64 / sy as f64),
        })
        .collect();
    build(
        l,
        (m, k, n),
        (k, 1),
        packed,
        chans,
        OutMode::Quant { qmin, qmax },
        broadcast_c(&bias, &[n], m, n),
    )
}
