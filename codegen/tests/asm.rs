//! Filetest-style checks of the machine code the kernels turn into (Cranelift's VCode
//! listing): the int8 dot products become pmaddwd (the conv interleaves channel pairs with
//! punpcklwd), requantization rounds with roundss / roundps and converts with cvttps2dq,
//! results are packed with packuswb, the AVX2 target uses VEX encodings and the
//! x86-avxvnni target folds the u8 x i8 dot product into vpdpbusd.

use qcc_codegen::{JitEngine, Options, Target};
use qcc_ir::{Clamp, ConvAttrs, DType, Data, Module, Op, QParams, RequantMode, Tensor, TensorType};

fn module(conv: bool) -> Module {
    let mut m = Module {
        name: "asm".into(),
        requant: RequantMode::Float,
        ..Default::default()
    };
    let g = &mut m.graph;
    let (xs, ws, ys): (Vec<usize>, Vec<usize>, Vec<usize>) = if conv {
        (vec![1, 4, 4, 4], vec![8, 4, 1, 1], vec![1, 8, 4, 4])
    } else {
        (vec![2, 64], vec![64, 16], vec![2, 16])
    };
    let x = g.add_input(
        "x",
        TensorType::new(DType::U8, &xs).quantized(QParams::per_tensor(0.02, 3)),
    );
    let wty = TensorType::new(DType::I8, &ws).quantized(QParams::per_tensor(0.01, 0));
    let n: usize = ws.iter().product();
    let c = m.add_const(
        "w",
        wty.clone(),
        Tensor::new(
            ws.clone(),
            Data::I8((0..n).map(|i| (i % 7) as i8 - 3).collect()),
        ),
    );
    let g = &mut m.graph;
    let w = g.add_node("w", Op::Const(c), vec![], vec![("w".into(), wty)])[0];
    let op = if conv {
        Op::QConv(
            ConvAttrs {
                strides: vec![1, 1],
                pads: vec![0, 0, 0, 0],
                dilations: vec![1, 1],
                group: 1,
            },
            Clamp::default(),
        )
    } else {
        Op::QMatMul
    };
    let yty = TensorType::new(DType::U8, &ys).quantized(QParams::per_tensor(0.1, 5));
    let y = g.add_node("k", op, vec![x, w], vec![("y".into(), yty)])[0];
    g.outputs.push(y);
    m
}

fn asm(m: &Module, t: Target) -> String {
    let opts = Options {
        clif: false,
        asm: true,
    };
    let mut jit = JitEngine::with_options(m, t, opts).unwrap();
    let (listings, interpreted, _) = jit.listing(1).unwrap();
    assert!(interpreted.is_empty());
    listings.into_iter().map(|l| l.asm).collect()
}

#[test]
fn sse_kernels_use_pmaddwd_round_and_pack() {
    if Target::X86_64.check_host().is_err() {
        return;
    }
    let gemm = asm(&module(false), Target::X86_64);
    assert!(gemm.contains("pmaddwd"), "{gemm}");
    assert!(gemm.contains("roundss"), "{gemm}");
    let conv = asm(&module(true), Target::X86_64);
    for insn in [
        "pmaddwd",
        "punpcklwd",
        "roundps",
        "cvttps2dq",
        "packuswb",
        "pmovzxbw",
    ] {
        assert!(conv.contains(insn), "{insn} missing:\n{conv}");
    }
}

#[test]
fn avx2_target_uses_vex_encodings() {
    if Target::X86Avx2.check_host().is_err() {
        return;
    }
    let gemm = asm(&module(false), Target::X86Avx2);
    assert!(gemm.contains("vpmaddwd"), "{gemm}");
    let conv = asm(&module(true), Target::X86Avx2);
    assert!(
        conv.contains("vpmaddwd") && conv.contains("vroundps"),
        "{conv}"
    );
}

#[test]
fn generic_target_has_no_vector_dot_product() {
    let gemm = asm(&module(false), Target::Generic);
    assert!(!gemm.contains("pmaddwd"), "{gemm}");
}

#[test]
fn avxvnni_target_folds_the_dot_product_into_vpdpbusd() {
    if Target::X86AvxVnni.check_host().is_err() {
        return;
    }
    let gemm = asm(&module(false), Target::X86AvxVnni);
    assert!(gemm.contains("vpdpbusd"), "{gemm}");
    assert!(!gemm.contains("pmaddwd"), "{gemm}");
    // The same tree without VNNI is computed by widening, never with vpdpbusd.
    let avx2 = asm(&module(false), Target::X86Avx2);
    assert!(!avx2.contains("vpdpbusd"), "{avx2}");
}
