//! The reference interpreter: the semantic oracle of the compiler.
//!
//! Executes a [`Module`] node by node (nodes are topologically sorted) with plain, obviously
//! right loops. Float ops follow the ONNX operator specification (latest opset) and ONNX's
//! numpy reference implementation; float convolutions, matmuls and gemms accumulate in the
//! element type in natural index order. Quantized integer ops (`qconv`, `qmatmul`, `qgemm`)
//! accumulate in int32 (wrapping) and requantize with the module's [`crate::RequantMode`]
//! using the shared arithmetic in [`crate::quant`].
//!
//! Nothing here panics on bad input: every shape, axis and index is checked and reported as
//! [`Error::Exec`] naming the node (`node 'NAME' (op): ...`) or the graph input.
//!
//! Memory: a value's tensor is dropped right after its last use; graph inputs are borrowed
//! and constants are shared (`Arc`), never copied unless they are returned as outputs.

mod broadcast;
mod conv;
mod eigen_sum;
mod elementwise;
mod layout;
mod linalg;
mod mlas;
pub use conv::{pool_taps, PoolTaps};
pub use layout::onnx_range;
pub use mlas::sgemm_strides;
pub use qsoftmax::exp_table as qsoftmax_exp_table;
/// The constants of ONNX Runtime's f32 erf (`MlasErfConstants`), for kernels that compute it
/// the interpreter's way.
pub mod mlas_erf {
    pub use super::mlas_activations::{
        ERF_BIG, ERF_EXP_C, ERF_EXP_LOG2_HI, ERF_EXP_LOG2_LO, ERF_EXP_LOG2_RECIPROCAL,
        ERF_EXP_LOWER, ERF_EXP_P, ERF_SMALL, ERF_SPLIT, ERF_UPPER_ABS,
    };
}
/// The constants of ONNX Runtime's f32 exp (`MlasExpConstants`, AVX512F kernels), for
/// kernels that compute softmax the interpreter's way.
pub mod mlas_exp {
    pub use super::mlas_softmax::{
        LOG2_HIGH, LOG2_LOW, LOG2_RECIPROCAL, LOWER_RANGE, POLY, ROUNDING_BIAS, UPPER_RANGE,
    };
}
pub use tflite_lut16::int16_lut_f32;

/// The error function in f64, accurate to a few ulps (its f32 rounding is the correctly
/// rounded `erff` but in rare ties); what frontends use to build tables of `erf`-based
/// activations.
pub fn erf(x: f64) -> f64 {
    elementwise::erf(x)
}
mod mlas_activations;
mod mlas_pool;
mod mlas_softmax;
mod norm;
mod qpool;
mod qsoftmax;
mod quant_ops;
mod reduce;
mod resize;
mod resize_bilinear;
#[cfg(test)]
mod tests;
mod tflite_lstm;
mod tflite_lut16;
mod tflite_ops;
mod tflite_softmax16;

use crate::{
    Data, Dim, Element, Engine, Error, Module, Node, Op, QParams, Result, Tensor, TensorType,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Result type of the op kernels: the message is prefixed with the node by the caller.
pub(crate) type R<T> = std::result::Result<T, String>;

/// The reference interpreter over a borrowed module.
pub struct Interpreter<'m> {
    module: &'m Module,
    /// How many times each value is read (node operands plus graph outputs).
    uses: Vec<u32>,
}

impl<'m> Interpreter<'m> {
    /// Prepares an interpreter for `module` (cheap: counts value uses).
    pub fn new(module: &'m Module) -> Self {
        let g = &module.graph;
        let mut uses = vec![0u32; g.values.len()];
        let mut bump = |v: crate::ValueId| {
            if let Some(u) = uses.get_mut(v.0 as usize) {
                *u += 1;
            }
        };
        for n in &g.nodes {
            n.inputs.iter().copied().for_each(&mut bump);
        }
        g.outputs.iter().copied().for_each(&mut bump);
        Interpreter { module, uses }
    }

