//! CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and the pools.
//!
//! TFLite tensors stay NHWC; the IR's conv / pool ops are NCHW, so each of these becomes
//! `transpose(NHWC->NCHW) -> op -> transpose(NCHW->NHWC)` (the optimiser cancels adjacent
//! transpose pairs). Filters are permuted to OIHW once, at load.

use super::{expect_dtype, finish, nhwc_node, permute, OpRef};
use crate::tflite::builder::Builder;
use crate::tflite::error::{bail, unsupported, LResult};
use qcc_ir::{ConvAttrs, DType, Dim, GemmAttrs, Op, PoolAttrs, QParams, ValueId};
use tract_tflite::tflite::{ActivationFunctionType, Padding};

/// TFLite's padding for one spatial dim: `(before, after)`.
fn padding(
    p: Padding,
    input: usize,
    filter: usize,
    stride: usize,
    dilation: usize,
) -> LResult<(usize, usize)> {
    if stride == 0 || dilation == 0 || filter == 0 {
        bail!("stride, dilation and filter size must be positive");
    }
    let eff = (filter - 1) * dilation + 1;
    let out = match p {
        Padding::SAME => input.div_ceil(stride),
        Padding::VALID => {
            if input < eff {
                bail!("VALID padding with input size {input} smaller than the filter extent {eff}");
            }
            (input - eff) / stride + 1
        }
        other => unsupported!("padding {:?}", other),
    };
    let total = ((out.max(1) - 1) * stride + eff).saturating_sub(input);
    Ok((total / 2, total - total / 2))
}

/// Fixed spatial size `i` of an NHWC value.
fn spatial(b: &Builder<'_>, v: ValueId, i: usize) -> LResult<usize> {
    let ty = b.ty(v);
    if ty.rank() != 4 {
        bail!("expected a rank-4 NHWC input, got rank {}", ty.rank());
    }
    match ty.shape[i] {
        Dim::Fixed(d) => Ok(d),
        _ => unsupported!("dynamic spatial dims"),
    }
}

fn positive(v: i32, what: &str) -> LResult<usize> {
    if v <= 0 {
        bail!("{what} must be positive, got {v}");
    }
    Ok(v as usize)
}

/// The int32 (int8 / uint8 data) or int64 (int16 data) bias as an operand without qparams.
fn bias_operand(
    b: &mut Builder<'_>,
    t: Option<usize>,
    x_dtype: DType,
    n: usize,
) -> LResult<Option<ValueId>> {
    let Some(t) = t else {
        return Ok(None);
    };
    let Some(data) = b.const_data(t).cloned() else {
        unsupported!("non-constant bias");
    };
    let want = if x_dtype == DType::I16 {
        [DType::I64, DType::I32]
    } else {
        [DType::I32, DType::I32]
    };
    if !want.contains(&data.dtype()) {
        bail!(
            "bias has type {}, expected {} for {x_dtype} data",
            data.dtype(),
            want[0]
        );
    }
    if data.len() != n {
        bail!("bias has {} elements for {n} output channels", data.len());
    }
    let data = qcc_ir::Tensor::new(vec![n], data.data.clone());
    let name = b.tensor(t).name.clone();
    Ok(Some(b.new_const(&name, data, None)))
}

/// Checks the operand types of a quantized conv / FC and returns the input dtype.
fn quantized_operands(b: &Builder<'_>, x: usize, w: usize, y: usize) -> LResult<DType> {
    let xd = expect_dtype(
        b,
        x,
        &[DType::I8, DType::U8, DType::I16, DType::F32],
        "the input",
    )?;
    let wd = b.tensor(w).dtype;
    let yd = b.tensor(y).dtype;
    if xd == DType::F32 {
        if wd != DType::F32 || yd != DType::F32 {
            unsupported!("hybrid (float input, {wd} weights) kernels");
        }
        return Ok(xd);
    }
    let wanted_w = if xd == DType::U8 {
        DType::U8
    } else {
        DType::I8
    };
    if wd != wanted_w {
        unsupported!("{xd} input with {wd} weights");
    }
    if yd != xd {
        unsupported!("{xd} input with {yd} output");
    }
    b.per_tensor(x, "the input")?;
    b.per_tensor(y, "the output")?;
    if b.qparams(w).is_none() {
        bail!("the filter has no quantization parameters");
    }
    Ok(xd)
}

