//! Single-op TFLite models built in memory (with the schema builders tract-tflite publishes):
//! each op's lowering, run by the reference interpreter, against hand-computed results.

use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};
use qcc_frontends::tflite::load_tflite_bytes;
use qcc_ir::{Data, Tensor};
use tract_tflite::tflite::*;

/// One tensor: shape, type, constant bytes, per-tensor (scale, zero point).
struct T {
    shape: Vec<i32>,
    ty: TensorType,
    data: Option<Vec<u8>>,
    q: Option<(f32, i64)>,
}

fn act_i8(shape: &[i32], scale: f32, zp: i64) -> T {
    T {
        shape: shape.to_vec(),
        ty: TensorType::INT8,
        data: None,
        q: Some((scale, zp)),
    }
}

fn const_i32(v: &[i32]) -> T {
    T {
        shape: vec![v.len() as i32],
        ty: TensorType::INT32,
        data: Some(v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        q: None,
    }
}

/// Options of the single operator.
enum Opts {
    None,
    Concat(i32, ActivationFunctionType),
    Squeeze(Vec<i32>),
    /// num_splits
    Split(i32),
    /// padding, filter (h, w), stride (h, w)
    Pool(Padding, (i32, i32), (i32, i32)),
    /// keep_dims
    Reducer(bool),
    /// alpha
    LeakyRelu(f32),
    /// begin, end and shrink-axis masks
    StridedSlice(i32, i32, i32),
    /// align_corners, half_pixel_centers
    ResizeNearest(bool, bool),
    /// align_corners, half_pixel_centers
    ResizeBilinear(bool, bool),
    /// padding, stride_h, stride_w, fused activation
    TransposeConv(Padding, i32, i32, ActivationFunctionType),
    /// approximate
    Gelu(bool),
    /// ADD / SUB options with `pot_scale_int16 = false` (TFLite's general int16 path).
    AddGeneral,
    SubGeneral,
}

/// A model with one operator `code` reading `ins` and writing `outs`.
fn model(
    tensors: &[T],
    code: BuiltinOperator,
    ins: &[i32],
    outs: &[i32],
    opts: Opts,
    inputs: &[i32],
) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();
    let mut buffers = vec![Buffer::create(&mut fbb, &BufferArgs { data: None })];
    let mut tens = Vec::new();
    for (i, t) in tensors.iter().enumerate() {
        let buffer = match &t.data {
            Some(d) => {
                let data = fbb.create_vector(d);
                buffers.push(Buffer::create(&mut fbb, &BufferArgs { data: Some(data) }));
                (buffers.len() - 1) as u32
            }
            None => 0,
        };
        let quantization = t.q.map(|(s, z)| {
            let scale = fbb.create_vector(&[s]);
            let zero_point = fbb.create_vector(&[z]);
            QuantizationParameters::create(
                &mut fbb,
                &QuantizationParametersArgs {
                    scale: Some(scale),
                    zero_point: Some(zero_point),
                    ..Default::default()
                },
            )
        });
        let shape = fbb.create_vector(&t.shape);
        let name = fbb.create_string(&format!("t{i}"));
        tens.push(tract_tflite::tflite::Tensor::create(
            &mut fbb,
            &TensorArgs {
                shape: Some(shape),
                type_: t.ty,
                buffer,
                name: Some(name),
                quantization,
                ..Default::default()
            },
        ));
    }
    let (opt_type, opt): (BuiltinOptions, Option<WIPOffset<UnionWIPOffset>>) = match opts {
        Opts::None => (BuiltinOptions::NONE, None),
        Opts::Concat(axis, act) => (
            BuiltinOptions::ConcatenationOptions,
            Some(
                ConcatenationOptions::create(
                    &mut fbb,
                    &ConcatenationOptionsArgs {
                        axis,
                        fused_activation_function: act,
                    },
                )
                .as_union_value(),
            ),
        ),
        Opts::Pool(padding, (fh, fw), (sh, sw)) => (
            BuiltinOptions::Pool2DOptions,
            Some(
                Pool2DOptions::create(
                    &mut fbb,
                    &Pool2DOptionsArgs {
                        padding,
                        stride_w: sw,
                        stride_h: sh,
                        filter_width: fw,
                        filter_height: fh,
                        fused_activation_function: ActivationFunctionType::NONE,
                    },
                )
                .as_union_value(),
            ),
        ),
        Opts::StridedSlice(begin_mask, end_mask, shrink_axis_mask) => (
            BuiltinOptions::StridedSliceOptions,
            Some(
                StridedSliceOptions::create(
                    &mut fbb,
                    &StridedSliceOptionsArgs {
                        begin_mask,
                        end_mask,
                        shrink_axis_mask,
                        ..Default::default()
                    },
                )
                .as_union_value(),
            ),
        ),
        Opts::ResizeNearest(align_corners, half_pixel_centers) => (
            BuiltinOptions::ResizeNearestNeighborOptions,
            Some(
                ResizeNearestNeighborOptions::create(
                    &mut fbb,
                    &ResizeNearestNeighborOptionsArgs {
                        align_corners,
                        half_pixel_centers,
                    },
                )
                .as_union_value(),
            ),
        ),
        Opts::ResizeBilinear(align_corners, half_pixel_centers) => (
            BuiltinOptions::ResizeBilinearOptions,
            Some(
                ResizeBilinearOptions::create(
                    &mut fbb,
                    &ResizeBilinearOptionsArgs {
                        align_corners,
                        half_pixel_centers,
                    },
                )
                .as_union_value(),
            ),
        ),
        Opts::TransposeConv(padding, stride_h, stride_w, fused_activation_function) => (
            BuiltinOptions::TransposeConvOptions,
            Some(
                TransposeConvOptions::create(
                    &mut fbb,
                    &TransposeConvOptionsArgs {
                        padding,
                        stride_h,
                        stride_w,
                        fused_activation_function,
                    },
                )
                .as_union_value(),
            ),
        ),
        Opts::Gelu(approximate) => (
            BuiltinOptions::GeluOptions,
            Some(GeluOptions::create(&mut fbb, &GeluOptionsArgs { approximate }).as_union_value()),
        ),
        Opts::AddGeneral => (
            BuiltinOptions::AddOptions,
            Some(
                AddOptions::create(
                    &mut fbb,
                    &AddOptionsArgs {
                        fused_activation_function: ActivationFunctionType::NONE,
                        pot_scale_int16: false,
                    },
                )
                .as_union_value(),
            ),
        ),
        Opts::SubGeneral => (
            BuiltinOptions::SubOptions,
            Some(
                SubOptions::create(
                    &mut fbb,
                    &SubOptionsArgs {
                        fused_activation_function: ActivationFunctionType::NONE,
                        pot_scale_int16: false,
                    },
                )
                .as_union_value(),
            ),
        ),
        Opts::LeakyRelu(alpha) => (
            BuiltinOptions::LeakyReluOptions,
            Some(
                LeakyReluOptions::create(&mut fbb, &LeakyReluOptionsArgs { alpha })
                    .as_union_value(),
            ),
        ),
        Opts::Reducer(keep_dims) => (
            BuiltinOptions::ReducerOptions,
            Some(
                ReducerOptions::create(&mut fbb, &ReducerOptionsArgs { keep_dims })
                    .as_union_value(),
            ),
        ),
        Opts::Split(n) => (
            BuiltinOptions::SplitOptions,
            Some(
                SplitOptions::create(&mut fbb, &SplitOptionsArgs { num_splits: n })
                    .as_union_value(),
            ),
        ),
        Opts::Squeeze(dims) => {
            let d = fbb.create_vector(&dims);
            (
                BuiltinOptions::SqueezeOptions,
                Some(
                    SqueezeOptions::create(
                        &mut fbb,
                        &SqueezeOptionsArgs {
                            squeeze_dims: Some(d),
                        },
                    )
                    .as_union_value(),
                ),
            )
        }
    };
    let op_ins = fbb.create_vector(ins);
    let op_outs = fbb.create_vector(outs);
    let op = Operator::create(
        &mut fbb,
        &OperatorArgs {
            opcode_index: 0,
            inputs: Some(op_ins),
            outputs: Some(op_outs),
            builtin_options_type: opt_type,
            builtin_options: opt,
            ..Default::default()
        },
    );
    let tensors_v = fbb.create_vector(&tens);
    let g_in = fbb.create_vector(inputs);
    let g_out = fbb.create_vector(outs);
    let ops_v = fbb.create_vector(&[op]);
    let sg = SubGraph::create(
        &mut fbb,
        &SubGraphArgs {
            tensors: Some(tensors_v),
            inputs: Some(g_in),
            outputs: Some(g_out),
            operators: Some(ops_v),
            ..Default::default()
        },
    );
    let oc = OperatorCode::create(
        &mut fbb,
        &OperatorCodeArgs {
            deprecated_builtin_code: code.0.min(127) as i8,
            version: 1,
            builtin_code: code,
            ..Default::default()
        },
    );
    let codes = fbb.create_vector(&[oc]);
    let sgs = fbb.create_vector(&[sg]);
    let bufs = fbb.create_vector(&buffers);
    let m = Model::create(
        &mut fbb,
        &ModelArgs {
            version: 3,
            operator_codes: Some(codes),
            subgraphs: Some(sgs),
            buffers: Some(bufs),
            ..Default::default()
        },
    );
    finish_model_buffer(&mut fbb, m);
    fbb.finished_data().to_vec()
}

