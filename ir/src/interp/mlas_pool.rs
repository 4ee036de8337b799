//! Float average pooling in the summation order of ONNX Runtime's MLAS pooling kernels.
//!
//! ONNX Runtime's CPU AveragePool / GlobalAveragePool (float) call `MlasPool`
//! (onnxruntime/core/providers/cpu/nn/pool.cc, `PoolBase::Compute`), which picks one of
//! three kernels (onnxruntime/core/mlas/lib/pooling.cpp, `MlasPool`):
//!
//! * **global** (`MlasPoolGlobalKernel`) when the kernel covers the whole input, strides are
//!   1 and there is no padding: four lane accumulators over the flattened plane (lane `j`
//!   sums elements `4i + j`), reduced as `(l0 + l2) + (l1 + l3)`, then the `n % 4` tail added
//!   one by one, divided by `float(n)`;
//! * **vector** (`MlasPool2DVectorKernel` / `MlasPool3DVectorKernel`) for 2-D / 3-D pooling
//!   with the last stride <= 2, every kernel dim <= 32 and the padded row fitting in the
//!   2048-float reduction buffer: per output row, each input column is first summed over
//!   the window's rows (2-D: starting from the first row's value; 3-D: from `0.0`, planes
//!   then rows) into a zero-padded buffer, then each output sums `KW` consecutive buffer
//!   entries left to right (starting from the first entry), including the padding zeros.
//!   The divisor is `KH * KW` (include pad) or, excluding pad,
//!   `max(1, (min(b + KW, padL + W) - max(b, padL)) * rows)` computed in float, where `b`
//!   is the window's start in the buffer and `rows` the clamped row count. A window row
//!   start that is negative *or past the input* is reset to 0 (MLAS's unsigned compare);
//! * **generic** (`MlasPool1DKernel` / `2D` / `3D`) otherwise: `0.0 + x...` in row-major
//!   window order over the clamped window, divided by the clamped tap count or the full
//!   kernel size.
//!
//! With `ceil_mode` and `count_include_pad` both set ONNX Runtime 1.32 does not call MLAS but
//! its own loop (onnxruntime/core/providers/cpu/nn/pool_functors.h, `AveragePool1DTask` /
//! `2D` / `3D`): `0.0 + x...` in row-major order over the window clipped to the input, divided
//! by the window clipped to the padded input, `(hend - hstart) * (wend - wstart)` with
//! `hstart` unclipped and `hend = min(hstart + KH, H + pads[1])`, `wend = min(.., W + pads[3])`
//! (3-D: `pads[1]`, `pads[3]`, `pads[5]`) — the flat `pads` indices exactly as that code reads
//! them, so for 2-D / 3-D the height end is clipped by a begin pad.
//!
//! Dilated average pooling (opset 19) takes the same loop (measured against ORT 1.32). Each
//! quotient is one f32 division.

use crate::PoolAttrs;

/// Size of MLAS's stack reduction buffer (`MLAS_POOL_REDUCTION_BUFFER_STACK`).
const REDUCTION_BUFFER: usize = 2048;
/// Over-read padding of the reduction buffer (`MLAS_POOL_REDUCTION_BUFFER_PADDING`).
const BUFFER_PADDING: usize = 3;

/// Geometry of one MLAS pooling call (spatial dims only).
struct Work<'a> {
    in_sp: &'a [usize],
    out_sp: &'a [usize],
    kernel: Vec<usize>,
    /// Begin pads then end pads.
    pads: Vec<usize>,
    strides: Vec<usize>,
    include_pad: bool,
}