/// Filter constant, permuted by `perm`, with its quantized dim moved to `axis` 0; `flip`
/// reverses both spatial dims of the permuted OIHW filter (transposed convolutions).
fn filter_operand(b: &mut Builder<'_>, w: usize, perm: &[usize], flip: bool) -> LResult<ValueId> {
    let Some(data) = b.const_data(w) else {
        unsupported!("non-constant filter");
    };
    let mut data = permute(data, perm)?;
    if flip {
        data = flip_spatial(&data)?;
    }
    let q = match b.qparams(w) {
        Some(mut q) => {
            if let Some(a) = q.axis {
                let Some(na) = perm.iter().position(|&p| p == a) else {
                    bail!("bad quantized dimension");
                };
                if na != 0 {
                    bail!("filter quantized_dimension {a} is not the output-channel dim");
                }
                q.axis = Some(0);
            }
            if q.zero_point.iter().any(|&z| z != 0) && data.dtype() == DType::I8 {
                bail!("int8 filter with non-zero zero point");
            }
            Some(q)
        }
        None => None,
    };
    let name = b.tensor(w).name.clone();
    Ok(b.new_const(&name, data, q))
}

/// Reverses the last two dims of an OIHW tensor: each `(o, i)` block of `KH * KW`
/// row-major elements read backwards.
fn flip_spatial(t: &qcc_ir::Tensor) -> LResult<qcc_ir::Tensor> {
    let block = t.shape[2..].iter().product::<usize>().max(1);
    let data = match &t.data {
        qcc_ir::Data::F32(v) => qcc_ir::Data::F32(
            v.chunks(block)
                .flat_map(|c| c.iter().rev().copied())
                .collect(),
        ),
        d if t.dtype().is_int() => {
            let v: Vec<i64> = d
                .to_i64_vec()
                .chunks(block)
                .flat_map(|c| c.iter().rev().copied())
                .collect();
            qcc_ir::Data::from_i64(t.dtype(), &v)
        }
        _ => unsupported!("{} filters", t.dtype()),
    };
    Ok(qcc_ir::Tensor::new(t.shape.clone(), data))
}

/// CONV_2D: `[x: NHWC, w: OHWI, bias?]`.
pub(crate) fn conv2d(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 3, 1)?;
    let (x, w, y) = (op.input(0)?, op.input(1)?, op.output(0)?);
    let Some(o) = op.fb.builtin_options_as_conv_2_doptions() else {
        bail!("missing Conv2DOptions");
    };
    let xd = quantized_operands(b, x, w, y)?;
    let xv = b.value(x)?;
    let ws = b.tensor(w).shape.clone();
    if ws.len() != 4 {
        bail!("filter must be rank 4 (OHWI), got {:?}", ws);
    }
    let (h, wd, c) = (spatial(b, xv, 1)?, spatial(b, xv, 2)?, spatial(b, xv, 3)?);
    if ws[3] == 0 || !c.is_multiple_of(ws[3]) {
        bail!(
            "input channels {c} are not a multiple of the filter's {}",
            ws[3]
        );
    }
    let group = c / ws[3];
    let attrs = conv_attrs(
        o.padding(),
        (h, wd),
        (ws[1], ws[2]),
        (o.stride_h(), o.stride_w()),
        (o.dilation_h_factor(), o.dilation_w_factor()),
        group,
    )?;
    conv_common(
        b,
        op.opt_input(2),
        xv,
        (w, false),
        y,
        xd,
        &[0, 3, 1, 2],
        ws[0],
        attrs,
        o.fused_activation_function(),
    )
}

