//! One compiled program: a concrete module (all dims bound), its memory plan, and one JIT
//! kernel per compiled node (other nodes run through the interpreter, node by node).

use crate::kernels::{self, Fb, Lower, Pool};
use crate::plan::{self, Loc, Plan};
use crate::target::Target;
use cranelift_codegen::ir::{AbiParam, InstBuilder};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module as _};
use qcc_ir::{Data, Module, Op, Tensor};

/// Compilation options.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Keep each kernel's Cranelift IR text.
    pub clif: bool,
    /// Keep each kernel's machine code listing.
    pub asm: bool,
}

/// A kernel's listings.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// Node name.
    pub node: String,
    /// Op mnemonic.
    pub op: String,
    /// Cranelift IR (when requested).
    pub clif: String,
    /// Machine code (when requested).
    pub asm: String,
}

type KernelFn = unsafe extern "C" fn(*mut u8);

enum Step {
    Kernel(KernelFn),
    Interp(usize),
}

/// 64-byte aligned arena storage.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

/// A compiled model for one binding of its symbolic dims.
pub struct Program {
    module: Module,
    plan: Plan,
    steps: Vec<Step>,
    arena: Vec<Line>,
    /// Kernel listings (empty unless requested).
    pub listings: Vec<Listing>,
    /// Ops of the nodes that run through the interpreter.
    pub interpreted: Vec<String>,
    /// Number of compiled kernels.
    pub kernels: usize,
    /// Per step: (node index, accumulated time, runs) when `QCC_JIT_PROFILE` is set.
    profile: Option<Vec<(usize, std::time::Duration, u32)>>,
    step_names: Vec<String>,
    _pool: Pool,
    _jit: JITModule,
}

