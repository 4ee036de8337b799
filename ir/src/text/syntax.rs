//! Lexical spellings shared by the printer and the parser: names, quoted strings and
//! bit-exact float literals.
//!
//! Every function here comes in a print/parse pair so that the two directions cannot drift
//! apart: [`name`] / [`is_name_char`], [`quote`] / the cursor's string reader, [`fmt_f32`] /
//! [`parse_f32`], [`fmt_f64`] / [`parse_f64`].

/// True for the characters allowed in a bare (unquoted) value or constant name:
/// ASCII letters and digits, `_`, `.`, `-` and `/` (a bare name never contains `//`,
/// which starts a comment).
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

/// True when `s` can follow `%` or `@` without quotes.
pub(crate) fn is_bare_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_name_char) && !s.contains("//")
}

/// True for the characters of a bare symbolic dimension or element type inside
/// `tensor<...>`: ASCII letters, digits and `_`, except `x`, which separates dims.
pub(crate) fn is_dim_char(c: char) -> bool {
    (c.is_ascii_alphanumeric() || c == '_') && c != 'x'
}

/// True when a symbolic dim name can be printed bare: dim characters only and not
/// starting with a digit (a leading digit would read as a fixed size).
pub(crate) fn is_bare_dim(s: &str) -> bool {
    s.chars().next().is_some_and(|c| !c.is_ascii_digit()) && s.chars().all(is_dim_char)
}

/// `s` as a double-quoted string literal. `"` and `\` are backslash-escaped, newline, tab and
/// carriage return use `\n`, `\t`, `\r`, any other control character is written `\u{HEX}`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A name as printed after a sigil: bare when possible, quoted otherwise.
pub(crate) fn name(s: &str) -> String {
    if is_bare_name(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

/// Picks between the plain decimal and the exponent spelling of a finite float: the
/// exponent form when it is more than two characters shorter (`1e-5`, `3.4028235e38`),
/// the plain form otherwise (`0.5`, `100`, `0.0039215689`). Both are shortest round-trip.
fn shortest(plain: String, exp: String) -> String {
    if plain.len() > exp.len() + 2 {
        exp
    } else {
        plain
    }
}

/// Bit-exact spelling of an f32: shortest round-trip decimal, `inf` / `-inf`, `nan` for
/// the canonical quiet NaN (`0x7fc00000`) and `nan(0xXXXXXXXX)` (all 32 bits) for any
/// other NaN. `-0` keeps its sign.
pub(crate) fn fmt_f32(x: f32) -> String {
    if x.is_nan() {
        if x.to_bits() == f32::NAN.to_bits() {
            "nan".into()
        } else {
            format!("nan(0x{:08x})", x.to_bits())
        }
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        shortest(format!("{x}"), format!("{x:e}"))
    }
}

/// Bit-exact spelling of an f64, as [`fmt_f32`] with 64-bit NaN payloads
/// (`nan(0xXXXXXXXXXXXXXXXX)`).
pub(crate) fn fmt_f64(x: f64) -> String {
    if x.is_nan() {
        if x.to_bits() == f64::NAN.to_bits() {
            "nan".into()
        } else {
            format!("nan(0x{:016x})", x.to_bits())
        }
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        shortest(format!("{x}"), format!("{x:e}"))
    }
}

/// The float literal forms, decoded once for both widths.
enum FloatLit<'a> {
    /// A decimal literal (sign included), safe to hand to `str::parse`.
    Decimal(&'a str),
    /// `inf` with its sign.
    Inf { neg: bool },
    /// `nan`, optionally negated.
    Nan { neg: bool },
    /// `nan(0x...)` with the raw bit pattern.
    NanBits(u64),
}

fn classify(text: &str) -> Option<FloatLit<'_>> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    match body {
        "inf" => return Some(FloatLit::Inf { neg }),
        "nan" => return Some(FloatLit::Nan { neg }),
        _ => {}
    }
    if let Some(hex) = body
        .strip_prefix("nan(0x")
        .and_then(|r| r.strip_suffix(')'))
    {
        if text.len() != body.len() || hex.is_empty() || hex.len() > 16 {
            return None;
        }
        return u64::from_str_radix(hex, 16).ok().map(FloatLit::NanBits);
    }
    let ok = body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    ok.then_some(FloatLit::Decimal(text))
}

