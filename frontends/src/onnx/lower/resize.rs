//! ONNX Resize (opset 11 on) with `mode = "nearest"`: `resize_nearest` with constant scales
//! or sizes. Other modes, `tf_crop_and_resize`, `axes` and aspect-ratio policies are
//! unsupported.

use crate::onnx::error::{bail, LResult, LowerError};
use crate::onnx::node::NodeCtx;
use qcc_ir::{Dim, Op};

/// Coordinate modes `resize_nearest` implements for ONNX.
const COORD_MODES: [&str; 5] = [
    "half_pixel",
    "asymmetric",
    "pytorch_half_pixel",
    "tf_half_pixel_for_nn",
    "align_corners",
];

/// Nearest modes.
const NEAREST_MODES: [&str; 4] = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

fn unsupported(what: String) -> LowerError {
    LowerError::Unsupported(what)
}

/// ONNX Resize.
pub(crate) fn resize(ctx: &mut NodeCtx) -> LResult<()> {
    ctx.expect_inputs(1, 4)?;
    let a = ctx.attrs();
    let mode = a.string("mode")?.unwrap_or_else(|| "nearest".into());
    if mode != "nearest" {
        return Err(unsupported(format!("Resize with mode '{mode}'")));
    }
    let coord = a
        .string("coordinate_transformation_mode")?
        .unwrap_or_else(|| "half_pixel".into());
    if !COORD_MODES.contains(&coord.as_str()) {
        return Err(unsupported(format!(
            "Resize with coordinate_transformation_mode '{coord}'"
        )));
    }
    let nearest = a
        .string("nearest_mode")?
        .unwrap_or_else(|| "round_prefer_floor".into());
    if !NEAREST_MODES.contains(&nearest.as_str()) {
        bail!("unknown nearest_mode '{nearest}'");
    }
    if a.has("axes")
        || a.string("keep_aspect_ratio_policy")?
            .is_some_and(|p| p != "stretch")
        || a.int_or("antialias", 0)? != 0
    {
        return Err(unsupported(
            "Resize with axes, a keep_aspect_ratio_policy or antialias".into(),
        ));
    }
    let x = ctx.input(0)?;
    let shape = ctx.ty(x).shape.clone();
    let rank = shape.len();
    let scales_in = if ctx.has_input(2) {
        match ctx.const_input(2)? {
            Some(t) if !t.is_empty() => Some(t.data.to_f64_vec()),
            Some(_) => None,
            None => return Err(unsupported("Resize with run-time scales".into())),
        }
    } else {
        None
    };
    let sizes_in = if ctx.has_input(3) {
        match ctx.const_ints(3, "sizes")? {
            Some(v) if !v.is_empty() => Some(v),
            Some(_) => None,
            None => return Err(unsupported("Resize with run-time sizes".into())),
        }
    } else {
        None
    };
    let (mut sizes, mut scales) = (Vec::with_capacity(rank), Vec::with_capacity(rank));
    match (scales_in, sizes_in) {
        (Some(s), None) if s.len() == rank => {
            for (d, &sc) in shape.iter().zip(&s) {
                let sc = sc as f32;
                match d {
                    Dim::Fixed(n) => sizes.push((*n as f32 * sc) as i64),
                    _ if sc == 1.0 => sizes.push(-1),
                    _ => return Err(unsupported("Resize of a run-time dim".into())),
                }
                scales.push(sc);
            }
        }
        (None, Some(z)) if z.len() == rank => {
            for (d, &sz) in shape.iter().zip(&z) {
                match d {
                    Dim::Fixed(n) => {
                        sizes.push(sz);
                        scales.push(sz as f32 / *n as f32);
                    }
                    _ => {
                        return Err(unsupported(
                            "Resize of a run-time dim to fixed sizes".into(),
                        ))
                    }
                }
            }
        }
        _ => bail!("exactly one of scales and sizes must be given, with one entry per dim"),
    }
    if sizes.contains(&0) || scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        bail!("scales must be positive and sizes non-zero");
    }
    ctx.emit1(
        Op::ResizeNearest {
            sizes,
            scales,
            coord,
            nearest,
        },
        vec![x],
    )?;
    Ok(())
}
