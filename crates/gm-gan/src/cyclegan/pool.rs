//! The replay buffer of generated images (Shrivastava et al. 2017).

use candle_core::Tensor;
use gm_core::GmRng;

use crate::Result;

/// The replay buffer of Shrivastava et al. (2017) as CycleGAN uses it: until `capacity`
/// images are stored, each generated image is stored and shown as is; afterwards, with
/// probability 1/2 it replaces a uniformly chosen stored image, which is shown instead, and
/// otherwise it is shown and not stored. The discriminator so sees a history of generators,
/// which damps oscillation.
#[derive(Debug, Clone)]
pub struct ImagePool {
    capacity: usize,
    images: Vec<Tensor>,
}

impl ImagePool {
    /// An empty pool that keeps up to `capacity` images (0: no buffer, batches pass through).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            images: Vec::with_capacity(capacity),
        }
    }

    /// The most images the pool keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Stored images.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether no image is stored yet.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// The stored images, each `(c, h, w)`, in slot order.
    pub fn images(&self) -> &[Tensor] {
        &self.images
    }

    /// The images to show the discriminator in place of the batch `(n, c, h, w)` (detached).
    pub fn query(&mut self, batch: &Tensor, rng: &mut GmRng) -> Result<Tensor> {
        let batch = batch.detach();
        if self.capacity == 0 {
            return Ok(batch);
        }
        let mut out = Vec::with_capacity(batch.dim(0)?);
        for i in 0..batch.dim(0)? {
            let img = batch.get(i)?;
            if self.images.len() < self.capacity {
                self.images.push(img.clone());
                out.push(img);
                continue;
            }
            let u = rng.uniform_vec(2, 0.0, 1.0);
            if u[0] < 0.5 {
                let slot = ((u[1] * self.capacity as f32) as usize).min(self.capacity - 1);
                out.push(std::mem::replace(&mut self.images[slot], img));
            } else {
                out.push(img);
            }
        }
        Ok(Tensor::stack(&out, 0)?)
    }

    /// The stored images as one tensor `(len, c, h, w)`, for checkpoints.
    pub(super) fn state(&self) -> Result<Option<Tensor>> {
        if self.images.is_empty() {
            return Ok(None);
        }
        Ok(Some(Tensor::stack(&self.images, 0)?))
    }

    pub(super) fn load(&mut self, stored: Option<&Tensor>) -> Result<()> {
        self.images.clear();
        if let Some(t) = stored {
            for i in 0..t.dim(0)?.min(self.capacity) {
                self.images.push(t.get(i)?);
            }
        }
        Ok(())
    }
}
