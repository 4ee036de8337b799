//! Round trips, exact printed output and the attribute table.

use super::super::attrs::{build_op, op_attrs, templates, RawAttr, RawValue};
use super::super::cursor::Cursor;
use super::{all_ops, assert_round_trip, node, parse_err, t};
use crate::text::*;
use crate::{
    BinaryOp, ConstId, DType, Data, Dim, Module, Op, QParams, RequantMode, Tensor, TensorType,
    UnaryOp, ValueId,
};

#[test]
fn text_round_trips_every_op() {
    let m = all_ops();
    let text = assert_round_trip(&m);
    // Every mnemonic appears.
    for op in templates() {
        assert!(
            text.contains(&format!(" {} ", op.name())),
            "{} missing",
            op.name()
        );
    }
    // Spot checks of the chosen spellings.
    for needle in [
        "module @\"all ops\" requant=fixed_point",
        "const @conv1.weight : tensor<2x3xi8, q(axis=0, scale=[0.5, 0.25], zp=[0, 0], narrow)> = dense<[-127, 0, 127, 1, 2, 3]>",
        "const @w.f32 : tensor<2x2xf32> = dense<[1.5, -0, inf, 1.1754944e-38]>",
        "const @#14 : tensor<f32> = dense<[3.25]>",
        "const @\"onnx::Conv_12\" : tensor<0xf32> = dense<[]>",
        "const @sym : tensor<Nx2xf32> = dense<[1, 2]> : tensor<1x2xf32>",
        "const @mismatch : tensor<2xf32> = dense<[1, 2]> : tensor<2xi32>",
        "const @dup#18 : tensor<1xf32> = dense<[1]>",
        "const @big.u8 : tensor<4x5xu8, q(0.1, 3)> = hex<\"000d1a27",
        "const @mask : tensor<3xbool> = dense<[true, false, true]>",
        "func @main(%input: tensor<Nx3x8x8xf32>, %\"/model/x:0\": tensor<\"max_len\"x?x\"2d\"x\"\"xf32>) {",
        "  orphan %unused#3 : tensor<7xi8, q(1, -3)>\n  orphan %#4 : tensor<f32>\n",
        "%x_q = quantize %input : tensor<Nx4xu8, q(0.003921569, 128)> loc(\"quant \\\"in\\\"\\n\")",
        "%y, %y_scale, %y_zp = dynamic_quantize_linear %input : ",
        "{strides=[1, 2], pads=[0, 1, 0, 1], dilations=[1, 1], group=1}",
        "{alpha=0.5, beta=2, trans_a=true, trans_b=false}",
        "{epsilon=1e-5, momentum=0.9, training=true}",
        "clip %x_dq {min=-1} :",
        "clip %x_dq, %w, %w :",
        "clip %x_q {min=1e-300, max=inf}",
        "reduce_mean %x_dq {keepdims=true, noop_with_empty_axes=false}",
        "reduce_sum %x_dq {axes=[], keepdims=false, noop_with_empty_axes=true}",
        "{mode=reflect, pads=[0, 1, 0, 1], value=0}",
        "{starts=[0, 1], ends=[9223372036854775807, -1], axes=[0, 1], steps=[1, -2]}",
        "cast %x_dq {to=bool}",
        "expand %x_dq {shape=[2, N, 1]} : tensor<2xNx4xf32>",
        "gather %x_dq, %shp {axis=-1} : tensor<Nx2xf32>",
        "%range = range {start=2, delta=-1, len=[N], to=i32} : tensor<Nxi32>",
        "%a, %b = split %x_dq {axis=1, sizes=[2, 2]} : tensor<Nx2xf32>, tensor<Nx2xf32> loc(\"split\")",
        "const @dup#19 :",
        "  %late#2 = identity %unused#3 : tensor<4xf32> loc(\"late\")\n",
        "  identity %late#2 loc(\"sink\")\n",
        "%odd = const @w.f32, %\"/model/x:0\" : tensor<2x2xf32>",
        "  return %a, %b, %input, %late#2, %a\n}\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn text_prints_a_small_module_exactly() {
    let mut m = Module {
        name: "tiny".into(),
        ..Default::default()
    };
    let wt = t("tensor<2x2xi8, q(axis=1, scale=[0.5, 0.25], zp=[0, 0], narrow)>");
    let c = m.add_const(
        "fc.weight",
        wt.clone(),
        Tensor::new(vec![2, 2], Data::I8(vec![1, -2, 3, -4])),
    );
    let lut = m.add_const(
        "lut",
        t("tensor<17xu8>"),
        Tensor::new(vec![17], Data::U8((0..17).collect())),
    );
    let g = &mut m.graph;
    let x = g.add_input("x", t("tensor<Nx2xf32>"));
    let xq = node(
        g,
        "q0",
        Op::Quantize,
        &[x],
        &[("x_q", "tensor<Nx2xu8, q(0.003921569, 128)>")],
    )[0];
    let w = node(g, "", Op::Const(c), &[], &[("w", &print_type(&wt))])[0];
    node(g, "", Op::Const(lut), &[], &[("lut", "tensor<17xu8>")]);
    let y = node(
        g,
        "fc",
        Op::QMatMul,
        &[xq, w],
        &[("/fc/MatMul_output_0", "tensor<Nx2xu8, q(0.1, 0)>")],
    )[0];
    let parts = node(
        g,
        "split",
        Op::Split {
            axis: 1,
            sizes: vec![1, 1],
        },
        &[y],
        &[
            ("a", "tensor<Nx1xu8, q(0.1, 0)>"),
            ("a", "tensor<Nx1xu8, q(0.1, 0)>"),
        ],
    );
    g.outputs = parts;
    let expected = r#"module @tiny requant=float

const @fc.weight : tensor<2x2xi8, q(axis=1, scale=[0.5, 0.25], zp=[0, 0], narrow)> = dense<[1, -2, 3, -4]>
const @lut : tensor<17xu8> = hex<"000102030405060708090a0b0c0d0e0f10">

func @main(%x: tensor<Nx2xf32>) {
  %x_q = quantize %x : tensor<Nx2xu8, q(0.003921569, 128)> loc("q0")
  %w = const @fc.weight : tensor<2x2xi8, q(axis=1, scale=[0.5, 0.25], zp=[0, 0], narrow)>
  %lut = const @lut : tensor<17xu8>
  %/fc/MatMul_output_0 = qmatmul %x_q, %w : tensor<Nx2xu8, q(0.1, 0)> loc("fc")
  %a#5, %a#6 = split %/fc/MatMul_output_0 {axis=1, sizes=[1, 1]} : tensor<Nx1xu8, q(0.1, 0)>, tensor<Nx1xu8, q(0.1, 0)> loc("split")
  return %a#5, %a#6
}
"#;
    assert_eq!(print_module(&m), expected);
    assert_round_trip(&m);

    let elided = print_module_with(
        &m,
        &PrintOptions {
            elide_large_constants: true,
        },
    );
    assert!(
        elided.contains("const @lut : tensor<17xu8> = <elided 17xu8>\n"),
        "{elided}"
    );
    assert!(elided.contains("= dense<[1, -2, 3, -4]>"), "{elided}");
    let e = parse_module(&elided).unwrap_err();
    assert_eq!(
        e,
        parse_err(
            4,
            30,
            "elided constant data cannot be parsed (print without elide_large_constants)"
        )
    );
}

#[test]
fn text_elides_long_per_axis_lists_only_on_request() {
    let q = QParams::per_axis(vec![0.5; 20], vec![0; 20], 0);
    let ty = TensorType::new(DType::I8, &[20]).quantized(q);
    let full = print_type(&ty);
    assert_eq!(full.matches("0.5").count(), 20);
    assert_eq!(parse_type(&full).unwrap(), ty);
    let mut m = Module::default();
    m.graph.add_input("x", ty);
    let elided = print_module_with(
        &m,
        &PrintOptions {
            elide_large_constants: true,
        },
    );
    assert!(
        elided.contains("scale=[0.5, 0.5, 0.5, 0.5, ...16 more], zp=[0, 0, 0, 0, ...16 more])"),
        "{elided}"
    );
}

#[test]
fn text_types_parse_to_the_right_structure() {
    assert_eq!(
        parse_type("tensor<f32>").unwrap(),
        TensorType::new(DType::F32, &[])
    );
    assert_eq!(
        parse_type(" tensor< N x 3 x ? x \"max_len\" x u8 , q( 0.5 , 128 , narrow ) > ").unwrap(),
        TensorType::with_dims(
            DType::U8,
            vec![
                Dim::Sym("N".into()),
                Dim::Fixed(3),
                Dim::Any,
                Dim::Sym("max_len".into())
            ]
        )
        .quantized(QParams {
            narrow: true,
            ..QParams::per_tensor(0.5, 128)
        })
    );
    let q = QParams {
        scale: vec![1.0, 2.0],
        zero_point: vec![3, 4],
        axis: None,
        narrow: false,
    };
    let ty = TensorType::new(DType::I16, &[2]).quantized(q);
    assert_eq!(print_type(&ty), "tensor<2xi16, q(scale=[1, 2], zp=[3, 4])>");
    assert_eq!(parse_type(&print_type(&ty)).unwrap(), ty);
    let empty = TensorType::new(DType::I8, &[0]).quantized(QParams::per_axis(vec![], vec![], 0));
    assert_eq!(
        print_type(&empty),
        "tensor<0xi8, q(axis=0, scale=[], zp=[])>"
    );
    assert_eq!(parse_type(&print_type(&empty)).unwrap(), empty);
    for d in DType::ALL {
        let ty = TensorType::new(d, &[1]);
        assert_eq!(parse_type(&print_type(&ty)).unwrap(), ty);
    }
}

#[test]
fn text_nan_and_negative_zero_are_bit_exact() {
    let nans32 = [
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7f80_0001),
        f32::from_bits(0xffff_ffff),
        -0.0,
        f32::NEG_INFINITY,
    ];
    let nans64 = [f64::NAN, f64::from_bits(0x7ff0_0000_0000_0001), -0.0];
    let mut m = Module::default();
    m.add_const(
        "small",
        t("tensor<6xf32>"),
        Tensor::new(vec![6], Data::F32(nans32.to_vec())),
    );
    let big: Vec<f32> = nans32.iter().cycle().take(30).copied().collect();
    m.add_const(
        "big",
        t("tensor<30xf32>"),
        Tensor::new(vec![30], Data::F32(big)),
    );
    m.add_const(
        "f64",
        t("tensor<3xf64>"),
        Tensor::new(vec![3], Data::F64(nans64.to_vec())),
    );
    let q = QParams::per_axis(nans32.to_vec(), vec![0; 6], 0);
    let x = m
        .graph
        .add_input("x", TensorType::new(DType::I8, &[6]).quantized(q));
    let y = node(
        &mut m.graph,
        "",
        Op::LeakyRelu {
            alpha: f32::from_bits(0x7fc0_0001),
        },
        &[x],
        &[("y", "tensor<6xf32>")],
    )[0];
    node(
        &mut m.graph,
        "",
        Op::Clip {
            min: Some(f64::NAN),
            max: Some(-0.0),
        },
        &[y],
        &[("z", "tensor<6xf32>")],
    );
    let text = print_module(&m);
    assert!(
        text.contains("dense<[nan, nan(0xffc00000), nan(0x7f800001), nan(0xffffffff), -0, -inf]>"),
        "{text}"
    );
    assert!(
        text.contains("{alpha=nan(0x7fc00001)}") && text.contains("{min=nan, max=-0}"),
        "{text}"
    );
    let back = parse_module(&text).unwrap();
    assert_eq!(print_module(&back), text);
    for (a, b) in m.consts.iter().zip(&back.consts) {
        assert_eq!(a.data.data.to_le_bytes(), b.data.data.to_le_bytes());
    }
    let bits = |m: &Module| {
        m.graph.values[0]
            .ty
            .quant
            .as_ref()
            .unwrap()
            .scale
            .iter()
            .map(|s| s.to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&m), bits(&back));
    let Op::LeakyRelu { alpha } = back.graph.nodes[0].op else {
        panic!()
    };
    assert_eq!(alpha.to_bits(), 0x7fc0_0001);
    let Op::Clip { min, max } = back.graph.nodes[1].op else {
        panic!()
    };
    assert!(min.unwrap().is_nan() && max.unwrap().to_bits() == (-0.0f64).to_bits());
}

