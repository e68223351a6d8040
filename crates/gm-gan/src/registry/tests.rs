//! Tests of the registry: names, saved-model claims, options and the recipes it builds.

use std::collections::BTreeMap;

use candle_core::Device;

use super::*;

fn spec<'a>(
    model: &'a str,
    toolkit: &'a Toolkit,
    options: &'a BTreeMap<String, String>,
    device: &'a Device,
) -> ImageSpec<'a> {
    ImageSpec {
        model,
        data_shape: &[1, 28, 28],
        lr: 2e-4,
        seed: 0,
        device,
        toolkit,
        options,
    }
}

#[test]
fn names_are_unique_and_saved_models_have_one_owner() {
    for (i, m) in MODELS.iter().enumerate() {
        assert!(
            MODELS[..i].iter().all(|o| o.name != m.name),
            "{} twice",
            m.name
        );
        assert!(!m.about.is_empty() && !m.budget.is_empty(), "{}", m.name);
    }
    for (model, owner) in [
        ("cgan/projection", "cgan"),
        ("cgan/acgan", "cgan"),
        ("bigan", "bigan"),
        ("mix-gan/gan-ns", "mixgan"),
        ("progressive/32x32", "progressive"),
        ("lapgan", "lapgan"),
    ] {
        assert_eq!(saved(model).map(|m| m.name), Some(owner), "{model}");
    }
    // A prefix claims only whole path segments; the GAN trainer's runs are loaded elsewhere.
    for model in ["biganx", "cganx/projection", "gan/gan-ns", "vae"] {
        assert!(saved(model).is_none(), "{model}");
    }
    let unsupported: Vec<_> = unsupported().map(|(m, _)| m).collect();
    assert_eq!(unsupported, ["lapgan", "cyclegan"]);
}

#[test]
fn a_misspelt_option_or_value_is_an_error_naming_it() {
    let device = Device::Cpu;
    let toolkit = Toolkit::default();
    let build = |name: &str, key: &str, value: &str| {
        let options = BTreeMap::from([(key.to_string(), value.to_string())]);
        let Run::Images(build) = find(name).unwrap().run else {
            panic!("{name} is not an image model")
        };
        build(&spec(name, &toolkit, &options, &device))
            .err()
            .unwrap()
            .to_string()
    };
    let e = build("gan", "divergence", "gan");
    assert!(e.contains("divergence") && e.contains("none"), "{e}");
    let e = build("fgan", "divergence", "kl");
    assert!(e.contains("kl") && e.contains("kullback-leibler"), "{e}");
    let e = build("cgan", "conditioning", "concat");
    assert!(e.contains("--conditioning") && e.contains("concat"), "{e}");
    let e = build("cgan", "acgan-real-classes", "true");
    assert!(e.contains("--acgan-real-classes"), "{e}");
    let e = build("cgan", "condition", "acgan");
    assert!(e.contains("condition") && e.contains("conditioning"), "{e}");
}

#[test]
fn recipes_build_the_configs_of_their_papers() {
    let device = Device::Cpu;
    let none = BTreeMap::new();
    let toolkit = Toolkit::default();
    let model_name = |name: &str| {
        let Run::Images(build) = find(name).unwrap().run else {
            panic!("{name}")
        };
        build(&spec(name, &toolkit, &none, &device))
            .unwrap()
            .model_name()
    };
    assert_eq!(model_name("gan"), "gan/gan");
    assert_eq!(model_name("mmd"), "gan/mmd");
    assert_eq!(model_name("kernel"), "gan/kernel-generator");
    assert_eq!(model_name("wgan"), "gan/wgan");
    assert_eq!(model_name("wgan-gp"), "gan/wgan-gp");
    assert_eq!(model_name("cgan"), "cgan/projection");

    // The toolkit replaces the recipe's loss and sets its tricks.
    let hinge = Toolkit {
        loss: Some(Toolkit::parse_loss("hinge").unwrap()),
        r1: Some(0.5),
        ..Toolkit::default()
    };
    let Run::Images(build) = find("gan").unwrap().run else {
        unreachable!()
    };
    let t = build(&spec("gan", &hinge, &none, &device)).unwrap();
    let cfg = t.config_json();
    assert_eq!(t.model_name(), "gan/hinge");
    assert_eq!(cfg["tricks"]["r1"], 0.5, "{cfg}");
    assert!(Toolkit::parse_loss("softplus").is_err());

    let options = BTreeMap::from([("divergence".to_string(), "pearson-chi-2".to_string())]);
    let Run::Images(build) = find("fgan").unwrap().run else {
        unreachable!()
    };
    let t = build(&spec("fgan", &toolkit, &options, &device)).unwrap();
    assert_eq!(t.model_name(), "gan/f-gan (Pearson chi^2)");
}

#[test]
fn divergence_slugs_name_every_divergence_of_the_catalogue() {
    for d in gm_divergence::Divergence::catalogue() {
        let slug: String = d
            .name()
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        assert_eq!(divergence(&slug).unwrap().name(), d.name());
    }
    assert_eq!(
        divergence("kullback-leibler").unwrap().name(),
        "Kullback-Leibler"
    );
}
