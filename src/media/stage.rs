//! The media stage: before the messages are imported, every object of a rehosted host still
//! pending is streamed from its URL to a temporary file (hashed on the way), then stored in
//! the bucket under its content's SHA-256, unless an object of that content is there already.
//! Each object's outcome is committed on its own, so a stage cut short resumes with what is
//! still pending. Hosts are copied side by side, each held to `[media] per_host_concurrency`
//! objects at a time and `per_host_rate` requests a second.

use super::fetch::fetch_to_file;
use super::progress::MediaProgress;
use super::s3::Bucket;
use super::MediaError;
use crate::config::media::{MediaAction, MediaPolicy};
use crate::store::media::{self as stored, Copied, PendingObject};
use futures_util::StreamExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Pending objects read from the store at a time, per host.
const PAGE: usize = 256;
/// Attempts at one object before a retryable failure is recorded.
const ATTEMPTS: u32 = 3;
/// The wait before the second attempt (doubled before each next one).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// What a media stage did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageSummary {
    /// The rehosted hosts.
    pub hosts: Vec<String>,
    /// Objects copied by this stage.
    pub copied: u64,
    /// Objects of the rehosted hosts that failed (this stage's and earlier ones').
    pub failed: u64,
    /// The stage was stopped before the end (what is left stays pending).
    pub stopped: bool,
}

