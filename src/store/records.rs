//! Reading staged records back from the export by their byte range.

use crate::model::console::DropCustom;
use crate::model::{parse_line, ExportRecord};
use crate::store::media::{self, MediaReads};
use crate::store::queries::{PendingItem, SourcePaths};
use crate::store::Kind;
use rusqlite::Connection;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;

/// The export files of a run, open for reading at any offset (by any number of tasks at once).
pub(crate) struct Sources {
    files: HashMap<(i64, Kind), (PathBuf, File)>,
    /// Custom keys left out of every record read (`[import] drop_custom`).
    dropped: DropCustom,
    /// Media URLs rewritten to their copies (a connection of its own to look them up).
    media: Option<(Mutex<Connection>, MediaReads)>,
}

impl Sources {
    /// Opens every file in `paths` ((export, kind) → readable path); the records read leave
    /// out the custom keys `paths` says the run drops.
    pub(crate) fn open(paths: SourcePaths) -> Result<Sources, String> {
        let mut files = HashMap::new();
        for (key, path) in paths.files {
            let file = File::open(&path).map_err(|e| {
                format!(
                    "cannot open {} (staged from the export): {e}",
                    path.display()
                )
            })?;
            files.insert(key, (path, file));
        }
        let media = match paths.media {
            Some(reads) => {
                let conn = crate::store::open_for_reading(&reads.store)
                    .map_err(|e| format!("cannot open the store to read media copies: {e}"))?;
                Some((Mutex::new(conn), reads))
            }
            None => None,
        };
        Ok(Sources {
            files,
            dropped: paths.dropped,
            media,
        })
    }

    /// The record of `item`, parsed again; an error names the file and line.
    pub(crate) fn read<T: ExportRecord>(
        &self,
        kind: Kind,
        item: &PendingItem,
    ) -> Result<T, String> {
        // A deletion reads the record it deletes, staged with its record kind.
        let Some((path, file)) = self.files.get(&(item.export_id, kind.record())) else {
            return Err(format!(
                "no staged file for {} of export {}",
                kind.name(),
                item.export_id
            ));
        };
        let where_ = || format!("{}:{}", path.display(), item.line);
        let mut buf = vec![0; item.len as usize];
        file.read_exact_at(&mut buf, item.offset)
            .map_err(|e| format!("{}: cannot read the record back: {e}", where_()))?;
        let parsed = parse_line::<T>(&buf);
        match parsed.record {
            Some(mut record) => {
                record.drop_custom(&self.dropped);
                self.rewrite_media(&mut record)
                    .map_err(|e| format!("{}: cannot look its media up in the store: {e}", where_()))?;
                Ok(record)
            }
            None => Err(format!(
                "{}: the record changed since it was staged (the export must not change during a run)",
                where_()
            )),
        }
    }

    /// Points the record's media at their copies (or placeholders), as the store says.
    fn rewrite_media<T: ExportRecord>(&self, record: &mut T) -> rusqlite::Result<()> {
        let Some((conn, _)) = &self.media else {
            return Ok(());
        };
        if record.media().is_empty() {
            return Ok(());
        }
        // A poisoned lock only means another reader panicked mid-lookup; the connection
        // itself holds no half-done state (lookups only read).
        let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut failure = None;
        record.rewrite_media(&mut |_, url| {
            media::fate_of(&conn, url).unwrap_or_else(|e| {
                failure = Some(e);
                crate::model::media::MediaFate::Keep
            })
        });
        failure.map_or(Ok(()), Err)
    }

    /// The records of every item of a job, in order.
    pub(crate) fn read_all<T: ExportRecord>(
        &self,
        kind: Kind,
        items: &[PendingItem],
    ) -> Result<Vec<T>, String> {
        items.iter().map(|i| self.read(kind, i)).collect()
    }
}
