//! Property tests: every kernel against the reference interpreter on random one-node
//! modules (shapes, strides, pads, dilations, groups, zero points, scales, per-axis
//! parameters, both requantization modes, symbolic batch sizes), bit for bit. The number of
//! cases per kernel is `QCC_PROPTEST_CASES` (default 300); the target rotates over the
//! targets the host can run. Failures print the seed and the module.

use qcc_codegen::{JitEngine, Target};
use qcc_ir::{
    BinaryOp, Clamp, ConvAttrs, DType, Data, Dim, Engine, GemmAttrs, Module, Op, PoolAttrs,
    QParams, RequantMode, Tensor, TensorType, UnaryOp, ValueId,
};

fn cases() -> usize {
    std::env::var("QCC_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

fn targets() -> Vec<Target> {
    Target::ALL
        .into_iter()
        .filter(|t| t.check_host().is_ok())
        .collect()
}

/// A one-node module under construction.
struct Build {
    m: Module,
}

impl Build {
    fn new(mode: RequantMode) -> Build {
        let mut m = Module {
            name: "prop".into(),
            requant: mode,
            ..Default::default()
        };
        m.graph = Default::default();
        Build { m }
    }

    fn input(&mut self, name: &str, ty: TensorType) -> ValueId {
        self.m.graph.add_input(name, ty)
    }

    fn constant(&mut self, name: &str, ty: TensorType, data: Data) -> ValueId {
        let dims = ty.fixed_dims().unwrap();
        let c = self.m.add_const(name, ty.clone(), Tensor::new(dims, data));
        self.m
            .graph
            .add_node(name, Op::Const(c), vec![], vec![(name.to_string(), ty)])[0]
    }

    /// Adds the node with its inferred result shape and returns the module.
    fn finish(mut self, op: Op, ins: Vec<ValueId>, dt: DType, q: Option<QParams>) -> Module {
        let tys: Vec<&TensorType> = ins.iter().map(|&v| self.m.graph.ty(v)).collect();
        let shape = qcc_ir::infer::infer_shapes(&op, &tys, 1, &self.m)
            .unwrap()
            .remove(0);
        let ty = TensorType {
            dtype: dt,
            shape,
            quant: q,
        };
        let out = self
            .m
            .graph
            .add_node("node", op, ins, vec![("y".into(), ty)])[0];
        self.m.graph.outputs.push(out);
        self.m
    }
}

fn int_data(rng: &mut fastrand::Rng, dt: DType, n: usize) -> Data {
    let (lo, hi) = dt.int_range().unwrap();
    let v: Vec<i64> = (0..n).map(|_| rng.i64(lo..=hi)).collect();
    Data::from_i64(dt, &v)
}

fn q8(rng: &mut fastrand::Rng) -> DType {
    if rng.bool() {
        DType::U8
    } else {
        DType::I8
    }
}

fn zp(rng: &mut fastrand::Rng, dt: DType) -> i32 {
    let (lo, hi) = dt.int_range().unwrap();
    if rng.u8(..4) == 0 {
        0
    } else {
        rng.i64(lo..=hi) as i32
    }
}

/// A log-uniform scale in `[lo, hi]`; one in four is a power of two, so that products of
/// scales are exact and requantization lands on rounding ties (every odd accumulator
/// with a multiplier of 1/2).
fn scale(rng: &mut fastrand::Rng, lo: f32, hi: f32) -> f32 {
    let s = (lo.ln() + rng.f32() * (hi.ln() - lo.ln())).exp();
    if rng.u8(..4) == 0 {
        s.log2().round().exp2()
    } else {
        s
    }
}

fn mode(rng: &mut fastrand::Rng) -> RequantMode {
    if rng.bool() {
        RequantMode::Float
    } else {
        RequantMode::FixedPoint
    }
}

/// Batch dim: fixed or symbolic (`N`), and the run-time size.
fn batch(rng: &mut fastrand::Rng) -> (Dim, usize) {
    let n = rng.usize(1..=3);
    if rng.bool() {
        (Dim::Sym("N".into()), n)
    } else {
        (Dim::Fixed(n), n)
    }
}

fn dims(b: &Dim, rest: &[usize]) -> Vec<Dim> {
    std::iter::once(b.clone())
        .chain(rest.iter().map(|&d| Dim::Fixed(d)))
        .collect()
}

/// Runs the JIT and the interpreter and compares every byte.
fn check(m: &Module, inputs: &[Tensor], target: Target, what: &str) {
    qcc_ir::verify::verify_module(m).unwrap_or_else(|e| panic!("{what}: invalid module: {e}"));
    let want = qcc_ir::interp::run(m, inputs);
    let mut jit = JitEngine::new(m, target).unwrap_or_else(|e| {
        panic!(
            "{what} [{target}]: compile failed: {e}\n{}",
            qcc_ir::text::print_module(m)
        )
    });
    let got = jit.run(inputs);
    // The node must really be compiled, not handed to the interpreter; in fixed-point
    // (TFLite) modules per-axis `requantize` has TFLite arithmetic the kernels do not
    // implement yet, and float `qsub` (a float simulation) has no kernel, so those run
    // through the interpreter.
    let batch = inputs.first().map_or(1, |t| t.shape[0]);
    let (_, interpreted, _) = jit.listing(batch).unwrap();
    let per_axis = m.graph.nodes.iter().any(|n| {
        n.inputs.iter().chain(&n.outputs).any(|&v| {
            m.graph
                .ty(v)
                .quant
                .as_ref()
                .is_some_and(|q| !q.is_per_tensor())
        })
    });
    // Float convs and erf need FMA, and a single filter takes another MLAS kernel: interpreted.
    let single_filter = m.graph.nodes.iter().any(|n| {
        matches!(n.op, Op::Conv(_))
            && m.graph
                .ty(n.inputs[1])
                .fixed_dims()
                .is_some_and(|d| d[0] == 1)
    });
    let tflite_only = |op: &String| {
        (op == "conv" && (!target.fma() || single_filter))
            || (op == "erf" && !target.fma())
            || (op == "softmax" && !target.fma())
            || (op == "layer_norm" && !target.fma())
            || (op == "conv_integer" && !target.vnni())
            || (op == "matmul" && !target.simd())
            || (m.requant == qcc_ir::RequantMode::Float && op == "qsub")
            || (op == "qmatmul" && !target.simd())
            || m.requant == qcc_ir::RequantMode::FixedPoint && op == "requantize" && per_axis
    };
    assert!(
        interpreted.iter().all(tflite_only),
        "{what}: not compiled: {interpreted:?}"
    );
    match (got, want) {
        (Ok(g), Ok(w)) => {
            for (a, b) in g.iter().zip(&w) {
                assert_eq!(a.shape, b.shape, "{what} [{target}]: shape");
                let (x, y) = (a.data.to_le_bytes(), b.data.to_le_bytes());
                if x != y {
                    let i = x.iter().zip(&y).position(|(p, q)| p != q).unwrap() / a.dtype().size();
                    panic!(
                        "{what} [{target}]: element {i}: jit {} vs interp {}\n{}",
                        a.data.to_f64_vec()[i],
                        b.data.to_f64_vec()[i],
                        qcc_ir::text::print_module(m)
                    );
                }
            }
        }
        (Err(_), Err(_)) => {}
        (g, w) => panic!("{what} [{target}]: jit {g:?} vs interp {w:?}"),
    }
}

/// Half the time, a relu or clip reading the module's single output (which the JIT fuses
/// into a float conv / gemm / matmul epilogue) becomes the output.
fn maybe_clamped(rng: &mut fastrand::Rng, mut module: Module) -> Module {
    if rng.bool() {
        return module;
    }
    let op = match rng.u8(..3) {
        0 => Op::Unary(qcc_ir::UnaryOp::Relu),
        1 => Op::Clip {
            min: Some(-0.5),
            max: Some(0.75),
        },
        _ => Op::Clip {
            min: None,
            max: Some(0.25),
        },
    };
    let y = module.graph.outputs.pop().expect("one output");
    let ty = module.graph.ty(y).clone();
    let z = module
        .graph
        .add_node("clamp", op, vec![y], vec![("z".into(), ty)])[0];
    module.graph.outputs.push(z);
    module
}

/// Runs `case(rng) -> (module, inputs)` for every seed.
fn run_cases(name: &str, case: impl Fn(&mut fastrand::Rng) -> (Module, Vec<Tensor>)) {
    let ts = targets();
    for seed in 0..cases() as u64 {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x9e37_79b9);
        let (m, ins) = case(&mut rng);
        check(
            &m,
            &ins,
            ts[seed as usize % ts.len()],
            &format!("{name} seed {seed}"),
        );
    }
}

#[test]
fn qconv_matches_interpreter() {
    run_cases("qconv", |rng| {
        let md = mode(rng);
        let mut b = Build::new(md);
        let (bd, n) = batch(rng);
        let depthwise = rng.u8(..4) == 0;
        let group = if depthwise {
            rng.usize(1..=6)
        } else {
            rng.usize(1..=3)
        };
        let cg = if depthwise { 1 } else { rng.usize(1..=5) };
        let mg = if depthwise { 1 } else { rng.usize(1..=5) };
        let (c, m) = (group * cg, group * mg);
        let rank2 = rng.u8(..5) != 0;
        let nsp = if rank2 { 2 } else { 1 };
        let kernel: Vec<usize> = (0..nsp).map(|_| rng.usize(1..=3)).collect();
        let strides: Vec<usize> = (0..nsp).map(|_| rng.usize(1..=3)).collect();
        let dil: Vec<usize> = (0..nsp).map(|_| rng.usize(1..=2)).collect();
        let pads: Vec<usize> = (0..2 * nsp).map(|_| rng.usize(0..=2)).collect();
        let sp: Vec<usize> = (0..nsp)
            .map(|d| {
                let keff = dil[d] * (kernel[d] - 1) + 1;
                let min = keff.saturating_sub(pads[d] + pads[nsp + d]).max(1);
                // Sometimes wide enough for the 8-column vector blocks.
                let extra = if rng.bool() { 7 } else { 26 };
                rng.usize(min..=min + extra)
            })
            .collect();
        let xdt = q8(rng);
        let wdt = if rng.u8(..4) == 0 {
            DType::U8
        } else {
            DType::I8
        };
        let ydt = q8(rng);
        let xq = QParams::per_tensor(scale(rng, 0.002, 0.05), zp(rng, xdt));
        let mut xs = vec![n, c];
        xs.extend(&sp);
        let x = b.input(
            "x",
            TensorType::with_dims(xdt, dims(&bd, &xs[1..])).quantized(xq.clone()),
        );
        let mut ws = vec![m, cg];
        ws.extend(&kernel);
        let per_channel = rng.bool();
        let wq = if per_channel {
            QParams::per_axis(
                (0..m).map(|_| scale(rng, 0.001, 0.05)).collect(),
                (0..m).map(|_| wzp(rng, wdt)).collect(),
                0,
            )
        } else {
            QParams::per_tensor(scale(rng, 0.001, 0.05), wzp(rng, wdt))
        };
        let wn: usize = ws.iter().product();
        let w = b.constant(
            "w",
            TensorType::new(wdt, &ws).quantized(wq),
            int_data(rng, wdt, wn),
        );
        let mut ins = vec![x, w];
        if rng.bool() {
            let big = rng.u8(..8) == 0;
            let bv: Vec<i32> = (0..m)
                .map(|_| {
                    if big {
                        rng.i32(..)
                    } else {
                        rng.i32(-20000..20000)
                    }
                })
                .collect();
            ins.push(b.constant("bias", TensorType::new(DType::I32, &[m]), Data::I32(bv)));
        }
        let yq = QParams::per_tensor(scale(rng, 0.005, 0.5), zp(rng, ydt));
        let a = ConvAttrs {
            strides,
            pads,
            dilations: dil,
            group,
        };
        let module = b.finish(Op::QConv(a, random_clamp(rng, ydt)), ins, ydt, Some(yq));
        let xn: usize = xs.iter().product();
        (module, vec![Tensor::new(xs, int_data(rng, xdt, xn))])
    });
}

/// A weight zero point: symmetric int8 weights (zero point 0, the VNNI kernels' case) half
/// of the time.
fn wzp(rng: &mut fastrand::Rng, dt: DType) -> i32 {
    if dt == DType::I8 && rng.bool() {
        0
    } else {
        zp(rng, dt)
    }
}

/// Shapes for the vector conv kernels: depthwise convs (one input channel per group) and
/// convs with few input channels (the 3-channel stem), W strides 1 and 2 (sometimes 3),
/// pads, dilation, kernels 1 to 5 wide, rows narrower than 8, between 8 and 16 and wider
/// (odd widths leave overlapping last blocks), 1-d convs and single output rows,
/// pointwise (1x1) convs with odd and deep channel counts, and multipliers above 0.5 (the
/// exact-clamp epilogue).
#[test]
fn vector_convs_match_interpreter() {
    run_cases("qconv-vec", |rng| {
        let md = mode(rng);
        let mut b = Build::new(md);
        let (bd, n) = batch(rng);
        let kind = rng.u8(..3);
        let (group, cg, mg) = match kind {
            0 => {
                let g = rng.usize(1..=5);
                (g, 1, 1)
            }
            // Deep kxk convs (at least 4 channel groups: the VNNI kernel's 4 x 12 passes).
            1 if rng.u8(..2) == 0 => (1, rng.usize(13..=24), rng.usize(1..=9)),
            // Half the grouped convs have whole 4-channel groups per conv group (the VNNI
            // kernel's grouped passes).
            1 if rng.bool() => (rng.usize(2..=3), 4 * rng.usize(1..=2), 4 * rng.usize(1..=2)),
            1 => (rng.usize(1..=2), rng.usize(1..=4), rng.usize(1..=9)),
            // A third of the pointwise convs are deep (more than 24 input channels: the
            // VNNI kernel's 4-channel x 12-pixel passes).
            _ if rng.u8(..3) == 0 => (1, rng.usize(25..=40), rng.usize(1..=9)),
            _ => (1, rng.usize(1..=7), rng.usize(1..=9)),
        };
        let (c, m) = (group * cg, group * mg);
        let pointwise = kind == 2;
        let kernel: Vec<usize> = if pointwise {
            vec![1, 1]
        } else {
            // Depthwise rows up to 8 taps (the VNNI depthwise kernel's two-quad rows).
            vec![
                rng.usize(1..=4),
                rng.usize(1..=if kind == 0 { 8 } else { 5 }),
            ]
        };
        let pick_stride = |rng: &mut fastrand::Rng| match rng.u8(..8) {
            0 => 3,
            1..=4 => 1,
            _ => 2,
        };
        let strides: Vec<usize> = if pointwise {
            vec![1, 1]
        } else {
            vec![pick_stride(rng), pick_stride(rng)]
        };
        let dil: Vec<usize> = if pointwise {
            vec![1, 1]
        } else {
            vec![rng.usize(1..=2), if rng.u8(..6) == 0 { 2 } else { 1 }]
        };
        let pads: Vec<usize> = if pointwise {
            vec![0; 4]
        } else {
            (0..4).map(|_| rng.usize(0..=2)).collect()
        };
        // A third of the depthwise convs are stride 1 and a third stride 2, undilated (the
        // VNNI depthwise kernel).
        let (strides, dil) = match (kind, rng.u8(..3)) {
            (0, 0) => (vec![1, 1], vec![1, 1]),
            (0, 1) => (vec![2, 2], vec![1, 1]),
            _ => (strides, dil),
        };
        let sp: Vec<usize> = (0..2)
            .map(|d| {
                let keff = dil[d] * (kernel[d] - 1) + 1;
                let min = keff.saturating_sub(pads[d] + pads[2 + d]).max(1);
                let extra = match rng.u8(..4) {
                    0 => 6,
                    1 => 20,
                    2 => 40,
                    _ => 70,
                };
                // Deep kxk convs get taller planes: rows past the 64 vectors of a
                // cross-row plane take grouped tail passes.
                let tall = if kind == 1 && cg >= 13 { 14 } else { 6 };
                rng.usize(min..=min + if d == 0 { tall } else { extra })
            })
            .collect();
        // A fifth are 1-d (the W axis only): one output row.
        let (kernel, strides, dil, pads, sp) = if rng.u8(..5) == 0 {
            (
                kernel[1..].to_vec(),
                strides[1..].to_vec(),
                dil[1..].to_vec(),
                vec![pads[1], pads[3]],
                sp[1..].to_vec(),
            )
        } else {
            (kernel, strides, dil, pads, sp)
        };
        let xdt = q8(rng);
        let wdt = if rng.u8(..4) == 0 {
            DType::U8
        } else {
            DType::I8
        };
        let ydt = q8(rng);
        let xq = QParams::per_tensor(scale(rng, 0.002, 0.05), zp(rng, xdt));
        let mut xs = vec![n, c];
        xs.extend(&sp);
        let x = b.input(
            "x",
            TensorType::with_dims(xdt, dims(&bd, &xs[1..])).quantized(xq.clone()),
        );
        let mut ws = vec![m, cg];
        ws.extend(&kernel);
        let wq = if rng.bool() {
            QParams::per_axis(
                (0..m).map(|_| scale(rng, 0.001, 0.05)).collect(),
                (0..m).map(|_| wzp(rng, wdt)).collect(),
                0,
            )
        } else {
            QParams::per_tensor(scale(rng, 0.001, 0.05), wzp(rng, wdt))
        };
        let wn: usize = ws.iter().product();
        let w = b.constant(
            "w",
            TensorType::new(wdt, &ws).quantized(wq),
            int_data(rng, wdt, wn),
        );
        let mut ins = vec![x, w];
        if rng.bool() {
            let big = rng.u8(..8) == 0;
            let bv: Vec<i32> = (0..m)
                .map(|_| {
                    if big {
                        rng.i32(..)
                    } else {
                        rng.i32(-20000..20000)
                    }
                })
                .collect();
            ins.push(b.constant("bias", TensorType::new(DType::I32, &[m]), Data::I32(bv)));
        }
        // Output scales down to 1e-5 give multipliers above 0.5.
        let ys = if rng.u8(..5) == 0 {
            scale(rng, 0.00001, 0.001)
        } else {
            scale(rng, 0.005, 0.5)
        };
        let yq = QParams::per_tensor(ys, zp(rng, ydt));
        let a = ConvAttrs {
            strides,
            pads,
            dilations: dil,
            group,
        };
        let module = b.finish(Op::QConv(a, random_clamp(rng, ydt)), ins, ydt, Some(yq));
        let xn: usize = xs.iter().product();
        (module, vec![Tensor::new(xs, int_data(rng, xdt, xn))])
    });
}

#[test]
fn qgemm_and_qmatmul_match_interpreter() {
    run_cases("qgemm", |rng| {
        let mut b = Build::new(mode(rng));
        let (bd, mrows) = batch(rng);
        // K past 16 and 32 with tails exercises the 16-byte VNNI chunks.
        let k = rng.usize(1..=70);
        let n = rng.usize(1..=12);
        let adt = q8(rng);
        let bdt = if rng.u8(..4) == 0 {
            DType::U8
        } else {
            DType::I8
        };
        let matmul = rng.u8(..3) == 0;
        // TFLite's FULLY_CONNECTED (w [N, K]); half of them with power-of-two scales, so
        // that its f64 requantization lands on halfway cases.
        let fc = !matmul && rng.u8(..3) == 0;
        let pot = fc && rng.bool();
        let sc = |rng: &mut fastrand::Rng, lo: f32, hi: f32| {
            let s = scale(rng, lo, hi);
            if pot {
                s.log2().round().exp2()
            } else {
                s
            }
        };
        let aq = QParams::per_tensor(sc(rng, 0.002, 0.05), zp(rng, adt));
        let trans_a = !matmul && !fc && rng.u8(..4) == 0;
        let trans_b = fc || !matmul && rng.bool();
        // With trans_a the batch dim is A's second dim.
        let a_ty = if trans_a {
            TensorType::new(adt, &[k, mrows])
        } else {
            TensorType::with_dims(adt, dims(&bd, &[k]))
        };
        let a = b.input("a", a_ty.quantized(aq));
        let b_shape = if trans_b { [n, k] } else { [k, n] };
        let b_axis = if trans_b { 0 } else { 1 };
        let bq = if rng.bool() {
            QParams::per_axis(
                (0..n).map(|_| sc(rng, 0.001, 0.05)).collect(),
                (0..n).map(|_| wzp(rng, bdt)).collect(),
                b_axis,
            )
        } else {
            QParams::per_tensor(sc(rng, 0.001, 0.05), wzp(rng, bdt))
        };
        let bv = b.constant(
            "b",
            TensorType::new(bdt, &b_shape).quantized(bq),
            int_data(rng, bdt, k * n),
        );
        let ydt = q8(rng);
        let yq = QParams::per_tensor(sc(rng, 0.01, 1.0), zp(rng, ydt));
        let a_shape = if trans_a {
            vec![k, mrows]
        } else {
            vec![mrows, k]
        };
        let input = Tensor::new(a_shape, int_data(rng, adt, mrows * k));
        if matmul {
            return (
                b.finish(Op::QMatMul, vec![a, bv], ydt, Some(yq)),
                vec![input],
            );
        }
        if fc {
            let mut ins = vec![a, bv];
            if rng.bool() {
                ins.push(b.constant(
                    "bias",
                    TensorType::new(DType::I32, &[n]),
                    Data::I32((0..n).map(|_| rng.i32(-30000..30000)).collect()),
                ));
            }
            return (
                b.finish(Op::QFullyConnected, ins, ydt, Some(yq)),
                vec![input],
            );
        }
        let mut ins = vec![a, bv];
        if rng.bool() {
            let (cs, cn): (Vec<usize>, usize) = match rng.u8(..3) {
                0 => (vec![n], n),
                1 => (vec![1, n], n),
                _ => (vec![], 1),
            };
            ins.push(b.constant(
                "c",
                TensorType::new(DType::I32, &cs),
                Data::I32((0..cn).map(|_| rng.i32(-30000..30000)).collect()),
            ));
        }
        let alpha = if rng.bool() {
            1.0
        } else {
            rng.f32() * 2.0 + 0.1
        };
        let at = GemmAttrs {
            alpha,
            beta: 1.0,
            trans_a,
            trans_b,
        };
        let f32_out = rng.u8(..4) == 0;
        let module = if f32_out {
            b.finish(Op::QGemm(at, Clamp::default()), ins, DType::F32, None)
        } else {
            b.finish(Op::QGemm(at, random_clamp(rng, ydt)), ins, ydt, Some(yq))
        };
        (module, vec![input])
    });
}

#[test]
fn qadd_qmul_qsub_match_interpreter() {
    run_cases("qbinary", |rng| {
        let md = mode(rng);
        let mut b = Build::new(md);
        let (bd, n) = batch(rng);
        let mut rest: Vec<usize> = (0..rng.usize(1..=3)).map(|_| rng.usize(1..=6)).collect();
        // A third have long innermost runs (the vector paths take 8 elements per step).
        if rng.u8(..3) == 0 {
            *rest.last_mut().unwrap() = rng.usize(8..=40);
        }
        let op = match rng.u8(..3) {
            0 => Op::QAdd,
            1 => Op::QMul,
            _ => Op::QSub,
        };
        // TFLite's int16x8 arithmetic: symmetric 16-bit operands and result.
        let wide = md == RequantMode::FixedPoint && rng.u8(..4) == 0;
        let (adt, bdt, ydt) = if wide {
            (DType::I16, DType::I16, DType::I16)
        } else {
            (q8(rng), q8(rng), q8(rng))
        };
        let zp16 = |rng: &mut fastrand::Rng, dt| if wide { 0 } else { zp(rng, dt) };
        let aq = QParams::per_tensor(scale(rng, 0.002, 0.2), zp16(rng, adt));
        let bq = QParams::per_tensor(scale(rng, 0.002, 0.2), zp16(rng, bdt));
        let yq = QParams::per_tensor(scale(rng, 0.002, 0.2), zp16(rng, ydt));
        let mut shape = vec![n];
        shape.extend(&rest);
        let numel: usize = shape.iter().product();
        let a = b.input(
            "a",
            TensorType::with_dims(adt, dims(&bd, &rest)).quantized(aq),
        );
        let which = rng.u8(..5);
        let (bv, inputs) = if which == 4 {
            // A constant row of trailing dims (a bias `[C]` added to `[.., C]`), with
            // leading 1s half the time.
            let from = rng.usize(0..rest.len());
            let mut cshape: Vec<usize> = rest[from..].to_vec();
            if rng.bool() {
                cshape.insert(0, 1);
            }
            let cn: usize = cshape.iter().product();
            let c = b.constant(
                "b",
                TensorType::new(bdt, &cshape).quantized(bq),
                int_data(rng, bdt, cn),
            );
            (
                c,
                vec![Tensor::new(shape.clone(), int_data(rng, adt, numel))],
            )
        } else if which == 0 {
            // Single-element second operand (a constant).
            let c = b.constant(
                "b",
                TensorType::new(bdt, &[1]).quantized(bq),
                int_data(rng, bdt, 1),
            );
            (
                c,
                vec![Tensor::new(shape.clone(), int_data(rng, adt, numel))],
            )
        } else {
            // which == 3: some dims of the second operand broadcast.
            let brest: Vec<usize> = rest
                .iter()
                .map(|&d| if which == 3 && rng.bool() { 1 } else { d })
                .collect();
            let mut bshape = vec![n];
            bshape.extend(&brest);
            let v = b.input(
                "b",
                TensorType::with_dims(bdt, dims(&bd, &brest)).quantized(bq),
            );
            let bn: usize = bshape.iter().product();
            (
                v,
                vec![
                    Tensor::new(shape.clone(), int_data(rng, adt, numel)),
                    Tensor::new(bshape, int_data(rng, bdt, bn)),
                ],
            )
        };
        // which == 2 (and half of 4): operands swapped (graph inputs stay in (a, b) order).
        let swap = which == 2 || (which == 4 && rng.bool());
        let ins = if swap { vec![bv, a] } else { vec![a, bv] };
        (b.finish(op, ins, ydt, Some(yq)), inputs)
    });
}

#[test]
fn pools_match_interpreter() {
    run_cases("pool", |rng| {
        let md = mode(rng);
        let mut b = Build::new(md);
        let (bd, n) = batch(rng);
        let c = rng.usize(1..=4);
        // A quarter 16-bit (TFLite's int16x8 pools).
        let dt = match rng.u8(..8) {
            0 => DType::I16,
            1 => DType::U16,
            _ => q8(rng),
        };
        let q = QParams::per_tensor(scale(rng, 0.002, 0.2), zp(rng, dt));
        if rng.u8(..3) == 0 {
            let sp: Vec<usize> = (0..rng.usize(1..=2)).map(|_| rng.usize(1..=9)).collect();
            let mut rest = vec![c];
            rest.extend(&sp);
            let x = b.input(
                "x",
                TensorType::with_dims(dt, dims(&bd, &rest)).quantized(q.clone()),
            );
            let ydt = q8(rng);
            let yq = QParams::per_tensor(scale(rng, 0.002, 0.2), zp(rng, ydt));
            let mut shape = vec![n];
            shape.extend(&rest);
            let numel = shape.iter().product();
            // Half global average pools, half global max pools (same parameters).
            let m = if rng.bool() {
                b.finish(Op::QGlobalAvgPool, vec![x], ydt, Some(yq))
            } else {
                b.finish(Op::GlobalMaxPool, vec![x], dt, Some(q))
            };
            return (m, vec![Tensor::new(shape, int_data(rng, dt, numel))]);
        }
        // A third of the max pools are the common 2x2 / stride 2 / unpadded window on rows
        // wide enough for the vector kernel (and odd sizes, which leave a tail).
        let common = rng.u8(..3) == 0;
        let wide = rng.bool();
        let nsp = if common { 2 } else { rng.usize(1..=2) };
        let kernel: Vec<usize> = (0..nsp)
            .map(|_| if common { 2 } else { rng.usize(1..=3) })
            .collect();
        let strides: Vec<usize> = (0..nsp)
            .map(|_| if common { 2 } else { rng.usize(1..=3) })
            .collect();
        let dil: Vec<usize> = (0..nsp)
            .map(|_| if common { 1 } else { rng.usize(1..=2) })
            .collect();
        let pads: Vec<usize> = (0..2 * nsp)
            .map(|i| {
                if common {
                    0
                } else {
                    rng.usize(0..=(kernel[i % nsp] - 1).min(2))
                }
            })
            .collect();
        let sp: Vec<usize> = (0..nsp)
            .map(|d| {
                if common {
                    return rng.usize(2..=40);
                }
                let keff = dil[d] * (kernel[d] - 1) + 1;
                let min = keff.saturating_sub(pads[d] + pads[nsp + d]).max(1);
                // Some rows wide enough for several 16-output vector steps.
                rng.usize(min..=min + if wide { 45 } else { 7 })
            })
            .collect();
        let mut rest = vec![c];
        rest.extend(&sp);
        let x = b.input(
            "x",
            TensorType::with_dims(dt, dims(&bd, &rest)).quantized(q.clone()),
        );
        // A third of the float-mode pools are QLinearAveragePool (undilated), with or
        // without the padding counted; the output has its own parameters.
        let avg = md == RequantMode::Float && rng.u8(..3) == 0;
        let a = PoolAttrs {
            kernel,
            strides,
            pads,
            dilations: if avg { vec![1; nsp] } else { dil },
            ceil_mode: rng.bool(),
            count_include_pad: avg && rng.bool(),
            row_major_sum: false,
        };
        let mut shape = vec![n];
        shape.extend(&rest);
        let numel = shape.iter().product();
        if avg {
            let ydt = q8(rng);
            let yq = QParams::per_tensor(scale(rng, 0.002, 0.2), zp(rng, ydt));
            let m = b.finish(Op::QAvgPool(a), vec![x], ydt, Some(yq));
            return (m, vec![Tensor::new(shape, int_data(rng, dt, numel))]);
        }
        let m = b.finish(Op::MaxPool(a), vec![x], dt, Some(q));
        (m, vec![Tensor::new(shape, int_data(rng, dt, numel))])
    });
}

fn special_floats(rng: &mut fastrand::Rng, n: usize, s: f32) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.u8(..20) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => -0.0,
            4 => (rng.i32(-300..300) as f32 + 0.5) * s,
            5 => rng.f32() * 1e12 - 5e11,
            _ => (rng.f32() * 2.0 - 1.0) * 300.0 * s,
        })
        .collect()
}