/// DEPTHWISE_CONV_2D: `[x: NHWC, w: 1 x KH x KW x (C * multiplier), bias?]`.
pub(crate) fn depthwise_conv2d(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 3, 1)?;
    let (x, w, y) = (op.input(0)?, op.input(1)?, op.output(0)?);
    let Some(o) = op.fb.builtin_options_as_depthwise_conv_2_doptions() else {
        bail!("missing DepthwiseConv2DOptions");
    };
    let xd = quantized_operands(b, x, w, y)?;
    let xv = b.value(x)?;
    let ws = b.tensor(w).shape.clone();
    if ws.len() != 4 || ws[0] != 1 {
        bail!("filter must be 1 x KH x KW x C_out, got {:?}", ws);
    }
    let (h, wd, c) = (spatial(b, xv, 1)?, spatial(b, xv, 2)?, spatial(b, xv, 3)?);
    if c == 0 || !ws[3].is_multiple_of(c) {
        bail!(
            "filter channels {} are not a multiple of the input channels {c}",
            ws[3]
        );
    }
    let attrs = conv_attrs(
        o.padding(),
        (h, wd),
        (ws[1], ws[2]),
        (o.stride_h(), o.stride_w()),
        (o.dilation_h_factor(), o.dilation_w_factor()),
        c,
    )?;
    conv_common(
        b,
        op.opt_input(2),
        xv,
        (w, false),
        y,
        xd,
        &[3, 0, 1, 2],
        ws[3],
        attrs,
        o.fused_activation_function(),
    )
}

/// The IR conv attributes of a TFLite conv: strides and dilations (checked positive) and
/// the padding TFLite's `SAME` / `VALID` gives for the input size `(h, w)` and kernel `k`.
fn conv_attrs(
    pad: Padding,
    (h, w): (usize, usize),
    k: (usize, usize),
    strides: (i32, i32),
    dilations: (i32, i32),
    group: usize,
) -> LResult<ConvAttrs> {
    let (sh, sw) = (
        positive(strides.0, "stride_h")?,
        positive(strides.1, "stride_w")?,
    );
    let (dh, dw) = (
        positive(dilations.0, "dilation_h")?,
        positive(dilations.1, "dilation_w")?,
    );
    let (pt, pb) = padding(pad, h, k.0, sh, dh)?;
    let (pl, pr) = padding(pad, w, k.1, sw, dw)?;
    Ok(ConvAttrs {
        strides: vec![sh, sw],
        pads: vec![pt, pl, pb, pr],
        dilations: vec![dh, dw],
        group,
    })
}

/// The conv node of a TFLite conv: the filter `w` permuted by `perm` (and flipped
/// spatially with `flip`), the bias, `conv` on float data or `qconv` on quantized data,
/// the fused activation.
#[allow(clippy::too_many_arguments)]
fn conv_common(
    b: &mut Builder<'_>,
    bias: Option<usize>,
    xv: ValueId,
    (w, flip): (usize, bool),
    y: usize,
    xd: DType,
    perm: &[usize],
    m: usize,
    attrs: ConvAttrs,
    act: ActivationFunctionType,
) -> LResult<()> {
    let wv = filter_operand(b, w, perm, flip)?;
    let mut rest = vec![wv];
    if xd == DType::F32 {
        if let Some(t) = bias {
            rest.push(b.value(t)?);
        }
        return nhwc_node(b, y, qcc_ir::Op::Conv(attrs), xv, rest, act);
    }
    if let Some(bv) = bias_operand(b, bias, xd, m)? {
        rest.push(bv);
    }
    nhwc_node(
        b,
        y,
        Op::QConv(attrs, qcc_ir::Clamp::default()),
        xv,
        rest,
        act,
    )
}

