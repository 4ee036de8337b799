//! The `qcc` command line (clap). Spellings here are a contract other tools call:
//! `qcc MODEL`, `qcc run MODEL -i X.npy --output-dir D`, `qcc bench MODEL --json`.

use crate::driver::{compile, CompileOptions, EngineKind};
use crate::{bench, npy};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use qcc_passes::{OptLevel, Target};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// qcc: a quantization compiler for int8 ONNX and TFLite models.
#[derive(Parser, Debug)]
#[command(
    name = "qcc",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// `run` or `bench`; without a subcommand qcc compiles MODEL and prints a summary.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Compile-only arguments.
    #[command(flatten)]
    pub compile: CompileArgs,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compile MODEL and run it on .npy inputs.
    Run(RunArgs),
    /// Compile MODEL and time it on generated inputs.
    Bench(BenchArgs),
}

/// Options shared by every command.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Optimisation level: -O0 (as written), -O1, -O2.
    #[arg(short = 'O', value_name = "LEVEL", default_value = "2", value_parser = parse_level)]
    pub opt: OptLevel,
    /// Target: instruction set and built-in rewrite description.
    #[arg(long, value_enum, default_value_t = TargetArg::Native)]
    pub target: TargetArg,
    /// A target description file (`key = values` lines, see passes/targets/) used by the
    /// rewrites instead of the built-in description of --target.
    #[arg(long = "target-file", value_name = "FILE")]
    pub target_file: Option<PathBuf>,
    /// Load more rewrite rules from FILE (repeatable), in the rule-file format.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Run a rewrite rule the target disables (repeatable), e.g. relu-merge-into-qparams.
    #[arg(long = "enable-rule", value_name = "RULE")]
    pub enable_rules: Vec<String>,
}

/// `--target` spellings.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetArg {
    /// The best instruction set this host runs (x86-avxvnni, x86-avx2, x86-64 or generic).
    #[value(name = "native")]
    Native,
    /// x86-64 with AVX2.
    #[value(name = "x86-avx2")]
    X86Avx2,
    /// x86-avx2 plus int8 dot products (vpdpbusd: AVX-VNNI, or AVX512-VNNI on xmm).
    #[value(name = "x86-avxvnni")]
    X86AvxVnni,
    /// Baseline x86-64 with SSE4.1.
    #[value(name = "x86-64")]
    X86_64,
    /// Portable scalar code.
    #[value(name = "generic")]
    Generic,
}

impl From<TargetArg> for Target {
    fn from(t: TargetArg) -> Target {
        let name = match t {
            TargetArg::Native => "native",
            TargetArg::X86Avx2 => "x86-avx2",
            TargetArg::X86AvxVnni => "x86-avxvnni",
            TargetArg::X86_64 => "x86-64",
            TargetArg::Generic => "generic",
        };
        Target::builtin(name).unwrap_or_default()
    }
}

/// `--engine` spellings.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineArg {
    /// The reference interpreter.
    Interp,
    /// The Cranelift JIT.
    Jit,
}

impl From<EngineArg> for EngineKind {
    fn from(e: EngineArg) -> EngineKind {
        match e {
            EngineArg::Interp => EngineKind::Interp,
            EngineArg::Jit => EngineKind::Jit,
        }
    }
}

/// What `--emit` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitArg {
    /// The IR in its text format.
    Ir,
    /// The graph as Graphviz dot (fused ops and their qparams visible).
    Dot,
    /// The Cranelift IR of each JIT kernel (symbolic dims bound to 1).
    Clif,
    /// The machine code of each JIT kernel (Cranelift's VCode listing).
    Asm,
}

fn parse_level(s: &str) -> Result<OptLevel, String> {
    match s.trim_start_matches('O') {
        "0" => Ok(OptLevel::O0),
        "1" => Ok(OptLevel::O1),
        "2" => Ok(OptLevel::O2),
        _ => Err(format!(
            "unknown optimisation level '{s}' (expected 0, 1 or 2)"
        )),
    }
}

/// `qcc MODEL ...`: compile and report.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// The model (.onnx, .tflite, or .qir IR text).
    #[arg(required = true)]
    pub model: Option<PathBuf>,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print an artifact instead of the summary.
    #[arg(long, value_enum)]
    pub emit: Option<EmitArg>,
    /// Write the emitted artifact to FILE instead of stdout.
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// List each rewrite rule that fired, with its count.
    #[arg(long)]
    pub explain: bool,
    /// Print the IR after each pass (to stderr).
    #[arg(long)]
    pub print_after_all: bool,
}

/// `qcc run MODEL ...`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The model.
    pub model: PathBuf,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Execution engine.
    #[arg(long, value_enum, default_value_t = EngineArg::Jit)]
    pub engine: EngineArg,
    /// Input .npy files, in graph-input order.
    #[arg(short = 'i', long = "input", value_name = "INPUT.npy")]
    pub inputs: Vec<PathBuf>,
    /// Directory for output_0.npy, output_1.npy, ...
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Output file when the model has exactly one output.
    #[arg(short = 'o', value_name = "FILE.npy", conflicts_with = "output_dir")]
    pub output: Option<PathBuf>,
}

/// `qcc bench MODEL ...`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The model.
    pub model: PathBuf,
    /// Shared options.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Execution engine.
    #[arg(long, value_enum, default_value_t = EngineArg::Jit)]
    pub engine: EngineArg,
    /// Batch size bound to symbolic batch dims.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Timed iterations (after warm-up).
    #[arg(long, default_value_t = 20)]
    pub iters: usize,
    /// Print a JSON object as the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

