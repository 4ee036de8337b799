//! Moving between the IR and the e-graph: [`to_egraph`] adds every node of a module,
//! [`from_egraph`] rebuilds a module from the best node of each needed class.

use crate::analysis::{ClassTy, QAnalysis, QEGraph};
use crate::lang::{fixed_operands, has_attrs_slot, has_type_slot, AttrLeaf, QNode, TypeLeaf, GET};
use egg::{Extractor, Id, Symbol};
use qcc_ir::{ConstId, Graph, Module, Node, Op, ValueId};
use std::collections::HashMap;

/// A module loaded into an e-graph.
pub struct Loaded {
    /// The e-graph.
    pub egraph: QEGraph,
    /// Classes of the graph outputs, in order.
    pub roots: Vec<Id>,
    /// A readable name and the source node name for classes that were values of the input.
    pub names: HashMap<Id, (String, String)>,
}

/// Adds a module to a fresh e-graph.
pub fn to_egraph(module: &Module) -> Loaded {
    let g = &module.graph;
    let mut analysis = QAnalysis {
        consts: module.consts.clone(),
        inputs: g.inputs.iter().map(|&v| g.ty(v).clone()).collect(),
        shadow: Module::default(),
    };
    analysis.shadow.consts = module.consts.clone();
    analysis.shadow.requant = module.requant;
    let mut egraph = QEGraph::new(analysis);
    let mut class: HashMap<ValueId, Id> = HashMap::new();
    let mut names = HashMap::new();
    for (i, &v) in g.inputs.iter().enumerate() {
        let id = egraph.add(QNode::Input(i as u32));
        class.insert(v, id);
        names.insert(id, (g.value(v).name.clone(), String::new()));
    }
    let mut uses: HashMap<ValueId, usize> = HashMap::new();
    for n in &g.nodes {
        for &v in &n.inputs {
            *uses.entry(v).or_default() += 1;
        }
    }
    for node in &g.nodes {
        let ids = add_node(&mut egraph, module, node, &class);
        for (&v, id) in node.outputs.iter().zip(ids) {
            class.insert(v, id);
            names
                .entry(egraph.find(id))
                .or_insert_with(|| (g.value(v).name.clone(), node.name.clone()));
            // Identical nodes (two DequantizeLinear of one value) share a class: their uses add.
            egraph[id].data.uses += uses.get(&v).copied().unwrap_or(0);
        }
    }
    let roots: Vec<Id> = g.outputs.iter().map(|v| class[v]).collect();
    for &r in &roots {
        egraph[r].data.is_output = true;
    }
    egraph.rebuild();
    Loaded {
        egraph,
        roots,
        names,
    }
}

fn add_node(
    egraph: &mut QEGraph,
    module: &Module,
    node: &Node,
    class: &HashMap<ValueId, Id>,
) -> Vec<Id> {
    let g = &module.graph;
    if let Op::Const(c) = node.op {
        return vec![egraph.add(QNode::Const(c.0))];
    }
    let mut children = Vec::new();
    if has_type_slot(&node.op) {
        let ty = g.ty(node.outputs[0]).clone();
        children.push(egraph.add(QNode::Type(TypeLeaf::new(ty))));
    }
    if has_attrs_slot(&node.op) {
        let leaf = AttrLeaf::new(node.op.clone(), node.outputs.len() as u32);
        children.push(egraph.add(QNode::Attrs(leaf)));
    }
    children.extend(node.inputs.iter().map(|v| class[v]));
    if let Some(n) = fixed_operands(&node.op) {
        for _ in node.inputs.len()..n {
            children.push(egraph.add(QNode::Absent));
        }
    }
    let id = egraph.add(QNode::Op(Symbol::from(node.op.name()), children));
    if node.outputs.len() == 1 {
        return vec![id];
    }
    (0..node.outputs.len())
        .map(|i| {
            let idx = egraph.add(QNode::Index(i as u32));
            egraph.add(QNode::Op(Symbol::from(GET), vec![idx, id]))
        })
        .collect()
}

