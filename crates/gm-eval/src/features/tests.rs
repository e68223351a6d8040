//! Unit tests of gm-eval's `features`.

use super::*;

#[test]
fn pixel_features_pool_to_the_largest_side() {
    let dev = Device::Cpu;
    // 1 x 4 x 6 image of 0..24 with max side 3: factors (2, 2), 2x3 cells of 4 pixels.
    let x = Tensor::arange(0f32, 24.0, &dev)
        .unwrap()
        .reshape((1, 1, 4, 6))
        .unwrap();
    let f = PixelFeatures { max_side: 3 }.features(&x).unwrap();
    // Cell (0, 0) holds 0, 1, 6, 7: mean 3.5; each step right adds 2, down adds 12.
    let want = [3.5f32, 5.5, 7.5, 15.5, 17.5, 19.5];
    assert_eq!(f.flatten_all().unwrap().to_vec1::<f32>().unwrap(), want);
    // No pooling when the image already fits; (n, d) vectors pass through.
    let g = PixelFeatures { max_side: 32 }.features(&x).unwrap();
    assert_eq!(g.dims(), [1, 24]);
    let v = Tensor::zeros((3, 5), DType::F32, &dev).unwrap();
    assert_eq!(
        PixelFeatures::default().features(&v).unwrap().dims(),
        [3, 5]
    );
}

#[test]
fn adaptive_pool_uses_torch_bins() {
    // A 3 x 1 column (0, 1, 2) on a 2 x 2 grid: row bins [0, 2) and [1, 3), column bins
    // [0, 1) twice, so the cells' means are 0.5, 0.5, 1.5, 1.5.
    let x = Tensor::new(&[0f32, 1.0, 2.0], &Device::Cpu)
        .unwrap()
        .reshape((1, 1, 3, 1))
        .unwrap();
    let f = adaptive_avg_pool(&x, 2).unwrap();
    assert_eq!(f.to_vec2::<f32>().unwrap(), [[0.5, 0.5, 1.5, 1.5]]);
}

#[test]
fn bad_random_dims_are_refused() {
    let cfg = RandomConvConfig {
        in_channels: 3,
        dim: 10,
        seed: 0,
    };
    assert!(matches!(
        ConvFeatureNet::random(cfg, &Device::Cpu).unwrap_err(),
        Error::Config {
            field: "random_conv_dim",
            ..
        }
    ));
}
