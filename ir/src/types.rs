//! Tensor types: element type, shape and optional quantization parameters.

use crate::DType;
use std::fmt;

/// One dimension of a tensor shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A size known at compile time.
    Fixed(usize),
    /// A named symbolic size (the batch dim `N`), bound when inputs arrive.
    Sym(String),
    /// A size only known at run time (data-dependent shapes).
    Any,
}

impl Dim {
    /// The fixed size, if known.
    pub fn fixed(&self) -> Option<usize> {
        match self {
            Dim::Fixed(n) => Some(*n),
            _ => None,
        }
    }
}

/// True when a symbolic dim name is a plain word (`N`, `batch_size`: ASCII letters, digits
/// and `_`, not starting with a digit), the names an op attribute such as `expand`'s shape
/// can spell.
pub fn is_plain_dim_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| !c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Sym(s) => f.write_str(s),
            Dim::Any => f.write_str("?"),
        }
    }
}

/// Affine quantization parameters `real = (q - zero_point) * scale`.
///
/// Per-tensor parameters have one scale and one zero point and `axis == None`; per-axis
/// parameters have one entry per slice along `axis`.
#[derive(Clone, Debug, PartialEq)]
pub struct QParams {
    /// Scales, one per tensor or one per slice along `axis`. Always `> 0`.
    pub scale: Vec<f32>,
    /// Zero points, same length as `scale`, within the storage range.
    pub zero_point: Vec<i32>,
    /// The quantized axis for per-axis parameters.
    pub axis: Option<usize>,
    /// Narrow storage range: `[-127, 127]` for i8 (symmetric weights) instead of the full range.
    pub narrow: bool,
}

impl QParams {
    /// Per-tensor parameters.
    pub fn per_tensor(scale: f32, zero_point: i32) -> Self {
        QParams {
            scale: vec![scale],
            zero_point: vec![zero_point],
            axis: None,
            narrow: false,
        }
    }

    /// Per-axis parameters along `axis`.
    pub fn per_axis(scale: Vec<f32>, zero_point: Vec<i32>, axis: usize) -> Self {
        QParams {
            scale,
            zero_point,
            axis: Some(axis),
            narrow: false,
        }
    }

    /// True for one (scale, zero point) pair.
    pub fn is_per_tensor(&self) -> bool {
        self.axis.is_none()
    }

    /// Scale and zero point of slice `i` (per-tensor parameters ignore `i`).
    pub fn get(&self, i: usize) -> (f32, i32) {
        if self.axis.is_none() {
            (self.scale[0], self.zero_point[0])
        } else {
            (self.scale[i], self.zero_point[i])
        }
    }

    /// Storage range `[qmin, qmax]` of these parameters on `dtype`.
    pub fn storage_range(&self, dtype: DType) -> (i64, i64) {
        let (lo, hi) = dtype.int_range().unwrap_or((i64::MIN, i64::MAX));
        if self.narrow && lo < 0 {
            (lo + 1, hi)
        } else {
            (lo, hi)
        }
    }

    /// Bitwise equality (scales compared by bits), the test for "same parameters".
    pub fn same_as(&self, other: &QParams) -> bool {
        self.axis == other.axis
            && self.narrow == other.narrow
            && self.zero_point == other.zero_point
            && self.scale.len() == other.scale.len()
            && self
                .scale
                .iter()
                .zip(&other.scale)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

/// The type of an SSA value: element type, shape and optional quantization.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorType {
    /// Element (storage) type.
    pub dtype: DType,
    /// Dimensions, outermost first (row-major / C order).
    pub shape: Vec<Dim>,
    /// Quantization parameters; only on integer storage types.
    pub quant: Option<QParams>,
}

impl TensorType {
    /// A plain (unquantized) tensor type with fixed dims.
    pub fn new(dtype: DType, dims: &[usize]) -> Self {
        TensorType {
            dtype,
            shape: dims.iter().map(|&d| Dim::Fixed(d)).collect(),
            quant: None,
        }
    }

    /// A plain tensor type with the given dims.
    pub fn with_dims(dtype: DType, shape: Vec<Dim>) -> Self {
        TensorType {
            dtype,
            shape,
            quant: None,
        }
    }

    /// The same type with quantization parameters attached.
    pub fn quantized(mut self, q: QParams) -> Self {
        self.quant = Some(q);
        self
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// All dims as fixed sizes, if every dim is known.
    pub fn fixed_dims(&self) -> Option<Vec<usize>> {
        self.shape.iter().map(Dim::fixed).collect()
    }

    /// Element count when all dims are fixed.
    pub fn num_elements(&self) -> Option<usize> {
        self.fixed_dims().map(|d| d.iter().product())
    }
}
