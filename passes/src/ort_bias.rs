//! ONNX Runtime's `WeightBiasQuantization` graph transformer, which every ORT_ENABLE_ALL
//! session runs before fusing Q/DQ groups: a float `Conv` / `Gemm` bias next to a
//! dequantized input and dequantized weights becomes `DequantizeLinear(Cast<int32>(Round(
//! bias / (s_x * s_w))))` with scale `s_x * s_w` (each step in f32, the round half to
//! even). The integer-op rules then see an int32 bias on the `s_x * s_w` grid, and a conv
//! that stays in float (a group ONNX Runtime does not fuse) adds the rounded bias, as ONNX
//! Runtime's float kernel does. It is a pass, not a rule: it changes the float graph's
//! value (by less than half a bias step), which is what `-O2` means for an ONNX model but
//! not an equivalence the e-graph may choose to ignore.
//!
//! Conditions, as onnxruntime/core/optimizer/qdq_transformer/weight_bias_quantization.cc
//! checks them: input 0 dequantized per tensor; the result reaches a QuantizeLinear
//! through single-user Relu / Clip only; weights dequantized per tensor or along the output
//! channel (axis 0 for Conv, `trans_b ? 0 : 1` for Gemm) with one scale per bias element;
//! a 1-D f32 constant bias. (ONNX Runtime also quantizes float weight initializers in that
//! position; qcc leaves them float.)

use crate::uses::Uses;
use qcc_ir::quant::round_half_even;
use qcc_ir::{
    DType, Data, Module, Node, Op, QParams, RequantMode, Tensor, TensorType, UnaryOp, ValueId,
};
use std::collections::HashMap;

/// Rewrites every eligible float bias; returns how many.
pub fn quantize_float_biases(module: &mut Module) -> usize {
    if module.requant != RequantMode::Float {
        return 0;
    }
    let g = &module.graph;
    let uses = Uses::new(g);
    let mut plans: HashMap<usize, (Tensor, TensorType)> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let expected_axis = match &n.op {
            Op::Conv(_) => 0,
            Op::Gemm(a) => usize::from(!a.trans_b),
            _ => continue,
        };
        if n.inputs.len() < 3 {
            continue;
        }
        let dq_input = |v: ValueId| {
            uses.produced_by(v, |op| matches!(op, Op::Dequantize))
                .and_then(|p| g.ty(p.inputs[0]).quant.clone())
        };
        let Some(qx) = dq_input(n.inputs[0]).filter(QParams::is_per_tensor) else {
            continue;
        };
        let Some(qw) = dq_input(n.inputs[1]) else {
            continue;
        };
        let Some(Op::Const(bc)) = uses.producer(n.inputs[2]).map(|p| &p.op) else {
            continue;
        };
        let bias = module.constant(*bc);
        let Some(b) = bias.data.as_slice::<f32>() else {
            continue;
        };
        if bias.data.shape.len() != 1 {
            continue;
        }
        if !qw.is_per_tensor() && (qw.axis != Some(expected_axis) || qw.scale.len() != b.len()) {
            continue;
        }
        // The result must reach a quantize through single-user relu / clip nodes.
        let mut v = n.outputs[0];
        let reaches_q = loop {
            let Some(u) = uses.only_user(v, |_| true) else {
                break false;
            };
            match (&g.nodes[u].op, g.nodes[u].outputs.first()) {
                (Op::Quantize, _) => break true,
                (Op::Unary(UnaryOp::Relu) | Op::Clip { .. }, Some(&o)) => v = o,
                _ => break false,
            }
        };
        if !reaches_q {
            continue;
        }
        let scales: Vec<f32> = (0..b.len())
            .map(|c| qx.scale[0] * qw.scale[if qw.is_per_tensor() { 0 } else { c }])
            .collect();
        let q: Vec<i32> = b
            .iter()
            .zip(&scales)
            .map(|(&x, &s)| round_half_even(x / s).clamp(i32::MIN as f32, i32::MAX as f32) as i32)
            .collect();
        let qp = if qw.is_per_tensor() {
            QParams::per_tensor(scales[0], 0)
        } else {
            QParams::per_axis(scales, vec![0; b.len()], 0)
        };
        let ty = TensorType::new(DType::I32, &[b.len()]).quantized(qp);
        plans.insert(i, (Tensor::new(vec![b.len()], Data::I32(q)), ty));
    }
    let count = plans.len();
    if count == 0 {
        return 0;
    }
    let nodes = std::mem::take(&mut module.graph.nodes);
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len() + 2 * count);
    for (i, mut node) in nodes.into_iter().enumerate() {
        if let Some((t, ty)) = plans.remove(&i) {
            let base = format!("{}.bias_quantized", node.name);
            let c = module.add_const(base.clone(), ty.clone(), t);
            let f32_ty = module.graph.ty(node.inputs[2]).clone();
            let q =
                module
                    .graph
                    .add_node(base.clone(), Op::Const(c), vec![], vec![(base.clone(), ty)]);
            let dq = module.graph.add_node(
                format!("{base}.dequantize"),
                Op::Dequantize,
                q.clone(),
                vec![(format!("{base}.dq"), f32_ty)],
            );
            out.append(&mut module.graph.nodes);
            node.inputs[2] = dq[0];
        }
        out.push(node);
    }
    module.graph.nodes = out;
    count
}