/// TRANSPOSE_CONV: `[output_shape, w: O x KH x KW x I, x: NHWC, bias?]`. The reference
/// kernel scatters `(x - z_x) * w` into int32 sums at `in * stride - pad + k`; the same sums
/// are a stride-1 convolution, with the filter flipped, of the input with `stride - 1`
/// zero-point pixels inserted between its pixels (they add `(z_x - z_x) * w = 0`) and
/// bordered by `K - 1 - pad` zero-point pixels before and enough after (negative borders
/// crop). So it lowers to `unsqueeze / pad / reshape` (insertion), `pad` / `slice`
/// (borders) and the ordinary `qconv` (or `conv`), requantized like CONV_2D.
pub(crate) fn transpose_conv(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(3, 4, 1)?;
    let (shape_t, w, x, y) = (op.input(0)?, op.input(1)?, op.input(2)?, op.output(0)?);
    let Some(o) = op.fb.builtin_options_as_transpose_conv_options() else {
        bail!("missing TransposeConvOptions");
    };
    let xd = quantized_operands(b, x, w, y)?;
    // The output shape: a constant or a folded SHAPE computation (the batch may be
    // symbolic; height, width and channels must be known).
    let out = super::shape::shape_batch_one(b, shape_t, "output_shape")?;
    let ws = b.tensor(w).shape.clone();
    let xv = b.value(x)?;
    let (h, wd, c) = (spatial(b, xv, 1)?, spatial(b, xv, 2)?, spatial(b, xv, 3)?);
    let (&[_, oh, ow, oc], [m, kh, kw, i]) = (out.as_slice(), ws.as_slice()) else {
        bail!("output_shape {out:?} and filter {ws:?} must both be rank 4");
    };
    if *i != c || oc != *m {
        bail!("filter {ws:?} does not map {c} input channels to output_shape {out:?}");
    }
    // Sizes a real model has (the intermediate below is about the output's size).
    let limit = 1 << 16;
    if [oh, ow].iter().any(|d| !(1..=limit).contains(d)) || *kh > limit || *kw > limit {
        bail!("output_shape {out:?} and filter {ws:?} must have sizes in 1..=65536");
    }
    let (sh, sw) = (
        positive(o.stride_h(), "stride_h")?,
        positive(o.stride_w(), "stride_w")?,
    );
    // Input pixels past the output contribute nothing; a stride that spreads the input far
    // beyond the output only makes the zero-point-filled intermediate huge.
    let far = |len: usize, s: usize, out: usize, k: usize| {
        len.saturating_mul(s) > 2usize.saturating_mul(out + k).saturating_add(2 * s)
    };
    if far(h, sh, oh, *kh) || far(wd, sw, ow, *kw) {
        unsupported!(
            "strides ({sh}, {sw}) spread a {h}x{wd} input far beyond the {oh}x{ow} output"
        );
    }
    let pt = padding(o.padding(), oh, *kh, sh, 1)?.0;
    let pl = padding(o.padding(), ow, *kw, sw, 1)?.0;
    let fill = match b.tensor(x).quant.as_ref() {
        Some(q) if xd != DType::F32 => q.zero_point[0] as f64,
        _ => 0.0,
    };
    let name = b.tensor(y).name.clone();
    let mut v = xv;
    // Zero-point pixels between the input's: axis 1 (rows) then 2 (columns).
    let mut dims = [0i64, h as i64, wd as i64, c as i64];
    for (axis, s) in [(1usize, sh), (2, sw)] {
        if s > 1 {
            v = b.emit(
                &name,
                Op::Unsqueeze {
                    axes: vec![axis as i64 + 1],
                },
                vec![v],
                None,
                None,
            )?;
            let mut pads = vec![0i64; 10];
            pads[5 + axis + 1] = s as i64 - 1;
            let pad = Op::Pad {
                mode: qcc_ir::PadMode::Constant,
                pads,
                value: fill,
            };
            v = b.emit(&name, pad, vec![v], None, None)?;
            // `0` keeps the batch; the other dims are spelled out.
            dims[axis] *= s as i64;
            let reshape = Op::Reshape {
                shape: dims.to_vec(),
                allowzero: false,
            };
            v = b.emit(&name, reshape, vec![v], None, None)?;
        }
    }
    // Borders: `K - 1 - pad` before, up to `out + pad + K - 1` after.
    let (lh, lw) = (h * sh, wd * sw);
    let before = [*kh as i64 - 1 - pt as i64, *kw as i64 - 1 - pl as i64];
    let after = [
        oh as i64 + pt as i64 - lh as i64,
        ow as i64 + pl as i64 - lw as i64,
    ];
    let mut pads = vec![0i64; 8];
    let (mut starts, mut ends, mut axes) = (vec![], vec![], vec![]);
    for d in 0..2 {
        let len = [lh, lw][d] as i64;
        pads[1 + d] = before[d].max(0);
        pads[5 + d] = after[d].max(0);
        if before[d] < 0 || after[d] < 0 {
            starts.push((-before[d]).max(0));
            ends.push(len + after[d].min(0));
            axes.push(1 + d as i64);
        }
    }
    if !axes.is_empty() {
        let n = axes.len();
        let slice = Op::Slice {
            starts,
            ends,
            axes,
            steps: vec![1; n],
        };
        v = b.emit(&name, slice, vec![v], None, None)?;
    }
    if pads.iter().any(|&p| p > 0) {
        let pad = Op::Pad {
            mode: qcc_ir::PadMode::Constant,
            pads,
            value: fill,
        };
        v = b.emit(&name, pad, vec![v], None, None)?;
    }
    let attrs = ConvAttrs {
        strides: vec![1, 1],
        pads: vec![0; 4],
        dilations: vec![1, 1],
        group: 1,
    };
    conv_common(
        b,
        op.opt_input(3),
        v,
        (w, true),
        y,
        xd,
        &[0, 3, 1, 2],
        *m,
        attrs,
        o.fused_activation_function(),
    )
}

