//! `cutover-bench media --size 1MB --count 200`: the media copy path, object by object as the
//! media stage does it: a GET from the old system's server (here an in-process HTTP server
//! that generates each object's bytes as it sends them, so it holds none in memory), streamed
//! to a temporary file with its SHA-256 (`fetch_to_file`), then stored in an S3 bucket
//! (`Bucket::put_file`: one PUT up to 16 MiB, multipart above). The bucket is a local s3s-fs
//! started by scripts/s3/start.sh (or `--endpoint`, with the credentials of the environment).
//! Prints objects/s, MB/s and this process's peak RSS (the S3 server's is its own).

use crate::rss;
use anyhow::{bail, Context};
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cutover::media::fetch::fetch_to_file;
use cutover::media::s3::{Bucket, BucketConfig, Credentials};
use futures_util::StreamExt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Settings of `cutover-bench media`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct MediaBench {
    /// Each object's size: bytes, or with a unit (KB, MB, GB: powers of 1000; KiB, MiB, GiB).
    #[arg(long, default_value = "1MB", value_parser = parse_size)]
    pub(crate) size: u64,
    /// How many objects.
    #[arg(long, default_value_t = 200)]
    pub(crate) count: u64,
    /// Objects copied at once.
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// A running S3 endpoint (path style, bucket `--bucket`, credentials from
    /// CUTOVER_S3_ACCESS_KEY_ID / CUTOVER_S3_SECRET_ACCESS_KEY) instead of a local s3s-fs.
    #[arg(long)]
    pub(crate) endpoint: Option<String>,
    /// The bucket of `--endpoint`.
    #[arg(long, default_value = "media")]
    pub(crate) bucket: String,
}

/// The credentials and bucket scripts/s3/start.sh gives its server.
const LOCAL_KEYS: (&str, &str) = ("cutover-test", "cutover-test-secret");
const LOCAL_BUCKET: &str = "media";
/// The bytes each object is cut from (the object's number makes its bytes its own).
const BLOCK: usize = 1024 * 1024;
/// The chunks the old server sends.
const CHUNK: usize = 64 * 1024;

/// `1MB`, `200MB`, `5MiB`, `1000`.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: f64 = number.parse().map_err(|_| format!("no size: {text:?}"))?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} (KB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    Ok((number * factor).round() as u64)
}

/// A local s3s-fs; stopped when dropped (its watchdog stops it too if this process dies).
struct LocalS3 {
    dir: tempfile::TempDir,
    endpoint: String,
}

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/s3")
}

