//! Errors of gm-divergence: one variant per bad parameter or failed numerical guarantee.

/// Everything that can go wrong in gm-divergence.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The alpha of an alpha-divergence must be finite and not 0 or 1.
    #[error("alpha must be finite and not 0 or 1, got {0}")]
    InvalidAlpha(f64),
    /// The weight pi of a weighted Jensen-Shannon divergence must lie in (0, 1).
    #[error("pi must lie in (0, 1), got {0}")]
    InvalidPi(f64),
    /// A probability vector has a negative or non-finite entry, or does not sum to 1.
    #[error("not a probability vector: {0}")]
    NotADistribution(String),
    /// Two inputs that must have the same length (or shape) do not.
    #[error("length mismatch: {what} ({left} vs {right})")]
    LengthMismatch {
        /// The inputs at fault.
        what: &'static str,
        /// Length of the first input.
        left: usize,
        /// Length of the second input.
        right: usize,
    },
    /// A sample or input that needs at least `needed` elements has fewer.
    #[error("{what} needs at least {needed} elements, got {got}")]
    TooFewSamples {
        /// The input at fault.
        what: &'static str,
        /// The least number of elements accepted.
        needed: usize,
        /// The number of elements given.
        got: usize,
    },
    /// A scalar parameter that must be finite and positive is not.
    #[error("{name} must be finite and > 0, got {value}")]
    NotPositive {
        /// The parameter's name.
        name: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("{what} is not finite at {at}: {value}")]
    NonFinite {
        /// The function or quantity at fault.
        what: &'static str,
        /// The argument at which it was evaluated.
        at: f64,
        /// The non-finite value.
        value: f64,
    },
    /// Adaptive quadrature ran out of subintervals before meeting its tolerance.
    #[error(
        "quadrature did not converge: estimate {value}, error {error} > tolerance {tolerance}"
    )]
    QuadratureDidNotConverge {
        /// The integral estimate reached.
        value: f64,
        /// Its estimated absolute error.
        error: f64,
        /// The tolerance, `max(absolute, relative * |value|)`.
        tolerance: f64,
    },
    /// A covariance matrix is not symmetric positive definite.
    #[error("covariance is not positive definite (pivot {pivot} at row {row})")]
    NotPositiveDefinite {
        /// The row of the Cholesky factorisation where it failed.
        row: usize,
        /// The non-positive (or non-finite) pivot found there.
        pivot: f64,
    },
    /// A closed form was requested where none exists (or it diverges).
    #[error("no closed form: {0}")]
    NoClosedForm(String),
    /// The omega of an omega/rho cost is not strictly increasing on (0, inf).
    #[error(
        "omega must be finite and strictly increasing: omega({r0}) = {w0} >= omega({r1}) = {w1}"
    )]
    OmegaNotIncreasing {
        /// The smaller ratio.
        r0: f64,
        /// `omega(r0)`.
        w0: f64,
        /// The larger ratio.
        r1: f64,
        /// `omega(r1)`, not above `w0`.
        w1: f64,
    },
    /// The rho of an omega/rho cost is not positive on the range of omega.
    #[error("rho must be finite and > 0 on the range of omega: rho({t}) = {value}")]
    RhoNotPositive {
        /// The point of omega's range where rho was evaluated.
        t: f64,
        /// `rho(t)`.
        value: f64,
    },
    /// A value lies outside the domain where a function is defined.
    #[error("{what}: {value} lies outside the domain {domain}")]
    OutsideDomain {
        /// The argument at fault.
        what: &'static str,
        /// The rejected value.
        value: f64,
        /// The domain, in words or as an interval.
        domain: String,
    },
    /// An iterative method stopped before converging.
    #[error("{what} did not converge in {iterations} iterations (residual {residual})")]
    DidNotConverge {
        /// The method, e.g. `Sinkhorn`.
        what: &'static str,
        /// Iterations made.
        iterations: usize,
        /// The residual when it stopped.
        residual: f64,
    },
    /// A tensor has the wrong rank or shape.
    #[error("shape: {0}")]
    Shape(String),
    /// An error from gm-core (e.g. drawing random tensors).
    #[error(transparent)]
    Core(#[from] gm_core::Error),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
