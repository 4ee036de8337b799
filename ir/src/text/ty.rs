//! The tensor type syntax, both directions:
//!
//! ```text
//! tensor<f32>                                   rank 0
//! tensor<Nx3x?xu8, q(0.0039215689, 128)>       symbolic, fixed and unknown dims; per-tensor
//! tensor<4x3xi8, q(0.5, 0, narrow)>             narrow storage range
//! tensor<4x3xi8, q(axis=0, scale=[0.5, 0.25, 1, 2], zp=[0, 0, 0, 0], narrow)>
//! tensor<"max_len"x8xf32>                       a symbolic dim that needs quotes
//! ```

use super::cursor::Cursor;
use super::syntax::{fmt_f32, is_bare_dim, is_dim_char, parse_f32, quote};
use crate::{DType, Dim, QParams, Result, TensorType};
use std::fmt::Write;

/// Per-axis lists longer than this are shortened in the human-friendly (elided) form.
const ELIDE_LIST: usize = 16;

/// Appends the spelling of `t`. With `elide`, per-axis lists longer than 16 entries are
/// shortened to their first four entries and a count (that form does not parse).
pub(crate) fn write_type(out: &mut String, t: &TensorType, elide: bool) {
    out.push_str("tensor<");
    for d in &t.shape {
        match d {
            Dim::Fixed(n) => write!(out, "{n}").unwrap(),
            Dim::Any => out.push('?'),
            Dim::Sym(s) if is_bare_dim(s) => out.push_str(s),
            Dim::Sym(s) => out.push_str(&quote(s)),
        }
        out.push('x');
    }
    out.push_str(t.dtype.name());
    if let Some(q) = &t.quant {
        out.push_str(", ");
        write_qparams(out, q, elide);
    }
    out.push('>');
}

fn write_qparams(out: &mut String, q: &QParams, elide: bool) {
    out.push_str("q(");
    if q.axis.is_none() && q.scale.len() == 1 && q.zero_point.len() == 1 {
        write!(out, "{}, {}", fmt_f32(q.scale[0]), q.zero_point[0]).unwrap();
    } else {
        if let Some(a) = q.axis {
            write!(out, "axis={a}, ").unwrap();
        }
        out.push_str("scale=");
        write_list(out, q.scale.iter().map(|&s| fmt_f32(s)), elide);
        out.push_str(", zp=");
        write_list(out, q.zero_point.iter().map(|z| z.to_string()), elide);
    }
    if q.narrow {
        out.push_str(", narrow");
    }
    out.push(')');
}

fn write_list(out: &mut String, items: impl ExactSizeIterator<Item = String>, elide: bool) {
    let n = items.len();
    let shown = if elide && n > ELIDE_LIST { 4 } else { n };
    out.push('[');
    for (i, s) in items.take(shown).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&s);
    }
    if shown < n {
        write!(out, ", ...{} more", n - shown).unwrap();
    }
    out.push(']');
}

/// One item of the `x`-separated list inside `tensor<...>`.
enum Item {
    /// A bare run of dim characters (a size, a symbol or the element type).
    Bare(String),
    /// `?`.
    Any,
    /// A quoted symbol.
    Quoted(String),
}

