//! The printer: [`Module`] to text. Output is deterministic (it depends only on the module)
//! and, without eliding, parses back to an identical module.

use super::attrs::op_attrs;
use super::syntax::{fmt_f32, fmt_f64, name, quote};
use super::ty::write_type;
use crate::{with_data, Constant, Data, Graph, Module, Op, RequantMode, TensorType};
use std::collections::HashMap;
use std::fmt::Write;

/// Constants with more elements than this print as `hex<"...">` instead of `dense<[...]>`
/// (and as `<elided ...>` under [`PrintOptions::elide_large_constants`]).
pub(crate) const DENSE_LIMIT: usize = 16;

/// Printer options. The default prints the full, parseable form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// Print constants with more than 16 elements as `<elided 10x3136xi8>` and shorten
    /// per-axis quantization lists longer than 16 entries: a form for humans (`qcc --emit
    /// ir`, logs) that the parser rejects.
    pub elide_large_constants: bool,
}

/// Prints `m` in the full, parseable text format.
pub fn print_module(m: &Module) -> String {
    print_module_with(m, &PrintOptions::default())
}

/// Prints `m` with `opts`.
pub fn print_module_with(m: &Module, opts: &PrintOptions) -> String {
    Printer::new(m, opts.elide_large_constants).module()
}

/// Prints one tensor type, e.g. `tensor<Nx3xu8, q(0.5, 128)>`.
pub fn print_type(t: &TensorType) -> String {
    let mut s = String::new();
    write_type(&mut s, t, false);
    s
}

/// The text name of requantization mode `r` (`float`, `fixed_point`).
pub(crate) fn requant_name(r: RequantMode) -> &'static str {
    match r {
        RequantMode::Float => "float",
        RequantMode::FixedPoint => "fixed_point",
    }
}

/// `%name` or `@name`, with a `#id` suffix when `with_id`.
fn spell(sigil: char, n: &str, id: usize, with_id: bool) -> String {
    let mut s = String::from(sigil);
    if !n.is_empty() {
        s.push_str(&name(n));
    }
    if with_id || n.is_empty() {
        write!(s, "#{id}").unwrap();
    }
    s
}

/// How each value prints. A value shows its `#id` when its name is empty or shared, or
/// when its id is not the one the parser would assign implicitly (one past the largest id
/// defined so far, in text order: inputs, orphans, node results).
fn value_spellings(g: &Graph) -> Vec<String> {
    let n = g.values.len();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for v in &g.values {
        *count.entry(v.name.as_str()).or_default() += 1;
    }
    let mut spelled: Vec<Option<String>> = vec![None; n];
    let mut next = 0usize;
    for id in definition_order(g) {
        let v = &g.values[id];
        let with_id = count[v.name.as_str()] > 1 || id != next;
        spelled[id].get_or_insert_with(|| spell('%', &v.name, id, with_id));
        next = next.max(id + 1);
    }
    spelled.into_iter().map(Option::unwrap_or_default).collect()
}

/// Value ids in the order the text defines them (inputs, orphans, node results);
/// out-of-range ids are skipped.
fn definition_order(g: &Graph) -> Vec<usize> {
    let inputs = g.inputs.iter().map(|v| v.0 as usize);
    let results = g
        .nodes
        .iter()
        .flat_map(|n| &n.outputs)
        .map(|v| v.0 as usize);
    inputs
        .chain(orphans(g))
        .chain(results)
        .filter(|&i| i < g.values.len())
        .collect()
}

/// Values defined neither as a graph input nor by a node, printed as `orphan` lines.
fn orphans(g: &Graph) -> Vec<usize> {
    let mut defined = vec![false; g.values.len()];
    for v in g
        .inputs
        .iter()
        .chain(g.nodes.iter().flat_map(|n| &n.outputs))
    {
        if let Some(d) = defined.get_mut(v.0 as usize) {
            *d = true;
        }
    }
    (0..defined.len()).filter(|&i| !defined[i]).collect()
}

struct Printer<'a> {
    m: &'a Module,
    elide: bool,
    values: Vec<String>,
    consts: Vec<String>,
    out: String,
}

impl<'a> Printer<'a> {
    fn new(m: &'a Module, elide: bool) -> Self {
        let mut count: HashMap<&str, usize> = HashMap::new();
        for c in &m.consts {
            *count.entry(c.name.as_str()).or_default() += 1;
        }
        let consts = m
            .consts
            .iter()
            .enumerate()
            .map(|(i, c)| spell('@', &c.name, i, count[c.name.as_str()] > 1))
            .collect();
        Printer {
            m,
            elide,
            values: value_spellings(&m.graph),
            consts,
            out: String::new(),
        }
    }

