//! `qgemm` / `qmatmul` with a constant B on VNNI targets, vectorised across output columns:
//! B is packed `[ceil(K/4)][N rounded up to 16][4]` as i8 (zero points subtracted), so one
//! 16-byte load holds 4 columns x 4 depths, which `vpdpbusd` multiplies against A's 4 bytes
//! broadcast (in the u8 domain), accumulating 4 columns at once with no horizontal sum. A
//! pass computes one row x 16 columns (4 independent accumulators). The float-mode
//! requantization runs on the 4 lanes with each column's own constants, loaded once per
//! column block: `acc as f32 * M`, round half to even, the clamp to `[qmin - zp, qmax -
//! zp]` (in f32: the rounded value is an integer), `+ zp` — what the scalar epilogue does.

use super::requant::{Channel, Mult};
use super::{flags, Addr, Fb, Kernel, Lower};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::quant::Multiplier;
use qcc_ir::DType;

/// Columns per pass (the packed B's column count is a multiple of it).
pub(super) const COLS: usize = 16;

/// B (`packed` as `[N][K]`, zero points subtracted, within i8) as `[ceil(K/4)][N16][4]`
/// bytes, and each column's sum (wrapping i32, zero past N).
fn pack_b(packed: &[i32], k: usize, n: usize) -> (Vec<u8>, Vec<i32>) {
    let (k4, n16) = (k.div_ceil(4), n.div_ceil(COLS) * COLS);
    let mut b = vec![0u8; k4 * n16 * 4];
    let mut sums = vec![0i32; n16];
    for j in 0..n {
        for kk in 0..k {
            let v = packed[j * k + kk];
            b[((kk / 4) * n16 + j) * 4 + kk % 4] = v as i8 as u8;
            sums[j] = sums[j].wrapping_add(v);
        }
    }
    (b, sums)
}

/// Per-column float requantization constants, `n16` entries each: the multiplier (f32), the
/// zero point (i32) and the clamp `[qmin - zp, qmax - zp]` (f32, f32).
#[derive(Clone, Copy)]
pub struct ColumnRequant {
    mult: Addr,
    zp: Addr,
    lo: Addr,
    hi: Addr,
}

/// The loaded constants of columns `j0 .. j0 + 4 * vecs`.
pub struct ColumnConsts {
    mult: Vec<Value>,
    zp: Vec<Value>,
    lo: Vec<Value>,
    hi: Vec<Value>,
}

impl ColumnRequant {
    /// The tables for `chans` (one per column) when every multiplier is a float one.
    pub fn new(
        l: &mut Lower,
        chans: &[Channel],
        (qmin, qmax): (i64, i64),
        n16: usize,
    ) -> Option<ColumnRequant> {
        let mults: Vec<f32> = chans
            .iter()
            .map(|ch| match ch.mult {
                Mult::Ir(Multiplier::Float(f)) => Some(f),
                _ => None,
            })
            .collect::<Option<_>>()?;
        let zps: Vec<i32> = chans.iter().map(|ch| ch.zp).collect();
        let bound = |q: i64, zp: i32| (q - zp as i64) as f32;
        let lo: Vec<f32> = zps.iter().map(|&z| bound(qmin, z)).collect();
        let hi: Vec<f32> = zps.iter().map(|&z| bound(qmax, z)).collect();
        let f32s = |l: &mut Lower, mut v: Vec<f32>| {
            v.resize(n16, 0.0);
            l.pool.f32s(&v)
        };
        let mut zpad = zps;
        zpad.resize(n16, 0);
        Some(ColumnRequant {
            mult: f32s(l, mults),
            zp: l.pool.i32s(&zpad),
            lo: f32s(l, lo),
            hi: f32s(l, hi),
        })
    }

