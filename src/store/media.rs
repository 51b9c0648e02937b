//! The media objects of the staged messages: one row per distinct URL (recorded at staging),
//! and what the media stage made of it: pending, copied (its key, new URL, size and SHA-256),
//! failed (why, whether a retry can help) or skipped. Each object is committed on its own,
//! so a media stage cut short resumes with what is still pending and never copies a finished
//! object again.

use crate::model::media::{host_of, MediaElem, MediaRef};
use crate::store::Kind;
use crate::timefmt::now_secs;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// A media object's state, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// Not copied yet (or kept: its host is not rehosted).
    Pending = 0,
    /// In the bucket.
    Copied = 1,
    /// Could not be copied (see its reason).
    Failed = 2,
    /// Given up by the operator.
    Skipped = 3,
}

impl MediaState {
    fn from_code(code: i64) -> MediaState {
        match code {
            1 => MediaState::Copied,
            2 => MediaState::Failed,
            3 => MediaState::Skipped,
            _ => MediaState::Pending,
        }
    }
}

/// Records the media URLs of one staged message (inside staging's chunk transaction): a URL
/// seen before only counts one more reference. URLs that are not absolute http(s) are left
/// out: there is nothing to fetch.
pub(crate) fn record_refs(
    conn: &Connection,
    export_id: i64,
    kind: Kind,
    line: u64,
    refs: &[MediaRef<'_>],
) -> rusqlite::Result<()> {
    if refs.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO media_object (url, host, elem, export_id, kind, line, refs, size_hint)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
         ON CONFLICT (url) DO UPDATE SET refs = refs + 1,
             size_hint = COALESCE(size_hint, excluded.size_hint)",
    )?;
    for r in refs {
        let Some(host) = host_of(r.url) else { continue };
        stmt.execute(params![
            r.url,
            host,
            r.elem.name(),
            export_id,
            kind.code(),
            line,
            r.size_hint.map(|s| s as i64)
        ])?;
    }
    Ok(())
}

/// One host's objects, by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostObjects {
    /// The host.
    pub host: String,
    /// Distinct URLs.
    pub objects: u64,
    /// Messages' references to them.
    pub refs: u64,
    /// Not copied yet.
    pub pending: u64,
    /// Copied.
    pub copied: u64,
    /// Failed.
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
    /// Bytes copied.
    pub bytes_copied: u64,
    /// The sizes the export gives for the objects still pending (a lower bound).
    pub bytes_pending_hint: u64,
}

/// Every host's objects, most referenced first.
pub fn hosts(conn: &Connection) -> rusqlite::Result<Vec<HostObjects>> {
    let mut stmt = conn.prepare(
        "SELECT host, COUNT(*), SUM(refs), SUM(state = 0), SUM(state = 1), SUM(state = 2),
                SUM(state = 3), COALESCE(SUM(CASE WHEN state = 1 THEN size END), 0),
                COALESCE(SUM(CASE WHEN state = 0 THEN size_hint END), 0)
         FROM media_object GROUP BY host ORDER BY SUM(refs) DESC, host",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(HostObjects {
            host: r.get(0)?,
            objects: r.get(1)?,
            refs: r.get(2)?,
            pending: r.get(3)?,
            copied: r.get(4)?,
            failed: r.get(5)?,
            skipped: r.get(6)?,
            bytes_copied: r.get(7)?,
            bytes_pending_hint: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// An object to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingObject {
    /// Its row.
    pub id: i64,
    /// The URL as exported.
    pub url: String,
    /// Its host.
    pub host: String,
    /// What it is.
    pub elem: MediaElem,
    /// Attempts made before.
    pub attempts: u64,
}

/// Up to `limit` pending objects of `host` after row `after`, in row order.
pub fn pending_page(
    conn: &Connection,
    host: &str,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<PendingObject>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, url, host, elem, attempts FROM media_object
         WHERE host = ?1 AND state = 0 AND id > ?2 ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![host, after, limit as i64], |r| {
        let elem: String = r.get(3)?;
        Ok(PendingObject {
            id: r.get(0)?,
            url: r.get(1)?,
            host: r.get(2)?,
            elem: MediaElem::from_name(&elem).unwrap_or(MediaElem::File),
            attempts: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// Where a copied object is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copied {
    /// The key in the bucket.
    pub key: String,
    /// The URL the messages carry.
    pub new_url: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// Records object `id` as copied.
pub fn mark_copied(conn: &Connection, id: i64, copied: &Copied) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE media_object SET state = 1, key = ?2, new_url = ?3, size = ?4, sha256 = ?5,
             reason = '', retryable = 0, attempts = attempts + 1, updated_at = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        copied.key,
        copied.new_url,
        copied.size as i64,
        copied.sha256,
        now_secs()
    ])?;
    Ok(())
}

/// Records object `id` as failed, with the reason for the operator.
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    reason: &str,
    retryable: bool,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE media_object SET state = 2, reason = ?2, retryable = ?3,
             attempts = attempts + 1, updated_at = ?4
         WHERE id = ?1",
    )?
    .execute(params![id, reason, retryable, now_secs()])?;
    Ok(())
}

