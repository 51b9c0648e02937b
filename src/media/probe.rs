//! `--probe N`: a HEAD request to a few sample URLs of each host an export's media is on —
//! whether they answer, why not (status, timeout, DNS, TLS, refused), and the sizes they
//! announce. Requests run a few at a time, hosts taken in turn, each with a short timeout.
//!
//! A server that refuses HEAD (405, 501), or a signed URL that answers HEAD with 403 (an S3
//! presigned URL is signed for one method, GET), is asked for one byte instead: a GET with
//! `Range: bytes=0-0`, whose `Content-Range` gives the size. Nothing is downloaded: a server
//! that ignores the range gets its connection closed after the headers.

use crate::model::media::signed_marker;
use crate::source::media_inventory::shown_url;
use crate::tim::unreachable::{cause, Unreachable};
use futures_util::stream::{self, StreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use reqwest::{Client, Response, StatusCode};
use serde::Serialize;
use std::error::Error;
use std::fmt;
use std::time::Duration;

/// How a probe runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProbeOptions {
    /// Requests at a time, over all hosts.
    pub(crate) concurrency: usize,
    /// The time one request (connection included) may take.
    pub(crate) timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What the probe found on one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct HostProbe {
    /// The host, as the inventory names it.
    pub(crate) host: String,
    /// URLs asked.
    pub(crate) probed: u64,
    /// URLs that answered 2xx.
    pub(crate) reachable: u64,
    /// URLs that did not, in sample order, with why.
    pub(crate) failed: Vec<Failure>,
    /// The sizes the reachable URLs announced.
    pub(crate) sizes: Sizes,
}

/// Sizes announced by reachable URLs (`Content-Length`, or a ranged answer's total).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Sizes {
    /// Reachable URLs that announced a size.
    pub(crate) known: u64,
    /// The smallest.
    pub(crate) min: Option<u64>,
    /// The largest.
    pub(crate) max: Option<u64>,
    /// Their sum.
    pub(crate) total: u64,
}

impl Sizes {
    fn add(&mut self, size: u64) {
        self.known += 1;
        self.total += size;
        self.min = Some(self.min.map_or(size, |m| m.min(size)));
        self.max = Some(self.max.map_or(size, |m| m.max(size)));
    }
}

/// A URL that could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Failure {
    /// The URL as shown (a signed one without its query).
    pub(crate) url: String,
    /// Why.
    pub(crate) reason: Reason,
}

/// Why a URL could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Reason {
    /// The server answered with a status other than 2xx.
    Status {
        /// The status code.
        status: u16,
    },
    /// No answer within the timeout.
    Timeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
    /// The host name did not resolve.
    Dns {
        /// The resolver's words.
        detail: String,
    },
    /// The TLS handshake failed (a certificate refused, most often).
    Tls {
        /// What was wrong.
        detail: String,
    },
    /// Nothing listens there: the connection was refused.
    Refused,
    /// The connection failed another way.
    Connect {
        /// The error's chain.
        detail: String,
    },
    /// The request failed another way.
    Other {
        /// The error's chain.
        detail: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Status { status } => {
                let name = StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                write!(f, "HTTP {status}")?;
                name.map_or(Ok(()), |n| write!(f, " {n}"))
            }
            Reason::Timeout { after_ms } => {
                write!(f, "timed out after {} s", *after_ms as f64 / 1000.0)
            }
            Reason::Dns { detail } => write!(f, "DNS: {detail}"),
            Reason::Tls { detail } => write!(f, "TLS: {detail}"),
            Reason::Refused => write!(f, "connection refused"),
            Reason::Connect { detail } => write!(f, "cannot connect: {detail}"),
            Reason::Other { detail } => write!(f, "request failed: {detail}"),
        }
    }
}

/// The HTTP client could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client for the media probe: {0}")]
pub(crate) struct ProbeError(String);