#[test]
fn quant_ops_and_clip_match_interpreter() {
    run_cases("quant", |rng| {
        let mut b = Build::new(mode(rng));
        let (bd, n) = batch(rng);
        let rest: Vec<usize> = (0..rng.usize(1..=3)).map(|_| rng.usize(1..=5)).collect();
        let mut shape = vec![n];
        shape.extend(&rest);
        let numel: usize = shape.iter().product();
        let params = |rng: &mut fastrand::Rng, dt: DType| {
            if rng.bool() {
                QParams::per_tensor(scale(rng, 0.001, 0.5), zp(rng, dt))
            } else {
                // Per-axis along dim 1 (a fixed dim).
                let d = rest[0];
                QParams::per_axis(
                    (0..d).map(|_| scale(rng, 0.001, 0.5)).collect(),
                    (0..d).map(|_| zp(rng, dt)).collect(),
                    1,
                )
            }
        };
        match rng.u8(..4) {
            0 => {
                let ydt = q8(rng);
                let q = params(rng, ydt);
                let x = b.input("x", TensorType::with_dims(DType::F32, dims(&bd, &rest)));
                let data = special_floats(rng, numel, q.scale[0]);
                let m = b.finish(Op::Quantize, vec![x], ydt, Some(q));
                (m, vec![Tensor::new(shape, Data::F32(data))])
            }
            1 => {
                let xdt = q8(rng);
                let q = params(rng, xdt);
                let x = b.input(
                    "x",
                    TensorType::with_dims(xdt, dims(&bd, &rest)).quantized(q),
                );
                let m = b.finish(Op::Dequantize, vec![x], DType::F32, None);
                (m, vec![Tensor::new(shape, int_data(rng, xdt, numel))])
            }
            2 => {
                let (xdt, ydt) = (q8(rng), q8(rng));
                let qi = params(rng, xdt);
                let qo = params(rng, ydt);
                let x = b.input(
                    "x",
                    TensorType::with_dims(xdt, dims(&bd, &rest)).quantized(qi),
                );
                let m = b.finish(Op::Requantize, vec![x], ydt, Some(qo));
                (m, vec![Tensor::new(shape, int_data(rng, xdt, numel))])
            }
            _ => {
                let dt = [DType::U8, DType::I8, DType::I32, DType::F32][rng.usize(..4)];
                let x = b.input("x", TensorType::with_dims(dt, dims(&bd, &rest)));
                let bound = |rng: &mut fastrand::Rng| {
                    rng.bool().then(|| {
                        (rng.f64() * 400.0 - 200.0).round() + if rng.bool() { 0.5 } else { 0.0 }
                    })
                };
                let (lo, hi) = (bound(rng), bound(rng));
                let data = if dt == DType::F32 {
                    Data::F32(special_floats(rng, numel, 1.0))
                } else {
                    int_data(rng, dt, numel)
                };
                let m = b.finish(Op::Clip { min: lo, max: hi }, vec![x], dt, None);
                (m, vec![Tensor::new(shape, data)])
            }
        }
    });
}