fn i8t(shape: &[usize], v: &[i8]) -> Tensor {
    Tensor::new(shape.to_vec(), Data::I8(v.to_vec()))
}

fn run(bytes: &[u8], inputs: Vec<Tensor>) -> Vec<i64> {
    let m = load_tflite_bytes(bytes, "op.tflite").unwrap();
    qcc_ir::verify::verify_module(&m).unwrap();
    let out = qcc_ir::interp::run(&m, &inputs).unwrap();
    out[0].data.to_i64_vec()
}

#[test]
fn relu6_is_a_clip_with_quantized_bounds() {
    // scale 0.05, zp -10: 0 -> -10, 6 -> -10 + 120 = 110.
    let t = [act_i8(&[1, 4], 0.05, -10), act_i8(&[1, 4], 0.05, -10)];
    let m = model(&t, BuiltinOperator::RELU6, &[0], &[1], Opts::None, &[0]);
    let y = run(&m, vec![i8t(&[1, 4], &[-128, -10, 50, 127])]);
    assert_eq!(y, vec![-10, -10, 50, 110]);
}

#[test]
fn fill_of_a_huge_shape_is_an_error() {
    let value = T {
        shape: vec![],
        ty: TensorType::INT8,
        data: Some(vec![3]),
        q: Some((0.1, 0)),
    };
    let t = [
        const_i32(&[100_000, 100_000, 100]),
        value,
        act_i8(&[100_000, 100_000, 100], 0.1, 0),
    ];
    let m = model(&t, BuiltinOperator::FILL, &[0, 1], &[2], Opts::None, &[]);
    let e = load_tflite_bytes(&m, "op.tflite").unwrap_err().to_string();
    assert!(e.contains("FILL") && e.contains("too large"), "{e}");
}

