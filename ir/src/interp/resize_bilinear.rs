//! `resize_bilinear`: TFLite's RESIZE_BILINEAR reference kernels on NHWC tensors, the
//! integer one (10-bit fixed-point positions, int64 weights) for int8 / int16 and the
//! float one for f32. See [`crate::Op::ResizeBilinear`].

use super::{arity, R};
use crate::{DType, Data, Tensor};

/// Coordinate mode flags `(align_corners, half_pixel_centers)`.
fn mode(coord: &str) -> R<(bool, bool)> {
    match coord {
        "tflite" => Ok((false, false)),
        "tflite_half_pixel" => Ok((false, true)),
        "tflite_align_corners" => Ok((true, false)),
        other => Err(format!("unknown bilinear coordinate mode '{other}'")),
    }
}

/// One output coordinate's source: the fixed-point position (integer kernel) and the two
/// neighbouring input indices.
#[derive(Clone, Copy)]
struct Src {
    pos: i64,
    lo: usize,
    hi: usize,
}

/// `ComputeInterpolationValues` (integer): positions in units of `1 / 1024`, C division.
fn int_sources(len_in: usize, len_out: usize, align: bool, half: bool) -> Vec<Src> {
    let (i, o) = (len_in as i64, len_out as i64);
    let scale_10 = if align && o > 1 {
        ((1 << 10) * (i - 1) + (o - 1) / 2) / (o - 1)
    } else {
        ((1 << 10) * i + o / 2) / o
    };
    (0..o)
        .map(|v| {
            let pos = if half {
                v * scale_10 + scale_10 / 2 - (1 << 9)
            } else {
                v * scale_10
            };
            // The reference leaves `lo` unclamped above, which reads past the input when
            // the rounded-up `scale_10` runs beyond its last row (e.g. 1 -> 65): undefined
            // behaviour there. Clamped, `lo == hi` is the edge row with weights summing to
            // 1024, so the edge value is returned.
            Src {
                pos,
                lo: (pos / (1 << 10)).clamp(0, i - 1) as usize,
                hi: ((pos + (1 << 10) - 1) / (1 << 10)).min(i - 1) as usize,
            }
        })
        .collect()
}

/// `ComputeInterpolationValues` (float): the f32 source coordinate and its neighbours.
fn float_sources(len_in: usize, len_out: usize, align: bool, half: bool) -> Vec<(f32, Src)> {
    let scale = if align && len_out > 1 {
        (len_in - 1) as f32 / (len_out - 1) as f32
    } else {
        len_in as f32 / len_out as f32
    };
    (0..len_out)
        .map(|v| {
            let s = if half {
                (v as f32 + 0.5) * scale - 0.5
            } else {
                v as f32 * scale
            };
            let lo = (s.floor() as i32).max(0) as usize;
            let hi = (s.ceil() as i32).min(len_in as i32 - 1) as usize;
            (s, Src { pos: 0, lo, hi })
        })
        .collect()
}

/// `resize_bilinear {sizes, coord}`.
pub(crate) fn resize_bilinear(ins: &[&Tensor], sizes: &[i64], coord: &str) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    let (align, half) = mode(coord)?;
    let (&[n, ih, iw, c], &[oh, ow]) = (x.shape.as_slice(), sizes) else {
        return Err(format!(
            "resize_bilinear needs a rank-4 operand and [height, width], got {:?} and {sizes:?}",
            x.shape
        ));
    };
    if oh <= 0 || ow <= 0 || ih == 0 || iw == 0 {
        return Err(format!("cannot resize {:?} to {sizes:?}", x.shape));
    }
    let (oh, ow) = (oh as usize, ow as usize);
    super::numel(&[n, oh, ow, c])?;
    let at = |b: usize, y: usize, xx: usize, ch: usize| ((b * ih + y) * iw + xx) * c + ch;
    let shape = vec![n, oh, ow, c];
    let data = match x.dtype() {
        DType::I8 | DType::I16 => {
            let v = x.data.to_i64_vec();
            let (ys, xs) = (
                int_sources(ih, oh, align, half),
                int_sources(iw, ow, align, half),
            );
            let mut out = Vec::with_capacity(n * oh * ow * c);
            for b in 0..n {
                for sy in &ys {
                    let wy = sy.pos - (1 << 10) * sy.lo as i64;
                    for sx in &xs {
                        let wx = sx.pos - (1 << 10) * sx.lo as i64;
                        for ch in 0..c {
                            let sum =
                                v[at(b, sy.lo, sx.lo, ch)] * ((1 << 10) - wy) * ((1 << 10) - wx)
                                    + v[at(b, sy.hi, sx.lo, ch)] * wy * ((1 << 10) - wx)
                                    + v[at(b, sy.lo, sx.hi, ch)] * ((1 << 10) - wy) * wx
                                    + v[at(b, sy.hi, sx.hi, ch)] * wy * wx;
                            let round = if sum > 0 { 1 << 19 } else { -(1 << 19) };
                            out.push((sum + round) / (1 << 20));
                        }
                    }
                }
            }
            // The kernel's `static_cast` to the element type.
            let out: Vec<i64> = match x.dtype() {
                DType::I8 => out.iter().map(|&q| i64::from(q as i8)).collect(),
                _ => out.iter().map(|&q| i64::from(q as i16)).collect(),
            };
            Data::from_i64(x.dtype(), &out)
        }
        DType::F32 => {
            let v = super::typed::<f32>(x, "x")?;
            let (ys, xs) = (
                float_sources(ih, oh, align, half),
                float_sources(iw, ow, align, half),
            );
            let mut out = Vec::with_capacity(n * oh * ow * c);
            for b in 0..n {
                for &(fy, sy) in &ys {
                    let dy = fy - sy.lo as f32;
                    for &(fx, sx) in &xs {
                        let dx = fx - sx.lo as f32;
                        for ch in 0..c {
                            out.push(
                                v[at(b, sy.lo, sx.lo, ch)] * (1.0 - dy) * (1.0 - dx)
                                    + v[at(b, sy.hi, sx.lo, ch)] * dy * (1.0 - dx)
                                    + v[at(b, sy.lo, sx.hi, ch)] * (1.0 - dy) * dx
                                    + v[at(b, sy.hi, sx.hi, ch)] * dy * dx,
                            );
                        }
                    }
                }
            }
            Data::F32(out)
        }
        d => return Err(format!("resize_bilinear is not defined on {d}")),
    };
    Ok(Tensor::new(shape, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1x1 input resized to 65x65: the rounded-up `scale_10` (16) puts the last output's
    /// lower neighbour at row 1 of a 1-row input; clamped, every output is the one value.
    #[test]
    fn upsampling_a_single_pixel_stays_inside_the_input() {
        for coord in ["tflite", "tflite_half_pixel", "tflite_align_corners"] {
            let x = Tensor::new(vec![1, 1, 1, 2], Data::from_i64(DType::I8, &[7, -3]));
            let y = resize_bilinear(&[&x], &[65, 65], coord).expect("resize");
            assert_eq!(y.shape, vec![1, 65, 65, 2]);
            let v = y.data.to_i64_vec();
            assert!(v.chunks(2).all(|p| p == [7, -3]), "{coord}");
        }
    }
}
