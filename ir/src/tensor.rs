//! Run-time tensors: a shape and a typed, row-major buffer.

use crate::DType;

/// A typed element buffer.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// f32 elements.
    F32(Vec<f32>),
    /// f64 elements.
    F64(Vec<f64>),
    /// i8 elements.
    I8(Vec<i8>),
    /// u8 elements.
    U8(Vec<u8>),
    /// i16 elements.
    I16(Vec<i16>),
    /// u16 elements.
    U16(Vec<u16>),
    /// i32 elements.
    I32(Vec<i32>),
    /// u32 elements.
    U32(Vec<u32>),
    /// i64 elements.
    I64(Vec<i64>),
    /// u64 elements.
    U64(Vec<u64>),
    /// bool elements.
    Bool(Vec<bool>),
}

/// Applies `$body` to the inner vector of a [`Data`] whatever its element type.
#[macro_export]
macro_rules! with_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::Data::F32($v) => $body,
            $crate::Data::F64($v) => $body,
            $crate::Data::I8($v) => $body,
            $crate::Data::U8($v) => $body,
            $crate::Data::I16($v) => $body,
            $crate::Data::U16($v) => $body,
            $crate::Data::I32($v) => $body,
            $crate::Data::U32($v) => $body,
            $crate::Data::I64($v) => $body,
            $crate::Data::U64($v) => $body,
            $crate::Data::Bool($v) => $body,
        }
    };
}