#[test]
fn relu_with_different_params_requantizes() {
    // Input scale 0.05, zp -10; output scale 0.1, zp -10: y = -10 + round_half_away((x + 10)
    // / 2), clamped below at the output zero point (real 0).
    let t = [act_i8(&[1, 5], 0.05, -10), act_i8(&[1, 5], 0.1, -10)];
    let m = model(&t, BuiltinOperator::RELU, &[0], &[1], Opts::None, &[0]);
    let y = run(&m, vec![i8t(&[1, 5], &[-128, -10, 1, 3, 127])]);
    assert_eq!(y, vec![-10, -10, -4, -3, 59]);
}

#[test]
fn transpose_with_constant_perm() {
    let t = [
        act_i8(&[2, 3], 0.1, 0),
        const_i32(&[1, 0]),
        act_i8(&[3, 2], 0.1, 0),
    ];
    let m = model(
        &t,
        BuiltinOperator::TRANSPOSE,
        &[0, 1],
        &[2],
        Opts::None,
        &[0],
    );
    let y = run(&m, vec![i8t(&[2, 3], &[1, 2, 3, 4, 5, 6])]);
    assert_eq!(y, vec![1, 4, 2, 5, 3, 6]);
}

#[test]
fn pad_uses_the_zero_point() {
    let t = [
        act_i8(&[1, 2], 0.1, 7),
        T {
            shape: vec![2, 2],
            ty: TensorType::INT32,
            data: Some(
                [0i32, 0, 1, 2]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect(),
            ),
            q: None,
        },
        act_i8(&[1, 5], 0.1, 7),
    ];
    let m = model(&t, BuiltinOperator::PAD, &[0, 1], &[2], Opts::None, &[0]);
    let y = run(&m, vec![i8t(&[1, 2], &[1, 2])]);
    assert_eq!(y, vec![7, 1, 2, 7, 7]);
}

