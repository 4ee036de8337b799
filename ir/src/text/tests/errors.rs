//! Parse errors: positions and messages.

use super::parse_err;
use crate::text::*;
use crate::Error;

const HEAD: &str = "module @m requant=float\nconst @w : tensor<2xi8> = dense<[1, 2]>\nfunc @main(%x: tensor<2xf32>) {\n";

#[test]
fn text_parse_errors_have_positions_and_messages() {
    let ty = "tensor<2xf32>";
    // (source after HEAD or full source, line, col, message)
    let body = |s: &str| format!("{HEAD}{s}");
    let cases: Vec<(String, usize, usize, &str)> = vec![
        ("".into(), 1, 1, "expected 'module' at the start of the input, found end of input"),
        ("module m".into(), 1, 8, "expected the module name ('@name'), found 'm'"),
        ("module @m requant=fast".into(), 1, 19, "unknown requant mode 'fast' (expected float or fixed_point)"),
        ("module @m\nfunk @main() {}".into(), 2, 1, "expected 'const' or 'func', found 'funk'"),
        ("module @m\nfunc @f() {\n return\n}".into(), 2, 6, "the function must be named @main, not @f"),
        (body(&format!("  %y = qconv3 %x : {ty}\n  return %y\n}}")), 4, 8, "unknown op 'qconv3' (did you mean 'qconv'?)"),
        (body(&format!("  %y = relu %z : {ty}\n  return %y\n}}")), 4, 13, "use of undefined value %z"),
        (body(&format!("  %x = relu %x : {ty}\n  return %x\n}}")), 4, 3, "value %x defined twice"),
        (body(&format!("  %y = relu %x {ty}\n  return %y\n}}")), 4, 16, "expected ':' and the result type after the operands, found 'tensor'"),
        (body(&format!("  %y = softmax %x {{axis=1, beta=2}} : {ty}\n  return %y\n}}")), 4, 28, "unknown attribute 'beta' for 'softmax' (expected axis)"),
        (body(&format!("  %y = relu %x {{alpha=1}} : {ty}\n  return %y\n}}")), 4, 17, "unknown attribute 'alpha' for 'relu' (it takes no attributes)"),
        (body(&format!("  %y = flatten %x {{}} : {ty}\n  return %y\n}}")), 4, 8, "missing attribute 'axis' for 'flatten'"),
        (body(&format!("  %y = conv %x, %x {{strides=[1, -1], pads=[], dilations=[], group=1}} : {ty}\n  return %y\n}}")), 4, 33, "attribute 'strides' of 'conv' expects a list of non-negative integers, found '-1'"),
        (body(&format!("  %y = cast %x {{to=f16}} : {ty}\n  return %y\n}}")), 4, 20, "attribute 'to' of 'cast' expects an element type (f32, i8, u8, ...), found 'f16'"),
        (body(&format!("  %y = softmax %x {{axis=[1]}} : {ty}\n  return %y\n}}")), 4, 25, "attribute 'axis' of 'softmax' expects an integer, found '[...]'"),
        (body(&format!("  %y = softmax %x {{axis=1, axis=2}} : {ty}\n  return %y\n}}")), 4, 28, "duplicate attribute 'axis'"),
        (body("  %y = relu %x : tensor<2xf16>\n  return %y\n}"), 4, 27, "unknown element type 'f16' (expected one of f32, f64, i8, u8, i16, u16, i32, u32, i64, u64, bool)"),
        (body("  %y = relu %x : tensor<3ax2xf32>\n  return %y\n}"), 4, 25, "invalid dimension '3a'"),
        (body("  %y = relu %x : tensor<2xu8, q(axis=0, scale=[1, 2], zp=[0])>\n  return %y\n}"), 4, 58, "2 scales but 1 zero points"),
        (body("  %y = relu %x : tensor<2xu8, q(0.5)>\n  return %y\n}"), 4, 36, "expected ',' after the scale, found ')'"),
        (body(&format!("  %a, %b = relu %x : {ty}\n  return %a\n}}")), 5, 3, "expected ',' and another result type ('relu' defines 2 results here), found 'return'"),
        (body(&format!("  %a = relu %x : {ty}, {ty}\n  return %a\n}}")), 4, 31, "too many result types: 'relu' defines 1 result here"),
        (body(&format!("  %y = relu %x : {ty} loc(\"oops\n  return %y\n}}")), 4, 36, "unterminated string literal"),
        (body(&format!("  %y = const @nope : {ty}\n  return %y\n}}")), 4, 14, "undefined constant @nope"),
        (body(&format!("  %y = relu %x : {ty}\n}}")), 5, 1, "expected 'return' before '}'"),
        (body(&format!("  %y = relu %x : {ty}\n")), 5, 1, "unexpected end of input inside the function body"),
        (body("  return %x\n}\nextra"), 6, 1, "unexpected 'extra' after the end of the function"),
        (body(&format!("  %y#7 = relu %x : {ty}\n  return %y#7\n}}")), 4, 3, "value ids are not contiguous: no value has id #1 (declare unused values with 'orphan')"),
        (body(&format!("  %y = relu %x#0 : {ty}\n  %z = relu %y#0 : {ty}\n  return %z\n}}")), 5, 13, "value #0 is named %x, not %y"),
        (body(&format!("  %a#1 = relu %x : {ty}\n  %a#2 = relu %x : {ty}\n  %b = relu %a : {ty}\n  return %b\n}}")), 6, 13, "ambiguous value %a: 2 values share the name; write %a#ID"),
        ("module @m\nconst @w : tensor<3xi8> = dense<[1, 2]>\nfunc @main() {\n return\n}".into(), 2, 27, "constant has 2 elements but its shape needs 3"),
        ("module @m\nconst @w : tensor<2xi8> = dense<[1, 300]>\nfunc @main() {\n return\n}".into(), 2, 37, "invalid i8 element '300'"),
        ("module @m\nconst @w : tensor<2xi8> = hex<\"010\">\nfunc @main() {\n return\n}".into(), 2, 31, "invalid hex data (expected an even number of hex digits)"),
        ("module @m\nconst @w : tensor<2xi16> = hex<\"0102\">\nfunc @main() {\n return\n}".into(), 2, 28, "constant has 2 bytes but 2 x i16 needs 4"),
        ("module @m\nconst @w : tensor<1xi8> = dense<[1]>\nconst @w : tensor<1xi8> = dense<[1]>\nfunc @main() {\n return\n}".into(), 3, 7, "constant @w defined twice"),
        ("module @m\nconst @w : tensor<Nxi8> = dense<[1]>\nfunc @main() {\n return\n}".into(), 2, 27, "a constant with symbolic or unknown dims needs its data's type after the data ('= ... : tensor<...>')"),
        ("module @m\nconst @w : tensor<1xf32> = dense<[1.5e]>\nfunc @main() {\n return\n}".into(), 2, 35, "invalid f32 element '1.5e'"),
        ("module @m\nfunc @main(%x: tensor<1xf32>) {\n  %y = relu %x : tensor<1xf32> loc(\"a\\q\")\n  return %y\n}".into(), 3, 38, "invalid escape (expected \\\", \\\\, \\n, \\t, \\r or \\u{HEX})"),
        ("module @m\nfunc @main() {\n  %y = frobnicate : tensor<1xf32>\n  return %y\n}".into(), 3, 8, "unknown op 'frobnicate' (expected one of "),
    ];
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for (src, line, col, msg) in cases {
        match parse_module(&src) {
            Err(Error::Parse {
                line: l,
                col: c,
                msg: m,
            }) => {
                if (l, c) != (line, col) || !m.starts_with(msg) {
                    failures.push(format!(
                        "for\n{src}\nexpected {line}:{col}: {msg}\n     got {l}:{c}: {m}"
                    ));
                }
            }
            other => failures.push(format!("for\n{src}\nexpected an error, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn text_parse_type_errors() {
    for (src, col, msg) in [
        (
            "tensor<>",
            8,
            "expected a dimension or element type in 'tensor<...>', found '>'",
        ),
        (
            "tensor<2x>",
            10,
            "expected a dimension or element type in 'tensor<...>', found '>'",
        ),
        (
            "tensor<2x?>",
            10,
            "expected an element type (f32, i8, u8, ...) after the dims",
        ),
        (
            "tensor<99999999999999999999xf32>",
            8,
            "dimension 99999999999999999999 is too large",
        ),
        ("tensor<2xf32> junk", 15, "unexpected 'junk' after the type"),
        (
            "tensor<2xi8, q(0.5, 1, wide)>",
            24,
            "expected 'narrow', found 'wide'",
        ),
        (
            "tensor<2xi8, q(axis=-1, scale=[1], zp=[0])>",
            21,
            "invalid axis '-1'",
        ),
        (
            "tensor<2xi8, q(0.5, 1e3)>",
            21,
            "invalid zero point '1e3' (expected an i32)",
        ),
        ("tensor<2xi8, q(0.5.5, 0)>", 16, "invalid scale '0.5.5'"),
        (
            "vector<2xf32>",
            1,
            "expected a type 'tensor<...>', found 'vector'",
        ),
    ] {
        assert_eq!(
            parse_type(src).unwrap_err(),
            parse_err(1, col, msg),
            "{src}"
        );
    }
}