#[test]
fn bad_inputs_are_errors_not_crashes() {
    let mut b = Build::new(RequantMode::Float);
    let q = QParams::per_tensor(0.1, 3);
    let x = b.input(
        "x",
        TensorType::with_dims(
            DType::U8,
            vec![Dim::Sym("N".into()), Dim::Fixed(2), Dim::Fixed(5)],
        )
        .quantized(q.clone()),
    );
    let m = b.finish(Op::Dequantize, vec![x], DType::F32, None);
    for t in targets() {
        let mut jit = JitEngine::new(&m, t).unwrap();
        let good = Tensor::new(vec![2, 2, 5], Data::U8(vec![7; 20]));
        assert_eq!(
            jit.run(std::slice::from_ref(&good)).unwrap()[0].shape,
            vec![2, 2, 5]
        );
        let bad = [
            vec![Tensor::new(vec![2, 3, 5], Data::U8(vec![7; 30]))],
            vec![Tensor::new(vec![2, 2, 5], Data::I8(vec![7; 20]))],
            vec![Tensor::new(vec![2, 10], Data::U8(vec![7; 20]))],
            vec![Tensor {
                shape: vec![4, 2, 5],
                data: Data::U8(vec![7; 20]),
            }],
            vec![],
            vec![good.clone(), good.clone()],
        ];
        for (i, ins) in bad.iter().enumerate() {
            let e = jit
                .run(ins)
                .expect_err(&format!("bad input {i} was accepted"));
            assert!(
                e.to_string().contains("input") || e.to_string().contains("expected"),
                "{e}"
            );
        }
    }
}

