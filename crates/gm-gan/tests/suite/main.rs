//! The integration tests of this crate, one module per subject, built as one test binary
//! (one link and one process instead of one per file).

mod bigan;
mod conditional;
mod cyclegan;
mod every_game;
mod gan;
mod lapgan;
mod progressive;
mod sizes;
