//! Elementwise ops: binary (broadcasting), unary, where, leaky relu, hard sigmoid, clip,
//! cast and softmax.

use super::broadcast::{broadcast_index, broadcast_shapes, zip2};
use super::{arity, norm_axis, numel, typed, R};
use super::{mlas_activations, mlas_softmax};
use crate::{BinaryOp, DType, Data, Element, Tensor, UnaryOp};

/// Binds a type alias `$T` to the element type of a numeric dtype and evaluates `$body`;
/// evaluates `$other` for `bool`.
macro_rules! num_dispatch {
    ($dt:expr, $T:ident => $body:expr, $other:expr) => {
        match $dt {
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
            DType::I8 => {
                type $T = i8;
                $body
            }
            DType::U8 => {
                type $T = u8;
                $body
            }
            DType::I16 => {
                type $T = i16;
                $body
            }
            DType::U16 => {
                type $T = u16;
                $body
            }
            DType::I32 => {
                type $T = i32;
                $body
            }
            DType::U32 => {
                type $T = u32;
                $body
            }
            DType::I64 => {
                type $T = i64;
                $body
            }
            DType::U64 => {
                type $T = u64;
                $body
            }
            DType::Bool => $other,
        }
    };
}

/// Binds `$T` to f32 or f64; evaluates `$other` for any other dtype.
macro_rules! float_dispatch {
    ($dt:expr, $T:ident => $body:expr, $other:expr) => {
        match $dt {
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
            _ => $other,
        }
    };
}

pub(crate) use float_dispatch;
pub(crate) use num_dispatch;

/// Arithmetic with ONNX / numpy semantics: floats IEEE, integers wrapping, integer division
/// truncating toward zero (division by zero gives 0, like numpy's reference).
pub(crate) trait Arith: Element + PartialOrd {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn pow(self, o: Self) -> Self;
}

