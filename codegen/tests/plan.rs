//! The memory plan with fused epilogues: a clamp's result that a float conv writes
//! directly is placed as if the conv defined it, so it never shares bytes with the conv's
//! operands (which the unfused plan may reuse for it, since they die at the conv).

use qcc_codegen::fuse::epilogues;
use qcc_codegen::plan::{plan, plan_with, value_bytes, Loc};
use qcc_ir::{Module, ValueId};

const SRC: &str = r#"module @m requant=float

const @w : tensor<2x2x1x1xf32> = dense<[1, 2, 3, 4]>

func @main(%x: tensor<1x2x4x4xf32>) {
  %w = const @w : tensor<2x2x1x1xf32>
  %y = conv %x, %w {strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1], group=1} : tensor<1x2x4x4xf32>
  %z = relu %y : tensor<1x2x4x4xf32>
  return %z
}
"#;

fn range(m: &Module, p: &qcc_codegen::plan::Plan, v: ValueId) -> (usize, usize) {
    let Some(Loc::Arena(o)) = p.loc[v.0 as usize] else {
        panic!("value {v:?} is not in the arena")
    };
    (o, o + value_bytes(m, v).unwrap())
}

fn overlap(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

#[test]
fn fused_clamp_result_never_shares_the_producers_operands() {
    let m = qcc_ir::text::parse_module(SRC).unwrap();
    let g = &m.graph;
    let (conv, relu) = (1, 2);
    let e = epilogues(&m)[conv].expect("conv + relu is fusable");
    assert_eq!(e.consumer, relu);
    assert_eq!((e.lo, e.hi), (Some(0.0), None));
    let (x, z) = (g.inputs[0], g.nodes[relu].outputs[0]);
    // Unfused, the relu may reuse the conv input's bytes (dead after the conv)...
    let p = plan(&m).unwrap();
    assert!(overlap(range(&m, &p, x), range(&m, &p, z)));
    // ...fused, the conv writes the relu's result while it reads x: disjoint.
    let p = plan_with(&m, &[(conv, e.out)]).unwrap();
    assert!(!overlap(range(&m, &p, x), range(&m, &p, z)));
    let y = g.nodes[conv].outputs[0];
    assert!(!overlap(range(&m, &p, y), range(&m, &p, z)));
}

#[test]
fn a_clamp_with_other_readers_or_a_graph_output_is_not_fused() {
    let two_readers = SRC.replace("return %z", "return %z, %y");
    let m = qcc_ir::text::parse_module(&two_readers).unwrap();
    assert!(epilogues(&m).iter().all(Option::is_none));
}