impl LocalS3 {
    fn start() -> anyhow::Result<LocalS3> {
        let dir = tempfile::Builder::new()
            .prefix("cutover-bench-s3-")
            .tempdir()?;
        let out = Command::new("bash")
            .arg(scripts().join("start.sh"))
            .arg(dir.path())
            .output()
            .context("running scripts/s3/start.sh")?;
        if !out.status.success() {
            bail!(
                "scripts/s3/start.sh could not start s3s-fs (scripts/s3/install.sh installs it): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let endpoint = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok(LocalS3 { dir, endpoint })
    }
}

impl Drop for LocalS3 {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(scripts().join("stop.sh"))
            .arg(self.dir.path())
            .status();
    }
}

/// Runs the benchmark, printing its figures to `out`.
pub(crate) fn run_media_bench(b: &MediaBench, out: &mut dyn Write) -> anyhow::Result<()> {
    if b.count == 0 || b.size == 0 || b.concurrency == 0 {
        bail!("--size, --count and --concurrency must be above 0");
    }
    let local = match b.endpoint {
        Some(_) => None,
        None => Some(LocalS3::start()?),
    };
    let (endpoint, bucket_name, credentials) = match (&local, &b.endpoint) {
        (Some(s3), _) => (
            s3.endpoint.clone(),
            LOCAL_BUCKET.to_string(),
            Credentials::new(LOCAL_KEYS.0, LOCAL_KEYS.1),
        ),
        (None, Some(e)) => (e.clone(), b.bucket.clone(), Credentials::from_env()?),
        (None, None) => bail!("no S3 endpoint"),
    };
    let cfg = BucketConfig {
        endpoint: endpoint.clone(),
        region: "us-east-1".into(),
        bucket: bucket_name,
        prefix: "bench".into(),
        public_base: format!("{endpoint}/{LOCAL_BUCKET}"),
        path_style: true,
    };
    let bucket = Bucket::connect_with(&cfg, credentials)?;
    let work = tempfile::Builder::new()
        .prefix("cutover-bench-media-")
        .tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    writeln!(
        out,
        "bench media: {} objects of {} bytes, {} at once, old server (in-process HTTP) → \
         temporary file + SHA-256 → S3 {endpoint}",
        b.count, b.size, b.concurrency
    )?;
    out.flush()?;
    runtime.block_on(copy_all(b, &bucket, work.path(), out))
}

/// Serves the objects, copies them all, prints the figures.
async fn copy_all(
    b: &MediaBench,
    bucket: &Bucket,
    dir: &Path,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let base = old_server(b.size).await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let started = Instant::now();
    let copies = futures_util::stream::iter(0..b.count)
        .map(|i| copy_one(&client, bucket, &base, i, dir, b.size))
        .buffer_unordered(b.concurrency);
    let keys: Vec<String> = copies
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let secs = started.elapsed().as_secs_f64();
    // What the bucket holds: every object once, at its size.
    for key in [&keys[0], &keys[keys.len() - 1]] {
        let info = bucket.head(key).await?;
        if info.as_ref().map(|i| i.size) != Some(b.size) {
            bail!("{key}: the bucket holds {info:?}, not {} bytes", b.size);
        }
    }
    let distinct: std::collections::BTreeSet<&String> = keys.iter().collect();
    if distinct.len() as u64 != b.count {
        bail!("{} distinct keys for {} objects", distinct.len(), b.count);
    }
    let bytes = b.size * b.count;
    writeln!(
        out,
        "copied {} objects ({:.1} MB) in {secs:.2} s: {:.1} objects/s, {:.1} MB/s; \
         peak RSS {} MiB (this process: client, in-process old server; not s3s-fs)",
        b.count,
        bytes as f64 / 1e6,
        b.count as f64 / secs,
        bytes as f64 / 1e6 / secs,
        rss::peak_mib().map_or("?".into(), |m| m.to_string()),
    )?;
    Ok(())
}

/// Copies object `i`: GET to a temporary file with its hash, then into the bucket.
async fn copy_one(
    client: &reqwest::Client,
    bucket: &Bucket,
    base: &str,
    i: u64,
    dir: &Path,
    size: u64,
) -> anyhow::Result<String> {
    let fetched = fetch_to_file(client, &format!("{base}/objects/{i}"), dir, size).await?;
    let key = bucket.key_for(&fetched.sha256_hex, "bin");
    bucket
        .put_file(&key, fetched.path.path(), fetched.size, &fetched.sha256_hex)
        .await?;
    Ok(key)
}

/// The old system's media server: `/objects/{i}` is `size` bytes, made as they are sent.
async fn old_server(size: u64) -> anyhow::Result<String> {
    let block: Vec<u8> = (0..BLOCK as u64)
        .map(|x| (x.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let state = Arc::new((Bytes::from(block), size));
    let app = Router::new()
        .route("/objects/{i}", get(object))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

/// Object `i`: its number, then the block over and over, in chunks.
async fn object(State(state): State<Arc<(Bytes, u64)>>, UrlPath(i): UrlPath<u64>) -> Response {
    let (block, size) = (state.0.clone(), state.1);
    let head = Bytes::from(i.to_le_bytes().to_vec());
    let mut offsets = Vec::new();
    let mut at = head.len() as u64;
    while at < size {
        let len = (CHUNK as u64).min(size - at);
        offsets.push((at, len));
        at += len;
    }
    let first = head.slice(..(size.min(head.len() as u64) as usize));
    let chunks = std::iter::once(first).chain(offsets.into_iter().map(move |(at, len)| {
        let start = (at as usize) % (BLOCK - CHUNK);
        block.slice(start..start + len as usize)
    }));
    let body = Body::from_stream(futures_util::stream::iter(
        chunks.map(Ok::<_, std::convert::Infallible>),
    ));
    (
        StatusCode::OK,
        [
            (header::CONTENT_LENGTH, size.to_string()),
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("200MB"), Ok(200_000_000));
        assert_eq!(parse_size("5MiB"), Ok(5 * 1024 * 1024));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("1XB").is_err());
    }
}