/// Average pooling of an NC... f32 tensor as ONNX Runtime's `MlasPool` computes it.
/// `shape` is the input shape, `out_sp` the output's spatial shape. `None` when MLAS does
/// cannot run the op (more than 3 spatial dims).
pub(crate) fn average_pool(
    x: &[f32],
    shape: &[usize],
    out_sp: &[usize],
    a: &PoolAttrs,
) -> Option<Vec<f32>> {
    let n = shape.len().checked_sub(2)?;
    if n == 0 || n > 3 || out_sp.len() != n || a.kernel.len() != n {
        return None;
    }
    let pick = |v: &[usize], len: usize, default: usize| -> Option<Vec<usize>> {
        match v.len() {
            0 => Some(vec![default; len]),
            l if l == len => Some(v.to_vec()),
            _ => None,
        }
    };
    let w = Work {
        in_sp: &shape[2..],
        out_sp,
        kernel: a.kernel.clone(),
        pads: pick(&a.pads, 2 * n, 0)?,
        strides: pick(&a.strides, n, 1)?,
        include_pad: a.count_include_pad,
    };
    let in_n: usize = w.in_sp.iter().product();
    let out_n: usize = out_sp.iter().product();
    let planes = shape[0] * shape[1];
    if x.len() != planes * in_n {
        return None;
    }
    let global = (0..n).all(|d| w.kernel[d] == w.in_sp[d] && w.strides[d] == 1)
        && w.pads.iter().all(|&p| p == 0);
    let vector = n >= 2 && w.strides[n - 1] <= 2 && w.kernel.iter().all(|&k| k <= 32) && {
        let left = (REDUCTION_BUFFER - BUFFER_PADDING)
            .saturating_sub(w.pads[n - 1])
            .saturating_sub(w.pads[2 * n - 1]);
        left >= w.in_sp[n - 1]
    };
    let mut out = Vec::with_capacity(planes * out_n);
    let dilated = a.dilations.iter().any(|&d| d != 1);
    if a.row_major_sum || dilated || (a.ceil_mode && a.count_include_pad) {
        for p in 0..planes {
            functor(&w, &a.dilations, &x[p * in_n..(p + 1) * in_n], &mut out);
        }
        return Some(out);
    }
    for p in 0..planes {
        let xp = &x[p * in_n..(p + 1) * in_n];
        if global {
            out.push(global_plane(xp));
        } else if vector && n == 2 {
            vector_2d(&w, xp, &mut out);
        } else if vector {
            vector_3d(&w, xp, &mut out);
        } else {
            generic(&w, xp, &mut out);
        }
    }
    Some(out)
}

/// `MlasPoolGlobalKernel`: four lane sums, `(l0 + l2) + (l1 + l3)`, then the tail.
fn global_plane(xp: &[f32]) -> f32 {
    let mut lanes = [0f32; 4];
    let mut chunks = xp.chunks_exact(4);
    for c in &mut chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    let mut s = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
    for &v in chunks.remainder() {
        s += v;
    }
    s / xp.len() as f32
}

/// Clamped window `[start, end)` of output `o` along a dim, as the generic kernels compute
/// it (`max(start, 0)`, `min(end, size)`), signed.
fn clamp_window(o: usize, stride: usize, pad: usize, k: usize, size: usize) -> (i64, i64) {
    let s = o as i64 * stride as i64 - pad as i64;
    (s.max(0), (s + k as i64).min(size as i64))
}

/// Window rows of the vector kernels: an unsigned start that is negative or past the input
/// becomes 0, an end past the input (or wrapped negative) becomes the input size.
fn vector_rows(o: usize, stride: usize, pad: usize, k: usize, size: usize) -> (usize, usize) {
    let s = o as i64 * stride as i64 - pad as i64;
    let e = s + k as i64;
    let start = if s < 0 || s >= size as i64 {
        0
    } else {
        s as usize
    };
    let end = if e < 0 || e > size as i64 {
        size
    } else {
        e as usize
    };
    (start, end)
}

