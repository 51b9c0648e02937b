//! A throwaway S3-protocol server for the media tests: s3s-fs started by the project's script
//! (scripts/s3/start.sh) in a temp directory on a free loopback port, stopped on drop (and by
//! the script's watchdog when the test process dies). Beside it, what the tests look through:
//! a recorder of the request heads the client sends ([`Recorder`]) and the public base that
//! serves the bucket's objects to anyone ([`PublicBase`]). A server that cannot start fails
//! the test, saying which script installs it.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a test failure

mod public;
mod recorder;

pub(crate) use public::PublicBase;
pub(crate) use recorder::{Head, Recorder};

use cutover::media::s3::{Bucket, BucketConfig, Credentials};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The test-only credentials the start script gives the server (scripts/s3/start.sh).
pub(crate) const ACCESS_KEY: &str = "cutover-test";
/// Their secret.
pub(crate) const SECRET_KEY: &str = "cutover-test-secret";
/// The bucket the script creates.
pub(crate) const BUCKET: &str = "media";
/// The region the requests are signed for (s3s-fs takes any).
pub(crate) const REGION: &str = "us-east-1";

/// A running s3s-fs; stopped when this is dropped.
pub(crate) struct S3 {
    /// `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
    pub(crate) dir: tempfile::TempDir,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl S3 {
    /// A fresh server with an empty bucket [`BUCKET`].
    pub(crate) fn start() -> S3 {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(repo().join("scripts/s3/start.sh"))
            .arg(dir.path())
            .output()
            .unwrap();
        let mut s3 = S3 {
            endpoint: String::new(),
            dir,
        };
        assert!(
            out.status.success(),
            "scripts/s3/start.sh could not start s3s-fs (run scripts/s3/install.sh, or \
             scripts/test, to install it): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        s3.endpoint = String::from_utf8_lossy(&out.stdout).trim().to_string();
        s3
    }

    /// The server's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.endpoint.trim_start_matches("http://").parse().unwrap()
    }

    /// The bucket's directory on disk (s3s-fs keeps an object at `<bucket dir>/<key>`).
    pub(crate) fn bucket_dir(&self) -> PathBuf {
        self.dir.path().join("s3/data").join(BUCKET)
    }

    /// The settings of the bucket, reached at `endpoint` (the server's, or a recorder's in
    /// front of it), objects under `prefix`, served at `public_base`.
    pub(crate) fn config(&self, endpoint: &str, prefix: &str, public_base: &str) -> BucketConfig {
        BucketConfig {
            endpoint: endpoint.to_string(),
            region: REGION.into(),
            bucket: BUCKET.into(),
            prefix: prefix.into(),
            public_base: public_base.into(),
            path_style: true,
        }
    }

    /// A client of the bucket at `endpoint` with the server's credentials.
    pub(crate) fn bucket(&self, endpoint: &str) -> Bucket {
        let cfg = self.config(endpoint, "media", "http://unused.invalid");
        Bucket::connect_with(&cfg, Credentials::new(ACCESS_KEY, SECRET_KEY)).unwrap()
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo().join("scripts/s3/stop.sh"))
            .arg(self.dir.path())
            .status();
    }
}

/// `len` bytes that differ from object to object (`seed`) and along the object.
pub(crate) fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes `bytes` to `dir/name` and returns the path.
pub(crate) fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}
