//! Model importers: each frontend lowers a model file into a [`qcc_ir::Module`].

mod lower_error;
pub mod onnx;
pub mod tflite;