/// FULLY_CONNECTED: `[x: (..., I), w: O x I, bias?]` -> `(B, O)` (or `(..., O)` with
/// keep_num_dims), as `qfully_connected` after flattening `x` to `(-1, I)`.
pub(crate) fn fully_connected(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(2, 3, 1)?;
    let (x, w, y) = (op.input(0)?, op.input(1)?, op.output(0)?);
    let o = op.fb.builtin_options_as_fully_connected_options();
    let act = o.map_or(ActivationFunctionType::NONE, |o| {
        o.fused_activation_function()
    });
    if let Some(o) = o {
        if o.weights_format().0 != 0 {
            unsupported!("shuffled weights format {:?}", o.weights_format());
        }
    }
    let keep = o.is_some_and(|o| o.keep_num_dims());
    let xd = quantized_operands(b, x, w, y)?;
    let ws = b.tensor(w).shape.clone();
    if ws.len() != 2 {
        bail!("weights must be rank 2 (O x I), got {:?}", ws);
    }
    let (n_out, n_in) = (ws[0], ws[1]);
    let mut xv = b.value(x)?;
    let xs = b.ty(xv).shape.clone();
    if xs.last() != Some(&Dim::Fixed(n_in)) || xs.len() != 2 {
        if let Some(Dim::Fixed(l)) = xs.last() {
            if keep && *l != n_in {
                bail!("input's last dim {l} differs from the weights' {n_in}");
            }
        }
        let name = format!("{}_2d", b.tensor(x).name);
        xv = b.emit(
            &name,
            Op::Reshape {
                shape: vec![-1, n_in as i64],
                allowzero: false,
            },
            vec![xv],
            None,
            None,
        )?;
    }
    let Some(wdata) = b.const_data(w).cloned() else {
        unsupported!("non-constant weights");
    };
    let wq = b.qparams(w);
    let wq: Option<QParams> = wq.map(|mut q| {
        if q.axis.is_some() {
            q.axis = Some(0);
        }
        q
    });
    if let Some(q) = &b.tensor(w).quant {
        if q.scale.len() > 1 && q.dim != 0 {
            bail!("per-axis weights must be quantized along dim 0 (output channels)");
        }
    }
    let wname = b.tensor(w).name.clone();
    let wv = b.new_const(&wname, wdata, wq);
    let mut ins = vec![xv, wv];
    let gemm = GemmAttrs {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: true,
    };
    let op_ir = if xd == DType::F32 {
        if let Some(t) = op.opt_input(2) {
            ins.push(b.value(t)?);
        }
        Op::Gemm(gemm)
    } else {
        if let Some(bv) = bias_operand(b, op.opt_input(2), xd, n_out)? {
            ins.push(bv);
        }
        Op::QFullyConnected
    };
    let v = if keep && xs.len() != 2 {
        let name = b.tensor(y).name.clone();
        let dt = b.tensor(y).dtype;
        let q = b.qparams(y);
        let g = b.emit(&format!("{name}_2d"), op_ir, ins, Some(dt), Some(q))?;
        let mut shape: Vec<i64> = xs
            .iter()
            .map(|d| d.fixed().map_or(-1, |v| v as i64))
            .collect();
        if let Some(l) = shape.last_mut() {
            *l = n_out as i64;
        }
        b.emit_tensor(
            y,
            Op::Reshape {
                shape,
                allowzero: false,
            },
            vec![g],
        )?
    } else {
        b.emit_tensor(y, op_ir, ins)?
    };
    finish(b, y, v, act)
}