/// Why the stage could not go on at all.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The store refused.
    #[error("media stage: the store: {0}")]
    Store(#[from] rusqlite::Error),
    /// The store could not be opened.
    #[error("media stage: {0}")]
    Open(String),
    /// The bucket cannot be used (credentials, settings, access refused).
    #[error("media stage: {0}")]
    Bucket(#[from] MediaError),
    /// A rule rehosts but `[media.bucket]` is missing.
    #[error("media stage: [media] rehosts {0} but has no [media.bucket]")]
    NoBucket(String),
    /// The temporary directory could not be made.
    #[error("media stage: cannot create {path}: {error}")]
    TempDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// One object's outcome, sent by a host's worker to the writer.
struct Outcome {
    id: i64,
    result: Result<Copied, Failure>,
}

/// Why an object was not copied.
struct Failure {
    reason: String,
    retryable: bool,
    /// The bucket failed (refused, or kept failing after the client's retries): the object is
    /// not at fault, and nothing else could be stored either. It stays pending; the stage stops.
    fatal: Option<MediaError>,
    /// The stage was stopped before the object's next attempt: it stays pending.
    untried: bool,
}

/// What every host's worker shares.
struct Copier {
    client: reqwest::Client,
    bucket: Bucket,
    temp: PathBuf,
    max_bytes: u64,
    halt: AtomicBool,
    stop: watch::Receiver<bool>,
}

/// Runs the stage on the store at `store_path` by `policy`, counting into `progress`; `stop`
/// turning true stops it between objects (what is left stays pending).
pub async fn run(
    store_path: &Path,
    policy: &MediaPolicy,
    progress: Arc<MediaProgress>,
    stop: watch::Receiver<bool>,
) -> Result<StageSummary, StageError> {
    let conn =
        crate::store::open_for_writing(store_path).map_err(|e| StageError::Open(e.to_string()))?;
    stored::set_policy(&conn, policy.on_unreachable.name())?;
    let rehosted: Vec<stored::HostObjects> = stored::hosts(&conn)?
        .into_iter()
        .filter(|h| policy.rule_for(&h.host).action == MediaAction::Rehost)
        .collect();
    count_into(&progress, &rehosted);
    let mut summary = StageSummary {
        hosts: rehosted.iter().map(|h| h.host.clone()).collect(),
        failed: rehosted.iter().map(|h| h.failed).sum(),
        ..StageSummary::default()
    };
    let busy: Vec<String> = rehosted
        .iter()
        .filter(|h| h.pending > 0)
        .map(|h| h.host.clone())
        .collect();
    if busy.is_empty() {
        return Ok(summary);
    }
    let Some(settings) = &policy.bucket else {
        return Err(StageError::NoBucket(busy.join(", ")));
    };
    let bucket = Bucket::connect(settings)?;
    let temp = temp_dir(store_path);
    // What a killed run left there is of no use (the store lock is ours: no one else uses it).
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(&temp).map_err(|error| StageError::TempDir {
        path: temp.clone(),
        error,
    })?;
    let copier = Copier {
        client: http_client(),
        bucket,
        temp,
        max_bytes: policy.max_object_bytes,
        halt: AtomicBool::new(false),
        stop,
    };
    progress.start();
    let (tx, mut rx) = mpsc::channel::<Outcome>(64);
    let workers = {
        let copier = &copier;
        async move {
            let hosts = busy
                .iter()
                .map(|host| host_worker(copier, store_path, policy, host, tx.clone()));
            futures_util::future::join_all(hosts).await
        }
    };
    let writer = async {
        let mut fatal = None;
        while let Some(outcome) = rx.recv().await {
            match record(&conn, &progress, outcome, &mut summary) {
                Ok(Some(e)) => {
                    copier.halt.store(true, Ordering::Relaxed);
                    fatal.get_or_insert(e);
                }
                Ok(None) => {}
                Err(e) => {
                    copier.halt.store(true, Ordering::Relaxed);
                    return Err(StageError::Store(e));
                }
            }
        }
        fatal.map_or(Ok(()), |e| Err(StageError::Bucket(e)))
    };
    let (worked, written) = tokio::join!(workers, writer);
    progress.running.store(false, Ordering::Relaxed);
    written?;
    for result in worked {
        result?;
    }
    summary.stopped = *copier.stop.borrow();
    Ok(summary)
}

/// The counters of the rehosted hosts as the store has them before copying.
fn count_into(progress: &MediaProgress, hosts: &[stored::HostObjects]) {
    let sum = |f: fn(&stored::HostObjects) -> u64| hosts.iter().map(f).sum::<u64>();
    progress
        .objects
        .store(sum(|h| h.objects), Ordering::Relaxed);
    progress.copied.store(sum(|h| h.copied), Ordering::Relaxed);
    progress.failed.store(sum(|h| h.failed), Ordering::Relaxed);
    progress
        .skipped
        .store(sum(|h| h.skipped), Ordering::Relaxed);
    progress
        .bytes_left_hint
        .store(sum(|h| h.bytes_pending_hint), Ordering::Relaxed);
}

/// Commits one outcome and counts it; the bucket's refusal when it stops the stage.
fn record(
    conn: &rusqlite::Connection,
    progress: &MediaProgress,
    outcome: Outcome,
    summary: &mut StageSummary,
) -> rusqlite::Result<Option<MediaError>> {
    match outcome.result {
        Ok(copied) => {
            stored::mark_copied(conn, outcome.id, &copied)?;
            progress.copied.fetch_add(1, Ordering::Relaxed);
            progress.copied_now.fetch_add(1, Ordering::Relaxed);
            progress.bytes.fetch_add(copied.size, Ordering::Relaxed);
            summary.copied += 1;
            Ok(None)
        }
        // Left pending: it was never tried against a bucket that works.
        Err(Failure { fatal: Some(e), .. }) => Ok(Some(e)),
        // Left pending: the stage stopped before its next attempt.
        Err(Failure { untried: true, .. }) => Ok(None),
        Err(failure) => {
            stored::mark_failed(conn, outcome.id, &failure.reason, failure.retryable)?;
            tracing::warn!(object = outcome.id, reason = %failure.reason, "media object not copied");
            progress.failed.fetch_add(1, Ordering::Relaxed);
            *progress
                .last_failure
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(failure.reason);
            summary.failed += 1;
            Ok(None)
        }
    }
}

/// Copies one host's pending objects, a page at a time.
async fn host_worker(
    copier: &Copier,
    store_path: &Path,
    policy: &MediaPolicy,
    host: &str,
    tx: mpsc::Sender<Outcome>,
) -> Result<(), StageError> {
    let reader =
        crate::store::open_for_reading(store_path).map_err(|e| StageError::Open(e.to_string()))?;
    let rule = policy.rule_for(host);
    let limiter = limiter(policy.per_host_rate);
    let mut after = 0;
    loop {
        if copier.halt.load(Ordering::Relaxed) || *copier.stop.borrow() {
            return Ok(());
        }
        let page = stored::pending_page(&reader, host, after, PAGE)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id;
        futures_util::stream::iter(page)
            .for_each_concurrent(policy.per_host_concurrency, |object| {
                let tx = tx.clone();
                let (limiter, fetch_from) = (&limiter, rule.fetch_from.as_deref());
                async move {
                    if copier.halt.load(Ordering::Relaxed) || *copier.stop.borrow() {
                        return;
                    }
                    let result = copy_with_retries(copier, limiter, fetch_from, &object).await;
                    // The writer outlives every worker: a send fails only if it returned on
                    // a store error, which ends the stage anyway.
                    let _ = tx
                        .send(Outcome {
                            id: object.id,
                            result,
                        })
                        .await;
                }
            })
            .await;
    }
}

/// Copies one object, trying again after a failure a retry can help, up to [`ATTEMPTS`].
async fn copy_with_retries(
    copier: &Copier,
    limiter: &DefaultDirectRateLimiter,
    fetch_from: Option<&str>,
    object: &PendingObject,
) -> Result<Copied, Failure> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    let stopped = || *copier.stop.borrow() || copier.halt.load(Ordering::Relaxed);
    loop {
        limiter.until_ready().await;
        match copy_one(copier, fetch_from, object).await {
            Err(f) if f.retryable && f.fatal.is_none() && stopped() => {
                return Err(Failure { untried: true, ..f })
            }
            Err(f) if f.retryable && f.fatal.is_none() && attempt < ATTEMPTS => {
                tracing::info!(object = object.id, attempt, reason = %f.reason, "media object: trying again");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            Err(f) if f.retryable && f.fatal.is_none() => {
                return Err(Failure {
                    reason: format!("{} (after {attempt} attempts)", f.reason),
                    ..f
                })
            }
            other => return other,
        }
    }
}

/// Fetches one object and stores it under its content's key (once per content).
async fn copy_one(
    copier: &Copier,
    fetch_from: Option<&str>,
    object: &PendingObject,
) -> Result<Copied, Failure> {
    let url = fetch_url(&object.url, fetch_from);
    let fetched = fetch_to_file(&copier.client, &url, &copier.temp, copier.max_bytes)
        .await
        .map_err(|e| Failure {
            reason: e.to_string(),
            retryable: e.retry_can_help(),
            fatal: None,
            untried: false,
        })?;
    let key = copier
        .bucket
        .key_for(&fetched.sha256_hex, extension(&object.url));
    let there = copier.bucket.head(&key).await.map_err(bucket_failure)?;
    // Content already there (the same bytes under another URL, or a copy a killed run
    // finished): stored once. A size or recorded hash that differs is stored again.
    let same = |info: &super::s3::ObjectInfo| {
        info.size == fetched.size
            && info
                .sha256
                .as_ref()
                .is_none_or(|s| *s == fetched.sha256_hex)
    };
    if !there.as_ref().is_some_and(same) {
        copier
            .bucket
            .put_file(&key, fetched.path.path(), fetched.size, &fetched.sha256_hex)
            .await
            .map_err(bucket_failure)?;
    }
    Ok(Copied {
        new_url: copier.bucket.public_url(&key),
        key,
        size: fetched.size,
        sha256: fetched.sha256_hex,
    })
}

/// A bucket error as an object's failure: always fatal to the stage. The client has retried
/// what can be retried; what still fails (refused credentials, a 400 for a header, a 5xx that
/// outlasted the retries) would fail every object alike, and is no fault of the old system's
/// object, which stays pending for the next run.
fn bucket_failure(e: MediaError) -> Failure {
    Failure {
        reason: e.to_string(),
        retryable: e.retry_can_help(),
        fatal: Some(e),
        untried: false,
    }
}

/// The URL to fetch: the exported one, or its path and query on `fetch_from`'s origin.
pub(crate) fn fetch_url(url: &str, fetch_from: Option<&str>) -> String {
    let Some(origin) = fetch_from else {
        return url.to_string();
    };
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    format!("{}{path}", origin.trim_end_matches('/'))
}

/// The file extension of the URL's last path segment (`jpg`), if it looks like one.
pub(crate) fn extension(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("");
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=5).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            ext
        }
        _ => "",
    }
}