macro_rules! arith_float {
    ($t:ty) => {
        impl Arith for $t {
            fn add(self, o: Self) -> Self {
                self + o
            }
            fn sub(self, o: Self) -> Self {
                self - o
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn div(self, o: Self) -> Self {
                self / o
            }
            fn pow(self, o: Self) -> Self {
                self.powf(o)
            }
        }
    };
}
arith_float!(f32);
arith_float!(f64);

macro_rules! arith_int {
    ($t:ty) => {
        impl Arith for $t {
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn div(self, o: Self) -> Self {
                if o == 0 {
                    0
                } else {
                    self.wrapping_div(o)
                }
            }
            fn pow(self, o: Self) -> Self {
                int_pow(self.to_i64(), o.to_i64(), <$t>::MIN == 0 && o.to_i64() < 0) as $t
            }
        }
    };
}
arith_int!(i8);
arith_int!(u8);
arith_int!(i16);
arith_int!(u16);
arith_int!(i32);
arith_int!(u32);
arith_int!(i64);
arith_int!(u64);

/// Wrapping integer power; a negative exponent gives `1/b^e` truncated (0 unless |b| == 1).
/// `unsigned_exp` marks an unsigned exponent whose i64 view wrapped negative (a huge power).
fn int_pow(base: i64, exp: i64, unsigned_exp: bool) -> i64 {
    if exp < 0 && !unsigned_exp {
        return match base {
            1 => 1,
            -1 => {
                if exp % 2 == 0 {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        };
    }
    // Square-and-multiply over the (unsigned) exponent bits, wrapping.
    let mut e = exp as u64;
    let mut b = base;
    let mut acc: i64 = 1;
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(b);
        }
        b = b.wrapping_mul(b);
        e >>= 1;
    }
    acc
}

/// NaN-propagating max / min (numpy `maximum` / `minimum`).
fn nan_max<T: PartialOrd + Copy>(a: T, b: T) -> T {
    #[allow(clippy::eq_op)]
    if a >= b || a != a {
        a
    } else {
        b
    }
}

fn nan_min<T: PartialOrd + Copy>(a: T, b: T) -> T {
    #[allow(clippy::eq_op)]
    if a <= b || a != a {
        a
    } else {
        b
    }
}

fn arith<T: Arith>(a: &Tensor, b: &Tensor, op: BinaryOp) -> R<Tensor> {
    let x = typed::<T>(a, "operand 0")?;
    let y = typed::<T>(b, "operand 1")?;
    let f: fn(T, T) -> T = match op {
        BinaryOp::Add => T::add,
        BinaryOp::Sub => T::sub,
        BinaryOp::Mul => T::mul,
        BinaryOp::Div => T::div,
        BinaryOp::Max => nan_max,
        BinaryOp::Min => nan_min,
        BinaryOp::Pow => T::pow,
        _ => return Err(format!("{op:?} is not arithmetic")),
    };
    let (shape, v) = zip2(x, &a.shape, y, &b.shape, f)?;
    Ok(Tensor::new(shape, T::wrap(v)))
}

fn compare<T: Element + PartialOrd>(a: &Tensor, b: &Tensor, op: BinaryOp) -> R<Tensor> {
    let x = typed::<T>(a, "operand 0")?;
    let y = typed::<T>(b, "operand 1")?;
    let f: fn(T, T) -> bool = match op {
        BinaryOp::Less => |p, q| p < q,
        BinaryOp::LessOrEqual => |p, q| p <= q,
        BinaryOp::Greater => |p, q| p > q,
        BinaryOp::GreaterOrEqual => |p, q| p >= q,
        BinaryOp::Equal => |p, q| p == q,
        _ => return Err(format!("{op:?} is not a comparison")),
    };
    let (shape, v) = zip2(x, &a.shape, y, &b.shape, f)?;
    Ok(Tensor::new(shape, Data::Bool(v)))
}

/// `Pow` with a base and exponent of different types: the result has the base's type and is
/// computed in f64 (numpy promotion, then cast back like ONNX's reference).
fn pow_mixed<T: Element>(a: &Tensor, b: &Tensor) -> R<Tensor> {
    let x = typed::<T>(a, "operand 0")?;
    let y = b.data.to_f64_vec();
    let (shape, v) = zip2(x, &a.shape, &y, &b.shape, |p: T, q: f64| {
        T::from_f64(p.to_f64().powf(q))
    })?;
    Ok(Tensor::new(shape, T::wrap(v)))
}

/// Broadcasting binary op.
pub(crate) fn binary(ins: &[&Tensor], op: BinaryOp) -> R<Tensor> {
    arity(ins, 2, 2)?;
    let (a, b) = (ins[0], ins[1]);
    use BinaryOp::*;
    if op == Pow && a.dtype() != b.dtype() {
        return num_dispatch!(a.dtype(), T => pow_mixed::<T>(a, b),
            Err("pow needs a numeric base".into()));
    }
    if a.dtype() != b.dtype() {
        return Err(format!(
            "operand dtypes differ: {} and {}",
            a.dtype(),
            b.dtype()
        ));
    }
    match op {
        And | Or => {
            let x = typed::<bool>(a, "operand 0")?;
            let y = typed::<bool>(b, "operand 1")?;
            let f: fn(bool, bool) -> bool = if op == And {
                |p, q| p && q
            } else {
                |p, q| p || q
            };
            let (shape, v) = zip2(x, &a.shape, y, &b.shape, f)?;
            Ok(Tensor::new(shape, Data::Bool(v)))
        }
        Less | LessOrEqual | Greater | GreaterOrEqual | Equal => {
            num_dispatch!(a.dtype(), T => compare::<T>(a, b, op), compare::<bool>(a, b, op))
        }
        Add | Sub | Mul | Div | Max | Min | Pow => {
            num_dispatch!(a.dtype(), T => arith::<T>(a, b, op),
            Err(format!("{op:?} is not defined on bool")))
        }
    }
}

/// Float operations used by the unary and activation kernels.
pub(crate) trait Fl:
    Element
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
{
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn tanh(self) -> Self;
    fn sqrt(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn round_even(self) -> Self;
    fn abs(self) -> Self;
    fn erf(self) -> Self;
    fn c(v: f64) -> Self {
        Self::from_f64(v)
    }
}

macro_rules! fl {
    ($t:ty) => {
        impl Fl for $t {
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            fn round_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn erf(self) -> Self {
                erf(self as f64) as $t
            }
        }
    };
}
fl!(f32);
fl!(f64);

/// The error function, accurate to a few f64 ulps: `erf(x) = 2/sqrt(pi) * exp(-x^2) *
/// sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))` (all terms positive, no cancellation), and
/// `erf(x) = +-1` for `|x| >= 6` (`erfc(6) < 3e-17`).
pub(crate) fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let ax = x.abs();
    if ax >= 6.0 {
        return 1f64.copysign(x);
    }
    let x2 = ax * ax;
    let mut term = ax;
    let mut sum = ax;
    let mut n = 0u32;
    while n < 1000 {
        n += 1;
        term *= 2.0 * x2 / (2 * n + 1) as f64;
        sum += term;
        if term <= sum * 1e-18 {
            break;
        }
    }
    let r = std::f64::consts::FRAC_2_SQRT_PI * (-x2).exp() * sum;
    r.min(1.0).copysign(x)
}

fn sigmoid<T: Fl>(x: T) -> T {
    let one = T::c(1.0);
    if x > T::c(0.0) {
        one / (one + (-x).exp())
    } else {
        let e = x.exp();
        e / (one + e)
    }
}

fn unary_float<T: Fl>(v: &[T], op: UnaryOp) -> R<Vec<T>> {
    let zero = T::c(0.0);
    let one = T::c(1.0);
    Ok(match op {
        UnaryOp::Relu => v.iter().map(|&x| if x < zero { zero } else { x }).collect(),
        UnaryOp::Sigmoid => v.iter().map(|&x| sigmoid(x)).collect(),
        UnaryOp::Tanh => v.iter().map(|&x| x.tanh()).collect(),
        UnaryOp::Exp => v.iter().map(|&x| x.exp()).collect(),
        UnaryOp::Log => v.iter().map(|&x| x.ln()).collect(),
        UnaryOp::Neg => v.iter().map(|&x| -x).collect(),
        UnaryOp::Abs => v.iter().map(|&x| x.abs()).collect(),
        UnaryOp::Sqrt => v.iter().map(|&x| x.sqrt()).collect(),
        UnaryOp::Reciprocal => v.iter().map(|&x| one / x).collect(),
        UnaryOp::Round => v.iter().map(|&x| x.round_even()).collect(),
        UnaryOp::Floor => v.iter().map(|&x| x.floor()).collect(),
        UnaryOp::Ceil => v.iter().map(|&x| x.ceil()).collect(),
        UnaryOp::Erf => v.iter().map(|&x| x.erf()).collect(),
        UnaryOp::Gelu => {
            let r = T::c(std::f64::consts::FRAC_1_SQRT_2);
            v.iter()
                .map(|&x| T::c(0.5) * x * ((x * r).erf() + one))
                .collect()
        }
        UnaryOp::GeluTanh => {
            let (c, b) = (T::c(0.035677408136300125), T::c(0.7978845608028654));
            v.iter()
                .map(|&x| T::c(0.5) * x * ((x * (c * x * x + b)).tanh() + one))
                .collect()
        }
        UnaryOp::HardSwish => {
            // x * max(0, min(1, x * (1/6) + 0.5)), as ONNX's reference.
            let alpha = T::c(1.0 / 6.0);
            let beta = T::c(0.5);
            v.iter().map(|&x| x * clamp01(x * alpha + beta)).collect()
        }
        UnaryOp::Not => return Err("not needs a bool operand".into()),
    })
}

/// `max(0, min(1, y))` with NaN propagation.
fn clamp01<T: Fl>(y: T) -> T {
    nan_max(T::c(0.0), nan_min(T::c(1.0), y))
}

fn unary_int<T: Element + PartialOrd>(v: &[T], op: UnaryOp) -> R<Vec<T>> {
    let zero = T::from_i64(0);
    let neg = |x: T| T::from_i64(x.to_i64().wrapping_neg());
    Ok(match op {
        UnaryOp::Relu => v.iter().map(|&x| if x < zero { zero } else { x }).collect(),
        UnaryOp::Neg => v.iter().map(|&x| neg(x)).collect(),
        UnaryOp::Abs => v
            .iter()
            .map(|&x| if x < zero { neg(x) } else { x })
            .collect(),
        // Rounding an integer is the identity.
        UnaryOp::Round | UnaryOp::Floor | UnaryOp::Ceil => v.to_vec(),
        _ => return Err(format!("{op:?} needs a float operand, got {}", T::DTYPE)),
    })
}

/// Unary op. f32 Sigmoid, Tanh, Erf and Exp follow ONNX Runtime's MLAS kernels bit for bit
/// ([`super::mlas_activations`], [`super::mlas_softmax::exp_avx512`]).
pub(crate) fn unary(ins: &[&Tensor], op: UnaryOp) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let t = ins[0];
    let data = match &t.data {
        Data::F32(v) => Data::F32(match op {
            // ONNX Runtime's MLAS kernels, bit for bit (see the modules).
            UnaryOp::Sigmoid => v.iter().map(|&x| mlas_activations::logistic(x)).collect(),
            UnaryOp::Tanh => v.iter().map(|&x| mlas_activations::tanh(x)).collect(),
            UnaryOp::Erf => v.iter().map(|&x| mlas_activations::erf(x)).collect(),
            UnaryOp::Exp => v.iter().map(|&x| mlas_softmax::exp_avx512(x)).collect(),
            UnaryOp::Gelu => v.iter().map(|&x| mlas_activations::gelu_erf(x)).collect(),
            UnaryOp::GeluTanh => v.iter().map(|&x| mlas_activations::gelu_tanh(x)).collect(),
            _ => unary_float(v, op)?,
        }),
        Data::F64(v) => Data::F64(unary_float(v, op)?),
        Data::Bool(v) => match op {
            UnaryOp::Not => Data::Bool(v.iter().map(|&b| !b).collect()),
            _ => return Err(format!("{op:?} is not defined on bool")),
        },
        Data::I8(v) => Data::I8(unary_int(v, op)?),
        Data::U8(v) => Data::U8(unary_int(v, op)?),
        Data::I16(v) => Data::I16(unary_int(v, op)?),
        Data::U16(v) => Data::U16(unary_int(v, op)?),
        Data::I32(v) => Data::I32(unary_int(v, op)?),
        Data::U32(v) => Data::U32(unary_int(v, op)?),
        Data::I64(v) => Data::I64(unary_int(v, op)?),
        Data::U64(v) => Data::U64(unary_int(v, op)?),
    };
    Ok(Tensor::new(t.shape.clone(), data))
}

