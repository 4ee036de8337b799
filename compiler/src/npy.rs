//! `.npy` input and output for [`Tensor`]s (numpy's format, C order, every IR dtype).

use anyhow::{bail, Context, Result};
use npyz::{NpyFile, TypeChar, WriterBuilder};
use qcc_ir::{DType, Data, Tensor};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::Path;

/// Reads a `.npy` file into a tensor. Errors name the file and what is wrong with it
/// (not a .npy file, Fortran order, unsupported dtype, truncated data).
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    read_npy_from(BufReader::new(file)).with_context(|| format!("{}", path.display()))
}

/// Reads `.npy` bytes from any reader.
pub fn read_npy_from(reader: impl Read) -> Result<Tensor> {
    let npy = NpyFile::new(reader).map_err(|e| anyhow::anyhow!("not a valid .npy file: {e}"))?;
    if npy.order() == npyz::Order::Fortran && npy.shape().len() > 1 {
        bail!("Fortran-order arrays are not supported (save with C order)");
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let dtype = match npy.dtype() {
        npyz::DType::Plain(ts) => npy_dtype(&ts)?,
        other => bail!(
            "unsupported dtype {}: structured arrays are not tensors",
            other.descr()
        ),
    };
    let expected: usize = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .context("shape overflows")?;
    let data = read_data(npy, dtype)?;
    if data.len() != expected {
        bail!(
            "truncated data: {} elements for shape {:?}",
            data.len(),
            shape
        );
    }
    Ok(Tensor::new(shape, data))
}

fn read_data<R: Read>(npy: NpyFile<R>, dtype: DType) -> Result<Data> {
    let err = |e: std::io::Error| anyhow::anyhow!("cannot read data: {e}");
    Ok(match dtype {
        DType::F32 => Data::F32(npy.into_vec().map_err(err)?),
        DType::F64 => Data::F64(npy.into_vec().map_err(err)?),
        DType::I8 => Data::I8(npy.into_vec().map_err(err)?),
        DType::U8 => Data::U8(npy.into_vec().map_err(err)?),
        DType::I16 => Data::I16(npy.into_vec().map_err(err)?),
        DType::U16 => Data::U16(npy.into_vec().map_err(err)?),
        DType::I32 => Data::I32(npy.into_vec().map_err(err)?),
        DType::U32 => Data::U32(npy.into_vec().map_err(err)?),
        DType::I64 => Data::I64(npy.into_vec().map_err(err)?),
        DType::U64 => Data::U64(npy.into_vec().map_err(err)?),
        DType::Bool => Data::Bool(npy.into_vec().map_err(err)?),
    })
}

fn npy_dtype(ts: &npyz::TypeStr) -> Result<DType> {
    let size = ts.size_field();
    Ok(match (ts.type_char(), size) {
        (TypeChar::Float, 4) => DType::F32,
        (TypeChar::Float, 8) => DType::F64,
        (TypeChar::Int, 1) => DType::I8,
        (TypeChar::Uint, 1) => DType::U8,
        (TypeChar::Int, 2) => DType::I16,
        (TypeChar::Uint, 2) => DType::U16,
        (TypeChar::Int, 4) => DType::I32,
        (TypeChar::Uint, 4) => DType::U32,
        (TypeChar::Int, 8) => DType::I64,
        (TypeChar::Uint, 8) => DType::U64,
        (TypeChar::Bool, 1) => DType::Bool,
        _ => bail!("unsupported dtype '{ts}'"),
    })
}

/// Writes a tensor as a little-endian, C-order `.npy` file.
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    let file = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = BufWriter::new(file);
    let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
    macro_rules! write_vec {
        ($v:expr) => {{
            let mut writer = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut w)
                .begin_nd()?;
            writer.extend($v.iter().copied())?;
            writer.finish()?;
        }};
    }
    match &t.data {
        Data::F32(v) => write_vec!(v),
        Data::F64(v) => write_vec!(v),
        Data::I8(v) => write_vec!(v),
        Data::U8(v) => write_vec!(v),
        Data::I16(v) => write_vec!(v),
        Data::U16(v) => write_vec!(v),
        Data::I32(v) => write_vec!(v),
        Data::U32(v) => write_vec!(v),
        Data::I64(v) => write_vec!(v),
        Data::U64(v) => write_vec!(v),
        Data::Bool(v) => write_vec!(v),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_dtype() {
        let dir = std::env::temp_dir().join(format!("qcc-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for dtype in DType::ALL {
            let t = Tensor::new(vec![2, 3], Data::from_i64(dtype, &[0, 1, 2, 3, 4, 5]));
            let p = dir.join(format!("{dtype}.npy"));
            write_npy(&p, &t).unwrap();
            assert_eq!(read_npy(&p).unwrap(), t, "{dtype}");
        }
        let scalar = Tensor::new(vec![], Data::F32(vec![1.5]));
        let p = dir.join("scalar.npy");
        write_npy(&p, &scalar).unwrap();
        assert_eq!(read_npy(&p).unwrap(), scalar);
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        let err = read_npy_from(&b"not a numpy file at all"[..]).unwrap_err();
        assert!(err.to_string().contains("not a valid .npy"), "{err}");
        let mut buf = Vec::new();
        {
            let mut w = npyz::WriteOptions::new()
                .default_dtype()
                .shape(&[4])
                .writer(&mut buf)
                .begin_nd()
                .unwrap();
            w.extend([1.0f32, 2.0, 3.0, 4.0]).unwrap();
            w.finish().unwrap();
        }
        buf.truncate(buf.len() - 6);
        assert!(read_npy_from(&buf[..]).is_err());
    }
}