    /// Loads the constants of `vecs` vectors of columns from column `j0` (an i64 value).
    pub fn load(&self, fb: &mut Fb, j0: Value, vecs: usize) -> ColumnConsts {
        let cf = super::const_flags();
        let lanes = |fb: &mut Fb, a: Addr, ty| -> Vec<Value> {
            let base = fb.base(a);
            let p = fb.index(base, j0, 4);
            (0..vecs)
                .map(|v| fb.b.ins().load(ty, cf, p, (16 * v) as i32))
                .collect()
        };
        ColumnConsts {
            mult: lanes(fb, self.mult, types::F32X4),
            zp: lanes(fb, self.zp, types::I32X4),
            lo: lanes(fb, self.lo, types::F32X4),
            hi: lanes(fb, self.hi, types::F32X4),
        }
    }
}

impl ColumnConsts {
    /// Requantizes accumulator vector `v` (4 columns) and stores its first `count` results
    /// at `ya`.
    pub fn store(&self, fb: &mut Fb, v: usize, acc: Value, y_dt: DType, ya: Value, count: usize) {
        let f = fb.b.ins().fcvt_from_sint(types::F32X4, acc);
        let f = fb.b.ins().fmul(f, self.mult[v]);
        let f = fb.b.ins().nearest(f);
        let f = fb.b.ins().fmax(f, self.lo[v]);
        let f = fb.b.ins().fmin(f, self.hi[v]);
        let q = fb.b.ins().x86_cvtt2dq(types::I32X4, f);
        let q = fb.b.ins().iadd(q, self.zp[v]);
        super::simd::store_q_n(fb, &[q], None, y_dt, ya, count * y_dt.size());
    }
}

/// The plan of one product.
pub struct GemmCols {
    m: usize,
    k: usize,
    n: usize,
    a: Addr,
    a_dt: DType,
    /// B packed `[k4][n16][4]` i8.
    b: Addr,
    /// Per column (`n16` entries): the accumulator's start `C[j] - z_u8 * sum_k B[k, j]`
    /// (quantized results), or `sum_k B[k, j]` (raw results, `z_u8` known at run time).
    start: Addr,
    out: Out,
    y: Addr,
    y_dt: DType,
}

/// What leaves the accumulators.
enum Out {
    /// 8-bit results, requantized per column.
    Quant(ColumnRequant),
    /// Raw i32 sums (ONNX MatMulInteger) with A's zero point a run-time scalar (`Ok`) or a
    /// constant (`Err`), in A's stored type.
    Raw(Result<Addr, i32>),
}

/// Plans the kernel when it applies: VNNI, float requantization on every channel,
/// contiguous A rows, `C` (if any) the same for every row, B's values (zero points
/// subtracted, `packed` as `[N][K]`) within i8, 8-bit output.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    l: &mut Lower,
    (m, k, n): (usize, usize, usize),
    a_contiguous: bool,
    packed: &[i32],
    chans: &[Channel],
    (qmin, qmax): (i64, i64),
    c: Option<&[i32]>,
) -> Result<Option<Box<dyn Kernel>>, String> {
    let a_dt = l.in_ty(0)?.dtype;
    let y_dt = l.out_ty(0)?.dtype;
    let row_c = match c {
        None => Some(vec![0; n]),
        // The same C row for every output row.
        Some(c) if c.len() == m * n && c.chunks(n.max(1)).all(|r| r == &c[..n]) => {
            Some(c[..n].to_vec())
        }
        Some(_) => None,
    };
    let Some(row_c) = row_c else {
        return Ok(None);
    };
    if !l.vnni
        || !a_contiguous
        || k == 0
        || chans.len() != n
        || packed.len() != n * k
        || !matches!(a_dt, DType::U8 | DType::I8)
        || !matches!(y_dt, DType::U8 | DType::I8)
        || packed.iter().any(|&v| i8::try_from(v).is_err())
    {
        return Ok(None);
    }
    let Some(za) = l.in_q_tensor(0).map(|q| q.1) else {
        return Ok(None);
    };
    let za_u8 = za + if a_dt == DType::I8 { 128 } else { 0 };
    let n16 = n.div_ceil(COLS) * COLS;
    let Some(req) = ColumnRequant::new(l, chans, (qmin, qmax), n16) else {
        return Ok(None);
    };
    let (b, mut start) = pack_b(packed, k, n);
    for (j, s) in start.iter_mut().enumerate().take(n) {
        *s = row_c[j]
            .wrapping_add(chans[j].bias)
            .wrapping_sub(za_u8.wrapping_mul(*s));
    }
    Ok(Some(Box::new(GemmCols {
        m,
        k,
        n,
        a: l.in_addr(0)?,
        a_dt,
        b: l.pool.add(&b),
        start: l.pool.i32s(&start),
        out: Out::Quant(req),
        y: l.out_addr(0)?,
        y_dt,
    })))
}