/// The width pass shared by the vector kernels: `colsum` holds the row sums of the
/// `W` input columns; pushes one output row.
fn width_pass(w: &Work, colsum: &[f32], rows: usize, out: &mut Vec<f32>) {
    let n = w.in_sp.len();
    let (iw, ow) = (w.in_sp[n - 1], w.out_sp[n - 1]);
    let (kw, sw) = (w.kernel[n - 1], w.strides[n - 1]);
    let (pl, pr) = (w.pads[n - 1], w.pads[2 * n - 1]);
    // Zero-padded reduction buffer (with slack for the discarded lanes MLAS over-reads).
    let mut buf = vec![0f32; pl + iw + pr + BUFFER_PADDING + kw + 4 * sw + ow * sw];
    buf[pl..pl + iw].copy_from_slice(colsum);
    let include_div = (w.kernel.iter().product::<usize>() as u32) as f32;
    let (kw_f, lo_f, hi_f) = (kw as u32 as f32, pl as u32 as f32, (pl + iw) as u32 as f32);
    let rows_f = rows as u32 as f32;
    for pw in 0..ow {
        let b = pw * sw;
        let mut s = buf[b];
        for &v in &buf[b + 1..b + kw] {
            s += v;
        }
        let div = if w.include_pad {
            include_div
        } else {
            let idx = b as u32 as f32;
            let delta = (idx + kw_f).min(hi_f) - idx.max(lo_f);
            (delta * rows_f).max(1.0)
        };
        out.push(s / div);
    }
}

/// `MlasPool2DVectorKernel` on one plane.
fn vector_2d(w: &Work, xp: &[f32], out: &mut Vec<f32>) {
    let (ih, iw) = (w.in_sp[0], w.in_sp[1]);
    let mut colsum = vec![0f32; iw];
    for ph in 0..w.out_sp[0] {
        let (hs, he) = vector_rows(ph, w.strides[0], w.pads[0], w.kernel[0], ih);
        for (c, s) in colsum.iter_mut().enumerate() {
            let mut acc = xp.get(hs * iw + c).copied().unwrap_or(0.0);
            for r in hs + 1..he {
                acc += xp[r * iw + c];
            }
            *s = acc;
        }
        width_pass(w, &colsum, he.saturating_sub(hs), out);
    }
}

/// `MlasPool3DVectorKernel` on one volume.
fn vector_3d(w: &Work, xp: &[f32], out: &mut Vec<f32>) {
    let (id, ih, iw) = (w.in_sp[0], w.in_sp[1], w.in_sp[2]);
    let mut colsum = vec![0f32; iw];
    for pd in 0..w.out_sp[0] {
        let (ds, de) = vector_rows(pd, w.strides[0], w.pads[0], w.kernel[0], id);
        for ph in 0..w.out_sp[1] {
            let (hs, he) = vector_rows(ph, w.strides[1], w.pads[1], w.kernel[1], ih);
            for (c, s) in colsum.iter_mut().enumerate() {
                let mut acc = 0f32;
                for d in ds..de {
                    for r in hs..he {
                        acc += xp[(d * ih + r) * iw + c];
                    }
                }
                *s = acc;
            }
            let rows = de.saturating_sub(ds) * he.saturating_sub(hs);
            width_pass(w, &colsum, rows, out);
        }
    }
}

/// `MlasPool1DKernel` / `MlasPool2DKernel` / `MlasPool3DKernel` on one plane: the window in
/// row-major order from `0.0`.
fn generic(w: &Work, xp: &[f32], out: &mut Vec<f32>) {
    let n = w.in_sp.len();
    // Pad the geometry to three dims (leading dims of size 1).
    let ext = |v: &[usize], fill: usize| -> [usize; 3] {
        let mut r = [fill; 3];
        r[3 - n..].copy_from_slice(v);
        r
    };
    let (is, os, ks, ss) = (
        ext(w.in_sp, 1),
        ext(w.out_sp, 1),
        ext(&w.kernel, 1),
        ext(&w.strides, 1),
    );
    let pb = ext(&w.pads[..n], 0);
    let full = (ks[0] * ks[1] * ks[2]) as f32;
    for o0 in 0..os[0] {
        let (a0, b0) = clamp_window(o0, ss[0], pb[0], ks[0], is[0]);
        for o1 in 0..os[1] {
            let (a1, b1) = clamp_window(o1, ss[1], pb[1], ks[1], is[1]);
            for o2 in 0..os[2] {
                let (a2, b2) = clamp_window(o2, ss[2], pb[2], ks[2], is[2]);
                let mut m = 0f32;
                for i0 in a0..b0 {
                    for i1 in a1..b1 {
                        for i2 in a2..b2 {
                            let at = (i0 as usize * is[1] + i1 as usize) * is[2] + i2 as usize;
                            m += xp[at];
                        }
                    }
                }
                let div = if w.include_pad {
                    full
                } else {
                    // size_t arithmetic in MLAS: an empty window wraps, as here.
                    ((b0 - a0) as u64)
                        .wrapping_mul((b1 - a1) as u64)
                        .wrapping_mul((b2 - a2) as u64) as f32
                };
                out.push(m / div);
            }
        }
    }
}

