//! Loading a user's data: image folders, the split folders, IDX under any names, .npy and
//! .safetensors, the generated shapes, and the errors a user sees. Tiny images keep it fast.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::Device;
use gm_data::{load, write_shapes_folder, DataKind, Dataset, Error, LoadOptions};
use image::{GrayImage, Luma, Rgb, RgbImage};

fn opts() -> LoadOptions {
    LoadOptions::default()
}

/// All values of a data set, as f32, item after item.
fn values(ds: &Dataset) -> Vec<f32> {
    (0..ds.len()).flat_map(|i| ds.item(i).unwrap()).collect()
}

fn rgb(path: &Path, w: u32, h: u32, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([
            (x * 17 + y) as u8 ^ seed,
            (y * 13) as u8,
            seed.wrapping_mul(3),
        ])
    })
    .save(path)
    .unwrap();
}

fn grey(path: &Path, w: u32, h: u32, seed: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    GrayImage::from_fn(w, h, |x, y| Luma([(x * 31 + y * 7) as u8 ^ seed]))
        .save(path)
        .unwrap();
}

/// Every file below `dir` with its bytes, by relative path.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn the_shapes_folder_loads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shapes");
    write_shapes_folder(&dir, 30, 16, 7).unwrap();
    let l = load(&dir, &opts()).unwrap();
    assert_eq!(l.info.kind, DataKind::ImageFolder);
    assert_eq!((l.train.len(), l.test.len()), (27, 3));
    assert_eq!(l.info.class_names, ["circle", "square", "triangle"]);
    assert_eq!(
        (l.info.n_classes, l.info.channels, l.info.image_size),
        (3, 3, (16, 16))
    );
    assert!(l.info.skipped.is_empty());
    assert_eq!(l.train.item_shape, vec![3, 16, 16]);
    assert!(l.train.is_u8());
    let mut counts = [0; 3];
    for ds in [&l.train, &l.test] {
        for &y in ds.labels.as_ref().unwrap() {
            counts[y as usize] += 1;
        }
    }
    assert_eq!(counts, [10, 10, 10]);
    let b = l.train.head(27, &Device::Cpu).unwrap();
    assert_eq!(b.x.dims(), &[27, 3, 16, 16]);
    let v = b.x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
    // Shapes on contrasting backgrounds: every image spans a wide range of values.
    for i in 0..l.train.len() {
        let it = l.train.item(i).unwrap();
        let (lo, hi) = it
            .iter()
            .fold((1f32, 0f32), |(a, b), &x| (a.min(x), b.max(x)));
        assert!(hi - lo > 0.3, "item {i}: {lo}..{hi}");
    }
    // The label of each item is the class folder it came from: the loaded pixels equal the
    // PNG in that folder (file order: sorted within classes, classes alphabetical).
    let circle0 = image::open(dir.join("circle/00.png")).unwrap().to_rgb8();
    let all = [values(&l.train), values(&l.test)].concat();
    let px = circle0.get_pixel(5, 9);
    let found = (0..30).any(|i| {
        let it = &all[i * 768..(i + 1) * 768];
        it[9 * 16 + 5] == px[0] as f32 / 255.0
            && it[256 + 9 * 16 + 5] == px[1] as f32 / 255.0
            && it[512 + 9 * 16 + 5] == px[2] as f32 / 255.0
    });
    assert!(found);
}

#[test]
fn the_same_seed_gives_the_same_files_and_split() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    write_shapes_folder(&a, 12, 12, 3).unwrap();
    write_shapes_folder(&b, 12, 12, 3).unwrap();
    write_shapes_folder(&c, 12, 12, 4).unwrap();
    let pngs = |d: &Path| -> BTreeMap<PathBuf, Vec<u8>> {
        files(d)
            .into_iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "png"))
            .collect()
    };
    let (fa, fb, fc) = (pngs(&a), pngs(&b), pngs(&c));
    assert_eq!(fa.len(), 12);
    assert_eq!(fa, fb);
    assert_eq!(fa.keys().collect::<Vec<_>>(), fc.keys().collect::<Vec<_>>());
    assert_ne!(fa, fc);
    // The folder is a gm run folder that lists every image.
    let marker = gm_core::run::RunMarker::read(&a).unwrap();
    assert_eq!(marker.files.len(), 12);
    assert!(marker.files.contains("triangle/05.png"));

    let o = |seed| LoadOptions {
        holdout: 0.25,
        seed,
        ..opts()
    };
    let (la, lb, lc) = (
        load(&a, &o(1)).unwrap(),
        load(&b, &o(1)).unwrap(),
        load(&a, &o(2)).unwrap(),
    );
    assert_eq!(la.test.len(), 3);
    assert_eq!(values(&la.test), values(&lb.test));
    assert_eq!(values(&la.train), values(&lb.train));
    assert_ne!(values(&la.test), values(&lc.test));
}

