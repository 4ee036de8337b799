//! SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND (how the converter writes a dilated convolution:
//! the padded input's spatial phases become batch entries, an undilated CONV_2D runs on
//! them, and the inverse interleaves the results back and crops). Both are pure data
//! movement, lowered to `pad` / `reshape` / `transpose` / `slice` on the NHWC tensor:
//!
//! - SPACE_TO_BATCH_ND (`[b, s1..sM, rest]`, block `B`, paddings): pad the spatial dims
//!   (quantized tensors with the zero point, as the reference kernel's `output_offset`),
//!   reshape to `[b, s1/B1, B1, .., sM/BM, BM, rest]`, move the block dims to the front
//!   (`[B1..BM, b, s1/B1.., rest]`) and merge them into the batch.
//! - BATCH_TO_SPACE_ND (`[B1..BM * b, s1..sM, rest]`, block, crops): split the batch into
//!   `[B1..BM, b]`, interleave each block dim after its spatial dim, merge, and slice the
//!   crops off.
//!
//! The batch entry of phase `(i1..iM)` and image `n` is `(i1 * B2.. + iM) * b + n` in both,
//! as in TensorFlow.

use super::{layout::const_ints, layout::same_params, OpRef};
use crate::tflite::builder::{Builder, Slot};
use crate::tflite::error::{bail, LResult};
use qcc_ir::{Op, PadMode, ValueId};

/// A block shape and its `(before, after)` paddings or crops per spatial dim.
type BlockPairs = (Vec<i64>, Vec<(i64, i64)>);

/// The block shape and the `[M][2]` paddings or crops of `op` (inputs 1 and 2), checked
/// against the input's rank.
fn block_and_pairs(b: &Builder<'_>, op: &OpRef<'_>, x: usize, what: &str) -> LResult<BlockPairs> {
    let block = const_ints(b, op.input(1)?, "block_shape")?;
    let pairs = const_ints(b, op.input(2)?, what)?;
    let rank = b.tensor(x).shape.len();
    let m = block.len();
    if m == 0 || m + 2 > rank || pairs.len() != 2 * m {
        bail!("block_shape {block:?} and {what} {pairs:?} do not fit an input of rank {rank}");
    }
    // Sizes a real model has (a dilation rate, a kernel's padding), so that the arithmetic
    // on them below cannot overflow.
    let limit = 1 << 16;
    if block.iter().any(|&v| !(1..=limit).contains(&v))
        || pairs.iter().any(|&v| !(0..=limit).contains(&v))
    {
        bail!("block_shape {block:?} must be in 1..=65536 and {what} {pairs:?} in 0..=65536");
    }
    Ok((block, pairs.chunks(2).map(|c| (c[0], c[1])).collect()))
}

/// `reshape` to `shape` (`-1` at most once) of `v`.
fn reshape(b: &mut Builder<'_>, hint: &str, v: ValueId, shape: Vec<i64>) -> LResult<ValueId> {
    b.emit(
        hint,
        Op::Reshape {
            shape,
            allowzero: false,
        },
        vec![v],
        None,
        None,
    )
}

/// The spatial sizes `s1..sM` and the trailing dims of `x` (fixed sizes required).
fn spatial_and_rest(b: &Builder<'_>, x: usize, m: usize) -> (Vec<i64>, Vec<i64>) {
    let shape: Vec<i64> = b.tensor(x).shape.iter().map(|&d| d as i64).collect();
    (shape[1..=m].to_vec(), shape[m + 1..].to_vec())
}