/// MAX_POOL_2D on NHWC data (output parameters equal the input's).
pub(crate) fn max_pool2d(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    pool2d(b, op, false)
}

/// AVERAGE_POOL_2D on NHWC data: TFLite's integer kernel sums the stored values of the
/// window's valid (unpadded) taps and divides rounding half away from zero, which is the
/// IR's integer `avgpool` with `count_include_pad = false`.
pub(crate) fn average_pool2d(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    pool2d(b, op, true)
}

fn pool2d(b: &mut Builder<'_>, op: &OpRef<'_>, average: bool) -> LResult<()> {
    op.arity(1, 1, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    let Some(o) = op.fb.builtin_options_as_pool_2_doptions() else {
        bail!("missing Pool2DOptions");
    };
    let xd = expect_dtype(
        b,
        x,
        &[DType::I8, DType::U8, DType::I16, DType::F32],
        "the input",
    )?;
    if b.tensor(y).dtype != xd {
        bail!(
            "output type {} differs from the input's {xd}",
            b.tensor(y).dtype
        );
    }
    if xd != DType::F32 {
        let (sx, zx) = b.per_tensor(x, "the input")?;
        let (sy, zy) = b.per_tensor(y, "the output")?;
        if sx.to_bits() != sy.to_bits() || zx != zy {
            bail!("input and output quantization differ");
        }
    }
    let xv = b.value(x)?;
    let (h, w) = (spatial(b, xv, 1)?, spatial(b, xv, 2)?);
    let (kh, kw) = (
        positive(o.filter_height(), "filter_height")?,
        positive(o.filter_width(), "filter_width")?,
    );
    let (sh, sw) = (
        positive(o.stride_h(), "stride_h")?,
        positive(o.stride_w(), "stride_w")?,
    );
    let (pt, pb) = padding(o.padding(), h, kh, sh, 1)?;
    let (pl, pr) = padding(o.padding(), w, kw, sw, 1)?;
    let attrs = PoolAttrs {
        kernel: vec![kh, kw],
        strides: vec![sh, sw],
        pads: vec![pt, pl, pb, pr],
        dilations: vec![1, 1],
        ceil_mode: false,
        count_include_pad: false,
        row_major_sum: false,
    };
    let pool = if average {
        Op::AvgPool(attrs)
    } else {
        Op::MaxPool(attrs)
    };
    nhwc_node(b, y, pool, xv, vec![], o.fused_activation_function())
}
