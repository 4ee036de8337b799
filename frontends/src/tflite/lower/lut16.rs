//! int16 LOGISTIC and TANH as 65536-entry `lut` tables of LiteRT's reference kernels
//! (`reference_integer_ops::Logistic` / `Tanh` on int16): the input is rescaled to the
//! table's fixed-point grid (`(x * M + round) >> shift`), then the 256-point table of
//! `sigmoid(i / 24)` is interpolated linearly (tanh uses `tanh(x) = 2 sigmoid(2x) - 1`).
//!
//! Prepare's rules: both zero points 0 and the output scale `2^-15`. A power-of-two input
//! scale `2^(e - 12)` with `e = 0` (LOGISTIC) or `e` in {0, 1} (TANH) takes the shift-only
//! path (`M = 3 << e`, no rounding shift); any other scale the multiplier path: `M` is
//! `s_x * 4096 * 3` (in f64) doubled until it exceeds 16383.5, `shift` the number of
//! doublings, `M` truncated to an integer.

use crate::tflite::error::{unsupported, LResult};

/// The sigmoid table `T[i] ~ 65536 sigmoid(i / 24)` (0.16 fixed point, tuned for linear
/// interpolation, so not the rounded function values) that LiteRT's int16 LOGISTIC and
/// TANH kernels interpolate. Measured from LiteRT's int16 TANH on
/// `tests/fixtures/tflite/op_tanh_i16_d`, whose input multiplier (32514 at shift 14) puts
/// an input on every table point below 255, where the kernel outputs `T[i] - 32768` exactly
/// (the last point, only interpolated towards, shows in `op_tanh_i16_b`); the
/// test `sigmoid_table_matches_the_litert_fixture` re-derives it from that fixture.
pub(crate) const SIGMOID_TABLE: [u16; 256] = [
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
];

/// Which int16 activation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Act16 {
    /// LOGISTIC.
    Logistic,
    /// TANH.
    Tanh,
}

/// TFLite's `CheckedLog2`: `log2(x)` rounded half away from zero, and whether `x` is
/// within `1e-3` (in the exponent) of that power of two. In f32 as TFLite computes it.
fn checked_log2(x: f32) -> (bool, i32) {
    let l = x.ln() * (1.0f32 / 2.0f32.ln());
    let r = l.round();
    ((l - r).abs() < 1e-3, r as i32)
}

/// The kernel's input multiplier and shift (`M`, `shift`), with the shift-only path's
/// `M = 3 << e` already applied (shift 0), as `Prepare` and the kernel's first lines do.
fn input_rescale(act: Act16, sx: f32) -> LResult<(i64, u32)> {
    let (pot, l2) = checked_log2(sx);
    let e = 12 + l2;
    let pot_ok = match act {
        Act16::Logistic => e == 0,
        Act16::Tanh => e == 0 || e == 1,
    };
    if pot && pot_ok {
        return Ok((3 << e, 0));
    }
    let mut m = f64::from(sx) * 4096.0 * 3.0;
    let mut shift = 0;
    while m <= 32767.0 / 2.0 && shift <= 30 {
        shift += 1;
        m *= 2.0;
    }
    // The kernel multiplies an int16 by `M` in int32: larger multipliers overflow.
    if m.is_nan() || m >= 65536.0 {
        unsupported!("int16 input scale {sx} is too large for the int16 kernel's multiplier");
    }
    Ok((m as i64, shift))
}

/// The 65536 outputs of the int16 kernel, entry `i` for the stored input `i - 32768`.
/// Checks Prepare's requirements on the quantization first.
pub(crate) fn table(act: Act16, (sx, zx): (f32, i64), (sy, zy): (f32, i64)) -> LResult<Vec<i64>> {
    if zx != 0 || zy != 0 {
        unsupported!("int16 {act:?} with zero points {zx} / {zy} (TFLite requires 0)");
    }
    if checked_log2(sy) != (true, -15) {
        unsupported!("int16 {act:?} with output scale {sy} (TFLite requires 2^-15)");
    }
    let (m, shift) = input_rescale(act, sx)?;
    let round = if shift > 0 { 1i64 << (shift - 1) } else { 0 };
    let t = |i: u32| i64::from(SIGMOID_TABLE[i as usize]);
    Ok((i16::MIN..=i16::MAX)
        .map(|x| {
            let d = (i64::from(x) * m + round) >> shift;
            let a = d.unsigned_abs() as u32;
            match act {
                Act16::Logistic => {
                    let uh = a >> 9;
                    let r = if uh >= 255 {
                        0x7FFF << 10
                    } else {
                        (t(uh) << 9) + i64::from(a & 0x1ff) * (t(uh + 1) - t(uh))
                    };
                    let r = if d >= 0 {
                        r + (1 << 9)
                    } else {
                        (1 << 25) - r + (1 << 9) - 1
                    };
                    r >> 10
                }
                Act16::Tanh => {
                    let uh = a >> 8;
                    let r = if uh >= 255 {
                        0xFFFF << 8
                    } else {
                        (t(uh) << 8) + i64::from(a & 0xff) * (t(uh + 1) - t(uh))
                    };
                    let r = if d >= 0 {
                        r - (1 << 23) + (1 << 7)
                    } else {
                        -r + (1 << 23) + (1 << 7) - 1
                    };
                    r >> 8
                }
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored `.npy` int16 payload of a fixture file (little-endian after the header).
    fn npy_i16(path: &str) -> Vec<i64> {
        let b = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let header = u16::from_le_bytes([b[8], b[9]]) as usize;
        b[10 + header..]
            .chunks_exact(2)
            .map(|c| i64::from(i16::from_le_bytes([c[0], c[1]])))
            .collect()
    }

    #[test]
    fn sigmoid_table_matches_the_litert_fixture() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/tflite/op_tanh_i16_d"
        );
        let x = npy_i16(&format!("{dir}/input_0.npy"));
        let y = npy_i16(&format!("{dir}/expected_tf.npy"));
        let (m, shift) = input_rescale(Act16::Tanh, (32514.5f64 / (12288.0 * 16384.0)) as f32)
            .expect("a supported scale");
        assert_eq!((m, shift), (32514, 14));
        let mut seen = [false; 255];
        for (&xi, &yi) in x.iter().zip(&y) {
            let d = (xi * m + (1 << 13)) >> 14;
            if d >= 0 && d % 256 == 0 && d / 256 < 255 {
                let i = (d / 256) as usize;
                assert_eq!(yi + 32768, i64::from(SIGMOID_TABLE[i]), "table point {i}");
                seen[i] = true;
            }
        }
        assert!(
            seen.iter().all(|&s| s),
            "every table point below 255 is measured"
        );
    }

    #[test]
    fn prepare_rejects_what_tflite_rejects() {
        let ok = (1.0 / 32768.0, 0);
        assert!(table(Act16::Tanh, (0.001, 1), ok).is_err());
        assert!(table(Act16::Logistic, (0.001, 0), (1.0 / 256.0, 0)).is_err());
        assert!(table(Act16::Logistic, (1000.0, 0), ok).is_err());
        assert_eq!(
            table(Act16::Tanh, (0.001, 0), ok).map(|t| t.len()),
            Ok(65536)
        );
    }
}
