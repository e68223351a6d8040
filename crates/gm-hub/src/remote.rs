//! Upload to and download from the Hugging Face Hub (feature `remote`, through hf-hub 1.0).
//!
//! [`push`] creates the repository if needed and uploads an export folder in one commit;
//! [`plan_push`] lists what would be sent (the `--dry-run` of `cargo xtask export`).
//! [`pull`] downloads a model folder into hf-hub's cache (`HF_HOME`, `HF_HUB_CACHE` and
//! `HF_ENDPOINT` are honoured) and returns the snapshot folder, which [`crate::load`] reads;
//! in offline mode (`HF_HUB_OFFLINE=1` or [`PullOptions::offline`]) only the cache is used.
//!
//! The token comes from `HF_TOKEN`, else the file named by `HF_TOKEN_PATH`, else
//! `$HF_HOME/token` (by default `~/.cache/huggingface/token`). It is passed to hf-hub and to
//! nothing else: no message, log line or file of gm contains it.

use std::path::{Path, PathBuf};

use hf_hub::{HFClient, HFError, RepoTypeModel};

use crate::folder::FILES;
use crate::{Error, Result};

/// Where and how to talk to the Hub.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// Base URL; `None` reads `HF_ENDPOINT`, else `https://huggingface.co`.
    pub endpoint: Option<String>,
    /// Cache folder for downloads; `None` reads `HF_HUB_CACHE` / `HF_HOME`.
    pub cache_dir: Option<PathBuf>,
    /// Attempts per request on transient failures (`None`: hf-hub's default).
    pub max_attempts: Option<usize>,
}

/// A file of a planned upload: its path in the repository and its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// The file's path in the repository (its name in the export folder).
    pub path_in_repo: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// The result of [`push`].
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The repository's URL, as the Hub reports it.
    pub repo_url: String,
    /// The upload commit's URL, when the Hub reports one.
    pub commit_url: Option<String>,
    /// The files uploaded, as [`plan_push`] lists them.
    pub files: Vec<PlannedFile>,
}

/// Options of [`pull`].
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// Where and how to talk to the Hub.
    pub hub: HubOptions,
    /// Use only the local cache, never the network (also set by `HF_HUB_OFFLINE=1`).
    pub offline: bool,
    /// Branch, tag or commit (`main` when `None`).
    pub revision: Option<String>,
}

