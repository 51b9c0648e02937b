//! The S3 client (`cutover::media::s3`) against a real S3-protocol server, s3s-fs started by
//! scripts/s3/start.sh: objects stored in one PUT and in parts keep their bytes and their
//! SHA-256, HEAD tells size and hash, what went on the wire is plain (no aws-chunked, no
//! trailers: COS refuses them), credentials come from the environment, and a wrong secret is
//! a clear error that never shows a secret.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure is the test's

use crate::common::alone::in_own_process;
use crate::s3_rig::{content, file, sha256_hex, Head, PublicBase, Recorder, BUCKET, S3};
use cutover::media::s3::{Bucket, Credentials, ObjectInfo, MIN_PART_SIZE};
use cutover::media::MediaError;

/// Stores `bytes` as an object of `bucket` and returns its key.
async fn store(bucket: &Bucket, dir: &std::path::Path, bytes: &[u8], ext: &str) -> String {
    let sha = sha256_hex(bytes);
    let key = bucket.key_for(&sha, ext);
    let path = file(dir, &sha, bytes);
    bucket
        .put_file(&key, &path, bytes.len() as u64, &sha)
        .await
        .unwrap();
    key
}

/// The object at `key` holds `bytes`: HEAD, a full read through the client, a plain GET of
/// its public URL.
async fn assert_holds(bucket: &Bucket, key: &str, bytes: &[u8]) {
    let sha = sha256_hex(bytes);
    let info = bucket.head(key).await.unwrap();
    let expected = ObjectInfo {
        size: bytes.len() as u64,
        sha256: Some(sha.clone()),
    };
    assert_eq!(info, Some(expected), "{key}");
    assert_eq!(
        bucket.get_sha256(key).await.unwrap(),
        (bytes.len() as u64, sha)
    );
    let got = reqwest::get(bucket.public_url(key)).await.unwrap();
    assert_eq!(got.status(), 200, "{}", bucket.public_url(key));
    assert!(got.bytes().await.unwrap() == bytes, "{key}: other bytes");
}

/// Nothing the client sent is chunked or carries a trailer or a checksum the server would
/// have to check: each body has a length and the hex SHA-256 of exactly that body.
fn assert_plain(requests: &[Head]) {
    assert!(!requests.is_empty());
    for r in requests {
        let said = format!("{} {:?}", r.line, r.headers);
        assert!(r.header("x-amz-trailer").is_none(), "{said}");
        assert!(r.header("x-amz-decoded-content-length").is_none(), "{said}");
        assert!(r.header("transfer-encoding").is_none(), "{said}");
        assert!(
            !r.header("content-encoding")
                .is_some_and(|v| v.contains("aws-chunked")),
            "{said}"
        );
        assert!(
            !r.headers
                .iter()
                .any(|(n, _)| n.starts_with("x-amz-checksum")),
            "{said}"
        );
        let hash = r.header("x-amz-content-sha256").unwrap_or_default();
        assert!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{said}"
        );
        if r.method() == "PUT" {
            assert!(r.header("content-length").is_some(), "{said}");
        }
    }
}

#[tokio::test]
async fn objects_in_one_put_and_in_parts_keep_their_bytes_and_hash() {
    let s3 = S3::start();
    let recorder = Recorder::start(s3.addr()).await;
    let public = PublicBase::start(s3.bucket_dir()).await;
    let cfg = s3.config(&recorder.endpoint(), "im/media", &public.url());
    let bucket = Bucket::connect_with(
        &cfg,
        Credentials::new(crate::s3_rig::ACCESS_KEY, crate::s3_rig::SECRET_KEY),
    )
    .unwrap()
    .with_part_size(MIN_PART_SIZE);
    let dir = tempfile::tempdir().unwrap();

    let small = content(1, 300_000);
    let key = store(&bucket, dir.path(), &small, "jpg").await;
    assert_eq!(key, format!("im/media/{}.jpg", sha256_hex(&small)));
    assert_holds(&bucket, &key, &small).await;

    // Two whole parts and a short last one.
    let large = content(2, 2 * MIN_PART_SIZE as usize + 123_457);
    let key = store(&bucket, dir.path(), &large, "mp4").await;
    assert_holds(&bucket, &key, &large).await;

    let missing = bucket.key_for(&sha256_hex(b"never stored"), "png");
    assert_eq!(bucket.head(&missing).await.unwrap(), None);

    let requests = recorder.requests();
    assert_plain(&requests);
    let parts: Vec<&Head> = requests
        .iter()
        .filter(|r| r.method() == "PUT" && r.line.contains("partNumber="))
        .collect();
    assert_eq!(parts.len(), 3, "{requests:?}");
    let started = requests
        .iter()
        .find(|r| r.method() == "POST" && r.line.contains("?uploads"))
        .expect("a multipart upload");
    assert_eq!(
        started.header("x-amz-meta-sha256"),
        Some(sha256_hex(&large).as_str())
    );
    let whole = requests
        .iter()
        .find(|r| r.method() == "PUT" && r.line.contains(".jpg "))
        .expect("the small object's PUT");
    assert_eq!(whole.header("content-length"), Some("300000"));
    // Path style: the bucket is the path's first segment.
    assert!(
        whole.line.starts_with(&format!("PUT /{BUCKET}/im/media/")),
        "{}",
        whole.line
    );
}

