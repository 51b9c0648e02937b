//! The one S3 client: media objects stored in an S3-compatible bucket (Tencent COS, AWS S3, a
//! local s3s-fs) under content-addressed keys, on the `object_store` crate.
//!
//! What goes on the wire, and why:
//! - Plain bodies only. Each PUT (a whole object, or one part of a multipart upload) carries a
//!   `Content-Length` and an `x-amz-content-sha256` holding the hex SHA-256 of that body:
//!   object_store hashes every payload it is given as bytes. It never uses `aws-chunked`
//!   content encoding nor `x-amz-trailer` checksum trailers (COS refuses them), and no
//!   `x-amz-checksum-*` header is asked for (no checksum algorithm is configured).
//! - An object up to the part size goes in one PUT; a larger one as a multipart upload of
//!   parts of that size, read from the file one at a time: memory holds one part, whatever
//!   the object's size.
//! - The object's SHA-256 travels as user metadata (`x-amz-meta-sha256`), which HEAD returns.
//! - Credentials come only from the environment ([`ACCESS_KEY_ENV`], [`SECRET_KEY_ENV`], or
//!   AWS's names), never from a file; the secret is in no message.

use crate::media::MediaError;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, AttributeValue, Attributes, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt,
    PutPayload, RetryConfig,
};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The access key's variable.
pub const ACCESS_KEY_ENV: &str = "CUTOVER_S3_ACCESS_KEY_ID";
/// The secret's variable.
pub const SECRET_KEY_ENV: &str = "CUTOVER_S3_SECRET_ACCESS_KEY";
/// The variables read when cutover's are not set.
const AWS_ENV: (&str, &str) = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");

/// The part size of multipart uploads, and the largest object sent in one PUT.
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;
/// The smallest part S3 accepts (all but the last).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The user metadata (`x-amz-meta-…`) holding the object's SHA-256.
const SHA256_META: &str = "sha256";

/// Where the objects go: the runbook's `[media.bucket]` (endpoint without the bucket, which
/// is added as the path or as the host's first label; the prefix prepended to every key; the
/// public base an object's URL is made of, `/`, and its key).
pub type BucketConfig = crate::config::media::BucketSettings;

/// An access key and its secret (the secret is never shown, `Debug` included).
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
}

impl Credentials {
    /// A pair given directly (a test's own server; the operator's come from the environment).
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }

    /// The pair in [`ACCESS_KEY_ENV`] and [`SECRET_KEY_ENV`], else in `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`.
    pub fn from_env() -> Result<Credentials, MediaError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        [(ACCESS_KEY_ENV, SECRET_KEY_ENV), AWS_ENV]
            .into_iter()
            .find_map(|(id, secret)| Some(Credentials::new(var(id)?, var(secret)?)))
            .ok_or(MediaError::NoCredentials)
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .finish()
    }
}

/// What HEAD tells of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 (hex) stored as its user metadata, when it has one.
    pub sha256: Option<String>,
}

/// A bucket to store media objects in.
pub struct Bucket {
    store: AmazonS3,
    endpoint: String,
    bucket: String,
    prefix: String,
    public_base: String,
    part_size: u64,
    /// Only to take it out of any message that might quote it.
    secret: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl Bucket {
    /// A client of `cfg`'s bucket with the credentials of the environment
    /// ([`Credentials::from_env`]). Sends nothing yet.
    pub fn connect(cfg: &BucketConfig) -> Result<Bucket, MediaError> {
        Bucket::connect_with(cfg, Credentials::from_env()?)
    }

    /// A client of `cfg`'s bucket with `credentials`.
    pub fn connect_with(
        cfg: &BucketConfig,
        credentials: Credentials,
    ) -> Result<Bucket, MediaError> {
        let config_error = |reason: String| MediaError::Config {
            endpoint: cfg.endpoint.clone(),
            bucket: cfg.bucket.clone(),
            reason,
        };
        let endpoint = request_endpoint(cfg).map_err(config_error)?;
        let client = ClientOptions::new()
            .with_allow_http(true)
            .with_connect_timeout(Duration::from_secs(10))
            // One request carries at most one part.
            .with_timeout(Duration::from_secs(300));
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(60),
            ..RetryConfig::default()
        };
        // Static credentials always: the builder never looks for others (the environment's
        // AWS_* settings, an instance metadata service).
        let store = AmazonS3Builder::new()
            .with_endpoint(endpoint)
            .with_region(&cfg.region)
            .with_bucket_name(&cfg.bucket)
            .with_virtual_hosted_style_request(!cfg.path_style)
            .with_access_key_id(&credentials.access_key_id)
            .with_secret_access_key(&credentials.secret_access_key)
            .with_client_options(client)
            .with_retry(retry)
            .build()
            .map_err(|e| config_error(scrub(&e.to_string(), &credentials.secret_access_key)))?;
        Ok(Bucket {
            store,
            endpoint: cfg.endpoint.clone(),
            bucket: cfg.bucket.clone(),
            prefix: cfg.prefix.trim_matches('/').to_string(),
            public_base: cfg.public_base.trim_end_matches('/').to_string(),
            part_size: DEFAULT_PART_SIZE,
            secret: credentials.secret_access_key,
        })
    }

