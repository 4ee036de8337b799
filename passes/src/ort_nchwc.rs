//! ONNX Runtime's NCHWc layout transformer, as far as it changes float arithmetic: with
//! ORT_ENABLE_ALL on an AVX-512 host (MLAS NCHWc block size 16) a float 4-D AveragePool
//! whose channel count is a multiple of 16 runs MLAS's NCHWc pooling kernel, which sums
//! each window from zero in row-major order and divides by the tap count, instead of the
//! `MlasPool` kernels `-O0` reproduces (columns summed over rows first). At `-O2` such a
//! pool takes the row-major order ([`qcc_ir::PoolAttrs::row_major_sum`]). A float pool
//! survives between Q/DQ only where ONNX Runtime leaves the group unfused (an int8
//! activation it cannot convert, see `ort_uint8_group`), e.g. DenseNet's transition pools
//! in an s8s8 model. (onnxruntime/core/optimizer/nchwc_transformer.cc, `TransformPool`.)

use qcc_ir::{DType, Dim, Module, Op, RequantMode};

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
