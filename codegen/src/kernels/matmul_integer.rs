//! `matmul_integer` (ONNX MatMulInteger, as dynamic quantization exports it) with a constant
//! 2-d B: `y[i, j] = sum_k (a[i, k] - za) * (b[k, j] - zb[j])` in wrapping i32, where `za`
//! is a scalar that may be computed at run time (DynamicQuantizeLinear's zero point).
//!
//! B is packed with its zero points subtracted: as i8 `[N][K16]` for the VNNI dot product
//! (then `sum u(a) * b - u(za) * colsum(b)`, `u` the u8 domain), or as i16 `[N][K8]` for the
//! pmaddwd-shaped kernel, else the scalar loop.

use super::{Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::DType;

/// How B is packed.
enum Packed {
    /// i8 `[N][K16]` and the column sums (i32).
    Vnni(Addr, Addr),
    /// i16 `[N][K8]`.
    Wide(Addr),
    /// i32 `[N][K]`.
    Scalar(Addr),
}

struct MatMulInteger {
    m: usize,
    k: usize,
    n: usize,
    a: Addr,
    a_dt: DType,
    /// The zero point of A: a run-time scalar, or a constant.
    za: Result<Addr, i32>,
    b: Packed,
    y: Addr,
}

/// Columns per VNNI pass.
const COLS: usize = 4;

/// Lowers `matmul_integer` with a constant 2-d B, a scalar A zero point (constant or run
/// time) and a constant scalar or per-column B zero point.
pub fn lower(l: &mut Lower) -> Lowered {
    let (a_s, b_s) = (l.in_dims(0)?, l.in_dims(1)?);
    let a_dt = l.in_ty(0)?.dtype;
    if !matches!(a_dt, DType::U8 | DType::I8)
        || a_s.len() < 2
        || b_s.len() != 2
        || l.out_ty(0)?.dtype != DType::I32
    {
        return Ok(None);
    }
    let (k, n) = (b_s[0], b_s[1]);
    if a_s[a_s.len() - 1] != k {
        return Ok(None);
    }
    let m: usize = a_s[..a_s.len() - 1].iter().product();
    let Some(b) = l.const_operand(1).cloned() else {
        return Ok(None);
    };
    let za = match l.node.inputs.get(2) {
        None => Err(0),
        Some(_) => {
            let t = l.in_ty(2)?;
            if t.dtype != a_dt || l.in_dims(2)?.iter().product::<usize>() != 1 {
                return Ok(None);
            }
            match l.const_operand(2) {
                Some(c) => Err(c.data.to_i64_vec()[0] as i32),
                None => Ok(l.in_addr(2)?),
            }
        }
    };
    let Some(zb) = l.const_zero_points(3, n) else {
        return Ok(None);
    };
    let bv = b.data.to_i64_vec();
    if bv.len() != k * n {
        return Ok(None);
    }
    // [N][K] with zero points subtracted (|v| <= 255).
    let packed: Vec<i32> = (0..n)
        .flat_map(|j| {
            let bv = &bv;
            let zb = zb[j];
            (0..k).map(move |kk| (bv[kk * n + j] - zb) as i32)
        })
        .collect();
    // Contiguous A rows: the column kernel (4 columns per `vpdpbusd`, no horizontal sums).
    if a_s[a_s.len() - 1] == k {
        let cols = super::gemm_cols::plan_integer(l, (m, k, n), &packed, za)?;
        if cols.is_some() {
            return Ok(cols);
        }
    }
    let b = if l.vnni && k >= 16 && packed.iter().all(|&v| i8::try_from(v).is_ok()) {
        let k16 = k.div_ceil(16) * 16;
        let mut b8 = vec![0u8; n * k16];
        let mut sums = vec![0i32; n];
        for j in 0..n {
            for kk in 0..k {
                let v = packed[j * k + kk];
                b8[j * k16 + kk] = v as i8 as u8;
                sums[j] = sums[j].wrapping_add(v);
            }
        }
        Packed::Vnni(l.pool.add(&b8), l.pool.i32s(&sums))
    } else if l.simd && k >= 8 {
        let k8 = k.div_ceil(8) * 8;
        let mut p = vec![0i16; n * k8];
        for j in 0..n {
            for kk in 0..k {
                p[j * k8 + kk] = packed[j * k + kk] as i16;
            }
        }
        Packed::Wide(l.pool.i16s(&p))
    } else {
        Packed::Scalar(l.pool.i32s(&packed))
    };
    Ok(Some(Box::new(MatMulInteger {
        m,
        k,
        n,
        a: l.in_addr(0)?,
        a_dt,
        za,
        b,
        y: l.out_addr(0)?,
    })))
}

impl MatMulInteger {
    /// Stores `v` as `y[i, j]`.
    fn store(&self, fb: &mut Fb, i: Value, j: Value, v: Value) {
        let ybase = fb.base(self.y);
        let ij = fb.b.ins().imul_imm_s(i, self.n as i64);
        let ij = fb.b.ins().iadd(ij, j);
        let ya = fb.index(ybase, ij, 4);
        fb.b.ins().store(super::flags(), v, ya, 0);
    }

    /// Columns `j0 .. j0 + cols` of row `i` with the VNNI dot product.
    #[allow(clippy::too_many_arguments)]
    fn vnni_cols(
        &self,
        fb: &mut Fb,
        (b8, sums): (Addr, Addr),
        za_u8: Value,
        i: Value,
        arow: Value,
        j0: Value,
        cols: usize,
    ) {
        let dots = super::simd::dot_vnni_cols(fb, self.a_dt, arow, b8, j0, cols, self.k);
        let sbase = fb.base(sums);
        let srow = fb.index(sbase, j0, 4);
        for (t, d) in dots.into_iter().enumerate() {
            let s =
                fb.b.ins()
                    .load(types::I32, super::const_flags(), srow, (4 * t) as i32);
            let corr = fb.b.ins().imul(za_u8, s);
            let v = fb.b.ins().isub(d, corr);
            let j = fb.b.ins().iadd_imm_s(j0, t as i64);
            self.store(fb, i, j, v);
        }
    }
}

impl Kernel for MatMulInteger {
    fn emit(&self, fb: &mut Fb) {
        let (m, k, n) = (self.m, self.k, self.n);
        let asz = self.a_dt.size();
        let za = match self.za {
            Ok(addr) => {
                let p = fb.base(addr);
                fb.load_int(self.a_dt, p, 0)
            }
            Err(c) => fb.c32(c),
        };
        fb.for_n(m, |fb, i| {
            let abase = fb.base(self.a);
            let arow = fb.index(abase, i, k * asz);
            match self.b {
                Packed::Vnni(b8, sums) => {
                    let za_u8 = if self.a_dt == DType::I8 {
                        fb.b.ins().iadd_imm_s(za, 128)
                    } else {
                        za
                    };
                    fb.for_n(n / COLS, |fb, jb| {
                        let j0 = fb.b.ins().imul_imm_s(jb, COLS as i64);
                        self.vnni_cols(fb, (b8, sums), za_u8, i, arow, j0, COLS);
                    });
                    if n % COLS != 0 {
                        let j0 = fb.c64((n / COLS * COLS) as i64);
                        self.vnni_cols(fb, (b8, sums), za_u8, i, arow, j0, n % COLS);
                    }
                }
                Packed::Wide(b16) => fb.for_n(n, |fb, j| {
                    let zero = fb.c32(0);
                    let v = super::simd::dot_u8_i16(fb, self.a_dt, arow, za, b16, j, k, zero);
                    self.store(fb, i, j, v);
                }),
                Packed::Scalar(bp) => fb.for_n(n, |fb, j| {
                    let zero = fb.c32(0);
                    let a = (arow, asz);
                    let v = super::simd::dot_scalar(fb, self.a_dt, a, za, bp, j, k, zero);
                    self.store(fb, i, j, v);
                }),
            }
        });
    }
}