/// Parses a literal written by [`fmt_f32`] (or any plain decimal such as `1`, `.5`, `2e-3`).
/// `None` when the text is not a float literal, or `nan(0x...)` does not hold a 32-bit NaN.
pub(crate) fn parse_f32(text: &str) -> Option<f32> {
    match classify(text)? {
        FloatLit::Decimal(s) => s.parse().ok(),
        FloatLit::Inf { neg } => Some(if neg {
            f32::NEG_INFINITY
        } else {
            f32::INFINITY
        }),
        FloatLit::Nan { neg } => Some(if neg { -f32::NAN } else { f32::NAN }),
        FloatLit::NanBits(b) => {
            let x = f32::from_bits(u32::try_from(b).ok()?);
            x.is_nan().then_some(x)
        }
    }
}

/// Parses a literal written by [`fmt_f64`]; see [`parse_f32`].
pub(crate) fn parse_f64(text: &str) -> Option<f64> {
    match classify(text)? {
        FloatLit::Decimal(s) => s.parse().ok(),
        FloatLit::Inf { neg } => Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        FloatLit::Nan { neg } => Some(if neg { -f64::NAN } else { f64::NAN }),
        FloatLit::NanBits(b) => {
            let x = f64::from_bits(b);
            x.is_nan().then_some(x)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_floats_round_trip_bit_exact() {
        let f32s = [
            0.0f32,
            -0.0,
            1.0,
            0.1,
            0.003921569,
            1e-5,
            1e-45,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7f80_0001),
            f32::from_bits(0xffc0_1234),
        ];
        for x in f32s {
            let s = fmt_f32(x);
            assert_eq!(parse_f32(&s).map(f32::to_bits), Some(x.to_bits()), "{s}");
        }
        let f64s = [
            0.0f64,
            -0.0,
            0.1,
            1e300,
            5e-324,
            f64::NAN,
            f64::from_bits(0xfff0_0000_0000_0001),
        ];
        for x in f64s {
            let s = fmt_f64(x);
            assert_eq!(parse_f64(&s).map(f64::to_bits), Some(x.to_bits()), "{s}");
        }
        assert_eq!(fmt_f32(1e-5), "1e-5");
        assert_eq!(fmt_f32(0.5), "0.5");
        assert_eq!(fmt_f32(100.0), "100");
        assert_eq!(fmt_f32(-0.0), "-0");
        assert_eq!(fmt_f32(f32::NAN), "nan");
    }

    #[test]
    fn text_float_literals_reject_junk() {
        for s in [
            "",
            "-",
            "e",
            "1x",
            "infinity",
            "NaN",
            "nan(0x)",
            "nan(0x7f800000)",
            "-nan(0x7fc00001)",
            "0x10",
        ] {
            assert_eq!(parse_f32(s), None, "{s:?}");
        }
        assert_eq!(parse_f32("nan(0x1ffc00000)"), None);
        assert!(parse_f64("nan(0x7ff8000000000001)").is_some_and(f64::is_nan));
    }

    #[test]
    fn text_names_quote_when_needed() {
        assert_eq!(name("conv1.weight"), "conv1.weight");
        assert_eq!(name("/conv1/Conv_output_0"), "/conv1/Conv_output_0");
        assert_eq!(name("onnx::Conv_12"), "\"onnx::Conv_12\"");
        assert_eq!(name("a//b"), "\"a//b\"");
        assert_eq!(name(""), "\"\"");
        assert_eq!(quote("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u{1}é\"");
        assert!(is_bare_dim("N") && is_bare_dim("batch_size") && is_bare_dim("_1"));
        assert!(
            !is_bare_dim("max_len")
                && !is_bare_dim("1a")
                && !is_bare_dim("")
                && !is_bare_dim("a-b")
        );
    }
}
