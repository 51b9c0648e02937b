//! The preflight's media checks, before anything on the old system is touched: a signed or
//! expiring URL on a host the runbook says nothing about (it would go dead in history: rehost
//! it, or keep it on purpose), and a bucket that refuses the credentials or does not exist.

use super::RunbookError;
use crate::config::media::MediaAction;
use crate::config::Runbook;
use crate::media::s3::Bucket;
use crate::model::media::signed_marker;
use rusqlite::Connection;
use std::collections::BTreeMap;

/// A key no object has: HEAD of it proves the credentials and the bucket without writing.
const PROBE_KEY: &str = "cutover-preflight-probe";

/// Checks the staged media against `[media]`; the note for the preflight step.
pub(crate) async fn check(conn: &Connection, rb: &Runbook) -> Result<String, RunbookError> {
    let policy = &rb.media;
    let hosts = crate::store::media::hosts(conn)?;
    if hosts.is_empty() {
        return Ok(String::new());
    }
    refuse_unruled_signed(conn, rb)?;
    let rehosted: Vec<&str> = hosts
        .iter()
        .filter(|h| policy.rule_for(&h.host).action == MediaAction::Rehost)
        .map(|h| h.host.as_str())
        .collect();
    let objects: u64 = hosts.iter().map(|h| h.objects).sum();
    if rehosted.is_empty() {
        return Ok(format!(
            "media: {objects} objects on {} host(s), kept as exported ([media] rehosts none)",
            hosts.len()
        ));
    }
    let Some(settings) = &policy.bucket else {
        return Err(RunbookError::Media(format!(
            "[media] rehosts {} but has no [media.bucket]",
            rehosted.join(", ")
        )));
    };
    let bucket =
        Bucket::connect(settings).map_err(|e| RunbookError::Media(format!("media bucket: {e}")))?;
    bucket.head(PROBE_KEY).await.map_err(|e| {
        RunbookError::Media(format!(
            "media bucket: {e}: check [media.bucket] and the credentials in {} before the window",
            crate::config::media::BUCKET_KEY_ENV
        ))
    })?;
    Ok(format!(
        "media: {objects} objects on {} host(s); {} rehosted into {} (bucket answered)",
        hosts.len(),
        rehosted.join(", "),
        settings.bucket
    ))
}

/// Refuses signed or expiring URLs on hosts no `[[media.host]]` rule names.
fn refuse_unruled_signed(conn: &Connection, rb: &Runbook) -> Result<(), RunbookError> {
    let mut signed: BTreeMap<String, (u64, String)> = BTreeMap::new();
    crate::store::media::each_query_url(conn, |host, url| {
        if rb.media.rule_for(host).explicit {
            return;
        }
        if let Some(marker) = signed_marker(url) {
            let entry = signed
                .entry(host.to_string())
                .or_insert((0, marker.to_string()));
            entry.0 += 1;
        }
    })?;
    if signed.is_empty() {
        return Ok(());
    }
    let hosts: Vec<String> = signed
        .iter()
        .map(|(host, (n, marker))| format!("{host} ({n} URLs with {marker}=)"))
        .collect();
    let first = signed.keys().next().map_or("HOST", String::as_str);
    Err(RunbookError::Media(format!(
        "signed or expiring media URLs on {}: they stop working when they expire, and history \
         would keep them. Copy them before the window with\n  [[media.host]]\n  pattern = \"{first}\"\n  \
         action = \"rehost\"\nor import them as they are on purpose with action = \"keep\"",
        hosts.join(", ")
    )))
}
