//! `qavgpool`: ONNX Runtime's QLinearAveragePool arithmetic (see [`crate::Op::QAvgPool`]).

use super::conv::pool_geometry;
use super::quant_ops::{global_means, ort_domain_offset, per_tensor_in, per_tensor_out};
use super::{arity, Ctx, NONE, R};
use crate::quant::round_half_even;
use crate::{Data, PoolAttrs, Tensor};

/// `qavgpool`: the window's dequantized values summed in f32 (padding skipped), divided by
/// the count, then `round_half_even(sum / s_y + z_y)` in the uint8 domain; a window that
/// covers the whole unpadded input takes `qglobal_avgpool`'s integer path, as ONNX Runtime
/// does.
pub(crate) fn qavgpool(ctx: &Ctx, ins: &[&Tensor], a: &PoolAttrs) -> R<Tensor> {
    arity(ins, 1, 1)?;
    let x = ins[0];
    let (sx, zx) = per_tensor_in(ctx, 0)?;
    let (sy, zy, dt, (qmin, qmax)) = per_tensor_out(ctx)?;
    let sp = pool_geometry(x, a)?;
    let (o_n, k_n, in_n) = (sp.out_n(), sp.taps(), sp.in_n());
    let planes: usize = x.shape[..2].iter().product();
    let mut shape = x.shape[..2].to_vec();
    shape.extend(sp.out_shape());
    let xv = x.data.to_i64_vec();
    if sp.is_global() {
        let vals = global_means(ctx, &xv, (planes, in_n), (sx, zx), (sy, zy), (qmin, qmax));
        return Ok(Tensor::new(shape, Data::from_i64(dt, &vals)));
    }
    let table = sp.table()?;
    let counts = if a.count_include_pad {
        vec![k_n; o_n]
    } else {
        sp.counts(false)
    };
    let off = ort_domain_offset(dt);
    let zy_f = (zy + off) as f32;
    let mut vals = Vec::with_capacity(planes * o_n);
    for p in 0..planes {
        let xp = &xv[p * in_n..(p + 1) * in_n];
        for o in 0..o_n {
            let mut acc = 0f32;
            for k in 0..k_n {
                let i = table[k * o_n + o];
                if i != NONE {
                    acc += sx * (xp[i] - zx) as f32;
                }
            }
            // A window with no input element divides by zero: ONNX Runtime's conversion of
            // the NaN gives INT_MIN, which saturates to the minimum.
            let r = match counts[o] {
                0 => qmin + off,
                c => round_half_even(acc / c as f32 / sy + zy_f) as i64,
            };
            vals.push(r.clamp(qmin + off, qmax + off) - off);
        }
    }
    Ok(Tensor::new(shape, Data::from_i64(dt, &vals)))
}
