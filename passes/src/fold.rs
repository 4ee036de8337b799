//! Structural passes that are not rewrites of a pattern: constant folding and dead-code
//! removal. They run as ordinary passes (not e-graph rules) because they act on values,
//! not on shapes of the graph: folding evaluates a node with the reference interpreter, so
//! it is exact by construction, and dead code is a reachability question.

use qcc_ir::{Graph, Module, Node, Op, ValueId};
use std::collections::HashMap;

/// Largest folded constant, in elements.
const MAX_FOLD_ELEMENTS: usize = 1 << 22;

/// Replaces every node whose operands are all constants by the constants it computes
/// (evaluated by the reference interpreter). Returns how many nodes were folded.
pub fn fold_constants(module: &mut Module) -> usize {
    let mut folded = 0;
    let mut const_of: HashMap<ValueId, qcc_ir::ConstId> = HashMap::new();
    let nodes = std::mem::take(&mut module.graph.nodes);
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        if let Op::Const(c) = node.op {
            const_of.insert(node.outputs[0], c);
            out.push(node);
            continue;
        }
        let foldable = !node.inputs.is_empty()
            && node.inputs.iter().all(|v| const_of.contains_key(v))
            // Dequantized weights stay quantized constants + dequantize, so the integer-op
            // rules can still see their parameters.
            && !matches!(node.op, Op::DynamicQuantizeLinear | Op::Dequantize | Op::DequantizeLinear { .. })
            && node
                .outputs
                .iter()
                .all(|&o| module.graph.ty(o).num_elements().is_some_and(|n| n <= MAX_FOLD_ELEMENTS));
        if foldable {
            if let Some(results) = evaluate(module, &node, &const_of) {
                for (&o, t) in node.outputs.iter().zip(results) {
                    let ty = module.graph.ty(o).clone();
                    let name = format!("{}.folded", module.graph.value(o).name);
                    let c = module.add_const(name.clone(), ty, t);
                    const_of.insert(o, c);
                    out.push(Node {
                        name: node.name.clone(),
                        op: Op::Const(c),
                        inputs: vec![],
                        outputs: vec![o],
                    });
                }
                folded += 1;
                continue;
            }
        }
        out.push(node);
    }
    module.graph.nodes = out;
    folded
}

/// Runs one node on constant operands with the interpreter.
fn evaluate(
    module: &Module,
    node: &Node,
    const_of: &HashMap<ValueId, qcc_ir::ConstId>,
) -> Option<Vec<qcc_ir::Tensor>> {
    let mut m = Module {
        name: String::new(),
        requant: module.requant,
        consts: Vec::new(),
        graph: Graph::default(),
    };
    let mut inputs = Vec::new();
    for &v in &node.inputs {
        let k = module.constant(const_of[&v]);
        let id = m.add_const(k.name.clone(), k.ty.clone(), (*k.data).clone());
        let out = m.graph.add_node(
            "c",
            Op::Const(id),
            vec![],
            vec![(String::new(), k.ty.clone())],
        );
        inputs.push(out[0]);
    }
    let results: Vec<(String, qcc_ir::TensorType)> = node
        .outputs
        .iter()
        .map(|&o| (String::new(), module.graph.ty(o).clone()))
        .collect();
    let outs = m
        .graph
        .add_node(node.name.clone(), node.op.clone(), inputs, results);
    m.graph.outputs = outs;
    let tensors = qcc_ir::interp::run(&m, &[]).ok()?;
    // Only fold when the result has exactly the declared (static) shape.
    let ok = tensors.iter().zip(&node.outputs).all(|(t, &o)| {
        module.graph.ty(o).fixed_dims().as_deref() == Some(&t.shape[..])
            && t.dtype() == module.graph.ty(o).dtype
    });
    ok.then_some(tensors)
}

/// Removes nodes whose results nobody uses and constants nobody references, and renumbers
/// values in definition order. Returns the number of nodes removed.
pub fn remove_dead_code(module: &mut Module) -> usize {
    let g = &module.graph;
    let mut live = vec![false; g.values.len()];
    for &o in &g.outputs {
        live[o.0 as usize] = true;
    }
    let mut keep = vec![false; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate().rev() {
        if n.outputs.iter().any(|o| live[o.0 as usize]) {
            keep[i] = true;
            for v in &n.inputs {
                live[v.0 as usize] = true;
            }
        }
    }
    let removed = keep.iter().filter(|k| !**k).count();
    // Rebuild with fresh value and constant numbering.
    let mut new = Module {
        name: module.name.clone(),
        requant: module.requant,
        consts: Vec::new(),
        graph: Graph::default(),
    };
    let mut vmap: HashMap<ValueId, ValueId> = HashMap::new();
    let mut cmap: HashMap<u32, qcc_ir::ConstId> = HashMap::new();
    for &v in &g.inputs {
        let nv = new
            .graph
            .add_input(g.value(v).name.clone(), g.ty(v).clone());
        vmap.insert(v, nv);
    }
    for (n, _) in g.nodes.iter().zip(&keep).filter(|(_, k)| **k) {
        let op = match &n.op {
            Op::Const(c) => {
                let id = *cmap.entry(c.0).or_insert_with(|| {
                    new.consts.push(module.consts[c.0 as usize].clone());
                    qcc_ir::ConstId(new.consts.len() as u32 - 1)
                });
                Op::Const(id)
            }
            op => op.clone(),
        };
        let inputs = n.inputs.iter().map(|v| vmap[v]).collect();
        let results = n
            .outputs
            .iter()
            .map(|&o| (g.value(o).name.clone(), g.ty(o).clone()))
            .collect();
        let outs = new.graph.add_node(n.name.clone(), op, inputs, results);
        for (&o, no) in n.outputs.iter().zip(outs) {
            vmap.insert(o, no);
        }
    }
    new.graph.outputs = g.outputs.iter().map(|v| vmap[v]).collect();
    *module = new;
    removed
}
