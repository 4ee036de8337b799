//! Compile-time evaluation of shape arithmetic: `Shape`, and `Gather` / `Unsqueeze` /
//! `Squeeze` / `Concat` / `Slice` / `Cast` / `Identity` / `Add` / `Sub` / `Mul` / `Div` on
//! its results. This is how PyTorch exports `x.view(x.size(0), -1)` and ShuffleNet's
//! channel shuffle when the batch dim is dynamic.
//!
//! A shape value is a small integer vector (or scalar) whose elements are known numbers
//! or a symbolic dim of the graph (the batch `N`). A result with every element known
//! becomes an ordinary constant; one that still holds a symbolic dim stays in the
//! builder's shape table, and only `Reshape` accepts it (a symbolic element becomes `0`,
//! "copy this dim", when the reshaped tensor has the same symbol at that position, else
//! the single `-1`).

use super::super::error::{bail, LResult};
use super::super::node::NodeCtx;
use qcc_ir::{Data, Dim, Tensor};

/// One element of a shape value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SymInt {
    /// A number known at compile time.
    Known(i64),
    /// A symbolic dim of the graph (bound when inputs arrive).
    Sym(String),
}

/// A shape value: its elements, and whether it is a scalar (rank 0) or a vector.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ShapeVal {
    /// The elements.
    pub vals: Vec<SymInt>,
    /// Rank 0 (one element) rather than rank 1.
    pub scalar: bool,
}

/// Ops [`try_fold`] evaluates when an operand is a shape value.
const FOLDED: &[&str] = &[
    "Shape",
    "Gather",
    "Unsqueeze",
    "Squeeze",
    "Concat",
    "Slice",
    "Cast",
    "Identity",
    "Add",
    "Sub",
    "Mul",
    "Div",
];

/// Evaluates the node at compile time when it is shape arithmetic: `Shape` itself, or one
/// of [`FOLDED`] whose operands are all shape values or integer constants of rank 0 or 1
/// (so a dim picked out of a shape stays a constant through `Unsqueeze` and `Concat`).
/// Returns false when the node is left to its ordinary lowering.
pub(crate) fn try_fold(ctx: &mut NodeCtx) -> LResult<bool> {
    let op = ctx.node.op_type.as_str();
    if !super::super::proto::is_default_domain(&ctx.node.domain) || !FOLDED.contains(&op) {
        return Ok(false);
    }
    if op == "Shape" {
        let r = shape(ctx)?;
        bind(ctx, r)?;
        return Ok(true);
    }
    let any_shape = (0..ctx.num_inputs()).any(|i| {
        ctx.input_name(i)
            .is_ok_and(|n| ctx.b.shape_vals.contains_key(n))
    });
    // A cast to a non-integer type leaves shape arithmetic.
    let int_cast = ctx.attrs().int_or("to", 7)?;
    if op == "Cast" && !matches!(int_cast, 6 | 7) {
        if any_shape {
            bail!("a shape that depends on a symbolic dim cast to a non-integer type");
        }
        return Ok(false);
    }
    let mut ins = Vec::with_capacity(ctx.num_inputs());
    for i in 0..ctx.num_inputs() {
        if !ctx.has_input(i) {
            ins.push(None);
            continue;
        }
        match operand(ctx, i)? {
            Some(v) => ins.push(Some(v)),
            // Gather on run-time data, or a shape mixed with run-time data.
            None if !any_shape => return Ok(false),
            None => bail!(
                "operand {i} is run-time data mixed with a shape that depends on a symbolic dim"
            ),
        }
    }
    let r = match op {
        "Gather" => gather(ctx, &ins)?,
        "Unsqueeze" => unsqueeze(ctx, &ins)?,
        "Squeeze" => squeeze(&ins)?,
        "Concat" => concat(ctx, &ins)?,
        "Slice" => slice(&ins)?,
        "Cast" | "Identity" => first(&ins)?.clone(),
        _ => arith(op, &ins)?,
    };
    bind(ctx, r)?;
    Ok(true)
}

