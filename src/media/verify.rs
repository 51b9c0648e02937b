//! Verification of the rehosted media: every copied object is asked for by HEAD (it is there,
//! with the size copied and the SHA-256 stored beside it), and a share of them (`[media]
//! verify_download`) is downloaded again and hashed. What each check found is stored with the
//! object, for the report.

use super::s3::Bucket;
use super::stage::StageError;
use crate::config::media::MediaPolicy;
use crate::store::media::{self as stored, CopiedObject};
use futures_util::StreamExt;
use std::path::Path;

/// Objects read from the store at a time.
const PAGE: usize = 512;
/// HEADs in flight at once.
const IN_FLIGHT: usize = 16;

/// What verification found of the rehosted media.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaCheck {
    /// Objects checked (HEAD).
    pub checked: u64,
    /// Of which equal.
    pub equal: u64,
    /// Of which downloaded again and hashed.
    pub downloaded: u64,
}

/// Checks every copied object of the store at `store_path` against the bucket of `policy`,
/// recording each result (and what differs) with the object in the store.
/// Nothing to check (no bucket, nothing copied) is an empty result.
pub async fn verify(store_path: &Path, policy: &MediaPolicy) -> Result<MediaCheck, StageError> {
    let conn =
        crate::store::open_for_writing(store_path).map_err(|e| StageError::Open(e.to_string()))?;
    let mut check = MediaCheck::default();
    let Some(settings) = &policy.bucket else {
        return Ok(check);
    };
    if stored::copied_page(&conn, 0, 1)?.is_empty() {
        return Ok(check);
    }
    let bucket = Bucket::connect(settings)?;
    let mut after = 0;
    loop {
        let page = stored::copied_page(&conn, after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let results: Vec<(i64, bool, Result<(), String>)> = futures_util::stream::iter(page)
            .map(|object| {
                let bucket = &bucket;
                let download = sampled(object.id, policy.verify_download);
                async move {
                    let (downloaded, found) = check_one(bucket, &object, download).await;
                    (object.id, downloaded, found)
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for (id, downloaded, found) in results {
            check.checked += 1;
            check.downloaded += u64::from(downloaded);
            check.equal += u64::from(found.is_ok());
            let detail = found.as_ref().err().map_or("", String::as_str);
            stored::mark_verified(&conn, id, found.is_ok(), detail)?;
        }
    }
    Ok(check)
}

/// HEADs one object (and downloads it when `download`): whether it was downloaded, and what
/// differs, if anything.
async fn check_one(
    bucket: &Bucket,
    object: &CopiedObject,
    download: bool,
) -> (bool, Result<(), String>) {
    let c = &object.copied;
    let info = match bucket.head(&c.key).await {
        Ok(Some(info)) => info,
        Ok(None) => return (false, Err(format!("{} is missing from the bucket", c.key))),
        Err(e) => return (false, Err(e.to_string())),
    };
    if info.size != c.size {
        return (
            false,
            Err(format!(
                "{} has {} bytes, {} were copied",
                c.key, info.size, c.size
            )),
        );
    }
    if let Some(sha) = info.sha256.as_deref().filter(|s| *s != c.sha256) {
        return (
            false,
            Err(format!(
                "{} says SHA-256 {sha}, {} was copied",
                c.key, c.sha256
            )),
        );
    }
    if !download {
        return (false, Ok(()));
    }
    match bucket.get_sha256(&c.key).await {
        Ok((size, sha)) if size == c.size && sha == c.sha256 => (true, Ok(())),
        Ok((size, sha)) => (
            true,
            Err(format!(
                "{} reads back {size} bytes with SHA-256 {sha}, {} bytes with {} were copied",
                c.key, c.size, c.sha256
            )),
        ),
        Err(e) => (true, Err(e.to_string())),
    }
}

/// Whether object `id` is among the `share` downloaded again (the same objects every time).
fn sampled(id: i64, share: f64) -> bool {
    if share <= 0.0 {
        return false;
    }
    let h = xxhash_rust::xxh3::xxh3_64(&id.to_le_bytes());
    (h as f64 / u64::MAX as f64) < share
}

#[cfg(test)]
mod tests {
    use super::sampled;

    #[test]
    fn the_download_sample_is_stable_and_near_its_share() {
        let n = (0..10_000).filter(|id| sampled(*id, 0.1)).count();
        assert!((800..1200).contains(&n), "{n}");
        assert!((0..100).all(|id| sampled(id, 1.0)));
        assert!(!(0..100).any(|id| sampled(id, 0.0)));
        assert_eq!(sampled(42, 0.5), sampled(42, 0.5));
    }
}