/// One failed (or skipped) object, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaFailure {
    /// The URL as exported.
    pub url: String,
    /// What it is.
    pub elem: String,
    /// The first message file that uses it.
    pub file: String,
    /// Its line there.
    pub line: u64,
    /// How many messages use it.
    pub refs: u64,
    /// Why it failed.
    pub reason: String,
    /// Attempts made.
    pub attempts: u64,
    /// Whether a retry can help.
    pub retryable: bool,
    /// Failed, or skipped by the operator.
    pub state: MediaState,
}

/// The failed and skipped objects, in row order.
pub fn failures(conn: &Connection) -> rusqlite::Result<Vec<MediaFailure>> {
    let mut stmt = conn.prepare(
        "SELECT m.url, m.elem, COALESCE(s.name, ''), m.line, m.refs, m.reason, m.attempts,
                m.retryable, m.state
         FROM media_object m
         LEFT JOIN source_file s ON s.export_id = m.export_id AND s.kind = m.kind
         WHERE m.state IN (2, 3) ORDER BY m.id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(MediaFailure {
            url: r.get(0)?,
            elem: r.get(1)?,
            file: r.get(2)?,
            line: r.get(3)?,
            refs: r.get(4)?,
            reason: r.get(5)?,
            attempts: r.get(6)?,
            retryable: r.get(7)?,
            state: MediaState::from_code(r.get(8)?),
        })
    })?;
    rows.collect()
}

/// Makes the failed objects whose messages' fate is not decided yet pending again (`cutover
/// retry --stage media`); how many.
pub fn retry_failed(conn: &Connection) -> rusqlite::Result<u64> {
    let n = conn.execute(
        "UPDATE media_object SET state = 0, updated_at = ?1 WHERE state = 2 AND carried IS NULL",
        [now_secs()],
    )?;
    Ok(n as u64)
}

/// Gives up the failed objects whose messages' fate is not decided yet (`cutover skip --stage
/// media`); how many.
pub fn skip_failed(conn: &Connection) -> rusqlite::Result<u64> {
    let n = conn.execute(
        "UPDATE media_object SET state = 3, updated_at = ?1 WHERE state = 2 AND carried IS NULL",
        [now_secs()],
    )?;
    Ok(n as u64)
}

/// Objects that failed or were skipped.
pub fn not_copied(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT COUNT(*) FROM media_object WHERE state IN (2, 3)",
        [],
        |r| r.get(0),
    )
}

/// Failed objects whose messages' fate is decided already (their messages may have gone):
/// neither retry nor skip changes them.
pub fn decided_failures(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT COUNT(*) FROM media_object WHERE state IN (2, 3) AND carried IS NOT NULL",
        [],
        |r| r.get(0),
    )
}

/// Failed objects whose messages' fate is still open: (how many, the first one's shown URL
/// and reason).
pub fn undecided_failures(conn: &Connection) -> rusqlite::Result<(u64, Option<(String, String)>)> {
    let n = conn.query_row(
        "SELECT COUNT(*) FROM media_object WHERE state IN (2, 3) AND carried IS NULL",
        [],
        |r| r.get(0),
    )?;
    let first = conn
        .query_row(
            "SELECT url, reason FROM media_object WHERE state IN (2, 3) AND carried IS NULL
             ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    Ok((
        n,
        first.map(|(url, reason)| (crate::model::media::shown_url(&url), reason)),
    ))
}

/// Decides, once and for good, what the messages of every object not decided yet carry,
/// before the first of them may be sent: a copied object its copy; one that failed or was
/// skipped a placeholder (`placeholder`) or its URL; one not copied (a kept host) its URL. A
/// signed or expiring URL is never kept: a placeholder. How many became placeholders.
pub fn decide(conn: &Connection, placeholder: bool) -> rusqlite::Result<u64> {
    use crate::model::media::signed_marker;
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "UPDATE media_object SET carried = 'copy' WHERE state = 1 AND carried IS NULL",
        [],
    )?;
    let mut lost = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT id, url, state FROM media_object WHERE carried IS NULL
             AND (state IN (2, 3) OR instr(url, '?') > 0)",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (id, url, state): (i64, String, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            if signed_marker(&url).is_some() || (placeholder && state != 0) {
                lost.push(id);
            }
        }
    }
    let mut mark = tx.prepare("UPDATE media_object SET carried = 'placeholder' WHERE id = ?1")?;
    for id in &lost {
        mark.execute([id])?;
    }
    drop(mark);
    tx.execute(
        "UPDATE media_object SET carried = 'keep' WHERE carried IS NULL",
        [],
    )?;
    tx.commit()?;
    Ok(lost.len() as u64)
}