impl CommonArgs {
    pub(crate) fn options(&self) -> anyhow::Result<CompileOptions> {
        let target = match &self.target_file {
            Some(f) => Target::load(f).map_err(anyhow::Error::msg)?,
            None => self.target.into(),
        };
        Ok(CompileOptions {
            level: self.opt,
            target,
            rule_files: self.rules.clone(),
            enable_rules: self.enable_rules.clone(),
            keep_intermediate: false,
        })
    }
}

/// Runs the parsed command line.
pub fn run_cli(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Run(args)) => run_model(args),
        Some(Command::Bench(args)) => bench::run_bench(args),
        None => compile_only(cli.compile),
    }
}

fn elided() -> qcc_ir::text::PrintOptions {
    qcc_ir::text::PrintOptions {
        elide_large_constants: true,
    }
}

fn op_histogram(m: &qcc_ir::Module) -> BTreeMap<&'static str, usize> {
    let mut h = BTreeMap::new();
    for n in &m.graph.nodes {
        *h.entry(n.op.name()).or_insert(0) += 1;
    }
    h
}

fn compile_only(args: CompileArgs) -> Result<()> {
    let model = args.model.context("no model given")?;
    let mut opts = args.common.options()?;
    opts.keep_intermediate = args.print_after_all;
    let target = opts.target.clone();
    let compiled = compile(&model, opts)?;
    if args.print_after_all {
        for (pass, m) in &compiled.report.after {
            eprintln!("// ----- IR after {pass} -----");
            eprint!("{}", qcc_ir::text::print_module_with(m, &elided()));
        }
    }
    if args.explain {
        let r = &compiled.report;
        crate::out::line!(
            "saturation: {} after {} iteration(s), {} e-nodes{}; {} node(s) folded to constants, {} dead node(s) removed",
            r.stop,
            r.iterations,
            r.egraph_nodes,
            if r.limit_hit { " (LIMIT HIT: the result may not be optimal)" } else { "" },
            r.folded,
            r.removed
        );
        if r.fired.is_empty() {
            crate::out::line!("no rule fired");
        }
        for (rule, n) in &r.fired {
            crate::out::line!("  {n:5}  {rule}");
        }
    }
    let text = match args.emit {
        Some(EmitArg::Ir) => qcc_ir::text::print_module(&compiled.module),
        Some(EmitArg::Dot) => crate::dot::to_dot(&compiled.module),
        Some(e @ (EmitArg::Clif | EmitArg::Asm)) => {
            let opts = qcc_codegen::Options {
                clif: e == EmitArg::Clif,
                asm: e == EmitArg::Asm,
            };
            let target = crate::driver::jit_target(&args.common.target.into());
            let mut jit = qcc_codegen::JitEngine::with_options(&compiled.module, target, opts)
                .map_err(|e| anyhow::anyhow!("{}: JIT: {e}", model.display()))?;
            let (listings, interpreted, arena) = jit
                .listing(1)
                .map_err(|e| anyhow::anyhow!("{}: JIT: {e}", model.display()))?;
            let mut t = format!(
                "; {} kernel(s) for {target}, arena {arena} bytes; interpreted: {}\n",
                listings.len(),
                if interpreted.is_empty() {
                    "none".to_string()
                } else {
                    interpreted.join(", ")
                }
            );
            for l in listings {
                t.push_str(&format!("\n; node '{}' ({})\n", l.node, l.op));
                t.push_str(if e == EmitArg::Clif { &l.clif } else { &l.asm });
            }
            t
        }
        None => {
            let hist = op_histogram(&compiled.module);
            let ops: Vec<String> = hist.iter().map(|(k, v)| format!("{k} {v}")).collect();
            format!(
                "{}: {} ops as written, {} after -O{} for {}; load {:.1} ms, optimise {:.1} ms\n  {}\n",
                model.display(),
                compiled.original_ops,
                compiled.module.graph.nodes.len(),
                args.common.opt as u8,
                target,
                compiled.load_time.as_secs_f64() * 1e3,
                compiled.optimize_time.as_secs_f64() * 1e3,
                ops.join(", ")
            )
        }
    };
    match args.output {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))
        }
        None => {
            crate::out::text(&text);
            Ok(())
        }
    }
}

fn run_model(args: RunArgs) -> Result<()> {
    if args.output.is_none() && args.output_dir.is_none() {
        bail!("qcc run: give --output-dir DIR or -o FILE.npy");
    }
    let compiled = compile(&args.model, args.common.options()?)?;
    let module = &compiled.module;
    let want = module.graph.inputs.len();
    if args.inputs.len() != want {
        bail!(
            "{}: the model has {want} input(s), {} .npy file(s) given",
            args.model.display(),
            args.inputs.len()
        );
    }
    let inputs = args
        .inputs
        .iter()
        .map(|p| npy::read_npy(p))
        .collect::<Result<Vec<_>>>()?;
    let target = crate::driver::jit_target(&args.common.target.into());
    let mut engine = crate::driver::make_engine_for(module, args.engine.into(), target)?;
    let outputs = engine
        .run(&inputs)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.model.display()))?;
    if let Some(file) = &args.output {
        if outputs.len() != 1 {
            bail!(
                "{}: -o needs a single-output model, this one has {} outputs (use --output-dir)",
                args.model.display(),
                outputs.len()
            );
        }
        return npy::write_npy(file, &outputs[0]);
    }
    let dir = args.output_dir.as_ref().expect("checked above");
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    for (k, t) in outputs.iter().enumerate() {
        npy::write_npy(&dir.join(format!("output_{k}.npy")), t)?;
    }
    Ok(())
}