/// Plans `matmul_integer` (raw i32 results) on the column kernel: VNNI, contiguous 8-bit
/// A rows with a scalar zero point `za` (run-time address or constant), B's values (zero
/// points subtracted, `packed` as `[N][K]`) within i8.
pub fn plan_integer(
    l: &mut Lower,
    (m, k, n): (usize, usize, usize),
    packed: &[i32],
    za: Result<Addr, i32>,
) -> Result<Option<Box<dyn Kernel>>, String> {
    let a_dt = l.in_ty(0)?.dtype;
    if !l.vnni
        || k == 0
        || packed.len() != n * k
        || !matches!(a_dt, DType::U8 | DType::I8)
        || l.out_ty(0)?.dtype != DType::I32
        || packed.iter().any(|&v| i8::try_from(v).is_err())
    {
        return Ok(None);
    }
    let (b, sums) = pack_b(packed, k, n);
    Ok(Some(Box::new(GemmCols {
        m,
        k,
        n,
        a: l.in_addr(0)?,
        a_dt,
        b: l.pool.add(&b),
        start: l.pool.i32s(&sums),
        out: Out::Raw(za),
        y: l.out_addr(0)?,
        y_dt: DType::I32,
    })))
}

impl GemmCols {
    /// A's bytes `4 * g .. 4 * g + 4` of row `arow` (fewer at the end of a row, the rest
    /// zero) broadcast to every lane, in the u8 domain.
    fn group(&self, fb: &mut Fb, arow: Value, g: usize) -> Value {
        let have = (self.k - 4 * g).min(4);
        let word = if have == 4 {
            fb.b.ins().load(types::I32, flags(), arow, (4 * g) as i32)
        } else {
            let mut w = fb.c32(0);
            for q in 0..have {
                let byte =
                    fb.b.ins()
                        .uload8(types::I32, flags(), arow, (4 * g + q) as i32);
                let byte = fb.b.ins().ishl_imm_s(byte, (8 * q) as i64);
                w = fb.b.ins().bor(w, byte);
            }
            w
        };
        // (Bytes past K, flipped or not, meet B's zero padding.)
        self.broadcast(fb, word)
    }
}

