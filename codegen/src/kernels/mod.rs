//! Kernel lowering: each supported node becomes one Cranelift function `fn(arena: *mut u8)`
//! with every shape, stride, zero point and multiplier baked in as a constant.
//!
//! * [`Fb`]: a thin layer over `FunctionBuilder` (counted loops, typed loads and stores).
//! * [`Requant`]: per-channel requantization tables and the exact epilogue.
//! * `conv` (with `pointwise` and `taps`), `conv_vnni` (+ `repack`), `gemm`, `fgemm`,
//!   `matmul_integer`, `lut`, `pool`, `eltwise`, `fbinary`, `dql`, `quant`: the op kernels.

pub mod bcast;
pub mod conv;
pub mod conv_vnni;
pub mod dql;
pub mod dw_vnni;
pub mod eltwise;
pub mod fbinary;
pub mod fconv;
pub mod ferf;
pub mod fgemm;
pub mod fsoftmax;
pub mod gather;
pub mod gemm;
pub mod gemm_cols;
pub mod layer_norm;
pub mod lut;
pub mod matmul_integer;
pub mod maxpool8;
pub mod pointwise;
pub mod pointwise16;
pub mod pool;
pub mod qavgpool;
pub mod qbinary;
pub mod qmatmul_act;
pub mod qmean;
pub mod qsoftmax;
pub mod quant;
pub mod repack;
pub mod requant;
pub mod simd;
pub mod taps;

use crate::plan::{Loc, Plan};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use qcc_ir::{DType, Module, Node, QParams, TensorType, ValueId};

pub use requant::Requant;

/// An address the generated code can form: an arena offset or an absolute host pointer
/// (constant data owned by the compiled program).
#[derive(Clone, Copy, Debug)]
pub enum Addr {
    /// Byte offset into the arena.
    Arena(usize),
    /// Absolute address of memory that outlives the compiled code.
    Abs(usize),
}

/// Owned constant data referenced by generated code (stable addresses).
#[derive(Default)]
pub struct Pool {
    bufs: Vec<Box<[u64]>>,
    by_const: std::collections::HashMap<u32, usize>,
}

impl Pool {
    /// Copies `bytes` into a new 8-byte aligned buffer and returns its address.
    pub fn add(&mut self, bytes: &[u8]) -> Addr {
        let mut b = vec![0u64; bytes.len().div_ceil(8).max(1)].into_boxed_slice();
        // SAFETY-free copy through a byte view of the u64 buffer.
        for (i, &x) in bytes.iter().enumerate() {
            let w = &mut b[i / 8];
            *w |= (x as u64) << (8 * (i % 8));
        }
        let a = b.as_ptr() as usize;
        self.bufs.push(b);
        Addr::Abs(a)
    }

    /// Adds i32 values.
    pub fn i32s(&mut self, v: &[i32]) -> Addr {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.add(&bytes)
    }

    /// Adds f32 values.
    pub fn f32s(&mut self, v: &[f32]) -> Addr {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.add(&bytes)
    }

    /// Adds i16 values.
    pub fn i16s(&mut self, v: &[i16]) -> Addr {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.add(&bytes)
    }

    /// The address of module constant `c` as little-endian bytes (copied once).
    pub fn constant(&mut self, m: &Module, c: u32) -> Result<Addr, String> {
        if let Some(&i) = self.by_const.get(&c) {
            return Ok(Addr::Abs(self.bufs[i].as_ptr() as usize));
        }
        let k = m
            .consts
            .get(c as usize)
            .ok_or_else(|| format!("constant #{c} does not exist"))?;
        let a = self.add(&k.data.data.to_le_bytes());
        self.by_const.insert(c, self.bufs.len() - 1);
        Ok(a)
    }
}

