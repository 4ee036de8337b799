//! `resize_nearest`: the input index each output index reads, per dim, with ONNX Runtime's
//! (`upsamplebase.h`) and TFLite's (`GetNearestNeighbor`) f32 coordinate arithmetic; then a
//! gather. See [`crate::Op::ResizeNearest`].

use super::{arity, R};
use crate::Tensor;

/// The source coordinate of output index `o` along a dim of `len_in -> len_out`.
fn source(coord: &str, o: usize, scale: f32, len_in: usize, len_out: usize) -> R<f32> {
    let x = o as f32;
    Ok(match coord {
        "half_pixel" => (x + 0.5) / scale - 0.5,
        "asymmetric" => x / scale,
        "pytorch_half_pixel" if len_out > 1 => (x + 0.5) / scale - 0.5,
        "pytorch_half_pixel" => 0.0,
        "tf_half_pixel_for_nn" => (x + 0.5) / scale,
        "align_corners" if len_out == 1 => 0.0,
        "align_corners" => x * (len_in - 1) as f32 / (len_out - 1) as f32,
        "tflite" => x * (len_in as f32 / len_out as f32),
        "tflite_half_pixel" => (x + 0.5) * (len_in as f32 / len_out as f32),
        "tflite_align_corners" if len_out > 1 => x * ((len_in - 1) as f32 / (len_out - 1) as f32),
        "tflite_align_corners" => x * (len_in as f32 / len_out as f32),
        other => return Err(format!("unknown coordinate mode '{other}'")),
    })
}

/// The input index for source coordinate `c`, before clamping.
fn round(nearest: &str, coord: &str, c: f32) -> R<i64> {
    if coord.starts_with("tflite") {
        return Ok(if coord == "tflite_align_corners" {
            c.round() as i64
        } else {
            c.floor() as i64
        });
    }
    Ok(match nearest {
        // ONNX Runtime: a .5 fraction goes down, else round half away from zero.
        "round_prefer_floor" if c == (c as i64) as f32 + 0.5 => c as i64,
        "round_prefer_floor" | "round_prefer_ceil" => c.round() as i64,
        "floor" => c.floor() as i64,
        "ceil" => c.ceil() as i64,
        other => return Err(format!("unknown nearest mode '{other}'")),
    })
}

/// `resize_nearest {sizes, scales, coord, nearest}`.
pub(crate) fn resize_nearest(
    ins: &[&Tensor],
    sizes: &[i64],
    scales: &[f32],
    coord: &str,
    nearest: &str,
) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    let rank = x.shape.len();
    if sizes.len() != rank || scales.len() != rank {
        return Err(format!("sizes and scales need {rank} entries"));
    }
    let out_shape: Vec<usize> = x
        .shape
        .iter()
        .zip(sizes)
        .map(|(&d, &s)| if s < 0 { d } else { s as usize })
        .collect();
    // Per dim: the input index of every output index.
    let mut maps = Vec::with_capacity(rank);
    for d in 0..rank {
        let (li, lo) = (x.shape[d], out_shape[d]);
        if li == 0 && lo > 0 {
            return Err(format!(
                "dim {d} is empty in the input but not in the output"
            ));
        }
        let m = (0..lo)
            .map(|o| {
                // ONNX Runtime maps a dim with scale 1 straight through (with
                // `tf_half_pixel_for_nn` and a ceiling mode the formula would shift it).
                if sizes[d] < 0 || (scales[d] == 1.0 && lo == li) {
                    return Ok(o);
                }
                let c = source(coord, o, scales[d], li, lo)?;
                Ok(round(nearest, coord, c)?.clamp(0, li as i64 - 1) as usize)
            })
            .collect::<R<Vec<usize>>>()?;
        maps.push(m);
    }
    let in_strides = super::strides_of(&x.shape);
    let n: usize = out_shape.iter().product();
    let mut src = Vec::with_capacity(n);
    let mut idx = vec![0usize; rank];
    for _ in 0..n {
        src.push(
            (0..rank)
                .map(|d| maps[d][idx[d]] * in_strides[d])
                .sum::<usize>(),
        );
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(Tensor::new(out_shape, super::gather(&x.data, &src)))
}
