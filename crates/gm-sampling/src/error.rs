//! Errors of gm-sampling: one variant per bad parameter or failed numerical guarantee.

/// Everything that can go wrong in gm-sampling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A location parameter (mean, median, centre) is NaN or infinite.
    #[error("location must be finite, got {0}")]
    LocationNotFinite(f64),
    /// A scale parameter (std, scale, sigma) is not a finite positive number.
    #[error("scale must be finite and > 0, got {0}")]
    ScaleNotPositive(f64),
    /// A rate parameter is not a finite positive number.
    #[error("rate must be finite and > 0, got {0}")]
    RateNotPositive(f64),
    /// A shape parameter is not a finite positive number.
    #[error("shape must be finite and > 0, got {0}")]
    ShapeNotPositive(f64),
    /// The bounds of an interval are not finite with low < high.
    #[error("interval bounds must be finite with low < high, got [{low}, {high}]")]
    InvalidInterval {
        /// The lower bound given.
        low: f64,
        /// The upper bound given.
        high: f64,
    },
    /// Truncation bounds are not ordered (low < high, NaN rejected).
    #[error("truncation bounds must satisfy low < high, got [{low}, {high}]")]
    InvalidTruncation {
        /// The lower truncation bound given.
        low: f64,
        /// The upper truncation bound given.
        high: f64,
    },
    /// The truncation interval carries no probability mass.
    #[error("truncation interval [{low}, {high}] has zero probability mass")]
    TruncationMassZero {
        /// The lower truncation bound.
        low: f64,
        /// The upper truncation bound.
        high: f64,
    },
    /// A correlation coefficient outside (-1, 1).
    #[error("correlation must lie in (-1, 1), got {0}")]
    CorrelationOutOfRange(f64),
    /// A density returned a negative value.
    #[error("density is negative at x = {x}: f(x) = {value}")]
    NegativeDensity {
        /// The point where the density was evaluated (NaN when the point is not a real
        /// number, as in rejection sampling of other types).
        x: f64,
        /// The negative value `f(x)`.
        value: f64,
    },
    /// A density returned NaN or infinity.
    #[error("density is not finite at x = {x}: f(x) = {value}")]
    NonFiniteDensity {
        /// The point where the density was evaluated (NaN when the point is not a real
        /// number, as in rejection sampling of other types).
        x: f64,
        /// The non-finite value `f(x)`.
        value: f64,
    },
    /// The density integrates to zero (or to a non-finite number) over its domain.
    #[error("density is not normalizable: integral = {0}")]
    NotNormalizable(f64),
    /// The tail mass does not decay: the density is not integrable towards `side`.
    #[error("density tail towards {side} is not integrable (mass does not decay by x = {x})")]
    NonIntegrableTail {
        /// The direction of the tail, `+infinity` or `-infinity`.
        side: &'static str,
        /// How far out the tail mass was followed.
        x: f64,
    },
    /// The density vanishes at the point where the setup starts.
    #[error("density must be positive at the centre {0}")]
    ZeroAtCentre(f64),
    /// The requested u-resolution is outside [1e-15, 1e-2].
    #[error("u-resolution must lie in [1e-15, 1e-2], got {0}")]
    InvalidResolution(f64),
    /// Numerical inversion could not reach the requested resolution.
    #[error("numerical inversion could not reach u-resolution {resolution} near x = {x}")]
    ResolutionNotReached {
        /// The requested u-resolution.
        resolution: f64,
        /// The point near which it was missed.
        x: f64,
    },
    /// The rejection bound L must be finite and > 0.
    #[error("rejection bound must be finite and > 0, got {0}")]
    BoundNotPositive(f64),
    /// While sampling, f(x) / h(x) exceeded the bound L: the samples would be biased.
    #[error("rejection bound violated: f/h = {ratio} > L = {bound}")]
    BoundViolated {
        /// The ratio `f(x) / h(x)` observed.
        ratio: f64,
        /// The bound L it exceeds.
        bound: f64,
    },
    /// The proposal density is zero (or negative) where the target is positive.
    #[error("proposal density is {proposal} where the target is {target} > 0")]
    ProposalZero {
        /// The target density at the point, > 0.
        target: f64,
        /// The proposal density at the same point, <= 0.
        proposal: f64,
    },
    /// Rejection sampling gave up after this many proposals without enough acceptances.
    #[error("rejection sampling accepted nothing in {0} proposals")]
    NoAcceptance(u64),
    /// A count that must be positive (sample size, grid size, number of bins) is zero.
    #[error("{0} must be > 0")]
    ZeroCount(&'static str),
    /// Slices whose lengths must agree do not.
    #[error("length mismatch: {0} vs {1}")]
    LengthMismatch(usize, usize),
    /// A dimension mismatch in a multivariate method.
    #[error("dimension mismatch: expected {expected}, got {got}")]
    DimensionMismatch {
        /// The dimension required.
        expected: usize,
        /// The dimension given.
        got: usize,
    },
    /// A coordinate of a point is NaN or infinite.
    #[error("coordinate {index} is not finite: {value}")]
    NonFiniteInput {
        /// The index of the coordinate.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// A finite-difference Jacobian of an inverse branch left the branch's image on both
    /// sides of a coordinate.
    #[error("inverse branch undefined around coordinate {coordinate} = {value}")]
    OutsideBranch {
        /// The index of the coordinate being differenced.
        coordinate: usize,
        /// The value of that coordinate.
        value: f64,
    },
    /// Root finding could not bracket a solution.
    #[error("no root bracketed for u = {0}")]
    NoBracket(f64),
    /// A confidence level outside (0, 1).
    #[error("confidence level must lie in (0, 1), got {0}")]
    InvalidLevel(f64),
    /// Importance weights sum to zero or are not finite.
    #[error("importance weights are degenerate: sum = {0}")]
    DegenerateWeights(f64),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// An error from gm-core.
    #[error(transparent)]
    Core(#[from] gm_core::Error),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
