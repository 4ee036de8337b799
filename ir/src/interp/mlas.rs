//! Float summation order of ONNX Runtime's MLAS SGEMM on x86-64, for float convolutions.
//!
//! At `-O0` a QDQ model runs its convolutions in f32 between DequantizeLinear and
//! QuantizeLinear, and the reference (`expected_ort_noopt`) is ONNX Runtime with graph
//! optimisations off. A one-ulp difference in a conv output moves a value across a
//! quantization rounding boundary now and then, and in a deep net (mobilenet_v2, 52 convs)
//! those flips compound to several output steps. So the interpreter sums conv products in
//! exactly the order MLAS does (single thread), which makes it agree bit for bit:
//!
//! * each (batch, group) is a GEMM `W[M x K] * col[K x N]` (`M` filters per group,
//!   `N` output positions, `K = C/group * kernel`), the bias added afterwards;
//! * pointwise convolutions and those with more filters than outputs run one SGEMM over the
//!   whole `K`; the others are segmented: `K` is cut in blocks (`StrideK`, from
//!   [`sgemm_strides`]) and each block is one SGEMM accumulated into the output;
//! * inside an SGEMM: `M == 1` uses the AVX `M1` kernel (products rounded, summed four at a
//!   time, each group of four added to the running output); `N == 1` uses the transposed
//!   `M1` kernel (eight lane accumulators reduced by a fixed tree); otherwise the FMA kernel
//!   (`acc = fma(a, b, acc)` over a `StrideK` block, then added to the output).
//!
//! Source: onnxruntime/core/mlas/lib/{convolve.cpp, sgemm.cpp, x86_64/SgemmKernelM1Avx.S,
//! x86_64/SgemmKernelM1TransposeBAvx.S}.

/// `(StrideN, StrideK)` for an SGEMM of `n` columns and depth `k` (MlasSgemmOperation).
pub fn sgemm_strides(n: usize, k: usize) -> (usize, usize) {
    let (mut sn, mut sk) = (128usize, 128usize);
    if n >= k {
        while sk / 2 >= k {
            sn *= 2;
            sk /= 2;
        }
    } else {
        while sn > 16 && sn / 2 >= n {
            sk *= 2;
            sn /= 2;
        }
    }
    (sn, sk)
}

/// Adds a partial result to the running output (`None` = the output is still zero-mode).
#[inline]
fn accumulate(c: Option<f32>, partial: f32) -> f32 {
    match c {
        Some(c) => partial + c,
        None => partial + 0.0,
    }
}

/// The AVX `M1` kernel: products rounded, four summed left to right, added to the output.
pub(crate) fn dot_m1(k: usize, p: &impl Fn(usize) -> f32, mut c: Option<f32>) -> f32 {
    let mut i = 0;
    while i + 4 <= k {
        let s = ((p(i) + p(i + 1)) + p(i + 2)) + p(i + 3);
        c = Some(accumulate(c, s));
        i += 4;
    }
    if (k - i) & 2 != 0 {
        c = Some(accumulate(c, p(i) + p(i + 1)));
        i += 2;
    }
    if (k - i) & 1 != 0 {
        c = Some(accumulate(c, p(i)));
    }
    c.unwrap_or(0.0)
}

/// The transposed `M1` kernel: eight lane sums reduced by the tree of the row block
/// (4, 2 or 1 rows) the output row falls in.
fn dot_m1_trans(
    k: usize,
    p: &impl Fn(usize) -> f32,
    row: usize,
    rows: usize,
    c: Option<f32>,
) -> f32 {
    let mut l = [0.0f32; 8];
    for i in 0..k {
        l[i % 8] += p(i);
    }
    let block = if row < rows / 4 * 4 {
        4
    } else if (rows % 4) & 2 != 0 && row < rows / 4 * 4 + 2 {
        2
    } else {
        1
    };
    let s = match block {
        4 => (((l[0] + l[1]) + l[2]) + l[3]) + (((l[4] + l[5]) + l[6]) + l[7]),
        2 => ((l[0] + l[2]) + (l[4] + l[6])) + ((l[1] + l[3]) + (l[5] + l[7])),
        _ => ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])),
    };
    accumulate(c, s)
}

/// The FMA kernel over `StrideK` blocks.
fn dot_fma(k: usize, a: &impl Fn(usize) -> (f32, f32), stride_k: usize, mut c: Option<f32>) -> f32 {
    let mut k0 = 0;
    while k0 < k {
        let end = (k0 + stride_k).min(k);
        let mut acc = 0.0f32;
        for i in k0..end {
            let (x, w) = a(i);
            acc = x.mul_add(w, acc);
        }
        c = Some(accumulate(c, acc));
        k0 = end;
    }
    c.unwrap_or(0.0)
}

/// One output element `(row, col)` of an SGEMM call of shape `m x n x k` (alpha = 1).
fn sgemm_element(
    m: usize,
    n: usize,
    k: usize,
    row: usize,
    ab: &impl Fn(usize) -> (f32, f32),
    c: Option<f32>,
) -> f32 {
    let p = |i: usize| {
        let (x, w) = ab(i);
        x * w
    };
    if m == 1 {
        dot_m1(k, &p, c)
    } else if n == 1 {
        dot_m1_trans(k, &p, row, m, c)
    } else {
        dot_fma(k, ab, sgemm_strides(n, k).1, c)
    }
}

