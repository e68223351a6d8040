//! Pictures of a trained VAE, written with `gm_core::viz::save_grid`: prior samples,
//! reconstructions, latent interpolations z_t = (1 - t) mu(x_a) + t mu(x_b), and, for a 2-D
//! latent space, the map of decoder means over a grid of z (Kingma and Welling 2014, fig. 4).

use std::path::Path;

use candle_core::{Device, Tensor};
use gm_core::GmRng;

use crate::model::Vae;
use crate::{Error, Result};

fn shaped(vae: &Vae, flat: Tensor) -> Result<Tensor> {
    let mut shape = vec![flat.dim(0)?];
    shape.extend(&vae.config().data_shape);
    Ok(flat.reshape(shape)?)
}

/// `n` samples from the prior, `ncol` per row.
pub fn save_samples(
    vae: &Vae,
    n: usize,
    ncol: usize,
    rng: &mut GmRng,
    device: &Device,
    path: impl AsRef<Path>,
) -> Result<()> {
    let s = vae.sample(n, rng, device)?;
    Ok(gm_core::viz::save_grid(&s, ncol.max(1), false, path)?)
}

/// The images `x` in the first row, their reconstructions in the second.
pub fn save_reconstructions(vae: &Vae, x: &Tensor, path: impl AsRef<Path>) -> Result<()> {
    let n = x.dim(0)?;
    let xs = shaped(vae, vae.flatten_input(x)?)?;
    let r = shaped(vae, vae.flatten_input(&vae.reconstruct(x)?)?)?;
    Ok(gm_core::viz::save_grid(
        &Tensor::cat(&[xs, r], 0)?,
        n.max(1),
        false,
        path,
    )?)
}

/// One row per pair (x_a[i], x_b[i]): `steps` decodings along the segment between their
/// posterior means.
pub fn save_interpolations(
    vae: &Vae,
    x_a: &Tensor,
    x_b: &Tensor,
    steps: usize,
    path: impl AsRef<Path>,
) -> Result<()> {
    let steps = steps.max(2);
    let (za, _) = vae.encoder().encode(&vae.flatten_input(x_a)?)?;
    let (zb, _) = vae.encoder().encode(&vae.flatten_input(x_b)?)?;
    let z = gm_core::latent::interpolation_latents(&za, &zb, steps, false)?;
    let imgs = shaped(vae, vae.decoder().mean(&z)?)?;
    Ok(gm_core::viz::save_grid(&imgs, steps, false, path)?)
}

/// For `latent_dim = 2`: decoder means over a `side x side` grid of z in [-range, range]^2.
pub fn save_latent_map(vae: &Vae, side: usize, range: f64, path: impl AsRef<Path>) -> Result<()> {
    let d = vae.config().latent_dim;
    if d != 2 {
        return Err(Error::LatentNot2d(d));
    }
    let side = side.max(2);
    let mut z = Vec::with_capacity(side * side * 2);
    for i in 0..side {
        for j in 0..side {
            let c = |k: usize| (-range + 2.0 * range * k as f64 / (side - 1) as f64) as f32;
            z.push(c(j));
            z.push(-c(i));
        }
    }
    let dev = vae.device();
    let z = Tensor::from_vec(z, (side * side, 2), &dev)?;
    let imgs = shaped(vae, vae.decoder().mean(&z)?)?;
    Ok(gm_core::viz::save_grid(&imgs, side, false, path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VaeConfig;
    use gm_core::ParamStore;

    #[test]
    fn all_pictures_are_written_and_latent_map_needs_2d() {
        let dev = Device::Cpu;
        let dir = tempfile::tempdir().unwrap();
        let cfg = VaeConfig {
            latent_dim: 2,
            encoder_hidden: vec![16],
            decoder_hidden: vec![16],
            ..VaeConfig::default()
        };
        let store = ParamStore::new(1);
        let vae = Vae::init(cfg, &store, &dev).unwrap();
        let x = gm_core::data::mnist_embedded()
            .unwrap()
            .test
            .head(8, &dev)
            .unwrap()
            .x;
        let p = dir.path();
        save_samples(&vae, 16, 4, &mut GmRng::new(1), &dev, p.join("s.png")).unwrap();
        save_reconstructions(&vae, &x, p.join("r.png")).unwrap();
        save_interpolations(
            &vae,
            &x.narrow(0, 0, 4).unwrap(),
            &x.narrow(0, 4, 4).unwrap(),
            7,
            p.join("i.png"),
        )
        .unwrap();
        save_latent_map(&vae, 10, 2.0, p.join("m.png")).unwrap();
        for f in ["s.png", "r.png", "i.png", "m.png"] {
            assert!(p.join(f).exists(), "{f}");
        }
        let store = ParamStore::new(1);
        let vae = Vae::init(VaeConfig::default(), &store, &dev).unwrap();
        assert!(matches!(
            save_latent_map(&vae, 10, 2.0, p.join("x.png")),
            Err(Error::LatentNot2d(20))
        ));
    }
}