#[test]
fn text_handles_empty_and_duplicate_names() {
    let mut m = Module::default();
    let g = &mut m.graph;
    let a = g.add_input("", t("tensor<f32>"));
    let b = g.add_input("", t("tensor<f32>"));
    let c = node(
        g,
        "",
        Op::Binary(BinaryOp::Add),
        &[a, b],
        &[("v", "tensor<f32>")],
    )[0];
    let d = node(
        g,
        "",
        Op::Binary(BinaryOp::Add),
        &[c, c],
        &[("v", "tensor<f32>")],
    )[0];
    g.outputs = vec![d];
    // Nodes without results, with and without operands, before other nodes.
    node(g, "", Op::GlobalAvgPool, &[], &[]);
    node(g, "", Op::Identity, &[d], &[]);
    node(g, "", Op::Identity, &[d, d], &[]);
    node(
        g,
        "",
        Op::Split {
            axis: 0,
            sizes: vec![],
        },
        &[],
        &[],
    );
    node(
        g,
        "",
        Op::Unary(UnaryOp::Relu),
        &[],
        &[("r", "tensor<f32>")],
    );
    let text = assert_round_trip(&m);
    let expected = "  global_avgpool\n  identity %v#3\n  identity %v#3, %v#3\n  split {axis=0, sizes=[]}\n  %r = relu : tensor<f32>\n";
    assert!(text.contains(expected), "{text}");
    assert!(
        text.contains("func @main(%#0: tensor<f32>, %#1: tensor<f32>) {"),
        "{text}"
    );
    assert!(
        text.contains("%v#3 = add %v#2, %v#2 : tensor<f32>"),
        "{text}"
    );
    assert_round_trip(&Module::default());
}

