//! The op attribute table: the one place where each op's attributes are declared, used by
//! both the printer ([`op_attrs`]) and the parser ([`build_op`]).
//!
//! [`fields`] walks an op's attribute fields in their fixed print order, handing out a typed
//! mutable [`Slot`] per field: the printer reads the slots, the parser fills the slots of a
//! [`template`] op. Its `match` has no wildcard arm, so a new [`Op`] variant does not compile
//! until its attributes are declared here; [`templates`] lists one default instance per
//! mnemonic (mnemonics themselves come from [`Op::name`]).

use super::cursor::{Atom, Cursor};
use super::syntax::{fmt_f32, fmt_f64, parse_f32, parse_f64};
use crate::{
    ArgOp, BinaryOp, Clamp, ConstId, ConvAttrs, DType, Dim, Error, GemmAttrs, Op, PadMode,
    PoolAttrs, ReduceOp, Result, UnaryOp,
};

/// A typed, mutable view of one attribute field.
pub(crate) enum Slot<'a> {
    /// Non-negative integer.
    Usize(&'a mut usize),
    /// Signed integer.
    I64(&'a mut i64),
    /// f32 (bit-exact spelling).
    F32(&'a mut f32),
    /// f64 (bit-exact spelling).
    F64(&'a mut f64),
    /// `true` / `false`.
    Bool(&'a mut bool),
    /// `[1, 2]` of non-negative integers.
    Usizes(&'a mut Vec<usize>),
    /// `[1, -2]` of signed integers.
    I64s(&'a mut Vec<i64>),
    /// An element type word (`f32`, `i8`, ...).
    DType(&'a mut DType),
    /// A padding mode word (`constant`, `reflect`, `edge`, `wrap`).
    PadMode(&'a mut PadMode),
    /// An optional f64: omitted when `None`.
    OptF64(&'a mut Option<f64>),
    /// An optional signed-integer list: omitted when `None` (`[]` is `Some(vec![])`).
    OptI64s(&'a mut Option<Vec<i64>>),
    /// An optional `[lo, hi]` pair of integers: omitted when `None`.
    OptRange(&'a mut Option<(i64, i64)>),
    /// A flag: printed only when `true`, `false` when omitted.
    Flag(&'a mut bool),
    /// `[1.5, 2]` of f32 (bit-exact spellings).
    F32s(&'a mut Vec<f32>),
    /// A bare word (`half_pixel`, ...).
    Word(&'a mut String),
    /// `[N, 1, 64]`: a shape of fixed sizes and symbolic dims (bare names).
    Dims(&'a mut Vec<Dim>),
}

impl Slot<'_> {
    /// What the slot accepts, for error messages.
    fn expects(&self) -> &'static str {
        match self {
            Slot::Usize(_) => "a non-negative integer",
            Slot::I64(_) => "an integer",
            Slot::F32(_) | Slot::F64(_) | Slot::OptF64(_) => "a number",
            Slot::Bool(_) | Slot::Flag(_) => "'true' or 'false'",
            Slot::F32s(_) => "a list of numbers",
            Slot::Word(_) => "a word",
            Slot::Dims(_) => "a list of sizes and symbolic dim names",
            Slot::Usizes(_) => "a list of non-negative integers",
            Slot::I64s(_) | Slot::OptI64s(_) => "a list of integers",
            Slot::OptRange(_) => "a pair [lo, hi] of integers",
            Slot::DType(_) => "an element type (f32, i8, u8, ...)",
            Slot::PadMode(_) => "a pad mode (constant, reflect, edge, wrap)",
        }
    }

    /// The printed value, `None` for an absent optional.
    fn print(&self) -> Option<String> {
        fn list<T: ToString>(v: &[T]) -> String {
            let items: Vec<String> = v.iter().map(T::to_string).collect();
            format!("[{}]", items.join(", "))
        }
        Some(match self {
            Slot::Usize(v) => v.to_string(),
            Slot::I64(v) => v.to_string(),
            Slot::F32(v) => fmt_f32(**v),
            Slot::F64(v) => fmt_f64(**v),
            Slot::Bool(v) => v.to_string(),
            Slot::Flag(v) => {
                if !**v {
                    return None;
                }
                "true".to_string()
            }
            Slot::Usizes(v) => list(v),
            Slot::I64s(v) => list(v),
            Slot::DType(v) => v.name().to_string(),
            Slot::PadMode(v) => pad_mode_name(**v).to_string(),
            Slot::F32s(v) => {
                let items: Vec<String> = v.iter().map(|&x| fmt_f32(x)).collect();
                format!("[{}]", items.join(", "))
            }
            Slot::Word(v) => v.to_string(),
            Slot::Dims(v) => list(v),
            Slot::OptF64(v) => fmt_f64((**v)?),
            Slot::OptI64s(v) => list(v.as_ref()?),
            Slot::OptRange(v) => {
                let (lo, hi) = (**v)?;
                list(&[lo, hi])
            }
        })
    }

    /// True for the optional kinds, which may be left out.
    fn optional(&self) -> bool {
        matches!(
            self,
            Slot::OptF64(_) | Slot::OptI64s(_) | Slot::OptRange(_) | Slot::Flag(_)
        )
    }
}

/// Padding-mode words, in [`PadMode`] order.
const PAD_MODES: [(PadMode, &str); 4] = [
    (PadMode::Constant, "constant"),
    (PadMode::Reflect, "reflect"),
    (PadMode::Edge, "edge"),
    (PadMode::Wrap, "wrap"),
];

fn pad_mode_name(m: PadMode) -> &'static str {
    PAD_MODES
        .iter()
        .find(|(p, _)| *p == m)
        .map_or("?", |(_, n)| n)
}

fn conv_fields(a: &mut ConvAttrs, f: &mut dyn FnMut(&'static str, Slot<'_>)) {
    f("strides", Slot::Usizes(&mut a.strides));
    f("pads", Slot::Usizes(&mut a.pads));
    f("dilations", Slot::Usizes(&mut a.dilations));
    f("group", Slot::Usize(&mut a.group));
}

fn pool_fields(a: &mut PoolAttrs, f: &mut dyn FnMut(&'static str, Slot<'_>)) {
    f("kernel", Slot::Usizes(&mut a.kernel));
    f("strides", Slot::Usizes(&mut a.strides));
    f("pads", Slot::Usizes(&mut a.pads));
    f("dilations", Slot::Usizes(&mut a.dilations));
    f("ceil_mode", Slot::Bool(&mut a.ceil_mode));
    f("count_include_pad", Slot::Bool(&mut a.count_include_pad));
    f("row_major_sum", Slot::Flag(&mut a.row_major_sum));
}

fn gemm_fields(a: &mut GemmAttrs, f: &mut dyn FnMut(&'static str, Slot<'_>)) {
    f("alpha", Slot::F32(&mut a.alpha));
    f("beta", Slot::F32(&mut a.beta));
    f("trans_a", Slot::Bool(&mut a.trans_a));
    f("trans_b", Slot::Bool(&mut a.trans_b));
}

/// THE attribute table: calls `f` once per attribute field of `op`, in print order.
pub(crate) fn fields(op: &mut Op, f: &mut dyn FnMut(&'static str, Slot<'_>)) {
    match op {
        Op::Const(_)
        | Op::Quantize
        | Op::Dequantize
        | Op::Requantize
        | Op::DynamicQuantizeLinear
        | Op::MatMul
        | Op::MatMulInteger
        | Op::QMatMul
        | Op::QAdd
        | Op::QGlobalAvgPool
        | Op::QMul
        | Op::QSub
        | Op::Lut
        | Op::QFullyConnected
        | Op::Binary(_)
        | Op::Unary(_)
        | Op::Where
        | Op::Identity
        | Op::GlobalAvgPool
        | Op::GlobalMaxPool => {}
        Op::QuantizeLinear { axis, block_size } | Op::DequantizeLinear { axis, block_size } => {
            f("axis", Slot::I64(axis));
            f("block_size", Slot::Usize(block_size));
        }
        Op::Conv(a) | Op::ConvInteger(a) => conv_fields(a, f),
        Op::QConv(a, c) => {
            conv_fields(a, f);
            f("clamp", Slot::OptRange(&mut c.0));
        }
        Op::Gemm(a) => gemm_fields(a, f),
        Op::QGemm(a, c) => {
            gemm_fields(a, f);
            f("clamp", Slot::OptRange(&mut c.0));
        }
        Op::ResizeNearest {
            sizes,
            scales,
            coord,
            nearest,
        } => {
            f("sizes", Slot::I64s(sizes));
            f("scales", Slot::F32s(scales));
            f("coord", Slot::Word(coord));
            f("nearest", Slot::Word(nearest));
        }
        Op::ResizeBilinear { sizes, coord } => {
            f("sizes", Slot::I64s(sizes));
            f("coord", Slot::Word(coord));
        }
        Op::LayerNorm { axis, epsilon } => {
            f("axis", Slot::I64(axis));
            f("epsilon", Slot::F32(epsilon));
        }
        Op::BatchNorm {
            epsilon,
            momentum,
            training,
        } => {
            f("epsilon", Slot::F32(epsilon));
            f("momentum", Slot::F32(momentum));
            f("training", Slot::Bool(training));
        }
        Op::LeakyRelu { alpha } => f("alpha", Slot::F32(alpha)),
        Op::QSoftmax { axis, beta } => {
            f("axis", Slot::I64(axis));
            f("beta", Slot::F32(beta));
        }
        Op::QMean { axes, keepdims } => {
            f("axes", Slot::I64s(axes));
            f("keepdims", Slot::Bool(keepdims));
        }
        Op::TfliteLstm {
            time_major,
            cell_clip,
            hidden_scale,
            hidden_zp,
        } => {
            f("time_major", Slot::Bool(time_major));
            f("cell_clip", Slot::F32(cell_clip));
            f("hidden_scale", Slot::F32(hidden_scale));
            f("hidden_zp", Slot::I64(hidden_zp));
        }
        Op::HardSigmoid { alpha, beta } => {
            f("alpha", Slot::F32(alpha));
            f("beta", Slot::F32(beta));
        }
        Op::Clip { min, max } => {
            f("min", Slot::OptF64(min));
            f("max", Slot::OptF64(max));
        }
        Op::Cast { to } => f("to", Slot::DType(to)),
        Op::Expand { shape } => f("shape", Slot::Dims(shape)),
        Op::Range {
            start,
            delta,
            len,
            to,
        } => {
            f("start", Slot::I64(start));
            f("delta", Slot::I64(delta));
            f("len", Slot::Dims(len));
            f("to", Slot::DType(to));
        }
        Op::Softmax { axis } | Op::Flatten { axis } | Op::Concat { axis } | Op::Gather { axis } => {
            f("axis", Slot::I64(axis))
        }
        Op::MaxPool(a) | Op::AvgPool(a) | Op::QAvgPool(a) => pool_fields(a, f),
        Op::Arg {
            op: _,
            axis,
            keepdims,
            select_last_index,
        } => {
            f("axis", Slot::I64(axis));
            f("keepdims", Slot::Bool(keepdims));
            f("select_last_index", Slot::Bool(select_last_index));
        }
        Op::Reduce {
            op: _,
            axes,
            keepdims,
            noop_with_empty_axes,
        } => {
            f("axes", Slot::OptI64s(axes));
            f("keepdims", Slot::Bool(keepdims));
            f("noop_with_empty_axes", Slot::Bool(noop_with_empty_axes));
        }
        Op::Reshape { shape, allowzero } => {
            f("shape", Slot::I64s(shape));
            f("allowzero", Slot::Bool(allowzero));
        }
        Op::Transpose { perm } => f("perm", Slot::Usizes(perm)),
        Op::Squeeze { axes } | Op::Unsqueeze { axes } => f("axes", Slot::I64s(axes)),
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        } => {
            f("starts", Slot::I64s(starts));
            f("ends", Slot::I64s(ends));
            f("axes", Slot::I64s(axes));
            f("steps", Slot::I64s(steps));
        }
        Op::Pad { mode, pads, value } => {
            f("mode", Slot::PadMode(mode));
            f("pads", Slot::I64s(pads));
            f("value", Slot::F64(value));
        }
        Op::Split { axis, sizes } => {
            f("axis", Slot::I64(axis));
            f("sizes", Slot::Usizes(sizes));
        }
    }
}

/// One default-valued instance of every op mnemonic, in documentation order.
pub fn templates() -> &'static [Op] {
    static TEMPLATES: std::sync::OnceLock<Vec<Op>> = std::sync::OnceLock::new();
    TEMPLATES.get_or_init(build_templates)
}

fn build_templates() -> Vec<Op> {
    let conv = ConvAttrs {
        strides: vec![],
        pads: vec![],
        dilations: vec![],
        group: 1,
    };
    let pool = PoolAttrs {
        kernel: vec![],
        strides: vec![],
        pads: vec![],
        dilations: vec![],
        ceil_mode: false,
        count_include_pad: false,
        row_major_sum: false,
    };
    let gemm = GemmAttrs {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
    };
    let mut ops = vec![
        Op::Const(ConstId(0)),
        Op::Quantize,
        Op::Dequantize,
        Op::Requantize,
        Op::QuantizeLinear {
            axis: 1,
            block_size: 0,
        },
        Op::DequantizeLinear {
            axis: 1,
            block_size: 0,
        },
        Op::DynamicQuantizeLinear,
        Op::Conv(conv.clone()),
        Op::ConvInteger(conv.clone()),
        Op::MatMul,
        Op::MatMulInteger,
        Op::Gemm(gemm.clone()),
        Op::ResizeNearest {
            sizes: vec![-1, -1, 8, 8],
            scales: vec![1.0, 1.0, 2.0, 2.0],
            coord: "half_pixel".into(),
            nearest: "round_prefer_floor".into(),
        },
        Op::ResizeBilinear {
            sizes: vec![8, 8],
            coord: "tflite".into(),
        },
        Op::LayerNorm {
            axis: -1,
            epsilon: 1e-5,
        },
        Op::BatchNorm {
            epsilon: 1e-5,
            momentum: 0.9,
            training: false,
        },
        Op::QConv(conv, Clamp::default()),
        Op::QMatMul,
        Op::QAdd,
        Op::QGlobalAvgPool,
        Op::QGemm(gemm, Clamp::default()),
        Op::Lut,
        Op::QMul,
        Op::QSub,
        Op::QAvgPool(pool.clone()),
        Op::QSoftmax {
            axis: -1,
            beta: 1.0,
        },
        Op::QMean {
            axes: vec![1, 2],
            keepdims: true,
        },
        Op::QFullyConnected,
        Op::TfliteLstm {
            time_major: false,
            cell_clip: 0.0,
            hidden_scale: 1.0,
            hidden_zp: 0,
        },
    ];
    use BinaryOp as B;
    ops.extend(
        [
            B::Add,
            B::Sub,
            B::Mul,
            B::Div,
            B::Max,
            B::Min,
            B::Pow,
            B::Less,
            B::LessOrEqual,
            B::Greater,
            B::GreaterOrEqual,
            B::Equal,
            B::And,
            B::Or,
        ]
        .map(Op::Binary),
    );
    use UnaryOp as U;
    ops.extend(
        [
            U::Relu,
            U::Sigmoid,
            U::Tanh,
            U::Exp,
            U::Log,
            U::Neg,
            U::Abs,
            U::Sqrt,
            U::Reciprocal,
            U::Round,
            U::Floor,
            U::Ceil,
            U::Not,
            U::HardSwish,
            U::Erf,
            U::Gelu,
            U::GeluTanh,
        ]
        .map(Op::Unary),
    );
    ops.extend([
        Op::Where,
        Op::LeakyRelu { alpha: 0.01 },
        Op::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        Op::Clip {
            min: None,
            max: None,
        },
        Op::Cast { to: DType::F32 },
        Op::Softmax { axis: -1 },
        Op::Identity,
        Op::MaxPool(pool.clone()),
        Op::AvgPool(pool),
        Op::GlobalAvgPool,
        Op::GlobalMaxPool,
    ]);
    ops.extend([ArgOp::Max, ArgOp::Min].map(|op| Op::Arg {
        op,
        axis: 0,
        keepdims: true,
        select_last_index: false,
    }));
    ops.extend(
        [
            ReduceOp::Mean,
            ReduceOp::MeanChannelsLast,
            ReduceOp::Sum,
            ReduceOp::Max,
            ReduceOp::Min,
        ]
        .map(|op| Op::Reduce {
            op,
            axes: None,
            keepdims: true,
            noop_with_empty_axes: false,
        }),
    );
    ops.extend([
        Op::Reshape {
            shape: vec![],
            allowzero: false,
        },
        Op::Flatten { axis: 1 },
        Op::Transpose { perm: vec![] },
        Op::Squeeze { axes: vec![] },
        Op::Unsqueeze { axes: vec![] },
        Op::Slice {
            starts: vec![],
            ends: vec![],
            axes: vec![],
            steps: vec![],
        },
        Op::Pad {
            mode: PadMode::Constant,
            pads: vec![],
            value: 0.0,
        },
        Op::Concat { axis: 0 },
        Op::Expand { shape: vec![] },
        Op::Range {
            start: 0,
            delta: 1,
            len: vec![],
            to: DType::I64,
        },
        Op::Gather { axis: 0 },
        Op::Split {
            axis: 0,
            sizes: vec![],
        },
    ]);
    ops
}

/// The default instance of the op spelled `mnemonic`.
pub fn template(mnemonic: &str) -> Option<Op> {
    templates().iter().find(|t| t.name() == mnemonic).cloned()
}

/// The printed `(key, value)` attribute pairs of `op`, absent optionals left out.
pub fn op_attrs(op: &Op) -> Vec<(&'static str, String)> {
    let mut op = op.clone();
    let mut out = Vec::new();
    fields(&mut op, &mut |k, slot| {
        if let Some(v) = slot.print() {
            out.push((k, v));
        }
    });
    out
}

/// A parsed attribute value: one literal atom or a list of them.
pub(crate) enum RawValue {
    /// `key=atom`.
    Atom(Atom),
    /// `key=[atom, ...]`, with the offset of `[`.
    List(Vec<Atom>, usize),
}

/// One parsed `key=value` attribute with the offset of its key.
pub(crate) struct RawAttr {
    /// Attribute name.
    pub key: String,
    /// Offset of the key.
    pub at: usize,
    /// The value.
    pub value: RawValue,
}

/// Builds the op spelled `mnemonic` from its parsed attributes. `at` is the mnemonic's
/// offset, for "missing attribute" errors; unknown ops are rejected by the caller.
pub(crate) fn build_op(c: &Cursor, mnemonic: &str, at: usize, attrs: &[RawAttr]) -> Result<Op> {
    let mut op = template(mnemonic).ok_or_else(|| c.error_at(at, unknown_op_message(mnemonic)))?;
    let mut used = vec![false; attrs.len()];
    let mut keys = Vec::new();
    let mut err: Option<Error> = None;
    fields(&mut op, &mut |key, slot| {
        keys.push(key);
        if err.is_some() {
            return;
        }
        match attrs.iter().position(|a| a.key == key) {
            Some(i) => {
                used[i] = true;
                if let Err(e) = fill(c, mnemonic, &attrs[i], slot) {
                    err = Some(e);
                }
            }
            None if slot.optional() => {}
            None => {
                err = Some(c.error_at(at, format!("missing attribute '{key}' for '{mnemonic}'")))
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    if let Some(i) = used.iter().position(|u| !u) {
        let a = &attrs[i];
        let expected = if keys.is_empty() {
            "it takes no attributes".to_string()
        } else {
            format!("expected {}", keys.join(", "))
        };
        return Err(c.error_at(
            a.at,
            format!(
                "unknown attribute '{}' for '{mnemonic}' ({expected})",
                a.key
            ),
        ));
    }
    Ok(op)
}

/// Converts one parsed value into `slot`.
fn fill(c: &Cursor, mnemonic: &str, a: &RawAttr, slot: Slot<'_>) -> Result<()> {
    let expects = slot.expects();
    let bad = |at: usize, found: &str| {
        c.error_at(
            at,
            format!(
                "attribute '{}' of '{mnemonic}' expects {expects}, found '{found}'",
                a.key
            ),
        )
    };
    fn each<T: std::str::FromStr>(
        items: &[Atom],
        bad: &dyn Fn(usize, &str) -> Error,
    ) -> Result<Vec<T>> {
        items
            .iter()
            .map(|(s, at)| s.parse().map_err(|_| bad(*at, s)))
            .collect()
    }
    match (&a.value, slot) {
        (RawValue::List(items, _), Slot::Usizes(v)) => *v = each(items, &bad)?,
        (RawValue::List(items, _), Slot::I64s(v)) => *v = each(items, &bad)?,
        (RawValue::List(items, _), Slot::F32s(v)) => {
            *v = items
                .iter()
                .map(|(s, at)| parse_f32(s).ok_or_else(|| bad(*at, s)))
                .collect::<Result<_>>()?
        }
        (RawValue::List(items, _), Slot::OptI64s(v)) => *v = Some(each(items, &bad)?),
        (RawValue::List(items, _), Slot::Dims(v)) => {
            *v = items
                .iter()
                .map(|(s, at)| match s.parse::<usize>() {
                    Ok(k) => Ok(Dim::Fixed(k)),
                    Err(_) if crate::types::is_plain_dim_name(s) => Ok(Dim::Sym(s.clone())),
                    Err(_) => Err(bad(*at, s)),
                })
                .collect::<Result<_>>()?
        }
        (RawValue::List(items, open), Slot::OptRange(v)) => match each::<i64>(items, &bad)?[..] {
            [lo, hi] if lo <= hi => *v = Some((lo, hi)),
            _ => return Err(bad(*open, "a list that is not [lo, hi] with lo <= hi")),
        },
        (RawValue::List(_, open), _) => return Err(bad(*open, "[...]")),
        (RawValue::Atom((s, at)), slot) => {
            let ok = match slot {
                Slot::Usize(v) => s.parse().map(|x| *v = x).is_ok(),
                Slot::I64(v) => s.parse().map(|x| *v = x).is_ok(),
                Slot::F32(v) => parse_f32(s).map(|x| *v = x).is_some(),
                Slot::F64(v) => parse_f64(s).map(|x| *v = x).is_some(),
                Slot::OptF64(v) => parse_f64(s).map(|x| *v = Some(x)).is_some(),
                Slot::Bool(v) | Slot::Flag(v) => match s.as_str() {
                    "true" | "false" => {
                        *v = s == "true";
                        true
                    }
                    _ => false,
                },
                Slot::DType(v) => DType::from_name(s).map(|d| *v = d).is_some(),
                Slot::Word(v) => {
                    let ok = s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if ok {
                        *v = s.clone();
                    }
                    ok
                }
                Slot::PadMode(v) => PAD_MODES
                    .iter()
                    .find(|(_, n)| n == s)
                    .map(|(m, _)| *v = *m)
                    .is_some(),
                Slot::Usizes(_)
                | Slot::I64s(_)
                | Slot::OptI64s(_)
                | Slot::OptRange(_)
                | Slot::F32s(_)
                | Slot::Dims(_) => false,
            };
            if !ok {
                return Err(bad(*at, s));
            }
        }
    }
    Ok(())
}

/// The message for an unknown mnemonic: a "did you mean" when one is close, else the
/// full list of mnemonics.
pub(crate) fn unknown_op_message(mnemonic: &str) -> String {
    let names: Vec<&'static str> = templates().iter().map(Op::name).collect();
    let best = names
        .iter()
        .map(|n| (edit_distance(mnemonic, n), *n))
        .min()
        .filter(|(d, _)| *d <= 2);
    match best {
        Some((_, n)) => format!("unknown op '{mnemonic}' (did you mean '{n}'?)"),
        None => format!(
            "unknown op '{mnemonic}' (expected one of {})",
            names.join(", ")
        ),
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}
