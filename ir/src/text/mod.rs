//! The IR text format: a stable, readable, one-op-per-line spelling of a [`crate::Module`]
//! that parses back to the identical module.
//!
//! ```text
//! module @seed_cnn requant=float
//!
//! const @fc.weight : tensor<2x2xi8, q(axis=1, scale=[0.5, 0.25], zp=[0, 0], narrow)> = dense<[1, -2, 3, -4]>
//! const @lut : tensor<17xu8> = hex<"000102030405060708090a0b0c0d0e0f10">
//!
//! func @main(%x: tensor<Nx2xf32>) {
//!   %x_q = quantize %x : tensor<Nx2xu8, q(0.003921569, 128)> loc("q0")
//!   %w = const @fc.weight : tensor<2x2xi8, q(axis=1, scale=[0.5, 0.25], zp=[0, 0], narrow)>
//!   %/fc/MatMul_output_0 = qmatmul %x_q, %w : tensor<Nx2xu8, q(0.1, 0)> loc("fc")
//!   %a#5, %a#6 = split %/fc/MatMul_output_0 {axis=1, sizes=[1, 1]} : tensor<Nx1xu8, q(0.1, 0)>, tensor<Nx1xu8, q(0.1, 0)>
//!   return %a#5, %a#6
//! }
//! ```
//!
//! The full grammar is in `docs/ir.md`. The decisions that matter to readers of the output:
//!
//! * **Round trip.** `parse_module(&print_module(&m)) == m` for every module whose graph
//!   defines each value at most once, uses values only after their definition, and
//!   references existing values and constants — *including* [`crate::ValueId`] numbering,
//!   value and node names, constant bytes and f32/f64 bit patterns. Other modules still
//!   print (dangling ids show as `%<dangling#N>`), but need not parse.
//! * **Value names.** A value prints as `%name`, its source name, bare when it consists of
//!   ASCII letters, digits, `_ . - /` (and no `//`), else quoted: `%"onnx::Add_3"`. A `#ID`
//!   suffix gives the value's id explicitly; it is printed when the name is empty (`%#4`),
//!   shared with another value (`%a#5`, `%a#6`), or when the id is not the one the parser
//!   would assign implicitly (one past the largest id defined so far, in text order:
//!   inputs, `orphan`s, node results). Values defined by nothing print as
//!   `orphan %name : TYPE` lines at the top of the body so that ids stay dense.
//! * **Constants** are a table of `const @name : TYPE = DATA` lines; `const` ops refer to
//!   them by name. Duplicate or empty constant names get the same `#ID` treatment
//!   (`@dup#18`), where the id is the table position. Data with at most 16 elements is
//!   `dense<[...]>` (flat, row-major), larger data is `hex<"...">` (little-endian bytes).
//!   When the declared type lacks fixed dims or disagrees with the data's element type,
//!   the data's own type follows: `= dense<[1, 2]> : tensor<1x2xf32>`.
//! * **Floats** use the shortest decimal that round-trips (`0.003921569`), the exponent form
//!   when it is much shorter (`1e-5`), `inf`, `-inf`, `-0`, `nan` for the canonical quiet
//!   NaN and `nan(0x7fc00001)` (all bits, hex) for any other NaN.
//! * **Attributes** are `{key=value, ...}` in a fixed per-op order (see the table in
//!   `attrs.rs`). Every non-optional attribute is printed and required when parsing;
//!   optional ones (`clip` bounds, reduce `axes`) are omitted when absent. Dynamic forms
//!   print their (empty, ignored) attributes like the static forms.
//! * **Elided form.** [`PrintOptions::elide_large_constants`] replaces large constant data
//!   with `<elided 10x3136xi8>` and shortens per-axis lists longer than 16; the parser
//!   rejects that form with a clear error.
//! * Whitespace and newlines are insignificant between tokens; `//` starts a comment.
//!   `requant=` may be left out (it defaults to `float`).

mod attrs;
mod cursor;
mod parse;
mod print;
mod syntax;
mod ty;

pub use attrs::{op_attrs, template as op_template, templates as op_templates};
pub use parse::{parse_module, parse_type};
pub use print::{print_module, print_module_with, print_type, PrintOptions};

#[cfg(test)]
mod tests;