    /// The same bucket with parts of `bytes` (at least [`MIN_PART_SIZE`]): objects up to it
    /// go in one PUT.
    pub fn with_part_size(mut self, bytes: u64) -> Bucket {
        self.part_size = bytes.max(MIN_PART_SIZE);
        self
    }

    /// The key of an object of content `sha256_hex` whose name ends in `ext` (`"jpg"`,
    /// `".jpg"`, or empty for none): the prefix, `/`, the hash and `.ext`.
    pub fn key_for(&self, sha256_hex: &str, ext: &str) -> String {
        let ext = ext.trim_start_matches('.').to_ascii_lowercase();
        let mut key = String::new();
        if !self.prefix.is_empty() {
            key.push_str(&self.prefix);
            key.push('/');
        }
        key.push_str(&sha256_hex.to_ascii_lowercase());
        if !ext.is_empty() {
            key.push('.');
            key.push_str(&ext);
        }
        key
    }

    /// The URL that serves `key` to the clients: the public base, `/`, the key (each segment
    /// percent-encoded where it needs to be).
    pub fn public_url(&self, key: &str) -> String {
        let encoded: Vec<String> = key.split('/').map(encode_segment).collect();
        format!("{}/{}", self.public_base, encoded.join("/"))
    }

    /// The size and stored SHA-256 of `key`, or None when there is no such object.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, MediaError> {
        let path = self.path(key)?;
        let options = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        match self.store.get_opts(&path, options).await {
            Ok(found) => {
                let sha256 = found
                    .attributes
                    .get(&Attribute::Metadata(Cow::Borrowed(SHA256_META)))
                    .map(|v| v.to_string());
                Ok(Some(ObjectInfo {
                    size: found.meta.size,
                    sha256,
                }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.request_error("HEAD", key, e)),
        }
    }

    /// Stores the `size` bytes of `file` as `key`, with `sha256_hex` as its user metadata: in
    /// one PUT up to the part size, else as a multipart upload one part at a time. Fails when
    /// the file does not hold exactly `size` bytes (and then stores nothing).
    pub async fn put_file(
        &self,
        key: &str,
        file: &Path,
        size: u64,
        sha256_hex: &str,
    ) -> Result<(), MediaError> {
        let path = self.path(key)?;
        let file_error = |reason: String| MediaError::File {
            path: file.to_path_buf(),
            key: key.to_string(),
            reason,
        };
        let mut reader = tokio::fs::File::open(file)
            .await
            .map_err(|e| file_error(e.to_string()))?;
        let mut attributes = Attributes::new();
        attributes.insert(
            Attribute::Metadata(Cow::Borrowed(SHA256_META)),
            AttributeValue::from(sha256_hex.to_ascii_lowercase()),
        );
        if size <= self.part_size {
            let body = read_part(&mut reader, size)
                .await
                .map_err(|e| file_error(e.to_string()))?;
            check_size(&mut reader, body.len() as u64, size)
                .await
                .map_err(file_error)?;
            self.store
                .put_opts(&path, PutPayload::from(body), attributes.into())
                .await
                .map_err(|e| self.request_error("PUT", key, e))?;
            return Ok(());
        }
        let mut upload = self
            .store
            .put_multipart_opts(&path, attributes.into())
            .await
            .map_err(|e| self.request_error("multipart PUT", key, e))?;
        let sent = self.send_parts(upload.as_mut(), &mut reader, size).await;
        let result = match sent {
            Ok(()) => upload
                .complete()
                .await
                .map(|_| ())
                .map_err(|e| self.request_error("multipart PUT", key, e)),
            Err(Part::File(reason)) => Err(file_error(reason)),
            Err(Part::Request(e)) => Err(self.request_error("multipart PUT", key, e)),
        };
        if result.is_err() {
            // The parts sent so far are of no use; a failure to drop them changes nothing.
            let _ = upload.abort().await;
        }
        result
    }

    /// Sends `size` bytes of `reader` as parts of `upload`, one part in memory at a time.
    async fn send_parts(
        &self,
        upload: &mut dyn object_store::MultipartUpload,
        reader: &mut tokio::fs::File,
        size: u64,
    ) -> Result<(), Part> {
        let mut sent = 0;
        while sent < size {
            let want = self.part_size.min(size - sent);
            let body = read_part(reader, want)
                .await
                .map_err(|e| Part::File(e.to_string()))?;
            let got = body.len() as u64;
            if got < want {
                return Err(Part::File(format!(
                    "the file holds {} bytes, {size} were announced",
                    sent + got
                )));
            }
            upload
                .put_part(PutPayload::from(body))
                .await
                .map_err(Part::Request)?;
            sent += got;
        }
        check_size(reader, sent, size).await.map_err(Part::File)
    }

    /// Reads the whole of `key` back, returning its size and SHA-256 (hex): the full check of
    /// what the bucket holds. Memory stays flat whatever the object's size.
    pub async fn get_sha256(&self, key: &str) -> Result<(u64, String), MediaError> {
        let path = self.path(key)?;
        let found = self
            .store
            .get(&path)
            .await
            .map_err(|e| self.request_error("GET", key, e))?;
        let mut stream = found.into_stream();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.request_error("GET", key, e))?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((size, format!("{:x}", hasher.finalize())))
    }

