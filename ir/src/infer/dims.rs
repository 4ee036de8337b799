//! Dimension arithmetic shared by the shape rules: element counts with symbols,
//! broadcasting, unification and axis normalisation.

use crate::Dim;
use std::fmt;

/// Internal result type; the public entry points prefix the op mnemonic.
pub(super) type R<T> = std::result::Result<T, String>;

/// Formats a shape as `[N, 64, 7, 7]`.
pub(super) fn fmt_shape(s: &[Dim]) -> String {
    let parts: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Formats a list of numbers as `[1, -1, 3]`.
pub(super) fn fmt_list<T: fmt::Display>(v: &[T]) -> String {
    let parts: Vec<String> = v.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Normalises an ONNX axis in `[-rank, rank - 1]`.
pub(super) fn norm_axis(axis: i64, rank: usize, what: &str) -> R<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(format!("{what} {axis} out of range for rank {rank}"));
    }
    Ok(if axis < 0 { axis + r } else { axis } as usize)
}

/// Normalises a list of axes, rejecting out-of-range and repeated entries.
pub(super) fn norm_axes(axes: &[i64], rank: usize, what: &str) -> R<Vec<usize>> {
    let mut out: Vec<usize> = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = norm_axis(a, rank, what)?;
        if out.contains(&n) {
            return Err(format!("{what} {a} repeated in {}", fmt_list(axes)));
        }
        out.push(n);
    }
    Ok(out)
}

/// The length of a 1-d operand (`None` when not fixed); an error naming `what` when the
/// operand is not 1-d.
pub(super) fn one_d_len(t: &crate::TensorType, what: &str) -> R<Option<usize>> {
    if t.rank() != 1 {
        return Err(format!(
            "{what} operand must be 1-d, got shape {}",
            fmt_shape(&t.shape)
        ));
    }
    Ok(t.shape[0].fixed())
}

/// An element count: `fixed * product(syms)`, or unknown (`any`, or overflow when
/// `fixed` is `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Size {
    /// Product of the fixed dims; `None` after overflow.
    pub fixed: Option<u128>,
    /// The symbols, sorted (a multiset).
    pub syms: Vec<String>,
    /// Some dim was [`Dim::Any`].
    pub any: bool,
}

impl Size {
    /// The element count of `dims`.
    pub fn of(dims: &[Dim]) -> Size {
        let mut s = Size {
            fixed: Some(1),
            syms: Vec::new(),
            any: false,
        };
        for d in dims {
            match d {
                Dim::Fixed(n) => s.fixed = s.fixed.and_then(|f| f.checked_mul(*n as u128)),
                Dim::Sym(n) => s.syms.push(n.clone()),
                Dim::Any => s.any = true,
            }
        }
        s.syms.sort();
        s
    }

    /// Some fixed dim was zero, so the count is zero whatever the unknowns are.
    pub fn is_zero(&self) -> bool {
        self.fixed == Some(0)
    }

    /// The count is an exact expression (no `Any`, no overflow).
    pub fn exact(&self) -> bool {
        !self.any && self.fixed.is_some()
    }

    /// The count as one dim: fixed, a single symbol, or `Any`.
    pub fn to_dim(&self) -> Dim {
        if self.is_zero() {
            return Dim::Fixed(0);
        }
        match (self.exact(), self.fixed, self.syms.len()) {
            (true, Some(f), 0) => usize::try_from(f).map(Dim::Fixed).unwrap_or(Dim::Any),
            (true, Some(1), 1) => Dim::Sym(self.syms[0].clone()),
            _ => Dim::Any,
        }
    }

    /// `self / other` as one dim (for reshape's `-1`). `Err` when the quotient is
    /// provably not an integer; `Ok(Any)` when it cannot be determined.
    pub fn divide(&self, other: &Size) -> std::result::Result<Dim, ()> {
        if !other.exact() {
            return Ok(Dim::Any);
        }
        let of = other.fixed.unwrap_or(1);
        if of == 0 {
            return Err(());
        }
        if self.is_zero() {
            return Ok(Dim::Fixed(0));
        }
        if !self.exact() {
            return Ok(Dim::Any);
        }
        let sf = self.fixed.unwrap_or(1);
        // Remaining symbols: self.syms minus other.syms (multisets).
        let mut rem = self.syms.clone();
        for s in &other.syms {
            match rem.iter().position(|r| r == s) {
                Some(i) => {
                    rem.remove(i);
                }
                None => return Ok(Dim::Any),
            }
        }
        if !sf.is_multiple_of(of) {
            return if rem.is_empty() {
                Err(())
            } else {
                Ok(Dim::Any)
            };
        }
        let q = sf / of;
        Ok(match rem.len() {
            0 => usize::try_from(q).map(Dim::Fixed).unwrap_or(Dim::Any),
            1 if q == 1 => Dim::Sym(rem[0].clone()),
            _ => Dim::Any,
        })
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.exact() {
            return f.write_str("?");
        }
        let fixed = self.fixed.unwrap_or(1);
        let mut parts: Vec<String> = Vec::new();
        if fixed != 1 || self.syms.is_empty() {
            parts.push(fixed.to_string());
        }
        parts.extend(self.syms.iter().cloned());
        f.write_str(&parts.join("*"))
    }
}

