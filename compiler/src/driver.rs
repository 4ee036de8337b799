//! Loading, compiling and running models.

use anyhow::{bail, Context, Result};
use qcc_ir::{Engine, Module};
use qcc_passes::{OptLevel, Target};
use std::path::Path;
use std::time::{Duration, Instant};

/// Which execution engine runs a compiled module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EngineKind {
    /// The reference interpreter (`qcc_ir::interp`).
    #[default]
    Interp,
    /// The Cranelift JIT (`qcc_codegen::JitEngine`).
    Jit,
}

/// Options that shape compilation.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Optimisation level.
    pub level: OptLevel,
    /// Target description.
    pub target: Target,
    /// Extra rule files (`--rules FILE`), added to the built-in rules.
    pub rule_files: Vec<std::path::PathBuf>,
    /// Rules to run although the target disables them (`--enable-rule`).
    pub enable_rules: Vec<String>,
    /// Keep the module after each pass (`--print-after-all`).
    pub keep_intermediate: bool,
}

/// A model after the frontend and the optimiser, with what it took to get there.
pub struct Compiled {
    /// The module as lowered by the frontend.
    pub original_ops: usize,
    /// The optimised module.
    pub module: Module,
    /// Time spent in the frontend.
    pub load_time: Duration,
    /// Time spent verifying and optimising.
    pub optimize_time: Duration,
    /// What the optimiser did.
    pub report: qcc_passes::Report,
}

/// Loads a model file with the frontend its extension names, then verifies the IR.
pub fn load_model(path: &Path) -> Result<Module> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let module = match ext.as_deref() {
        Some("onnx") => qcc_frontends::onnx::load_onnx(path)?,
        Some("qir") | Some("mlir") | Some("ir") => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            qcc_ir::text::parse_module(&text)
                .map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?
        }
        Some("tflite") => qcc_frontends::tflite::load_tflite(path)?,
        _ => bail!(
            "{}: unknown model format (expected .onnx, .tflite or .qir)",
            path.display()
        ),
    };
    qcc_ir::verify::verify_module(&module)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(module)
}

/// Loads and optimises a model.
pub fn compile(path: &Path, opts: CompileOptions) -> Result<Compiled> {
    let t0 = Instant::now();
    let module = load_model(path)?;
    let load_time = t0.elapsed();
    let original_ops = module.graph.nodes.len();
    let t1 = Instant::now();
    let mut extra_rules = Vec::new();
    for file in &opts.rule_files {
        let src = std::fs::read_to_string(file)
            .with_context(|| format!("{}: cannot read rule file", file.display()))?;
        extra_rules.extend(qcc_passes::parse_rules(&file.display().to_string(), &src)?);
    }
    let known = qcc_passes::rules::builtin_rules()?;
    if let Some(r) = opts
        .enable_rules
        .iter()
        .find(|r| !known.iter().chain(&extra_rules).any(|k| &k.name == *r))
    {
        anyhow::bail!("--enable-rule {r}: no rule has that name");
    }
    let pass_opts = qcc_passes::Options {
        level: opts.level,
        target: opts.target,
        extra_rules,
        enabled_rules: opts.enable_rules.clone(),
        keep_intermediate: opts.keep_intermediate,
        ..Default::default()
    };
    let (module, report) = qcc_passes::optimize_with(module, &pass_opts)?;
    if cfg!(debug_assertions) || opts.keep_intermediate {
        for (pass, m) in report
            .after
            .iter()
            .map(|(p, m)| (p.as_str(), m))
            .chain([("optimize", &module)])
        {
            qcc_ir::verify::verify_module(m)
                .map_err(|e| anyhow::anyhow!("{}: after {pass}: {e}", path.display()))?;
        }
    }
    Ok(Compiled {
        original_ops,
        module,
        load_time,
        optimize_time: t1.elapsed(),
        report,
    })
}

/// Builds the engine that executes `module` (the JIT compiles for the host, `native`).
pub fn make_engine(module: &Module, kind: EngineKind) -> Result<Box<dyn Engine + '_>> {
    make_engine_for(module, kind, qcc_codegen::Target::Native)
}

/// Builds the engine that executes `module`, the JIT generating code for `target` (an error
/// when the host cannot run that target).
pub fn make_engine_for(
    module: &Module,
    kind: EngineKind,
    target: qcc_codegen::Target,
) -> Result<Box<dyn Engine + '_>> {
    match kind {
        EngineKind::Interp => Ok(Box::new(qcc_ir::interp::Interpreter::new(module))),
        EngineKind::Jit => Ok(Box::new(
            qcc_codegen::JitEngine::new(module, target).map_err(|e| anyhow::anyhow!("JIT: {e}"))?,
        )),
    }
}

/// The JIT target for a `--target` choice (by its built-in name).
pub fn jit_target(t: &Target) -> qcc_codegen::Target {
    match t.name() {
        "x86-avx2" => qcc_codegen::Target::X86Avx2,
        "x86-avxvnni" => qcc_codegen::Target::X86AvxVnni,
        "x86-64" => qcc_codegen::Target::X86_64,
        "generic" => qcc_codegen::Target::Generic,
        "native" => qcc_codegen::Target::Native,
        _ => qcc_codegen::Target::Native,
    }
}
