//! Typed access to a node's attributes, with errors for wrong attribute types.

use super::error::{LResult, LowerError};
use super::proto::{AttributeProto, NodeProto, TensorProto};
use tract_onnx::pb::attribute_proto::AttributeType;

/// A node's attributes.
#[derive(Clone, Copy)]
pub(crate) struct Attrs<'a> {
    node: &'a NodeProto,
}

fn type_name(t: i32) -> &'static str {
    AttributeType::try_from(t)
        .map(|a| a.as_str_name())
        .unwrap_or("UNKNOWN")
}

impl<'a> Attrs<'a> {
    /// The attributes of `node`.
    pub(crate) fn new(node: &'a NodeProto) -> Self {
        Attrs { node }
    }

    /// The attribute `name` when present, checked to have type `want`. Attributes without a
    /// declared type (very old files) are accepted as is.
    fn get(&self, name: &str, want: AttributeType) -> LResult<Option<&'a AttributeProto>> {
        let Some(a) = self.node.attribute.iter().find(|a| a.name == name) else {
            return Ok(None);
        };
        if !a.ref_attr_name.is_empty() {
            return Err(LowerError::Msg(format!(
                "attribute '{name}' refers to a function attribute '{}'",
                a.ref_attr_name
            )));
        }
        if a.r#type != want as i32 && a.r#type != AttributeType::Undefined as i32 {
            return Err(LowerError::Msg(format!(
                "attribute '{name}' has type {}, expected {}",
                type_name(a.r#type),
                want.as_str_name()
            )));
        }
        Ok(Some(a))
    }

    /// True when the attribute is present (whatever its type).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.node.attribute.iter().any(|a| a.name == name)
    }

    /// An INT attribute.
    pub(crate) fn int(&self, name: &str) -> LResult<Option<i64>> {
        Ok(self.get(name, AttributeType::Int)?.map(|a| a.i))
    }

    /// An INT attribute with a default.
    pub(crate) fn int_or(&self, name: &str, default: i64) -> LResult<i64> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    /// An INT attribute used as a flag (0 / 1).
    pub(crate) fn flag(&self, name: &str, default: bool) -> LResult<bool> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => Err(LowerError::Msg(format!(
                "attribute '{name}' must be 0 or 1, got {v}"
            ))),
        }
    }

    /// An INTS attribute.
    pub(crate) fn ints(&self, name: &str) -> LResult<Option<Vec<i64>>> {
        Ok(self.get(name, AttributeType::Ints)?.map(|a| a.ints.clone()))
    }

    /// An INTS attribute whose values must all be `>= 0`, as usize.
    pub(crate) fn usizes(&self, name: &str) -> LResult<Option<Vec<usize>>> {
        match self.ints(name)? {
            None => Ok(None),
            Some(v) => v
                .iter()
                .map(|&x| usize::try_from(x))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
                .map_err(|_| {
                    LowerError::Msg(format!("attribute '{name}' has a negative value: {v:?}"))
                }),
        }
    }

    /// A FLOAT attribute.
    pub(crate) fn float(&self, name: &str) -> LResult<Option<f32>> {
        Ok(self.get(name, AttributeType::Float)?.map(|a| a.f))
    }

    /// A FLOAT attribute with a default.
    pub(crate) fn float_or(&self, name: &str, default: f32) -> LResult<f32> {
        Ok(self.float(name)?.unwrap_or(default))
    }

    /// A FLOATS attribute.
    pub(crate) fn floats(&self, name: &str) -> LResult<Option<Vec<f32>>> {
        Ok(self
            .get(name, AttributeType::Floats)?
            .map(|a| a.floats.clone()))
    }

    /// A STRING attribute (UTF-8).
    pub(crate) fn string(&self, name: &str) -> LResult<Option<String>> {
        match self.get(name, AttributeType::String)? {
            None => Ok(None),
            Some(a) => String::from_utf8(a.s.clone())
                .map(Some)
                .map_err(|_| LowerError::Msg(format!("attribute '{name}' is not valid UTF-8"))),
        }
    }

    /// A TENSOR attribute.
    pub(crate) fn tensor(&self, name: &str) -> LResult<Option<&'a TensorProto>> {
        match self.get(name, AttributeType::Tensor)? {
            None => Ok(None),
            Some(a) => match &a.t {
                Some(t) => Ok(Some(t)),
                None => Err(LowerError::Msg(format!(
                    "attribute '{name}' has no tensor value"
                ))),
            },
        }
    }

    /// Names of all attributes, for "exactly one of" checks.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'a str> {
        self.node.attribute.iter().map(|a| a.name.as_str())
    }
}