#[test]
fn unsupported_targets_are_errors() {
    for t in Target::ALL {
        if t.check_host().is_err() {
            let m = Build::new(RequantMode::Float).m;
            assert!(JitEngine::new(&m, t).is_err());
        }
    }
    assert!("riscv".parse::<Target>().is_err());
    assert_eq!("x86-avx2".parse::<Target>(), Ok(Target::X86Avx2));
    assert_eq!("x86-avxvnni".parse::<Target>(), Ok(Target::X86AvxVnni));
}

#[test]
fn data_dependent_shapes_run_through_the_interpreter() {
    // A result whose dim is only known at run time: no static plan, no compile error.
    let mut m = Module::default();
    let x = m.graph.add_input("x", TensorType::new(DType::U8, &[2, 3]));
    let ty = TensorType::with_dims(DType::U8, vec![Dim::Any, Dim::Fixed(3)]);
    let y = m.graph.add_node(
        "clip",
        Op::Clip {
            min: Some(4.0),
            max: None,
        },
        vec![x],
        vec![("y".into(), ty)],
    )[0];
    m.graph.outputs.push(y);
    let input = Tensor::new(vec![2, 3], Data::U8(vec![1, 2, 3, 4, 5, 6]));
    for t in targets() {
        let mut jit = JitEngine::new(&m, t).unwrap();
        let got = jit.run(std::slice::from_ref(&input)).unwrap();
        assert_eq!(got[0].data, Data::U8(vec![4, 4, 4, 4, 5, 6]));
        assert!(jit.listing(1).is_err());
    }
}

