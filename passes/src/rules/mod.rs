//! Rules as data: the rule-file format, its parser and the applier that runs a rule.
//!
//! A rule file holds stanzas like
//!
//! ```text
//! # Q(DQ(x)) with x's own parameters is x: DQ is exact and Q maps a grid point to itself.
//! rule qdq-identity:
//!     (quantize ?t (dequantize ?x)) => ?x
//!     if same_qparams(?x, ?t)
//! ```
//!
//! * The comment lines right above `rule NAME:` are the rule's documentation: why it is
//!   legal. A rule without one is rejected.
//! * The first indented line is `LEFT => RIGHT`, two egg patterns over the language of
//!   [`crate::lang`] (ops by their IR mnemonic, `?var` for pattern variables).
//! * `if NAME(?a, ...)` (or `if !NAME(...)`) lines are conditions, all of which must hold;
//!   `let ?v = NAME(?a, ...)` lines compute a new class (a constant, a type or attribute
//!   leaf) and bind it for the right-hand side. Both name functions of the
//!   [`registry`]; the rule file only references them. `?matched` is always bound: the
//!   class the left-hand side matched.
//!
//! Errors name the file and line: unknown ops, wrong operand counts, unknown conditions,
//! unbound variables, duplicate rule names.

mod lut;
pub mod registry;

use crate::analysis::{ClassTy, QAnalysis, QEGraph};
use crate::lang::{self, QNode, GET};
use egg::{Applier, ENodeOrVar, Id, Pattern, PatternAst, Rewrite, Subst, Symbol, Var};
use registry::{Compute, Condition};
use std::fmt;

/// A rule-file error, `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The file label.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub msg: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.msg)
    }
}

impl std::error::Error for RuleError {}

/// One call of a registered function: `name(?a, ?b)`.
#[derive(Clone, Debug)]
struct Call {
    name: String,
    args: Vec<Var>,
}

/// A parsed rule.
#[derive(Clone)]
pub struct Rule {
    /// Rule name (unique across the loaded files).
    pub name: String,
    /// Why it is legal.
    pub doc: String,
    /// `file:line` of the rule.
    pub origin: String,
    /// Left-hand pattern.
    pub lhs: Pattern<QNode>,
    /// Right-hand pattern.
    pub rhs: Pattern<QNode>,
    conds: Vec<(bool, &'static Condition, Call)>,
    lets: Vec<(Var, &'static Compute, Call)>,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {} ({})", self.name, self.origin)
    }
}

impl Rule {
    /// Op mnemonics the right-hand side builds (its pattern's, and those its computations
    /// declare).
    pub fn rhs_ops(&self) -> Vec<String> {
        let mut ops: Vec<String> = self
            .rhs
            .ast
            .as_ref()
            .iter()
            .filter_map(|n| match n {
                ENodeOrVar::ENode(QNode::Op(s, _)) => Some(s.to_string()),
                _ => None,
            })
            .chain(
                self.lets
                    .iter()
                    .flat_map(|(_, c, _)| c.builds.iter().map(|s| s.to_string())),
            )
            .collect();
        ops.sort();
        ops.dedup();
        ops
    }

