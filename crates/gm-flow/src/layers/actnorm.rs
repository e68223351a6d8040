//! ActNorm (Kingma and Dhariwal 2018, Glow): a per-channel affine map
//! `z = (x + b) * exp(logs)` with `log |det dz/dx| = H W sum_c logs_c`, whose parameters are
//! set from the first batch so that each channel of `z` has zero mean and unit variance
//! (data-dependent initialisation); afterwards they are trained like any weight.

use candle_core::{Tensor, Var};
use candle_nn::VarBuilder;
use gm_core::nn::channel_affine;

use crate::flow::Flow;
use crate::{Error, Result};

/// ActNorm over the channels (axis 1) of `(n, c, ...)` inputs, images or vectors.
#[derive(Debug, Clone)]
pub struct ActNorm {
    bias: Tensor,
    logs: Tensor,
}

/// An ActNorm over `channels`, starting as the identity (`bias` = 0, `logs` = 0) until
/// [`Flow::data_init`] sets it from data.
pub fn actnorm(channels: usize, vb: VarBuilder) -> Result<ActNorm> {
    let bias = vb.get_with_hints(channels, "bias", candle_nn::Init::Const(0.0))?;
    let logs = vb.get_with_hints(channels, "logs", candle_nn::Init::Const(0.0))?;
    Ok(ActNorm { bias, logs })
}

impl ActNorm {
    /// The layer as the written-out training step sees it.
    pub(crate) fn host_layer(&self) -> crate::fused::HostLayer {
        crate::fused::HostLayer::ActNorm {
            bias: self.bias.clone(),
            logs: self.logs.clone(),
        }
    }

    fn check(&self, x: &Tensor) -> Result<usize> {
        let c = self.bias.elem_count();
        if x.rank() < 2 || x.dim(1)? != c {
            return Err(Error::Shape {
                what: "ActNorm input (n, c, ...)",
                got: x.dims().to_vec(),
                expected: vec![x.dims().first().copied().unwrap_or(0), c],
            });
        }
        Ok(x.dims()[2..].iter().product())
    }
}

impl Flow for ActNorm {
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let spatial = self.check(x)?;
        let s = self.logs.exp()?;
        let z = channel_affine(x, &s, &(&self.bias * &s)?)?;
        let logdet = (self.logs.sum_all()? * spatial as f64)?
            .reshape(1)?
            .broadcast_as(x.dim(0)?)?
            .contiguous()?;
        Ok((z, logdet))
    }

    fn inverse(&self, z: &Tensor) -> Result<Tensor> {
        self.check(z)?;
        let inv = self.logs.neg()?.exp()?;
        Ok(channel_affine(z, &inv, &self.bias.neg()?)?)
    }

    fn data_init(&self, x: &Tensor) -> Result<Tensor> {
        self.check(x)?;
        if !(self.bias.is_variable() && self.logs.is_variable()) {
            return Err(Error::NotTrainable("ActNorm"));
        }
        let c = self.bias.elem_count();
        let xc = x.detach().transpose(0, 1)?.contiguous()?.reshape((c, ()))?;
        let mean = xc.mean(1)?;
        let var = xc.broadcast_sub(&mean.reshape((c, 1))?)?.sqr()?.mean(1)?;
        let logs = (var.sqrt()? + 1e-6)?.log()?.neg()?;
        Var::from_tensor(&self.bias)?.set(&mean.neg()?.to_dtype(self.bias.dtype())?)?;
        Var::from_tensor(&self.logs)?.set(&logs.to_dtype(self.logs.dtype())?)?;
        Ok(self.forward(x)?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_log_det_matches, assert_round_trip, randomize};
    use candle_core::Device;
    use gm_core::{GmRng, ParamStore};

    #[test]
    fn data_init_standardises_each_channel() {
        let dev = Device::Cpu;
        let store = ParamStore::new(0);
        let layer = actnorm(3, store.var_builder(&dev)).unwrap();
        let x = GmRng::new(1)
            .normal((16, 3, 4, 4), 0.0, 1.0, &dev)
            .unwrap()
            .broadcast_mul(
                &Tensor::new(&[0.5f32, 2.0, 5.0], &dev)
                    .unwrap()
                    .reshape((1, 3, 1, 1))
                    .unwrap(),
            )
            .unwrap()
            .broadcast_add(
                &Tensor::new(&[1f32, -3.0, 0.0], &dev)
                    .unwrap()
                    .reshape((1, 3, 1, 1))
                    .unwrap(),
            )
            .unwrap();
        let z = layer.data_init(&x).unwrap();
        let zc = z.transpose(0, 1).unwrap().flatten_from(1).unwrap();
        let mean = zc.mean(1).unwrap().to_vec1::<f32>().unwrap();
        let var = zc.sqr().unwrap().mean(1).unwrap().to_vec1::<f32>().unwrap();
        for c in 0..3 {
            assert!(mean[c].abs() < 1e-5, "{mean:?}");
            assert!((var[c] - 1.0).abs() < 1e-4, "{var:?}");
        }
    }

    #[test]
    fn inverts_and_log_det_matches_the_jacobian() {
        let dev = Device::Cpu;
        let store = ParamStore::new(0);
        let layer = actnorm(2, store.var_builder(&dev)).unwrap();
        randomize(&store, 3, 0.5);
        let x = GmRng::new(2).normal((4, 2, 3, 3), 0.0, 1.0, &dev).unwrap();
        assert_round_trip(&layer, &x, 1e-5);
        assert_log_det_matches(&layer, &x.narrow(0, 0, 1).unwrap(), 1e-4);
        // Vectors (n, d) too.
        let store = ParamStore::new(0);
        let layer = actnorm(3, store.var_builder(&dev)).unwrap();
        randomize(&store, 4, 0.5);
        let v = GmRng::new(5).normal((1, 3), 0.0, 1.0, &dev).unwrap();
        assert_round_trip(&layer, &v, 1e-5);
        assert_log_det_matches(&layer, &v, 1e-5);
    }

    #[test]
    fn loaded_weights_cannot_be_data_initialised() {
        let dev = Device::Cpu;
        let vb = candle_nn::VarBuilder::zeros(candle_core::DType::F32, &dev);
        let layer = actnorm(2, vb).unwrap();
        let x = Tensor::zeros((2, 2), candle_core::DType::F32, &dev).unwrap();
        assert!(matches!(
            layer.data_init(&x),
            Err(Error::NotTrainable("ActNorm"))
        ));
    }
}