/// `where(cond, a, b)` with three-way broadcasting.
pub(crate) fn where_(ins: &[&Tensor]) -> R<Tensor> {
    arity(ins, 3, 3)?;
    let (c, a, b) = (ins[0], ins[1], ins[2]);
    let cv = typed::<bool>(c, "condition")?;
    if a.dtype() != b.dtype() {
        return Err(format!(
            "operand dtypes differ: {} and {}",
            a.dtype(),
            b.dtype()
        ));
    }
    let shape = broadcast_shapes(&[&c.shape, &a.shape, &b.shape])?;
    let n = numel(&shape)?;
    let ic = broadcast_index(&c.shape, &shape)?;
    let ia = broadcast_index(&a.shape, &shape)?;
    let ib = broadcast_index(&b.shape, &shape)?;
    let at = |ix: &Option<Vec<usize>>, k: usize| ix.as_ref().map_or(k, |v| v[k]);
    fn go<T: Element>(
        cv: &[bool],
        av: &[T],
        b: &Data,
        n: usize,
        pick: &dyn Fn(usize) -> (usize, usize, usize),
    ) -> Data {
        let bv = T::unwrap(b).expect("dtypes checked");
        T::wrap(
            (0..n)
                .map(|k| {
                    let (i, j, l) = pick(k);
                    if cv[i] {
                        av[j]
                    } else {
                        bv[l]
                    }
                })
                .collect(),
        )
    }
    let pick = |k: usize| (at(&ic, k), at(&ia, k), at(&ib, k));
    let data = crate::with_data!(&a.data, av => go(cv, av, &b.data, n, &pick));
    Ok(Tensor::new(shape, data))
}

