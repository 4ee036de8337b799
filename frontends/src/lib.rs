//! Model importers: each frontend lowers a model file into a [`qcc_ir::Module`].

pub mod onnx;
pub mod tflite;