/// Operand `i` as a shape value: from the shape table, or a constant integer tensor of
/// rank 0 or 1 (`None` otherwise).
fn operand(ctx: &NodeCtx, i: usize) -> LResult<Option<ShapeVal>> {
    let name = ctx.input_name(i)?;
    if let Some(v) = ctx.b.shape_vals.get(name) {
        return Ok(Some(v.clone()));
    }
    let Some(t) = ctx.const_input(i)? else {
        return Ok(None);
    };
    if !t.dtype().is_int() || t.shape.len() > 1 {
        return Ok(None);
    }
    Ok(Some(ShapeVal {
        vals: t.data.to_i64_vec().into_iter().map(SymInt::Known).collect(),
        scalar: t.shape.is_empty(),
    }))
}

/// Binds the node's output: a constant when every element is known, else a shape value.
fn bind(ctx: &mut NodeCtx, r: ShapeVal) -> LResult<()> {
    let known: Option<Vec<i64>> = r
        .vals
        .iter()
        .map(|v| match v {
            SymInt::Known(k) => Some(*k),
            SymInt::Sym(_) => None,
        })
        .collect();
    if let Some(k) = known {
        let shape = if r.scalar { vec![] } else { vec![k.len()] };
        return ctx.bind_const_output(Tensor::new(shape, Data::I64(k)));
    }
    let Some(name) = ctx.output_name(0) else {
        return Ok(());
    };
    if ctx.b.is_defined(name) || ctx.b.shape_vals.contains_key(name) {
        bail!("output '{name}' is already defined");
    }
    ctx.b.shape_vals.insert(name.to_string(), r);
    Ok(())
}

fn first(ins: &[Option<ShapeVal>]) -> LResult<&ShapeVal> {
    match ins.first() {
        Some(Some(v)) => Ok(v),
        _ => bail!("expects an operand"),
    }
}

fn known(v: &SymInt, what: &str) -> LResult<i64> {
    match v {
        SymInt::Known(k) => Ok(*k),
        SymInt::Sym(s) => bail!("{what} depends on the symbolic dim '{s}'"),
    }
}

/// ONNX Shape (with opset 15's `start` / `end`).
fn shape(ctx: &mut NodeCtx) -> LResult<ShapeVal> {
    ctx.expect_inputs(1, 1)?;
    let ty = ctx.peek_type(0)?;
    let rank = ty.rank() as i64;
    let clamp = |v: i64| {
        if v < 0 {
            (v + rank).max(0)
        } else {
            v.min(rank)
        }
    };
    let start = clamp(ctx.attrs().int_or("start", 0)?) as usize;
    let end = clamp(ctx.attrs().int_or("end", rank)?) as usize;
    let mut vals = Vec::new();
    for d in ty.shape.iter().take(end).skip(start) {
        vals.push(match d {
            Dim::Fixed(n) => SymInt::Known(*n as i64),
            Dim::Sym(s) => SymInt::Sym(s.clone()),
            Dim::Any => bail!("the shape is only known at run time"),
        });
    }
    Ok(ShapeVal {
        vals,
        scalar: false,
    })
}

fn gather(ctx: &NodeCtx, ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let (Some(Some(data)), Some(Some(idx))) = (ins.first(), ins.get(1)) else {
        bail!("expects data and indices");
    };
    if ctx.attrs().int_or("axis", 0)? != 0 || data.scalar {
        bail!("shape Gather must index a vector along axis 0");
    }
    let n = data.vals.len() as i64;
    let mut vals = Vec::with_capacity(idx.vals.len());
    for v in &idx.vals {
        let i = known(v, "a Gather index")?;
        let j = if i < 0 { i + n } else { i };
        if !(0..n).contains(&j) {
            bail!("index {i} is out of range for {n} elements");
        }
        vals.push(data.vals[j as usize].clone());
    }
    Ok(ShapeVal {
        vals,
        scalar: idx.scalar,
    })
}

