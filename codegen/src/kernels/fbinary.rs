//! f32 elementwise `add` / `sub` / `mul` / `div` (one IEEE operation per element, as the
//! interpreter computes it) where each operand is the whole result, a scalar, or a row
//! broadcast along the last dim; and `cast` of integers to f32 (round to nearest).

use super::{flags, Addr, Fb, Kernel, Lower, Lowered};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use qcc_ir::{BinaryOp, DType};

/// How an operand covers the result.
#[derive(Clone, Copy, PartialEq)]
enum Span {
    /// One element per result element.
    Full,
    /// One element for all.
    Scalar,
    /// One element per position along the last dim.
    Row,
}

struct FBinary {
    op: BinaryOp,
    rows: usize,
    cols: usize,
    a: (Addr, Span),
    b: (Addr, Span),
    y: Addr,
}

/// The span of an operand of `n` elements against a result of `rows x cols`.
fn span(dims: &[usize], out: &[usize]) -> Option<Span> {
    let n: usize = dims.iter().product();
    let total: usize = out.iter().product();
    let cols = out.last().copied().unwrap_or(1);
    if dims == out {
        Some(Span::Full)
    } else if n == 1 {
        Some(Span::Scalar)
    } else if n == cols && dims.last() == Some(&cols) && dims.len() <= out.len() {
        Some(Span::Row)
    } else if n == total
        && dims
            .iter()
            .filter(|&&d| d != 1)
            .eq(out.iter().filter(|&&d| d != 1))
    {
        Some(Span::Full)
    } else {
        None
    }
}

/// Lowers an f32 `add` / `sub` / `mul` / `div` whose operands are full, scalar or a row.
pub fn lower_binary(l: &mut Lower, op: BinaryOp) -> Lowered {
    if !matches!(
        op,
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div
    ) || l.in_ty(0)?.dtype != DType::F32
        || l.in_ty(1)?.dtype != DType::F32
        || l.out_ty(0)?.dtype != DType::F32
    {
        return Ok(None);
    }
    let out = l.out_dims(0)?;
    let (Some(sa), Some(sb)) = (span(&l.in_dims(0)?, &out), span(&l.in_dims(1)?, &out)) else {
        return Ok(None);
    };
    let cols = out.last().copied().unwrap_or(1);
    let total: usize = out.iter().product();
    Ok(Some(Box::new(FBinary {
        op,
        rows: total.checked_div(cols).unwrap_or(0),
        cols,
        a: (l.in_addr(0)?, sa),
        b: (l.in_addr(1)?, sb),
        y: l.out_addr(0)?,
    })))
}

impl FBinary {
    /// Address of element `(r, c)` of an operand.
    fn at(fb: &mut Fb, (addr, sp): (Addr, Span), r: Value, c: Value, cols: usize) -> Value {
        let base = fb.base(addr);
        match sp {
            Span::Scalar => base,
            Span::Row => fb.index(base, c, 4),
            Span::Full => {
                let rc = fb.b.ins().imul_imm_s(r, cols as i64);
                let rc = fb.b.ins().iadd(rc, c);
                fb.index(base, rc, 4)
            }
        }
    }
}

impl Kernel for FBinary {
    fn emit(&self, fb: &mut Fb) {
        let cols = self.cols;
        fb.for_n(self.rows, |fb, r| {
            fb.for_n(cols, |fb, c| {
                let aa = Self::at(fb, self.a, r, c, cols);
                let ba = Self::at(fb, self.b, r, c, cols);
                let av = fb.b.ins().load(types::F32, flags(), aa, 0);
                let bv = fb.b.ins().load(types::F32, flags(), ba, 0);
                let v = match self.op {
                    BinaryOp::Add => fb.b.ins().fadd(av, bv),
                    BinaryOp::Sub => fb.b.ins().fsub(av, bv),
                    BinaryOp::Mul => fb.b.ins().fmul(av, bv),
                    _ => fb.b.ins().fdiv(av, bv),
                };
                let ya = Self::at(fb, (self.y, Span::Full), r, c, cols);
                fb.b.ins().store(flags(), v, ya, 0);
            });
        });
    }
}

struct CastToF32 {
    n: usize,
    x: Addr,
    x_dt: DType,
    y: Addr,
}

/// Lowers `cast` of an 8/16/32-bit integer tensor to f32.
pub fn lower_cast(l: &mut Lower, to: DType) -> Lowered {
    let x_dt = l.in_ty(0)?.dtype;
    if to != DType::F32
        || !matches!(
            x_dt,
            DType::I8 | DType::U8 | DType::I16 | DType::U16 | DType::I32
        )
    {
        return Ok(None);
    }
    Ok(Some(Box::new(CastToF32 {
        n: l.in_dims(0)?.iter().product(),
        x: l.in_addr(0)?,
        x_dt,
        y: l.out_addr(0)?,
    })))
}

impl Kernel for CastToF32 {
    fn emit(&self, fb: &mut Fb) {
        let xb = fb.base(self.x);
        let yb = fb.base(self.y);
        let sz = self.x_dt.size();
        fb.for_n(self.n, |fb, i| {
            let xa = fb.index(xb, i, sz);
            // Every source type fits i32 exactly; i32 -> f32 rounds to nearest like `as`.
            let v = fb.load_int(self.x_dt, xa, 0);
            let f = fb.b.ins().fcvt_from_sint(types::F32, v);
            let ya = fb.index(yb, i, 4);
            fb.b.ins().store(flags(), f, ya, 0);
        });
    }
}
