//! ONNX Runtime's `DoubleQDQPairsRemover` (ORT_ENABLE_BASIC and above): a chain
//! `Q1 -> DQ1 -> Q2 -> DQ2` whose middle nodes have one edge each (no graph outputs) and
//! whose two pairs have different per-tensor parameters becomes `Q -> DQ` with parameters
//! covering the intersection of the two real ranges:
//! `real_min = max((qmin - z1) s1, (qmin - z2) s2)`, `real_max = min((qmax - z1) s1,
//! (qmax - z2) s2)`, `s = (real_max - real_min) / (qmax - qmin)`,
//! `z = round_half_away(qmin - real_min / s)`, all in f32. A PyTorch FX graph writes such a
//! chain where two observers meet (MNASNet's pooled features before its dropout); keeping
//! both roundings (qcc's `requantize`) gave different values from ONNX Runtime's one.
//! (onnxruntime/core/optimizer/double_qdq_pairs_remover.cc.)

use crate::uses::Uses;
use qcc_ir::{DType, Module, Op, QParams, RequantMode, ValueId};

/// The merged parameters of two per-tensor pairs of the same 8-bit dtype.
fn merged(dt: DType, p1: &QParams, p2: &QParams) -> Option<QParams> {
    let (qmin, qmax) = match dt {
        DType::U8 => (0i32, 255i32),
        DType::I8 => (-128, 127),
        _ => return None,
    };
    let (s1, z1, s2, z2) = (p1.scale[0], p1.zero_point[0], p2.scale[0], p2.zero_point[0]);
    let real_min = ((qmin - z1) as f32 * s1).max((qmin - z2) as f32 * s2);
    let real_max = ((qmax - z1) as f32 * s1).min((qmax - z2) as f32 * s2);
    let s = (real_max - real_min) / (qmax - qmin) as f32;
    let z = (qmin as f32 - real_min / s).round();
    (s.is_finite() && s > 0.0 && z.is_finite())
        .then(|| QParams::per_tensor(s, (z as i32).clamp(qmin, qmax)))
}

/// Merges every eligible chain; returns how many.
pub fn remove_double_qdq_pairs(module: &mut Module) -> usize {
    if module.requant != RequantMode::Float {
        return 0;
    }
    let g = &module.graph;
    let uses = Uses::new(g);
    // (value of Q1, new params, DQ2 node) for each chain.
    let mut plans: Vec<(ValueId, QParams, usize)> = Vec::new();
    for n in &g.nodes {
        if !matches!(n.op, Op::Quantize) {
            continue;
        }
        let x1 = n.outputs[0];
        let chain = (|| {
            let d1 = uses.only_user_result(x1, |op| matches!(op, Op::Dequantize))?;
            let x2 = uses.only_user_result(d1, |op| matches!(op, Op::Quantize))?;
            let dq2 = uses.only_user(x2, |op| matches!(op, Op::Dequantize))?;
            let (t1, t2) = (g.ty(x1), g.ty(x2));
            let (p1, p2) = (t1.quant.as_ref()?, t2.quant.as_ref()?);
            if t1.dtype != t2.dtype || !p1.is_per_tensor() || !p2.is_per_tensor() {
                return None;
            }
            if p1.zero_point[0] == p2.zero_point[0] && (p1.scale[0] - p2.scale[0]).abs() < 1e-20 {
                return None;
            }
            Some((merged(t1.dtype, p1, p2)?, dq2))
        })();
        if let Some((p, dq2)) = chain {
            plans.push((x1, p, dq2));
        }
    }
    for (x1, p, dq2) in &plans {
        module.graph.values[x1.0 as usize].ty.quant = Some(p.clone());
        module.graph.nodes[*dq2].inputs[0] = *x1;
    }
    plans.len()
}

#[cfg(test)]
mod tests {
    use super::merged;
    use qcc_ir::{DType, QParams};

    #[test]
    fn ranges_intersect() {
        // [0, 25.5] and [-1.27, 1.28] (u8, zp 127, scale 0.01) meet in [0, 1.28].
        let p = merged(
            DType::U8,
            &QParams::per_tensor(0.1, 0),
            &QParams::per_tensor(0.01, 127),
        )
        .unwrap();
        assert_eq!(p.zero_point[0], 0);
        assert_eq!(p.scale[0], (1.28f32 - 0.0) / 255.0);
    }
}