#[test]
fn concatenation_and_squeeze() {
    let t = [
        act_i8(&[1, 2], 0.1, 0),
        act_i8(&[1, 1], 0.1, 0),
        act_i8(&[1, 3], 0.1, 0),
    ];
    let m = model(
        &t,
        BuiltinOperator::CONCATENATION,
        &[0, 1],
        &[2],
        Opts::Concat(-1, ActivationFunctionType::RELU),
        &[0, 1],
    );
    let y = run(&m, vec![i8t(&[1, 2], &[-3, 4]), i8t(&[1, 1], &[5])]);
    assert_eq!(y, vec![0, 4, 5]);
    let t = [act_i8(&[1, 3, 1], 0.1, 0), act_i8(&[3], 0.1, 0)];
    let m = model(
        &t,
        BuiltinOperator::SQUEEZE,
        &[0],
        &[1],
        Opts::Squeeze(vec![0, 2]),
        &[0],
    );
    assert_eq!(run(&m, vec![i8t(&[1, 3, 1], &[1, 2, 3])]), vec![1, 2, 3]);
}

#[test]
fn average_pool_rounds_half_away_over_valid_taps() {
    // 1 x 2 x 3 x 1 input, 2x2 SAME pool with stride 2: windows {0,1,3,4} and {2,5}
    // (the second one is cut by the right edge: only valid taps count).
    let t = [act_i8(&[1, 2, 3, 1], 0.1, 0), act_i8(&[1, 1, 2, 1], 0.1, 0)];
    let m = model(
        &t,
        BuiltinOperator::AVERAGE_POOL_2D,
        &[0],
        &[1],
        Opts::Pool(Padding::SAME, (2, 2), (2, 2)),
        &[0],
    );
    // (1 + 2 + 4 + 3) / 4 = 2.5 -> 3; (-3 + -4) / 2 = -3.5 -> -4.
    let y = run(&m, vec![i8t(&[1, 2, 3, 1], &[1, 2, -3, 4, 3, -4])]);
    assert_eq!(y, vec![3, -4]);
}

#[test]
fn add_uses_tflite_fixed_point() {
    // a: s 0.1 zp 0 -> 1.0, -0.5; b: s 0.2 zp 1 -> 3.8, 0.4; y: s 0.3 zp -2.
    // 4.8 / 0.3 = 16 -> 14; -0.1 / 0.3 = -0.33 -> 0 -> -2.
    let t = [
        act_i8(&[2], 0.1, 0),
        act_i8(&[2], 0.2, 1),
        act_i8(&[2], 0.3, -2),
    ];
    let m = model(&t, BuiltinOperator::ADD, &[0, 1], &[2], Opts::None, &[0, 1]);
    let y = run(&m, vec![i8t(&[2], &[10, -5]), i8t(&[2], &[20, 3])]);
    assert_eq!(y, vec![14, -2]);
}

#[test]
fn mul_uses_tflite_fixed_point() {
    // a: s 0.1 zp 0 -> 1.0, -0.5, 2.0; b: s 0.2 zp 1 -> 3.8, 0.4, -0.2; y: s 0.3 zp -2.
    // Products 10 * 19 = 190, -5 * 2 = -10, 20 * -1 = -20 (zero points removed), times
    // M = 0.1 * 0.2 / 0.3 = 0.0667: 12.67 -> 13 + -2 = 11; -0.67 -> -1 + -2 = -3;
    // -1.33 -> -1 + -2 = -3.
    let t = [
        act_i8(&[3], 0.1, 0),
        act_i8(&[3], 0.2, 1),
        act_i8(&[3], 0.3, -2),
    ];
    let m = model(&t, BuiltinOperator::MUL, &[0, 1], &[2], Opts::None, &[0, 1]);
    let y = run(&m, vec![i8t(&[3], &[10, -5, 20]), i8t(&[3], &[20, 3, 0])]);
    assert_eq!(y, vec![11, -3, -3]);
}