#[test]
fn fused_clamp_bounds_narrow_the_storage_range() {
    use qcc_codegen::kernels::out_bounds;
    assert_eq!(out_bounds((0, 255), None), Ok((0, 255)));
    assert_eq!(out_bounds((0, 255), Some((10, 300))), Ok((10, 255)));
    assert_eq!(out_bounds((-128, 127), Some((-200, 6))), Ok((-128, 6)));
    assert!(out_bounds((0, 255), Some((300, 400))).is_err());
}

/// A fused output clamp half of the time: random bounds inside (or overlapping) the storage
/// range of `dt`, so the narrowed saturation is exercised on the scalar and vector paths.
fn random_clamp(rng: &mut fastrand::Rng, dt: DType) -> Clamp {
    let (lo, hi) = dt.int_range().unwrap_or((0, 255));
    if rng.bool() {
        return Clamp::default();
    }
    let a = rng.i64(lo..=hi);
    let b = rng.i64(a..=hi);
    Clamp(Some((a, b)))
}

/// Random f32 values of mixed magnitude and sign (so sums round differently by order).
fn f32_data(rng: &mut fastrand::Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.f32() - 0.5) * 10f32.powi(rng.i32(-3..=3)))
        .collect()
}

#[test]
fn float_gemm_and_matmul_match_interpreter() {
    run_cases("fgemm", |rng| {
        let mut b = Build::new(RequantMode::Float);
        let (bd, mrows) = batch(rng);
        let k = rng.usize(1..=40);
        let n = rng.usize(1..=23);
        let matmul = rng.u8(..3) == 0;
        let trans_a = !matmul && rng.u8(..4) == 0;
        let trans_b = !matmul && rng.bool();
        let a_ty = if trans_a {
            TensorType::new(DType::F32, &[k, mrows])
        } else {
            TensorType::with_dims(DType::F32, dims(&bd, &[k]))
        };
        let a = b.input("a", a_ty);
        let b_shape = if trans_b { [n, k] } else { [k, n] };
        let bv = b.constant(
            "b",
            TensorType::new(DType::F32, &b_shape),
            Data::F32(f32_data(rng, k * n)),
        );
        let a_shape = if trans_a {
            vec![k, mrows]
        } else {
            vec![mrows, k]
        };
        let input = Tensor::new(a_shape, Data::F32(f32_data(rng, mrows * k)));
        if matmul {
            return (
                maybe_clamped(rng, b.finish(Op::MatMul, vec![a, bv], DType::F32, None)),
                vec![input],
            );
        }
        let mut ins = vec![a, bv];
        if rng.bool() {
            let cs: Vec<usize> = match rng.u8(..3) {
                0 => vec![n],
                1 => vec![1, n],
                _ => vec![],
            };
            let cn: usize = cs.iter().product();
            ins.push(b.constant(
                "c",
                TensorType::new(DType::F32, &cs),
                Data::F32(f32_data(rng, cn)),
            ));
        }
        let at = GemmAttrs {
            alpha: [1.0, 0.5, -1.25][rng.usize(..3)],
            beta: [1.0, 0.0, 0.3][rng.usize(..3)],
            trans_a,
            trans_b,
        };
        (
            maybe_clamped(rng, b.finish(Op::Gemm(at), ins, DType::F32, None)),
            vec![input],
        )
    });
}

#[test]
fn matmul_integer_matches_interpreter() {
    run_cases("matmul_integer", |rng| {
        let mut b = Build::new(RequantMode::Float);
        let (bd, mrows) = batch(rng);
        let k = rng.usize(1..=70);
        let n = rng.usize(1..=13);
        let adt = q8(rng);
        let bdt = if rng.u8(..4) == 0 {
            DType::U8
        } else {
            DType::I8
        };
        let a = b.input("a", TensorType::with_dims(adt, dims(&bd, &[k])));
        let bv = b.constant(
            "b",
            TensorType::new(bdt, &[k, n]),
            int_data(rng, bdt, k * n),
        );
        let mut inputs = vec![Tensor::new(vec![mrows, k], int_data(rng, adt, mrows * k))];
        let mut ins = vec![a, bv];
        // A's zero point: absent, a constant, or a run-time scalar (dynamic quantization).
        match rng.u8(..3) {
            0 => {}
            1 => ins.push(b.constant("za", TensorType::new(adt, &[]), int_data(rng, adt, 1))),
            _ => {
                ins.push(b.input("za", TensorType::new(adt, &[])));
                inputs.push(Tensor::new(vec![], int_data(rng, adt, 1)));
            }
        }
        if ins.len() == 3 || rng.bool() {
            if ins.len() == 2 {
                ins.push(b.constant("za", TensorType::new(adt, &[]), int_data(rng, adt, 1)));
            }
            let zn = if rng.bool() { 1 } else { n };
            let zs: Vec<usize> = if zn == 1 { vec![] } else { vec![n] };
            let zb = if bdt == DType::I8 && rng.bool() {
                Data::from_i64(bdt, &vec![0; zn])
            } else {
                int_data(rng, bdt, zn)
            };
            ins.push(b.constant("zb", TensorType::new(bdt, &zs), zb));
        }
        (b.finish(Op::MatMulInteger, ins, DType::I32, None), inputs)
    });
}

