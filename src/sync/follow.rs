//! A JSON Lines file of old → new events, followed as it grows: complete lines become events
//! persisted through the journal, and a cursor in the store says how far it got, so a restart
//! continues where it stopped.

use super::ingest::event_from_map;
use super::journal::Journal;
use super::SyncError;
use crate::model::limits::LINE_MAX;
use crate::model::parse::{decode_object, display_id};
use crate::model::sync_event::{Direction, SyncEvent};
use crate::model::Rule;
use crate::store::sync::{EventState, NewEvent};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::watch;

/// How often a followed file is looked at.
const POLL: Duration = Duration::from_millis(200);
/// Most bytes read from a followed file at a time.
const CHUNK: u64 = 4 * 1024 * 1024;

/// The cursor holding how far into `path` the follower has persisted (a byte offset).
pub(crate) fn cursor_name(path: &Path) -> String {
    format!("ingest_file:{}", path.display())
}

/// The cursor holding how many bad lines of `path` were skipped.
pub(crate) fn skipped_cursor_name(path: &Path) -> String {
    format!("ingest_file_skipped:{}", path.display())
}

/// What one look at the file found.
#[derive(Debug, Default)]
struct Found {
    events: Vec<SyncEvent>,
    bad: u64,
    moved: bool,
    more: bool,
}

/// A JSON Lines file read from a byte offset, complete lines only.
struct Tail {
    path: PathBuf,
    offset: u64,
    /// Complete lines before `offset`.
    line: u64,
    /// `offset` is inside a line too long to read, which is skipped up to its newline.
    in_long_line: bool,
}

impl Tail {
    /// Resumes at `offset`, counting the lines before it so lines keep their numbers.
    fn resume(path: PathBuf, offset: u64) -> Tail {
        let mut line = 0;
        if let Ok(f) = std::fs::File::open(&path) {
            let mut buf = vec![0; 64 * 1024];
            let mut rest = f.take(offset);
            while let Ok(n @ 1..) = rest.read(&mut buf) {
                line += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            }
        }
        Tail {
            path,
            offset,
            line,
            in_long_line: false,
        }
    }

