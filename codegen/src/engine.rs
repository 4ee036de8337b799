//! [`JitEngine`]: the `qcc_ir::Engine` over compiled programs.
//!
//! Inputs are checked against the graph's input types at the entry (count, dtype, rank,
//! fixed dims; symbolic dims are bound from the inputs and must agree). Each binding of the
//! symbolic dims gets its own program (types made concrete, memory planned, kernels
//! specialised), cached for later runs, so the generated code only ever sees the shapes it
//! was compiled for.

use crate::program::{Listing, Options, Program};
use crate::target::Target;
use qcc_ir::{Dim, Engine, Error, Module, Op, Tensor};
use std::collections::HashMap;

/// The Cranelift JIT engine.
pub struct JitEngine {
    module: Module,
    target: Target,
    opts: Options,
    programs: HashMap<Vec<(String, usize)>, Program>,
}

/// Symbolic-dim bindings, sorted by name.
type Binding = Vec<(String, usize)>;

impl JitEngine {
    /// Prepares `module` (the -O2 IR) for `target`. Models whose shapes are all fixed are
    /// compiled right away; models with symbolic dims at the first run of each batch size;
    /// models with data-dependent shapes (no static plan) run through the interpreter.
    pub fn new(module: &Module, target: Target) -> Result<JitEngine, Error> {
        Self::with_options(module, target, Options::default())
    }

    /// Like [`JitEngine::new`] with listing options.
    pub fn with_options(
        module: &Module,
        target: Target,
        opts: Options,
    ) -> Result<JitEngine, Error> {
        target.check_host().map_err(Error::Exec)?;
        let mut e = JitEngine {
            module: module.clone(),
            target,
            opts,
            programs: HashMap::new(),
        };
        if syms_of(module).is_empty() && concrete(module, &[]) {
            e.program(Vec::new())?;
        }
        Ok(e)
    }

    /// The program for a binding (compiled on first use).
    fn program(&mut self, b: Binding) -> Result<&mut Program, Error> {
        if !self.programs.contains_key(&b) {
            let m = concretize(&self.module, &b);
            let p = Program::compile(m, self.target, self.opts).map_err(Error::Exec)?;
            self.programs.insert(b.clone(), p);
        }
        Ok(self.programs.get_mut(&b).expect("inserted above"))
    }

    /// Compiles with every symbolic dim bound to `batch` and returns the kernel listings,
    /// the ops left to the interpreter and the arena size.
    pub fn listing(&mut self, batch: usize) -> Result<(Vec<Listing>, Vec<String>, usize), Error> {
        let b: Binding = syms_of(&self.module)
            .into_iter()
            .map(|s| (s, batch))
            .collect();
        if !concrete(&self.module, &b) {
            return Err(Error::Exec(
                "the model has data-dependent shapes: no static memory plan, it runs through the interpreter".into(),
            ));
        }
        let p = self.program(b)?;
        Ok((p.listings.clone(), p.interpreted.clone(), p.arena_bytes()))
    }

    /// Checks the inputs against the graph input types and binds the symbolic dims.
    fn bind(&self, inputs: &[Tensor]) -> Result<Binding, Error> {
        let g = &self.module.graph;
        if inputs.len() != g.inputs.len() {
            return Err(Error::Exec(format!(
                "expected {} input(s), got {}",
                g.inputs.len(),
                inputs.len()
            )));
        }
        let mut syms: HashMap<String, usize> = HashMap::new();
        for (i, (t, &v)) in inputs.iter().zip(&g.inputs).enumerate() {
            let val = g.value(v);
            let who = format!("input {i} ('{}')", val.name);
            let n = t
                .shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or_else(|| Error::Exec(format!("{who}: shape {:?} is too large", t.shape)))?;
            if n != t.data.len() {
                return Err(Error::Exec(format!(
                    "{who}: shape {:?} needs {n} elements but the data has {}",
                    t.shape,
                    t.data.len()
                )));
            }
            if t.dtype() != val.ty.dtype {
                return Err(Error::Exec(format!(
                    "{who}: expected dtype {}, got {}",
                    val.ty.dtype,
                    t.dtype()
                )));
            }
            if t.shape.len() != val.ty.rank() {
                return Err(Error::Exec(format!(
                    "{who}: expected rank {}, got shape {:?}",
                    val.ty.rank(),
                    t.shape
                )));
            }
            for (d, (dim, &got)) in val.ty.shape.iter().zip(&t.shape).enumerate() {
                match dim {
                    Dim::Fixed(w) if *w != got => {
                        return Err(Error::Exec(format!(
                            "{who}: dim {d} expected {w}, got {got} (shape {:?})",
                            t.shape
                        )))
                    }
                    Dim::Sym(s) => match syms.get(s) {
                        Some(&b) if b != got => {
                            return Err(Error::Exec(format!(
                                "{who}: dim {d} ('{s}') is {got} but another input bound it to {b}"
                            )))
                        }
                        _ => {
                            syms.insert(s.clone(), got);
                        }
                    },
                    _ => {}
                }
            }
        }
        let mut b: Binding = syms.into_iter().collect();
        b.sort();
        Ok(b)
    }
}

impl Engine for JitEngine {
    fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, Error> {
        let b = self.bind(inputs)?;
        if !concrete(&self.module, &b) {
            // Data-dependent shapes: no static plan exists; the interpreter runs it.
            return qcc_ir::interp::run(&self.module, inputs);
        }
        self.program(b)?.run(inputs).map_err(Error::Exec)
    }
}

/// Symbolic dim names used by the graph inputs.
fn syms_of(m: &Module) -> Vec<String> {
    let mut s: Vec<String> = m
        .graph
        .inputs
        .iter()
        .flat_map(|&v| m.graph.ty(v).shape.iter())
        .filter_map(|d| match d {
            Dim::Sym(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    s.sort();
    s.dedup();
    s
}

fn bound(d: &Dim, b: &[(String, usize)]) -> Dim {
    match d {
        Dim::Sym(s) => b
            .iter()
            .find(|(n, _)| n == s)
            .map_or(d.clone(), |&(_, v)| Dim::Fixed(v)),
        d => d.clone(),
    }
}

/// True when binding `b` fixes every value's dims.
fn concrete(m: &Module, b: &[(String, usize)]) -> bool {
    m.graph.values.iter().all(|v| {
        v.ty.shape
            .iter()
            .all(|d| matches!(bound(d, b), Dim::Fixed(_)))
    })
}

/// `m` with the symbolic dims replaced by their bound sizes.
fn concretize(m: &Module, b: &[(String, usize)]) -> Module {
    let mut m = m.clone();
    for v in &mut m.graph.values {
        for d in &mut v.ty.shape {
            *d = bound(d, b);
        }
    }
    // Ops that spell a symbolic dim in their attributes.
    for n in &mut m.graph.nodes {
        if let Op::Expand { shape: dims } | Op::Range { len: dims, .. } = &mut n.op {
            for d in dims {
                *d = bound(d, b);
            }
        }
    }
    m
}