/// `qmatmul` of two run-time operands (attention's `Q·Kᵀ`, `P·V`): equal batch dims
/// (symbolic or fixed) or a B shared by every batch; K with and without a tail of 8.
#[test]
fn activation_qmatmul_matches_interpreter() {
    run_cases("qmatmul_act", |rng| {
        let mut b = Build::new(mode(rng));
        let (bd, nb) = batch(rng);
        let (m, k, n) = (rng.usize(1..=20), rng.usize(1..=40), rng.usize(1..=20));
        let h = rng.usize(1..=3);
        let (adt, bdt, ydt) = (q8(rng), q8(rng), q8(rng));
        let aq = QParams::per_tensor(scale(rng, 0.002, 0.05), zp(rng, adt));
        let bq = if rng.u8(..4) == 0 {
            QParams::per_axis(
                (0..n).map(|_| scale(rng, 0.002, 0.05)).collect(),
                (0..n).map(|_| zp(rng, bdt)).collect(),
                2,
            )
        } else {
            QParams::per_tensor(scale(rng, 0.002, 0.05), zp(rng, bdt))
        };
        let yq = QParams::per_tensor(scale(rng, 0.01, 1.0), zp(rng, ydt));
        let ((a_dims, a_shape), (b_dims, b_shape)) = match rng.u8(..3) {
            0 => (
                (dims(&bd, &[h, m, k]), vec![nb, h, m, k]),
                (dims(&bd, &[h, k, n]), vec![nb, h, k, n]),
            ),
            1 => (
                (dims(&bd, &[m, k]), vec![nb, m, k]),
                (dims(&Dim::Fixed(1), &[k, n]), vec![1, k, n]),
            ),
            _ => (
                (dims(&Dim::Fixed(h), &[m, k]), vec![h, m, k]),
                (dims(&Dim::Fixed(h), &[k, n]), vec![h, k, n]),
            ),
        };
        let bq = match bq.axis {
            Some(_) => QParams {
                axis: Some(b_dims.len() - 1),
                ..bq
            },
            None => bq,
        };
        let a = b.input("a", TensorType::with_dims(adt, a_dims).quantized(aq));
        let bv = b.input("b", TensorType::with_dims(bdt, b_dims).quantized(bq));
        let (na, nbv) = (a_shape.iter().product(), b_shape.iter().product());
        let inputs = vec![
            Tensor::new(a_shape, int_data(rng, adt, na)),
            Tensor::new(b_shape, int_data(rng, bdt, nbv)),
        ];
        (b.finish(Op::QMatMul, vec![a, bv], ydt, Some(yq)), inputs)
    });
}

/// ONNX Runtime's QLinearSoftmax along the last axis (float modules, 8-bit), rows of one
/// to past 64 elements.
#[test]
fn qsoftmax_matches_interpreter() {
    run_cases("qsoftmax", |rng| {
        let mut b = Build::new(RequantMode::Float);
        let (bd, nb) = batch(rng);
        let (r, d) = (rng.usize(1..=5), rng.usize(1..=80));
        let (xdt, ydt) = (q8(rng), q8(rng));
        let xq = QParams::per_tensor(scale(rng, 0.005, 0.5), zp(rng, xdt));
        let yz = if ydt == DType::U8 { 0 } else { -128 };
        let yq = QParams::per_tensor(scale(rng, 0.002, 0.01), yz);
        let x = b.input(
            "x",
            TensorType::with_dims(xdt, dims(&bd, &[r, d])).quantized(xq),
        );
        let axis = if rng.bool() { -1 } else { 2 };
        let input = Tensor::new(vec![nb, r, d], int_data(rng, xdt, nb * r * d));
        let op = Op::QSoftmax { axis, beta: 1.0 };
        (b.finish(op, vec![x], ydt, Some(yq)), vec![input])
    });
}

/// f32 softmax along the last axis (MLAS's exp and 16-lane sum): rows of one to past 64
/// elements, spreads wide enough that `x - max` reaches the exp's lower clamp and results
/// go subnormal or to zero.
#[test]
fn float_softmax_matches_interpreter() {
    run_cases("softmax", |rng| {
        let mut b = Build::new(RequantMode::Float);
        let (bd, nb) = batch(rng);
        let (r, d) = (rng.usize(1..=4), rng.usize(1..=70));
        let x = b.input("x", TensorType::with_dims(DType::F32, dims(&bd, &[r, d])));
        let spread = [1.0f32, 10.0, 60.0, 200.0][rng.usize(..4)];
        let v: Vec<f32> = (0..nb * r * d)
            .map(|_| (rng.f32() * 2.0 - 1.0) * spread)
            .collect();
        let axis = if rng.bool() { -1 } else { 2 };
        let input = Tensor::new(vec![nb, r, d], Data::F32(v));
        (
            b.finish(Op::Softmax { axis }, vec![x], DType::F32, None),
            vec![input],
        )
    });
}

/// f32 layer normalisation over the last one or two dims (rows of 8 to 70 elements: the
/// f64 lane sums, the 8-lane variance and every tail), with and without a bias, on values
/// whose mean is large against their spread.
#[test]
fn layer_norm_matches_interpreter() {
    run_cases("layer_norm", |rng| {
        let mut b = Build::new(RequantMode::Float);
        let (bd, nb) = batch(rng);
        let two = rng.bool();
        let (r, c) = if two {
            (rng.usize(2..=5), rng.usize(4..=14))
        } else {
            (rng.usize(1..=4), rng.usize(8..=70))
        };
        let x = b.input("x", TensorType::with_dims(DType::F32, dims(&bd, &[r, c])));
        let n = if two { r * c } else { c };
        let pshape: Vec<usize> = if two { vec![r, c] } else { vec![c] };
        let f = |rng: &mut fastrand::Rng, k: usize, lo: f32, hi: f32| -> Vec<f32> {
            (0..k).map(|_| lo + rng.f32() * (hi - lo)).collect()
        };
        let offset = [0.0f32, 3.0, 1000.0][rng.usize(..3)];
        let v = f(rng, nb * r * c, offset - 1.0, offset + 1.0);
        let mut inputs = vec![Tensor::new(vec![nb, r, c], Data::F32(v))];
        // Scale and bias constant, or computed at run time (graph inputs here; a QDQ
        // model's dequantized gamma).
        let mut param = |rng: &mut fastrand::Rng, name: &str, lo: f32, hi: f32| {
            let vals = f(rng, n, lo, hi);
            let ty = TensorType::new(DType::F32, &pshape);
            if rng.bool() {
                b.constant(name, ty, Data::F32(vals))
            } else {
                inputs.push(Tensor::new(pshape.clone(), Data::F32(vals)));
                b.input(name, ty)
            }
        };
        let sc = param(rng, "scale", -2.0, 2.0);
        let mut ins = vec![x, sc];
        if rng.bool() {
            ins.push(param(rng, "bias", -1.0, 1.0));
        }
        let axis = if two { 1 } else { -1 };
        let epsilon = [1e-5f32, 1e-12, 0.1][rng.usize(..3)];
        (
            b.finish(Op::LayerNorm { axis, epsilon }, ins, DType::F32, None),
            inputs,
        )
    });
}

/// ONNX ConvInteger (dynamic quantization): raw i32 sums on the VNNI conv kernel, the
/// input zero point a run-time scalar (DynamicQuantizeLinear's), a constant or absent, the
/// weights' zero points absent, per tensor or per output channel; 1-d and 2-d convs with
/// strides, pads and dilations.
#[test]
fn conv_integer_matches_interpreter() {
    run_cases("conv_integer", |rng| {
        let mut b = Build::new(RequantMode::Float);
        let (bd, n) = batch(rng);
        let (c, m) = (rng.usize(1..=9), rng.usize(1..=9));
        let nsp = if rng.u8(..5) != 0 { 2 } else { 1 };
        let kernel: Vec<usize> = (0..nsp).map(|_| rng.usize(1..=4)).collect();
        let strides: Vec<usize> = (0..nsp).map(|_| rng.usize(1..=4)).collect();
        let dil: Vec<usize> = (0..nsp).map(|_| rng.usize(1..=2)).collect();
        let pads: Vec<usize> = (0..2 * nsp).map(|_| rng.usize(0..=2)).collect();
        let sp: Vec<usize> = (0..nsp)
            .map(|d| {
                let keff = dil[d] * (kernel[d] - 1) + 1;
                let min = keff.saturating_sub(pads[d] + pads[nsp + d]).max(1);
                rng.usize(min..=min + 20)
            })
            .collect();
        let xdt = q8(rng);
        let mut xs = vec![n, c];
        xs.extend(&sp);
        let x = b.input("x", TensorType::with_dims(xdt, dims(&bd, &xs[1..])));
        let mut ws = vec![m, c];
        ws.extend(&kernel);
        let wn: usize = ws.iter().product();
        let wv: Vec<i64> = (0..wn).map(|_| rng.i64(-100..=100)).collect();
        let w = b.constant(
            "w",
            TensorType::new(DType::I8, &ws),
            Data::from_i64(DType::I8, &wv),
        );
        let mut ins = vec![x, w];
        let mut inputs = vec![];
        let xn: usize = xs.iter().product();
        inputs.push(Tensor::new(xs.clone(), int_data(rng, xdt, xn)));
        let zx_mode = rng.u8(..3);
        let zx_val = zp(rng, xdt) as i64;
        if zx_mode == 0 {
            ins.push(b.input("zx", TensorType::new(xdt, &[])));
            inputs.push(Tensor::new(vec![], Data::from_i64(xdt, &[zx_val])));
        } else if zx_mode == 1 || rng.bool() {
            ins.push(b.constant(
                "zx",
                TensorType::new(xdt, &[]),
                Data::from_i64(xdt, &[zx_val]),
            ));
        }
        if ins.len() == 3 && rng.bool() {
            let zw: Vec<i64> = if rng.bool() {
                vec![rng.i64(-20..=20)]
            } else {
                (0..m).map(|_| rng.i64(-20..=20)).collect()
            };
            let zs = if zw.len() == 1 { vec![] } else { vec![m] };
            ins.push(b.constant(
                "zw",
                TensorType::new(DType::I8, &zs),
                Data::from_i64(DType::I8, &zw),
            ));
        }
        let a = ConvAttrs {
            strides,
            pads,
            dilations: dil,
            group: 1,
        };
        (b.finish(Op::ConvInteger(a), ins, DType::I32, None), inputs)
    });
}