fn float_map<F>(t: &Tensor, what: &str, f32f: F, f64f: impl Fn(f64) -> f64) -> R<Tensor>
where
    F: Fn(f32) -> f32,
{
    let data = match &t.data {
        Data::F32(v) => Data::F32(v.iter().map(|&x| f32f(x)).collect()),
        Data::F64(v) => Data::F64(v.iter().map(|&x| f64f(x)).collect()),
        _ => return Err(format!("{what} needs a float operand, got {}", t.dtype())),
    };
    Ok(Tensor::new(t.shape.clone(), data))
}

/// `x > 0 ? x : alpha * x`.
pub(crate) fn leaky_relu(ins: &[&Tensor], alpha: f32) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let a64 = alpha as f64;
    float_map(
        ins[0],
        "leaky_relu",
        |x| if x > 0.0 { x } else { x * alpha },
        |x| if x > 0.0 { x } else { x * a64 },
    )
}

/// `max(0, min(1, alpha * x + beta))`.
pub(crate) fn hard_sigmoid(ins: &[&Tensor], alpha: f32, beta: f32) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let (a64, b64) = (alpha as f64, beta as f64);
    float_map(
        ins[0],
        "hard_sigmoid",
        |x| clamp01(x * alpha + beta),
        |x| clamp01(x * a64 + b64),
    )
}

