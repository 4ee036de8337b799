//! Code-generation targets and the Cranelift ISA each one maps to.

use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use std::fmt;
use std::str::FromStr;

/// What the generated code may assume about the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Target {
    /// Portable scalar code: the host architecture's baseline, no vector kernels.
    Generic,
    /// x86-64 with SSE4.1 (128-bit vector kernels).
    X86_64,
    /// x86-64 with AVX2 and FMA (VEX-encoded 128-bit vector kernels).
    X86Avx2,
    /// `x86-avx2` plus int8 dot products (`vpdpbusd` on xmm): VEX AVX-VNNI, or the EVEX
    /// AVX512-VNNI encoding on hosts that have AVX512VL + AVX512VNNI but not AVX-VNNI.
    X86AvxVnni,
    /// Whatever the host supports.
    #[default]
    Native,
}

impl Target {
    /// Every target, for tests that iterate over the ones the host can run.
    pub const ALL: [Target; 5] = [
        Target::Generic,
        Target::X86_64,
        Target::X86Avx2,
        Target::X86AvxVnni,
        Target::Native,
    ];

    /// True when the code may use 128-bit SIMD kernels.
    pub fn simd(self) -> bool {
        match self {
            Target::Generic => false,
            Target::X86_64 | Target::X86Avx2 | Target::X86AvxVnni => true,
            Target::Native => host_has_sse41(),
        }
    }

    /// True when kernels may use vector fused multiply-add.
    pub fn fma(self) -> bool {
        match self {
            Target::X86Avx2 | Target::X86AvxVnni => true,
            Target::Native => host_has_avx2(),
            _ => false,
        }
    }

    /// True when kernels may use the u8 x i8 dot product (`vpdpbusd`).
    pub fn vnni(self) -> bool {
        match self {
            Target::X86AvxVnni => true,
            Target::Native => host_has_avx2() && host_vnni().is_some(),
            _ => false,
        }
    }

    /// Checks that the host can run code for this target.
    pub fn check_host(self) -> Result<(), String> {
        match self {
            Target::Generic | Target::Native => Ok(()),
            Target::X86_64 if host_has_sse41() => Ok(()),
            Target::X86Avx2 if host_has_avx2() => Ok(()),
            Target::X86AvxVnni if host_has_avx2() && host_vnni().is_some() => Ok(()),
            t => Err(format!(
                "target '{t}' cannot run on this host (missing CPU features); use --target generic or native"
            )),
        }
    }

    /// Builds the Cranelift ISA for this target (an error when the host cannot run it).
    pub fn isa(self) -> Result<OwnedTargetIsa, String> {
        self.check_host()?;
        let mut flags = settings::builder();
        let set = |b: &mut settings::Builder, k: &str, v: &str| {
            b.set(k, v)
                .map_err(|e| format!("cranelift flag {k}={v}: {e}"))
        };
        set(&mut flags, "opt_level", "speed")?;
        set(&mut flags, "enable_verifier", "false")?;
        set(&mut flags, "is_pic", "false")?;
        let native = !matches!(self, Target::Generic);
        let mut isa = cranelift_native::builder_with_options(native && self == Target::Native)
            .map_err(|e| format!("cranelift does not support this host: {e}"))?;
        let mut enable = |names: &[&str]| -> Result<(), String> {
            for n in names {
                isa.enable(n)
                    .map_err(|e| format!("cranelift isa flag {n}: {e}"))?;
            }
            Ok(())
        };
        match self {
            Target::Generic => {}
            Target::X86_64 => enable(&["has_sse3", "has_ssse3", "has_sse41", "has_sse42"])?,
            Target::X86Avx2 => enable(AVX2_FLAGS)?,
            Target::X86AvxVnni => {
                enable(AVX2_FLAGS)?;
                enable(host_vnni().unwrap_or(&[]))?;
            }
            Target::Native => {
                // The native builder detects features, but set AVX explicitly so VEX
                // encodings are used whenever the host has them.
                if host_has_avx2() {
                    enable(&["has_avx", "has_avx2", "has_fma"])?;
                    enable(host_vnni().unwrap_or(&[]))?;
                }
            }
        }
        isa.finish(settings::Flags::new(flags))
            .map_err(|e| format!("cranelift isa: {e}"))
    }
}

/// The Cranelift flags of `x86-avx2`.
const AVX2_FLAGS: &[&str] = &[
    "has_sse3",
    "has_ssse3",
    "has_sse41",
    "has_sse42",
    "has_avx",
    "has_avx2",
    "has_fma",
    "has_popcnt",
    "has_bmi1",
    "has_bmi2",
    "has_lzcnt",
];

/// The Cranelift flags that give `vpdpbusd` on xmm on this host: VEX AVX-VNNI, else EVEX
/// AVX512-VNNI (which needs AVX512VL for 128-bit vectors); `None` without either.
#[cfg(target_arch = "x86_64")]
fn host_vnni() -> Option<&'static [&'static str]> {
    if std::arch::is_x86_feature_detected!("avxvnni") {
        Some(&["has_avx_vnni"])
    } else if std::arch::is_x86_feature_detected!("avx512vnni")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512f")
    {
        Some(&["has_avx512f", "has_avx512vl", "has_avx512vnni"])
    } else {
        None
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn host_vnni() -> Option<&'static [&'static str]> {
    None
}

#[cfg(target_arch = "x86_64")]
fn host_has_sse41() -> bool {
    std::arch::is_x86_feature_detected!("sse4.1") && std::arch::is_x86_feature_detected!("ssse3")
}

#[cfg(target_arch = "x86_64")]
fn host_has_avx2() -> bool {
    host_has_sse41()
        && std::arch::is_x86_feature_detected!("avx")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("lzcnt")
}

#[cfg(not(target_arch = "x86_64"))]
fn host_has_sse41() -> bool {
    false
}

#[cfg(not(target_arch = "x86_64"))]
fn host_has_avx2() -> bool {
    false
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Generic => "generic",
            Target::X86_64 => "x86-64",
            Target::X86Avx2 => "x86-avx2",
            Target::X86AvxVnni => "x86-avxvnni",
            Target::Native => "native",
        })
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "generic" => Ok(Target::Generic),
            "x86-64" => Ok(Target::X86_64),
            "x86-avx2" => Ok(Target::X86Avx2),
            "x86-avxvnni" => Ok(Target::X86AvxVnni),
            "native" => Ok(Target::Native),
            _ => Err(format!(
                "unknown target '{s}' (expected generic, x86-64, x86-avx2, x86-avxvnni or native)"
            )),
        }
    }
}