/// f32 `matmul` of two run-time operands (dynamic and float transformers' attention):
/// equal batch dims (symbolic or fixed) or a B shared by every batch, N with and without a
/// tail of 4.
#[test]
fn float_matmul_of_run_time_operands_matches_interpreter() {
    run_cases("fmatmul_act", |rng| {
        let mut b = Build::new(RequantMode::Float);
        let (bd, nb) = batch(rng);
        let (m, k, n) = (rng.usize(1..=12), rng.usize(1..=40), rng.usize(1..=23));
        let h = rng.usize(1..=3);
        let ((a_dims, a_shape), (b_dims, b_shape)) = if rng.bool() {
            (
                (dims(&bd, &[h, m, k]), vec![nb, h, m, k]),
                (dims(&bd, &[h, k, n]), vec![nb, h, k, n]),
            )
        } else {
            (
                (dims(&bd, &[m, k]), vec![nb, m, k]),
                (dims(&Dim::Fixed(1), &[k, n]), vec![1, k, n]),
            )
        };
        let a = b.input("a", TensorType::with_dims(DType::F32, a_dims));
        let bv = b.input("b", TensorType::with_dims(DType::F32, b_dims));
        let (na, nbv): (usize, usize) = (a_shape.iter().product(), b_shape.iter().product());
        let inputs = vec![
            Tensor::new(a_shape, Data::F32(f32_data(rng, na))),
            Tensor::new(b_shape, Data::F32(f32_data(rng, nbv))),
        ];
        (b.finish(Op::MatMul, vec![a, bv], DType::F32, None), inputs)
    });
}

#[test]
fn lut_matches_interpreter() {
    run_cases("lut", |rng| {
        let mut b = Build::new(mode(rng));
        let (bd, n) = batch(rng);
        let c = rng.usize(1..=5);
        // A third with planes of several 8-lookup steps.
        let hw = if rng.u8(..3) == 0 {
            rng.usize(8..=40)
        } else {
            rng.usize(1..=9)
        };
        let xdt = q8(rng);
        let ydt = q8(rng);
        let xq = QParams::per_tensor(scale(rng, 0.01, 0.1), zp(rng, xdt));
        let x = b.input(
            "x",
            TensorType::with_dims(xdt, dims(&bd, &[c, hw])).quantized(xq),
        );
        let per_channel = rng.bool();
        let tshape: Vec<usize> = if per_channel { vec![c, 256] } else { vec![256] };
        let tn: usize = tshape.iter().product();
        let yq = QParams::per_tensor(scale(rng, 0.01, 0.1), zp(rng, ydt));
        let t = b.constant("t", TensorType::new(ydt, &tshape), int_data(rng, ydt, tn));
        let input = Tensor::new(vec![n, c, hw], int_data(rng, xdt, n * c * hw));
        (b.finish(Op::Lut, vec![x, t], ydt, Some(yq)), vec![input])
    });
}

#[test]
fn float_elementwise_cast_and_dynamic_quantize_match_interpreter() {
    run_cases("felementwise", |rng| {
        let mut b = Build::new(RequantMode::Float);
        let (bd, n) = batch(rng);
        let cols = rng.usize(1..=19);
        let x = b.input("x", TensorType::with_dims(DType::F32, dims(&bd, &[cols])));
        let input = Tensor::new(vec![n, cols], Data::F32(f32_data(rng, n * cols)));
        match rng.u8(..4) {
            3 => {
                // Erf (ONNX Runtime's polynomial): both branches, the clamp, NaN, infinities.
                let vals = special_floats(rng, n * cols, 0.012);
                let input = Tensor::new(vec![n, cols], Data::F32(vals));
                let m = b.finish(Op::Unary(UnaryOp::Erf), vec![x], DType::F32, None);
                (m, vec![input])
            }
            0 => {
                let op =
                    [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div][rng.usize(..4)];
                let (shape, len): (Vec<usize>, usize) = if rng.bool() {
                    (vec![], 1)
                } else {
                    (vec![cols], cols)
                };
                let c = b.constant(
                    "c",
                    TensorType::new(DType::F32, &shape),
                    Data::F32(f32_data(rng, len)),
                );
                let ins = if rng.bool() { vec![x, c] } else { vec![c, x] };
                (b.finish(Op::Binary(op), ins, DType::F32, None), vec![input])
            }
            1 => {
                let xi = b.input("xi", TensorType::with_dims(DType::I32, dims(&bd, &[cols])));
                let vals: Vec<i32> = (0..n * cols).map(|_| rng.i32(..)).collect();
                let m = b.finish(Op::Cast { to: DType::F32 }, vec![xi], DType::F32, None);
                let _ = x;
                (m, vec![input, Tensor::new(vec![n, cols], Data::I32(vals))])
            }
            _ => {
                let mut m = b.m;
                let tys = [m.graph.ty(x).clone()];
                let refs: Vec<&TensorType> = tys.iter().collect();
                let shape =
                    qcc_ir::infer::infer_shapes(&Op::DynamicQuantizeLinear, &refs, 3, &m).unwrap();
                let outs = vec![
                    (
                        "y".to_string(),
                        TensorType::with_dims(DType::U8, shape[0].clone()),
                    ),
                    ("s".to_string(), TensorType::new(DType::F32, &[])),
                    ("z".to_string(), TensorType::new(DType::U8, &[])),
                ];
                let vs = m
                    .graph
                    .add_node("dql", Op::DynamicQuantizeLinear, vec![x], outs);
                m.graph.outputs.extend(vs);
                // Plain values, NaN and infinities, all positive (zero point 0), or one value.
                let vals: Vec<f32> = match rng.u8(..4) {
                    0 => special_floats(rng, n * cols, 1.0),
                    1 => f32_data(rng, n * cols)
                        .iter()
                        .map(|v| v.abs() * 7.0)
                        .collect(),
                    2 => vec![rng.f32() - 0.5; n * cols],
                    _ => f32_data(rng, n * cols),
                };
                (m, vec![Tensor::new(vec![n, cols], Data::F32(vals))])
            }
        }
    });
}

