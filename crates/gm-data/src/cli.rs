//! The data flags of gm's command line (feature `cli`): `--data`, `--image-size`,
//! `--channels`, `--skip-bad` and `--holdout`, flattened into an example's clap struct.
//! Without `--data` an example trains on its default data set (the embedded digits).

use std::path::PathBuf;

use gm_core::data::Dataset;

use crate::array::{Array, Pixels};
use crate::{load, numbered_classes, DataInfo, DataKind, Error, LoadOptions, Loaded, Result};

/// The data flags.
#[derive(clap::Args, Debug, Clone, PartialEq)]
#[command(next_help_heading = "Data options")]
pub struct DataArgs {
    /// Train on your own data: a folder of images (each sub-folder a class), a folder with
    /// train/ and test/ folders, IDX files, a .safetensors or a .npy file. Default: the
    /// embedded MNIST digits
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Resize the shorter side of each image to N and centre-crop it to NxN
    #[arg(long, value_name = "N", value_parser = positive_usize)]
    pub image_size: Option<usize>,
    /// 1 (grey) or 3 (RGB). Default: what most images are
    #[arg(long, value_name = "1|3", value_parser = one_or_three)]
    pub channels: Option<usize>,
    /// Skip unreadable or truncated images (they are listed) instead of stopping
    #[arg(long)]
    pub skip_bad: bool,
    /// Fraction held out as the test set when the data has no split of its own
    #[arg(long, value_name = "F", default_value_t = 0.1)]
    pub holdout: f64,
}

impl Default for DataArgs {
    fn default() -> Self {
        Self {
            data: None,
            image_size: None,
            channels: None,
            skip_bad: false,
            holdout: 0.1,
        }
    }
}

impl DataArgs {
    /// The [`LoadOptions`] these flags give, with the run's seed and progress.
    pub fn options(&self, seed: u64, progress: bool) -> LoadOptions {
        LoadOptions {
            image_size: self.image_size,
            channels: self.channels,
            skip_bad: self.skip_bad,
            holdout: self.holdout,
            seed,
            progress,
        }
    }

    /// Loads `--data`, or without it the embedded digits (see [`DataArgs::load_or`]); the
    /// summary of a loaded folder or file is printed, so that a run shows what it trains on.
    pub fn load_or_digits(&self, seed: u64, progress: bool) -> Result<Loaded> {
        let loaded = self.load_or(seed, progress, || {
            let m = gm_core::data::mnist_embedded()?;
            Ok((m.train, m.test))
        })?;
        if self.data.is_some() {
            println!("{}", loaded.summary());
        }
        Ok(loaded)
    }

    /// Loads `--data`, or without it the `(train, test)` that `default` gives (reshaped by
    /// `--image-size` and `--channels` when they are given).
    pub fn load_or(
        &self,
        seed: u64,
        progress: bool,
        default: impl FnOnce() -> gm_core::Result<(Dataset, Dataset)>,
    ) -> Result<Loaded> {
        let opts = self.options(seed, progress);
        opts.validate()?;
        if let Some(path) = &self.data {
            return load(path, &opts);
        }
        let (train, test) = default()?;
        let (train, test) = if opts.image_size.is_some() || opts.channels.is_some() {
            (reshape(train, &opts)?, reshape(test, &opts)?)
        } else {
            (train, test)
        };
        let mut info = DataInfo::new(DataKind::Embedded);
        if let [c, h, w] = train.item_shape[..] {
            info.channels = c;
            info.image_size = (h, w);
        }
        let labels: Vec<&[u32]> = [&train.labels, &test.labels]
            .into_iter()
            .flatten()
            .map(Vec::as_slice)
            .collect();
        let (n, names) = numbered_classes(&labels);
        info.n_classes = n;
        info.class_names = names;
        Ok(Loaded { train, test, info })
    }
}

/// `ds` with `--image-size` and `--channels` applied (its storage kept).
fn reshape(ds: Dataset, opts: &LoadOptions) -> Result<Dataset> {
    let source = PathBuf::from(&ds.name);
    let [c, h, w] = ds.item_shape[..] else {
        return Err(Error::format(
            source,
            format!(
                "items of shape {:?} are not images (c, h, w); --image-size and --channels \
                 do not apply",
                ds.item_shape
            ),
        ));
    };
    let pixels = match (ds.u8_values(), ds.f32_values()) {
        (Some(v), _) => Pixels::U8(v.to_vec()),
        (_, Some(v)) => Pixels::F32(v.to_vec()),
        _ => return Err(Error::format(source, "holds neither u8 nor f32 values")),
    };
    let array = Array {
        pixels,
        n: ds.len(),
        c,
        h,
        w,
        labels: ds.labels.clone(),
    };
    array.reshape(opts, &source)?.into_dataset(ds.name)
}

fn positive_usize(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err("not a positive integer".into()),
    }
}

fn one_or_three(s: &str) -> std::result::Result<usize, String> {
    match s {
        "1" => Ok(1),
        "3" => Ok(3),
        _ => Err("must be 1 (grey) or 3 (RGB)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        data: DataArgs,
    }

    #[test]
    fn flags_parse_and_default() {
        let c = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(c.data, DataArgs::default());
        let c = Cli::try_parse_from([
            "x",
            "--data",
            "d",
            "--image-size",
            "32",
            "--channels",
            "3",
            "--skip-bad",
            "--holdout",
            "0.2",
        ])
        .unwrap();
        assert_eq!(c.data.data, Some(PathBuf::from("d")));
        assert_eq!(c.data.options(5, false).image_size, Some(32));
        assert_eq!(
            (c.data.channels, c.data.skip_bad, c.data.holdout),
            (Some(3), true, 0.2)
        );
        assert!(Cli::try_parse_from(["x", "--channels", "2"]).is_err());
        assert!(Cli::try_parse_from(["x", "--image-size", "0"]).is_err());
    }

    #[test]
    fn without_data_the_default_is_described() {
        let loaded = DataArgs::default()
            .load_or(0, false, || {
                let m = gm_core::data::mnist_embedded()?;
                Ok((m.train, m.test))
            })
            .unwrap();
        let i = &loaded.info;
        assert_eq!(
            (i.kind, i.channels, i.image_size, i.n_classes),
            (DataKind::Embedded, 1, (28, 28), 10)
        );
        assert_eq!(loaded.train.len(), 8000);
        let args = DataArgs {
            image_size: Some(32),
            channels: Some(3),
            ..DataArgs::default()
        };
        let l = args
            .load_or(0, false, || {
                let m = gm_core::data::mnist_embedded()?;
                Ok((m.train.split_off(20)?.1, m.test.split_off(10)?.1))
            })
            .unwrap();
        assert_eq!(l.train.item_shape, vec![3, 32, 32]);
        assert!(l.train.is_u8() && l.test.len() == 10);
        assert_eq!((l.info.channels, l.info.image_size), (3, (32, 32)));
    }
}
