//! UNIDIRECTIONAL_SEQUENCE_LSTM: the integer 8x8_16 kernel as one `tflite_lstm` node.

use super::OpRef;
use crate::tflite::builder::{Builder, Slot};
use crate::tflite::error::{bail, unsupported, LResult};
use qcc_ir::{DType, Data, Op, Tensor, ValueId};
use tract_tflite::tflite::ActivationFunctionType;

/// Input indices of the operator (TFLite's `lstm_shared.h`).
const INPUT: usize = 0;
const CELL_TO_GATE: [usize; 3] = [9, 10, 11];
const PROJECTION: [usize; 2] = [16, 17];
const OUTPUT_STATE: usize = 18;
const CELL_STATE: usize = 19;
const LAYER_NORM: [usize; 4] = [20, 21, 22, 23];

/// The initial value of variable state tensor `t`, with its quantization: TFLite's
/// `ResetVariableTensor` fills int8 variables with their zero point (the real value 0) and
/// other types with zero bytes.
fn state(b: &mut Builder<'_>, t: usize, want: DType, what: &str) -> LResult<ValueId> {
    let ti = b.tensor(t);
    if ti.dtype != want {
        unsupported!("{what} has type {}, expected {want}", ti.dtype);
    }
    b.per_tensor(t, what)?;
    let n: usize = ti.shape.iter().product();
    let q = b.qparams(t);
    let data = match want {
        DType::I16 => Data::I16(vec![0; n]),
        _ => {
            let zp = q
                .as_ref()
                .and_then(|q| q.zero_point.first())
                .copied()
                .unwrap_or(0);
            Data::I8(vec![zp as i8; n])
        }
    };
    let name = ti.name.clone();
    Ok(b.new_const(&name, Tensor::new(ti.shape.clone(), data), q))
}

/// UNIDIRECTIONAL_SEQUENCE_LSTM with int8 input / output state, int16 cell state and five
/// intermediates (the 8x8_16 kernel); no peephole, projection, layer norm or CIFG.
pub(crate) fn unidirectional_sequence_lstm(b: &mut Builder<'_>, op: &OpRef<'_>) -> LResult<()> {
    op.arity(20, 24, 1)?;
    let Some(o) = op
        .fb
        .builtin_options_as_unidirectional_sequence_lstmoptions()
    else {
        bail!("missing UnidirectionalSequenceLSTMOptions");
    };
    let x = op.input(INPUT)?;
    let y = op.output(0)?;
    if b.tensor(x).dtype != DType::I8 {
        unsupported!(
            "input type {} (only the int8 integer kernel is lowered)",
            b.tensor(x).dtype
        );
    }
    if b.tensor(y).dtype != DType::I8 {
        unsupported!("output type {}, expected int8", b.tensor(y).dtype);
    }
    if op.opt_input(1).is_none() {
        unsupported!("CIFG (no input gate)");
    }
    if CELL_TO_GATE.iter().any(|&i| op.opt_input(i).is_some()) {
        unsupported!("peephole connections");
    }
    if PROJECTION.iter().any(|&i| op.opt_input(i).is_some()) {
        unsupported!("projection");
    }
    if LAYER_NORM.iter().any(|&i| op.opt_input(i).is_some()) {
        unsupported!("layer normalisation");
    }
    if o.fused_activation_function() != ActivationFunctionType::TANH {
        unsupported!(
            "cell activation {:?} (only TANH)",
            o.fused_activation_function()
        );
    }
    if o.cell_clip() < 0.0 || o.proj_clip() < 0.0 || !o.cell_clip().is_finite() {
        bail!("cell_clip and proj_clip must be finite and non-negative");
    }
    let inter: Vec<i32> = op
        .fb
        .intermediates()
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    if inter.len() != 5 {
        unsupported!(
            "{} intermediate tensors (the int8 8x8_16 kernel has 5)",
            inter.len()
        );
    }
    let hidden = inter[4];
    if hidden < 0 || hidden as usize >= b.info.tensors.len() {
        bail!("intermediate tensor index {hidden} out of range");
    }
    let (hidden_scale, hidden_zp) = b.per_tensor(hidden as usize, "the hidden intermediate")?;
    if !(hidden_scale > 0.0 && hidden_scale.is_finite()) {
        bail!("hidden intermediate scale {hidden_scale} must be positive");
    }
    b.per_tensor(x, "the input")?;
    let mut ins = vec![b.value(x)?];
    for i in 1..=8 {
        let t = op.input(i)?;
        if b.tensor(t).dtype != DType::I8 {
            unsupported!("weight input {i} has type {}", b.tensor(t).dtype);
        }
        if b.const_data(t).is_none() {
            unsupported!("non-constant weight input {i}");
        }
        b.per_tensor(t, "an LSTM weight")?;
        ins.push(b.value(t)?);
    }
    for i in 12..=15 {
        let t = op.input(i)?;
        let Some(data) = b.const_data(t).cloned() else {
            unsupported!("non-constant gate bias input {i}");
        };
        if data.dtype() != DType::I32 {
            unsupported!(
                "gate bias input {i} has type {}, expected int32",
                data.dtype()
            );
        }
        let name = b.tensor(t).name.clone();
        ins.push(b.new_const(&name, data, None));
    }
    let h = op.input(OUTPUT_STATE)?;
    let c = op.input(CELL_STATE)?;
    ins.push(state(b, h, DType::I8, "the output state")?);
    ins.push(state(b, c, DType::I16, "the cell state")?);
    let v = b.emit_tensor(
        y,
        Op::TfliteLstm {
            time_major: o.time_major(),
            cell_clip: o.cell_clip(),
            hidden_scale,
            hidden_zp,
        },
        ins,
    )?;
    b.bind(y, Slot::Value(v));
    Ok(())
}