extern "C" fn fmaf_(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
extern "C" fn fma_(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}
extern "C" fn nearbyintf_(a: f32) -> f32 {
    a.round_ties_even()
}
extern "C" fn nearbyint_(a: f64) -> f64 {
    a.round_ties_even()
}
extern "C" fn floorf_(a: f32) -> f32 {
    a.floor()
}
extern "C" fn ceilf_(a: f32) -> f32 {
    a.ceil()
}
extern "C" fn truncf_(a: f32) -> f32 {
    a.trunc()
}
extern "C" fn trunc_(a: f64) -> f64 {
    a.trunc()
}

fn node_err(m: &Module, i: usize, msg: impl std::fmt::Display) -> String {
    let n = &m.graph.nodes[i];
    format!("node '{}' ({}): {msg}", n.name, n.op.name())
}

impl Program {
    /// Compiles a concrete module (every value has fixed dims) for `target`.
    pub fn compile(module: Module, target: Target, opts: Options) -> Result<Program, String> {
        if usize::BITS != 64 {
            return Err("the JIT needs a 64-bit host".into());
        }
        let isa = target.isa()?;
        let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
        jb.symbol("fmaf", fmaf_ as *const u8);
        jb.symbol("fma", fma_ as *const u8);
        jb.symbol("nearbyintf", nearbyintf_ as *const u8);
        jb.symbol("nearbyint", nearbyint_ as *const u8);
        jb.symbol("floorf", floorf_ as *const u8);
        jb.symbol("ceilf", ceilf_ as *const u8);
        jb.symbol("truncf", truncf_ as *const u8);
        jb.symbol("trunc", trunc_ as *const u8);
        let mut jit = JITModule::new(jb);
        let epilogues = crate::fuse::epilogues(&module);
        let early: Vec<(usize, qcc_ir::ValueId)> = epilogues
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.map(|e| (i, e.out)))
            .collect();
        let plan = plan::plan_with(&module, &early)?;
        // Clamp nodes whose producer's kernel applies them.
        let mut absorbed = vec![false; module.graph.nodes.len()];
        let mut pool = Pool::default();
        let mut ctx = jit.make_context();
        ctx.set_disasm(opts.asm);
        let mut fctx = FunctionBuilderContext::new();
        let ptr_ty = jit.target_config().pointer_type();
        let fconf = jit.isa().frontend_config();
        let mut pending = Vec::new();
        let mut listings = Vec::new();
        let mut interpreted = Vec::new();
        let mut scratch = 0usize;
        for (i, node) in module.graph.nodes.iter().enumerate() {
            if matches!(node.op, Op::Const(_)) || absorbed[i] {
                continue;
            }
            if plan::is_view(&node.op) && node.outputs.len() == 1 && !node.inputs.is_empty() {
                let (a, b) = (node.inputs[0], node.outputs[0]);
                let same = module.graph.ty(a).dtype == module.graph.ty(b).dtype
                    && plan::value_bytes(&module, a) == plan::value_bytes(&module, b);
                if !same {
                    return Err(node_err(
                        &module,
                        i,
                        "view changes the element count or type",
                    ));
                }
                continue;
            }
            let mut l = Lower {
                module: &module,
                node,
                plan: &plan,
                pool: &mut pool,
                simd: target.simd(),
                vnni: target.vnni(),
                fma: target.fma(),
                scratch: &mut scratch,
                epilogue: epilogues[i],
                fused: false,
            };
            let lowered = kernels::lower(&mut l).map_err(|e| node_err(&module, i, e))?;
            let fused = l.fused;
            let Some(k) = lowered else {
                interpreted.push(node.op.name().to_string());
                pending.push((None, i));
                continue;
            };
            if let (true, Some(e)) = (fused, epilogues[i]) {
                absorbed[e.consumer] = true;
            }
            ctx.func.signature.params.clear();
            ctx.func.signature.params.push(AbiParam::new(ptr_ty));
            let name = format!("k{i}_{}", node.op.name());
            let id = jit
                .declare_function(&name, Linkage::Local, &ctx.func.signature)
                .map_err(|e| node_err(&module, i, e))?;
            {
                let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                let entry = b.create_block();
                b.append_block_params_for_function_params(entry);
                b.switch_to_block(entry);
                let arena = b.block_params(entry)[0];
                let mut fb = Fb { b, arena };
                k.emit(&mut fb);
                fb.b.ins().return_(&[]);
                fb.b.seal_all_blocks();
                fb.b.finalize(fconf);
            }
            let clif = if opts.clif {
                ctx.func.display().to_string()
            } else {
                String::new()
            };
            jit.define_function(id, &mut ctx)
                .map_err(|e| node_err(&module, i, format!("cranelift: {e:?}")))?;
            let asm = if opts.asm {
                ctx.compiled_code()
                    .and_then(|c| c.vcode.clone())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            if opts.clif || opts.asm {
                listings.push(Listing {
                    node: node.name.clone(),
                    op: node.op.name().to_string(),
                    clif,
                    asm,
                });
            }
            jit.clear_context(&mut ctx);
            ctx.set_disasm(opts.asm);
            pending.push((Some(id), i));
        }
        jit.finalize_definitions()
            .map_err(|e| format!("cranelift: {e:?}"))?;
        let mut steps = Vec::with_capacity(pending.len());
        let step_names: Vec<String> = pending
            .iter()
            .map(|&(_, i)| {
                let n = &module.graph.nodes[i];
                let shape = n
                    .outputs
                    .first()
                    .and_then(|&v| module.graph.ty(v).fixed_dims())
                    .unwrap_or_default();
                let fused = epilogues[i]
                    .filter(|e| absorbed[e.consumer])
                    .map(|e| format!("+{}", module.graph.nodes[e.consumer].op.name()))
                    .unwrap_or_default();
                format!("{}{fused} {:?} '{}'", n.op.name(), shape, n.name)
            })
            .collect();
        let mut kernels = 0;
        for (id, i) in pending {
            steps.push(match id {
                Some(id) => {
                    kernels += 1;
                    let p = jit.get_finalized_function(id);
                    // SAFETY: the function was defined with signature `fn(ptr)` in the
                    // platform's default calling convention.
                    Step::Kernel(unsafe { std::mem::transmute::<*const u8, KernelFn>(p) })
                }
                None => Step::Interp(i),
            });
        }
        let arena_bytes = plan.arena_bytes.div_ceil(plan::ALIGN) * plan::ALIGN + scratch;
        let arena = vec![Line([0; 64]); arena_bytes.div_ceil(64).max(1)];
        Ok(Program {
            module,
            plan,
            steps,
            arena,
            listings,
            interpreted,
            kernels,
            step_names,
            profile: std::env::var_os("QCC_JIT_PROFILE").map(|_| Vec::new()),
            _pool: pool,
            _jit: jit,
        })
    }

    /// Arena size in bytes.
    pub fn arena_bytes(&self) -> usize {
        self.plan.arena_bytes
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        let n = self.arena.len() * 64;
        // SAFETY: `Line` is plain bytes with no padding; the slice covers the whole vector.
        unsafe { std::slice::from_raw_parts_mut(self.arena.as_mut_ptr() as *mut u8, n) }
    }

    /// The tensor value `v` holds now.
    fn read(&mut self, v: qcc_ir::ValueId) -> Result<Tensor, String> {
        let ty = self.module.graph.ty(v).clone();
        let shape = ty.fixed_dims().ok_or("value has no fixed shape")?;
        let n = plan::value_bytes(&self.module, v)?;
        match self.plan.loc[v.0 as usize] {
            Some(Loc::Const(c)) => {
                let k = &self.module.consts[c as usize];
                Tensor::try_new(shape, k.data.data.clone())
                    .ok_or_else(|| format!("constant '{}' does not match its use", k.name))
            }
            Some(Loc::Arena(o)) => {
                let bytes = &self.bytes_mut()[o..o + n];
                let data = Data::from_le_bytes(ty.dtype, bytes).ok_or("bad buffer size")?;
                Tensor::try_new(shape, data).ok_or_else(|| "bad buffer size".into())
            }
            None => Err(format!("value %{} is never computed", v.0)),
        }
    }

    /// Writes `t` into value `v`'s buffer (shape and dtype must match the plan).
    fn write(&mut self, v: qcc_ir::ValueId, t: &Tensor, who: &str) -> Result<(), String> {
        let ty = self.module.graph.ty(v);
        let want = ty.fixed_dims().unwrap_or_default();
        if t.dtype() != ty.dtype || t.shape != want {
            return Err(format!(
                "{who} is {} {:?} but the plan expects {} {want:?}",
                t.dtype(),
                t.shape,
                ty.dtype
            ));
        }
        let Some(Loc::Arena(o)) = self.plan.loc[v.0 as usize] else {
            return Err(format!("{who} has no arena buffer"));
        };
        let bytes = t.data.to_le_bytes();
        let dst = self.bytes_mut();
        if o + bytes.len() > dst.len() {
            return Err(format!("{who} does not fit its buffer"));
        }
        dst[o..o + bytes.len()].copy_from_slice(&bytes);
        Ok(())
    }

    /// Runs the program on inputs already checked against the concrete input types.
    pub fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
        let g_inputs = self.module.graph.inputs.clone();
        for (k, (t, v)) in inputs.iter().zip(g_inputs).enumerate() {
            self.write(v, t, &format!("input {k}"))?;
        }
        for si in 0..self.steps.len() {
            let t0 = self.profile.is_some().then(std::time::Instant::now);
            match self.steps[si] {
                Step::Kernel(f) => {
                    let p = self.arena.as_mut_ptr() as *mut u8;
                    // SAFETY: every kernel only touches the arena ranges the plan assigned to
                    // its operands and results (sizes from the concrete types the inputs were
                    // checked against) and constant data owned by this program.
                    unsafe { f(p) }
                }
                Step::Interp(i) => self.interpret(i)?,
            }
            if let (Some(p), Some(t0)) = (self.profile.as_mut(), t0) {
                if p.len() <= si {
                    p.resize(si + 1, (0, std::time::Duration::ZERO, 0));
                }
                let node = match self.steps[si] {
                    Step::Interp(i) => i,
                    Step::Kernel(_) => usize::MAX,
                };
                p[si].0 = node;
                p[si].1 += t0.elapsed();
                p[si].2 += 1;
            }
        }
        let outs = self.module.graph.outputs.clone();
        outs.into_iter().map(|v| self.read(v)).collect()
    }

    fn interpret(&mut self, i: usize) -> Result<(), String> {
        let node = self.module.graph.nodes[i].clone();
        let mut ins = Vec::with_capacity(node.inputs.len());
        for &v in &node.inputs {
            ins.push(self.read(v)?);
        }
        let refs: Vec<&Tensor> = ins.iter().collect();
        let outs =
            qcc_ir::interp::run_node(&self.module, &node, &refs).map_err(|e| e.to_string())?;
        if outs.len() != node.outputs.len() {
            return Err(node_err(&self.module, i, "wrong number of results"));
        }
        for (k, (t, &v)) in outs.iter().zip(&node.outputs).enumerate() {
            self.write(v, t, &format!("result {k}"))
                .map_err(|e| node_err(&self.module, i, e))?;
        }
        Ok(())
    }
}

