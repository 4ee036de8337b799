//! `layer_norm`: ONNX LayerNormalization with ONNX Runtime's float arithmetic
//! (`layer_norm_impl.cc`, `ComputeJob`).

use super::{arity, norm_axis, typed, R};
use crate::{Data, Tensor};

/// `layer_norm {axis, epsilon}` of `[x, scale, bias?]` (see [`crate::Op::LayerNorm`]).
pub(crate) fn layer_norm(ins: &[&Tensor], axis: i64, epsilon: f32) -> R<Tensor> {
    arity(ins, 2, 3)?;
    let x = ins[0];
    let a = norm_axis(axis, x.shape.len())?;
    let n: usize = x.shape[a..].iter().product();
    let xv = typed::<f32>(x, "x")?;
    let scale = typed::<f32>(ins[1], "scale")?;
    let bias = match ins.get(2) {
        Some(b) => Some(typed::<f32>(b, "bias")?),
        None => None,
    };
    if scale.len() != n || bias.is_some_and(|b| b.len() != n) {
        return Err(format!(
            "scale and bias must have {n} elements (the normalised dims), got {} and {:?}",
            scale.len(),
            bias.map(<[f32]>::len)
        ));
    }
    let mut out = Vec::with_capacity(xv.len());
    if n == 0 {
        return Ok(Tensor::new(x.shape.clone(), Data::F32(out)));
    }
    let count = n as f32;
    for row in xv.chunks(n) {
        let (mut mean, mut mean_square) = (0.0f32, 0.0f32);
        for &v in row {
            mean += v;
            mean_square += v * v;
        }
        mean /= count;
        let sd = (mean_square / count - mean * mean + epsilon).sqrt();
        for (h, &v) in row.iter().enumerate() {
            let y = (v - mean) / sd * scale[h];
            out.push(match bias {
                Some(b) => y + b[h],
                None => y,
            });
        }
    }
    Ok(Tensor::new(x.shape.clone(), Data::F32(out)))
}
