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

/// The device a command line names: `auto`, `cpu`, `cuda[:N]` or `metal[:N]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// CUDA when built in and present, then Metal, else the CPU ([`select_device`]).
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The CUDA device with this ordinal (`cuda` alone is `cuda:0`).
    Cuda(usize),
    /// The Metal device with this ordinal (`metal` alone is `metal:0`).
    Metal(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (kind, ordinal) = match s.split_once(':') {
            Some((k, n)) => {
                let n = n
                    .parse::<usize>()
                    .map_err(|_| format!("`{n}` is not a device number"))?;
                (k, Some(n))
            }
            None => (s, None),
        };
        match (kind, ordinal) {
            ("auto", None) => Ok(Self::Auto),
            ("cpu", None) => Ok(Self::Cpu),
            ("cuda", n) => Ok(Self::Cuda(n.unwrap_or(0))),
            ("metal", n) => Ok(Self::Metal(n.unwrap_or(0))),
            _ => Err(format!(
                "`{s}` is not a device: auto, cpu, cuda[:N] or metal[:N]"
            )),
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Auto => write!(f, "auto"),
            Self::Cpu => write!(f, "cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
            Self::Metal(n) => write!(f, "metal:{n}"),
        }
    }
}

impl DeviceChoice {
    /// Opens the device; a GPU this build lacks is an error that says which feature to build.
    pub fn device(self) -> Result<Device> {
        match self {
            Self::Auto => select_device(false),
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda(n) => {
                if !cfg!(feature = "cuda") {
                    return Err(crate::Error::Msg(
                        "--device cuda: this build has no CUDA support (build with --features cuda)"
                            .into(),
                    ));
                }
                Ok(Device::new_cuda(n)?)
            }
            Self::Metal(n) => {
                if !cfg!(feature = "metal") {
                    return Err(crate::Error::Msg(
                        "--device metal: this build has no Metal support (build with --features metal)"
                            .into(),
                    ));
                }
                Ok(Device::new_metal(n)?)
            }
        }
    }
}

/// A short human name for a device, for logs and reports.
pub fn device_name(device: &Device) -> &'static str {
    match device {
        Device::Cpu => "cpu",
        Device::Cuda(_) => "cuda",
        Device::Metal(_) => "metal",
    }
}

/// Casts to f64 on the CPU. Metal has no f64 (candle 0.11 refuses the cast on the device), and
/// gm's f64 work (evaluation statistics, quadratures, Lasso, spectral estimates) is read back
/// to the host anyway: every f64 cast in gm goes through this. A CPU tensor is not copied
/// (`to_device` onto its own device is a clone of the handle), and gradients flow through
/// both steps.
pub trait ToHostF64 {
    /// The tensor moved to the CPU and cast to f64.
    fn to_host_f64(&self) -> candle_core::Result<candle_core::Tensor>;
}

impl ToHostF64 for candle_core::Tensor {
    fn to_host_f64(&self) -> candle_core::Result<candle_core::Tensor> {
        self.to_device(&Device::Cpu)?
            .to_dtype(candle_core::DType::F64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_parse() {
        for (s, d) in [
            ("auto", DeviceChoice::Auto),
            ("cpu", DeviceChoice::Cpu),
            ("cuda", DeviceChoice::Cuda(0)),
            ("cuda:1", DeviceChoice::Cuda(1)),
            ("metal:0", DeviceChoice::Metal(0)),
        ] {
            assert_eq!(s.parse::<DeviceChoice>().unwrap(), d);
        }
        for bad in ["tpu", "cuda:x", "cpu:1", ""] {
            assert!(bad.parse::<DeviceChoice>().is_err(), "{bad}");
        }
        assert!(DeviceChoice::Cpu.device().unwrap().is_cpu());
    }

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

    #[test]
    fn host_f64_casts_on_the_cpu_and_keeps_gradients() {
        use super::ToHostF64;
        let x = candle_core::Var::new(&[1f32, -2.0, 3.0], &Device::Cpu).unwrap();
        let y = x.as_tensor().to_host_f64().unwrap();
        assert_eq!(y.dtype(), candle_core::DType::F64);
        assert!(y.device().is_cpu());
        let g = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let g = g.get(x.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(g, vec![2.0, -4.0, 6.0]);
    }
}