impl Drop for Program {
    /// With `QCC_JIT_PROFILE` set, prints the time of each step (slowest first) to stderr:
    /// the 15 slowest, or as many as the variable's value when it is a number.
    fn drop(&mut self) {
        let Some(p) = &self.profile else { return };
        let top = std::env::var("QCC_JIT_PROFILE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(15);
        let total: f64 = p.iter().map(|s| s.1.as_secs_f64()).sum();
        let mut rows: Vec<(usize, &(usize, std::time::Duration, u32))> =
            p.iter().enumerate().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1 .1));
        eprintln!(
            "qcc jit profile: {} steps, {:.3} ms per run",
            p.len(),
            total * 1e3 / p.first().map_or(1, |s| s.2.max(1)) as f64
        );
        for (si, (node, t, n)) in rows.into_iter().take(top) {
            let what = if *node == usize::MAX {
                self.step_names.get(si).cloned().unwrap_or_default()
            } else {
                format!("{} (interpreted)", self.module.graph.nodes[*node].op.name())
            };
            eprintln!(
                "  step {si:3} {what:50} {:8.3} ms/run {:5.1}%",
                t.as_secs_f64() * 1e3 / (*n).max(1) as f64,
                100.0 * t.as_secs_f64() / total.max(1e-12)
            );
        }
    }
}
