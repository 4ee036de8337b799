//! Target descriptions: which rewrites a backend wants. A target is data: the built-in
//! descriptions are text files under `passes/targets/`, one `key = value` per line.

use std::fmt;

/// The optimisation target (`--target`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Target {
    /// x86-64 with AVX2.
    #[default]
    X86Avx2,
    /// Baseline x86-64 (SSE4.1).
    X86_64,
    /// Portable scalar code.
    Generic,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::X86Avx2 => "x86-avx2",
            Target::X86_64 => "x86-64",
            Target::Generic => "generic",
        })
    }
}

impl Target {
    /// The target's description text.
    pub fn description(self) -> &'static str {
        match self {
            Target::X86Avx2 => include_str!("../targets/x86-avx2.target"),
            Target::X86_64 => include_str!("../targets/x86-64.target"),
            Target::Generic => include_str!("../targets/generic.target"),
        }
    }

    /// Values of a `key = a, b, c` line of the description.
    pub fn list(self, key: &str) -> Vec<&'static str> {
        self.description()
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| k.trim() == key)
            .flat_map(|(_, v)| v.split(',').map(str::trim).filter(|s| !s.is_empty()))
            .collect()
    }

    /// True unless the description disables the rule (`disable = rule-a, rule-b`).
    pub fn allows(self, rule: &str) -> bool {
        !self.list("disable").contains(&rule)
    }
}