    /// The egg rewrite that runs this rule.
    pub fn rewrite(&self) -> Rewrite<QNode, QAnalysis> {
        Rewrite::new(
            Symbol::from(self.name.as_str()),
            self.lhs.clone(),
            RuleApplier { rule: self.clone() },
        )
        .expect("variables were checked when the rule was parsed")
    }
}

/// Runs a rule's conditions and computations, then adds the right-hand side and merges it
/// with the matched class only when its type equals the matched class's type.
struct RuleApplier {
    rule: Rule,
}

impl Applier<QNode, QAnalysis> for RuleApplier {
    fn apply_one(
        &self,
        egraph: &mut QEGraph,
        eclass: Id,
        subst: &Subst,
        _ast: Option<&PatternAst<QNode>>,
        _rule: Symbol,
    ) -> Vec<Id> {
        let mut subst = subst.clone();
        subst.insert(matched_var(), eclass);
        for (negate, cond, call) in &self.rule.conds {
            let ids: Vec<Id> = call.args.iter().map(|v| subst[*v]).collect();
            if (cond.check)(egraph, &ids) == *negate {
                trace(|| {
                    format!(
                        "{}: condition {}{} failed",
                        self.rule.name,
                        if *negate { "!" } else { "" },
                        call.name
                    )
                });
                return vec![];
            }
        }
        for (var, compute, call) in &self.rule.lets {
            let ids: Vec<Id> = call.args.iter().map(|v| subst[*v]).collect();
            match (compute.run)(egraph, &ids) {
                Some(id) => {
                    subst.insert(*var, id);
                }
                None => {
                    trace(|| format!("{}: {} declined", self.rule.name, call.name));
                    return vec![];
                }
            }
        }
        let new = egraph.add_instantiation(&self.rule.rhs.ast, &subst);
        let (a, b) = (&egraph[eclass].data.ty, &egraph[new].data.ty);
        let agree = match (a, b) {
            (ClassTy::Value(x), ClassTy::Value(y)) => x == y,
            (ClassTy::Tuple(x), ClassTy::Tuple(y)) => x == y,
            _ => false,
        };
        if !agree {
            trace(|| {
                format!(
                    "{}: result type {b:?} differs from the matched {a:?}",
                    self.rule.name
                )
            });
        }
        if agree && egraph.union(eclass, new) {
            vec![new]
        } else {
            vec![]
        }
    }

    fn vars(&self) -> Vec<Var> {
        // Variables the searcher must bind: the right-hand side's, minus those `let` binds.
        let mut computed: Vec<Var> = self.rule.lets.iter().map(|(v, _, _)| *v).collect();
        computed.push(matched_var());
        self.rule
            .rhs
            .vars()
            .into_iter()
            .filter(|v| !computed.contains(v))
            .collect()
    }
}

/// The variable every rule has bound to the class its left-hand side matched, so a
/// condition or computation can look at the whole match (`lookup_table(?matched, ?x)`).
pub const MATCHED: &str = "?matched";

fn matched_var() -> Var {
    MATCHED.parse().expect("a valid variable name")
}

/// Prints why a rule did not apply when `QCC_TRACE_RULES` is set (for rule authors).
fn trace(msg: impl FnOnce() -> String) {
    if std::env::var_os("QCC_TRACE_RULES").is_some() {
        eprintln!("qcc: rule {}", msg());
    }
}

fn err(file: &str, line: usize, msg: impl Into<String>) -> RuleError {
    RuleError {
        file: file.to_string(),
        line,
        msg: msg.into(),
    }
}

/// Parses `name(?a, ?b)`.
fn parse_call(s: &str) -> Result<Call, String> {
    let s = s.trim();
    let open = s
        .find('(')
        .ok_or_else(|| format!("expected NAME(?args), found '{s}'"))?;
    if !s.ends_with(')') {
        return Err(format!("expected ')' at the end of '{s}'"));
    }
    let name = s[..open].trim().to_string();
    let inner = &s[open + 1..s.len() - 1];
    let args = inner
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse::<Var>()
                .map_err(|_| format!("argument '{a}' of {name} is not a ?variable"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Call { name, args })
}

/// Checks every op node of a pattern: known mnemonic and the right number of children.
fn check_pattern(ast: &PatternAst<QNode>) -> Result<(), String> {
    for node in ast.as_ref() {
        let ENodeOrVar::ENode(QNode::Op(sym, children)) = node else {
            continue;
        };
        let name = sym.as_str();
        if name == GET {
            if children.len() != 2 {
                return Err("get takes an index and a tuple: (get 0 ?t)".into());
            }
            continue;
        }
        let template =
            qcc_ir::text::op_template(name).ok_or_else(|| format!("unknown op '{name}'"))?;
        let lead = usize::from(lang::has_type_slot(&template))
            + usize::from(lang::has_attrs_slot(&template));
        let (lo, hi) = match lang::fixed_operands(&template) {
            Some(n) => (n, n),
            None => qcc_ir::infer::operand_range(&template),
        };
        let got = children.len().saturating_sub(lead);
        if children.len() < lead || got < lo || got > hi {
            let want = if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}..{hi}")
            };
            let mut slots = Vec::new();
            if lang::has_type_slot(&template) {
                slots.push("?type");
            }
            if lang::has_attrs_slot(&template) {
                slots.push("?attrs");
            }
            return Err(format!(
                "'{name}' takes {}{want} operand(s), the pattern gives it {} children",
                if slots.is_empty() {
                    String::new()
                } else {
                    format!("{} then ", slots.join(", "))
                },
                children.len()
            ));
        }
    }
    Ok(())
}

