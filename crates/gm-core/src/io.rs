//! Safetensors files with metadata, written atomically: the bytes go to a temporary file in
//! the same folder, are synced, then renamed over the target, so a crash never leaves a
//! half-written checkpoint or export and never destroys the previous one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically (temp file + fsync + rename). Inside a run folder the
/// file is first added to the folder's list of gm's files (see [`crate::run`]).
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    crate::run::record_write(path)?;
    write_unrecorded(path, bytes, true)
}

/// [`write_atomic`] without the run folder's record (for the record itself); `sync: false`
/// skips the fsync (the rename still makes the write all-or-nothing).
pub(crate) fn write_unrecorded(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::Msg(format!("{}: not a file path", path.display())))?;
    let tmp = dir.join(format!(".{}.tmp", file_name.to_string_lossy()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        injected_fault(path)?;
        if sync {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

thread_local! {
    /// The write failure [`fail_writes_matching`] set up on this thread: a path fragment and
    /// how many matching writes still succeed.
    static FAULT: RefCell<Option<(String, usize)>> = const { RefCell::new(None) };
}

/// Makes this thread's later writes through gm-core to a path containing `fragment` fail as on
/// a full disk, once `after` of them have succeeded: an atomic write fails with its bytes in
/// the temporary file, before the rename; a line of a metrics log fails before it is
/// buffered. `None` ends the failures. For tests of what a failed write leaves behind.
#[doc(hidden)]
pub fn fail_writes_matching(fault: Option<(&str, usize)>) {
    FAULT.with_borrow_mut(|f| *f = fault.map(|(p, n)| (p.to_string(), n)));
}

/// The failure [`fail_writes_matching`] set up for a write to `path`, if any.
pub(crate) fn injected_fault(path: &Path) -> std::io::Result<()> {
    FAULT.with_borrow_mut(|fault| match fault {
        Some((fragment, after)) if path.to_string_lossy().contains(fragment.as_str()) => {
            if *after == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "no space left on device (injected)",
                ));
            }
            *after -= 1;
            Ok(())
        }
        _ => Ok(()),
    })
}

/// Serializes tensors (sorted by name) with `metadata` into safetensors bytes. The key
/// `format` is set to `pt` unless given, as Python loaders and the Hub expect. The header is
/// written with sorted keys, so the same tensors and metadata always give the same bytes.
pub fn safetensors_bytes(
    tensors: &BTreeMap<String, Tensor>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let mut meta = metadata.clone();
    meta.entry("format".into()).or_insert_with(|| "pt".into());
    let mut header = serde_json::Map::new();
    header.insert(
        "__metadata__".into(),
        serde_json::to_value(&meta).map_err(json_err)?,
    );
    let mut data: Vec<u8> = Vec::new();
    for (name, t) in tensors {
        let t = t.to_device(&Device::Cpu)?.contiguous()?;
        let dtype = match t.dtype() {
            DType::F32 => "F32",
            DType::F64 => "F64",
            DType::F16 => "F16",
            DType::BF16 => "BF16",
            DType::U8 => "U8",
            DType::U32 => "U32",
            DType::I64 => "I64",
            other => {
                return Err(Error::Msg(format!(
                    "tensor `{name}`: dtype {other:?} cannot be saved"
                )))
            }
        };
        let start = data.len();
        append_le_bytes(&t, &mut data)?;
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype, "shape": t.dims(), "data_offsets": [start, data.len()]}),
        );
    }
    // serde_json's map is ordered by key (no `preserve_order` feature), so this is canonical.
    let mut h = serde_json::to_vec(&serde_json::Value::Object(header)).map_err(json_err)?;
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + data.len());
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&data);
    Ok(out)
}

fn json_err(e: serde_json::Error) -> Error {
    Error::Msg(format!("safetensors header: {e}"))
}

fn append_le_bytes(t: &Tensor, out: &mut Vec<u8>) -> Result<()> {
    let flat = t.flatten_all()?;
    match t.dtype() {
        DType::F32 => flat
            .to_vec1::<f32>()?
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::F64 => flat
            .to_vec1::<f64>()?
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::F16 => flat
            .to_vec1::<half::f16>()?
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::BF16 => flat
            .to_vec1::<half::bf16>()?
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::U8 => out.extend_from_slice(&flat.to_vec1::<u8>()?),
        DType::U32 => flat
            .to_vec1::<u32>()?
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        DType::I64 => flat
            .to_vec1::<i64>()?
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
        other => return Err(Error::Msg(format!("dtype {other:?} cannot be saved"))),
    }
    Ok(())
}

/// Writes a safetensors file with metadata atomically.
pub fn save_safetensors(
    path: impl AsRef<Path>,
    tensors: &BTreeMap<String, Tensor>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    write_atomic(path, &safetensors_bytes(tensors, metadata)?)
}

/// Reads a safetensors file: its tensors on `device` and its metadata. Errors name the file.
pub fn load_safetensors(
    path: impl AsRef<Path>,
    device: &Device,
) -> Result<(BTreeMap<String, Tensor>, BTreeMap<String, String>)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_safetensors(&bytes, device).map_err(|e| {
        Error::Msg(format!(
            "{}: not a valid safetensors file: {e}",
            path.display()
        ))
    })
}

/// Parses safetensors bytes.
pub fn parse_safetensors(
    bytes: &[u8],
    device: &Device,
) -> Result<(BTreeMap<String, Tensor>, BTreeMap<String, String>)> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)?;
    let metadata = meta
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let tensors = candle_core::safetensors::load_buffer(bytes, device)?
        .into_iter()
        .collect();
    Ok((tensors, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.safetensors");
        let mut t = BTreeMap::new();
        t.insert(
            "a".to_string(),
            Tensor::new(&[1f32, 2., 3.], &Device::Cpu).unwrap(),
        );
        let mut m = BTreeMap::new();
        m.insert("gm.model".to_string(), "x".to_string());
        save_safetensors(&p, &t, &m).unwrap();
        let (t2, m2) = load_safetensors(&p, &Device::Cpu).unwrap();
        assert_eq!(t2["a"].to_vec1::<f32>().unwrap(), vec![1., 2., 3.]);
        assert_eq!(m2["format"], "pt");
        assert_eq!(m2["gm.model"], "x");
        // Same input, same bytes: the header is canonical.
        assert_eq!(
            safetensors_bytes(&t, &m).unwrap(),
            std::fs::read(&p).unwrap()
        );
        // The reference parser reads what we write.
        let bytes = std::fs::read(&p).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(st.tensor("a").unwrap().shape(), &[3]);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ckpt");
        write_atomic(&p, b"old").unwrap();
        // A temp path that is a directory makes the write fail before the rename.
        std::fs::create_dir(dir.path().join(".ckpt.tmp")).unwrap();
        assert!(write_atomic(&p, b"new").is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
    }

    #[test]
    fn truncated_file_is_a_named_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.safetensors");
        std::fs::write(&p, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":").unwrap();
        let e = load_safetensors(&p, &Device::Cpu).unwrap_err();
        assert!(e.to_string().contains("bad.safetensors"), "{e}");
    }
}
