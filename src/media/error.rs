//! What can go wrong speaking to the bucket. Every message names the endpoint, the bucket and
//! the key it is about, never a secret.

use std::path::PathBuf;

/// An error of the S3 client ([`crate::media::s3`]).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The environment holds no access key and secret.
    #[error(
        "no S3 credentials: set {} and {} (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
        crate::media::s3::ACCESS_KEY_ENV,
        crate::media::s3::SECRET_KEY_ENV
    )]
    NoCredentials,
    /// The bucket's settings cannot work (an endpoint that is no http(s) URL, a key that is no
    /// object path, …).
    #[error("S3 bucket {bucket} at {endpoint}: {reason}")]
    Config {
        /// The endpoint as configured.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// What is wrong.
        reason: String,
    },
    /// A request the server refused or that could not be sent (after the client's retries).
    #[error("{op} of {key} in S3 bucket {bucket} at {endpoint}: {reason}")]
    Request {
        /// The operation: "HEAD", "PUT", "multipart PUT" or "GET".
        op: &'static str,
        /// The endpoint.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The object's key.
        key: String,
        /// What went wrong, fit for the operator (secrets removed).
        reason: String,
        /// Whether trying again later can help (false when access was denied, say).
        retry: bool,
    },
    /// The local file to upload could not be read, or it does not have the size announced.
    #[error("uploading {path} as {key}: {reason}")]
    File {
        /// The local file.
        path: PathBuf,
        /// The object's key.
        key: String,
        /// What went wrong.
        reason: String,
    },
}

impl MediaError {
    /// Whether trying again later can help: a request that failed on the network or on a
    /// server error can; missing or refused credentials, bad settings and a bad local file
    /// cannot.
    pub fn retry_can_help(&self) -> bool {
        match self {
            MediaError::Request { retry, .. } => *retry,
            MediaError::NoCredentials | MediaError::Config { .. } | MediaError::File { .. } => {
                false
            }
        }
    }
}
