//! f32 sums in the order of ONNX Runtime's ReduceSum / ReduceMean when the reduced axes are
//! the trailing ones (its "KR" fast path, `ReduceAggregatorSum::FastReduceKR`): each kept
//! row of `R` contiguous values is summed by Eigen's vectorised `redux` with SSE packets of
//! 4, and ReduceMean then divides the sum by `float(R)`.
//!
//! Eigen starts its packets at the row's first 16-byte aligned element. ONNX Runtime
//! allocates tensors 64-byte aligned, so row `d` starts `(d * R) % 4` floats past an aligned
//! address. With `s` = that start: the aligned span is summed as packets (two running
//! packets over pairs, merged, plus one odd packet), reduced lane-wise as
//! `(p0 + p2) + (p1 + p3)`, then the leading unaligned elements and the tail are added one
//! by one. A row too short for one packet is summed left to right.
//! (Eigen/src/Core/Redux.h, `redux_impl<..., LinearVectorizedTraversal, NoUnrolling>`;
//! Eigen/src/Core/arch/SSE/PacketMath.h, `predux<Packet4f>`.)

const P: usize = 4;

fn add4(a: [f32; 4], b: &[f32]) -> [f32; 4] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
}

/// Eigen's sum of `row`, whose first element lies `misalign` floats past a 16-byte
/// boundary.
pub(crate) fn eigen_sum(row: &[f32], misalign: usize) -> f32 {
    let size = row.len();
    let start = ((P - misalign % P) % P).min(size);
    let aligned2 = (size - start) / (2 * P) * (2 * P);
    let aligned = (size - start) / P * P;
    let (end2, end) = (start + aligned2, start + aligned);
    if aligned == 0 {
        return row[1..]
            .iter()
            .fold(row.first().copied().unwrap_or(0.0), |s, &x| s + x);
    }
    let packet = |i: usize| -> [f32; 4] { [row[i], row[i + 1], row[i + 2], row[i + 3]] };
    let mut p0 = packet(start);
    if aligned > P {
        let mut p1 = packet(start + P);
        let mut i = start + 2 * P;
        while i < end2 {
            p0 = add4(p0, &row[i..i + P]);
            p1 = add4(p1, &row[i + P..i + 2 * P]);
            i += 2 * P;
        }
        p0 = add4(p0, &p1);
        if end > end2 {
            p0 = add4(p0, &row[end2..end2 + P]);
        }
    }
    let mut res = (p0[0] + p0[2]) + (p0[1] + p0[3]);
    for &x in &row[..start] {
        res += x;
    }
    for &x in &row[end..] {
        res += x;
    }
    res
}

/// Sums (or means) of the consecutive rows of `r > 0` values in `x`, as ONNX Runtime's
/// KR fast path computes them.
pub(crate) fn reduce_rows(x: &[f32], r: usize, mean: bool) -> Vec<f32> {
    x.chunks(r)
        .enumerate()
        .map(|(d, row)| {
            let s = eigen_sum(row, (d * r) % P);
            if mean {
                s / r as f32
            } else {
                s
            }
        })
        .collect()
}

/// Means of the `x.len() / r` rows of `r > 0` values as ONNX Runtime computes a ReduceMean
/// over the spatial axes of a tensor its layout transformer has put in NHWC: the KRK fast
/// path, a MatMul of a ones vector with the `[HW, C]` block, i.e. MLAS's `M = 1` SGEMM
/// kernel (products summed four at a time, each group added to the running sum;
/// [`super::mlas::dot_m1`]), then a division by `float(r)`.
pub(crate) fn channels_last_means(x: &[f32], r: usize) -> Vec<f32> {
    x.chunks(r)
        .map(|row| super::mlas::dot_m1(r, &|i| row[i], None) / r as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::eigen_sum;

    #[test]
    fn packet_order() {
        let v = [1e8f32, 1.0, -1e8, 1.0];
        // Aligned: (v0 + v2) + (v1 + v3) = 0 + 2.
        assert_eq!(eigen_sum(&v, 0), 2.0);
        // Too short to vectorise after the unaligned head: left to right loses the ones.
        assert_eq!(eigen_sum(&v, 1), ((1e8f32 + 1.0) + -1e8) + 1.0);
        // Two running packets over 8 aligned values, merged lane-wise.
        let w: Vec<f32> = (0..8).map(|i| i as f32).collect();
        assert_eq!(
            eigen_sum(&w, 0),
            ((0.0 + 4.0) + (2.0 + 6.0)) + ((1.0 + 5.0) + (3.0 + 7.0))
        );
    }
}