/// What a kernel lowering sees: the concrete module, its node, the plan and the pool.
pub struct Lower<'a> {
    /// The module with every symbolic dim bound.
    pub module: &'a Module,
    /// The node being lowered.
    pub node: &'a Node,
    /// The memory plan.
    pub plan: &'a Plan,
    /// Constant data owned by the program.
    pub pool: &'a mut Pool,
    /// Vector kernels allowed.
    pub simd: bool,
    /// The u8 x i8 dot product (`vpdpbusd`) is available.
    pub vnni: bool,
    /// Vector fused multiply-add (`vfmadd`) is available.
    pub fma: bool,
    /// Bytes of kernel scratch space the program reserves after the plan's buffers (the
    /// largest request of any kernel; kernels run one at a time).
    pub scratch: &'a mut usize,
    /// A clamp this node's kernel may apply as its epilogue ([`crate::fuse`]).
    pub epilogue: Option<crate::fuse::Epilogue>,
    /// Set when the kernel took the epilogue: result 0 is then stored into the clamp's
    /// result and the clamp node does not run.
    pub fused: bool,
}

impl Lower<'_> {
    /// Scratch space of `bytes` bytes (64-byte aligned, in the arena after every planned
    /// buffer), valid only while this node's kernel runs.
    pub fn scratch(&mut self, bytes: usize) -> Addr {
        *self.scratch = (*self.scratch).max(bytes);
        Addr::Arena(self.plan.arena_bytes.div_ceil(crate::plan::ALIGN) * crate::plan::ALIGN)
    }

    /// Type of operand `i`.
    pub fn in_ty(&self, i: usize) -> Result<&TensorType, String> {
        let v = self
            .node
            .inputs
            .get(i)
            .ok_or_else(|| format!("missing operand {i}"))?;
        Ok(self.module.graph.ty(*v))
    }

    /// Type of result `k`.
    pub fn out_ty(&self, k: usize) -> Result<&TensorType, String> {
        let v = self
            .node
            .outputs
            .get(k)
            .ok_or_else(|| format!("missing result {k}"))?;
        Ok(self.module.graph.ty(*v))
    }

    /// Fixed dims of operand `i`.
    pub fn in_dims(&self, i: usize) -> Result<Vec<usize>, String> {
        self.in_ty(i)?
            .fixed_dims()
            .ok_or_else(|| format!("operand {i} has no fixed shape"))
    }

    /// Fixed dims of result `k`.
    pub fn out_dims(&self, k: usize) -> Result<Vec<usize>, String> {
        self.out_ty(k)?
            .fixed_dims()
            .ok_or_else(|| format!("result {k} has no fixed shape"))
    }

    /// Address of value `v`.
    pub fn addr(&mut self, v: ValueId) -> Result<Addr, String> {
        match self.plan.loc.get(v.0 as usize).copied().flatten() {
            Some(Loc::Arena(o)) => Ok(Addr::Arena(o)),
            Some(Loc::Const(c)) => self.pool.constant(self.module, c),
            None => Err(format!("value %{} has no storage", v.0)),
        }
    }

    /// Address of operand `i`.
    pub fn in_addr(&mut self, i: usize) -> Result<Addr, String> {
        let v = self.node.inputs[i];
        self.addr(v)
    }

    /// Address of result `k` (result 0 of a fused kernel: the clamp's result).
    pub fn out_addr(&mut self, k: usize) -> Result<Addr, String> {
        let v = match (k, self.fused, self.epilogue) {
            (0, true, Some(e)) => e.out,
            _ => self.node.outputs[k],
        };
        self.addr(v)
    }

    /// Takes the fusable clamp `(lo, hi)`, when there is one: the kernel must apply it
    /// to result 0 (`x < lo -> lo`, then `x > hi -> hi`) and store through
    /// [`Lower::out_addr`], which now names the clamp's result. Call before `out_addr`.
    pub fn take_clamp(&mut self) -> Option<(Option<f32>, Option<f32>)> {
        let e = self.epilogue?;
        self.fused = true;
        Some((e.lo, e.hi))
    }

    /// The constant data of operand `i`, when it is a module constant.
    pub fn const_operand(&self, i: usize) -> Option<&qcc_ir::Tensor> {
        let v = *self.node.inputs.get(i)?;
        match self.plan.loc.get(v.0 as usize).copied().flatten() {
            Some(Loc::Const(c)) => self.module.consts.get(c as usize).map(|k| &*k.data),
            _ => None,
        }
    }

    /// Result 0's per-tensor `(scale, zero point, storage range)`, when it is quantized
    /// per tensor.
    pub fn out_q_tensor(&self) -> Option<(f32, i32, (i64, i64))> {
        let ty = self.out_ty(0).ok()?;
        let q = ty.quant.as_ref()?;
        let (s, z) = per_tensor(q)?;
        Some((s, z, q.storage_range(ty.dtype)))
    }

    /// The batching of a `matmul` of two run-time operands `[.., M, K] x [.., K, N]`: equal
    /// batch dims (leading 1s aside) or one operand shared by every batch; `None` for other
    /// broadcasts, mismatched depths or an empty depth.
    pub fn matmul_batches(&self) -> Result<Option<MatmulBatches>, String> {
        let (a_s, b_s) = (self.in_dims(0)?, self.in_dims(1)?);
        if a_s.len() < 2 || b_s.len() < 2 {
            return Ok(None);
        }
        let (m, k) = (a_s[a_s.len() - 2], a_s[a_s.len() - 1]);
        let (kb, n) = (b_s[b_s.len() - 2], b_s[b_s.len() - 1]);
        if k != kb || k == 0 {
            return Ok(None);
        }
        let lead = |s: &[usize]| -> Vec<usize> {
            let d = &s[..s.len() - 2];
            d[d.iter().take_while(|&&x| x == 1).count()..].to_vec()
        };
        let (na, nb): (usize, usize) = (
            a_s[..a_s.len() - 2].iter().product(),
            b_s[..b_s.len() - 2].iter().product(),
        );
        if na > 1 && nb > 1 && lead(&a_s) != lead(&b_s) {
            return Ok(None);
        }
        let batches = na.max(nb);
        if self.out_dims(0)?.iter().product::<usize>() != batches * m * n {
            return Ok(None);
        }
        Ok(Some(MatmulBatches {
            batches,
            a_batched: na > 1,
            b_batched: nb > 1,
            m,
            k,
            n,
        }))
    }

    /// A constant zero-point operand `i` for `n` channels (ONNX MatMulInteger /
    /// ConvInteger): absent or empty gives zeros, one value is broadcast; `None` when it is
    /// computed at run time or has another length.
    pub fn const_zero_points(&self, i: usize, n: usize) -> Option<Vec<i64>> {
        if i >= self.node.inputs.len() {
            return Some(vec![0; n]);
        }
        let v = self.const_operand(i)?.data.to_i64_vec();
        match v.as_slice() {
            [] => Some(vec![0; n]),
            [z] => Some(vec![*z; n]),
            _ if v.len() == n => Some(v),
            _ => None,
        }
    }

    /// Per-tensor quantization parameters of operand `i`.
    pub fn in_q_tensor(&self, i: usize) -> Option<(f32, i32)> {
        let q = self.in_ty(i).ok()?.quant.as_ref()?;
        per_tensor(q)
    }
}

