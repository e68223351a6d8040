//! Unit tests of gm-inverse's `operator`.

use super::*;

fn dev() -> Device {
    Device::Cpu
}

fn field(e: Error) -> &'static str {
    match e {
        Error::Config { field, .. } => field,
        other => panic!("expected a config error, got {other}"),
    }
}

#[test]
fn gaussian_entries_are_standard_normal() {
    let op = GaussianMeasurement::new(200, 100, &mut GmRng::new(1), &dev()).unwrap();
    let v = op.dense().rows_f64().unwrap();
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    // Standard errors 1/sqrt(n) and sqrt(2/n); 5 sigma.
    assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
    assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "var {var}");
    // Seeded: the same seed gives the same matrix, another seed another.
    let again = GaussianMeasurement::new(200, 100, &mut GmRng::new(1), &dev()).unwrap();
    assert_eq!(again.dense().rows_f64().unwrap(), v);
    let other = GaussianMeasurement::new(200, 100, &mut GmRng::new(2), &dev()).unwrap();
    assert_ne!(other.dense().rows_f64().unwrap(), v);
}

#[test]
fn apply_is_a_matrix_product_on_images() {
    let op = GaussianMeasurement::new(3, 4, &mut GmRng::new(0), &dev()).unwrap();
    let x = Tensor::new(&[[[[1f32, 2.], [3., 4.]]], [[[0., 0.], [0., 1.]]]], &dev()).unwrap();
    let b = op.apply(&x).unwrap().to_vec2::<f32>().unwrap();
    let a = op.dense().rows_f64().unwrap();
    let xs = [[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 1.0]];
    for (i, xi) in xs.iter().enumerate() {
        for r in 0..3 {
            let want: f64 = (0..4).map(|j| a[r * 4 + j] * xi[j]).sum();
            assert!((b[i][r] as f64 - want).abs() < 1e-5);
        }
    }
    let wrong = Tensor::zeros((2, 5), DType::F32, &dev()).unwrap();
    assert!(matches!(op.apply(&wrong), Err(Error::Shape { .. })));
}

#[test]
fn random_pixel_mask_reads_the_observed_pixels() {
    let op = RandomPixelMask::new(4, 5, 7, &mut GmRng::new(3), &dev()).unwrap();
    assert_eq!(op.observed().len(), 7);
    let x: Vec<f32> = (0..20).map(|v| v as f32).collect();
    let x = Tensor::from_vec(x, (1, 20), &dev()).unwrap();
    let b = op.apply(&x).unwrap().to_vec2::<f32>().unwrap();
    let want: Vec<f32> = op.observed().iter().map(|&p| p as f32).collect();
    assert_eq!(b[0], want);
    let img = op
        .observation_image(&op.apply(&x).unwrap())
        .unwrap()
        .unwrap();
    let img = img.to_vec2::<f32>().unwrap();
    for (p, v) in img[0].iter().enumerate() {
        let want = if op.observed().contains(&p) {
            p as f32
        } else {
            0.5
        };
        assert_eq!(*v, want);
    }
}

#[test]
fn centre_block_hides_the_centre() {
    let op = CentreBlockMask::new(6, 6, 2, &dev()).unwrap();
    assert_eq!(op.num_measurements(), 32);
    let mut x = vec![0f32; 36];
    for p in [14, 15, 20, 21] {
        x[p] = 1.0; // the centre 2x2 block
    }
    let x = Tensor::from_vec(x, (1, 36), &dev()).unwrap();
    let b = op
        .apply(&x)
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(b, 0.0);
}

#[test]
fn super_resolution_averages_blocks() {
    let op = SuperResolution::new(4, 4, 2, &dev()).unwrap();
    let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
    let x = Tensor::from_vec(x, (1, 1, 4, 4), &dev()).unwrap();
    let b = op.apply(&x).unwrap().to_vec2::<f32>().unwrap();
    // Block (0,0) holds 0, 1, 4, 5.
    assert_eq!(b[0], vec![2.5, 4.5, 10.5, 12.5]);
    let up = op
        .observation_image(&op.apply(&x).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(up.to_vec2::<f32>().unwrap()[0][..2], [2.5, 2.5]);
}

#[test]
fn denoising_is_the_identity() {
    let op = Denoising::new(5, &dev()).unwrap();
    let x = GmRng::new(4).normal((3, 5), 0.0, 1.0, &dev()).unwrap();
    assert_eq!(
        op.apply(&x).unwrap().to_vec2::<f32>().unwrap(),
        x.to_vec2::<f32>().unwrap()
    );
}

#[test]
fn noise_has_the_requested_std() {
    let b = Tensor::zeros((100, 100), DType::F32, &dev()).unwrap();
    let e = add_noise(&b, 0.1, &mut GmRng::new(5)).unwrap();
    let v: Vec<f32> = e.flatten_all().unwrap().to_vec1().unwrap();
    let n = v.len() as f64;
    let var = v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>() / n;
    // Var of the sample variance of N(0, s^2): 2 s^4 / n; 5 sigma.
    assert!((var - 0.01).abs() < 5.0 * 0.01 * (2.0 / n).sqrt(), "{var}");
    assert_eq!(
        field(add_noise(&b, -0.1, &mut GmRng::new(5)).unwrap_err()),
        "noise_std"
    );
}

#[test]
fn measurement_count_cannot_be_zero() {
    let e = GaussianMeasurement::new(0, 10, &mut GmRng::new(0), &dev()).unwrap_err();
    assert_eq!(field(e), "m");
}

#[test]
fn mask_cannot_observe_more_pixels_than_exist() {
    let e = RandomPixelMask::new(2, 2, 5, &mut GmRng::new(0), &dev()).unwrap_err();
    assert_eq!(field(e), "m");
}

#[test]
fn block_must_fit_inside_the_image() {
    assert_eq!(
        field(CentreBlockMask::new(4, 4, 4, &dev()).unwrap_err()),
        "block"
    );
    assert_eq!(
        field(CentreBlockMask::new(4, 4, 0, &dev()).unwrap_err()),
        "block"
    );
}

#[test]
fn factor_must_divide_the_image() {
    assert_eq!(
        field(SuperResolution::new(28, 28, 3, &dev()).unwrap_err()),
        "factor"
    );
    assert_eq!(
        field(SuperResolution::new(28, 28, 0, &dev()).unwrap_err()),
        "factor"
    );
}
