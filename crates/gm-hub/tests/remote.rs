//! Upload and download against a loopback HTTP server that implements the Hub endpoints gm
//! uses (repository creation, preupload, commit, file resolution), asserting the exact
//! requests; plus the failures a user meets: no token, a rejected token, no permission, no
//! network, offline mode without a cache.
#![cfg(feature = "remote")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use candle_core::Device;
use gm_core::classifier::MnistClassifier;
use gm_hub::remote::{plan_push, pull, push, HubOptions, PullOptions};
use gm_hub::{export, load, ExportOptions};

const TOKEN: &str = "hf_loopback_secret_token";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    /// Committed files of `me/tiny`, by path.
    files: BTreeMap<String, Vec<u8>>,
}

struct Hub {
    endpoint: String,
    state: Arc<Mutex<State>>,
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c) << (18 - 6 * i);
        }
        let n = chunk.len() * 6 / 8;
        for i in 0..n {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    let has_len = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_len {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn json(stream: &mut TcpStream, status: &str, v: serde_json::Value) {
    respond(
        stream,
        status,
        &[("Content-Type", "application/json".into())],
        v.to_string().as_bytes(),
    );
}

fn handle(mut stream: TcpStream, base: String, state: Arc<Mutex<State>>) {
    let Some(req) = read_request(&mut stream) else {
        return;
    };
    state.lock().unwrap().requests.push(req.clone());
    let authorized =
        req.headers.get("authorization").map(String::as_str) == Some(&format!("Bearer {TOKEN}"));
    let path = req.path.split('?').next().unwrap_or("").to_string();
    let m = req.method.as_str();
    if path.starts_with("/api/") && !authorized {
        return json(
            &mut stream,
            "401 Unauthorized",
            serde_json::json!({"error": "Invalid credentials in Authorization header"}),
        );
    }
    match (m, path.as_str()) {
        ("POST", "/api/repos/create") => {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            if body["organization"] == "someone-else" {
                return json(
                    &mut stream,
                    "403 Forbidden",
                    serde_json::json!({"error": "You don't have the rights to create a model under this namespace"}),
                );
            }
            let id = format!(
                "{}/{}",
                body["organization"].as_str().unwrap_or(""),
                body["name"].as_str().unwrap_or("")
            );
            json(
                &mut stream,
                "200 OK",
                serde_json::json!({"url": format!("{base}/{id}")}),
            )
        }
        ("POST", "/api/models/me/tiny/preupload/main") => {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            let files: Vec<_> = body["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| serde_json::json!({"path": f["path"], "uploadMode": "regular"}))
                .collect();
            json(&mut stream, "200 OK", serde_json::json!({ "files": files }))
        }
        ("POST", "/api/models/me/tiny/commit/main") => {
            let text = String::from_utf8(req.body.clone()).unwrap();
            let mut st = state.lock().unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                if v["key"] == "file" {
                    assert_eq!(v["value"]["encoding"], "base64");
                    st.files.insert(
                        v["value"]["path"].as_str().unwrap().to_string(),
                        base64_decode(v["value"]["content"].as_str().unwrap()),
                    );
                }
            }
            drop(st);
            json(
                &mut stream,
                "200 OK",
                serde_json::json!({
                    "commitUrl": format!("{base}/me/tiny/commit/{COMMIT}"),
                    "commitOid": COMMIT,
                    "commitMessage": "upload"
                }),
            )
        }
        (method, p) if p.starts_with("/me/tiny/resolve/main/") => {
            let name = p.trim_start_matches("/me/tiny/resolve/main/").to_string();
            let file = state.lock().unwrap().files.get(&name).cloned();
            match file {
                Some(bytes) => {
                    let headers = [
                        (
                            "ETag",
                            format!("\"etag-{}-{}\"", name.replace('.', "-"), bytes.len()),
                        ),
                        ("X-Repo-Commit", COMMIT.to_string()),
                        ("Content-Length", bytes.len().to_string()),
                    ];
                    let body: &[u8] = if method == "HEAD" { &[] } else { &bytes };
                    respond(&mut stream, "200 OK", &headers, body)
                }
                None => respond(
                    &mut stream,
                    "404 Not Found",
                    &[
                        ("X-Error-Code", "EntryNotFound".into()),
                        ("X-Repo-Commit", COMMIT.to_string()),
                    ],
                    b"Entry not found",
                ),
            }
        }
        _ => json(
            &mut stream,
            "404 Not Found",
            serde_json::json!({"error": format!("no route {m} {path}")}),
        ),
    }
}

fn start_hub() -> Hub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(State::default()));
    let (st, base) = (state.clone(), endpoint.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (st, base) = (st.clone(), base.clone());
            std::thread::spawn(move || handle(stream, base, st));
        }
    });
    Hub { endpoint, state }
}

fn exported(dir: &Path) -> MnistClassifier {
    let m = MnistClassifier::pretrained(&Device::Cpu).unwrap();
    export(&m, dir, &ExportOptions::default()).unwrap();
    m
}

fn hub_opts(hub: &Hub, cache: &Path) -> HubOptions {
    HubOptions {
        endpoint: Some(hub.endpoint.clone()),
        cache_dir: Some(cache.to_path_buf()),
        max_attempts: Some(1),
    }
}