/// Where fetched objects wait for their upload: beside the store (a large object needs the
/// disk the store is on, not a small `/tmp`).
fn temp_dir(store_path: &Path) -> PathBuf {
    let mut name = store_path.file_name().unwrap_or_default().to_os_string();
    name.push(".media-tmp");
    store_path.with_file_name(name)
}

/// The HTTP client of the old system's media: short connects, a stalled body times out, no
/// overall limit (a large video takes its time).
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
        .build()
        // Building a client with these options fails only when TLS cannot initialise, which
        // the preflight has already proved it can; fall back to the defaults regardless.
        .unwrap_or_default()
}

/// `per_second` requests a second (at least one).
fn limiter(per_second: u32) -> DefaultDirectRateLimiter {
    RateLimiter::direct(Quota::per_second(
        NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_from_keeps_path_and_query() {
        assert_eq!(
            fetch_url("https://cdn.old/a/b.jpg?w=1", Some("http://10.0.0.5:8080/")),
            "http://10.0.0.5:8080/a/b.jpg?w=1"
        );
        assert_eq!(fetch_url("https://cdn.old", Some("http://o")), "http://o/");
        assert_eq!(fetch_url("https://cdn.old/x", None), "https://cdn.old/x");
    }

    #[test]
    fn extensions_come_from_the_last_segment() {
        assert_eq!(extension("https://h/a/b.JPG?x=1.png"), "JPG");
        assert_eq!(extension("https://h/a.dir/file"), "");
        assert_eq!(extension("https://h/.hidden"), "");
        assert_eq!(extension("https://h/a.toolongext"), "");
    }

    #[test]
    fn the_temp_dir_is_beside_the_store() {
        assert_eq!(
            temp_dir(Path::new("/data/run.db")),
            PathBuf::from("/data/run.db.media-tmp")
        );
    }
}
