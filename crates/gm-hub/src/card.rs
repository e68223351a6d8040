//! The model card: `README.md` with the YAML front matter the Hub reads (license,
//! library_name, tags, pipeline_tag, datasets, metrics) and a body that says what the model
//! is, shows the samples and how to load it in Rust.

/// What the card says about a model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelCard {
    /// One paragraph on what the model is and how it was trained.
    pub description: String,
    /// SPDX id of the weights' license.
    pub license: String,
    /// Hub tags beside `gm`, `candle` and `rust` (e.g. `gan`, `vae`).
    pub tags: Vec<String>,
    /// Hub pipeline tag, e.g. `unconditional-image-generation`.
    pub pipeline_tag: String,
    /// Hub dataset ids the model was trained on.
    pub datasets: Vec<String>,
    /// Evaluation results (name, value), e.g. from gm-eval.
    pub metrics: Vec<(String, f64)>,
}

impl Default for ModelCard {
    fn default() -> Self {
        Self {
            description: String::new(),
            license: "apache-2.0".into(),
            tags: Vec::new(),
            pipeline_tag: "unconditional-image-generation".into(),
            datasets: vec!["ylecun/mnist".into()],
            metrics: Vec::new(),
        }
    }
}

fn yaml_str(s: &str) -> String {
    // JSON strings are valid YAML double-quoted scalars.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

impl ModelCard {
    /// Renders `README.md` for model `model` (crate `gm.model` id), with or without a sample grid.
    pub fn render(&self, model: &str, config: &serde_json::Value, has_samples: bool) -> String {
        let mut tags = vec!["gm".to_string(), "candle".into(), "rust".into()];
        tags.extend(self.tags.iter().cloned());
        let mut s = String::from("---\n");
        s.push_str(&format!("license: {}\n", yaml_str(&self.license)));
        s.push_str("library_name: candle\n");
        s.push_str(&format!("pipeline_tag: {}\n", yaml_str(&self.pipeline_tag)));
        s.push_str("tags:\n");
        for t in &tags {
            s.push_str(&format!("  - {}\n", yaml_str(t)));
        }
        if !self.datasets.is_empty() {
            s.push_str("datasets:\n");
            for d in &self.datasets {
                s.push_str(&format!("  - {}\n", yaml_str(d)));
            }
        }
        if !self.metrics.is_empty() {
            s.push_str("metrics:\n");
            for (k, _) in &self.metrics {
                s.push_str(&format!("  - {}\n", yaml_str(k)));
            }
        }
        s.push_str("---\n\n");
        s.push_str(&format!("# {model}\n\n"));
        if !self.description.is_empty() {
            s.push_str(&self.description);
            s.push_str("\n\n");
        }
        if has_samples {
            s.push_str("![samples](samples.png)\n\n");
        }
        if !self.metrics.is_empty() {
            s.push_str("## Evaluation\n\n| metric | value |\n| --- | --- |\n");
            for (k, v) in &self.metrics {
                s.push_str(&format!("| {k} | {v:.6} |\n"));
            }
            s.push('\n');
        }
        s.push_str("## Configuration\n\n```json\n");
        s.push_str(&serde_json::to_string_pretty(config).unwrap_or_default());
        s.push_str("\n```\n\n## Use from Rust\n\n");
        s.push_str(&format!(
            "Weights are in `model.safetensors` (metadata `gm.model = {model}`), the architecture in \
`config.json`. With [gm](https://github.com/gm-rs/gm):\n\n```rust\n\
let model = gm_hub::load::<ModelType>(\"path/to/this/folder\", &candle_core::Device::Cpu)?;\n```\n\n\
where `ModelType` is the gm type whose `SavedModel::MODEL` is `{model}`. From Python, \
`safetensors.torch.load_file(\"model.safetensors\")` reads the same tensors.\n"
        ));
        s
    }
}
