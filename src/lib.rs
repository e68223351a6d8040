pub use gm_core as core;
