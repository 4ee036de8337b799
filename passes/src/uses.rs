//! Who produces and who reads each value of a graph, for the ordinary passes that match
//! small chains (`ort_bias`, `ort_double_qdq`, `ort_nchwc`). Built once per pass, so each
//! lookup is a map access rather than a scan of the node list.

use qcc_ir::{Graph, Node, Op, ValueId};
use std::collections::HashMap;

/// Producer and users of every value of one graph (node indices).
pub struct Uses<'g> {
    graph: &'g Graph,
    producer: HashMap<ValueId, usize>,
    users: HashMap<ValueId, Vec<usize>>,
}

impl<'g> Uses<'g> {
    /// Indexes `graph`.
    pub fn new(graph: &'g Graph) -> Self {
        let mut producer = HashMap::new();
        let mut users: HashMap<ValueId, Vec<usize>> = HashMap::new();
        for (i, n) in graph.nodes.iter().enumerate() {
            for &o in &n.outputs {
                producer.insert(o, i);
            }
            for &v in &n.inputs {
                users.entry(v).or_default().push(i);
            }
        }
        Uses {
            graph,
            producer,
            users,
        }
    }

    /// The node that defines `v` (none for graph inputs).
    pub fn producer(&self, v: ValueId) -> Option<&'g Node> {
        self.producer.get(&v).map(|&i| &self.graph.nodes[i])
    }

    /// The node that defines `v` when its op satisfies `want`.
    pub fn produced_by(&self, v: ValueId, want: fn(&Op) -> bool) -> Option<&'g Node> {
        self.producer(v).filter(|n| want(&n.op))
    }

    /// Indices of the nodes reading `v` (a node reading it twice appears twice).
    pub fn users(&self, v: ValueId) -> &[usize] {
        self.users.get(&v).map_or(&[], Vec::as_slice)
    }

    /// The index of `v`'s only user when there is exactly one, its op satisfies `want` and
    /// `v` is not a graph output.
    pub fn only_user(&self, v: ValueId, want: fn(&Op) -> bool) -> Option<usize> {
        match self.users(v) {
            [i] if want(&self.graph.nodes[*i].op) && !self.graph.outputs.contains(&v) => Some(*i),
            _ => None,
        }
    }

    /// The first result of `v`'s only user, as [`Uses::only_user`].
    pub fn only_user_result(&self, v: ValueId, want: fn(&Op) -> bool) -> Option<ValueId> {
        self.only_user(v, want)
            .and_then(|i| self.graph.nodes[i].outputs.first().copied())
    }
}
