//! The report's media section: per host, the objects the messages reference and what the
//! media stage made of them; what verification found of the copies; the objects that could
//! not be copied, with why and where they are used.

use super::table::{Cell, Column, Table};
use crate::store::media::{self, HostObjects, MediaFailure, MediaVerified};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

/// Failed objects listed one by one (the rest are counted in the hosts' table).
const LISTED: usize = 50;

/// The media figures of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MediaReport {
    /// Per host, most referenced first.
    pub(crate) hosts: Vec<HostRow>,
    /// What messages carry for an object that could not be copied (`keep_url`,
    /// `placeholder`), when a media stage ran.
    pub(crate) on_unreachable: Option<String>,
    /// Copies checked in the bucket, and of them equal.
    pub(crate) verified: u64,
    /// Of the copies checked, those equal.
    pub(crate) verified_equal: u64,
    /// The first objects that failed or were skipped.
    pub(crate) failed: Vec<FailedRow>,
}

/// One host's objects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HostRow {
    pub(crate) host: String,
    pub(crate) objects: u64,
    pub(crate) references: u64,
    pub(crate) copied: u64,
    pub(crate) failed: u64,
    pub(crate) skipped: u64,
    pub(crate) not_copied: u64,
    pub(crate) bytes_copied: u64,
}

/// One object that could not be copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FailedRow {
    pub(crate) url: String,
    pub(crate) element: String,
    pub(crate) file: String,
    pub(crate) line: u64,
    pub(crate) messages: u64,
    pub(crate) reason: String,
}

/// The media figures of the store, `None` when its messages reference no media.
pub(crate) fn gather(conn: &Connection) -> rusqlite::Result<Option<MediaReport>> {
    let hosts = media::hosts(conn)?;
    if hosts.is_empty() {
        return Ok(None);
    }
    let MediaVerified { checked, equal, .. } = media::verified(conn)?;
    let failed = media::failures(conn)?
        .into_iter()
        .take(LISTED)
        .map(failed_row)
        .collect();
    Ok(Some(MediaReport {
        hosts: hosts.into_iter().map(host_row).collect(),
        on_unreachable: media::policy(conn)?,
        verified: checked,
        verified_equal: equal,
        failed,
    }))
}

fn host_row(h: HostObjects) -> HostRow {
    HostRow {
        host: h.host,
        objects: h.objects,
        references: h.refs,
        copied: h.copied,
        failed: h.failed,
        skipped: h.skipped,
        not_copied: h.pending,
        bytes_copied: h.bytes_copied,
    }
}

fn failed_row(f: MediaFailure) -> FailedRow {
    let state = match f.state {
        media::MediaState::Skipped => " (skipped)",
        _ => "",
    };
    FailedRow {
        url: crate::model::media::shown_url(&f.url),
        element: f.elem,
        file: f.file,
        line: f.line,
        messages: f.refs,
        reason: format!("{}{state}", f.reason),
    }
}

/// The hosts' table (kept hosts show their objects as not copied).
pub(crate) fn hosts_table(m: &MediaReport) -> Table {
    const COLUMNS: &[Column] = &[
        Column::left("host"),
        Column::right("objects"),
        Column::right("references"),
        Column::right("copied"),
        Column::right("failed"),
        Column::right("skipped"),
        Column::right("not copied"),
        Column::right("bytes copied"),
    ];
    let rows = m.hosts.iter().map(|h| {
        vec![
            Cell::new(&h.host).code(),
            Cell::new(h.objects),
            Cell::new(h.references),
            Cell::new(h.copied),
            Cell::new(h.failed),
            Cell::new(h.skipped),
            Cell::new(h.not_copied),
            Cell::new(h.bytes_copied),
        ]
        .into()
    });
    Table::new(COLUMNS, rows.collect()).scrolled()
}

/// The objects that could not be copied.
pub(crate) fn failed_table(m: &MediaReport) -> Table {
    const COLUMNS: &[Column] = &[
        Column::left("first used at"),
        Column::left("element"),
        Column::left("URL"),
        Column::right("messages"),
        Column::left("why"),
    ];
    let rows = m.failed.iter().map(|f| {
        vec![
            Cell::new(format!("{}:{}", f.file, f.line)).code(),
            Cell::new(&f.element),
            Cell::new(&f.url).code(),
            Cell::new(f.messages),
            Cell::new(&f.reason),
        ]
        .into()
    });
    Table::new(COLUMNS, rows.collect()).scrolled()
}

/// One sentence on the copies and the policy, under the section's title.
pub(crate) fn summary(m: &MediaReport) -> String {
    let copied: u64 = m.hosts.iter().map(|h| h.copied).sum();
    let objects: u64 = m.hosts.iter().map(|h| h.objects).sum();
    let mut line = format!("{copied} of {objects} media objects copied into the bucket");
    if m.verified > 0 {
        line.push_str(&format!(
            "; verification found {} of {} copies equal",
            m.verified_equal, m.verified
        ));
    }
    if let Some(policy) = &m.on_unreachable {
        line.push_str(&format!(
            "; a message whose object could not be copied carries `{policy}`"
        ));
    }
    line.push('.');
    line
}