#[tokio::test]
async fn a_file_other_than_announced_stores_nothing() {
    let s3 = S3::start();
    let bucket = s3.bucket(&s3.endpoint);
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(3, 1000);
    let sha = sha256_hex(&bytes);
    let path = file(dir.path(), "f", &bytes);
    let key = bucket.key_for(&sha, "");
    for announced in [999, 1001] {
        let e = bucket
            .put_file(&key, &path, announced, &sha)
            .await
            .unwrap_err();
        assert!(matches!(e, MediaError::File { .. }), "{e}");
        assert!(e.to_string().contains("were announced"), "{e}");
    }
    assert_eq!(bucket.head(&key).await.unwrap(), None);
}

#[tokio::test]
async fn a_wrong_secret_is_a_clear_error_that_shows_no_secret() {
    let s3 = S3::start();
    let wrong = "not-the-secret-0123456789";
    let cfg = s3.config(&s3.endpoint, "m", "http://unused.invalid");
    let bucket =
        Bucket::connect_with(&cfg, Credentials::new(crate::s3_rig::ACCESS_KEY, wrong)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bytes = content(4, 1000);
    let sha = sha256_hex(&bytes);
    let path = file(dir.path(), "f", &bytes);
    let key = bucket.key_for(&sha, "gif");
    let put = bucket.put_file(&key, &path, 1000, &sha).await.unwrap_err();
    let head = bucket.head(&key).await.unwrap_err();
    for e in [put, head] {
        let said = e.to_string();
        assert!(said.contains("access denied"), "{said}");
        for part in [s3.endpoint.as_str(), BUCKET, key.as_str()] {
            assert!(said.contains(part), "{part} missing from {said}");
        }
        assert!(
            !said.contains(wrong) && !said.contains(crate::s3_rig::SECRET_KEY),
            "{said}"
        );
        assert!(!e.retry_can_help(), "{said}");
    }
}

#[tokio::test]
async fn the_credentials_come_from_the_environment() {
    let name = "the_credentials_come_from_the_environment";
    let vars = [
        ("CUTOVER_S3_ACCESS_KEY_ID", ""),
        ("CUTOVER_S3_SECRET_ACCESS_KEY", ""),
        ("AWS_ACCESS_KEY_ID", crate::s3_rig::ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", crate::s3_rig::SECRET_KEY),
    ];
    if !in_own_process(module_path!(), name, &vars) {
        return;
    }
    let s3 = S3::start();
    let cfg = s3.config(&s3.endpoint, "", "http://unused.invalid");
    // AWS's names, cutover's being empty.
    let bucket = Bucket::connect(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = store(&bucket, dir.path(), b"hello", "txt").await;
    assert_eq!(bucket.head(&key).await.unwrap().map(|i| i.size), Some(5));
    // cutover's names first.
    std::env::set_var("CUTOVER_S3_ACCESS_KEY_ID", crate::s3_rig::ACCESS_KEY);
    std::env::set_var("CUTOVER_S3_SECRET_ACCESS_KEY", "not-the-secret");
    let e = Bucket::connect(&cfg).unwrap().head(&key).await.unwrap_err();
    assert!(e.to_string().contains("access denied"), "{e}");
    // None at all.
    for var in ["CUTOVER_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"] {
        std::env::remove_var(var);
    }
    let e = Bucket::connect(&cfg).unwrap_err();
    assert!(matches!(e, MediaError::NoCredentials), "{e}");
    assert!(
        e.to_string().contains("CUTOVER_S3_SECRET_ACCESS_KEY"),
        "{e}"
    );
}
