//! Compile-time evaluation of shape arithmetic: `Shape`, and `Gather` / `Unsqueeze` /
//! `Squeeze` / `Concat` / `Slice` / `Cast` / `Identity` / `Add` / `Sub` / `Mul` / `Div` /
//! `Reshape` / `Equal` / `Where` on its results. This is how PyTorch exports
//! `x.view(x.size(0), -1)`, ShuffleNet's channel shuffle and `x.expand(N, -1, -1)` (a
//! Reshape to `[-1]`, then `Where(Equal(s, -1), 1, s)`) when the batch dim is dynamic.
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
    /// Booleans (`Equal`'s result; elements are 0 and 1) rather than integers.
    pub boolean: bool,
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
    "Reshape",
    "Equal",
    "Where",
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
    // Reshape folds only a shape value itself (reshaping data is ordinary lowering).
    if op == "Reshape"
        && !ctx
            .input_name(0)
            .is_ok_and(|n| ctx.b.shape_vals.contains_key(n))
    {
        return Ok(false);
    }
    let any_shape = (0..ctx.num_inputs()).any(|i| {
        ctx.input_name(i)
            .is_ok_and(|n| ctx.b.shape_vals.contains_key(n))
    });
    // A cast to a non-integer type leaves shape arithmetic.
    let int_cast = ctx.attrs().int_or("to", 7)?;
    if op == "Cast" && !matches!(int_cast, 6 | 7 | 9) {
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
        "Cast" => cast(first(&ins)?, int_cast)?,
        "Identity" => first(&ins)?.clone(),
        "Reshape" => reshape(&ins)?,
        "Equal" => equal(&ins)?,
        "Where" => where_(&ins)?,
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
    if !(t.dtype().is_int() || t.dtype() == qcc_ir::DType::Bool) || t.shape.len() > 1 {
        return Ok(None);
    }
    Ok(Some(ShapeVal {
        vals: t.data.to_i64_vec().into_iter().map(SymInt::Known).collect(),
        scalar: t.shape.is_empty(),
        boolean: t.dtype() == qcc_ir::DType::Bool,
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
        let data = if r.boolean {
            Data::Bool(k.iter().map(|&v| v != 0).collect())
        } else {
            Data::I64(k)
        };
        return ctx.bind_const_output(Tensor::new(shape, data));
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

/// ONNX Shape (with opset 15's `start` / `end`); the shape of a shape value is its length.
fn shape(ctx: &mut NodeCtx) -> LResult<ShapeVal> {
    ctx.expect_inputs(1, 1)?;
    let dims = match ctx.b.shape_vals.get(ctx.input_name(0)?) {
        Some(v) if v.scalar => vec![],
        Some(v) => vec![Dim::Fixed(v.vals.len())],
        None => ctx.peek_type(0)?.shape,
    };
    let rank = dims.len() as i64;
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
    for d in dims.iter().take(end).skip(start) {
        vals.push(match d {
            Dim::Fixed(n) => SymInt::Known(*n as i64),
            Dim::Sym(s) => SymInt::Sym(s.clone()),
            Dim::Any => bail!("the shape is only known at run time"),
        });
    }
    Ok(ShapeVal {
        vals,
        scalar: false,
        boolean: false,
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
        boolean: data.boolean,
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
        boolean: false,
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
        boolean: x.boolean,
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
        boolean: false,
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
        boolean: false,
    })
}

/// Cast to an integer type (a boolean becomes 0 / 1) or to bool (`!= 0`).
fn cast(x: &ShapeVal, to: i64) -> LResult<ShapeVal> {
    if to != 9 {
        return Ok(ShapeVal {
            boolean: false,
            ..x.clone()
        });
    }
    let vals = x
        .vals
        .iter()
        .map(|v| Ok(SymInt::Known((known(v, "a cast to bool")? != 0) as i64)))
        .collect::<LResult<Vec<_>>>()?;
    Ok(ShapeVal {
        vals,
        scalar: x.scalar,
        boolean: true,
    })
}

/// Reshape of a shape value: to `[-1]` or `[n]` (a vector of its elements) or `[]` (a
/// one-element vector to a scalar).
fn reshape(ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let x = first(ins)?;
    let Some(Some(t)) = ins.get(1) else {
        bail!("expects data and a shape");
    };
    let target = t
        .vals
        .iter()
        .map(|v| known(v, "the Reshape target"))
        .collect::<LResult<Vec<_>>>()?;
    let n = x.vals.len() as i64;
    let scalar = match target[..] {
        [] if n == 1 => true,
        [k] if k == -1 || k == n || (k == 0 && !x.scalar) => false,
        _ => bail!("a shape value of {n} elements cannot be reshaped to {target:?}"),
    };
    Ok(ShapeVal {
        vals: x.vals.clone(),
        scalar,
        boolean: x.boolean,
    })
}

/// The first `k` operands, all present, and the length they broadcast to (one-element
/// operands repeat).
fn zipped(ins: &[Option<ShapeVal>], k: usize) -> LResult<(usize, Vec<&ShapeVal>)> {
    let ops: Vec<&ShapeVal> = ins.iter().take(k).flatten().collect();
    if ops.len() != k {
        bail!("expects {k} operands");
    }
    let n = ops.iter().map(|v| v.vals.len()).max().unwrap_or(0);
    if let Some(v) = ops.iter().find(|v| v.vals.len() != 1 && v.vals.len() != n) {
        bail!(
            "shape operands of {} and {n} elements do not broadcast",
            v.vals.len()
        );
    }
    Ok((n, ops))
}

fn pick(v: &ShapeVal, i: usize) -> &SymInt {
    &v.vals[if v.vals.len() == 1 { 0 } else { i }]
}

/// Elementwise `Equal`. A symbolic dim is a size, never negative, so it differs from any
/// negative number (PyTorch's `expand(N, -1, -1)` compares its sizes with -1); it equals
/// itself.
fn equal(ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let (n, ops) = zipped(ins, 2)?;
    let mut vals = Vec::with_capacity(n);
    for i in 0..n {
        let eq = match (pick(ops[0], i), pick(ops[1], i)) {
            (SymInt::Known(a), SymInt::Known(b)) => a == b,
            (SymInt::Sym(a), SymInt::Sym(b)) if a == b => true,
            (SymInt::Sym(_), SymInt::Known(k)) | (SymInt::Known(k), SymInt::Sym(_)) if *k < 0 => {
                false
            }
            (SymInt::Sym(s), _) | (_, SymInt::Sym(s)) => {
                bail!("Equal on the symbolic dim '{s}' cannot be decided at compile time")
            }
        };
        vals.push(SymInt::Known(eq as i64));
    }
    Ok(ShapeVal {
        vals,
        scalar: ops.iter().all(|v| v.scalar),
        boolean: true,
    })
}

/// Elementwise `Where(cond, a, b)` with a condition known at compile time.
fn where_(ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let (n, ops) = zipped(ins, 3)?;
    if !ops[0].boolean {
        bail!("Where's condition must be bool");
    }
    let mut vals = Vec::with_capacity(n);
    for i in 0..n {
        let c = known(pick(ops[0], i), "Where's condition")?;
        vals.push(pick(ops[if c != 0 { 1 } else { 2 }], i).clone());
    }
    Ok(ShapeVal {
        vals,
        scalar: ops.iter().all(|v| v.scalar),
        boolean: ops[1].boolean && ops[2].boolean,
    })
}

/// Elementwise `Add` / `Sub` / `Mul` / `Div` (integer, truncating) with scalar
/// broadcasting; a symbolic element passes only through an identity (`+ 0`, `* 1`, ...).
fn arith(op: &str, ins: &[Option<ShapeVal>]) -> LResult<ShapeVal> {
    let (n, ops) = zipped(ins, 2)?;
    let (a, b) = (ops[0], ops[1]);
    let mut vals = Vec::with_capacity(n);
    for i in 0..n {
        let (x, y) = (pick(a, i), pick(b, i));
        vals.push(match (x, y) {
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
        boolean: false,
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
    use super::{arith, equal, reshape, reshape_target, slice, where_, ShapeVal, SymInt};
    use qcc_ir::Dim;

    fn sv(vals: &[Option<i64>], scalar: bool) -> Option<ShapeVal> {
        Some(ShapeVal {
            vals: vals
                .iter()
                .map(|v| v.map_or(SymInt::Sym("N".into()), SymInt::Known))
                .collect(),
            scalar,
            boolean: false,
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

    fn boolean(v: Option<ShapeVal>) -> Option<ShapeVal> {
        v.map(|v| ShapeVal { boolean: true, ..v })
    }

    /// PyTorch's `x.expand(N, -1, -1)`: Reshape to [-1], Equal to -1, Where picks 1.
    #[test]
    fn expand_sizes_fold_on_the_symbolic_batch() {
        let sizes = sv(&[None, Some(-1), Some(-1)], false);
        let flat = reshape(&[sizes, sv(&[Some(-1)], false)]).unwrap();
        assert_eq!(Some(flat.clone()), sv(&[None, Some(-1), Some(-1)], false));
        let minus_one = sv(&[Some(-1), Some(-1), Some(-1)], false);
        let eq = equal(&[Some(flat.clone()), minus_one]).unwrap();
        assert_eq!(
            Some(eq.clone()),
            boolean(sv(&[Some(0), Some(1), Some(1)], false))
        );
        let ones = sv(&[Some(1), Some(1), Some(1)], false);
        let r = where_(&[Some(eq), ones, Some(flat)]).unwrap();
        assert_eq!(r, sv(&[None, Some(1), Some(1)], false).unwrap());
        // A symbolic dim against a non-negative number cannot be decided.
        assert!(equal(&[sv(&[None], false), sv(&[Some(3)], false)]).is_err());
        // Where needs a boolean condition; reshape keeps the element count.
        assert!(where_(&[
            sv(&[Some(1)], false),
            sv(&[Some(1)], false),
            sv(&[None], false)
        ])
        .is_err());
        assert!(reshape(&[sv(&[None, Some(2)], false), sv(&[Some(3)], false)]).is_err());
        let one = reshape(&[sv(&[None], false), sv(&[], false)]).unwrap();
        assert!(one.scalar);
    }
}