fn unsqueeze(ctx: &NodeCtx, ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let x = first(ins)?;
    let axes = match ins.get(1) {
        Some(Some(a)) => a
            .vals
            .iter()
            .map(|v| known(v, "Unsqueeze axes"))
            .collect::<LResult<Vec<_>>>()?,
        _ => ctx.attrs().ints("axes")?.unwrap_or_default(),
    };
    if !x.scalar || !(axes == [0] || axes == [-1]) {
        bail!("shape Unsqueeze must turn a scalar into a vector (axes [0])");
    }
    Ok(ShapeVal {
        vals: x.vals.clone(),
        scalar: false,
    })
}

fn squeeze(ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let x = first(ins)?;
    if x.scalar || x.vals.len() != 1 {
        bail!("shape Squeeze must turn a one-element vector into a scalar");
    }
    Ok(ShapeVal {
        vals: x.vals.clone(),
        scalar: true,
    })
}

fn concat(ctx: &NodeCtx, ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let axis = ctx.attrs().int_or("axis", 0)?;
    let mut vals = Vec::new();
    for v in ins.iter().flatten() {
        if v.scalar || !(axis == 0 || axis == -1) {
            bail!("shape Concat must join vectors along axis 0");
        }
        vals.extend(v.vals.iter().cloned());
    }
    Ok(ShapeVal {
        vals,
        scalar: false,
    })
}

/// Slice of a vector with constant `starts, ends, axes?, steps?` (opset 10+ inputs).
fn slice(ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let x = first(ins)?;
    let one = |i: usize, what: &str, default: i64| -> LResult<i64> {
        match ins.get(i) {
            Some(Some(v)) if v.vals.len() == 1 => known(&v.vals[0], what),
            Some(Some(_)) => bail!("shape Slice takes one {what}"),
            _ => Ok(default),
        }
    };
    let n = x.vals.len() as i64;
    let (start, end) = (one(1, "start", 0)?, one(2, "end", n)?);
    let axis = one(3, "axis", 0)?;
    let step = one(4, "step", 1)?;
    if x.scalar || !(axis == 0 || axis == -1) || step != 1 {
        bail!("shape Slice must take a unit-step range of a vector");
    }
    let clamp = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) };
    let (s, e) = (clamp(start) as usize, clamp(end) as usize);
    Ok(ShapeVal {
        vals: x.vals.get(s..e.max(s)).unwrap_or_default().to_vec(),
        scalar: false,
    })
}

/// Elementwise `Add` / `Sub` / `Mul` / `Div` (integer, truncating) with scalar
/// broadcasting; a symbolic element passes only through an identity (`+ 0`, `* 1`, ...).
fn arith(op: &str, ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let (Some(Some(a)), Some(Some(b))) = (ins.first(), ins.get(1)) else {
        bail!("expects two operands");
    };
    let n = a.vals.len().max(b.vals.len());
    let pick = |v: &ShapeVal, i: usize| -> LResult<SymInt> {
        match v.vals.len() {
            1 => Ok(v.vals[0].clone()),
            m if m == n => Ok(v.vals[i].clone()),
            m => bail!("shape operands of {m} and {n} elements do not broadcast"),
        }
    };
    let mut vals = Vec::with_capacity(n);
    for i in 0..n {
        let (x, y) = (pick(a, i)?, pick(b, i)?);
        vals.push(match (&x, &y) {
            (SymInt::Known(p), SymInt::Known(q)) => SymInt::Known(match op {
                "Add" => p.wrapping_add(*q),
                "Sub" => p.wrapping_sub(*q),
                "Mul" => p.wrapping_mul(*q),
                _ if *q == 0 => bail!("shape Div by zero"),
                _ => p.wrapping_div(*q),
            }),
            (SymInt::Sym(_), SymInt::Known(q))
                if (*q == 0 && matches!(op, "Add" | "Sub"))
                    || (*q == 1 && matches!(op, "Mul" | "Div")) =>
            {
                x.clone()
            }
            (SymInt::Known(p), SymInt::Sym(_))
                if (*p == 0 && op == "Add") || (*p == 1 && op == "Mul") =>
            {
                y.clone()
            }
            _ => bail!("shape arithmetic ({op}) on a symbolic dim is not supported"),
        });
    }
    Ok(ShapeVal {
        vals,
        scalar: a.scalar && b.scalar,
    })
}