#[test]
fn shapes_refuse_a_users_folder() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("mine.txt"), b"keep").unwrap();
    let e = write_shapes_folder(tmp.path(), 3, 8, 0).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    assert_eq!(std::fs::read(tmp.path().join("mine.txt")).unwrap(), b"keep");
    let dir = tmp.path().join("s");
    write_shapes_folder(&dir, 3, 8, 0).unwrap();
    let e = write_shapes_folder(&dir, 3, 8, 0).unwrap_err();
    assert!(e.to_string().contains("already holds a gm run"), "{e}");
}

#[test]
fn mixed_sizes_need_image_size() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    rgb(&d.join("a.png"), 8, 6, 1);
    rgb(&d.join("b.png"), 10, 10, 2);
    rgb(&d.join("c.png"), 5, 9, 3);
    let e = load(d, &opts()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::MixedSizes { .. }), "{msg}");
    assert!(
        msg.contains("a.png") && msg.contains("8x6") && msg.contains("b.png"),
        "{msg}"
    );
    assert!(
        msg.contains("10x10") && msg.contains("--image-size"),
        "{msg}"
    );
    let l = load(
        d,
        &LoadOptions {
            image_size: Some(4),
            holdout: 0.3,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(l.train.item_shape, vec![3, 4, 4]);
    assert_eq!(l.train.len() + l.test.len(), 3);
    assert_eq!(l.info.image_size, (4, 4));
    assert!(l.info.n_classes == 0 && l.train.labels.is_none());
}

#[test]
fn image_size_takes_the_centre_square() {
    // A 6x2 image whose centre 2x2 square is white, the rest black: cropping keeps only
    // white, so a 2x2 result is all ones.
    let tmp = tempfile::tempdir().unwrap();
    for k in 0..2 {
        let p = tmp.path().join(format!("{k}.png"));
        GrayImage::from_fn(6, 2, |x, _| Luma([if x == 2 || x == 3 { 255 } else { 0 }]))
            .save(&p)
            .unwrap();
    }
    let l = load(
        tmp.path(),
        &LoadOptions {
            image_size: Some(2),
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(values(&l.train), vec![1.0; 4]);
}

#[test]
fn channels_convert_rgb_to_grey_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let rgb_dir = tmp.path().join("rgb");
    for k in 0..3 {
        std::fs::create_dir_all(&rgb_dir).unwrap();
        RgbImage::from_pixel(3, 2, Rgb([255, 0, 0]))
            .save(rgb_dir.join(format!("{k}.png")))
            .unwrap();
    }
    let l = load(
        &rgb_dir,
        &LoadOptions {
            channels: Some(1),
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(l.train.item_shape, vec![1, 2, 3]);
    // Luma of pure red: 2126 * 255 / 10000 = 54.2, truncated to 54.
    assert_eq!(l.train.item(0).unwrap(), vec![54.0 / 255.0; 6]);

    let grey_dir = tmp.path().join("grey");
    for k in 0..3 {
        grey(&grey_dir.join(format!("{k}.png")), 3, 2, k);
    }
    let g1 = load(&grey_dir, &opts()).unwrap();
    assert_eq!(g1.info.channels, 1);
    assert!(
        g1.info
            .notes
            .iter()
            .any(|n| n.contains("all 3 images are grey")),
        "{:?}",
        g1.info.notes
    );
    let g3 = load(
        &grey_dir,
        &LoadOptions {
            channels: Some(3),
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(g3.train.item_shape, vec![3, 2, 3]);
    for i in 0..g3.train.len() {
        let (a, b) = (g3.train.item(i).unwrap(), g1.train.item(i).unwrap());
        assert_eq!(&a[..6], &b[..]);
        assert_eq!(&a[6..12], &b[..]);
        assert_eq!(&a[12..], &b[..]);
    }
}

#[test]
fn channels_follow_the_majority_of_the_images() {
    let tmp = tempfile::tempdir().unwrap();
    grey(&tmp.path().join("a.png"), 4, 4, 0);
    rgb(&tmp.path().join("b.png"), 4, 4, 1);
    rgb(&tmp.path().join("c.png"), 4, 4, 2);
    let l = load(tmp.path(), &opts()).unwrap();
    assert_eq!(l.info.channels, 3);
    assert!(
        l.info
            .notes
            .iter()
            .any(|n| n.contains("2 of 3 images are in colour")),
        "{:?}",
        l.info.notes
    );
}

#[test]
fn a_truncated_png_is_named_or_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for k in 0..4 {
        rgb(&d.join(format!("cat/{k}.png")), 8, 8, k);
        rgb(&d.join(format!("dog/{k}.png")), 8, 8, k + 10);
    }
    let bad = d.join("dog/2.png");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(d.join("cat/notes.png"), b"this is not a picture").unwrap();
    let e = load(d, &opts()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::BadImage { .. }), "{msg}");
    assert!(
        msg.contains("notes.png") && msg.contains("--skip-bad"),
        "{msg}"
    );
    std::fs::remove_file(d.join("cat/notes.png")).unwrap();
    let e = load(d, &opts()).unwrap_err();
    assert!(e.to_string().contains("dog/2.png"), "{e}");

    std::fs::write(d.join("cat/notes.png"), b"this is not a picture").unwrap();
    let l = load(
        d,
        &LoadOptions {
            skip_bad: true,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(l.train.len() + l.test.len(), 7);
    let skipped: Vec<&PathBuf> = l.info.skipped.iter().map(|(p, _)| p).collect();
    assert_eq!(skipped, [&d.join("cat/notes.png"), &bad]);
    let mut counts = [0; 2];
    for ds in [&l.train, &l.test] {
        for &y in ds.labels.as_ref().unwrap() {
            counts[y as usize] += 1;
        }
    }
    assert_eq!(counts, [4, 3]);
    assert!(l.summary().contains("2 files skipped"), "{}", l.summary());
}

#[test]
fn an_empty_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let e = load(tmp.path(), &opts()).unwrap_err();
    assert!(matches!(e, Error::Empty { .. }), "{e}");
    assert!(e.to_string().contains(&tmp.path().display().to_string()));
    std::fs::write(tmp.path().join("readme.txt"), b"hi").unwrap();
    std::fs::create_dir(tmp.path().join("empty_class")).unwrap();
    let e = load(tmp.path(), &opts()).unwrap_err();
    assert!(e.to_string().contains("no images found"), "{e}");
}

#[test]
fn loose_images_beside_class_folders_are_refused_or_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for k in 0..3 {
        grey(&d.join(format!("a/{k}.png")), 4, 4, k);
    }
    grey(&d.join("stray.png"), 4, 4, 9);
    let e = load(d, &opts()).unwrap_err();
    assert!(e.to_string().contains("stray.png"), "{e}");
    let l = load(
        d,
        &LoadOptions {
            skip_bad: true,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(l.train.len() + l.test.len(), 3);
    assert_eq!(l.info.skipped.len(), 1);
}

#[test]
fn train_and_test_folders_are_the_split() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for k in 0..3 {
        grey(&d.join(format!("train/b/{k}.png")), 5, 5, k);
        grey(&d.join(format!("train/a/deeper/{k}.png")), 5, 5, k + 3);
    }
    grey(&d.join("val/b/0.png"), 5, 5, 7);
    grey(&d.join("val/c/0.png"), 5, 5, 8);
    let l = load(d, &opts()).unwrap();
    assert_eq!(l.info.kind, DataKind::SplitFolders);
    assert_eq!(l.info.class_names, ["a", "b", "c"]);
    assert_eq!((l.train.len(), l.test.len()), (6, 2));
    assert_eq!(l.train.labels.as_ref().unwrap(), &vec![0, 0, 0, 1, 1, 1]);
    assert_eq!(l.test.labels.as_ref().unwrap(), &vec![1, 2]);
}

fn idx_bytes(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn idx_under_other_names_with_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let px: Vec<u8> = (0..5 * 6).map(|i| i as u8 * 8).collect();
    std::fs::write(
        d.join("letters-train.idx"),
        idx_bytes(0x803, &[5, 2, 3], &px),
    )
    .unwrap();
    std::fs::write(
        d.join("letters-train-y"),
        idx_bytes(0x801, &[5], &[0, 200, 3, 3, 17]),
    )
    .unwrap();
    std::fs::write(
        d.join("letters-test.gz"),
        gz(&idx_bytes(0x803, &[2, 2, 3], &px[..12])),
    )
    .unwrap();
    std::fs::write(d.join("y-test.gz"), gz(&idx_bytes(0x801, &[2], &[1, 2]))).unwrap();
    std::fs::write(d.join("README.txt"), b"my letters").unwrap();
    let l = load(d, &opts()).unwrap();
    assert_eq!(l.info.kind, DataKind::Idx);
    assert_eq!((l.train.len(), l.test.len()), (5, 2));
    assert_eq!(l.train.item_shape, vec![1, 2, 3]);
    assert_eq!(l.train.labels.as_ref().unwrap(), &vec![0, 200, 3, 3, 17]);
    assert_eq!(l.info.n_classes, 201);
    assert_eq!(l.train.item(1).unwrap()[0], 48.0 / 255.0);
    assert!(l.train.is_u8());

    // Counts that disagree name both files.
    std::fs::write(d.join("y-test.gz"), gz(&idx_bytes(0x801, &[3], &[1, 2, 3]))).unwrap();
    let e = load(d, &opts()).unwrap_err();
    assert!(
        e.to_string().contains("letters-test.gz") && e.to_string().contains("y-test.gz"),
        "{e}"
    );
}

#[test]
fn idx_without_labels_is_unlabelled_and_held_out() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("pics");
    std::fs::create_dir(&d).unwrap();
    let px: Vec<u8> = (0..10 * 4).map(|i| i as u8).collect();
    std::fs::write(d.join("images.bin"), idx_bytes(0x803, &[10, 2, 2], &px)).unwrap();
    let o = LoadOptions {
        holdout: 0.2,
        ..opts()
    };
    let l = load(&d, &o).unwrap();
    assert_eq!((l.train.len(), l.test.len()), (8, 2));
    assert!(l.train.labels.is_none() && l.info.n_classes == 0);
    // The file alone gives the same.
    let f = load(&d.join("images.bin"), &o).unwrap();
    assert_eq!(values(&f.test), values(&l.test));
    // A header claiming far more than the file holds is an error naming the file.
    std::fs::write(
        d.join("images.bin"),
        idx_bytes(0x803, &[4_000_000, 1000, 1000], &px),
    )
    .unwrap();
    let e = load(&d.join("images.bin"), &o).unwrap_err();
    assert!(
        e.to_string().contains("images.bin") && e.to_string().contains("truncated"),
        "{e}"
    );
    // A labels file alone is not images.
    std::fs::write(d.join("images.bin"), idx_bytes(0x801, &[2], &[1, 2])).unwrap();
    let e = load(&d.join("images.bin"), &o).unwrap_err();
    assert!(e.to_string().contains("labels"), "{e}");
}

/// A .npy file: magic, version 1.0, header padded to a multiple of 64, data.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(header.len() as u16).to_le_bytes());
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn npy_u8_and_channels_last_f32() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("faces.npy");
    let px: Vec<u8> = (0..6 * 3 * 4).map(|i| (i * 3) as u8).collect();
    std::fs::write(&p, npy("|u1", &[6, 3, 4], &px)).unwrap();
    let l = load(&p, &opts()).unwrap();
    assert_eq!(l.info.kind, DataKind::Npy);
    assert_eq!(l.train.item_shape, vec![1, 3, 4]);
    assert_eq!(l.train.len() + l.test.len(), 6);
    assert!(l.train.is_u8());

    // (n, h, w, c) f32: item 0's red plane is the first value of each pixel.
    let vals: Vec<f32> = (0..2 * 2 * 2 * 3).map(|i| i as f32 / 32.0).collect();
    let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = tmp.path().join("rgb.npy");
    std::fs::write(&p, npy("<f4", &[2, 2, 2, 3], &bytes)).unwrap();
    let l = load(&p, &opts()).unwrap();
    assert_eq!((l.info.channels, l.info.image_size), (3, (2, 2)));
    assert!(!l.train.is_u8());
    let all = [values(&l.train), values(&l.test)].concat();
    let item0: Vec<f32> = [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]
        .iter()
        .map(|&i| i as f32 / 32.0)
        .collect();
    let item1: Vec<f32> = item0.iter().map(|v| v + 12.0 / 32.0).collect();
    assert!(all == [item0.clone(), item1.clone()].concat() || all == [item1, item0].concat());

    // A header that promises more data than the file holds.
    std::fs::write(&p, npy("<f4", &[200_000, 64, 64, 3], &bytes)).unwrap();
    let e = load(&p, &opts()).unwrap_err();
    assert!(
        e.to_string().contains("rgb.npy") && e.to_string().contains("promises"),
        "{e}"
    );
}

fn safetensors_file(path: &Path, tensors: Vec<(&str, safetensors::Dtype, Vec<usize>, Vec<u8>)>) {
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.to_string(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let bytes = safetensors::serialize(views, None).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn safetensors_in_both_layouts() {
    use safetensors::Dtype;
    let tmp = tempfile::tempdir().unwrap();
    // (n, c, h, w) u8 with labels, and the same images (n, h, w, c) as f32 without.
    let (n, c, h, w) = (4, 3, 2, 2);
    let chw: Vec<u8> = (0..n * c * h * w).map(|i| (i * 5) as u8).collect();
    let mut hwc = vec![0f32; chw.len()];
    for i in 0..n {
        for k in 0..c {
            for p in 0..h * w {
                hwc[i * c * h * w + p * c + k] = chw[i * c * h * w + k * h * w + p] as f32 / 255.0;
            }
        }
    }
    let a = tmp.path().join("a.safetensors");
    safetensors_file(
        &a,
        vec![
            ("images", Dtype::U8, vec![n, c, h, w], chw.clone()),
            (
                "labels",
                Dtype::I64,
                vec![n],
                [3i64, 0, 1, 3]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            ),
        ],
    );
    let b = tmp.path().join("b.safetensors");
    safetensors_file(
        &b,
        vec![(
            "pixels",
            Dtype::F32,
            vec![n, h, w, c],
            hwc.iter().flat_map(|v| v.to_le_bytes()).collect(),
        )],
    );
    let o = LoadOptions { seed: 9, ..opts() };
    let (la, lb) = (load(&a, &o).unwrap(), load(&b, &o).unwrap());
    assert_eq!(la.info.kind, DataKind::Safetensors);
    assert!(la.train.is_u8() && !lb.train.is_u8());
    assert_eq!(la.train.item_shape, vec![3, 2, 2]);
    assert_eq!(lb.train.item_shape, vec![3, 2, 2]);
    assert_eq!(la.info.n_classes, 4);
    assert!(lb.train.labels.is_none());
    // Same seed, same split: the u8 and the f32 file give the same batches.
    for (x, y) in [(&la.train, &lb.train), (&la.test, &lb.test)] {
        let bx = x.head(x.len(), &Device::Cpu).unwrap().x;
        let by = y.head(y.len(), &Device::Cpu).unwrap().x;
        let (vx, vy) = (
            bx.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            by.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        assert_eq!(vx, vy);
    }
    // Two unnamed tensors are ambiguous.
    safetensors_file(
        &b,
        vec![
            ("p", Dtype::U8, vec![2, 2, 2], vec![0; 8]),
            ("q", Dtype::U8, vec![2, 2, 2], vec![0; 8]),
        ],
    );
    let e = load(&b, &o).unwrap_err();
    assert!(e.to_string().contains("b.safetensors"), "{e}");
}

#[test]
fn a_u8_dataset_gives_the_f32_batch() {
    let px: Vec<u8> = (0..=255).collect();
    let f: Vec<f32> = px.iter().map(|&v| v as f32 / 255.0).collect();
    let a = Dataset::from_u8("a", vec![1, 4, 4], px, None).unwrap();
    let b = Dataset::new("b", vec![1, 4, 4], f, None).unwrap();
    let idx = [15, 0, 7, 7];
    let x = |d: &Dataset| {
        d.batch(&idx, &Device::Cpu)
            .unwrap()
            .x
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    assert_eq!(x(&a), x(&b));
    assert_eq!(a.value_bytes() * 4, b.value_bytes());
}

/// Writes 50,000 shapes of 32x32 and times `load` (run with `--ignored --nocapture`).
#[test]
#[ignore = "measures writing and loading 50,000 images (a minute or more)"]
fn time_fifty_thousand_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shapes");
    let t = std::time::Instant::now();
    write_shapes_folder(&dir, 50_000, 32, 1).unwrap();
    let write_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let l = load(&dir, &opts()).unwrap();
    let load_s = t.elapsed().as_secs_f64();
    assert_eq!(l.train.len() + l.test.len(), 50_000);
    assert_eq!(l.train.value_bytes(), 45_000 * 3 * 32 * 32);
    println!(
        "50,000 PNGs of 32x32 on {} threads: written in {write_s:.1} s, loaded in {load_s:.1} s",
        rayon::current_num_threads()
    );
}