/// Clamp with optional bounds, from the attributes or (dynamic form) from operands 1 and 2
/// (an empty tensor means "no bound"). `min(max(x, lo), hi)` like numpy's clip: NaN stays
/// NaN and `lo > hi` gives `hi`.
pub(crate) fn clip(ins: &[&Tensor], min: Option<f64>, max: Option<f64>) -> R<Tensor> {
    arity(ins, 1, 3)?;
    let x = ins[0];
    fn bound<T: Element>(attr: Option<f64>, t: Option<&&Tensor>, what: &str) -> R<Option<T>> {
        match t {
            None => Ok(attr.map(T::from_f64)),
            Some(t) if t.is_empty() => Ok(None),
            Some(t) => {
                if t.len() != 1 {
                    return Err(format!("{what} must be a scalar, got shape {:?}", t.shape));
                }
                Ok(Some(match T::unwrap(&t.data) {
                    Some(v) => v[0],
                    None => T::from_f64(t.data.to_f64_vec()[0]),
                }))
            }
        }
    }
    fn go<T: Element + PartialOrd>(
        v: &[T],
        ins: &[&Tensor],
        min: Option<f64>,
        max: Option<f64>,
    ) -> R<Data> {
        let dynamic = ins.len() > 1;
        let lo = bound::<T>(if dynamic { None } else { min }, ins.get(1), "min")?;
        let hi = bound::<T>(if dynamic { None } else { max }, ins.get(2), "max")?;
        Ok(T::wrap(
            v.iter()
                .map(|&x| {
                    let y = match lo {
                        Some(l) if x < l => l,
                        _ => x,
                    };
                    match hi {
                        Some(h) if y > h => h,
                        _ => y,
                    }
                })
                .collect(),
        ))
    }
    let data = crate::with_data!(&x.data, v => go(v, ins, min, max)?);
    Ok(Tensor::new(x.shape.clone(), data))
}

/// Rust `as` conversions from one element to every element type.
trait AsPrim: Copy {
    fn as_f32(self) -> f32;
    fn as_f64(self) -> f64;
    fn as_i8(self) -> i8;
    fn as_u8(self) -> u8;
    fn as_i16(self) -> i16;
    fn as_u16(self) -> u16;
    fn as_i32(self) -> i32;
    fn as_u32(self) -> u32;
    fn as_i64(self) -> i64;
    fn as_u64(self) -> u64;
    fn as_bool(self) -> bool;
}

