//! Target descriptions: which rewrites a backend wants. A target is data: the built-in
//! descriptions are text files under `passes/targets/`, one `key = value` per line.

use std::fmt;
use std::sync::Arc;

/// Integer kernels a rule can produce; a target lists those it has under `fused_ops`.
pub const KERNELS: &[&str] = &[
    "qconv",
    "qgemm",
    "qmatmul",
    "qadd",
    "qglobal_avgpool",
    "qmul",
    "qavgpool",
    "qsoftmax",
    "lut",
    "requantize",
];

/// Layout ops a rule can move onto integers; a target lists those it allows under
/// `share_qparams`.
pub const SHARE_CANDIDATES: &[&str] = &[
    "maxpool",
    "global_maxpool",
    "reshape",
    "flatten",
    "transpose",
    "squeeze",
    "unsqueeze",
    "slice",
    "gather",
    "pad",
    "identity",
    "split",
    "concat",
];

/// The built-in target descriptions, as (name, text).
pub const BUILTIN_TARGETS: &[(&str, &str)] = &[
    ("x86-avx2", include_str!("../targets/x86-avx2.target")),
    ("x86-avxvnni", include_str!("../targets/x86-avxvnni.target")),
    ("native", include_str!("../targets/native.target")),
    ("x86-64", include_str!("../targets/x86-64.target")),
    ("generic", include_str!("../targets/generic.target")),
];

/// Keys a target description may set.
pub const TARGET_KEYS: &[&str] = &[
    "fused_ops",
    "share_qparams",
    "fixed_qparams",
    "storage",
    "disable",
];

/// A target description (`--target NAME`, or `--target-file FILE`): which rewrites the
/// backend wants, as `key = a, b, c` lines (see `passes/targets/*.target`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    name: String,
    description: Arc<str>,
}

impl Default for Target {
    fn default() -> Self {
        Target::builtin("x86-avx2").expect("x86-avx2 is built in")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Target {
    /// A built-in target by name.
    pub fn builtin(name: &str) -> Option<Target> {
        BUILTIN_TARGETS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| Target {
                name: n.to_string(),
                description: Arc::from(*text),
            })
    }

    /// Parses a description; errors name the line (`NAME:LINE: message`).
    pub fn parse(name: &str, text: &str) -> Result<Target, String> {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, _)) = line.split_once('=') else {
                return Err(format!(
                    "{name}:{}: expected 'key = values', found '{line}'",
                    i + 1
                ));
            };
            if !TARGET_KEYS.contains(&key.trim()) {
                return Err(format!(
                    "{name}:{}: unknown key '{}' (known: {})",
                    i + 1,
                    key.trim(),
                    TARGET_KEYS.join(", ")
                ));
            }
        }
        Ok(Target {
            name: name.to_string(),
            description: Arc::from(text),
        })
    }

    /// Reads and parses a description file.
    pub fn load(path: &std::path::Path) -> Result<Target, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read target description: {e}", path.display()))?;
        Target::parse(&path.display().to_string(), &text)
    }

    /// The target's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The target's description text.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Values of a `key = a, b, c` line of the description.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.description()
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| k.trim() == key)
            .flat_map(|(_, v)| v.split(',').map(str::trim).filter(|s| !s.is_empty()))
            .collect()
    }

    /// True unless the description disables the rule by name (`disable = rule-a, rule-b`).
    pub fn allows(&self, rule: &str) -> bool {
        !self.list("disable").contains(&rule)
    }

    /// Why the target cannot run `rule`, if it cannot: the rule is disabled by name, or its
    /// right-hand side builds an integer kernel the target lacks (`fused_ops`) or runs a
    /// layout op on integers the target does not share parameters through (`share_qparams`).
    pub fn rejects(&self, rule: &crate::Rule) -> Option<String> {
        if !self.allows(&rule.name) {
            return Some(format!("disabled by target {self}"));
        }
        let fused = self.list("fused_ops");
        let shared = self.list("share_qparams");
        for op in rule.rhs_ops() {
            if KERNELS.contains(&op.as_str()) && !fused.contains(&op.as_str()) {
                return Some(format!("target {self} has no fused '{op}'"));
            }
            if SHARE_CANDIDATES.contains(&op.as_str()) && !shared.contains(&op.as_str()) {
                return Some(format!("target {self} does not run '{op}' on integers"));
            }
        }
        None
    }
}