/// Conversion of one element to and from f64 / i64, used by generic kernels.
pub trait Element: Copy + PartialEq + std::fmt::Debug + 'static {
    /// The element type.
    const DTYPE: DType;
    /// Value as f64 (exact for every integer up to 2^53).
    fn to_f64(self) -> f64;
    /// Value as i64 (floats truncate toward zero; u64 above i64::MAX wraps).
    fn to_i64(self) -> i64;
    /// From f64 with Rust `as` semantics (saturating, NaN -> 0).
    fn from_f64(v: f64) -> Self;
    /// From i64 with wrapping (two's complement truncation) for integers.
    fn from_i64(v: i64) -> Self;
    /// Wraps a vector into [`Data`].
    fn wrap(v: Vec<Self>) -> Data;
    /// Borrows the vector out of [`Data`] when the type matches.
    fn unwrap(d: &Data) -> Option<&Vec<Self>>;
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            fn wrap(v: Vec<Self>) -> Data {
                Data::$variant(v)
            }
            fn unwrap(d: &Data) -> Option<&Vec<Self>> {
                match d {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

element!(f32, F32);
element!(f64, F64);
element!(i8, I8);
element!(u8, U8);
element!(i16, I16);
element!(u16, U16);
element!(i32, I32);
element!(u32, U32);
element!(i64, I64);
element!(u64, U64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    fn to_i64(self) -> i64 {
        self as i64
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    fn wrap(v: Vec<Self>) -> Data {
        Data::Bool(v)
    }
    fn unwrap(d: &Data) -> Option<&Vec<Self>> {
        match d {
            Data::Bool(v) => Some(v),
            _ => None,
        }
    }
}

impl Data {
    /// Element type of the buffer.
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
            Data::I8(_) => DType::I8,
            Data::U8(_) => DType::U8,
            Data::I16(_) => DType::I16,
            Data::U16(_) => DType::U16,
            Data::I32(_) => DType::I32,
            Data::U32(_) => DType::U32,
            Data::I64(_) => DType::I64,
            Data::U64(_) => DType::U64,
            Data::Bool(_) => DType::Bool,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_data!(self, v => v.len())
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A zero-filled buffer of `n` elements.
    pub fn zeros(dtype: DType, n: usize) -> Data {
        Data::from_f64(dtype, &vec![0.0; n])
    }

    /// Every element as f64.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        with_data!(self, v => v.iter().map(|x| x.to_f64()).collect())
    }

    /// Every element as i64.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        with_data!(self, v => v.iter().map(|x| x.to_i64()).collect())
    }

    /// Builds a buffer of `dtype` from f64 values (Rust `as` conversion).
    pub fn from_f64(dtype: DType, vals: &[f64]) -> Data {
        fn conv<T: Element>(vals: &[f64]) -> Data {
            T::wrap(vals.iter().map(|&x| T::from_f64(x)).collect())
        }
        dispatch_dtype(
            dtype,
            vals,
            conv::<f32>,
            conv::<f64>,
            conv::<i8>,
            conv::<u8>,
            conv::<i16>,
            conv::<u16>,
            conv::<i32>,
            conv::<u32>,
            conv::<i64>,
            conv::<u64>,
            conv::<bool>,
        )
    }

    /// Builds a buffer of `dtype` from i64 values (wrapping conversion for integers).
    pub fn from_i64(dtype: DType, vals: &[i64]) -> Data {
        fn conv<T: Element>(vals: &[i64]) -> Data {
            T::wrap(vals.iter().map(|&x| T::from_i64(x)).collect())
        }
        dispatch_dtype(
            dtype,
            vals,
            conv::<f32>,
            conv::<f64>,
            conv::<i8>,
            conv::<u8>,
            conv::<i16>,
            conv::<u16>,
            conv::<i32>,
            conv::<u32>,
            conv::<i64>,
            conv::<u64>,
            conv::<bool>,
        )
    }

    /// Little-endian bytes of the buffer (bool as one byte 0/1).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Data::Bool(v) => v.iter().map(|&b| b as u8).collect(),
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I8(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U8(v) => v.clone(),
            Data::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Parses little-endian bytes; `None` when the length is not a multiple of the element size.
    pub fn from_le_bytes(dtype: DType, b: &[u8]) -> Option<Data> {
        let n = dtype.size();
        if !b.len().is_multiple_of(n) {
            return None;
        }
        macro_rules! le {
            ($t:ty, $v:ident) => {
                Data::$v(
                    b.chunks_exact(n)
                        .map(|c| <$t>::from_le_bytes(c.try_into().unwrap()))
                        .collect(),
                )
            };
        }
        Some(match dtype {
            DType::F32 => le!(f32, F32),
            DType::F64 => le!(f64, F64),
            DType::I8 => le!(i8, I8),
            DType::U8 => Data::U8(b.to_vec()),
            DType::I16 => le!(i16, I16),
            DType::U16 => le!(u16, U16),
            DType::I32 => le!(i32, I32),
            DType::U32 => le!(u32, U32),
            DType::I64 => le!(i64, I64),
            DType::U64 => le!(u64, U64),
            DType::Bool => Data::Bool(b.iter().map(|&x| x != 0).collect()),
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch_dtype<A: ?Sized>(
    dtype: DType,
    a: &A,
    f32_: fn(&A) -> Data,
    f64_: fn(&A) -> Data,
    i8_: fn(&A) -> Data,
    u8_: fn(&A) -> Data,
    i16_: fn(&A) -> Data,
    u16_: fn(&A) -> Data,
    i32_: fn(&A) -> Data,
    u32_: fn(&A) -> Data,
    i64_: fn(&A) -> Data,
    u64_: fn(&A) -> Data,
    bool_: fn(&A) -> Data,
) -> Data {
    match dtype {
        DType::F32 => f32_(a),
        DType::F64 => f64_(a),
        DType::I8 => i8_(a),
        DType::U8 => u8_(a),
        DType::I16 => i16_(a),
        DType::U16 => u16_(a),
        DType::I32 => i32_(a),
        DType::U32 => u32_(a),
        DType::I64 => i64_(a),
        DType::U64 => u64_(a),
        DType::Bool => bool_(a),
    }
}

/// A run-time tensor: shape plus row-major data.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Elements in row-major (C) order; `data.len() == shape.product()`.
    pub data: Data,
}

impl Tensor {
    /// A tensor from a shape and matching data. Panics in debug builds on a length mismatch;
    /// use [`Tensor::try_new`] for untrusted input.
    pub fn new(shape: Vec<usize>, data: Data) -> Tensor {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor { shape, data }
    }

    /// A tensor from a shape and data, checking the element count.
    pub fn try_new(shape: Vec<usize>, data: Data) -> Option<Tensor> {
        (shape.iter().product::<usize>() == data.len()).then_some(Tensor { shape, data })
    }

    /// An f32 tensor.
    pub fn from_f32(shape: Vec<usize>, v: Vec<f32>) -> Tensor {
        Tensor::new(shape, Data::F32(v))
    }

    /// A zero tensor.
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Tensor {
        let n = shape.iter().product();
        Tensor::new(shape, Data::zeros(dtype, n))
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Borrows the elements as `&[T]` when the element type is `T`.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        T::unwrap(&self.data).map(|v| v.as_slice())
    }
}
