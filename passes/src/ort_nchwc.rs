//! ONNX Runtime's NCHWc layout transformer, as far as it changes float arithmetic: with
//! ORT_ENABLE_ALL on an AVX-512 host (MLAS NCHWc block size 16) a float 4-D AveragePool
//! whose channel count is a multiple of 16 runs MLAS's NCHWc pooling kernel, which sums
//! each window from zero in row-major order and divides by the tap count, instead of the
//! `MlasPool` kernels `-O0` reproduces (columns summed over rows first). At `-O2` such a
//! pool takes the row-major order ([`qcc_ir::PoolAttrs::row_major_sum`]). A float pool
//! survives between Q/DQ only where ONNX Runtime leaves the group unfused (an int8
//! activation it cannot convert, see `ort_uint8_group`), e.g. DenseNet's transition pools
//! in an s8s8 model. (onnxruntime/core/optimizer/nchwc_transformer.cc, `TransformPool`.)
//!
//! Its NHWC layout transformer and transpose optimizer move quantized convs to NHWC and
//! push the transposes through DequantizeLinear and a ReduceMean over the spatial axes when
//! the mean (a squeeze-and-excite pool) of a uint8 activation feeds another conv; that
//! ReduceMean then reduces the
//! middle axis of `[N, HW, C]` (its KRK path, a ones-vector SGEMM). [`nhwc_reduce_order`]
//! marks those means ([`qcc_ir::ReduceOp::MeanChannelsLast`]); a mean that feeds a flatten
//! and a Gemm (a classifier head), or of an int8 activation (PT2E), stays in NCHW. Checked
//! mean by mean on PyTorch FX-quantized RegNetY, EfficientNet-B0 and MobileNetV3 (their
//! squeeze-excite means match only in that order) and their PT2E versions (only in NCHW).

use crate::uses::Uses;
use qcc_ir::{DType, Dim, Module, Op, ReduceOp, RequantMode};

/// NCHWc block size of MLAS on AVX-512 (`MlasNchwcGetBlockSize`).
pub const BLOCK: usize = 16;

/// Switches eligible float average pools to the row-major summation; returns how many.
pub fn nchwc_pool_order(module: &mut Module) -> usize {
    if module.requant != RequantMode::Float {
        return 0;
    }
    let mut changed = 0;
    for i in 0..module.graph.nodes.len() {
        let x = match module.graph.nodes[i].inputs.first() {
            Some(&x) => x,
            None => continue,
        };
        let ty = module.graph.ty(x);
        let eligible = ty.dtype == DType::F32
            && ty.shape.len() == 4
            && matches!(ty.shape[1], Dim::Fixed(c) if c % BLOCK == 0);
        if let Op::AvgPool(a) = &mut module.graph.nodes[i].op {
            if eligible && !a.row_major_sum {
                a.row_major_sum = true;
                changed += 1;
            }
        }
    }
    changed
}

/// Marks float spatial means between Q/DQ whose result feeds a conv (through its
/// QuantizeLinear -> DequantizeLinear) as channels-last reductions; returns how many.
pub fn nhwc_reduce_order(module: &mut Module) -> usize {
    if module.requant != RequantMode::Float {
        return 0;
    }
    let g = &module.graph;
    let uses = Uses::new(g);
    let mut marked = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let Op::Reduce {
            op: ReduceOp::Mean,
            axes: Some(axes),
            keepdims: true,
            ..
        } = &n.op
        else {
            continue;
        };
        let ty = g.ty(n.inputs[0]);
        let spatial = {
            let mut a: Vec<i64> = axes
                .iter()
                .map(|&a| if a < 0 { a + 4 } else { a })
                .collect();
            a.sort_unstable();
            a == [2, 3]
        };
        if ty.dtype != DType::F32 || ty.shape.len() != 4 || !spatial || n.inputs.len() != 1 {
            continue;
        }
        // ONNX Runtime's NHWC transformer takes uint8 QLinearConv; int8 activations (PT2E)
        // stay NCHW.
        let uint8 = uses
            .produced_by(n.inputs[0], |op| matches!(op, Op::Dequantize))
            .is_some_and(|p| g.ty(p.inputs[0]).dtype == DType::U8);
        if !uint8 {
            continue;
        }
        let feeds_conv = uses
            .only_user_result(n.outputs[0], |op| matches!(op, Op::Quantize))
            .and_then(|q| uses.only_user_result(q, |op| matches!(op, Op::Dequantize)))
            .is_some_and(|dq| {
                uses.users(dq)
                    .iter()
                    .any(|&u| matches!(g.nodes[u].op, Op::Conv(_)))
            });
        if feeds_conv {
            marked.push(i);
        }
    }
    for &i in &marked {
        if let Op::Reduce { op, .. } = &mut module.graph.nodes[i].op {
            *op = ReduceOp::MeanChannelsLast;
        }
    }
    marked.len()
}