/// Probes `targets` (each host with the URLs to ask, as the inventory's
/// [`probe_targets`](crate::source::media_inventory::MediaInventory::probe_targets) gives
/// them): one [`HostProbe`] per host, in the order given.
pub(crate) async fn probe(
    targets: &[(String, Vec<String>)],
    options: ProbeOptions,
) -> Result<Vec<HostProbe>, ProbeError> {
    let client = Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .user_agent(concat!(
            "cutover/",
            env!("CARGO_PKG_VERSION"),
            " media probe"
        ))
        .build()
        .map_err(|e| ProbeError(chain(&e)))?;
    let client = &client;
    let mut answers: Vec<(usize, Answer<'_>)> = stream::iter(jobs(targets).into_iter().enumerate())
        .map(|(order, (host, url))| async move {
            let outcome = probe_one(client, url, options.timeout).await;
            (order, Answer { host, url, outcome })
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    answers.sort_by_key(|(order, _)| *order);
    Ok(tally(targets, answers.into_iter().map(|(_, a)| a)))
}

/// What one URL gave: its size (if announced) when reachable, else why not.
type Outcome = Result<Option<u64>, Reason>;

/// One URL's answer: the index of its host in the targets, the URL, its outcome.
struct Answer<'a> {
    host: usize,
    url: &'a str,
    outcome: Outcome,
}

/// The requests to make, hosts in turn: the first URL of every host, then the second, …
fn jobs(targets: &[(String, Vec<String>)]) -> Vec<(usize, &str)> {
    let rounds = targets
        .iter()
        .map(|(_, urls)| urls.len())
        .max()
        .unwrap_or(0);
    (0..rounds)
        .flat_map(|i| {
            targets
                .iter()
                .enumerate()
                .filter_map(move |(h, (_, urls))| urls.get(i).map(|u| (h, u.as_str())))
        })
        .collect()
}

/// The answers, in request order, per host.
fn tally<'a>(
    targets: &[(String, Vec<String>)],
    answers: impl Iterator<Item = Answer<'a>>,
) -> Vec<HostProbe> {
    let mut hosts: Vec<HostProbe> = targets
        .iter()
        .map(|(host, _)| HostProbe {
            host: host.clone(),
            ..HostProbe::default()
        })
        .collect();
    for answer in answers {
        let Some(host) = hosts.get_mut(answer.host) else {
            continue;
        };
        host.probed += 1;
        match answer.outcome {
            Ok(size) => {
                host.reachable += 1;
                if let Some(size) = size {
                    host.sizes.add(size);
                }
            }
            Err(reason) => host.failed.push(Failure {
                url: shown_url(answer.url),
                reason,
            }),
        }
    }
    hosts
}

/// One URL: its announced size (if any) when it answers 2xx, else why not.
async fn probe_one(client: &Client, url: &str, timeout: Duration) -> Outcome {
    let failed = |e: reqwest::Error| reason(&e, timeout);
    let head = client.head(url).send().await.map_err(failed)?;
    let status = head.status();
    let refused_head = matches!(
        status,
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED
    ) || (status == StatusCode::FORBIDDEN && signed_marker(url).is_some());
    let answer = if refused_head {
        let get = client.get(url).header(RANGE, "bytes=0-0").send();
        get.await.map_err(failed)?
    } else {
        head
    };
    let status = answer.status();
    if !status.is_success() {
        return Err(Reason::Status {
            status: status.as_u16(),
        });
    }
    Ok(size_of(&answer))
}

/// The object's size: a ranged answer's total (`Content-Range: bytes 0-0/TOTAL`), else the
/// `Content-Length` header (read as sent: a HEAD answer has no body to measure).
fn size_of(answer: &Response) -> Option<u64> {
    let header = |name| answer.headers().get(name).and_then(|v| v.to_str().ok());
    if answer.status() == StatusCode::PARTIAL_CONTENT {
        return header(CONTENT_RANGE)
            .and_then(|r| r.rsplit('/').next())
            .and_then(|total| total.trim().parse().ok());
    }
    header(CONTENT_LENGTH).and_then(|n| n.trim().parse().ok())
}

/// Why a request failed, from reqwest's error and its causes.
fn reason(e: &reqwest::Error, timeout: Duration) -> Reason {
    if e.is_timeout() {
        return Reason::Timeout {
            after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        };
    }
    let detail = causes(e);
    match cause(e) {
        Some(Unreachable::UnknownHost) => {
            let at = detail.find("failed to lookup address").unwrap_or(0);
            return Reason::Dns {
                detail: detail[at..].to_string(),
            };
        }
        Some(u) => {
            return Reason::Tls {
                detail: u.what().to_string(),
            }
        }
        None => {}
    }
    if refused(e) {
        Reason::Refused
    } else if let Some(at) = detail.find("failed to lookup address") {
        Reason::Dns {
            detail: detail[at..].to_string(),
        }
    } else if detail.contains("dns error") {
        Reason::Dns { detail }
    } else if has_tls_error(e) {
        Reason::Tls { detail }
    } else if e.is_connect() {
        Reason::Connect { detail }
    } else {
        Reason::Other { detail }
    }
}

/// Whether an I/O error in the chain is a refused connection.
fn refused(e: &(dyn Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
            // An I/O error's source() skips the error it wraps: walk that one too.
            if io.get_ref().is_some_and(|inner| refused(inner)) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// Whether the chain holds a TLS error (a handshake failure other than a refused
/// certificate, which [`cause`] names).
fn has_tls_error(e: &(dyn Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.get_ref().is_some_and(|inner| has_tls_error(inner)) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// The error and its causes, `: `-separated, each once.
fn chain(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = s.source();
    }
    text
}

/// The causes of a request's error, without reqwest's own words (which repeat the URL) and
/// hyper's "client error (Connect)"; the whole chain when there is no cause.
fn causes(e: &reqwest::Error) -> String {
    let Some(source) = e.source() else {
        return chain(e);
    };
    let text = chain(source);
    match text.strip_prefix("client error (Connect): ") {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{header, HeaderMap};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::Router;

    /// 2,500 bytes, or the first of them when asked for `bytes=0-0`.
    async fn ranged(headers: HeaderMap) -> axum::response::Response {
        let one = headers.get(header::RANGE).is_some_and(|r| r == "bytes=0-0");
        if one {
            let range = [(header::CONTENT_RANGE, "bytes 0-0/2500")];
            (StatusCode::PARTIAL_CONTENT, range, vec![0u8]).into_response()
        } else {
            vec![0u8; 2500].into_response()
        }
    }

    /// A server on 127.0.0.1:0 (its task ends with the test's runtime): `/a` (1,000 bytes),
    /// `/b` and `/signed` (2,500 bytes, HEAD refused with 405 and 403), `/slow` (never
    /// answers); anything else is a 404.
    async fn server() -> String {
        let app = Router::new()
            .route("/a", get(|| async { vec![1u8; 1000] }))
            .route(
                "/b",
                get(ranged).head(|| async { StatusCode::METHOD_NOT_ALLOWED }),
            )
            .route(
                "/signed",
                get(ranged).head(|| async { StatusCode::FORBIDDEN }),
            )
            .route("/slow", get(std::future::pending::<()>));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn reachable_sizes_and_every_kind_of_failure() {
        let base = server().await;
        // Bound, never listening: connections to it are refused.
        let closed = tokio::net::TcpSocket::new_v4().unwrap();
        closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let closed_url = format!("http://{}/x", closed.local_addr().unwrap());
        let urls = |paths: &[&str]| -> Vec<String> {
            paths.iter().map(|p| format!("{base}{p}")).collect()
        };
        let targets = vec![
            (
                "up".to_string(),
                urls(&[
                    "/a",
                    "/b",
                    "/missing",
                    "/signed?X-Amz-Signature=1",
                    "/gone?token=s",
                ]),
            ),
            ("closed".to_string(), vec![closed_url]),
            ("slow".to_string(), urls(&["/slow"])),
        ];
        let options = ProbeOptions {
            concurrency: 2,
            timeout: Duration::from_secs(1),
        };
        let hosts = probe(&targets, options).await.unwrap();
        let up = &hosts[0];
        assert_eq!((up.host.as_str(), up.probed, up.reachable), ("up", 5, 3));
        let sizes = Sizes {
            known: 3,
            min: Some(1000),
            max: Some(2500),
            total: 6000,
        };
        assert_eq!(up.sizes, sizes);
        let failed: Vec<(String, String)> = up
            .failed
            .iter()
            .map(|f| (f.url.clone(), f.reason.to_string()))
            .collect();
        assert_eq!(
            failed,
            [
                (format!("{base}/missing"), "HTTP 404 Not Found".to_string()),
                (format!("{base}/gone?…"), "HTTP 404 Not Found".to_string()),
            ]
        );
        assert_eq!(hosts[1].failed[0].reason, Reason::Refused);
        assert_eq!((hosts[1].probed, hosts[1].reachable), (1, 0));
        assert_eq!(
            hosts[2].failed[0].reason,
            Reason::Timeout { after_ms: 1000 }
        );
        assert_eq!(hosts[2].failed[0].reason.to_string(), "timed out after 1 s");
    }

    #[test]
    fn reasons_serialize_with_their_kind() {
        let json = serde_json::to_value(Reason::Status { status: 404 }).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "status", "status": 404}));
        let json = serde_json::to_value(Reason::Refused).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "refused"}));
    }
}
