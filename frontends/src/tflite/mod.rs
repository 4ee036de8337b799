//! TFLite frontend: reads subgraph 0 of a `.tflite` flatbuffer and lowers it into a
//! [`qcc_ir::Module`] with TFLite's fixed-point numerics ([`qcc_ir::RequantMode::FixedPoint`]).
//!
//! * Flatbuffer decoding: the schema types generated from TFLite's `schema.fbs` that
//!   `tract-tflite` publishes (`tract_tflite::tflite`), on the `flatbuffers` crate; the
//!   buffer is checked by the flatbuffers verifier before anything is read, then every
//!   index, length and quantization array is validated in `model`.
//! * Layout: tensors keep TFLite's NHWC layout; conv and pool ops are wrapped in
//!   transposes to the IR's NCHW, filters are permuted to OIHW at load.
//! * Fused activations become an integer `clip` with TFLite's quantized bounds.
//! * A batch dim the shape signature marks dynamic (`-1`, stored as 1) becomes the
//!   symbolic `N`; SHAPE / STRIDED_SLICE / PACK on shapes fold at compile time.
//!
//! Errors are one-line [`TfliteError`]s naming the file and, for operators, the operator
//! index, builtin op, builtin code and version. Nothing panics on malformed input.

mod builder;
mod error;
mod lower;
mod model;

pub use error::TfliteError;
pub use lower::supported_ops;

use builder::{Builder, Slot};
use error::LowerError;
use lower::OpRef;
use qcc_ir::Module;
use std::path::Path;
use tract_tflite::tflite;

/// Loads a `.tflite` model file. Errors name the file as given.
pub fn load_tflite(path: &Path) -> Result<Module, TfliteError> {
    let label = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| TfliteError::Io {
        file: label.clone(),
        msg: e.to_string(),
    })?;
    load_tflite_bytes(&bytes, &label)
}

/// Loads a TFLite model from its bytes; `file_label` names it in errors and gives the
/// module name when the subgraph has none.
pub fn load_tflite_bytes(bytes: &[u8], file_label: &str) -> Result<Module, TfliteError> {
    let file = file_label.to_string();
    let model_err = |msg: String| TfliteError::Model {
        file: file.clone(),
        msg,
    };
    if bytes.len() >= 8 && &bytes[4..8] != b"TFL3" {
        return Err(TfliteError::Decode {
            file: file.clone(),
            msg: format!(
                "file identifier is {:?}, expected \"TFL3\"",
                String::from_utf8_lossy(&bytes[4..8])
            ),
        });
    }
    if bytes.len() < 8 {
        return Err(TfliteError::Decode {
            file: file.clone(),
            msg: format!(
                "file is {} bytes, too short for a flatbuffer header",
                bytes.len()
            ),
        });
    }
    let fb = tflite::root_as_model(bytes).map_err(|e| TfliteError::Decode {
        file: file.clone(),
        // The verifier's message spans lines (error, then the path to it): keep one line.
        msg: e
            .to_string()
            .split(['\n', '\t'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let info = model::read_model(&fb).map_err(&model_err)?;
    let name = Path::new(file_label)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_string());
    let mut b = Builder::new(name, &info);
    for &t in &info.inputs {
        if b.slot(t).is_some() {
            return Err(model_err(format!(
                "tensor {t} is listed twice as a graph input"
            )));
        }
        if b.tensor(t).data.is_some() {
            return Err(model_err(format!(
                "graph input tensor {t} has constant data"
            )));
        }
        b.add_input(t);
    }
    let ops_fb = fb.subgraphs().map(|s| s.get(0)).and_then(|s| s.operators());
    for (k, oi) in info.ops.iter().enumerate() {
        let Some(op_fb) = ops_fb.map(|o| o.get(k)) else {
            return Err(model_err("operator table vanished".into()));
        };
        let op_err = |e: LowerError| match e {
            LowerError::Unsupported(reason) => TfliteError::UnsupportedOp {
                file: file.clone(),
                index: k,
                op: oi.name.clone(),
                code: oi.code,
                version: oi.version,
                reason,
            },
            LowerError::Msg(msg) => TfliteError::Operator {
                file: file.clone(),
                index: k,
                op: oi.name.clone(),
                code: oi.code,
                version: oi.version,
                msg,
            },
        };
        for &t in &oi.outputs {
            if b.slot(t).is_some() || b.tensor(t).data.is_some() {
                return Err(op_err(LowerError::Msg(format!(
                    "output tensor {t} is already defined"
                ))));
            }
        }
        let r = OpRef {
            info: oi,
            fb: op_fb,
        };
        lower::lower(&mut b, &r).map_err(op_err)?;
        for &t in &oi.outputs {
            if b.slot(t).is_none() {
                return Err(op_err(LowerError::Msg(format!(
                    "output tensor {t} was not defined"
                ))));
            }
        }
    }
    let mut outs = Vec::new();
    for &t in &info.outputs {
        if b.slot(t).is_none() && b.tensor(t).data.is_none() {
            return Err(model_err(format!(
                "graph output tensor {t} '{}' is never produced",
                b.tensor(t).name
            )));
        }
        if let Some(Slot::Shape { .. }) = b.slot(t) {
            // Folded shape arithmetic as an output: materialize it.
        }
        let v = b.value(t).map_err(|e| match e {
            LowerError::Msg(m) | LowerError::Unsupported(m) => {
                model_err(format!("graph output: {m}"))
            }
        })?;
        outs.push(v);
    }
    b.module.graph.outputs = outs;
    Ok(b.module)
}
