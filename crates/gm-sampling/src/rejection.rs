//! Acceptance-rejection (von Neumann, 1951).
//!
//! To sample a target f (possibly unnormalized, f = Z p) with a proposal density h that can be
//! sampled and a bound L >= f(x) / h(x) for all x: draw X ~ h and U ~ Uniform(0, 1), accept X
//! when U L h(X) <= f(X). Accepted draws have density p, and each proposal is accepted with
//! probability Z / L (1/L for a normalized f). If f/h > L anywhere, accepted draws are biased
//! towards those points: every proposal's ratio f/h is checked and a violation is an error.
//! Generic over the sample type, so vector-valued densities work the same way.

use rand::Rng;

use crate::univariate::Univariate;
use crate::{Error, Result};

/// A proposal: something to draw from, with a known density.
pub trait Proposal<T> {
    /// One draw.
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> T;
    /// Its density h(x).
    fn density(&self, x: &T) -> f64;
}

impl<D: Univariate> Proposal<f64> for D {
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.sample(rng)
    }
    fn density(&self, x: &f64) -> f64 {
        self.pdf(*x)
    }
}

/// The uniform density on a box prod_i [low_i, high_i] in R^d, h = 1 / prod (high_i - low_i).
#[derive(Debug, Clone, PartialEq)]
pub struct UniformBox {
    low: Vec<f64>,
    high: Vec<f64>,
    density: f64,
}

impl UniformBox {
    /// Errors with [`Error::LengthMismatch`], [`Error::ZeroCount`] or [`Error::InvalidInterval`].
    pub fn new(low: Vec<f64>, high: Vec<f64>) -> Result<Self> {
        if low.len() != high.len() {
            return Err(Error::LengthMismatch(low.len(), high.len()));
        }
        if low.is_empty() {
            return Err(Error::ZeroCount("dimension"));
        }
        let mut vol = 1.0;
        for (&l, &h) in low.iter().zip(&high) {
            if !(l.is_finite() && h.is_finite() && l < h) {
                return Err(Error::InvalidInterval { low: l, high: h });
            }
            vol *= h - l;
        }
        Ok(Self {
            low,
            high,
            density: 1.0 / vol,
        })
    }
}

impl Proposal<Vec<f64>> for UniformBox {
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        self.low
            .iter()
            .zip(&self.high)
            .map(|(&l, &h)| l + (h - l) * rng.random::<f64>())
            .collect()
    }
    fn density(&self, x: &Vec<f64>) -> f64 {
        let inside = x.len() == self.low.len()
            && x.iter()
                .zip(self.low.iter().zip(&self.high))
                .all(|(&v, (&l, &h))| v >= l && v <= h);
        if inside {
            self.density
        } else {
            0.0
        }
    }
}

/// An acceptance-rejection sampler for the target `f` with proposal `h` and bound `L`.
///
/// ```
/// use gm_core::GmRng;
/// use gm_sampling::{Rejection, UniformBox};
/// // Uniform on the unit disc from the square [-1, 1]^2: f = 1/pi inside, h = 1/4, so
/// // L = 4/pi and each proposal is accepted with probability pi/4.
/// let pi = std::f64::consts::PI;
/// let disc = |x: &Vec<f64>| {
///     if x[0] * x[0] + x[1] * x[1] <= 1.0 {
///         1.0 / pi
///     } else {
///         0.0
///     }
/// };
/// let square = UniformBox::new(vec![-1.0, -1.0], vec![1.0, 1.0])?;
/// let rejection = Rejection::new(disc, square, 4.0 / pi)?;
/// let run = rejection.sample_n(100, &mut GmRng::new(9))?;
/// assert_eq!(run.samples.len(), 100);
/// assert!(run.samples.iter().all(|x| x[0] * x[0] + x[1] * x[1] <= 1.0));
/// assert!(run.proposals >= 100 && run.max_ratio <= rejection.bound());
/// # Ok::<(), gm_sampling::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rejection<P, F> {
    proposal: P,
    target: F,
    bound: f64,
}

/// The outcome of a batch of rejection sampling.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectionRun<T> {
    /// Accepted draws.
    pub samples: Vec<T>,
    /// Number of proposals drawn.
    pub proposals: u64,
    /// The largest f/h seen (must be <= L).
    pub max_ratio: f64,
}

