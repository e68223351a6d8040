//! Device selection: CUDA when built in and present, then Metal, else the CPU.

use candle_core::Device;

use crate::Result;

/// Picks the device a run uses.
///
/// With `force_cpu` (the `--cpu` flag of the examples) the CPU is returned at once; otherwise
/// the first CUDA device when the crate is built with `cuda` and a GPU answers, then Metal
/// when built with `metal`, else the CPU.
pub fn select_device(force_cpu: bool) -> Result<Device> {
    if force_cpu {
        return Ok(Device::Cpu);
    }
    if candle_core::utils::cuda_is_available() {
        return Ok(Device::new_cuda(0)?);
    }
    if candle_core::utils::metal_is_available() {
        return Ok(Device::new_metal(0)?);
    }
    Ok(Device::Cpu)
}

/// A short human name for a device, for logs and reports.
pub fn device_name(device: &Device) -> &'static str {
    match device {
        Device::Cpu => "cpu",
        Device::Cuda(_) => "cuda",
        Device::Metal(_) => "metal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_cpu_is_cpu() {
        assert!(select_device(true).unwrap().is_cpu());
    }

    #[test]
    fn without_gpu_features_the_cpu_is_chosen() {
        if !candle_core::utils::cuda_is_available() && !candle_core::utils::metal_is_available() {
            assert!(select_device(false).unwrap().is_cpu());
        }
    }
}