macro_rules! as_prim {
    ($t:ty, $zero:expr) => {
        impl AsPrim for $t {
            fn as_f32(self) -> f32 {
                self as f32
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
            fn as_i8(self) -> i8 {
                self as i8
            }
            fn as_u8(self) -> u8 {
                self as u8
            }
            fn as_i16(self) -> i16 {
                self as i16
            }
            fn as_u16(self) -> u16 {
                self as u16
            }
            fn as_i32(self) -> i32 {
                self as i32
            }
            fn as_u32(self) -> u32 {
                self as u32
            }
            fn as_i64(self) -> i64 {
                self as i64
            }
            fn as_u64(self) -> u64 {
                self as u64
            }
            fn as_bool(self) -> bool {
                self != $zero
            }
        }
    };
}
as_prim!(f32, 0.0);
as_prim!(f64, 0.0);
as_prim!(i8, 0);
as_prim!(u8, 0);
as_prim!(i16, 0);
as_prim!(u16, 0);
as_prim!(i32, 0);
as_prim!(u32, 0);
as_prim!(i64, 0);
as_prim!(u64, 0);

impl AsPrim for bool {
    fn as_f32(self) -> f32 {
        self as u8 as f32
    }
    fn as_f64(self) -> f64 {
        self as u8 as f64
    }
    fn as_i8(self) -> i8 {
        self as i8
    }
    fn as_u8(self) -> u8 {
        self as u8
    }
    fn as_i16(self) -> i16 {
        self as i16
    }
    fn as_u16(self) -> u16 {
        self as u16
    }
    fn as_i32(self) -> i32 {
        self as i32
    }
    fn as_u32(self) -> u32 {
        self as u32
    }
    fn as_i64(self) -> i64 {
        self as i64
    }
    fn as_u64(self) -> u64 {
        self as u64
    }
    fn as_bool(self) -> bool {
        self
    }
}

fn cast_vec<S: AsPrim>(v: &[S], to: DType) -> Data {
    match to {
        DType::F32 => Data::F32(v.iter().map(|x| x.as_f32()).collect()),
        DType::F64 => Data::F64(v.iter().map(|x| x.as_f64()).collect()),
        DType::I8 => Data::I8(v.iter().map(|x| x.as_i8()).collect()),
        DType::U8 => Data::U8(v.iter().map(|x| x.as_u8()).collect()),
        DType::I16 => Data::I16(v.iter().map(|x| x.as_i16()).collect()),
        DType::U16 => Data::U16(v.iter().map(|x| x.as_u16()).collect()),
        DType::I32 => Data::I32(v.iter().map(|x| x.as_i32()).collect()),
        DType::U32 => Data::U32(v.iter().map(|x| x.as_u32()).collect()),
        DType::I64 => Data::I64(v.iter().map(|x| x.as_i64()).collect()),
        DType::U64 => Data::U64(v.iter().map(|x| x.as_u64()).collect()),
        DType::Bool => Data::Bool(v.iter().map(|x| x.as_bool()).collect()),
    }
}

/// Converts one buffer to another element type with Rust `as` semantics (float -> int
/// truncates toward zero and saturates, NaN -> 0; int -> int wraps; f64 -> f32 rounds to
/// nearest; x -> bool is `x != 0`).
pub(crate) fn convert(data: &Data, to: DType) -> Data {
    if data.dtype() == to {
        return data.clone();
    }
    crate::with_data!(data, v => cast_vec(v, to))
}

/// ONNX Cast (quantization parameters are ignored: the stored values are converted).
pub(crate) fn cast(ins: &[&Tensor], to: DType) -> R<Tensor> {
    arity(ins, 1, 1)?;
    Ok(Tensor::new(ins[0].shape.clone(), convert(&ins[0].data, to)))
}

fn softmax_impl<T: Fl>(v: &[T], outer: usize, d: usize, inner: usize) -> Vec<T> {
    let mut out = vec![T::c(0.0); v.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * d + k) * inner + i;
            let mut m = v[at(0)];
            for k in 1..d {
                m = nan_max(m, v[at(k)]);
            }
            let mut sum = 0f64;
            for k in 0..d {
                let e = (v[at(k)] - m).exp();
                out[at(k)] = e;
                sum += e.to_f64();
            }
            let s = T::c(sum);
            for k in 0..d {
                out[at(k)] = out[at(k)] / s;
            }
        }
    }
    out
}

/// Softmax along one axis (opset >= 13): `exp(x - max) / sum(exp(x - max))`; f32 as ONNX
/// Runtime's MLAS computes it ([`super::mlas_softmax`]).
pub(crate) fn softmax(ins: &[&Tensor], axis: i64) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    let rank = x.shape.len();
    if rank == 0 {
        return Err("softmax needs at least one dimension".into());
    }
    let ax = norm_axis(axis, rank)?;
    if x.is_empty() {
        return Ok(x.clone());
    }
    let outer = super::prod(&x.shape[..ax]);
    let d = x.shape[ax];
    let inner = super::prod(&x.shape[ax + 1..]);
    if let Data::F32(v) = &x.data {
        // ONNX Runtime's MlasComputeSoftmax on each row along the axis.
        let mut out = vec![0f32; v.len()];
        let mut row = vec![0f32; d];
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| (o * d + k) * inner + i;
                for (k, r) in row.iter_mut().enumerate() {
                    *r = v[at(k)];
                }
                mlas_softmax::softmax_row(&mut row);
                for (k, &r) in row.iter().enumerate() {
                    out[at(k)] = r;
                }
            }
        }
        return Ok(Tensor::new(x.shape.clone(), Data::F32(out)));
    }
    let data = float_dispatch!(x.dtype(), T => T::wrap(softmax_impl(typed::<T>(x, "operand")?, outer, d, inner)),
        return Err(format!("softmax needs a float operand, got {}", x.dtype())));
    Ok(Tensor::new(x.shape.clone(), data))
}
