//! The seed corpus: small valid files for each target, generated here and committed under
//! `fuzz/corpus/<target>/` (`cargo test -p gm-fuzz` checks that they match).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

/// The folder of committed corpora.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// A `w x h` PNG with `c` channels (1 or 3), its pixels drawn from `seed`.
pub fn png(w: u32, h: u32, c: u8, seed: u8) -> Vec<u8> {
    let pixels: Vec<u8> = (0..w * h * u32::from(c))
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed))
        .collect();
    let color = if c == 1 {
        image::ExtendedColorType::L8
    } else {
        image::ExtendedColorType::Rgb8
    };
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(enc, &pixels, w, h, color)
        .map(|()| out)
        .unwrap_or_default()
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let pixels: Vec<u8> = (0..w * h * 3).map(|i| (i as u8).wrapping_mul(11)).collect();
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    image::ImageEncoder::write_image(enc, &pixels, w, h, image::ExtendedColorType::Rgb8)
        .map(|()| out)
        .unwrap_or_default()
}

fn idx(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    let n: u32 = dims.iter().product();
    out.extend((0..n).map(|i| (i * 7) as u8));
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = gz.write_all(bytes);
    gz.finish().unwrap_or_default()
}

fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn safetensors(tensors: &[(&str, Tensor)], meta: &[(&str, String)]) -> Vec<u8> {
    let t: BTreeMap<String, Tensor> = tensors
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let m: BTreeMap<String, String> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    gm_core::io::safetensors_bytes(&t, &m).unwrap_or_default()
}

fn images_u8(n: usize) -> Tensor {
    let v: Vec<u8> = (0..n * 16).map(|i| (i * 13) as u8).collect();
    Tensor::from_vec(v, (n, 4, 4), &Device::Cpu).expect("n * 16 values fill (n, 4, 4)")
}

/// The valid seed files of `target`, by file name.
pub fn generate(target: &str) -> Vec<(String, Vec<u8>)> {
    let dev = Device::Cpu;
    let f32s = |n: usize| -> Tensor {
        let v: Vec<f32> = (0..n).map(|i| i as f32 / n as f32).collect();
        Tensor::from_vec(v, n, &dev).expect("n values fill (n,)")
    };
    let seeds: Vec<(&str, Vec<u8>)> = match target {
        "idx" => vec![
            ("images.idx", idx(0x0803, &[4, 4, 4])),
            ("images-wide.idx", idx(0x0803, &[2, 3, 8])),
        ],
        "idx_gz" => vec![("images.idx.gz", gzip(&idx(0x0803, &[4, 4, 4])))],
        "npy" => {
            let u8s: Vec<u8> = (0..64).map(|i| (i * 3) as u8).collect();
            let f4: Vec<u8> = (0..48).flat_map(|i| (i as f32 / 48.0).to_le_bytes()).collect();
            vec![
                ("u8.npy", npy("|u1", "(4, 4, 4)", &u8s)),
                ("f4-nhwc.npy", npy("<f4", "(4, 2, 2, 3)", &f4)),
            ]
        }
        "data_safetensors" => {
            let labels = Tensor::new(&[0u8, 1, 0, 1], &dev).expect("a CPU tensor");
            vec![
                ("images.safetensors", safetensors(&[("images", images_u8(4))], &[])),
                (
                    "labelled.safetensors",
                    safetensors(&[("x", images_u8(4)), ("y", labels)], &[]),
                ),
            ]
        }
        "image_folder" => vec![("rgb.png", png(4, 4, 3, 9)), ("grey.png", png(4, 4, 1, 3)), ("rgb.jpg", jpeg(8, 8))],
        "checkpoint" => {
            let rng = serde_json::to_string(&gm_core::GmRng::new(3).state()).unwrap_or_default();
            vec![(
                "checkpoint.safetensors",
                safetensors(
                    &[("g.w", f32s(6)), ("g.adam.m", f32s(6))],
                    &[
                        ("gm.model", "gan".into()),
                        ("gm.step", "12".into()),
                        ("gm.rng", rng),
                        ("gm.scalars", r#"{"lr":"0.001"}"#.into()),
                    ],
                ),
            )]
        }
        "run_marker" => vec![(
            "run.json",
            br#"{"gm_version":"0.1.0","name":"gan","commands":[{"args":["--steps","10"],"mode":"new","started":1700000000}],"files":["checkpoint.safetensors","metrics.jsonl"]}"#
                .to_vec(),
        )],
        "metrics" => vec![(
            "metrics.jsonl",
            b"{\"kind\":\"train\",\"step\":1,\"loss\":0.5}\n{\"kind\":\"eval\",\"step\":1,\"fid\":3.25}\n{\"step\":2,\"loss\":0.25,\"epoch\":1}\n".to_vec(),
        )],
        "hub_folder" => {
            let mut input = safetensors(
                &[("net.w", f32s(4))],
                &[("gm.model", "vae".into()), ("gm.version", "0.1.0".into())],
            );
            input.extend_from_slice(crate::targets::HUB_SEPARATOR);
            input.extend_from_slice(br#"{"gm.model":"vae","config":{"latent":2}}"#);
            vec![("vae.bin", input)]
        }
        _ => Vec::new(),
    };
    seeds.into_iter().map(|(n, b)| (n.to_string(), b)).collect()
}

/// The committed corpus of `target` (sorted by name), or the generated one if none is there.
pub fn load(target: &str) -> Vec<Vec<u8>> {
    let dir = root().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let read: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    if read.is_empty() {
        generate(target).into_iter().map(|(_, b)| b).collect()
    } else {
        read
    }
}