    /// Checks value and constant ids once, so the run loop can index freely.
    fn check_structure(&self) -> Result<()> {
        let g = &self.module.graph;
        let nv = g.values.len();
        let bad = |v: crate::ValueId| v.0 as usize >= nv;
        for (i, v) in g.inputs.iter().enumerate() {
            if bad(*v) {
                return Err(Error::Exec(format!(
                    "graph input {i} refers to missing value %{}",
                    v.0
                )));
            }
        }
        for (i, v) in g.outputs.iter().enumerate() {
            if bad(*v) {
                return Err(Error::Exec(format!(
                    "graph output {i} refers to missing value %{}",
                    v.0
                )));
            }
        }
        for n in &g.nodes {
            if let Some(v) = n.inputs.iter().chain(&n.outputs).find(|v| bad(**v)) {
                return Err(Error::Exec(format!(
                    "node '{}' ({}): refers to missing value %{}",
                    n.name,
                    n.op.name(),
                    v.0
                )));
            }
            if let Op::Const(c) = &n.op {
                if c.0 as usize >= self.module.consts.len() {
                    return Err(Error::Exec(format!(
                        "node '{}' (const): constant #{} does not exist",
                        n.name, c.0
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks the run-time inputs against the graph input types and binds symbolic dims.
    fn check_inputs(&self, inputs: &[Tensor]) -> Result<HashMap<String, usize>> {
        let g = &self.module.graph;
        if inputs.len() != g.inputs.len() {
            return Err(Error::Exec(format!(
                "expected {} input(s), got {}",
                g.inputs.len(),
                inputs.len()
            )));
        }
        // sym name -> (size, input index that bound it)
        let mut syms: HashMap<String, (usize, usize)> = HashMap::new();
        for (i, (t, &v)) in inputs.iter().zip(&g.inputs).enumerate() {
            let val = g.value(v);
            let ty = &val.ty;
            let who = format!("input {i} ('{}')", val.name);
            let n = checked_numel(&t.shape)
                .ok_or_else(|| Error::Exec(format!("{who}: shape {:?} is too large", t.shape)))?;
            if n != t.data.len() {
                return Err(Error::Exec(format!(
                    "{who}: shape {:?} needs {n} elements but the data has {}",
                    t.shape,
                    t.data.len()
                )));
            }
            if t.dtype() != ty.dtype {
                return Err(Error::Exec(format!(
                    "{who}: expected dtype {}, got {}",
                    ty.dtype,
                    t.dtype()
                )));
            }
            if t.shape.len() != ty.rank() {
                return Err(Error::Exec(format!(
                    "{who}: expected rank {} (shape {}), got rank {} (shape {:?})",
                    ty.rank(),
                    type_shape_str(&ty.shape),
                    t.shape.len(),
                    t.shape
                )));
            }
            for (d, (dim, &got)) in ty.shape.iter().zip(&t.shape).enumerate() {
                match dim {
                    Dim::Fixed(want) if *want != got => {
                        return Err(Error::Exec(format!(
                            "{who}: dim {d} expected {want}, got {got} (expected shape {}, got {:?})",
                            type_shape_str(&ty.shape),
                            t.shape
                        )));
                    }
                    Dim::Sym(s) => match syms.get(s) {
                        Some(&(size, j)) if size != got => {
                            let other = &g.value(g.inputs[j]).name;
                            return Err(Error::Exec(format!(
                                "{who}: dim {d} ('{s}') is {got} but input {j} ('{other}') bound '{s}' to {size}"
                            )));
                        }
                        Some(_) => {}
                        None => {
                            syms.insert(s.clone(), (got, i));
                        }
                    },
                    _ => {}
                }
            }
        }
        Ok(syms.into_iter().map(|(k, (v, _))| (k, v)).collect())
    }

    /// Checks a node result against its declared type (dtype, rank, fixed and bound dims).
    fn check_result(
        &self,
        node: &Node,
        k: usize,
        t: &Tensor,
        syms: &HashMap<String, usize>,
    ) -> Result<()> {
        let val = self.module.graph.value(node.outputs[k]);
        let ty = &val.ty;
        let fail = |msg: String| {
            Err(Error::Exec(format!(
                "node '{}' ({}): result {k} ('{}') {msg}",
                node.name,
                node.op.name(),
                val.name
            )))
        };
        if t.dtype() != ty.dtype {
            return fail(format!(
                "has dtype {} but its type says {}",
                t.dtype(),
                ty.dtype
            ));
        }
        let ok = t.shape.len() == ty.rank()
            && ty.shape.iter().zip(&t.shape).all(|(d, &n)| match d {
                Dim::Fixed(m) => *m == n,
                Dim::Sym(s) => syms.get(s).is_none_or(|&m| m == n),
                Dim::Any => true,
            });
        if !ok {
            return fail(format!(
                "has shape {:?} but its type says {}",
                t.shape,
                type_shape_str(&ty.shape)
            ));
        }
        Ok(())
    }
}

/// Storage of one SSA value during a run.
enum Slot<'a> {
    /// Not computed yet, or already freed.
    Empty,
    /// A graph input.
    Borrowed(&'a Tensor),
    /// A constant.
    Shared(Arc<Tensor>),
    /// A node result.
    Owned(Tensor),
}

impl Slot<'_> {
    fn get(&self) -> Option<&Tensor> {
        match self {
            Slot::Empty => None,
            Slot::Borrowed(t) => Some(t),
            Slot::Shared(t) => Some(t),
            Slot::Owned(t) => Some(t),
        }
    }
}

impl Engine for Interpreter<'_> {
    fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.check_structure()?;
        let syms = self.check_inputs(inputs)?;
        let g = &self.module.graph;
        let mut slots: Vec<Slot> = (0..g.values.len()).map(|_| Slot::Empty).collect();
        for (t, &v) in inputs.iter().zip(&g.inputs) {
            slots[v.0 as usize] = Slot::Borrowed(t);
        }
        let mut remaining = self.uses.clone();
        for node in &g.nodes {
            let node_err =
                |m: String| Error::Exec(format!("node '{}' ({}): {m}", node.name, node.op.name()));
            if node.outputs.is_empty() {
                return Err(node_err("has no results".into()));
            }
            if let Op::Const(c) = &node.op {
                let data = self.module.consts[c.0 as usize].data.clone();
                if node.outputs.len() != 1 || !node.inputs.is_empty() {
                    return Err(node_err("expects no operands and one result".into()));
                }
                if checked_numel(&data.shape) != Some(data.data.len()) {
                    return Err(node_err(format!(
                        "constant data has {} elements but its shape is {:?}",
                        data.data.len(),
                        data.shape
                    )));
                }
                self.check_result(node, 0, &data, &syms)?;
                slots[node.outputs[0].0 as usize] = Slot::Shared(data);
            } else {
                let outs = {
                    let mut ins: Vec<&Tensor> = Vec::with_capacity(node.inputs.len());
                    for (i, &v) in node.inputs.iter().enumerate() {
                        match slots[v.0 as usize].get() {
                            Some(t) => ins.push(t),
                            None => {
                                return Err(node_err(format!(
                                    "operand {i} ('{}') has no value (used before it is defined)",
                                    g.value(v).name
                                )))
                            }
                        }
                    }
                    let ctx = Ctx {
                        module: self.module,
                        node,
                        syms: Some(&syms),
                    };
                    if let Some(shape) = layout::view_shape(&ctx, &ins).map_err(node_err)? {
                        // Shape-only op: move the buffer when this is the operand's last use.
                        let v0 = node.inputs[0].0 as usize;
                        drop(ins);
                        let t = if remaining[v0] == 1 && matches!(slots[v0], Slot::Owned(_)) {
                            match std::mem::replace(&mut slots[v0], Slot::Empty) {
                                Slot::Owned(t) => t.data,
                                _ => unreachable!("checked above"),
                            }
                        } else {
                            slots[v0]
                                .get()
                                .map(|t| t.data.clone())
                                .unwrap_or_else(|| Data::F32(vec![]))
                        };
                        vec![Tensor { shape, data: t }]
                    } else {
                        exec(&ctx, &ins).map_err(node_err)?
                    }
                };
                if outs.len() != node.outputs.len() {
                    return Err(node_err(format!(
                        "produced {} result(s) but the node has {}",
                        outs.len(),
                        node.outputs.len()
                    )));
                }
                for (k, t) in outs.into_iter().enumerate() {
                    self.check_result(node, k, &t, &syms)?;
                    slots[node.outputs[k].0 as usize] = Slot::Owned(t);
                }
            }
            for &v in &node.inputs {
                let r = &mut remaining[v.0 as usize];
                *r = r.saturating_sub(1);
                if *r == 0 {
                    slots[v.0 as usize] = Slot::Empty;
                }
            }
            for &v in &node.outputs {
                if remaining[v.0 as usize] == 0 {
                    slots[v.0 as usize] = Slot::Empty;
                }
            }
        }
        let mut result = Vec::with_capacity(g.outputs.len());
        for (i, &v) in g.outputs.iter().enumerate() {
            let idx = v.0 as usize;
            let r = &mut remaining[idx];
            *r = r.saturating_sub(1);
            let t = if *r == 0 {
                match std::mem::replace(&mut slots[idx], Slot::Empty) {
                    Slot::Owned(t) => Some(t),
                    other => other.get().cloned(),
                }
            } else {
                slots[idx].get().cloned()
            };
            match t {
                Some(t) => result.push(t),
                None => {
                    return Err(Error::Exec(format!(
                        "graph output {i} ('{}') is never computed",
                        g.value(v).name
                    )))
                }
            }
        }
        Ok(result)
    }
}

/// Runs `module` once on `inputs` with the reference interpreter.
pub fn run(module: &Module, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    Interpreter::new(module).run(inputs)
}

/// Executes one node of `module` on the given operand tensors and returns its results, with
/// the same semantics (and error messages, prefixed with the node) as a full run.
///
/// For engines that compile most of a graph and hand the remaining nodes to the oracle. The
/// results are not checked against the node's result types; the caller does that.
pub fn run_node(module: &Module, node: &Node, ins: &[&Tensor]) -> Result<Vec<Tensor>> {
    let node_err =
        |m: String| Error::Exec(format!("node '{}' ({}): {m}", node.name, node.op.name()));
    if let Op::Const(c) = &node.op {
        return module
            .consts
            .get(c.0 as usize)
            .map(|k| vec![(*k.data).clone()])
            .ok_or_else(|| node_err(format!("constant #{} does not exist", c.0)));
    }
    let ctx = Ctx {
        module,
        node,
        syms: None,
    };
    if let Some(shape) = layout::view_shape(&ctx, ins).map_err(node_err)? {
        let data = ins
            .first()
            .map(|t| t.data.clone())
            .unwrap_or(Data::F32(vec![]));
        return Ok(vec![Tensor { shape, data }]);
    }
    exec(&ctx, ins).map_err(node_err)
}

/// What an op kernel can see: the module (types, constants, requant mode) and its node.
pub(crate) struct Ctx<'a> {
    pub module: &'a Module,
    pub node: &'a Node,
    /// The symbolic dims the graph inputs bound (`None` for a single node run on its own,
    /// where the module's types are concrete).
    pub syms: Option<&'a HashMap<String, usize>>,
}

impl Ctx<'_> {
    /// Type of result `k`.
    pub fn out_ty(&self, k: usize) -> &TensorType {
        self.module.graph.ty(self.node.outputs[k])
    }

    /// Quantization parameters of operand `i` (an error when it has none).
    pub fn in_q(&self, i: usize) -> R<&QParams> {
        let v = self.module.graph.value(self.node.inputs[i]);
        v.ty.quant
            .as_ref()
            .ok_or_else(|| format!("operand {i} ('{}') has no quantization parameters", v.name))
    }

    /// Quantization parameters of result `k` (an error when it has none).
    pub fn out_q(&self, k: usize) -> R<&QParams> {
        let v = self.module.graph.value(self.node.outputs[k]);
        v.ty.quant
            .as_ref()
            .ok_or_else(|| format!("result {k} ('{}') has no quantization parameters", v.name))
    }

    /// The size of dim `d`: a fixed size, or a symbolic dim bound by the graph inputs.
    pub fn dim_size(&self, d: &Dim) -> R<usize> {
        match d {
            Dim::Fixed(n) => Ok(*n),
            Dim::Sym(s) => self
                .syms
                .and_then(|m| m.get(s).copied())
                .ok_or_else(|| format!("symbolic dim '{s}' is not bound by the graph inputs")),
            Dim::Any => Err("an unknown ('?') dim has no size".into()),
        }
    }

    /// Number of results.
    pub fn n_out(&self) -> usize {
        self.node.outputs.len()
    }
}

/// Runs one (non-const) node.
fn exec(ctx: &Ctx, ins: &[&Tensor]) -> R<Vec<Tensor>> {
    use crate::Op::*;
    let one = |t: Tensor| Ok(vec![t]);
    match &ctx.node.op {
        Const(_) => Err("const is handled by the run loop".into()),
        Quantize => one(quant_ops::quantize(ctx, ins)?),
        Dequantize => one(quant_ops::dequantize(ctx, ins)?),
        Requantize => one(quant_ops::requantize(ctx, ins)?),
        QuantizeLinear { axis, block_size } => {
            one(quant_ops::quantize_linear(ctx, ins, *axis, *block_size)?)
        }
        DequantizeLinear { axis, block_size } => {
            one(quant_ops::dequantize_linear(ctx, ins, *axis, *block_size)?)
        }
        DynamicQuantizeLinear => quant_ops::dynamic_quantize_linear(ctx, ins),
        Conv(a) => one(conv::conv(ins, a)?),
        ConvInteger(a) => one(conv::conv_integer(ins, a)?),
        QConv(a, _) => one(conv::qconv(ctx, ins, a)?),
        MatMul => one(linalg::matmul(ins)?),
        MatMulInteger => one(linalg::matmul_integer(ins)?),
        Gemm(a) => one(linalg::gemm(ins, a)?),
        QMatMul => one(linalg::qmatmul(ctx, ins)?),
        QGemm(a, _) => one(linalg::qgemm(ctx, ins, a)?),
        QAdd => one(quant_ops::qadd(ctx, ins)?),
        QGlobalAvgPool => one(quant_ops::qglobal_avgpool(ctx, ins)?),
        Lut => one(quant_ops::lut(ctx, ins)?),
        QMul => one(quant_ops::qmul(ctx, ins)?),
        QSub => one(tflite_ops::qsub(ctx, ins)?),
        QAvgPool(a) => one(qpool::qavgpool(ctx, ins, a)?),
        QSoftmax { axis, beta } => one(qsoftmax::qsoftmax(ctx, ins, *axis, *beta)?),
        QMean { axes, keepdims } => one(tflite_ops::qmean(ctx, ins, axes, *keepdims)?),
        QFullyConnected => one(tflite_ops::qfully_connected(ctx, ins)?),
        TfliteLstm {
            time_major,
            cell_clip,
            hidden_scale,
            hidden_zp,
        } => one(tflite_lstm::tflite_lstm(
            ctx,
            ins,
            &tflite_lstm::LstmAttrs {
                time_major: *time_major,
                cell_clip: *cell_clip,
                hidden_scale: *hidden_scale,
                hidden_zp: *hidden_zp,
            },
        )?),
        BatchNorm {
            epsilon,
            momentum,
            training,
        } => reduce::batchnorm(ctx, ins, *epsilon, *momentum, *training),
        Binary(b) => one(elementwise::binary(ins, *b)?),
        Unary(u) => one(elementwise::unary(ins, *u)?),
        Where => one(elementwise::where_(ins)?),
        LeakyRelu { alpha } => one(elementwise::leaky_relu(ins, *alpha)?),
        HardSigmoid { alpha, beta } => one(elementwise::hard_sigmoid(ins, *alpha, *beta)?),
        Clip { min, max } => one(elementwise::clip(ins, *min, *max)?),
        Cast { to } => one(elementwise::cast(ins, *to)?),
        Softmax { axis } => one(elementwise::softmax(ins, *axis)?),
        LayerNorm { axis, epsilon } => one(norm::layer_norm(ins, *axis, *epsilon)?),
        ResizeNearest {
            sizes,
            scales,
            coord,
            nearest,
        } => one(resize::resize_nearest(ins, sizes, scales, coord, nearest)?),
        ResizeBilinear { sizes, coord } => {
            one(resize_bilinear::resize_bilinear(ins, sizes, coord)?)
        }
        MaxPool(a) => conv::maxpool(ctx, ins, a),
        AvgPool(a) => one(conv::avgpool(ins, a)?),
        GlobalAvgPool => one(reduce::global_pool(ins, false)?),
        GlobalMaxPool => one(reduce::global_pool(ins, true)?),
        Arg {
            op,
            axis,
            keepdims,
            select_last_index,
        } => one(reduce::arg(ins, *op, *axis, *keepdims, *select_last_index)?),
        Reduce {
            op,
            axes,
            keepdims,
            noop_with_empty_axes,
        } => one(reduce::reduce(
            ins,
            *op,
            axes.as_deref(),
            *keepdims,
            *noop_with_empty_axes,
        )?),
        Transpose { perm } => one(layout::transpose(ins, perm)?),
        Expand { shape } => one(layout::expand(ctx, ins, shape)?),
        Gather { axis } => one(layout::gather_axis(ins, *axis)?),
        Range {
            start,
            delta,
            len,
            to,
        } => one(layout::range(ctx, ins, (*start, *delta), len, *to)?),
        Slice {
            starts,
            ends,
            axes,
            steps,
        } => one(layout::slice(ins, starts, ends, axes, steps)?),
        Pad { mode, pads, value } => one(layout::pad(ins, *mode, pads, *value)?),
        Concat { axis } => one(layout::concat(ins, *axis)?),
        Split { axis, sizes } => layout::split(ctx, ins, *axis, sizes),
        Identity | Reshape { .. } | Flatten { .. } | Squeeze { .. } | Unsqueeze { .. } => {
            Err("shape-only op reached the generic path".into())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the kernels.

/// Element count of a shape, `None` on overflow.
pub(crate) fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Largest tensor the interpreter creates (elements); larger results are reported as errors
/// instead of exhausting memory.
pub(crate) const MAX_ELEMENTS: usize = 1 << 32;

/// Element count of a shape, as a kernel error on overflow or above [`MAX_ELEMENTS`].
pub(crate) fn numel(shape: &[usize]) -> R<usize> {
    match checked_numel(shape) {
        Some(n) if n <= MAX_ELEMENTS => Ok(n),
        _ => Err(format!("shape {shape:?} has too many elements")),
    }
}

/// Saturating product of dims (0 when any dim is 0): for sizes derived from existing
/// tensors, where only zero-size tensors with huge other dims could overflow.
pub(crate) fn prod(dims: &[usize]) -> usize {
    if dims.contains(&0) {
        return 0;
    }
    dims.iter().fold(1usize, |a, &d| a.saturating_mul(d))
}

/// Row-major strides of a shape.
pub(crate) fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Normalises an ONNX axis in `[-rank, rank - 1]`.
pub(crate) fn norm_axis(axis: i64, rank: usize) -> R<usize> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(if axis < 0 { axis + r } else { axis } as usize)
}

/// Checks the operand count.
pub(crate) fn arity(ins: &[&Tensor], min: usize, max: usize) -> R<()> {
    if ins.len() < min || ins.len() > max {
        if min == max {
            return Err(format!("expects {min} operand(s), got {}", ins.len()));
        }
        return Err(format!(
            "expects {min} to {max} operands, got {}",
            ins.len()
        ));
    }
    Ok(())
}

/// Borrows the elements of `t` as `T`, or reports the dtype mismatch.
pub(crate) fn typed<'t, T: Element>(t: &'t Tensor, what: &str) -> R<&'t [T]> {
    t.as_slice::<T>()
        .ok_or_else(|| format!("{what} must be {}, got {}", T::DTYPE, t.dtype()))
}

/// Reads an integer tensor (a dynamic-form parameter) as i64 values.
pub(crate) fn ints(t: &Tensor, what: &str) -> R<Vec<i64>> {
    if !t.dtype().is_int() {
        return Err(format!(
            "{what} must be an integer tensor, got {}",
            t.dtype()
        ));
    }
    Ok(t.data.to_i64_vec())
}

/// Gathers `data[idx[i]]` into a new buffer of the same element type.
pub(crate) fn gather(data: &Data, idx: &[usize]) -> Data {
    fn go<T: Element>(v: &[T], idx: &[usize]) -> Data {
        T::wrap(idx.iter().map(|&i| v[i]).collect())
    }
    crate::with_data!(data, v => go(v, idx))
}

/// Index sentinel for "no source element" in gather maps.
pub(crate) const NONE: usize = usize::MAX;

/// Gathers with a fill value for [`NONE`] indices.
pub(crate) fn gather_fill(data: &Data, idx: &[usize], fill: &Data) -> Data {
    fn go<T: Element>(v: &[T], idx: &[usize], fill: T) -> Data {
        T::wrap(
            idx.iter()
                .map(|&i| if i == NONE { fill } else { v[i] })
                .collect(),
        )
    }
    fn first<T: Element>(d: &Data) -> T {
        T::unwrap(d)
            .and_then(|v| v.first().copied())
            .unwrap_or_else(|| T::from_i64(0))
    }
    crate::with_data!(data, v => go(v, idx, first(fill)))
}

/// Calls `f(out_flat, in_multi_index)` style iteration: for every multi-index of `shape` in
/// row-major order, returns the flat offsets `sum(idx[d] * strides[d])` for the given strides.
pub(crate) fn strided_offsets(shape: &[usize], strides: &[usize], base: usize) -> Vec<usize> {
    let n = prod(shape);
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let rank = shape.len();
    let mut idx = vec![0usize; rank];
    let mut off = base;
    for _ in 0..n {
        out.push(off);
        // Odometer increment.
        let mut d = rank;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            off += strides[d];
            if idx[d] < shape[d] {
                break;
            }
            off -= strides[d] * shape[d];
            idx[d] = 0;
        }
    }
    out
}

/// `[N, C, H]`-style rendering of a type shape.
fn type_shape_str(shape: &[Dim]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}