impl GemmCols {
    /// Columns `j0 .. j0 + COLS` (`j0` an i64 value) of every row, of which the first
    /// `valid` are stored.
    fn block(&self, fb: &mut Fb, j0: Value, valid: usize) {
        let (m, k, n) = (self.m, self.k, self.n);
        let n16 = n.div_ceil(COLS) * COLS;
        let (full, tail) = (k / 4, k % 4);
        let asz = self.a_dt.size();
        let ysz = self.y_dt.size();
        let cf = super::const_flags();
        let vecs = valid.div_ceil(4);
        let start: Vec<Value> = {
            let base = fb.base(self.start);
            let p = fb.index(base, j0, 4);
            (0..vecs)
                .map(|v| fb.b.ins().load(types::I32X4, cf, p, (16 * v) as i32))
                .collect()
        };
        let (start, consts) = match &self.out {
            Out::Quant(req) => (start, Some(req.load(fb, j0, vecs))),
            Out::Raw(za) => {
                // `- z_u8 * sum_k B[k, j]`, z_u8 A's zero point in the u8 domain.
                let z = match *za {
                    Ok(a) => {
                        let p = fb.base(a);
                        fb.load_int(self.a_dt, p, 0)
                    }
                    Err(c) => fb.c32(c),
                };
                let z = if self.a_dt == DType::I8 {
                    fb.b.ins().iadd_imm_s(z, 128)
                } else {
                    z
                };
                let zv = fb.b.ins().splat(types::I32X4, z);
                let start = start
                    .into_iter()
                    .map(|s| {
                        let c = fb.b.ins().imul(zv, s);
                        fb.b.ins().ineg(c)
                    })
                    .collect();
                (start, None)
            }
        };
        let bbase = fb.base(self.b);
        let bcol = fb.index(bbase, j0, 4);
        fb.for_n(m, |fb, i| {
            let abase = fb.base(self.a);
            let arow = fb.index(abase, i, k * asz);
            let accs: Vec<_> = start.iter().map(|&s| fb.var(types::I32X4, s)).collect();
            let step = |fb: &mut Fb, x: Value, bg: Value| {
                for (v, &acc) in accs.iter().enumerate() {
                    let w = fb.b.ins().load(types::I8X16, cf, bg, (16 * v) as i32);
                    let a = fb.b.use_var(acc);
                    let a = super::simd::dot_i8_u8_acc(fb, w, x, a);
                    fb.b.def_var(acc, a);
                }
            };
            fb.for_ptrs(full, &[arow, bcol], &[4, (n16 * 4) as i64], |fb, p| {
                let w = fb.b.ins().load(types::I32, flags(), p[0], 0);
                let x = self.broadcast(fb, w);
                step(fb, x, p[1]);
            });
            if tail > 0 {
                let x = self.group(fb, arow, full);
                let bg = fb.b.ins().iadd_imm_s(bcol, (full * n16 * 4) as i64);
                step(fb, x, bg);
            }
            let ybase = fb.base(self.y);
            let yrow = fb.index(ybase, i, n * ysz);
            let y0 = fb.index(yrow, j0, ysz);
            for (v, &acc) in accs.iter().enumerate() {
                let a = fb.b.use_var(acc);
                let ya = fb.b.ins().iadd_imm_s(y0, (4 * v * ysz) as i64);
                let count = (valid - 4 * v).min(4);
                match &consts {
                    Some(c) => c.store(fb, v, a, self.y_dt, ya, count),
                    None if count == 4 => {
                        fb.b.ins().store(flags(), a, ya, 0);
                    }
                    None => {
                        for lane in 0..count {
                            let e = fb.b.ins().extractlane(a, lane as u8);
                            fb.b.ins().store(flags(), e, ya, (4 * lane) as i32);
                        }
                    }
                }
            }
        });
    }

    /// A 4-byte word of A broadcast to every lane, in the u8 domain.
    fn broadcast(&self, fb: &mut Fb, word: Value) -> Value {
        let word = if self.a_dt == DType::I8 {
            // Sign bits flipped: +128, the u8 domain.
            fb.b.ins().bxor_imm_u(word, 0x8080_8080u32 as i64)
        } else {
            word
        };
        let v = fb.b.ins().splat(types::I32X4, word);
        let le = flags().with_endianness(cranelift_codegen::ir::Endianness::Little);
        fb.b.ins().bitcast(types::I8X16, le, v)
    }
}

impl Kernel for GemmCols {
    fn emit(&self, fb: &mut Fb) {
        let n = self.n;
        fb.for_n(n / COLS, |fb, jb| {
            let j0 = fb.b.ins().imul_imm_s(jb, COLS as i64);
            self.block(fb, j0, COLS);
        });
        if !n.is_multiple_of(COLS) {
            let j0 = fb.c64((n / COLS * COLS) as i64);
            self.block(fb, j0, n % COLS);
        }
    }
}
