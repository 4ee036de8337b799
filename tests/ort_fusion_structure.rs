//! qcc's -O2 fuses exactly the Q/DQ groups ONNX Runtime fuses. For every 8-bit QDQ model in
//! `tests/fixtures/onnx_extra`, the number of each integer op in the optimised IR equals the
//! number of the matching ONNX Runtime kernel in the graph ONNX Runtime itself runs
//! (`meta.json`'s `ort_enable_all_op_histogram`, written by the fixture generator); a
//! `qmul(x, lut(x))` that `product-of-lut-to-lut` folded into one table counts as its qmul.
//! A group ONNX Runtime leaves in float (on x86, any group touching an int8 activation that
//! its S8-to-U8 conversion skips) must stay float in qcc too, or near-tie elements round
//! differently.

use qcc_tests::fixture;

/// qcc op -> ONNX Runtime op types (any domain) that implement it.
const PAIRS: &[(&str, &[&str])] = &[
    ("qconv", &["QLinearConv"]),
    ("qgemm", &["QGemm"]),
    ("qmatmul", &["QLinearMatMul"]),
    ("qadd", &["QLinearAdd"]),
    ("qmul", &["QLinearMul"]),
    ("qglobal_avgpool", &["QLinearGlobalAveragePool"]),
];

#[test]
fn fused_groups_match_onnx_runtime() {
    let mut dirs: Vec<_> = std::fs::read_dir(fixture("onnx_extra"))
        .expect("onnx_extra fixtures")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            // 8-bit static QDQ models (16-bit and 4-bit groups run other ORT kernels).
            n.contains("_qdq_u8") || n.contains("_qdq_s8")
        })
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 25, "QDQ fixtures missing: {}", dirs.len());
    let mut failures = Vec::new();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
        let hist = meta["ort_enable_all_op_histogram"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no ort_enable_all_op_histogram"));
        let ort_count = |ops: &[&str]| -> u64 {
            hist.iter()
                .filter(|(k, _)| ops.contains(&k.rsplit('.').next().unwrap_or(k)))
                .map(|(_, v)| v.as_u64().unwrap_or(0))
                .sum()
        };
        let opts = qcc::CompileOptions {
            level: qcc_passes::OptLevel::O2,
            ..Default::default()
        };
        let m = qcc::compile(&dir.join("model.onnx"), opts).unwrap().module;
        for (op, ort_ops) in PAIRS {
            let mut ours = m.graph.nodes.iter().filter(|n| n.op.name() == *op).count() as u64;
            // A swish / hard-swish qmul that product-of-lut-to-lut folded into one table is
            // still the QLinearMul group ONNX Runtime fuses.
            if *op == "qmul" {
                ours += product_tables(&m);
            }
            let theirs = ort_count(ort_ops);
            if ours != theirs {
                failures.push(format!(
                    "{name}: {ours} {op}, ONNX Runtime runs {theirs} {ort_ops:?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `lut` nodes whose table is a `product_table` (a folded `qmul(x, lut(x))`).
fn product_tables(m: &qcc_ir::Module) -> u64 {
    let is_product = |v: qcc_ir::ValueId| {
        m.graph.nodes.iter().any(|n| {
            n.outputs.contains(&v)
                && matches!(&n.op, qcc_ir::Op::Const(id) if m.consts[id.0 as usize].name.starts_with("lut.product"))
        })
    };
    m.graph
        .nodes
        .iter()
        .filter(|n| {
            matches!(n.op, qcc_ir::Op::Lut) && n.inputs.get(1).is_some_and(|&t| is_product(t))
        })
        .count() as u64
}