/// `(scale, zero point)` of per-tensor parameters.
pub fn per_tensor(q: &QParams) -> Option<(f32, i32)> {
    (q.axis.is_none() && !q.scale.is_empty() && !q.zero_point.is_empty())
        .then(|| (q.scale[0], q.zero_point[0]))
}

/// A compiled-kernel body: emits its instructions into a function.
pub trait Kernel {
    /// Emits the body (everything between the entry block and the return).
    fn emit(&self, fb: &mut Fb);
}

/// Kernel lowering result: a kernel, or `None` when the node is not compiled.
pub type Lowered = Result<Option<Box<dyn Kernel>>, String>;

/// Lowers one node to a kernel when a kernel exists for it.
pub fn lower(l: &mut Lower) -> Lowered {
    use qcc_ir::Op;
    if l.module.requant == qcc_ir::RequantMode::FixedPoint && !fixed_point_kernel(l) {
        return Ok(None);
    }
    match &l.node.op {
        Op::QConv(a, c) => {
            if let Some(k) = conv_vnni::lower(l, a, c.0)? {
                return Ok(Some(k));
            }
            if let Some(k) = dw_vnni::lower(l, a, c.0)? {
                return Ok(Some(k));
            }
            if let Some(k) = pointwise16::lower(l, a, c.0)? {
                return Ok(Some(k));
            }
            conv::lower(l, a, c.0)
        }
        Op::QGemm(a, c) => gemm::lower_qgemm(l, a, c.0),
        Op::ConvInteger(a) => conv_vnni::lower_integer(l, a),
        Op::QMatMul if l.const_operand(1).is_some() => gemm::lower_qmatmul(l),
        Op::QMatMul => qmatmul_act::lower(l),
        Op::QSoftmax { axis, beta } => qsoftmax::lower(l, *axis, *beta),
        Op::Softmax { axis } => fsoftmax::lower(l, *axis),
        Op::LayerNorm { axis, epsilon } => layer_norm::lower(l, *axis, *epsilon),
        Op::QFullyConnected => gemm::lower_qfully_connected(l),
        Op::Gemm(a) => fgemm::lower_gemm(l, a),
        Op::Conv(a) => fconv::lower(l, a),
        Op::MatMul => fgemm::lower_matmul(l),
        Op::MatMulInteger => matmul_integer::lower(l),
        Op::Lut => lut::lower(l),
        Op::Binary(b) => fbinary::lower_binary(l, *b),
        Op::Cast { to } => fbinary::lower_cast(l, *to),
        Op::DynamicQuantizeLinear => dql::lower(l),
        Op::Unary(qcc_ir::UnaryOp::Relu) => eltwise::lower_clip(l, Some(0.0), None),
        Op::Unary(qcc_ir::UnaryOp::Erf) => ferf::lower(l),
        Op::QAdd if l.module.requant == qcc_ir::RequantMode::Float => {
            match eltwise::lower_qadd(l)? {
                Some(k) => Ok(Some(k)),
                None => qbinary::lower(l),
            }
        }
        Op::QAdd | Op::QSub | Op::QMul => qbinary::lower(l),
        Op::Clip { min, max } => eltwise::lower_clip(l, *min, *max),
        Op::MaxPool(a) => pool::lower_maxpool(l, a),
        Op::GlobalMaxPool => pool::lower_global_maxpool(l),
        Op::QGlobalAvgPool => pool::lower_qglobal_avgpool(l),
        Op::QAvgPool(a) => qavgpool::lower(l, a),
        Op::QMean { axes, .. } => qmean::lower(l, axes),
        Op::Transpose { .. }
        | Op::Slice { .. }
        | Op::Pad { .. }
        | Op::Concat { .. }
        | Op::Split { .. }
        | Op::ResizeNearest { .. }
        | Op::Expand { .. }
        | Op::Gather { .. } => gather::lower(l),
        Op::Quantize => quant::lower_quantize(l),
        Op::Dequantize => quant::lower_dequantize(l),
        Op::Requantize => quant::lower_requantize(l),
        _ => Ok(None),
    }
}

