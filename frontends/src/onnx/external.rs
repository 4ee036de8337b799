//! External tensor data (`data_location: EXTERNAL`), as torch.onnx's dynamo exporter and
//! `onnx.save(..., save_as_external_data=True)` write it: the bytes of an initializer live
//! in a file next to the model, named by the tensor's `location` entry, at `offset` for
//! `length` bytes. [`inline_external`] reads them into `raw_data` before import. A location
//! must be a relative path that stays inside the model's directory.

use super::proto::{ModelProto, TensorProto};
use std::collections::HashMap;
use std::path::{Component, Path};

/// Largest external file read (guards allocations on corrupt models).
const MAX_FILE: u64 = 1 << 33;

/// Moves the external data of every initializer and Constant value of `model` into its
/// `raw_data`, reading files relative to `dir`.
pub(crate) fn inline_external(model: &mut ModelProto, dir: &Path) -> Result<(), String> {
    let Some(g) = model.graph.as_mut() else {
        return Ok(());
    };
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    for t in g.initializer.iter_mut() {
        inline_tensor(t, dir, &mut files)?;
    }
    for n in g.node.iter_mut() {
        for a in n.attribute.iter_mut() {
            if let Some(t) = a.t.as_mut() {
                inline_tensor(t, dir, &mut files)?;
            }
        }
    }
    Ok(())
}

fn inline_tensor(
    t: &mut TensorProto,
    dir: &Path,
    files: &mut HashMap<String, Vec<u8>>,
) -> Result<(), String> {
    if t.data_location != Some(1) && t.external_data.is_empty() {
        return Ok(());
    }
    let label = format!("initializer '{}'", t.name);
    let entry = |k: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == k)
            .map(|e| e.value.clone())
    };
    let Some(location) = entry("location") else {
        return Err(format!("{label}: external data without a location"));
    };
    let number = |k: &str| -> Result<Option<u64>, String> {
        entry(k)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("{label}: bad external {k} '{v}'"))
            })
            .transpose()
    };
    let (offset, length) = (number("offset")?.unwrap_or(0), number("length")?);
    let rel = Path::new(&location);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!(
            "{label}: external data location '{location}' must be a plain relative path"
        ));
    }
    if !files.contains_key(&location) {
        let path = dir.join(rel);
        let size = std::fs::metadata(&path)
            .map_err(|e| format!("{label}: external data file '{}': {e}", path.display()))?
            .len();
        if size > MAX_FILE {
            return Err(format!(
                "{label}: external data file '{}' is too large",
                path.display()
            ));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("{label}: external data file '{}': {e}", path.display()))?;
        files.insert(location.clone(), bytes);
    }
    let bytes = &files[&location];
    let start = usize::try_from(offset).map_err(|_| format!("{label}: offset too large"))?;
    let end = match length {
        Some(l) => start.checked_add(l as usize),
        None => Some(bytes.len()),
    };
    let Some(data) = end.and_then(|e| bytes.get(start..e)) else {
        return Err(format!(
            "{label}: external data [{offset}, +{length:?}) is outside '{location}' ({} bytes)",
            bytes.len()
        ));
    };
    t.raw_data = data.to_vec();
    t.external_data.clear();
    t.data_location = Some(0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::inline_tensor;
    use crate::onnx::proto::TensorProto;
    use std::collections::HashMap;
    use tract_onnx::pb::StringStringEntryProto;

    fn ext(entries: &[(&str, &str)]) -> TensorProto {
        TensorProto {
            name: "w".into(),
            data_location: Some(1),
            external_data: entries
                .iter()
                .map(|(k, v)| StringStringEntryProto {
                    key: k.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn reads_the_slice_and_rejects_paths_leaving_the_directory() {
        let dir = std::env::temp_dir().join(format!("qcc_ext_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("w.bin"), [1u8, 2, 3, 4, 5, 6]).unwrap();
        let mut files = HashMap::new();
        let mut t = ext(&[("location", "w.bin"), ("offset", "2"), ("length", "3")]);
        inline_tensor(&mut t, &dir, &mut files).unwrap();
        assert_eq!(
            (t.raw_data.as_slice(), t.data_location),
            (&[3u8, 4, 5][..], Some(0))
        );
        for bad in [
            ext(&[("location", "../w.bin")]),
            ext(&[("location", "/etc/passwd")]),
            ext(&[("location", "w.bin"), ("offset", "4"), ("length", "3")]),
            ext(&[("location", "w.bin"), ("offset", "-1")]),
            ext(&[("offset", "0")]),
            ext(&[("location", "missing.bin")]),
        ] {
            let mut t = bad;
            assert!(inline_tensor(&mut t, &dir, &mut files).is_err(), "{t:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