#[test]
fn split_into_equal_parts() {
    let t = [
        const_i32(&[1]),
        act_i8(&[1, 4], 0.1, 0),
        act_i8(&[1, 2], 0.1, 0),
        act_i8(&[1, 2], 0.1, 0),
    ];
    let bytes = model(
        &t,
        BuiltinOperator::SPLIT,
        &[0, 1],
        &[2, 3],
        Opts::Split(2),
        &[1],
    );
    let m = load_tflite_bytes(&bytes, "op.tflite").unwrap();
    qcc_ir::verify::verify_module(&m).unwrap();
    let out = qcc_ir::interp::run(&m, &[i8t(&[1, 4], &[1, 2, 3, 4])]).unwrap();
    assert_eq!(out[0].data.to_i64_vec(), vec![1, 2]);
    assert_eq!(out[1].data.to_i64_vec(), vec![3, 4]);
}

/// Single-op models whose expected outputs come from LiteRT's reference kernels
/// (`tests/fixtures/tflite/op_*`, made by `scripts/make_litert_op_fixtures.py`): the
/// committed model bytes must be exactly what this builder writes, so the fixtures stay
/// reproducible. `QCC_WRITE_TFLITE_FIXTURES=1` writes them instead.
#[test]
fn litert_fixture_models_match_the_builder() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/tflite");
    let cases = [
        (
            "op_mul_a",
            BuiltinOperator::MUL,
            (0.1f32, 3i64),
            (0.07f32, -5i64),
            (0.013f32, 2i64),
        ),
        (
            "op_mul_b",
            BuiltinOperator::MUL,
            (0.031, -128),
            (0.017, 10),
            (0.0005, -20),
        ),
        (
            "op_add_a",
            BuiltinOperator::ADD,
            (0.1, 3),
            (0.07, -5),
            (0.13, 2),
        ),
        (
            "op_sub_a",
            BuiltinOperator::SUB,
            (0.1, 3),
            (0.07, -5),
            (0.13, 2),
        ),
        (
            "op_sub_b",
            BuiltinOperator::SUB,
            (0.02, -100),
            (0.5, 7),
            (0.3, -1),
        ),
    ];
    for (name, code, qa, qb, qy) in cases {
        let t = [
            act_i8(&[1, 256], qa.0, qa.1),
            act_i8(&[1, 256], qb.0, qb.1),
            act_i8(&[1, 256], qy.0, qy.1),
        ];
        let m = model(&t, code, &[0, 1], &[2], Opts::None, &[0, 1]);
        check_fixture(root, name, &m);
    }
    // Activations: the input takes every int8 value once.
    let unary = [
        (
            "op_logistic_a",
            BuiltinOperator::LOGISTIC,
            (0.1f32, 3i64),
            (1.0f32 / 256.0, -128i64),
        ),
        (
            "op_logistic_b",
            BuiltinOperator::LOGISTIC,
            (0.02, -20),
            (1.0 / 256.0, -128),
        ),
        (
            "op_tanh_a",
            BuiltinOperator::TANH,
            (0.05, 0),
            (1.0 / 128.0, 0),
        ),
        (
            "op_tanh_b",
            BuiltinOperator::TANH,
            (0.1, -10),
            (1.0 / 128.0, 0),
        ),
        (
            "op_hard_swish_a",
            BuiltinOperator::HARD_SWISH,
            (0.05, 10),
            (0.03, -50),
        ),
        (
            "op_hard_swish_b",
            BuiltinOperator::HARD_SWISH,
            (0.2, -100),
            (0.01, -128),
        ),
        (
            "op_hard_swish_c",
            BuiltinOperator::HARD_SWISH,
            (0.005, 7),
            (0.004, -3),
        ),
    ];
    for (name, code, qx, qy) in unary {
        let t = [act_i8(&[1, 256], qx.0, qx.1), act_i8(&[1, 256], qy.0, qy.1)];
        let m = model(&t, code, &[0], &[1], Opts::None, &[0]);
        check_fixture(root, name, &m);
    }
    // GELU, exact (erf) and approximate (tanh), every int8 value.
    for (name, approximate, qx, qy) in [
        ("op_gelu_a", false, (0.03f32, 5i64), (0.02f32, -60i64)),
        ("op_gelu_b", true, (0.05, -10), (0.04, -100)),
        ("op_gelu_c", false, (0.011, -128), (0.009, -20)),
    ] {
        let t = [act_i8(&[1, 256], qx.0, qx.1), act_i8(&[1, 256], qy.0, qy.1)];
        let m = model(
            &t,
            BuiltinOperator::GELU,
            &[0],
            &[1],
            Opts::Gelu(approximate),
            &[0],
        );
        check_fixture(root, name, &m);
    }
    // LEAKY_RELU: alpha below and above 1, output grids finer and coarser than the input's.
    for (name, alpha, qx, qy) in [
        (
            "op_leaky_relu_a",
            0.2f32,
            (0.05f32, 3i64),
            (0.04f32, -20i64),
        ),
        ("op_leaky_relu_b", 1.7, (0.02, -100), (0.1, 50)),
    ] {
        let t = [act_i8(&[1, 256], qx.0, qx.1), act_i8(&[1, 256], qy.0, qy.1)];
        let m = model(
            &t,
            BuiltinOperator::LEAKY_RELU,
            &[0],
            &[1],
            Opts::LeakyRelu(alpha),
            &[0],
        );
        check_fixture(root, name, &m);
    }
    // STRIDED_SLICE of run-time data over a [4, 6, 5] input: masks, negative indices and
    // strides, a shrunk axis (x[1:3, ::2, ::-1], x[-1], x[0:4:2, 5:-7:-2, 1:4:3]).
    let slices: [SliceCase; 3] = [
        (
            "op_strided_slice_a",
            [1, 0, -1],
            [3, 6, 0],
            [1, 2, -1],
            (0b010, 0b100, 0),
            &[2, 3, 5],
        ),
        (
            "op_strided_slice_b",
            [-1, 0, 0],
            [0, 0, 0],
            [1, 1, 1],
            (0b110, 0b110, 0b001),
            &[6, 5],
        ),
        (
            "op_strided_slice_c",
            [0, 5, 1],
            [4, -7, 4],
            [2, -2, 3],
            (0, 0, 0),
            &[2, 3, 1],
        ),
    ];
    for (name, begin, end, strides, (bm, em, sm), out) in slices {
        let t = [
            act_i8(&[4, 6, 5], 0.1, 2),
            const_i32(&begin),
            const_i32(&end),
            const_i32(&strides),
            act_i8(out, 0.1, 2),
        ];
        let m = model(
            &t,
            BuiltinOperator::STRIDED_SLICE,
            &[0, 1, 2, 3],
            &[4],
            Opts::StridedSlice(bm, em, sm),
            &[0],
        );
        check_fixture(root, name, &m);
    }
    // RESIZE_NEAREST_NEIGHBOR of a [1, 5, 7, 3] input to 8 x 4 (up in H, down in W), with
    // each coordinate option.
    for (name, align, half) in [
        ("op_resize_nearest_a", false, false),
        ("op_resize_nearest_b", false, true),
        ("op_resize_nearest_c", true, false),
    ] {
        let t = [
            act_i8(&[1, 5, 7, 3], 0.1, 2),
            const_i32(&[8, 4]),
            act_i8(&[1, 8, 4, 3], 0.1, 2),
        ];
        let m = model(
            &t,
            BuiltinOperator::RESIZE_NEAREST_NEIGHBOR,
            &[0, 1],
            &[2],
            Opts::ResizeNearest(align, half),
            &[0],
        );
        check_fixture(root, name, &m);
    }
    // RESIZE_BILINEAR of a [1, 5, 7, 3] input to 8 x 4 (up in H, down in W) in each
    // coordinate mode, int8 and int16.
    for (name, align, half, ty) in [
        ("op_resize_bilinear_a", false, false, TensorType::INT8),
        ("op_resize_bilinear_b", false, true, TensorType::INT8),
        ("op_resize_bilinear_c", true, false, TensorType::INT8),
        ("op_resize_bilinear_d", false, false, TensorType::INT16),
    ] {
        let q = if ty == TensorType::INT16 {
            (0.001, 0)
        } else {
            (0.1, 2)
        };
        let act = |shape: &[i32]| T {
            shape: shape.to_vec(),
            ty,
            data: None,
            q: Some(q),
        };
        let t = [act(&[1, 5, 7, 3]), const_i32(&[8, 4]), act(&[1, 8, 4, 3])];
        let m = model(
            &t,
            BuiltinOperator::RESIZE_BILINEAR,
            &[0, 1],
            &[2],
            Opts::ResizeBilinear(align, half),
            &[0],
        );
        check_fixture(root, name, &m);
    }
    // TRANSPOSE_CONV: VALID with a bias, SAME with the stride above the kernel and a fused
    // RELU, SAME with an even kernel (the padding's odd part after the output).
    let tconvs: [TConvCase; 3] = [
        (
            "op_transpose_conv_a",
            [1, 4, 4, 3],
            [5, 3, 3, 3],
            [1, 9, 9, 5],
            Padding::VALID,
            2,
            true,
            ActivationFunctionType::NONE,
        ),
        (
            "op_transpose_conv_b",
            [1, 3, 5, 2],
            [4, 2, 2, 2],
            [1, 9, 15, 4],
            Padding::SAME,
            3,
            false,
            ActivationFunctionType::RELU,
        ),
        (
            "op_transpose_conv_c",
            [1, 5, 5, 2],
            [3, 4, 4, 2],
            [1, 10, 10, 3],
            Padding::SAME,
            2,
            true,
            ActivationFunctionType::NONE,
        ),
    ];
    for (name, xs, ws, ys, pad, stride, bias, act) in tconvs {
        let n: i32 = ws.iter().product();
        let filter = T {
            shape: ws.to_vec(),
            ty: TensorType::INT8,
            data: Some((0..n).map(|i| ((i * 37 % 255) - 127) as i8 as u8).collect()),
            q: Some((0.02, 0)),
        };
        let mut t = vec![
            const_i32(&ys),
            filter,
            act_i8(&xs, 0.05, 3),
            act_i8(&ys, 0.08, -4),
        ];
        let mut ins = vec![0, 1, 2];
        if bias {
            let b: Vec<i32> = (0..ws[0]).map(|i| (i - 2) * 150).collect();
            t.push(const_i32(&b));
            ins.push(4);
        }
        let m = model(
            &t,
            BuiltinOperator::TRANSPOSE_CONV,
            &ins,
            &[3],
            Opts::TransposeConv(pad, stride, stride, act),
            &[2],
        );
        check_fixture(root, name, &m);
    }
    // int16 ADD / SUB (symmetric, non-power-of-two scales, the general path).
    for (name, code, opts, sa, sb, sy) in [
        (
            "op_add_i16_a",
            BuiltinOperator::ADD,
            Opts::AddGeneral,
            0.0013f32,
            0.0021f32,
            0.0029f32,
        ),
        (
            "op_sub_i16_a",
            BuiltinOperator::SUB,
            Opts::SubGeneral,
            0.0007,
            0.0016,
            0.0011,
        ),
    ] {
        let i16t = |s: f32| T {
            shape: vec![1, 256],
            ty: TensorType::INT16,
            data: None,
            q: Some((s, 0)),
        };
        let t = [i16t(sa), i16t(sb), i16t(sy)];
        let m = model(&t, code, &[0, 1], &[2], opts, &[0, 1]);
        check_fixture(root, name, &m);
    }
    // int16 LOGISTIC / TANH (zero points 0, output scale 2^-15): power-of-two input scales
    // (TFLite's shift-only path) and general ones (the multiplier path); the input takes
    // every int16 value once. `op_tanh_i16_d`'s input multiplier is 32514 at shift 14, so
    // its inputs land on every point of the interpolation table.
    for (name, code, sx) in [
        (
            "op_logistic_i16_a",
            BuiltinOperator::LOGISTIC,
            1.0f32 / 4096.0,
        ),
        ("op_logistic_i16_b", BuiltinOperator::LOGISTIC, 0.00031),
        (
            "op_logistic_i16_c",
            BuiltinOperator::LOGISTIC,
            8.0 / 32767.0,
        ),
        ("op_tanh_i16_a", BuiltinOperator::TANH, 1.0 / 4096.0),
        ("op_tanh_i16_b", BuiltinOperator::TANH, 1.0 / 2048.0),
        ("op_tanh_i16_c", BuiltinOperator::TANH, 0.0004),
        (
            "op_tanh_i16_d",
            BuiltinOperator::TANH,
            (32514.5f64 / (12288.0 * 16384.0)) as f32,
        ),
    ] {
        let i16t = |s: f32| T {
            shape: vec![1, 65536],
            ty: TensorType::INT16,
            data: None,
            q: Some((s, 0)),
        };
        let t = [i16t(sx), i16t(1.0 / 32768.0)];
        let m = model(&t, code, &[0], &[1], Opts::None, &[0]);
        check_fixture(root, name, &m);
    }
    // int16 LEAKY_RELU (alpha below and above 1), HARD_SWISH (which LiteRT has no int16
    // kernel for: its fixture records the rejection) and MUL, every int16 value per operand.
    let i16t = |s: f32| T {
        shape: vec![1, 65536],
        ty: TensorType::INT16,
        data: None,
        q: Some((s, 0)),
    };
    for (name, alpha, sx, sy) in [
        ("op_leaky_relu_i16_a", 0.2f32, 0.001f32, 0.0013f32),
        ("op_leaky_relu_i16_b", 1.7, 0.002, 0.0031),
    ] {
        let t = [i16t(sx), i16t(sy)];
        let m = model(
            &t,
            BuiltinOperator::LEAKY_RELU,
            &[0],
            &[1],
            Opts::LeakyRelu(alpha),
            &[0],
        );
        check_fixture(root, name, &m);
    }
    // int16 GELU: LUTPopulate's interpolated table, both forms.
    for (name, approximate, sx, sy) in [
        ("op_gelu_i16_a", false, 0.0004f32, 0.0003f32),
        ("op_gelu_i16_b", true, 0.0002, 0.00015),
    ] {
        let t = [i16t(sx), i16t(sy)];
        let m = model(
            &t,
            BuiltinOperator::GELU,
            &[0],
            &[1],
            Opts::Gelu(approximate),
            &[0],
        );
        check_fixture(root, name, &m);
    }
    for (name, sa, sb, sy) in [
        ("op_mul_i16_a", 0.0013f32, 0.0021f32, 0.0029f32),
        ("op_mul_i16_b", 0.0002, 0.0005, 0.000_001),
    ] {
        let t = [i16t(sa), i16t(sb), i16t(sy)];
        let m = model(&t, BuiltinOperator::MUL, &[0, 1], &[2], Opts::None, &[0, 1]);
        check_fixture(root, name, &m);
    }
    // MEAN over a [2, 4, 5, 8] input.
    let means: [MeanCase; 4] = [
        (
            "op_mean_a",
            &[1, 2],
            true,
            &[2, 1, 1, 8],
            (0.1, 3),
            (0.05, -2),
        ),
        (
            "op_mean_b",
            &[-1],
            false,
            &[2, 4, 5],
            (0.02, -128),
            (0.3, 5),
        ),
        ("op_mean_c", &[0, 1, 2, 3], false, &[], (0.1, 0), (0.1, 0)),
        (
            "op_mean_d",
            &[2, 1, 2],
            true,
            &[2, 1, 1, 8],
            (0.5, 100),
            (0.01, -1),
        ),
    ];
    for (name, axes, keep, out_shape, qx, qy) in means {
        let t = [
            act_i8(&[2, 4, 5, 8], qx.0, qx.1),
            const_i32(axes),
            act_i8(out_shape, qy.0, qy.1),
        ];
        let m = model(
            &t,
            BuiltinOperator::MEAN,
            &[0, 1],
            &[2],
            Opts::Reducer(keep),
            &[0],
        );
        check_fixture(root, name, &m);
    }
}