    /// `key` as an object path, refused when it is none (empty segments, `..`).
    fn path(&self, key: &str) -> Result<ObjectPath, MediaError> {
        ObjectPath::parse(key).map_err(|e| MediaError::Config {
            endpoint: self.endpoint.clone(),
            bucket: self.bucket.clone(),
            reason: format!("{key:?} is no object key: {e}"),
        })
    }

    /// An error of request `op` on `key`, in words for the operator.
    fn request_error(&self, op: &'static str, key: &str, e: object_store::Error) -> MediaError {
        let (retry, reason) = match &e {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => (
                false,
                format!(
                    "access denied: check the access key and secret ({ACCESS_KEY_ENV}, \
                     {SECRET_KEY_ENV}) and the bucket's permissions ({e})"
                ),
            ),
            object_store::Error::NotFound { .. } => (false, format!("no such object ({e})")),
            object_store::Error::InvalidPath { .. }
            | object_store::Error::NotSupported { .. }
            | object_store::Error::NotImplemented { .. } => (false, e.to_string()),
            _ => (true, e.to_string()),
        };
        MediaError::Request {
            op,
            endpoint: self.endpoint.clone(),
            bucket: self.bucket.clone(),
            key: key.to_string(),
            reason: scrub(&reason, &self.secret),
            retry,
        }
    }
}

/// Why sending the parts stopped.
enum Part {
    File(String),
    Request(object_store::Error),
}

/// Up to `len` bytes of `reader` (fewer at its end).
async fn read_part(reader: &mut tokio::fs::File, len: u64) -> std::io::Result<Bytes> {
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(usize::MAX));
    reader.take(len).read_to_end(&mut buf).await?;
    Ok(Bytes::from(buf))
}