#[test]
fn text_parses_hand_written_text_with_comments() {
    let src = "// a comment\nmodule @m // trailing\nfunc @main(%x: tensor<2xf32>) {\n  %y = relu %x : tensor<2xf32> // why not\n  %z = add %y, %x : tensor<2xf32>\n  return %z\n}\n";
    let m = parse_module(src).unwrap();
    assert_eq!(m.requant, RequantMode::Float);
    assert_eq!(m.graph.nodes.len(), 2);
    assert_eq!(m.graph.nodes[1].inputs, vec![ValueId(1), ValueId(0)]);
    assert_eq!(m.graph.outputs, vec![ValueId(2)]);
}

#[test]
fn text_attribute_table_covers_every_mnemonic_once() {
    let ops = templates();
    let mut names: Vec<&str> = ops.iter().map(Op::name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), ops.len(), "duplicate mnemonic");
    let c = Cursor::new("");
    for op in ops.iter().filter(|op| !matches!(op, Op::Const(_))) {
        let attrs: Vec<RawAttr> = op_attrs(op)
            .into_iter()
            .map(|(k, v)| {
                let mut vc = Cursor::new(&v);
                let value = if v.starts_with('[') {
                    let (items, open) = vc.atom_list("x").unwrap();
                    RawValue::List(items, open)
                } else {
                    RawValue::Atom(vc.atom().unwrap())
                };
                RawAttr {
                    key: k.to_string(),
                    at: 0,
                    value,
                }
            })
            .collect();
        assert_eq!(&build_op(&c, op.name(), 0, &attrs).unwrap(), op);
    }
    assert!(matches!(
        build_op(&c, "const", 0, &[]),
        Ok(Op::Const(ConstId(0)))
    ));
}