/// A `Reshape` target from shape value `s` for a tensor of dims `x`: a symbolic element
/// becomes `0` where `x` has the same symbol at that position (and `allowzero` is off),
/// else `-1` when it is the only one left.
pub(crate) fn reshape_target(s: &ShapeVal, x: &[Dim], allowzero: bool) -> LResult<Vec<i64>> {
    let out: Vec<i64> = s
        .vals
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            SymInt::Known(k) => *k,
            SymInt::Sym(name) if !allowzero && x.get(i) == Some(&Dim::Sym(name.clone())) => 0,
            SymInt::Sym(_) => -1,
        })
        .collect();
    if out.iter().filter(|&&k| k == -1).count() > 1 {
        bail!("the Reshape target has more than one unknown dim");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{arith, reshape_target, slice, ShapeVal, SymInt};
    use qcc_ir::Dim;

    fn sv(vals: &[Option<i64>], scalar: bool) -> Option<ShapeVal> {
        Some(ShapeVal {
            vals: vals
                .iter()
                .map(|v| v.map_or(SymInt::Sym("N".into()), SymInt::Known))
                .collect(),
            scalar,
        })
    }

    #[test]
    fn reshape_target_copies_or_infers_the_symbol() {
        let x = [Dim::Sym("N".into()), Dim::Fixed(24), Dim::Fixed(4)];
        let s = sv(&[None, Some(-1)], false).unwrap();
        assert_eq!(reshape_target(&s, &x, false).unwrap(), vec![0, -1]);
        // allowzero: 0 would mean an empty dim, so the symbol becomes the single -1.
        let s = sv(&[None, Some(2), Some(48)], false).unwrap();
        assert_eq!(reshape_target(&s, &x, true).unwrap(), vec![-1, 2, 48]);
        // The symbol moved to a position where the input has another dim.
        let s = sv(&[Some(2), None, Some(48)], false).unwrap();
        assert_eq!(reshape_target(&s, &x, false).unwrap(), vec![2, -1, 48]);
        let s = sv(&[Some(-1), None], false).unwrap();
        assert!(reshape_target(&s, &[Dim::Fixed(2), Dim::Fixed(2)], false).is_err());
    }

    #[test]
    fn arithmetic_keeps_known_values_and_identities() {
        let r = arith("Div", &[sv(&[Some(116)], true), sv(&[Some(2)], true)]).unwrap();
        assert_eq!(r, sv(&[Some(58)], true).unwrap());
        let r = arith("Mul", &[sv(&[None, Some(3)], false), sv(&[Some(1)], true)]).unwrap();
        assert_eq!(r, sv(&[None, Some(3)], false).unwrap());
        assert!(arith("Mul", &[sv(&[None], true), sv(&[Some(2)], true)]).is_err());
        assert!(arith("Div", &[sv(&[Some(4)], true), sv(&[Some(0)], true)]).is_err());
    }

    #[test]
    fn slice_takes_a_range() {
        let x = sv(&[None, Some(3), Some(7), Some(9)], false);
        let r = slice(&[x, sv(&[Some(-2)], false), sv(&[Some(i64::MAX)], false)]).unwrap();
        assert_eq!(r, sv(&[Some(7), Some(9)], false).unwrap());
    }
}