/// SPACE_TO_BATCH_ND.
pub(crate) fn space_to_batch_nd(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(3, 3, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    same_params(b, x, y)?;
    let (block, pads) = block_and_pairs(b, op, x, "paddings")?;
    let m = block.len();
    let (spatial, rest) = spatial_and_rest(b, x, m);
    let rank = m + 1 + rest.len();
    let padded: Vec<i64> = (0..m).map(|i| spatial[i] + pads[i].0 + pads[i].1).collect();
    if (0..m).any(|i| padded[i] % block[i] != 0) {
        bail!("padded spatial dims {padded:?} are not multiples of block_shape {block:?}");
    }
    let name = b.tensor(y).name.clone();
    let mut v = b.value(x)?;
    if pads.iter().any(|&(lo, hi)| lo > 0 || hi > 0) {
        let mut p = vec![0i64; 2 * rank];
        for (i, &(lo, hi)) in pads.iter().enumerate() {
            p[1 + i] = lo;
            p[rank + 1 + i] = hi;
        }
        let value = match b.tensor(x).quant.as_ref() {
            Some(q) if b.tensor(x).dtype.is_int() => q.zero_point[0] as f64,
            _ => 0.0,
        };
        let pad = Op::Pad {
            mode: PadMode::Constant,
            pads: p,
            value,
        };
        v = b.emit(&name, pad, vec![v], None, None)?;
    }
    // [b, s1/B1, B1, .., sM/BM, BM, rest]
    let mut split = vec![-1];
    for i in 0..m {
        split.extend([padded[i] / block[i], block[i]]);
    }
    split.extend(&rest);
    v = reshape(b, &name, v, split)?;
    // [B1..BM, b, s1/B1..sM/BM, rest]
    let mut perm: Vec<usize> = (0..m).map(|i| 2 + 2 * i).collect();
    perm.push(0);
    perm.extend((0..m).map(|i| 1 + 2 * i));
    perm.extend(2 * m + 1..2 * m + 1 + rest.len());
    v = b.emit(&name, Op::Transpose { perm }, vec![v], None, None)?;
    let mut merged = vec![-1];
    merged.extend((0..m).map(|i| padded[i] / block[i]));
    merged.extend(&rest);
    let v = b.emit_tensor(
        y,
        Op::Reshape {
            shape: merged,
            allowzero: false,
        },
        vec![v],
    )?;
    b.bind(y, Slot::Value(v));
    Ok(())
}

/// BATCH_TO_SPACE_ND.
pub(crate) fn batch_to_space_nd(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(3, 3, 1)?;
    let (x, y) = (op.input(0)?, op.output(0)?);
    same_params(b, x, y)?;
    let (block, crops) = block_and_pairs(b, op, x, "crops")?;
    let m = block.len();
    let (spatial, rest) = spatial_and_rest(b, x, m);
    let full: Vec<i64> = (0..m).map(|i| spatial[i] * block[i]).collect();
    if (0..m).any(|i| crops[i].0 + crops[i].1 > full[i]) {
        bail!("crops {crops:?} exceed the spatial dims {full:?}");
    }
    let name = b.tensor(y).name.clone();
    let mut v = b.value(x)?;
    // [B1..BM, b, s1..sM, rest]
    let mut split = block.clone();
    split.push(-1);
    split.extend(&spatial);
    split.extend(&rest);
    v = reshape(b, &name, v, split)?;
    // [b, s1, B1, .., sM, BM, rest]
    let mut perm = vec![m];
    for i in 0..m {
        perm.extend([m + 1 + i, i]);
    }
    perm.extend(2 * m + 1..2 * m + 1 + rest.len());
    v = b.emit(&name, Op::Transpose { perm }, vec![v], None, None)?;
    let mut merged = vec![-1];
    merged.extend(&full);
    merged.extend(&rest);
    v = reshape(b, &name, v, merged)?;
    let crop = Op::Slice {
        starts: crops.iter().map(|c| c.0).collect(),
        ends: (0..m).map(|i| full[i] - crops[i].1).collect(),
        axes: (1..=m as i64).collect(),
        steps: vec![1; m],
    };
    let v = b.emit_tensor(y, crop, vec![v])?;
    b.bind(y, Slot::Value(v));
    Ok(())
}