/// Parses one rule file.
pub fn parse_rules(file: &str, src: &str) -> Result<Vec<Rule>, RuleError> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let lines: Vec<&str> = src.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let lineno = i + 1;
        i += 1;
        if line.is_empty() {
            doc.clear();
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            doc.push(c.trim().to_string());
            continue;
        }
        let Some(rest) = line.strip_prefix("rule ") else {
            return Err(err(
                file,
                lineno,
                format!("expected 'rule NAME:' or a comment, found '{line}'"),
            ));
        };
        let name = rest
            .trim()
            .strip_suffix(':')
            .ok_or_else(|| err(file, lineno, "a rule header ends with ':' (rule NAME:)"))?
            .trim()
            .to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(
                file,
                lineno,
                format!("bad rule name '{name}' (letters, digits, '-', '_')"),
            ));
        }
        if rules.iter().any(|r| r.name == name) {
            return Err(err(file, lineno, format!("rule '{name}' is defined twice")));
        }
        let doc_text = std::mem::take(&mut doc).join(" ");
        if doc_text.is_empty() {
            return Err(err(
                file,
                lineno,
                format!("rule '{name}' needs a comment above it saying why it is legal"),
            ));
        }
        // The body: indented lines up to a blank line or the next rule.
        let mut body = Vec::new();
        while i < lines.len()
            && !lines[i].trim().is_empty()
            && !lines[i].trim_start().starts_with("rule ")
        {
            body.push((i + 1, lines[i].trim()));
            i += 1;
        }
        let rule = parse_body(file, lineno, name, doc_text, &body)?;
        rules.push(rule);
    }
    Ok(rules)
}

