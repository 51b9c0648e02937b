//! Media rehosting end to end: the sample export's images, files, voice and video (and
//! thumbnails) are served by a local "old CDN"; `cutover run` copies each into a real S3
//! server (s3s-fs, started by scripts/s3/start.sh) before the messages go, and the messages
//! carry the copies' URLs. The old CDN can then be stopped without a message losing its
//! media; a URL the CDN answers 404 is a failed object with its reason, and the policy decides
//! what its message carries; a SIGKILL in the middle of the stage resumes without fetching a
//! copied object again.
#![allow(clippy::unwrap_used)]

use crate::common;
use crate::s3_rig::{PublicBase, ACCESS_KEY, BUCKET, REGION, S3, SECRET_KEY};
use common::engine::{app_config, run_command, sample_data, APP_KEYS};
use cutover::source::{validate_export_with, ExportDir, Valid};
use cutover::store::open_for_reading;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The host the sample's media URLs name.
const CDN: &str = "cdn.example-im.com";

/// The bytes the old CDN serves at `path`: 1 to 9 kB, a function of the path.
fn bytes_of(path: &str) -> Vec<u8> {
    let seed = u64::from_le_bytes(
        sha2::Sha256::digest(path.as_bytes())[..8]
            .try_into()
            .unwrap(),
    );
    crate::s3_rig::content(seed, 1000 + (seed % 8000) as usize)
}

/// A local stand-in for the old system's CDN: counts the GETs of each path, answers 404 for
/// the paths in `missing`, and waits `delay` before each answer.
struct OldCdn {
    url: String,
    gets: Arc<Mutex<BTreeMap<String, u64>>>,
    missing: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl OldCdn {
    async fn start(missing: BTreeSet<String>, delay: Duration) -> OldCdn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let gets = Arc::new(Mutex::new(BTreeMap::new()));
        let counted = Arc::clone(&gets);
        let missing = Arc::new(Mutex::new(missing));
        let lost = Arc::clone(&missing);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let (counted, lost) = (Arc::clone(&counted), Arc::clone(&lost));
            async move {
                let path = uri.path().to_string();
                *counted.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                tokio::time::sleep(delay).await;
                if lost.lock().unwrap().contains(&path) {
                    return Err(axum::http::StatusCode::NOT_FOUND);
                }
                Ok(bytes_of(&path))
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        OldCdn {
            url,
            gets,
            missing,
            task,
        }
    }

    /// The lost objects are found again.
    fn restore(&self) {
        self.missing.lock().unwrap().clear();
    }

    fn gets(&self) -> BTreeMap<String, u64> {
        self.gets.lock().unwrap().clone()
    }
}

impl Drop for OldCdn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The sample export copied under `dir`, with one more message that uses an image an earlier
/// message uses (a URL two messages share is one object).
fn export_with_shared_url(dir: &Path) -> (PathBuf, String) {
    let out = dir.join("export");
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(sample_data()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), out.join(entry.file_name())).unwrap();
    }
    let shared = "https://cdn.example-im.com/img/63e3e36fe023950e074fb33733c2c112.jpg";
    let line = format!(
        "{{\"id\":\"m00000999\",\"from\":\"u0000029\",\"to\":\"u0000030\",\"sent_at\":1726907999,\
         \"body\":[{{\"type\":\"image\",\"url\":\"{shared}\",\"uuid\":\"x\",\"width\":1,\"height\":1}}]}}\n"
    );
    let path = out.join("c2c_messages.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&line);
    std::fs::write(&path, text).unwrap();
    (out, shared.to_string())
}

/// Every media URL of the export's valid messages (path part), with how many references.
fn media_paths(export: &Path) -> BTreeMap<String, u64> {
    use cutover::model::ExportRecord;
    let dir = ExportDir::open(export).unwrap();
    let mut paths = BTreeMap::new();
    let mut count = |refs: Vec<cutover::model::media::MediaRef<'_>>| {
        for r in refs {
            let path = r.url.split_once(CDN).unwrap().1.to_string();
            *paths.entry(path).or_insert(0) += 1;
        }
    };
    validate_export_with(&dir, &mut |_| {}, &mut |_, record| match record {
        Valid::C2cMessage(m) => count(m.media()),
        Valid::GroupMessage(m) => count(m.media()),
        _ => {}
    })
    .unwrap();
    paths
}