    fn value(&self, v: crate::ValueId) -> String {
        match self.values.get(v.0 as usize) {
            Some(s) => s.clone(),
            None => format!("%<dangling#{}>", v.0),
        }
    }

    fn ty(&mut self, t: &TensorType) {
        write_type(&mut self.out, t, self.elide);
    }

    fn module(mut self) -> String {
        let m = self.m;
        writeln!(
            self.out,
            "module @{} requant={}",
            name(&m.name),
            requant_name(m.requant)
        )
        .unwrap();
        if !m.consts.is_empty() {
            self.out.push('\n');
        }
        for (i, c) in m.consts.iter().enumerate() {
            self.constant(i, c);
        }
        self.out.push('\n');
        self.graph(&m.graph);
        self.out
    }

    fn constant(&mut self, i: usize, c: &Constant) {
        write!(self.out, "const {} : ", self.consts[i]).unwrap();
        self.ty(&c.ty);
        self.out.push_str(" = ");
        let data = &c.data.data;
        if self.elide && data.len() > DENSE_LIMIT {
            let t = TensorType::new(data.dtype(), &c.data.shape);
            let spelled = print_type(&t);
            let inner = &spelled["tensor<".len()..spelled.len() - 1];
            write!(self.out, "<elided {inner}>").unwrap();
        } else if data.len() <= DENSE_LIMIT {
            self.out.push_str("dense<[");
            self.out.push_str(&dense_elements(data).join(", "));
            self.out.push_str("]>");
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            self.out.push_str("hex<\"");
            for b in data.to_le_bytes() {
                self.out.push(HEX[usize::from(b >> 4)] as char);
                self.out.push(HEX[usize::from(b & 15)] as char);
            }
            self.out.push_str("\">");
        }
        // The data's own shape and element type, when the declared type does not give them.
        let fixed = c.ty.fixed_dims();
        if fixed.as_deref() != Some(&c.data.shape[..]) || c.ty.dtype != data.dtype() {
            self.out.push_str(" : ");
            self.ty(&TensorType::new(data.dtype(), &c.data.shape));
        }
        self.out.push('\n');
    }

    fn graph(&mut self, g: &Graph) {
        self.out.push_str("func @main(");
        for (i, &v) in g.inputs.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            let s = self.value(v);
            write!(self.out, "{s}: ").unwrap();
            self.value_type(g, v);
        }
        self.out.push_str(") {\n");
        for id in orphans(g) {
            let s = self.values[id].clone();
            write!(self.out, "  orphan {s} : ").unwrap();
            self.ty(&g.values[id].ty);
            self.out.push('\n');
        }
        for node in &g.nodes {
            self.out.push_str("  ");
            if !node.outputs.is_empty() {
                let results: Vec<String> = node.outputs.iter().map(|&v| self.value(v)).collect();
                write!(self.out, "{} = ", results.join(", ")).unwrap();
            }
            self.out.push_str(node.op.name());
            let mut operands: Vec<String> = Vec::new();
            if let Op::Const(id) = node.op {
                operands.push(match self.consts.get(id.0 as usize) {
                    Some(s) => s.clone(),
                    None => format!("@<dangling#{}>", id.0),
                });
            }
            operands.extend(node.inputs.iter().map(|&v| self.value(v)));
            if !operands.is_empty() {
                write!(self.out, " {}", operands.join(", ")).unwrap();
            }
            let attrs = op_attrs(&node.op);
            if !attrs.is_empty() {
                let kv: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(self.out, " {{{}}}", kv.join(", ")).unwrap();
            }
            for (i, &v) in node.outputs.iter().enumerate() {
                self.out.push_str(if i == 0 { " : " } else { ", " });
                self.value_type(g, v);
            }
            if !node.name.is_empty() {
                write!(self.out, " loc({})", quote(&node.name)).unwrap();
            }
            self.out.push('\n');
        }
        let outs: Vec<String> = g.outputs.iter().map(|&v| self.value(v)).collect();
        if outs.is_empty() {
            self.out.push_str("  return\n}\n");
        } else {
            writeln!(self.out, "  return {}\n}}", outs.join(", ")).unwrap();
        }
    }

    fn value_type(&mut self, g: &Graph, v: crate::ValueId) {
        match g.values.get(v.0 as usize) {
            Some(val) => self.ty(&val.ty),
            None => self.out.push_str("<dangling>"),
        }
    }
}

/// The elements of a small constant in `dense<[...]>` syntax.
fn dense_elements(d: &Data) -> Vec<String> {
    match d {
        Data::F32(v) => v.iter().map(|&x| fmt_f32(x)).collect(),
        Data::F64(v) => v.iter().map(|&x| fmt_f64(x)).collect(),
        _ => with_data!(d, v => v.iter().map(|x| x.to_string()).collect()),
    }
}