/// Records what messages carry for a URL that failed or was skipped (`keep_url` or
/// `placeholder`): every read of a record back applies it.
pub fn set_policy(conn: &Connection, on_unreachable: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO media_policy (id, on_unreachable) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET on_unreachable = excluded.on_unreachable",
        [on_unreachable],
    )?;
    Ok(())
}

/// The recorded policy, if a media stage ran.
pub fn policy(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT on_unreachable FROM media_policy", [], |r| r.get(0))
        .optional()
}

/// What rewriting the records read back needs: the store to look URLs up in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaReads {
    /// The store file (looked up through a connection of the reader's own).
    pub(crate) store: std::path::PathBuf,
}

/// How records read back from `conn`'s store rewrite their media: `None` when no message
/// carries anything but its exported URLs (the records are read as exported, at no cost).
pub(crate) fn reads(conn: &Connection) -> rusqlite::Result<Option<MediaReads>> {
    let rewrites: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM media_object WHERE carried IN ('copy', 'placeholder'))",
        [],
        |r| r.get(0),
    )?;
    let Some(store) = conn.path().filter(|p| rewrites && !p.is_empty()) else {
        return Ok(None);
    };
    Ok(Some(MediaReads {
        store: store.into(),
    }))
}

/// What a message read back carries for `url`: what [`decide`] decided (an object not
/// decided yet: its URL, as no message that uses it has been sent).
pub(crate) fn fate_of(
    conn: &Connection,
    url: &str,
) -> rusqlite::Result<crate::model::media::MediaFate> {
    use crate::model::media::MediaFate;
    let found = conn
        .prepare_cached("SELECT carried, new_url, sha256 FROM media_object WHERE url = ?1")?
        .query_row([url], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .optional()?;
    Ok(match found {
        Some((Some(carried), Some(new_url), Some(sha256))) if carried == "copy" => {
            MediaFate::Rehosted {
                url: new_url,
                uuid: sha256,
            }
        }
        Some((Some(carried), _, _)) if carried == "placeholder" => MediaFate::Placeholder,
        _ => MediaFate::Keep,
    })
}

/// Calls `each` with the host and URL of every object whose URL has a query string (where
/// signatures and expiries are), without holding them all in memory.
pub fn each_query_url(conn: &Connection, mut each: impl FnMut(&str, &str)) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT host, url FROM media_object WHERE instr(url, '?') > 0")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (host, url): (String, String) = (row.get(0)?, row.get(1)?);
        each(&host, &url);
    }
    Ok(())
}

/// Calls `each` with the element, URL and references of every object (the store's
/// inventory of the staged messages' media), without holding them all in memory.
pub fn each_object(
    conn: &Connection,
    mut each: impl FnMut(MediaElem, &str, u64),
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare("SELECT elem, url, refs FROM media_object ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (elem, url, refs): (String, String, u64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        each(
            MediaElem::from_name(&elem).unwrap_or(MediaElem::File),
            &url,
            refs,
        );
    }
    Ok(())
}

/// One copied object, for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedObject {
    /// Its row.
    pub id: i64,
    /// The URL as exported.
    pub url: String,
    /// Where it is.
    pub copied: Copied,
}

/// Up to `limit` copied objects after row `after` that no verification found equal yet (a
/// copy found equal stays so: objects are content-addressed and never rewritten), in row order.
pub fn copied_page(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> rusqlite::Result<Vec<CopiedObject>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, url, key, new_url, size, sha256 FROM media_object
         WHERE state = 1 AND id > ?1 AND verified IS NOT 1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        Ok(CopiedObject {
            id: r.get(0)?,
            url: r.get(1)?,
            copied: Copied {
                key: r.get(2)?,
                new_url: r.get(3)?,
                size: r.get::<_, i64>(4)? as u64,
                sha256: r.get(5)?,
            },
        })
    })?;
    rows.collect()
}

/// Records the verification of object `id`: equal, or what differs.
pub fn mark_verified(
    conn: &Connection,
    id: i64,
    equal: bool,
    detail: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE media_object SET verified = ?2, verify_detail = ?3 WHERE id = ?1")?
        .execute(params![id, equal, detail])?;
    Ok(())
}

/// What verification found of the copied objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MediaVerified {
    /// Copies checked.
    pub checked: u64,
    /// Of which equal.
    pub equal: u64,
    /// The first differences: (URL as exported, what differs).
    pub differences: Vec<(String, String)>,
}

/// What verification found of the copied objects, with the first 20 differences.
pub fn verified(conn: &Connection) -> rusqlite::Result<MediaVerified> {
    let (checked, equal) = conn.query_row(
        "SELECT COUNT(verified), COALESCE(SUM(verified), 0) FROM media_object WHERE state = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut stmt = conn.prepare(
        "SELECT url, verify_detail FROM media_object WHERE state = 1 AND verified = 0
         ORDER BY id LIMIT 20",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(MediaVerified {
        checked,
        equal,
        differences: rows.collect::<rusqlite::Result<_>>()?,
    })
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod tests;