#[test]
fn push_sends_one_commit_and_pull_loads_the_same_model() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("export"), tmp.path().join("cache"));
    let model = exported(&dir);
    std::fs::write(dir.join("private-notes.txt"), b"not for upload").ok();
    let opts = hub_opts(&hub, &cache);

    let plan = plan_push(&dir).unwrap();
    let names: Vec<_> = plan.iter().map(|f| f.path_in_repo.as_str()).collect();
    assert_eq!(names, ["model.safetensors", "config.json", "README.md"]);

    let pushed = push(&dir, "me/tiny", true, Some(TOKEN.into()), &opts).unwrap();
    assert_eq!(pushed.repo_url, format!("{}/me/tiny", hub.endpoint));
    assert_eq!(
        pushed.commit_url.as_deref(),
        Some(format!("{}/me/tiny/commit/{COMMIT}", hub.endpoint).as_str())
    );

    {
        let st = hub.state.lock().unwrap();
        let calls: Vec<_> = st
            .requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            calls,
            [
                "POST /api/repos/create",
                "POST /api/models/me/tiny/preupload/main",
                "POST /api/models/me/tiny/commit/main"
            ]
        );
        for r in &st.requests {
            assert_eq!(
                r.headers.get("authorization").map(String::as_str),
                Some(format!("Bearer {TOKEN}").as_str())
            );
        }
        let create: serde_json::Value = serde_json::from_slice(&st.requests[0].body).unwrap();
        assert_eq!(
            create,
            serde_json::json!({"name": "tiny", "organization": "me", "private": true, "type": "model"})
        );
        let pre: serde_json::Value = serde_json::from_slice(&st.requests[1].body).unwrap();
        let pre_paths: Vec<_> = pre["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(pre_paths.len(), 3);
        let commit = String::from_utf8(st.requests[2].body.clone()).unwrap();
        let header: serde_json::Value =
            serde_json::from_str(commit.lines().next().unwrap()).unwrap();
        assert_eq!(header["key"], "header");
        assert!(header["value"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Upload tiny with gm"));
        assert_eq!(commit.lines().count(), 4, "header + three files");
        // Every committed byte is the exported byte; the stray file was not sent.
        assert_eq!(st.files.len(), 3);
        for (name, bytes) in &st.files {
            assert_eq!(bytes, &std::fs::read(dir.join(name)).unwrap(), "{name}");
        }
        // The token appears in the Authorization header only.
        for r in &st.requests {
            assert!(!String::from_utf8_lossy(&r.body).contains(TOKEN));
        }
    }

    let pull_opts = PullOptions {
        hub: opts.clone(),
        ..Default::default()
    };
    let snap = pull("me/tiny", &pull_opts).unwrap();
    assert!(snap.starts_with(&cache), "{}", snap.display());
    let back: MnistClassifier = load(&snap, &Device::Cpu).unwrap();
    for (k, t) in gm_core::model::SavedModel::weights(&model) {
        let u = &gm_core::model::SavedModel::weights(&back)[&k];
        let d = (t - u).unwrap().abs().unwrap().max_all().unwrap();
        assert_eq!(d.to_scalar::<f32>().unwrap(), 0.0, "{k}");
    }

    // Offline: the cache alone serves the same folder, with the server gone quiet.
    let before = hub.state.lock().unwrap().requests.len();
    let offline = PullOptions {
        offline: true,
        ..pull_opts.clone()
    };
    let snap2 = pull("me/tiny", &offline).unwrap();
    assert_eq!(snap2, snap);
    assert_eq!(hub.state.lock().unwrap().requests.len(), before);
    // Offline with an empty cache is a clear error.
    let empty = PullOptions {
        offline: true,
        hub: hub_opts(&hub, &tmp.path().join("empty-cache")),
        ..Default::default()
    };
    let e = pull("me/tiny", &empty).unwrap_err().to_string();
    assert!(
        e.contains("offline") && e.contains("model.safetensors"),
        "{e}"
    );
}

#[test]
fn failures_are_named_and_never_show_the_token() {
    let hub = start_hub();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    exported(&dir);
    let opts = hub_opts(&hub, &tmp.path().join("cache"));

    // A rejected token.
    let e = push(&dir, "me/tiny", false, Some("hf_wrong".into()), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("401") && e.contains("me/tiny"), "{e}");
    assert!(!e.contains("hf_wrong"));

    // No permission on someone else's namespace.
    let e = push(&dir, "someone-else/tiny", false, Some(TOKEN.into()), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("403") && e.contains("permission"), "{e}");
    assert!(!e.contains(TOKEN));

    // No network: nothing listens on the port any more.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = HubOptions {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        ..opts.clone()
    };
    let e = push(&dir, "me/tiny", false, Some(TOKEN.into()), &dead)
        .unwrap_err()
        .to_string();
    assert!(e.contains("network failure"), "{e}");
    assert!(!e.contains(TOKEN));

    // A bad repository id and a folder that is not an export fail before any request.
    let n = hub.state.lock().unwrap().requests.len();
    assert!(push(&dir, "tiny", false, Some(TOKEN.into()), &opts).is_err());
    let e = push(tmp.path(), "me/tiny", false, Some(TOKEN.into()), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    assert_eq!(hub.state.lock().unwrap().requests.len(), n);
}

#[test]
fn missing_token_is_reported_before_any_request() {
    // Point every token source at nothing; this test binary runs no other code that reads
    // these variables.
    let tmp = tempfile::tempdir().unwrap();
    std::env::remove_var("HF_TOKEN");
    std::env::set_var("HF_TOKEN_PATH", tmp.path().join("no-token"));
    let hub = start_hub();
    let dir = tmp.path().join("export");
    exported(&dir);
    let e = push(&dir, "me/tiny", false, None, &hub_opts(&hub, tmp.path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no Hub token") && e.contains("HF_TOKEN"), "{e}");
    assert!(hub.state.lock().unwrap().requests.is_empty());
}
