//! qcc's optimiser: declarative e-graph rewrites over the quantized IR.
//!
//! * [`lang`]: the e-graph language (IR ops with their attribute and type leaves).
//! * [`analysis`]: the facts each e-class carries (type, qparams, constant-ness, uses).
//! * [`rules`]: the rule-file format and parser, and the [`rules::registry`] of named
//!   conditions and computations that rule files call. The rules themselves live in
//!   `passes/rules/*.rules` and are embedded in the binary.
//! * [`cost`]: the extraction cost model; [`convert`]: IR <-> e-graph.
//! * [`fold`]: constant folding and dead-code removal (ordinary passes).
//! * [`ort_double_qdq`], [`ort_bias`], [`ort_nchwc`]: ONNX Runtime's graph normalisations
//!   that change arithmetic (merged Q/DQ pairs, bias quantization, NCHWc / NHWC orders),
//!   applied at `-O2` before the rules; [`uses`]: the producer / users index they share.
//! * [`target`]: target descriptions (`--target`).
//!
//! Levels: `-O0` keeps the graph as written; `-O1` folds constants and removes dead code;
//! `-O2` also saturates the rewrite rules and extracts the cheapest equivalent graph.

pub mod analysis;
pub mod convert;
pub mod cost;
pub mod fold;
pub mod lang;
pub mod ort_bias;
pub mod ort_double_qdq;
pub mod ort_nchwc;
pub mod rules;
pub mod target;
pub mod uses;

pub use rules::{parse_rules, Rule, RuleError};
pub use target::Target;

use egg::{Extractor, Runner, StopReason};
use qcc_ir::Module;
use std::collections::BTreeMap;
use std::time::Duration;

/// Optimisation level (`-O0`, `-O1`, `-O2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum OptLevel {
    /// The graph as written.
    #[default]
    O0,
    /// Constant folding and dead-code removal.
    O1,
    /// Full saturation of the rewrite rules.
    O2,
}

/// Bounds on equality saturation. Hitting one is reported, never silent.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Maximum rule-application iterations.
    pub iterations: usize,
    /// Maximum e-nodes.
    pub nodes: usize,
    /// Maximum wall time.
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            iterations: 64,
            nodes: 200_000,
            time: Duration::from_secs(10),
        }
    }
}

/// What the optimiser did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// How often each rule fired during saturation.
    pub fired: BTreeMap<String, usize>,
    /// Why saturation stopped (`saturated` unless a limit was hit).
    pub stop: String,
    /// True when a saturation limit was hit.
    pub limit_hit: bool,
    /// Saturation iterations.
    pub iterations: usize,
    /// E-nodes at the end.
    pub egraph_nodes: usize,
    /// Nodes folded into constants.
    pub folded: usize,
    /// Nodes removed as dead.
    pub removed: usize,
    /// The module after each pass, when asked for (`--print-after-all`).
    pub after: Vec<(String, Module)>,
}

/// Optimiser options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Level.
    pub level: OptLevel,
    /// Target description.
    pub target: Target,
    /// Rules from `--rules` files, added to the built-in ones.
    pub extra_rules: Vec<Rule>,
    /// Rules to run even though the target disables them (`--enable-rule`).
    pub enabled_rules: Vec<String>,
    /// Saturation bounds.
    pub limits: Limits,
    /// Keep a copy of the module after each pass.
    pub keep_intermediate: bool,
    /// Skip the passes that reproduce ONNX Runtime's graph normalisations at `-O2`
    /// ([`ort_double_qdq`], [`ort_bias`], [`ort_nchwc`]), so the rule tests exercise the
    /// rules alone.
    pub skip_ort_normalization: bool,
}

/// Errors of the optimiser.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    /// A rule file is malformed.
    #[error(transparent)]
    Rules(#[from] RuleError),
}

/// Optimises `module` at `level` for `target` with the built-in rules.
pub fn optimize(module: Module, level: OptLevel, target: Target) -> Module {
    let opts = Options {
        level,
        target,
        ..Options::default()
    };
    optimize_with(module, &opts)
        .map(|(m, _)| m)
        .expect("the built-in rule files parse (checked by tests)")
}

/// Optimises with explicit options and reports what happened.
pub fn optimize_with(mut module: Module, opts: &Options) -> Result<(Module, Report), PassError> {
    let mut report = Report::default();
    if opts.level == OptLevel::O0 {
        return Ok((module, report));
    }
    let snapshot = |name: &str, m: &Module, r: &mut Report| {
        if opts.keep_intermediate {
            r.after.push((name.to_string(), m.clone()));
        }
    };
    report.folded += fold::fold_constants(&mut module);
    report.removed += fold::remove_dead_code(&mut module);
    snapshot("fold-constants", &module, &mut report);
    if opts.level == OptLevel::O2 {
        if !opts.skip_ort_normalization {
            report.folded += ort_double_qdq::remove_double_qdq_pairs(&mut module);
            report.folded += ort_bias::quantize_float_biases(&mut module);
            report.folded += ort_nchwc::nchwc_pool_order(&mut module);
            report.folded += ort_nchwc::nhwc_reduce_order(&mut module);
            snapshot("ort-normalization", &module, &mut report);
        }
        let mut rules = rules::builtin_rules()?;
        rules::add_rules(&mut rules, opts.extra_rules.clone())?;
        let rules: Vec<Rule> = rules
            .into_iter()
            .filter(|r| opts.target.rejects(r).is_none() || opts.enabled_rules.contains(&r.name))
            .collect();
        module = saturate(&module, &rules, opts.limits, &mut report);
        snapshot("rewrite", &module, &mut report);
        report.folded += fold::fold_constants(&mut module);
        report.removed += fold::remove_dead_code(&mut module);
        snapshot("cleanup", &module, &mut report);
    }
    Ok((module, report))
}

/// Runs equality saturation with `rules` and extracts the cheapest module.
pub fn saturate(module: &Module, rules: &[Rule], limits: Limits, report: &mut Report) -> Module {
    let loaded = convert::to_egraph(module);
    let rewrites: Vec<_> = rules.iter().map(Rule::rewrite).collect();
    let roots = loaded.roots.clone();
    let names = loaded.names.clone();
    let runner = Runner::default()
        .with_egraph(loaded.egraph)
        .with_iter_limit(limits.iterations)
        .with_node_limit(limits.nodes)
        .with_time_limit(limits.time)
        .run(&rewrites);
    for it in &runner.iterations {
        for (name, n) in &it.applied {
            *report.fired.entry(name.to_string()).or_insert(0) += n;
        }
    }
    report.iterations = runner.iterations.len();
    report.egraph_nodes = runner.egraph.total_number_of_nodes();
    let (stop, hit) = match &runner.stop_reason {
        Some(StopReason::Saturated) | None => ("saturated".to_string(), false),
        Some(other) => (format!("{other:?}"), true),
    };
    report.stop = stop;
    report.limit_hit = hit;
    report.fired.retain(|_, n| *n > 0);
    let loaded = convert::Loaded {
        egraph: runner.egraph,
        roots,
        names,
    };
    let extractor = Extractor::new(
        &loaded.egraph,
        cost::QCost {
            egraph: &loaded.egraph,
        },
    );
    convert::from_egraph(module, &loaded, &extractor)
}