fn parse_body(
    file: &str,
    header: usize,
    name: String,
    doc: String,
    body: &[(usize, &str)],
) -> Result<Rule, RuleError> {
    let mut pattern: Option<(usize, Pattern<QNode>, Pattern<QNode>)> = None;
    let mut conds = Vec::new();
    let mut lets = Vec::new();
    for &(ln, text) in body {
        if text.starts_with('#') {
            continue;
        }
        if let Some(c) = text.strip_prefix("if ") {
            let c = c.trim();
            let (negate, c) = match c.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, c),
            };
            let call = parse_call(c).map_err(|m| err(file, ln, m))?;
            let cond = registry::condition(&call.name).ok_or_else(|| {
                err(
                    file,
                    ln,
                    format!(
                        "unknown condition '{}' (known: {})",
                        call.name,
                        registry::condition_names().join(", ")
                    ),
                )
            })?;
            if call.args.len() != cond.arity {
                return Err(err(
                    file,
                    ln,
                    format!(
                        "{} takes {} argument(s), got {}",
                        call.name,
                        cond.arity,
                        call.args.len()
                    ),
                ));
            }
            conds.push((ln, negate, cond, call));
        } else if let Some(l) = text.strip_prefix("let ") {
            let (var, call) = l
                .split_once('=')
                .ok_or_else(|| err(file, ln, "expected 'let ?v = NAME(?args)'"))?;
            let var: Var = var
                .trim()
                .parse()
                .map_err(|_| err(file, ln, format!("'{}' is not a ?variable", var.trim())))?;
            let call = parse_call(call).map_err(|m| err(file, ln, m))?;
            let comp = registry::compute(&call.name).ok_or_else(|| {
                err(
                    file,
                    ln,
                    format!(
                        "unknown computation '{}' (known: {})",
                        call.name,
                        registry::compute_names().join(", ")
                    ),
                )
            })?;
            if call.args.len() != comp.arity {
                return Err(err(
                    file,
                    ln,
                    format!(
                        "{} takes {} argument(s), got {}",
                        call.name,
                        comp.arity,
                        call.args.len()
                    ),
                ));
            }
            lets.push((ln, var, comp, call));
        } else if let Some((l, r)) = text.split_once("=>") {
            if pattern.is_some() {
                return Err(err(file, ln, "a rule has exactly one 'LEFT => RIGHT' line"));
            }
            let parse = |s: &str| -> Result<Pattern<QNode>, RuleError> {
                let p: Pattern<QNode> = s
                    .trim()
                    .parse()
                    .map_err(|e| err(file, ln, format!("bad pattern '{}': {e}", s.trim())))?;
                check_pattern(&p.ast).map_err(|m| err(file, ln, m))?;
                Ok(p)
            };
            pattern = Some((ln, parse(l)?, parse(r)?));
        } else {
            return Err(err(
                file,
                ln,
                format!("expected 'LEFT => RIGHT', 'if ...' or 'let ...', found '{text}'"),
            ));
        }
    }
    let (pln, lhs, rhs) = pattern.ok_or_else(|| {
        err(
            file,
            header,
            format!("rule '{name}' has no 'LEFT => RIGHT' line"),
        )
    })?;
    if matches!(lhs.ast.as_ref().last(), Some(ENodeOrVar::Var(_))) {
        return Err(err(
            file,
            pln,
            "the left-hand side must be an op, not a bare variable",
        ));
    }
    // Variables: conditions and lets may use left-hand variables and earlier lets; the
    // right-hand side may use both.
    if lhs.vars().contains(&matched_var()) {
        return Err(err(
            file,
            pln,
            format!("{MATCHED} is bound by the engine to the matched class; pick another name"),
        ));
    }
    let mut bound = lhs.vars();
    bound.push(matched_var());
    for (ln, _, _, call) in &conds {
        if let Some(v) = call.args.iter().find(|v| !bound.contains(v)) {
            return Err(err(
                file,
                *ln,
                format!("{v} is not bound by the left-hand side"),
            ));
        }
    }
    for (ln, var, _, call) in &lets {
        if let Some(v) = call.args.iter().find(|v| !bound.contains(v)) {
            return Err(err(file, *ln, format!("{v} is not bound before this let")));
        }
        if bound.contains(var) {
            return Err(err(file, *ln, format!("{var} is already bound")));
        }
        bound.push(*var);
    }
    if let Some(v) = rhs.vars().into_iter().find(|v| !bound.contains(v)) {
        return Err(err(
            file,
            pln,
            format!("{v} on the right-hand side is never bound"),
        ));
    }
    Ok(Rule {
        name,
        doc,
        origin: format!("{file}:{header}"),
        lhs,
        rhs,
        conds: conds
            .into_iter()
            .map(|(_, n, c, call)| (n, c, call))
            .collect(),
        lets: lets
            .into_iter()
            .map(|(_, v, c, call)| (v, c, call))
            .collect(),
    })
}

/// The rule files built into the binary, as (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "redundant.rules",
        include_str!("../../rules/redundant.rules"),
    ),
    (
        "activation.rules",
        include_str!("../../rules/activation.rules"),
    ),
    ("share.rules", include_str!("../../rules/share.rules")),
    ("fold_qdq.rules", include_str!("../../rules/fold_qdq.rules")),
    ("lut.rules", include_str!("../../rules/lut.rules")),
    (
        "clamp_merge.rules",
        include_str!("../../rules/clamp_merge.rules"),
    ),
    (
        "split_concat.rules",
        include_str!("../../rules/split_concat.rules"),
    ),
    (
        "batchnorm.rules",
        include_str!("../../rules/batchnorm.rules"),
    ),
];

/// Parses the built-in rule files.
pub fn builtin_rules() -> Result<Vec<Rule>, RuleError> {
    let mut all: Vec<Rule> = Vec::new();
    for (file, src) in BUILTIN {
        add_rules(&mut all, parse_rules(file, src)?)?;
    }
    Ok(all)
}

/// Appends rules, rejecting a name that is already taken.
pub fn add_rules(all: &mut Vec<Rule>, more: Vec<Rule>) -> Result<(), RuleError> {
    for r in more {
        if let Some(prev) = all.iter().find(|p| p.name == r.name) {
            let (file, line) = r.origin.rsplit_once(':').unwrap_or((&r.origin, "0"));
            return Err(err(
                file,
                line.parse().unwrap_or(0),
                format!("rule '{}' is already defined at {}", r.name, prev.origin),
            ));
        }
        all.push(r);
    }
    Ok(())
}