/// Reads `tensor<...>` at the cursor.
pub(crate) fn parse_type(c: &mut Cursor) -> Result<TensorType> {
    c.expect_keyword("tensor", "a type 'tensor<...>'")?;
    c.expect('<', "'<' after 'tensor'")?;
    let mut shape = Vec::new();
    let dtype = loop {
        c.skip_ws();
        let at = c.pos();
        let item = match c.peek() {
            Some('?') => {
                c.bump();
                Item::Any
            }
            Some('"') => Item::Quoted(c.string()?),
            Some(ch) if is_dim_char(ch) => {
                let mut s = String::new();
                while let Some(ch) = c.peek().filter(|&ch| is_dim_char(ch)) {
                    s.push(ch);
                    c.bump();
                }
                Item::Bare(s)
            }
            _ => {
                let found = c.found();
                return Err(c.error(format!(
                    "expected a dimension or element type in 'tensor<...>', found {found}"
                )));
            }
        };
        c.skip_ws();
        if c.peek() == Some('x') {
            c.bump();
            shape.push(match item {
                Item::Any => Dim::Any,
                Item::Quoted(s) => Dim::Sym(s),
                Item::Bare(s) if s.bytes().all(|b| b.is_ascii_digit()) => Dim::Fixed(
                    s.parse()
                        .map_err(|_| c.error_at(at, format!("dimension {s} is too large")))?,
                ),
                Item::Bare(s) if s.starts_with(|ch: char| ch.is_ascii_digit()) => {
                    return Err(c.error_at(at, format!("invalid dimension '{s}'")));
                }
                Item::Bare(s) => Dim::Sym(s),
            });
            continue;
        }
        let Item::Bare(s) = item else {
            return Err(c.error_at(
                at,
                "expected an element type (f32, i8, u8, ...) after the dims",
            ));
        };
        break DType::from_name(&s).ok_or_else(|| {
            let names: Vec<_> = DType::ALL.iter().map(|d| d.name()).collect();
            c.error_at(
                at,
                format!(
                    "unknown element type '{s}' (expected one of {})",
                    names.join(", ")
                ),
            )
        })?;
    };
    let quant = if c.eat(',') {
        Some(parse_qparams(c)?)
    } else {
        None
    };
    c.expect('>', "'>' to close the type")?;
    Ok(TensorType {
        dtype,
        shape,
        quant,
    })
}

/// Reads `q(...)`, both the per-tensor and the keyword form.
fn parse_qparams(c: &mut Cursor) -> Result<QParams> {
    c.expect_keyword("q", "quantization parameters 'q(...)' after ','")?;
    c.expect('(', "'(' after 'q'")?;
    c.skip_ws();
    let save = c.pos();
    let keyword_form = matches!(c.word(), Some((w, _)) if w == "axis" || w == "scale")
        && c.peek_tok() == Some('=');
    c.set_pos(save);
    let mut q = QParams {
        scale: Vec::new(),
        zero_point: Vec::new(),
        axis: None,
        narrow: false,
    };
    if keyword_form {
        if c.eat_keyword("axis") {
            c.expect('=', "'=' after 'axis'")?;
            let (a, at) = expect_atom(c, "the quantized axis")?;
            q.axis = Some(
                a.parse()
                    .map_err(|_| c.error_at(at, format!("invalid axis '{a}'")))?,
            );
            c.expect(',', "',' after the axis")?;
        }
        c.expect_keyword("scale", "'scale=[...]'")?;
        c.expect('=', "'=' after 'scale'")?;
        let (scales, _) = c.atom_list("the scale list")?;
        for (s, at) in scales {
            q.scale.push(scale_lit(c, &s, at)?);
        }
        c.expect(',', "',' after the scales")?;
        c.expect_keyword("zp", "'zp=[...]'")?;
        c.expect('=', "'=' after 'zp'")?;
        let (zps, open) = c.atom_list("the zero-point list")?;
        for (z, at) in zps {
            q.zero_point.push(zp_lit(c, &z, at)?);
        }
        if q.scale.len() != q.zero_point.len() {
            return Err(c.error_at(
                open,
                format!(
                    "{} scales but {} zero points",
                    q.scale.len(),
                    q.zero_point.len()
                ),
            ));
        }
    } else {
        let (s, at) = expect_atom(c, "a scale")?;
        q.scale.push(scale_lit(c, &s, at)?);
        c.expect(',', "',' after the scale")?;
        let (z, at) = expect_atom(c, "a zero point")?;
        q.zero_point.push(zp_lit(c, &z, at)?);
    }
    if c.eat(',') {
        c.expect_keyword("narrow", "'narrow'")?;
        q.narrow = true;
    }
    c.expect(')', "')' to close 'q(...)'")?;
    Ok(q)
}

fn expect_atom(c: &mut Cursor, what: &str) -> Result<(String, usize)> {
    match c.atom() {
        Some(a) => Ok(a),
        None => {
            let found = c.found();
            Err(c.error(format!("expected {what}, found {found}")))
        }
    }
}

fn scale_lit(c: &Cursor, s: &str, at: usize) -> Result<f32> {
    parse_f32(s).ok_or_else(|| c.error_at(at, format!("invalid scale '{s}'")))
}

fn zp_lit(c: &Cursor, s: &str, at: usize) -> Result<i32> {
    s.parse()
        .map_err(|_| c.error_at(at, format!("invalid zero point '{s}' (expected an i32)")))
}
