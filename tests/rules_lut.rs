//! Snapshots and near misses of the lookup-table rules (`passes/rules/lut.rules`): every
//! rewrite must be bit-exact, since the table is the float computation evaluated on all 256
//! stored values.

mod rule_support;

use rule_support::*;

/// `op` between the input's Q/DQ and an output quantize with parameters `q`.
fn unary(op: &str, attrs: &str, q: &str) -> String {
    let body = format!(
        "  %f = {op} %d{attrs} : tensor<2x8xf32>\n  %q2 = quantize %f : tensor<2x8x{q}>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n"
    );
    graph("2x8", "0.05", 128, "", &body, "%d2")
}

#[test]
fn unary_ops_become_tables() {
    let cases = [
        ("sigmoid-to-lut", "sigmoid", "", "u8, q(0.00390625, 0)"),
        ("tanh-to-lut", "tanh", "", "u8, q(0.0078125, 128)"),
        ("hardswish-to-lut", "hard_swish", "", "u8, q(0.03, 20)"),
        (
            "hardsigmoid-to-lut",
            "hard_sigmoid",
            " {alpha=0.2, beta=0.5}",
            "u8, q(0.00390625, 0)",
        ),
        (
            "leakyrelu-to-lut",
            "leaky_relu",
            " {alpha=0.1}",
            "u8, q(0.04, 100)",
        ),
        ("exp-to-lut", "exp", "", "u8, q(2.5, 0)"),
        ("erf-to-lut", "erf", "", "u8, q(0.0078125, 128)"),
        ("gelu-to-lut", "gelu", "", "u8, q(0.03, 10)"),
        ("gelu-tanh-to-lut", "gelu_tanh", "", "u8, q(0.03, 10)"),
    ];
    for (rule, op, attrs, q) in cases {
        fires(rule, rule, &unary(op, attrs, q), EXACT);
    }
}

/// `x / c` (and `erf(x / c)` when `erf`) on the dequantized input, `c` a constant of `c_ty`.
fn scaled(c_ty: &str, c_val: &str, erf: bool) -> String {
    let consts = format!("const @c : tensor<{c_ty}> = dense<[{c_val}]>\n");
    let (f, q) = if erf {
        ("  %e = erf %s : tensor<2x8xf32>\n", "u8, q(0.0078125, 128)")
    } else {
        ("", "u8, q(0.04, 128)")
    };
    let last = if erf { "%e" } else { "%s" };
    let body = format!(
        "  %c = const @c : tensor<{c_ty}>\n  %s = div %d, %c : tensor<2x8xf32>\n{f}  %q2 = quantize {last} : tensor<2x8x{q}>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n"
    );
    graph("2x8", "0.05", 128, &consts, &body, "%d2")
}

#[test]
fn division_by_a_constant_and_gelus_erf_become_tables() {
    fires(
        "div-to-lut",
        "div-to-lut",
        &scaled("f32", "1.4142135", false),
        EXACT,
    );
    fires(
        "erf-of-div-to-lut",
        "erf-of-div-to-lut",
        &scaled("f32", "1.4142135", true),
        EXACT,
    );
    // A divisor per column is not a per-element map of one table.
    let per_column = "8xf32";
    let vals = "1, 2, 3, 4, 5, 6, 7, 8";
    misses("div-to-lut", &scaled(per_column, vals, false));
    misses("erf-of-div-to-lut", &scaled(per_column, vals, true));
}

#[test]
fn int8_tables_index_from_the_storage_minimum() {
    // i8 input: the table index is x + 128.
    let src = "module @t requant=float\n\nfunc @main(%x: tensor<2x8xf32>) {\n  %q = quantize %x : tensor<2x8xi8, q(0.05, -3)>\n  %d = dequantize %q : tensor<2x8xf32>\n  %f = sigmoid %d : tensor<2x8xf32>\n  %q2 = quantize %f : tensor<2x8xi8, q(0.00390625, -128)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n  return %d2\n}\n";
    let (fired, _, before, after) = run(src, &[]);
    assert!(fired.iter().any(|r| r == "sigmoid-to-lut"), "{fired:?}");
    same_outputs(&before, &after, EXACT);
}

