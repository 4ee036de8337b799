//! `--emit dot`: the graph as Graphviz, one box per op labelled with its mnemonic, its
//! attributes and its result type (quantization parameters included), so fused integer ops
//! and their parameters are visible side by side with the graph as written.

use qcc_ir::text::{op_attrs, print_type};
use qcc_ir::{Module, Op, ValueId};
use std::collections::HashMap;
use std::fmt::Write;

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Renders `module` as a Graphviz digraph.
pub fn to_dot(module: &Module) -> String {
    let g = &module.graph;
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", escape(&module.name));
    let _ = writeln!(
        out,
        "  rankdir=TB; node [fontname=\"monospace\", fontsize=10];"
    );
    let mut producer: HashMap<ValueId, String> = HashMap::new();
    for (i, &v) in g.inputs.iter().enumerate() {
        let id = format!("in{i}");
        let label = format!("input {}\\n{}", g.value(v).name, print_type(g.ty(v)));
        let _ = writeln!(
            out,
            "  {id} [shape=oval, label=\"{}\"];",
            escape(&label).replace("\\\\n", "\\n")
        );
        producer.insert(v, id);
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let id = format!("n{i}");
        let types: Vec<String> = n.outputs.iter().map(|&o| print_type(g.ty(o))).collect();
        let (shape, head) = match &n.op {
            Op::Const(c) => ("note", format!("const @{}", module.constant(*c).name)),
            op => {
                let attrs: Vec<String> = op_attrs(op)
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let head = if attrs.is_empty() {
                    op.name().to_string()
                } else {
                    format!("{} {{{}}}", op.name(), attrs.join(", "))
                };
                ("box", head)
            }
        };
        let integer = n.op.name().starts_with('q') && !matches!(n.op, Op::Quantize);
        let style = if integer {
            ", style=filled, fillcolor=\"#d9ead3\""
        } else {
            ""
        };
        let label = format!("{}\n{}", escape(&head), escape(&types.join("\n")));
        let _ = writeln!(
            out,
            "  {id} [shape={shape}{style}, label=\"{}\"];",
            label.replace('\n', "\\n")
        );
        for &v in &n.inputs {
            if let Some(p) = producer.get(&v) {
                let _ = writeln!(out, "  {p} -> {id};");
            }
        }
        for &o in &n.outputs {
            producer.insert(o, id.clone());
        }
    }
    for (k, v) in g.outputs.iter().enumerate() {
        let _ = writeln!(out, "  out{k} [shape=oval, label=\"output {k}\"];");
        if let Some(p) = producer.get(v) {
            let _ = writeln!(out, "  {p} -> out{k};");
        }
    }
    out.push_str("}\n");
    out
}