/// Numpy broadcasting of two dims; `None` when they are incompatible.
///
/// `1` with `x` is `x`; `Any` with anything else is `Any`; a symbol with itself is itself; a
/// symbol with a fixed `k != 1` is `k` (the symbol must be 1 or `k`); two different symbols
/// give `Any`; two different fixed sizes other than 1 are an error.
pub(super) fn broadcast_dim(a: &Dim, b: &Dim) -> Option<Dim> {
    Some(match (a, b) {
        (Dim::Fixed(1), x) | (x, Dim::Fixed(1)) => x.clone(),
        (Dim::Any, _) | (_, Dim::Any) => Dim::Any,
        (Dim::Fixed(x), Dim::Fixed(y)) => {
            if x != y {
                return None;
            }
            Dim::Fixed(*x)
        }
        (Dim::Sym(s), Dim::Sym(t)) => {
            if s == t {
                Dim::Sym(s.clone())
            } else {
                Dim::Any
            }
        }
        (Dim::Sym(_), Dim::Fixed(k)) | (Dim::Fixed(k), Dim::Sym(_)) => Dim::Fixed(*k),
    })
}

/// Multidirectional (numpy) broadcasting of two shapes.
pub(super) fn broadcast(a: &[Dim], b: &[Dim]) -> R<Vec<Dim>> {
    let r = a.len().max(b.len());
    let one = Dim::Fixed(1);
    let mut out = Vec::with_capacity(r);
    for i in 0..r {
        let da = if i + a.len() >= r {
            &a[i + a.len() - r]
        } else {
            &one
        };
        let db = if i + b.len() >= r {
            &b[i + b.len() - r]
        } else {
            &one
        };
        match broadcast_dim(da, db) {
            Some(d) => out.push(d),
            None => {
                return Err(format!(
                    "cannot broadcast {} with {}",
                    fmt_shape(a),
                    fmt_shape(b)
                ))
            }
        }
    }
    Ok(out)
}

/// Two dims that must be equal at run time: the more precise of the two, or `None` when
/// both are fixed and differ.
pub(super) fn unify(a: &Dim, b: &Dim) -> Option<Dim> {
    Some(match (a, b) {
        (Dim::Fixed(x), Dim::Fixed(y)) => {
            if x != y {
                return None;
            }
            Dim::Fixed(*x)
        }
        (Dim::Fixed(x), _) | (_, Dim::Fixed(x)) => Dim::Fixed(*x),
        (Dim::Sym(s), _) | (_, Dim::Sym(s)) => Dim::Sym(s.clone()),
        (Dim::Any, Dim::Any) => Dim::Any,
    })
}

/// Output size of a sliding window (convolution or pooling) along one spatial dim.
///
/// `kernel` is `None` when the kernel size is not known at compile time. With `ceil_mode`
/// the size rounds up, but (ONNX / ONNX Runtime rule) a last window that would start in the
/// end padding is dropped.
#[allow(clippy::too_many_arguments)]
pub(super) fn window_out(
    input: &Dim,
    kernel: Option<usize>,
    stride: usize,
    dilation: usize,
    pad_begin: usize,
    pad_end: usize,
    ceil_mode: bool,
    spatial: usize,
) -> R<Dim> {
    let Some(k) = kernel else {
        return Ok(Dim::Any);
    };
    if k == 0 {
        return Err(format!("kernel size 0 on spatial dim {spatial}"));
    }
    let extent = (dilation as u128) * (k as u128 - 1) + 1;
    let pads = pad_begin as u128 + pad_end as u128;
    let n = match input {
        Dim::Fixed(n) => *n as u128,
        _ => {
            // Size-preserving windows keep a symbolic size.
            return Ok(if stride == 1 && pads + 1 == extent {
                input.clone()
            } else {
                Dim::Any
            });
        }
    };
    let padded = n + pads;
    if padded < extent {
        return Err(format!(
            "window extent {extent} exceeds padded input {padded} on spatial dim {spatial}"
        ));
    }
    let num = padded - extent;
    let s = stride as u128;
    let mut out = if ceil_mode {
        num.div_ceil(s) + 1
    } else {
        num / s + 1
    };
    if ceil_mode && (out - 1) * s >= n + pad_begin as u128 {
        out -= 1;
    }
    usize::try_from(out)
        .map(Dim::Fixed)
        .map_err(|_| format!("output size {out} overflows on spatial dim {spatial}"))
}