#[test]
fn per_axis_input_keeps_the_float_op() {
    // One scale per row: no single table maps every stored value.
    let src = "module @t requant=float\n\nfunc @main(%x: tensor<2x8xf32>) {\n  %q = quantize %x : tensor<2x8xu8, q(axis=0, scale=[0.05, 0.1], zp=[128, 128])>\n  %d = dequantize %q : tensor<2x8xf32>\n  %f = sigmoid %d : tensor<2x8xf32>\n  %q2 = quantize %f : tensor<2x8xu8, q(0.00390625, 0)>\n  %d2 = dequantize %q2 : tensor<2x8xf32>\n  return %d2\n}\n";
    misses("sigmoid-to-lut", src);
}

const BN_CONSTS: &str = "const @g : tensor<2xf32> = dense<[1.5, -0.5]>\nconst @beta : tensor<2xf32> = dense<[0.1, 0.2]>\nconst @m : tensor<2xf32> = dense<[0.3, -0.1]>\nconst @v : tensor<2xf32> = dense<[0.9, 2]>\n";

fn batchnorm_body(gamma: &str) -> String {
    format!("  %g = const @g : tensor<2xf32>\n  %beta = const @beta : tensor<2xf32>\n  %m = const @m : tensor<2xf32>\n  %v = const @v : tensor<2xf32>\n  %bn = batchnorm %d, {gamma}, %beta, %m, %v {{epsilon=0.00001, momentum=0.9, training=false}} : tensor<1x2x3x3xf32>\n  %q2 = quantize %bn : tensor<1x2x3x3xu8, q(0.02, 100)>\n  %d2 = dequantize %q2 : tensor<1x2x3x3xf32>\n")
}

#[test]
fn batchnorm_becomes_one_table_per_channel() {
    fires(
        "batchnorm-to-lut",
        "batchnorm-to-lut",
        &graph(
            "1x2x3x3",
            "0.05",
            128,
            BN_CONSTS,
            &batchnorm_body("%g"),
            "%d2",
        ),
        EXACT,
    );
}

#[test]
fn batchnorm_with_a_computed_scale_is_not_a_table() {
    // gamma is computed from the input at run time, so no table can be built.
    let body = batchnorm_body("%gd").replace(
        "  %bn =",
        "  %gr = reduce_mean %d {axes=[0, 2, 3], keepdims=false, noop_with_empty_axes=false} : tensor<2xf32>\n  %gd = add %gr, %g : tensor<2xf32>\n  %bn =",
    );
    misses(
        "batchnorm-to-lut",
        &graph("1x2x3x3", "0.05", 128, BN_CONSTS, &body, "%d2"),
    );
}

/// Swish `x * sigmoid(x)` on a quantized `x`, the product's operands in the given order.
fn swish(x_first: bool) -> String {
    let operands = if x_first { "%d, %sd" } else { "%sd, %d" };
    let body = format!(
        "  %s = sigmoid %d : tensor<2x8xf32>\n  %sq = quantize %s : tensor<2x8xu8, q(0.00390625, 0)>\n  %sd = dequantize %sq : tensor<2x8xf32>\n  %p = mul {operands} : tensor<2x8xf32>\n  %pq = quantize %p : tensor<2x8xu8, q(0.02, 14)>\n  %pd = dequantize %pq : tensor<2x8xf32>\n"
    );
    graph("2x8", "0.05", 128, "", &body, "%pd")
}

#[test]
fn swish_products_become_one_table() {
    fires(
        "product-of-lut-to-lut",
        "product-of-lut-to-lut",
        &swish(true),
        EXACT,
    );
    fires(
        "product-of-lut-to-lut-swapped",
        "product-of-lut-to-lut-swapped",
        &swish(false),
        EXACT,
    );
}

#[test]
fn product_of_a_table_of_another_tensor_is_not_a_table() {
    // The sigmoid reads a second input, so the product depends on two values per element.
    let src = swish(true)
        .replace(
            "func @main(%x: tensor<2x8xf32>) {",
            "func @main(%x: tensor<2x8xf32>, %y: tensor<2x8xf32>) {\n  %qy = quantize %y : tensor<2x8xu8, q(0.05, 128)>\n  %dy = dequantize %qy : tensor<2x8xf32>",
        )
        .replace("%s = sigmoid %d", "%s = sigmoid %dy");
    misses("product-of-lut-to-lut", &src);
    misses("product-of-lut-to-lut-swapped", &src);
}