/// One (batch, group) slice of a float convolution, without bias: `out[m * n + o]` for `m`
/// filters over `n` output positions and depth `k`. `w` is the filter matrix (`m x k`,
/// row-major) and `col` the im2col matrix (`k x n`, 0.0 in the padding).
pub(crate) fn conv_group(
    m: usize,
    n: usize,
    k: usize,
    pointwise: bool,
    w: &[f32],
    col: &[f32],
) -> Vec<f32> {
    let mut out = vec![0.0f32; m * n];
    if pointwise || m > n {
        sgemm(m, n, k, (0, n), (0, k), w, col, &mut out, true);
        return out;
    }
    let (stride_n, stride_k) = sgemm_strides(n, k);
    let mut n0 = 0;
    while n0 < n {
        let count_n = stride_n.min(n - n0);
        let mut k0 = 0;
        while k0 < k {
            let count_k = stride_k.min(k - k0);
            sgemm(
                m,
                count_n,
                count_k,
                (n0, n0 + count_n),
                (k0, k0 + count_k),
                w,
                col,
                &mut out,
                k0 == 0,
            );
            k0 += count_k;
        }
        n0 += count_n;
    }
    out
}

/// One SGEMM call of shape `sm x sn x sk` over columns `os` and depth `ks` of the full
/// matrices (`w`: rows of `k`, `col` and `out`: rows of `n`), accumulated into `out`
/// (`first`: the output is still zero-mode).
#[allow(clippy::too_many_arguments)]
fn sgemm(
    sm: usize,
    sn: usize,
    sk: usize,
    os: (usize, usize),
    ks: (usize, usize),
    w: &[f32],
    col: &[f32],
    out: &mut [f32],
    first: bool,
) {
    let k = w.len() / sm.max(1);
    let n = out.len() / sm.max(1);
    if sm > 1 && sn > 1 {
        let stride_k = sgemm_strides(sn, sk).1;
        for r in 0..sm {
            let w_row = &w[r * k..(r + 1) * k];
            let o_row = &mut out[r * n + os.0..r * n + os.1];
            let run = FmaRun {
                w_row,
                col,
                n,
                o0: os.0,
                ks,
                stride_k,
                first,
            };
            fma_rows(&run, o_row);
        }
        return;
    }
    for r in 0..sm {
        for o in os.0..os.1 {
            let ab = |i: usize| (w[r * k + ks.0 + i], col[(ks.0 + i) * n + o]);
            let c = (!first).then(|| out[r * n + o]);
            out[r * n + o] = sgemm_element(sm, sn, sk, r, &ab, c);
        }
    }
}

/// One run of the FMA kernel: a filter row against columns `o0 ..` of the im2col matrix
/// (rows of `n`) over depth `ks` in blocks of `stride_k`; `first` when the output is still
/// zero-mode.
struct FmaRun<'a> {
    w_row: &'a [f32],
    col: &'a [f32],
    n: usize,
    o0: usize,
    ks: (usize, usize),
    stride_k: usize,
    first: bool,
}

/// The FMA kernel for a run of output columns `o0 .. o0 + out.len()` of one row: over each
/// `stride_k` block of `ks`, `acc = fma(w, x, acc)` in depth order, then `acc + out` (or
/// `acc + 0.0` for the first block of a zero-mode output). Element for element this is
/// [`dot_fma`]; the loop runs over columns so it vectorises (with hardware FMA when the
/// host has it, which rounds exactly like `f32::mul_add`).
fn fma_rows(r: &FmaRun<'_>, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports FMA (checked above).
        unsafe { fma_rows_hw(r, out) };
        return;
    }
    fma_rows_body(r, out);
}

/// [`fma_rows_body`] compiled with hardware FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma,avx2")]
unsafe fn fma_rows_hw(r: &FmaRun<'_>, out: &mut [f32]) {
    fma_rows_body(r, out);
}

#[inline(always)]
fn fma_rows_body(r: &FmaRun<'_>, out: &mut [f32]) {
    let FmaRun {
        w_row,
        col,
        n,
        o0,
        ks,
        stride_k,
        first,
    } = *r;
    let len = out.len();
    let mut acc = vec![0.0f32; len];
    let mut k0 = ks.0;
    while k0 < ks.1 {
        let end = (k0 + stride_k).min(ks.1);
        acc.iter_mut().for_each(|a| *a = 0.0);
        for i in k0..end {
            let wv = w_row[i];
            let x = &col[i * n + o0..i * n + o0 + len];
            for (a, &xv) in acc.iter_mut().zip(x) {
                *a = wv.mul_add(xv, *a);
            }
        }
        let zero_mode = first && k0 == ks.0;
        for (o, &a) in out.iter_mut().zip(&acc) {
            *o = accumulate((!zero_mode).then_some(*o), a);
        }
        k0 = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_follow_mlas() {
        assert_eq!(sgemm_strides(3136, 9), (1024, 16));
        assert_eq!(sgemm_strides(3136, 960), (128, 128));
        assert_eq!(sgemm_strides(49, 960), (64, 256));
        assert_eq!(sgemm_strides(196, 384), (128, 128));
    }

    #[test]
    fn m1_kernel_groups_products_by_four() {
        // 1e8 + 1 - 1e8 ... the grouping decides what survives rounding.
        let v = [1.0e8f32, 1.0, -1.0e8, 1.0, 1.0];
        let p = |i: usize| v[i];
        // ((1e8 + 1) + -1e8) + 1 = 1 (the first 1 is lost), then 1 + 1 = 2.
        assert_eq!(dot_m1(5, &p, None), 2.0);
    }

    #[test]
    fn fma_blocks_are_added_to_the_output() {
        let a = |i: usize| (i as f32 + 1.0, 0.5);
        // One block: 0.5 * (1 + 2 + 3) = 3; two blocks of 2 and 1 give the same exact sum.
        assert_eq!(dot_fma(3, &a, 128, None), 3.0);
        assert_eq!(dot_fma(3, &a, 2, Some(1.0)), 4.0);
    }
}
