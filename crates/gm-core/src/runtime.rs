//! Process start-up settings for training and benchmark binaries.
//!
//! candle 0.11's CPU matmul asks for its thread count on every call, and without the
//! `RAYON_NUM_THREADS` environment variable that means reading `/proc/cpuinfo` each time (a
//! system call that formats every core's description): on two cores it took 10-16 % of a 2-D
//! unrolled-GAN step. [`pin_thread_count`] answers the question once.

/// Everything an example or benchmark sets at start-up: [`crate::alloc`]'s allocator tuning
/// (unless `GM_DEFAULT_MALLOC` is set) and [`pin_thread_count`] (unless `GM_UNPINNED_THREADS`
/// is set; both opt-outs exist to measure what each is worth). Call it first in `main`,
/// before any other thread starts.
pub fn init() {
    crate::alloc::tune_allocator_unless_disabled();
    if std::env::var_os("GM_UNPINNED_THREADS").is_none() {
        pin_thread_count();
    }
}

/// Sets `RAYON_NUM_THREADS` to the thread count candle would pick (its own rule, evaluated
/// once) unless the variable is already set, so candle's matmul reads it from the
/// environment instead of `/proc/cpuinfo`. The count, and so every result, is unchanged.
/// Returns the count in force.
///
/// Must run before other threads start: it changes the process environment.
pub fn pin_thread_count() -> usize {
    if let Some(n) = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    let n = candle_core::utils::get_num_threads();
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_count_is_what_candle_reads() {
        let n = pin_thread_count();
        assert!(n >= 1);
        assert_eq!(candle_core::utils::get_num_threads(), n);
        assert_eq!(pin_thread_count(), n);
    }
}