/// In fixed-point (TFLite) modules, the ops whose kernels reproduce the interpreter: the
/// integer convolutions and matmuls with an int32 bias, layout and pooling ops, dequantize
/// and requantize (TFLite's integer Requantize), TFLite's ADD / SUB / MUL, quantize (half
/// away from zero). Int64-bias convolutions (int16x8) accumulate in i64, which the kernels
/// do not implement yet, so they run through the interpreter.
fn fixed_point_kernel(l: &Lower) -> bool {
    use qcc_ir::Op;
    match &l.node.op {
        // i64 biases (int16x8): only the pointwise int16 kernel accumulates exactly.
        Op::QConv(..) => l.node.inputs.get(2).is_none_or(|&b| {
            l.module.graph.ty(b).dtype == qcc_ir::DType::I32
                || l.in_ty(0).is_ok_and(|t| t.dtype == qcc_ir::DType::I16)
        }),
        Op::QGemm(..) => l
            .node
            .inputs
            .get(2)
            .is_none_or(|&b| l.module.graph.ty(b).dtype == qcc_ir::DType::I32),
        _ => true,
    }
}

/// See [`Lower::matmul_batches`].
pub struct MatmulBatches {
    /// Products (the broadcast batch size).
    pub batches: usize,
    /// A and B advance with the batch (otherwise one matrix serves every batch).
    pub a_batched: bool,
    pub b_batched: bool,
    /// Rows, depth and columns of each product.
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

/// Function-building helpers over the arena pointer.
pub struct Fb<'a> {
    /// The underlying builder.
    pub b: FunctionBuilder<'a>,
    /// The arena base pointer (the function's only parameter).
    pub arena: Value,
}