impl<T> RejectionRun<T> {
    /// Observed acceptance rate, accepted / proposals.
    pub fn acceptance_rate(&self) -> f64 {
        self.samples.len() as f64 / self.proposals as f64
    }
    /// Binomial standard error of the acceptance rate at the true rate `p`:
    /// sqrt(p (1 - p) / proposals).
    pub fn acceptance_std_error(&self, p: f64) -> f64 {
        (p * (1.0 - p) / self.proposals as f64).sqrt()
    }
    /// Estimate of the normalizing constant Z = L * acceptance rate, for an unnormalized f.
    pub fn normalizer_estimate(&self, bound: f64) -> f64 {
        bound * self.acceptance_rate()
    }
}

impl<P, F> Rejection<P, F> {
    /// Errors with [`Error::BoundNotPositive`] unless L is finite and > 0.
    pub fn new(target: F, proposal: P, bound: f64) -> Result<Self> {
        if !(bound.is_finite() && bound > 0.0) {
            return Err(Error::BoundNotPositive(bound));
        }
        Ok(Self {
            proposal,
            target,
            bound,
        })
    }

    /// The bound L.
    pub fn bound(&self) -> f64 {
        self.bound
    }

    /// The expected acceptance rate Z / L for a target with normalizing constant Z.
    pub fn expected_acceptance(&self, normalizer: f64) -> f64 {
        normalizer / self.bound
    }

    /// One proposal: Ok(Some(x)) if accepted, Ok(None) if rejected, Err on a violated bound.
    fn propose<T, R>(&self, rng: &mut R, max_ratio: &mut f64) -> Result<Option<T>>
    where
        P: Proposal<T>,
        F: Fn(&T) -> f64,
        R: Rng + ?Sized,
    {
        let x = self.proposal.draw(rng);
        let f = (self.target)(&x);
        if f.is_nan() || f.is_infinite() {
            return Err(Error::NonFiniteDensity {
                x: f64::NAN,
                value: f,
            });
        }
        if f < 0.0 {
            return Err(Error::NegativeDensity {
                x: f64::NAN,
                value: f,
            });
        }
        if f == 0.0 {
            return Ok(None);
        }
        let h = self.proposal.density(&x);
        if !(h > 0.0) {
            return Err(Error::ProposalZero {
                target: f,
                proposal: h,
            });
        }
        let ratio = f / h;
        *max_ratio = max_ratio.max(ratio);
        if ratio > self.bound {
            return Err(Error::BoundViolated {
                ratio,
                bound: self.bound,
            });
        }
        let u: f64 = rng.random();
        Ok(if u * self.bound <= ratio {
            Some(x)
        } else {
            None
        })
    }

    /// One accepted draw; gives up with [`Error::NoAcceptance`] after `max_proposals`.
    pub fn sample<T, R>(&self, rng: &mut R, max_proposals: u64) -> Result<T>
    where
        P: Proposal<T>,
        F: Fn(&T) -> f64,
        R: Rng + ?Sized,
    {
        let mut max_ratio = 0.0;
        for _ in 0..max_proposals {
            if let Some(x) = self.propose(rng, &mut max_ratio)? {
                return Ok(x);
            }
        }
        Err(Error::NoAcceptance(max_proposals))
    }

    /// `n` accepted draws with the count of proposals, for the acceptance rate.
    /// Gives up with [`Error::NoAcceptance`] if 1000 n + 1000 proposals are not enough.
    pub fn sample_n<T, R>(&self, n: usize, rng: &mut R) -> Result<RejectionRun<T>>
    where
        P: Proposal<T>,
        F: Fn(&T) -> f64,
        R: Rng + ?Sized,
    {
        let limit = 1000 * n as u64 + 1000;
        let mut samples = Vec::with_capacity(n);
        let mut proposals = 0u64;
        let mut max_ratio = 0.0;
        while samples.len() < n {
            if proposals >= limit {
                return Err(Error::NoAcceptance(proposals));
            }
            proposals += 1;
            if let Some(x) = self.propose(rng, &mut max_ratio)? {
                samples.push(x);
            }
        }
        Ok(RejectionRun {
            samples,
            proposals,
            max_ratio,
        })
    }
}
