//! `layer_norm`: ONNX LayerNormalization with ONNX Runtime 1.32's float arithmetic on x86-64
//! with AVX2 + FMA. Rows of 8 or more elements take MLAS's `MlasLayerNormKernelAvx2`
//! ([`mlas_stats`]); shorter rows the scalar Welford fallback of layer_norm_impl.cc
//! ([`welford_stats`]). See docs/numerics.md.

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
    for row in xv.chunks(n) {
        let (mean, inv, welford) = if n >= 8 {
            let (m, i) = mlas_stats(row, epsilon);
            (m, i, false)
        } else {
            let (m, sd) = welford_stats(row, epsilon);
            (m, sd, true)
        };
        for (h, &v) in row.iter().enumerate() {
            out.push(if welford {
                // The fallback divides by the standard deviation; no FMA.
                let y = (v - mean) / inv * scale[h];
                match bias {
                    Some(b) => y + b[h],
                    None => y,
                }
            } else {
                let q = (v - mean) * inv;
                match bias {
                    Some(b) => q.mul_add(scale[h], b[h]),
                    None => q * scale[h],
                }
            });
        }
    }
    Ok(Tensor::new(x.shape.clone(), Data::F32(out)))
}

/// `MlasLayerNormKernelAvx2`'s row statistics: the mean from four f64 lane sums
/// (`(l0 + l2) + (l1 + l3)`, then the tail), rounded to f32; the centred variance from eight
/// f32 FMA lanes (`acc[k] + acc[k + 4]`, then `(r0 + r2) + (r1 + r3)`), a tail of four plain
/// squares added in order when at least four elements remain (as GCC compiles the scalar
/// tail), then FMAs; returns `(mean, 1 / sqrt(var / n + eps))`.
fn mlas_stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len();
    let mut lane = [0f64; 4];
    let mut i = 0;
    while i + 4 <= n {
        for (j, l) in lane.iter_mut().enumerate() {
            *l += f64::from(row[i + j]);
        }
        i += 4;
    }
    let mut dsum = (lane[0] + lane[2]) + (lane[1] + lane[3]);
    for &v in &row[i..] {
        dsum += f64::from(v);
    }
    let mean = (dsum / n as f64) as f32;
    let mut acc = [0f32; 8];
    let mut i = 0;
    while i + 8 <= n {
        for (j, a) in acc.iter_mut().enumerate() {
            let d = row[i + j] - mean;
            *a = d.mul_add(d, *a);
        }
        i += 8;
    }
    let r: Vec<f32> = (0..4).map(|k| acc[k] + acc[k + 4]).collect();
    let mut var = (r[0] + r[2]) + (r[1] + r[3]);
    if i + 4 <= n {
        for &v in &row[i..i + 4] {
            let d = v - mean;
            var += d * d;
        }
        i += 4;
    }
    for &v in &row[i..] {
        let d = v - mean;
        var = d.mul_add(d, var);
    }
    (mean, 1.0 / (var / n as f32 + eps).sqrt())
}

/// The scalar fallback for rows shorter than 8: Welford's running mean and sum of squared
/// deviations in f32 without FMA; returns `(mean, sqrt(m2 / n + eps))`.
fn welford_stats(row: &[f32], eps: f32) -> (f32, f32) {
    let (mut m, mut m2) = (0f32, 0f32);
    for (k, &v) in row.iter().enumerate() {
        let d = v - m;
        m += d / (k + 1) as f32;
        m2 += d * (v - m);
    }
    (m, (m2 / row.len() as f32 + eps).sqrt())
}