/// A STRIDED_SLICE fixture: name, begin, end, strides, (begin, end, shrink-axis masks),
/// output shape.
type SliceCase = (
    &'static str,
    [i32; 3],
    [i32; 3],
    [i32; 3],
    (i32, i32, i32),
    &'static [i32],
);

/// A TRANSPOSE_CONV fixture: name, input, filter and output shapes, padding, stride, bias,
/// fused activation.
type TConvCase = (
    &'static str,
    [i32; 4],
    [i32; 4],
    [i32; 4],
    Padding,
    i32,
    bool,
    ActivationFunctionType,
);

/// A MEAN fixture: name, axes, keep_dims, output shape, input and output (scale, zero point).
type MeanCase = (
    &'static str,
    &'static [i32],
    bool,
    &'static [i32],
    (f32, i64),
    (f32, i64),
);

/// Writes (with `QCC_WRITE_TFLITE_FIXTURES`) or checks the committed fixture model `name`.
fn check_fixture(root: &str, name: &str, m: &[u8]) {
    let path = format!("{root}/{name}/model.tflite");
    if std::env::var_os("QCC_WRITE_TFLITE_FIXTURES").is_some() {
        std::fs::create_dir_all(format!("{root}/{name}")).unwrap();
        std::fs::write(&path, m).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(committed, m, "{path} differs from the builder's model");
}
