//! The integration tests of this crate, one module per subject, built as one test binary
//! (one link and one process instead of one per file).

mod cross_crate;
mod diverging;
mod flow_prior;
mod own_data;
mod sample;