/// A runbook that rehosts the CDN through `cdn` into `s3`, served at `public`.
fn runbook(dir: &Path, cdn: &OldCdn, s3: &S3, public: &str, on_unreachable: &str) -> PathBuf {
    let text = format!(
        "{APP_KEYS}\n[media]\non_unreachable = \"{on_unreachable}\"\nper_host_concurrency = 2\n\
         [media.bucket]\nendpoint = \"{}\"\nregion = \"{REGION}\"\nbucket = \"{BUCKET}\"\n\
         prefix = \"im\"\npublic_base = \"{public}\"\npath_style = true\n\
         [[media.host]]\npattern = \"{CDN}\"\naction = \"rehost\"\nfetch_from = \"{}\"\n",
        s3.endpoint, cdn.url
    );
    let path = dir.join("media.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every media URL of the messages the simulator holds.
fn imported_media_urls(handle: &cutover::sim::SimHandle) -> Vec<String> {
    let dump = handle.sim().dump().to_string();
    let mut urls = Vec::new();
    for key in [
        "\"URL\":\"",
        "\"Url\":\"",
        "\"VideoUrl\":\"",
        "\"ThumbUrl\":\"",
    ] {
        for piece in dump.split(key).skip(1) {
            urls.push(piece.split('"').next().unwrap().to_string());
        }
    }
    urls
}

fn with_s3_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.env("CUTOVER_S3_ACCESS_KEY_ID", ACCESS_KEY)
        .env("CUTOVER_S3_SECRET_ACCESS_KEY", SECRET_KEY)
}

/// `cutover run` of `export` into the rig with `args` and the bucket's credentials, to its
/// end: its exit code, and its stdout then stderr (for the assertion messages).
fn run_with_s3(rig: &common::Rig, export: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = run_command(&rig.handle, &rig.store, export, args);
    let out = with_s3_env(&mut cmd)
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_element_points_at_the_bucket_and_outlives_the_old_cdn() {
    let rig = common::Rig::new(app_config()).await;
    let (export, shared) = export_with_shared_url(rig.dir.path());
    let paths = media_paths(&export);
    // Two objects the old CDN lost: a video's thumbnail (c2c line 5) and a file (line 3).
    let thumb = "/thumb/026feb7e3373d741c8a62b2edb826aa5.jpg";
    let file = "/file/a4d0f60bc123d127f8afd8ba1f76e74f.bin";
    let gone: BTreeSet<String> = [thumb.to_string(), file.to_string()].into();
    assert!(gone.iter().all(|g| paths.contains_key(g)));
    let cdn = OldCdn::start(gone.clone(), Duration::ZERO).await;
    let s3 = S3::start();
    let public = PublicBase::start(s3.bucket_dir()).await;
    let book = runbook(rig.dir.path(), &cdn, &s3, &public.url(), "placeholder");
    let args = ["--yes", "--config", book.to_str().unwrap()];
    let (code, text) = run_with_s3(&rig, &export, &args);
    // Exit 3: every item settled, two media objects failed (404).
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("media objects not copied"), "{text}");

    // Each URL was fetched once, the shared one included.
    let gets = cdn.gets();
    let url_path = shared.split_once(CDN).unwrap().1;
    assert_eq!(paths[url_path], 2, "two messages share it");
    for path in paths.keys().filter(|p| !gone.contains(*p)) {
        assert_eq!(gets.get(path), Some(&1), "{path} fetched once: {gets:?}");
    }

    // The bucket holds each object once, under its content's hash, with the right bytes.
    let stored: Vec<PathBuf> = std::fs::read_dir(s3.bucket_dir().join("im"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(stored.len(), paths.len() - 2, "one object per URL copied");
    for file in &stored {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_str().unwrap();
        let sha = format!("{:x}", sha2::Sha256::digest(&bytes));
        assert!(name.starts_with(&sha), "{name} is its content's hash");
    }

    // Every media element the target holds points at the bucket; the lost thumbnail is gone
    // from its video, and the lost file's message says what was there.
    drop(cdn);
    let urls = imported_media_urls(&rig.handle);
    assert!(!urls.is_empty());
    for url in urls.iter().filter(|u| !u.is_empty()) {
        assert!(
            url.starts_with(&format!("{}/im/", public.url())),
            "{url} points at the bucket"
        );
    }
    assert!(!urls.iter().any(|u| u.contains(CDN)), "no old URL is left");
    let dump = rig.handle.sim().dump().to_string();
    assert!(
        dump.contains("[file no longer available: 报告.pdf]"),
        "the placeholder"
    );
    // With the old CDN stopped, the copies still serve the original bytes.
    let client = reqwest::Client::new();
    for (path, _) in paths.iter().filter(|(p, _)| !gone.contains(*p)).take(5) {
        let want = bytes_of(path);
        let sha = format!("{:x}", sha2::Sha256::digest(&want));
        let hit = urls.iter().find(|u| u.contains(&sha)).unwrap();
        let got = client.get(hit).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(got.as_ref(), want.as_slice(), "{hit}");
    }

    // The failed object: its reason, where it is used, and the verify step checked the rest.
    let errors = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["errors", "--store"])
        .arg(&rig.store)
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&errors.stdout);
    assert!(errors.contains("HTTP 404"), "{errors}");
    assert!(errors.contains("c2c_messages.jsonl:5"), "{errors}");
    assert!(errors.contains("c2c_messages.jsonl:3"), "{errors}");
    let report = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["report", "--format", "md", "--store"])
        .arg(&rig.store)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    let copied = format!(
        "{} of {} media objects copied",
        paths.len() - 2,
        paths.len()
    );
    assert!(
        report.contains("## Media") && report.contains(&copied),
        "{report}"
    );
    assert!(report.contains("HTTP 404"), "{report}");
    let status = common::status_text(&rig.store);
    assert!(
        status.contains(&format!(
            "media: {} of {} copies equal",
            paths.len() - 2,
            paths.len() - 2
        )),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_media_stage_resumes_without_copying_a_finished_object_again() {
    let rig = common::Rig::new(app_config()).await;
    let export = sample_data();
    let paths = media_paths(&export);
    let cdn = OldCdn::start(BTreeSet::new(), Duration::from_millis(40)).await;
    let s3 = S3::start();
    let public = PublicBase::start(s3.bucket_dir()).await;
    let book = runbook(rig.dir.path(), &cdn, &s3, &public.url(), "keep_url");
    let args = ["--yes", "--config", book.to_str().unwrap()];
    let mut child = with_s3_env(&mut run_command(&rig.handle, &rig.store, &export, &args))
        .spawn()
        .unwrap();
    // Wait for a positive signal: a dozen objects committed as copied.
    let copied = || -> BTreeSet<String> {
        let Ok(conn) = open_for_reading(&rig.store) else {
            return BTreeSet::new();
        };
        let mut stmt = match conn.prepare("SELECT url FROM media_object WHERE state = 1") {
            Ok(s) => s,
            Err(_) => return BTreeSet::new(),
        };
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    common::wait_until("a dozen objects copied", common::PATIENCE, || {
        copied().len() >= 12
    })
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let before = copied();
    assert!(
        before.len() < paths.len(),
        "killed in the middle of the stage"
    );

    let (code, text) = run_with_s3(&rig, &export, &args);
    assert_eq!(code, Some(0), "{text}");
    let gets = cdn.gets();
    for url in &before {
        let path = url.split_once(CDN).unwrap().1;
        assert_eq!(
            gets.get(path),
            Some(&1),
            "{path} was copied before the kill: fetched once"
        );
    }
    assert_eq!(
        copied().len(),
        paths.len(),
        "every object copied in the end"
    );
    assert!(imported_media_urls(&rig.handle)
        .iter()
        .all(|u| !u.contains(CDN)));
}

#[test]
fn the_demo_rehosts_the_samples_media_into_a_local_s3_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["demo", "--rehost", "--dir"])
        .arg(dir.path().join("demo"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = media_paths(&sample_data()).len();
    let copied = format!("media: {objects} of {objects} objects copied into the S3 server");
    assert!(text.contains(&copied), "{text}");
    let equal = format!("media: {objects} of {objects} copies equal");
    assert!(text.contains(&equal), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_object_stops_before_any_message_and_a_retry_copies_it() {
    let rig = common::Rig::new(app_config()).await;
    let export = sample_data();
    let file = "/file/a4d0f60bc123d127f8afd8ba1f76e74f.bin";
    let cdn = OldCdn::start([file.to_string()].into(), Duration::ZERO).await;
    let s3 = S3::start();
    let public = PublicBase::start(s3.bucket_dir()).await;
    let book = runbook(rig.dir.path(), &cdn, &s3, &public.url(), "placeholder");
    // Headless without --yes: the messages of the lost file wait for a confirmation.
    let args = ["--config", book.to_str().unwrap()];
    let (code, text) = run_with_s3(&rig, &export, &args);
    assert_eq!(code, Some(7), "{text}");
    assert!(text.contains("could not be copied"), "{text}");
    let dump = rig.handle.sim().dump();
    assert_eq!(
        dump["c2c_messages"].as_array().map_or(0, Vec::len),
        0,
        "no message sent"
    );

    let retry = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["retry", "--stage", "media", "--store"])
        .arg(&rig.store)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&retry.stdout);
    assert!(
        said.starts_with("1 failed media objects will be copied again"),
        "{said}"
    );
    cdn.restore();
    let (code, text) = run_with_s3(&rig, &export, &args);
    assert_eq!(code, Some(0), "{text}");
    let dump = rig.handle.sim().dump().to_string();
    assert!(
        !dump.contains("no longer available"),
        "the copy, not a placeholder"
    );
    assert!(imported_media_urls(&rig.handle)
        .iter()
        .all(|u| !u.contains(CDN)));
    assert_eq!(
        cdn.gets().get(file),
        Some(&2),
        "fetched again after the retry"
    );
}