#[test]
fn float_conv_and_maxpool_match_interpreter() {
    run_cases("fconv", |rng| {
        let mut b = Build::new(RequantMode::Float);
        let (bd, n) = batch(rng);
        let c = rng.usize(1..=20);
        let m = rng.usize(1..=19);
        let mut k = [rng.usize(1..=3), rng.usize(1..=3)];
        let mut strides = vec![rng.usize(1..=2), rng.usize(1..=2)];
        let mut pads: Vec<usize> = (0..4).map(|_| rng.usize(0..=1)).collect();
        let dil = vec![rng.usize(1..=2), 1];
        if rng.u8(..4) == 0 {
            // Pointwise: the kernel reads the image itself, no unfolded copy.
            (k, strides, pads) = ([1, 1], vec![1, 1], vec![0; 4]);
        }
        // Sometimes more than 128 output positions (several MLAS column blocks).
        let hw = if rng.bool() {
            [rng.usize(5..=9), rng.usize(3..=9)]
        } else {
            [12, 13]
        };
        let mut xs = vec![n, c];
        xs.extend(hw);
        let x = b.input("x", TensorType::with_dims(DType::F32, dims(&bd, &xs[1..])));
        let input = Tensor::new(xs.clone(), Data::F32(f32_data(rng, xs.iter().product())));
        if rng.u8(..4) == 0 {
            // Half the pools are the vectorised 2x2 / 2 kind; inputs with NaN and infinities.
            let (kernel, strides, pads, dilations) = if rng.bool() {
                (vec![2, 2], vec![2, 2], vec![0; 4], vec![1, 1])
            } else {
                (k.to_vec(), strides, pads, dil)
            };
            let a = PoolAttrs {
                kernel,
                strides,
                pads,
                dilations,
                ceil_mode: false,
                count_include_pad: false,
                row_major_sum: false,
            };
            let numel: usize = xs.iter().product();
            let input = Tensor::new(xs.clone(), Data::F32(special_floats(rng, numel, 3.0)));
            return (
                b.finish(Op::MaxPool(a), vec![x], DType::F32, None),
                vec![input],
            );
        }
        let ws = [m, c, k[0], k[1]];
        let w = b.constant(
            "w",
            TensorType::new(DType::F32, &ws),
            Data::F32(f32_data(rng, ws.iter().product())),
        );
        let mut ins = vec![x, w];
        if rng.bool() {
            ins.push(b.constant(
                "b",
                TensorType::new(DType::F32, &[m]),
                Data::F32(f32_data(rng, m)),
            ));
        }
        let a = ConvAttrs {
            strides,
            pads,
            dilations: dil,
            group: 1,
        };
        let module = maybe_clamped(rng, b.finish(Op::Conv(a), ins, DType::F32, None));
        (module, vec![input])
    });
}

#[test]
fn depthwise_stride1_2_matches_interpreter() {
    // The shape of mobilenet's depthwise convs (the VNNI depthwise kernel): symmetric i8
    // weights, stride 1 or 2, undilated, kernel rows up to 4 wide, rows of 1 to 200 pixels.
    run_cases("depthwise-s12", |rng| {
        let stride = rng.usize(1..=2);
        let md = mode(rng);
        let mut b = Build::new(md);
        let (bd, n) = batch(rng);
        let c = rng.usize(1..=24);
        let kernel = [rng.usize(1..=4), rng.usize(1..=4)];
        let pads: Vec<usize> = (0..4).map(|_| rng.usize(0..=2)).collect();
        // One in eight rows is long (the plane copy's loop over 16-byte chunks).
        let w = if rng.u8(..8) == 0 {
            rng.usize(144..=200)
        } else {
            rng.usize(kernel[1].max(1)..=kernel[1] + 36)
        };
        let sp = [rng.usize(kernel[0].max(1)..=kernel[0] + 8), w];
        let (xdt, ydt) = (q8(rng), q8(rng));
        let xq = QParams::per_tensor(scale(rng, 0.002, 0.05), zp(rng, xdt));
        let xs = vec![n, c, sp[0], sp[1]];
        let x = b.input(
            "x",
            TensorType::with_dims(xdt, dims(&bd, &xs[1..])).quantized(xq),
        );
        let ws = [c, 1, kernel[0], kernel[1]];
        let wq = if rng.bool() {
            QParams::per_axis(
                (0..c).map(|_| scale(rng, 0.001, 0.05)).collect(),
                vec![0; c],
                0,
            )
        } else {
            QParams::per_tensor(scale(rng, 0.001, 0.05), 0)
        };
        let w = b.constant(
            "w",
            TensorType::new(DType::I8, &ws).quantized(wq),
            int_data(rng, DType::I8, ws.iter().product()),
        );
        let mut ins = vec![x, w];
        if rng.bool() {
            let bv: Vec<i32> = (0..c).map(|_| rng.i32(-20000..20000)).collect();
            ins.push(b.constant("bias", TensorType::new(DType::I32, &[c]), Data::I32(bv)));
        }
        let yq = QParams::per_tensor(scale(rng, 0.005, 0.5), zp(rng, ydt));
        let a = ConvAttrs {
            strides: vec![stride, stride],
            pads,
            dilations: vec![1, 1],
            group: c,
        };
        let module = b.finish(Op::QConv(a, random_clamp(rng, ydt)), ins, ydt, Some(yq));
        let xn: usize = xs.iter().product();
        (module, vec![Tensor::new(xs, int_data(rng, xdt, xn))])
    });
}

#[test]
fn qmean_matches_interpreter() {
    // TFLite's MEAN: any axes (negative ones too), with or without kept dims, 8- and
    // 16-bit operands; the last axis kept (NHWC over H and W) takes the vector path.
    run_cases("qmean", |rng| {
        let mut b = Build::new(RequantMode::FixedPoint);
        let (bd, n) = batch(rng);
        let rest: Vec<usize> = (0..rng.usize(1..=3)).map(|_| rng.usize(1..=9)).collect();
        let rank = rest.len() + 1;
        let mut axes: Vec<i64> = (1..rank as i64).filter(|_| rng.bool()).collect();
        if axes.is_empty() {
            axes.push(rng.i64(1..rank as i64));
        }
        let axes: Vec<i64> = axes
            .into_iter()
            .map(|a| if rng.bool() { a - rank as i64 } else { a })
            .collect();
        let wide = rng.u8(..4) == 0;
        let (xdt, ydt) = if wide {
            (DType::I16, DType::I16)
        } else {
            (q8(rng), q8(rng))
        };
        let z = |rng: &mut fastrand::Rng, dt| if wide { 0 } else { zp(rng, dt) };
        let xq = QParams::per_tensor(scale(rng, 0.002, 0.2), z(rng, xdt));
        let yq = QParams::per_tensor(scale(rng, 0.002, 0.2), z(rng, ydt));
        let x = b.input(
            "x",
            TensorType::with_dims(xdt, dims(&bd, &rest)).quantized(xq),
        );
        let mut shape = vec![n];
        shape.extend(&rest);
        let numel = shape.iter().product();
        let op = Op::QMean {
            axes,
            keepdims: rng.bool(),
        };
        let m = b.finish(op, vec![x], ydt, Some(yq));
        (m, vec![Tensor::new(shape, int_data(rng, xdt, numel))])
    });
}

#[test]
fn int16_pointwise_conv_matches_interpreter() {
    // TFLite's int16x8 1x1 convs: int16 activations, int8 weights, an int64 bias, the int64
    // requantization; rows of any length (the 8-pixel blocks and the scalar tail).
    run_cases("qconv16", |rng| {
        let mut b = Build::new(RequantMode::FixedPoint);
        let (bd, n) = batch(rng);
        let (c, m) = (rng.usize(1..=40), rng.usize(1..=20));
        let sp = [rng.usize(1..=9), rng.usize(1..=13)];
        // TFLite's int16 activations are symmetric; a zero point is taken too.
        let zx = if rng.bool() { 0 } else { rng.i32(-100..=100) };
        let xq = QParams::per_tensor(scale(rng, 0.0001, 0.01), zx);
        let xs = vec![n, c, sp[0], sp[1]];
        let x = b.input(
            "x",
            TensorType::with_dims(DType::I16, dims(&bd, &xs[1..])).quantized(xq),
        );
        let wq = QParams::per_axis(
            (0..m).map(|_| scale(rng, 0.001, 0.05)).collect(),
            vec![0; m],
            0,
        );
        let w = b.constant(
            "w",
            TensorType::new(DType::I8, &[m, c, 1, 1]).quantized(wq),
            int_data(rng, DType::I8, m * c),
        );
        let bias = b.constant(
            "bias",
            TensorType::new(DType::I64, &[m]),
            Data::I64((0..m).map(|_| rng.i64(-(1 << 22)..(1 << 22))).collect()),
        );
        let ydt = if rng.bool() { DType::I16 } else { DType::I8 };
        // Output scales that keep most results inside the range (not all saturated).
        let yq = QParams::per_tensor(scale(rng, 0.01, 2.0), 0);
        let a = ConvAttrs {
            strides: vec![1, 1],
            pads: vec![0; 4],
            dilations: vec![1, 1],
            group: 1,
        };
        let module = b.finish(
            Op::QConv(a, random_clamp(rng, ydt)),
            vec![x, w, bias],
            ydt,
            Some(yq),
        );
        let xn: usize = xs.iter().product();
        (module, vec![Tensor::new(xs, int_data(rng, DType::I16, xn))])
    });
}
