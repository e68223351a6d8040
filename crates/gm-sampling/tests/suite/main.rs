//! The integration tests of this crate, one module per subject, built as one test binary
//! (one link and one process instead of one per file).

mod branched;
mod methods;
mod pinv;
mod univariate;