/// The token from the environment or the standard token file, `None` when there is none.
pub fn token_from_env() -> Option<String> {
    if let Ok(t) = std::env::var("HF_TOKEN") {
        if !t.trim().is_empty() {
            return Some(t.trim().to_string());
        }
    }
    let file = match std::env::var_os("HF_TOKEN_PATH") {
        Some(p) => PathBuf::from(p),
        None => hf_home().join("token"),
    };
    std::fs::read_to_string(file)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn hf_home() -> PathBuf {
    if let Some(h) = std::env::var_os("HF_HOME") {
        return PathBuf::from(h);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("huggingface")
}

/// Whether `HF_HUB_OFFLINE` asks for offline mode (`1`, `true`, `yes`, `on`).
pub fn offline_from_env() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}

/// Splits `owner/name`, refusing anything else (an empty part, more slashes, spaces).
pub fn parse_repo_id(repo_id: &str) -> Result<(&str, &str)> {
    let ok_part = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo_id.split_once('/') {
        Some((owner, name)) if ok_part(owner) && ok_part(name) => Ok((owner, name)),
        _ => Err(Error::Hub {
            repo: repo_id.to_string(),
            message: "a repository id must look like `owner/name` (letters, digits, - _ .)".into(),
        }),
    }
}

/// The files of an export folder that an upload sends, in upload order, with sizes. Only the
/// files gm writes are sent; a missing weights file is an error.
pub fn plan_push(dir: &Path) -> Result<Vec<PlannedFile>> {
    let weights = dir.join(FILES[0]);
    if !weights.is_file() {
        return Err(Error::Invalid {
            path: weights,
            message: "not found: push an export folder (cargo xtask export ... --out DIR)".into(),
        });
    }
    let mut out = Vec::new();
    for f in FILES {
        let p = dir.join(f);
        if let Ok(m) = std::fs::metadata(&p) {
            out.push(PlannedFile {
                path_in_repo: f.to_string(),
                bytes: m.len(),
            });
        }
    }
    Ok(out)
}

fn client(hub: &HubOptions, token: Option<String>) -> Result<hf_hub::HFClientSync> {
    let mut b = HFClient::builder();
    if let Some(t) = token {
        b = b.token(t);
    }
    if let Some(e) = &hub.endpoint {
        b = b.endpoint(e.clone());
    }
    if let Some(c) = &hub.cache_dir {
        b = b.cache_dir(c.clone());
    }
    if let Some(n) = hub.max_attempts {
        b = b.retry_max_attempts(n.max(1));
    }
    b.build_sync().map_err(|e| Error::Hub {
        repo: String::new(),
        message: format!("could not set up the Hub client: {}", describe(&e, "")),
    })
}

/// A message for a Hub failure that names the cause and never repeats request headers.
fn describe(e: &HFError, endpoint: &str) -> String {
    match e {
        HFError::AuthRequired { .. } => {
            "authentication failed (401): the token is missing, expired or invalid; set HF_TOKEN \
             or log in with `huggingface-cli login`"
                .into()
        }
        HFError::Forbidden { .. } => {
            "no permission (403): the token cannot write to this repository (it needs the \
             `write` role, and the owner must be you or an organisation you can write to)"
                .into()
        }
        HFError::RepoNotFound { .. } => "repository not found (or private and not yours)".into(),
        HFError::EntryNotFound { path, .. } => format!("file `{path}` not found in the repository"),
        HFError::LocalEntryNotFound { path } => {
            format!("offline mode: `{path}` is not in the local cache; run once online first")
        }
        HFError::Request { source, .. } => {
            let what = if source.is_connect() {
                "could not connect"
            } else if source.is_timeout() {
                "timed out"
            } else {
                "request failed"
            };
            format!("network failure: {what} reaching {endpoint}")
        }
        HFError::RateLimited { .. } => "rate limited by the Hub (429); try again later".into(),
        HFError::Http { context } => format!("the Hub answered HTTP {}", context.status),
        HFError::Io(io) => format!("local file error: {io}"),
        other => {
            // Other variants carry no credentials; keep their text but only the first line.
            other.to_string().lines().next().unwrap_or("").to_string()
        }
    }
}

fn endpoint_of(hub: &HubOptions) -> String {
    hub.endpoint
        .clone()
        .or_else(|| std::env::var("HF_ENDPOINT").ok())
        .unwrap_or_else(|| "https://huggingface.co".into())
}

/// Creates `repo_id` if it does not exist (as private when asked) and uploads the export
/// folder `dir` in one commit. The token must be given or found by [`token_from_env`].
pub fn push(
    dir: &Path,
    repo_id: &str,
    private: bool,
    token: Option<String>,
    hub: &HubOptions,
) -> Result<Pushed> {
    let (owner, name) = parse_repo_id(repo_id)?;
    let files = plan_push(dir)?;
    let token = token.or_else(token_from_env).ok_or_else(|| Error::Hub {
        repo: repo_id.to_string(),
        message: "no Hub token: set HF_TOKEN, or log in with `huggingface-cli login` (token \
                  file $HF_HOME/token)"
            .into(),
    })?;
    let endpoint = endpoint_of(hub);
    let fail = |e: HFError| Error::Hub {
        repo: repo_id.to_string(),
        message: describe(&e, &endpoint),
    };
    let api = client(hub, Some(token))?;
    let created = api
        .create_repository()
        .repo_id(repo_id)
        .repo_type(RepoTypeModel)
        .private(private)
        .exist_ok(true)
        .send()
        .map_err(fail)?;
    let allow: Vec<String> = files.iter().map(|f| f.path_in_repo.clone()).collect();
    let commit = api
        .model(owner, name)
        .upload_folder()
        .folder_path(dir.to_path_buf())
        .allow_patterns(allow)
        .commit_message(format!(
            "Upload {name} with gm {}",
            env!("CARGO_PKG_VERSION")
        ))
        .send()
        .map_err(fail)?;
    Ok(Pushed {
        repo_url: created.url,
        commit_url: commit.commit_url,
        files,
    })
}

/// Downloads the model folder of `repo_id` (weights, config, card and, when present, the
/// sample grid) into the cache and returns the snapshot folder holding them.
pub fn pull(repo_id: &str, opts: &PullOptions) -> Result<PathBuf> {
    let (owner, name) = parse_repo_id(repo_id)?;
    let offline = opts.offline || offline_from_env();
    let endpoint = endpoint_of(&opts.hub);
    let api = client(&opts.hub, token_from_env())?;
    let repo = api.model(owner, name);
    let mut snapshot: Option<PathBuf> = None;
    for f in FILES {
        let got = repo
            .download_file()
            .filename(f)
            .maybe_revision(opts.revision.clone())
            .local_files_only(offline)
            .send();
        match got {
            Ok(p) => {
                if snapshot.is_none() {
                    snapshot = p.parent().map(Path::to_path_buf);
                }
            }
            // The sample grid and the card are optional; the weights and config are not.
            Err(HFError::EntryNotFound { .. }) | Err(HFError::LocalEntryNotFound { .. })
                if f == "samples.png" || f == "README.md" => {}
            Err(e) => {
                return Err(Error::Hub {
                    repo: repo_id.to_string(),
                    message: format!("{f}: {}", describe(&e, &endpoint)),
                })
            }
        }
    }
    snapshot.ok_or_else(|| Error::Hub {
        repo: repo_id.to_string(),
        message: "download produced no files".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_are_checked() {
        assert_eq!(
            parse_repo_id("me/dcgan-mnist").unwrap(),
            ("me", "dcgan-mnist")
        );
        for bad in ["dcgan", "/x", "me/", "a/b/c", "me/my model", ""] {
            let e = parse_repo_id(bad).unwrap_err().to_string();
            assert!(e.contains("owner/name"), "{bad}: {e}");
        }
    }

    #[test]
    fn plan_needs_the_weights() {
        let dir = std::env::temp_dir().join(format!("gm-hub-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = plan_push(&dir).unwrap_err().to_string();
        assert!(e.contains("model.safetensors"), "{e}");
        std::fs::write(dir.join("model.safetensors"), b"12345").unwrap();
        std::fs::write(dir.join("notes.txt"), b"private").unwrap();
        let plan = plan_push(&dir).unwrap();
        assert_eq!(
            plan,
            vec![PlannedFile {
                path_in_repo: "model.safetensors".into(),
                bytes: 5
            }]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