/// Memory flags for kernel accesses: in bounds by construction, never trapping.
pub fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// Memory flags for reads of the program's constant tables (weights, requantization rows,
/// tap ranges): never written while the code runs, so loads may be hoisted out of loops.
pub fn const_flags() -> MemFlagsData {
    flags().with_readonly().with_can_move()
}

impl Fb<'_> {
    /// An i64 constant.
    pub fn c64(&mut self, v: i64) -> Value {
        self.b.ins().iconst(types::I64, v)
    }

    /// An i32 constant.
    pub fn c32(&mut self, v: i32) -> Value {
        self.b.ins().iconst(types::I32, v as i64)
    }

    /// An f32 constant.
    pub fn f32c(&mut self, v: f32) -> Value {
        self.b.ins().f32const(v)
    }

    /// Base address of a buffer.
    pub fn base(&mut self, a: Addr) -> Value {
        match a {
            Addr::Arena(o) => {
                if o == 0 {
                    self.arena
                } else {
                    self.b.ins().iadd_imm_s(self.arena, o as i64)
                }
            }
            Addr::Abs(p) => self.c64(p as i64),
        }
    }

    /// `base + idx * scale` (idx an i64).
    pub fn index(&mut self, base: Value, idx: Value, scale: usize) -> Value {
        let off = if scale == 1 {
            idx
        } else {
            self.b.ins().imul_imm_s(idx, scale as i64)
        };
        self.b.ins().iadd(base, off)
    }

    /// A new variable of type `ty` holding `init`.
    pub fn var(&mut self, ty: Type, init: Value) -> Variable {
        let v = self.b.declare_var(ty);
        self.b.def_var(v, init);
        v
    }

    /// `for i in lo..hi { body(i) }` with i64 bounds.
    pub fn for_range(&mut self, lo: Value, hi: Value, body: impl FnOnce(&mut Self, Value)) {
        let iv = self.var(types::I64, lo);
        let header = self.b.create_block();
        let body_blk = self.b.create_block();
        let exit = self.b.create_block();
        self.b.ins().jump(header, &[]);
        self.b.switch_to_block(header);
        let i = self.b.use_var(iv);
        let c = self.b.ins().icmp(IntCC::SignedLessThan, i, hi);
        self.b.ins().brif(c, body_blk, &[], exit, &[]);
        self.b.switch_to_block(body_blk);
        body(self, i);
        let i = self.b.use_var(iv);
        let next = self.b.ins().iadd_imm_s(i, 1);
        self.b.def_var(iv, next);
        self.b.ins().jump(header, &[]);
        self.b.switch_to_block(exit);
    }

    /// `for k in 0..n { body(p) }` over the pointers `p[j] = starts[j] + k * steps[j]`,
    /// carried as loop variables: one add per pointer and iteration instead of a multiply
    /// per use (Cranelift does not strength-reduce), and the first pointer bounds the loop
    /// (`steps[0]` must be positive). No loop for `n <= 1`.
    pub fn for_ptrs(
        &mut self,
        n: usize,
        starts: &[Value],
        steps: &[i64],
        body: impl FnOnce(&mut Self, &[Value]),
    ) {
        assert!(steps.len() == starts.len() && steps.first().is_some_and(|&s| s > 0));
        if n == 0 {
            return;
        }
        if n == 1 {
            body(self, starts);
            return;
        }
        let vars: Vec<_> = starts.iter().map(|&p| self.var(types::I64, p)).collect();
        let end = self.b.ins().iadd_imm_s(starts[0], n as i64 * steps[0]);
        let header = self.b.create_block();
        let body_blk = self.b.create_block();
        let exit = self.b.create_block();
        self.b.ins().jump(header, &[]);
        self.b.switch_to_block(header);
        let p0 = self.b.use_var(vars[0]);
        let c = self.b.ins().icmp(IntCC::UnsignedLessThan, p0, end);
        self.b.ins().brif(c, body_blk, &[], exit, &[]);
        self.b.switch_to_block(body_blk);
        let ptrs: Vec<Value> = vars.iter().map(|&v| self.b.use_var(v)).collect();
        body(self, &ptrs);
        for (&v, &step) in vars.iter().zip(steps) {
            let p = self.b.use_var(v);
            let next = self.b.ins().iadd_imm_s(p, step);
            self.b.def_var(v, next);
        }
        self.b.ins().jump(header, &[]);
        self.b.switch_to_block(exit);
    }

    /// `for i in 0..n { body(i) }` with a compile-time trip count (no loop for n <= 1).
    pub fn for_n(&mut self, n: usize, body: impl FnOnce(&mut Self, Value)) {
        if n == 0 {
            return;
        }
        if n == 1 {
            let z = self.c64(0);
            body(self, z);
            return;
        }
        let lo = self.c64(0);
        let hi = self.c64(n as i64);
        self.for_range(lo, hi, body);
    }

    /// `for i in lo..hi { body(i) }` with compile-time bounds (no loop for one iteration).
    pub fn for_span(&mut self, lo: usize, hi: usize, body: impl FnOnce(&mut Self, Value)) {
        if hi <= lo {
            return;
        }
        if hi == lo + 1 {
            let i = self.c64(lo as i64);
            body(self, i);
            return;
        }
        let lo = self.c64(lo as i64);
        let hi = self.c64(hi as i64);
        self.for_range(lo, hi, body);
    }

    /// `ptr` re-derived after the stores emitted so far: `ptr + *zero` with a load that
    /// may not move (`zero` an i64 zero in the pool). Pure (movable) loads from the
    /// result cannot be hoisted above those stores, which Cranelift would otherwise do
    /// for loop-invariant addresses (e.g. in a loop of one iteration).
    pub fn fence(&mut self, ptr: Value, zero: Addr) -> Value {
        let z = self.base(zero);
        let z = self.b.ins().load(types::I64, flags(), z, 0);
        self.b.ins().iadd(ptr, z)
    }

    /// Loads an integer element of `dt` widened to i32 (u8/i8/u16/i16/i32).
    pub fn load_int(&mut self, dt: DType, addr: Value, off: i32) -> Value {
        let f = flags();
        match dt {
            DType::U8 | DType::Bool => self.b.ins().uload8(types::I32, f, addr, off),
            DType::I8 => self.b.ins().sload8(types::I32, f, addr, off),
            DType::U16 => self.b.ins().uload16(types::I32, f, addr, off),
            DType::I16 => self.b.ins().sload16(types::I32, f, addr, off),
            _ => self.b.ins().load(types::I32, f, addr, off),
        }
    }

    /// Stores an i32 into an integer element of `dt` (truncating).
    pub fn store_int(&mut self, dt: DType, v: Value, addr: Value, off: i32) {
        let f = flags();
        match dt {
            DType::U8 | DType::I8 | DType::Bool => {
                self.b.ins().istore8(f, v, addr, off);
            }
            DType::U16 | DType::I16 => {
                self.b.ins().istore16(f, v, addr, off);
            }
            _ => {
                self.b.ins().store(f, v, addr, off);
            }
        }
    }
}

/// Saturation bounds of a quantized result: its storage range narrowed by a fused output
/// clamp `[lo, hi]` (an error when they do not meet, as in the interpreter).
pub fn out_bounds(
    (qmin, qmax): (i64, i64),
    clamp: Option<(i64, i64)>,
) -> Result<(i64, i64), String> {
    let (lo, hi) = match clamp {
        Some((lo, hi)) => (lo.max(qmin), hi.min(qmax)),
        None => (qmin, qmax),
    };
    if lo > hi {
        return Err(format!(
            "output clamp {clamp:?} does not meet the storage range [{qmin}, {qmax}]"
        ));
    }
    Ok((lo, hi))
}

/// True for the integer dtypes the kernels load as i32 without loss.
pub fn small_int(dt: DType) -> bool {
    matches!(
        dt,
        DType::U8 | DType::I8 | DType::U16 | DType::I16 | DType::I32
    )
}

/// Storage range of a quantized result.
pub fn qrange(ty: &TensorType) -> Option<(i64, i64)> {
    let q = ty.quant.as_ref()?;
    small_int(ty.dtype).then(|| q.storage_range(ty.dtype))
}
