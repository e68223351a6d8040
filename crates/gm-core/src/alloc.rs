//! Allocator tuning for training loops on glibc.
//!
//! glibc serves large blocks (over 128 KiB by default, adjusted dynamically) with `mmap` and
//! returns freed memory to the kernel; a training step frees and re-allocates the same large
//! activation buffers every step, so every step page-faults them back in. Raising the mmap and
//! trim thresholds keeps those buffers in the heap for reuse.

/// [`tune_allocator`] unless the environment variable `GM_DEFAULT_MALLOC` is set (to measure
/// or rule out the tuning). Every example and benchmark calls this at start-up, through
/// [`crate::runtime::init`].
pub fn tune_allocator_unless_disabled() {
    if std::env::var_os("GM_DEFAULT_MALLOC").is_none() {
        tune_allocator();
    }
}

/// Keeps large freed buffers in the process heap (glibc on Linux; a no-op elsewhere).
/// The effect is measured in `cargo xtask bench` (`GM_DEFAULT_MALLOC=1` for the default):
/// the DCGAN step went from 351-398 ms to 189-208 ms on two cores.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // From <malloc.h>: M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3.
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes allocator parameters; it is safe to call at any time.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 1 << 30);
            mallopt(M_TRIM_THRESHOLD, i32::MAX);
        }
    }
}
