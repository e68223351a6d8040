//! Mutation fuzzing of gm's readers of outside bytes, on stable Rust.
//!
//! Each [`targets::Target`] writes one input to a scratch file and hands it to one reader.
//! The reader passes when it returns, `Ok` or an error that names the file; it fails when it
//! panics, when its error does not name the file, or when it allocates more than
//! [`alloc::bound`] while reading (measured by [`alloc::Counting`], which a binary or test
//! installs as its global allocator).

pub mod alloc;
pub mod corpus;
pub mod engine;
pub mod mutate;
pub mod targets;
