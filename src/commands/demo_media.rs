//! `cutover demo --rehost`: a local S3 server (s3s-fs, started by the project's own
//! scripts/s3/start.sh with its test-only credentials) for the demo to copy the sample's media
//! into, and the runbook's `[media]` that sends the sample CDN's URLs through the demo old
//! system's media server.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The bucket scripts/s3/start.sh makes, and its test-only credentials (never real ones).
const BUCKET: &str = "media";
const ACCESS_KEY: &str = "cutover-test";
const SECRET_KEY: &str = "cutover-test-secret";

/// The host the sample export's media URLs name.
const SAMPLE_CDN: &str = "cdn.example-im.com";

/// A running demo S3 server (it stops when the demo's process ends).
pub(crate) struct DemoBucket {
    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
}

/// The project's script, from the source tree the demo runs in.
fn script() -> anyhow::Result<PathBuf> {
    [
        PathBuf::from("scripts/s3/start.sh"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/s3/start.sh"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .context("cutover demo --rehost needs scripts/s3/start.sh of the cutover source tree; run it from there")
}

/// Starts the server with its data under `dir` and puts its credentials in the environment
/// (call before any thread runs).
pub(crate) fn start(dir: &Path) -> anyhow::Result<DemoBucket> {
    let output = Command::new("bash")
        .arg(script()?)
        .arg(dir)
        .env("CUTOVER_TEST_S3_ACCESS_KEY", ACCESS_KEY)
        .env("CUTOVER_TEST_S3_SECRET_KEY", SECRET_KEY)
        .env("CUTOVER_TEST_S3_BUCKET", BUCKET)
        .output()
        .context("cannot run scripts/s3/start.sh")?;
    if !output.status.success() {
        anyhow::bail!(
            "the demo's S3 server did not start (scripts/s3/install.sh installs it): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let endpoint = stdout
        .lines()
        .last()
        .filter(|l| l.starts_with("http://"))
        .context("scripts/s3/start.sh did not print its endpoint")?
        .to_string();
    std::env::set_var(crate::media::s3::ACCESS_KEY_ENV, ACCESS_KEY);
    std::env::set_var(crate::media::s3::SECRET_KEY_ENV, SECRET_KEY);
    Ok(DemoBucket { endpoint })
}

/// The runbook's `[media]`: the sample CDN's objects fetched through `media_origin` (the demo
/// old system's media server) and rehosted into `bucket`, served back from the bucket itself.
pub(crate) fn runbook_section(media_origin: &str, bucket: &DemoBucket) -> String {
    let endpoint = &bucket.endpoint;
    format!(
        "# Media: the sample CDN's objects are copied into the local S3 server before the\n\
         # messages go, and the messages carry the copies' URLs.\n\
         [media]\non_unreachable = \"placeholder\"\n\n\
         [media.bucket]\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\nbucket = \"{BUCKET}\"\n\
         prefix = \"im-history\"\npublic_base = \"{endpoint}/{BUCKET}\"\npath_style = true\n\n\
         [[media.host]]\npattern = \"{SAMPLE_CDN}\"\naction = \"rehost\"\nfetch_from = \"{media_origin}\"\n"
    )
}