/// Checks that `reader`, `read` bytes in, is at its end and that `read` is `size`.
async fn check_size(reader: &mut tokio::fs::File, read: u64, size: u64) -> Result<(), String> {
    let mut more = [0u8; 1];
    let extra = reader.read(&mut more).await.map_err(|e| e.to_string())?;
    if extra > 0 {
        return Err(format!(
            "the file holds more than {size} bytes, {size} were announced"
        ));
    }
    if read != size {
        return Err(format!(
            "the file holds {read} bytes, {size} were announced"
        ));
    }
    Ok(())
}

/// The endpoint object_store is given: `cfg.endpoint` for path-style requests, with the
/// bucket as the host's first label for virtual-hosted ones.
fn request_endpoint(cfg: &BucketConfig) -> Result<String, String> {
    let endpoint = cfg.endpoint.trim_end_matches('/');
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return Err(format!("the endpoint {endpoint:?} is no http(s) URL"));
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        return Err(format!("the endpoint {endpoint:?} is no http(s) URL"));
    }
    if cfg.bucket.is_empty() {
        return Err("no bucket name".into());
    }
    if cfg.path_style || rest.starts_with(&format!("{}.", cfg.bucket)) {
        return Ok(endpoint.to_string());
    }
    Ok(format!("{scheme}://{}.{rest}", cfg.bucket))
}

/// `segment` percent-encoded but for RFC 3986's unreserved characters.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `text` with every occurrence of `secret` hidden.
fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    text.replace(secret, "<hidden>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(prefix: &str, path_style: bool) -> BucketConfig {
        BucketConfig {
            endpoint: "https://cos.ap-guangzhou.myqcloud.com/".into(),
            region: "ap-guangzhou".into(),
            bucket: "media-1250000000".into(),
            prefix: prefix.into(),
            public_base: "https://cdn.example.com/".into(),
            path_style,
        }
    }

    fn bucket(prefix: &str) -> Bucket {
        Bucket::connect_with(&cfg(prefix, true), Credentials::new("id", "s3cr3t")).unwrap()
    }

    #[test]
    fn keys_are_the_prefix_the_hash_and_the_extension() {
        let sha = "AB".repeat(32);
        let lower = "ab".repeat(32);
        assert_eq!(
            bucket("im/media/").key_for(&sha, ".JPG"),
            format!("im/media/{lower}.jpg")
        );
        assert_eq!(bucket("").key_for(&sha, ""), lower);
        assert_eq!(
            bucket("/m").key_for(&lower, "mp4"),
            format!("m/{lower}.mp4")
        );
    }

    #[test]
    fn public_urls_join_the_base_and_the_encoded_key() {
        let b = bucket("im media");
        assert_eq!(
            b.public_url("im media/ab.jpg"),
            "https://cdn.example.com/im%20media/ab.jpg"
        );
    }

    #[test]
    fn virtual_hosted_requests_put_the_bucket_in_the_host() {
        assert_eq!(
            request_endpoint(&cfg("", false)).unwrap(),
            "https://media-1250000000.cos.ap-guangzhou.myqcloud.com"
        );
        assert_eq!(
            request_endpoint(&cfg("", true)).unwrap(),
            "https://cos.ap-guangzhou.myqcloud.com"
        );
        let mut given = cfg("", false);
        given.endpoint = "https://media-1250000000.cos.ap-guangzhou.myqcloud.com".into();
        assert_eq!(request_endpoint(&given).unwrap(), given.endpoint);
        given.endpoint = "cos.ap-guangzhou.myqcloud.com".into();
        assert!(request_endpoint(&given)
            .unwrap_err()
            .contains("no http(s) URL"));
    }

    #[test]
    fn the_secret_is_in_no_message() {
        let b = bucket("");
        assert!(!format!("{b:?}").contains("s3cr3t"));
        let c = Credentials::new("id", "s3cr3t");
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert_eq!(
            scrub("sig for s3cr3t failed", "s3cr3t"),
            "sig for <hidden> failed"
        );
    }

    #[test]
    fn a_bad_key_is_a_config_error_naming_the_bucket() {
        let e = bucket("").path("a//b").unwrap_err().to_string();
        assert!(e.contains("media-1250000000") && e.contains("a//b"), "{e}");
    }

    #[test]
    fn parts_are_never_smaller_than_s3_accepts() {
        assert_eq!(bucket("").with_part_size(1).part_size, MIN_PART_SIZE);
    }
}