/// GlobalAveragePool of `planes` contiguous f32 planes of `size` elements each, as
/// `MlasPoolGlobalKernel` computes it.
pub(crate) fn global_average(x: &[f32], size: usize) -> Vec<f32> {
    if size == 0 {
        return Vec::new();
    }
    x.chunks_exact(size).map(global_plane).collect()
}

/// ONNX Runtime's `AveragePool{1,2,3}DTask` (pool_functors.h) on one plane: taps at
/// `start + j * dilation` below the window end, those inside the input summed row-major from
/// `0.0`; divided by the tap count including padding (`1 + (end - start - 1) / dilation` per
/// dim) or by the number of taps inside the input. See the module doc for the `pads` indexing.
fn functor(w: &Work, dil: &[usize], xp: &[f32], out: &mut Vec<f32>) {
    let n = w.in_sp.len();
    let p = |i: usize| w.pads.get(i).copied().unwrap_or(0) as i64;
    // The pad bounding each window end, as the task reads it.
    let ends: [i64; 3] = match n {
        1 => [p(1), 0, 0],
        2 => [p(1), p(3), 0],
        _ => [p(1), p(3), p(5)],
    };
    // Geometry padded to three dims with trailing unit dims.
    let get = |v: &[usize], d: usize, fill: usize| v.get(d).copied().unwrap_or(fill) as i64;
    let size: [i64; 3] = std::array::from_fn(|d| get(w.in_sp, d, 1));
    let osz: [i64; 3] = std::array::from_fn(|d| get(w.out_sp, d, 1));
    let k: [i64; 3] = std::array::from_fn(|d| get(&w.kernel, d, 1));
    let st: [i64; 3] = std::array::from_fn(|d| get(&w.strides, d, 1));
    let dl: [i64; 3] = std::array::from_fn(|d| get(dil, d, 1).max(1));
    let pb: [i64; 3] = std::array::from_fn(|d| if d < n { p(d) } else { 0 });
    let win = |d: usize, o: i64| -> (i64, i64) {
        let s = o * st[d] - pb[d];
        (s, (s + k[d] * dl[d]).min(size[d] + ends[d]))
    };
    let taps = |d: usize, (s, e): (i64, i64)| -> Vec<i64> {
        (0..)
            .map(|j| s + j * dl[d])
            .take_while(|&i| i < e)
            .filter(|&i| (0..size[d]).contains(&i))
            .collect()
    };
    for o0 in 0..osz[0] {
        let w0 = win(0, o0);
        let t0 = taps(0, w0);
        for o1 in 0..osz[1] {
            let w1 = win(1, o1);
            let t1 = taps(1, w1);
            for o2 in 0..osz[2] {
                let w2 = win(2, o2);
                let t2 = taps(2, w2);
                let mut y = 0f32;
                for &i0 in &t0 {
                    for &i1 in &t1 {
                        for &i2 in &t2 {
                            y += xp[((i0 * size[1] + i1) * size[2] + i2) as usize];
                        }
                    }
                }
                let count = t0.len() * t1.len() * t2.len();
                if count > 0 {
                    let span = |d: usize, (s, e): (i64, i64)| 1 + (e - s - 1) / dl[d];
                    y /= if w.include_pad {
                        (span(0, w0) * span(1, w1) * span(2, w2)) as f32
                    } else {
                        count as f32
                    };
                }
                out.push(y);
            }
        }
    }
}