    fn read(&mut self) -> std::io::Result<Found> {
        let mut found = Found::default();
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len < self.offset {
            tracing::warn!(file = %self.path.display(), len, cursor = self.offset,
                "the file is shorter than what was read: it was replaced or truncated; reading it from the start");
            (self.offset, self.line, self.in_long_line, found.moved) = (0, 0, false, true);
        }
        if len == self.offset {
            return Ok(found);
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut buf = Vec::new();
        file.take(CHUNK).read_to_end(&mut buf)?;
        found.more = self.offset + (buf.len() as u64) < len;
        let Some(last) = memchr::memrchr(b'\n', &buf) else {
            if buf.len() > LINE_MAX {
                if !self.in_long_line {
                    let why = format!("longer than {LINE_MAX} bytes");
                    self.log_bad(self.line + 1, Rule::LineTooLong, "", why);
                    found.bad += 1;
                }
                self.in_long_line = true;
                self.offset += buf.len() as u64;
                found.moved = true;
            }
            return Ok(found);
        };
        for line in buf[..last].split(|b| *b == b'\n') {
            self.line += 1;
            if std::mem::take(&mut self.in_long_line) {
                continue;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if line.len() > LINE_MAX {
                let why = format!("{} bytes, longer than {LINE_MAX}", line.len());
                self.log_bad(self.line, Rule::LineTooLong, "", why);
                found.bad += 1;
                continue;
            }
            match decode_object(line)
                .map_err(|p| (None, vec![p]))
                .and_then(event_from_map)
            {
                Ok(e) => found.events.push(e),
                Err((id, problems)) => {
                    let id = id.as_deref().map(display_id).unwrap_or_default();
                    for p in problems {
                        self.log_bad(self.line, p.rule, &id, format!("{}: {}", p.field, p.reason));
                    }
                    found.bad += 1;
                }
            }
        }
        self.offset += last as u64 + 1;
        found.moved = true;
        Ok(found)
    }

    fn log_bad(&self, line: u64, rule: Rule, event_id: &str, why: String) {
        tracing::warn!(file = %self.path.display(), line, %rule, event_id, "sync event skipped: {why}");
    }
}

/// Reads a cursor of the store as a number (0 when unset).
async fn stored_number(store: &Path, name: String) -> Result<u64, SyncError> {
    let store = store.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<u64, SyncError> {
        let conn = crate::store::open_for_reading(&store)?;
        let value = crate::store::sync::cursor(&conn, &name)?;
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
    })
    .await?
}

/// Follows the JSON Lines file `path` as it grows until `stop` turns true: every 200 ms the
/// complete lines after the stored cursor (a partial last line waits for its newline) become
/// events, persisted old → new with origin `file` by `journal`, and only then is the cursor
/// [`cursor_name`] moved past them — so a restart continues where it was, and a line read
/// again after a crash is a duplicate `event_id`, kept once. A file that does not exist yet is
/// waited for; one that shrinks is read again from the start. A bad line is logged with file
/// and line, skipped and counted (cursor [`skipped_cursor_name`]); it never blocks the rest.
/// The store at `store` must exist (the journal creates it).
pub(crate) async fn follow_file(
    path: PathBuf,
    journal: Journal,
    store: PathBuf,
    mut stop: watch::Receiver<bool>,
) -> Result<(), SyncError> {
    let (name, skipped_name) = (cursor_name(&path), skipped_cursor_name(&path));
    let offset = stored_number(&store, name.clone()).await?;
    let mut skipped = stored_number(&store, skipped_name.clone()).await?;
    let mut tail = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || Tail::resume(path, offset)).await?
    };
    tracing::info!(file = %path.display(), offset, "following sync events");
    loop {
        if *stop.borrow() {
            return Ok(());
        }
        let found;
        (tail, found) = tokio::task::spawn_blocking(move || {
            let found = tail.read();
            (tail, found)
        })
        .await?;
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read the sync event file");
                Found::default()
            }
        };
        if !found.events.is_empty() {
            let events = found.events.into_iter().map(|event| NewEvent {
                direction: Direction::OldToNew,
                event,
                origin: "file",
                state: EventState::Pending,
                info: String::new(),
            });
            let fresh = journal.insert(events.collect()).await?;
            let kept = fresh.iter().filter(|f| **f).count();
            tracing::debug!(file = %path.display(), line = tail.line, kept, "sync events persisted");
        }
        if found.bad > 0 {
            skipped += found.bad;
            journal.cursor(&skipped_name, &skipped.to_string()).await?;
        }
        if found.moved {
            journal.cursor(&name, &tail.offset.to_string()).await?;
        }
        if found.more {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            changed = stop.changed() => if changed.is_err() { return Ok(()) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sync::pending;
    use std::io::Write;

    /// `account_created` events as JSON Lines, one per id (user = id).
    #[rustfmt::skip]
    fn lines(ids: &[&str]) -> String {
        let one = |id| format!(r#"{{"event_id": "{id}", "kind": "account_created", "at": 5, "record": {{"id": "{id}"}}}}"#);
        ids.iter().map(|id| one(id) + "\n").collect()
    }

    /// The ids of the pending events, the file's cursor and its skipped count.
    type Stored = (Vec<String>, Option<String>, Option<String>);

    fn stored(store: &Path, file: &Path) -> Stored {
        let conn = crate::store::open_for_reading(store).unwrap();
        let events = pending(&conn, Direction::OldToNew, 1000).unwrap();
        let ids = events.into_iter().map(|e| e.event.event_id).collect();
        let cursor = |name: String| crate::store::sync::cursor(&conn, &name).unwrap();
        (
            ids,
            cursor(cursor_name(file)),
            cursor(skipped_cursor_name(file)),
        )
    }

    /// Waits (generously: a slow machine) until what is stored satisfies `done`; returns it.
    async fn wait_until(
        store: &Path,
        file: &Path,
        what: &str,
        done: impl Fn(&Stored) -> bool,
    ) -> Stored {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let now = stored(store, file);
            if done(&now) {
                return now;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never {what}: {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn wait_for(store: &Path, file: &Path, n: usize) {
        wait_until(store, file, &format!("{n} events"), |s| s.0.len() == n).await;
    }

    fn append(file: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new();
        let f = f.create(true).append(true).open(file).unwrap();
        (&f).write_all(text.as_bytes()).unwrap();
    }

    #[tokio::test]
    async fn a_followed_file_is_persisted_line_by_line_and_resumed_from_its_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let (store, file) = (dir.path().join("store.db"), dir.path().join("events.jsonl"));
        let (journal, thread) = Journal::open(&store).unwrap();
        let follow = || {
            let (stop_tx, stop) = watch::channel(false);
            let task = follow_file(file.clone(), journal.clone(), store.clone(), stop);
            (stop_tx, tokio::spawn(task))
        };
        let (stop, follower) = follow();
        // Room for the follower to look for the file before it exists; nothing asserted below
        // depends on whether it did (it must pick the file up once it appears either way).
        tokio::time::sleep(Duration::from_millis(300)).await;
        append(&file, &lines(&["e1", "e2", "e3"]));
        wait_for(&store, &file, 3).await;
        let e6 = lines(&["e6"]);
        let (head, rest) = e6.split_at(20);
        let bad = "{\"event_id\": \"bad\"}\n";
        let (e4, e5) = (lines(&["e4"]), lines(&["e5"]));
        let whole =
            std::fs::metadata(&file).unwrap().len() as usize + e4.len() + bad.len() + e5.len();
        append(&file, &format!("{e4}{bad}{e5}{head}"));
        // The cursor passing e5 says the follower has read the partial line and left it: what
        // it kept from that read is in the store by then (the cursor is written last).
        let past_e5 = |s: &Stored| s.1 == Some(whole.to_string()) && s.2.as_deref() == Some("1");
        let (waiting, _, _) = wait_until(&store, &file, "the cursor past e5", past_e5).await;
        assert_eq!(
            waiting,
            ["e1", "e2", "e3", "e4", "e5"],
            "a partial line waits for its newline"
        );
        append(&file, rest);
        let len = std::fs::metadata(&file).unwrap().len().to_string();
        // The events are committed before the cursor moves: wait for the cursor at the end.
        let at_end = |s: &Stored| s.1.as_deref() == Some(&*len);
        let (kept, _, skipped) = wait_until(&store, &file, "the cursor at the end", at_end).await;
        assert_eq!(kept.len(), 6, "e1–e6 kept: {kept:?}");
        assert_eq!(skipped.as_deref(), Some("1"));
        stop.send(true).unwrap();
        follower.await.unwrap().unwrap();

        // A second follower starts at the cursor: what the first kept is not read again.
        let conn = crate::store::open_for_writing(&store).unwrap();
        crate::store::sync::delete_all_events(&conn).unwrap();
        let (stop, follower) = follow();
        append(&file, &lines(&["e7"]));
        // Read in order: had the follower started before the cursor, e1–e6 would be in by the
        // time e7 is.
        let has_e7 = |s: &Stored| s.0.iter().any(|id| id == "e7");
        let (kept, _, _) = wait_until(&store, &file, "e7", has_e7).await;
        assert_eq!(kept, ["e7"], "the second follower started at the cursor");
        assert_eq!(Tail::resume(file.clone(), len.parse().unwrap()).line, 7);
        stop.send(true).unwrap();
        follower.await.unwrap().unwrap();
        drop(journal);
        thread.join();
    }
}