/// Rebuilds a module from the e-graph, choosing each class's node with `extractor`.
pub fn from_egraph<CF: egg::CostFunction<QNode>>(
    source: &Module,
    loaded: &Loaded,
    extractor: &Extractor<'_, CF, QNode, QAnalysis>,
) -> Module {
    let egraph = &loaded.egraph;
    // A merged class keeps the name of its earliest value (sorted: deterministic output).
    let mut named: Vec<(&Id, &(String, String))> = loaded.names.iter().collect();
    named.sort_by_key(|(k, _)| **k);
    let mut names = HashMap::new();
    for (&k, v) in named {
        names.entry(egraph.find(k)).or_insert_with(|| v.clone());
    }
    let mut b = Builder {
        egraph,
        extractor,
        names: &names,
        module: Module {
            name: source.name.clone(),
            requant: source.requant,
            consts: Vec::new(),
            graph: Graph::default(),
        },
        values: HashMap::new(),
        tuples: HashMap::new(),
        consts: HashMap::new(),
    };
    for &v in &source.graph.inputs {
        b.module.graph.add_input(
            source.graph.value(v).name.clone(),
            source.graph.ty(v).clone(),
        );
    }
    let outputs: Vec<ValueId> = loaded.roots.iter().map(|&r| b.value(r)).collect();
    b.module.graph.outputs = outputs;
    b.module
}

struct Builder<'a, CF: egg::CostFunction<QNode>> {
    egraph: &'a QEGraph,
    extractor: &'a Extractor<'a, CF, QNode, QAnalysis>,
    names: &'a HashMap<Id, (String, String)>,
    module: Module,
    values: HashMap<Id, ValueId>,
    tuples: HashMap<Id, Vec<ValueId>>,
    consts: HashMap<u32, ConstId>,
}

impl<CF: egg::CostFunction<QNode>> Builder<'_, CF> {
    /// The IR value of a value class, emitting its defining node (and operands) on first use.
    fn value(&mut self, id: Id) -> ValueId {
        let id = self.egraph.find(id);
        if let Some(&v) = self.values.get(&id) {
            return v;
        }
        let node = self.extractor.find_best_node(id).clone();
        let v = match &node {
            QNode::Input(i) => self.module.graph.inputs[*i as usize],
            QNode::Const(c) => {
                let cid = self.constant(*c);
                let ty = self.module.consts[cid.0 as usize].ty.clone();
                let name = self.module.consts[cid.0 as usize].name.clone();
                self.module
                    .graph
                    .add_node(name.clone(), Op::Const(cid), vec![], vec![(name, ty)])[0]
            }
            QNode::Op(name, children) if name.as_str() == GET => {
                let idx = match self.extractor.find_best_node(children[0]) {
                    QNode::Index(i) => *i as usize,
                    other => unreachable!("get index is {other:?}"),
                };
                self.tuple(children[1])[idx]
            }
            QNode::Op(..) => self.emit(id, &node)[0],
            leaf => unreachable!("value class {id} extracted as leaf {leaf:?}"),
        };
        self.values.insert(id, v);
        v
    }

    fn tuple(&mut self, id: Id) -> Vec<ValueId> {
        let id = self.egraph.find(id);
        if let Some(v) = self.tuples.get(&id) {
            return v.clone();
        }
        let node = self.extractor.find_best_node(id).clone();
        let outs = self.emit(id, &node);
        self.tuples.insert(id, outs.clone());
        outs
    }

    fn constant(&mut self, c: u32) -> ConstId {
        if let Some(&id) = self.consts.get(&c) {
            return id;
        }
        let k = self.egraph.analysis.consts[c as usize].clone();
        self.module.consts.push(k);
        let id = ConstId(self.module.consts.len() as u32 - 1);
        self.consts.insert(c, id);
        id
    }

    fn emit(&mut self, id: Id, node: &QNode) -> Vec<ValueId> {
        let QNode::Op(name, children) = node else {
            unreachable!()
        };
        let (_, op, operands) =
            crate::analysis::split_children(self.egraph, name.as_str(), children)
                .expect("extracted nodes are well formed");
        let operands = operands.to_vec();
        let mut inputs = Vec::new();
        for c in operands {
            if self.egraph[c]
                .nodes
                .iter()
                .any(|n| matches!(n, QNode::Absent))
            {
                continue;
            }
            inputs.push(self.value(c));
        }
        // A class the rewrites created has no name in the input: name it after its op.
        let (vname, nname) = self
            .names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| (format!("{}_{}", name, usize::from(id)), String::new()));
        let types = match &self.egraph[id].data.ty {
            ClassTy::Value(t) => vec![t.clone()],
            ClassTy::Tuple(ts) => ts.clone(),
            other => unreachable!("extracted class {id} has type {other:?}"),
        };
        let results: Vec<(String, qcc_ir::TensorType)> = types
            .into_iter()
            .enumerate()
            .map(|(k, t)| {
                let n = if k == 0 {
                    vname.clone()
                } else {
                    format!("{vname}.{k}")
                };
                (n, t)
            })
            .collect();
        let node_name = if nname.is_empty() {
            format!("{}_{}", name, usize::from(id))
        } else {
            nname
        };
        self.module.graph.add_node(node_name, op, inputs, results)
    }
}
