//! One media object fetched from the old system: streamed from its URL to a temporary file
//! while its SHA-256 is computed, so memory stays flat whatever its size, and refused as soon
//! as it passes the size limit. The media stage then stores the file in the bucket
//! ([`crate::media::s3::Bucket::put_file`]).

use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::path::Path;
use tokio::io::{AsyncWriteExt, BufWriter};

/// The write buffer between the response and the file.
const WRITE_BUFFER: usize = 1024 * 1024;

/// An object fetched to a temporary file (removed when this is dropped).
#[derive(Debug)]
pub struct Fetched {
    /// The file holding the bytes, in the directory given.
    pub path: tempfile::NamedTempFile,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of the bytes, lowercase hex.
    pub sha256_hex: String,
    /// The response's `Content-Type`, when it had one.
    pub content_type: Option<String>,
}

/// Why an object could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchFailure {
    /// The server answered with this HTTP status (not 2xx).
    Status(u16),
    /// No answer, or the body stalled, within the client's timeout.
    Timeout,
    /// The object is larger than the limit (its announced size, when the server gave one).
    TooLarge {
        /// The limit, bytes.
        limit: u64,
        /// The `Content-Length` announced, if any.
        announced: Option<u64>,
    },
    /// Nothing listens at the URL's host and port.
    Refused,
    /// The host could not be reached (a name that does not resolve, a TLS failure, …).
    Connect(String),
    /// The transfer broke off before the end of the body.
    Broken(String),
    /// The URL is not one that can be fetched.
    BadUrl(String),
    /// The temporary file could not be written.
    File(String),
}

impl std::fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchFailure::Status(code) => {
                let reason = reqwest::StatusCode::from_u16(*code)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "HTTP {code} {reason}")
            }
            FetchFailure::Timeout => write!(f, "timed out"),
            FetchFailure::TooLarge {
                limit,
                announced: Some(n),
            } => write!(f, "{n} bytes, over the size limit of {limit} bytes"),
            FetchFailure::TooLarge {
                limit,
                announced: None,
            } => write!(f, "over the size limit of {limit} bytes"),
            FetchFailure::Refused => write!(f, "connection refused"),
            FetchFailure::Connect(e) => write!(f, "cannot connect: {e}"),
            FetchFailure::Broken(e) => write!(f, "transfer broke off: {e}"),
            FetchFailure::BadUrl(e) => write!(f, "not a URL that can be fetched: {e}"),
            FetchFailure::File(e) => write!(f, "writing the temporary file: {e}"),
        }
    }
}

/// An object that could not be fetched: its URL (query hidden: it may carry a signature) and
/// why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GET {url}: {failure}")]
pub struct FetchError {
    /// The URL without its query string.
    pub url: String,
    /// Why.
    pub failure: FetchFailure,
}

impl FetchError {
    /// Whether trying again later can help: a timeout, a refused or broken connection, a
    /// server error (5xx), 408 or 429 can; 404 and the other 4xx, an object over the limit, a
    /// bad URL or a local file error cannot.
    pub fn retry_can_help(&self) -> bool {
        match &self.failure {
            FetchFailure::Status(code) => *code >= 500 || *code == 408 || *code == 429,
            FetchFailure::Timeout
            | FetchFailure::Refused
            | FetchFailure::Connect(_)
            | FetchFailure::Broken(_) => true,
            FetchFailure::TooLarge { .. } | FetchFailure::BadUrl(_) | FetchFailure::File(_) => {
                false
            }
        }
    }
}

/// Streams `url` into a new temporary file in `dir`, hashing it on the way; refuses an
/// object of more than `max_bytes` (before reading it when the server announces its size).
/// The client's own timeouts apply.
pub async fn fetch_to_file(
    client: &reqwest::Client,
    url: &str,
    dir: &Path,
    max_bytes: u64,
) -> Result<Fetched, FetchError> {
    let fail = |failure: FetchFailure| FetchError {
        url: without_query(url).to_string(),
        failure,
    };
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| fail(failure_of(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(FetchFailure::Status(status.as_u16())));
    }
    let announced = response.content_length();
    if announced.is_some_and(|n| n > max_bytes) {
        return Err(fail(FetchFailure::TooLarge {
            limit: max_bytes,
            announced,
        }));
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let file_error = |e: std::io::Error| fail(FetchFailure::File(e.to_string()));
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(file_error)?;
    let handle = temp.as_file().try_clone().map_err(file_error)?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(handle));
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| fail(failure_of(&e)))?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(fail(FetchFailure::TooLarge {
                limit: max_bytes,
                announced,
            }));
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(file_error)?;
    }
    out.flush().await.map_err(file_error)?;
    if let Some(n) = announced.filter(|n| *n != size) {
        return Err(fail(FetchFailure::Broken(format!(
            "{size} of the {n} bytes announced"
        ))));
    }
    Ok(Fetched {
        path: temp,
        size,
        sha256_hex: format!("{:x}", hasher.finalize()),
        content_type,
    })
}

/// What a client error means for the operator.
fn failure_of(e: &reqwest::Error) -> FetchFailure {
    if e.is_timeout() {
        return FetchFailure::Timeout;
    }
    if e.is_builder() {
        return FetchFailure::BadUrl(innermost(e));
    }
    if e.is_connect() {
        if refused(e) {
            return FetchFailure::Refused;
        }
        return FetchFailure::Connect(innermost(e));
    }
    FetchFailure::Broken(innermost(e))
}

/// Whether a connection refusal is among the causes of `e`.
fn refused(e: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

/// The deepest cause's message (the top one repeats the URL, query included).
fn innermost(e: &reqwest::Error) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// `url` without its query string and fragment.
fn without_query(url: &str) -> String {
    crate::model::media::without_user_info(url.split(['?', '#']).next().unwrap_or(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(failure: FetchFailure) -> FetchError {
        FetchError {
            url: "http://old.example/a.jpg".into(),
            failure,
        }
    }

    #[test]
    fn the_query_is_never_shown() {
        assert_eq!(
            without_query("http://h/a.jpg?X-Amz-Signature=abc#x"),
            "http://h/a.jpg"
        );
    }

    #[test]
    fn reasons_read_for_the_operator_and_say_whether_a_retry_helps() {
        let cases = [
            (FetchFailure::Status(404), "HTTP 404 Not Found", false),
            (
                FetchFailure::Status(503),
                "HTTP 503 Service Unavailable",
                true,
            ),
            (
                FetchFailure::Status(429),
                "HTTP 429 Too Many Requests",
                true,
            ),
            (FetchFailure::Timeout, "timed out", true),
            (FetchFailure::Refused, "connection refused", true),
            (
                FetchFailure::TooLarge {
                    limit: 10,
                    announced: Some(11),
                },
                "11 bytes, over the size limit of 10 bytes",
                false,
            ),
        ];
        for (failure, said, retry) in cases {
            let e = error(failure);
            assert_eq!(
                e.to_string(),
                format!("GET http://old.example/a.jpg: {said}")
            );
            assert_eq!(e.retry_can_help(), retry, "{e}");
        }
    }
}
