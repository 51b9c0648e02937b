//! Old → new events coming in: a body the old system POSTs (one event, an array, or JSON
//! Lines), checked whole before any of it is kept, and a JSON Lines file followed as it grows.
//!
//! Every event is checked the way the export is: `event_id`, a known `kind`, `at`, and the
//! record with every per-record rule of its kind ([`convert::validate`]), so what is persisted
//! can be applied.

use super::convert;
use super::journal::Journal;
use super::SyncError;
use crate::model::fields::{json_kind, Fields};
use crate::model::limits::{LINE_MAX, OTHER_ID_MAX};
use crate::model::parse::{decode_object, display_id};
use crate::model::sync_event::{Direction, EventKind, SyncEvent};
use crate::model::{FieldProblem, Rule};
use crate::store::sync::{EventState, NewEvent};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::watch;

/// The kinds, as a person reads them in an error.
const KIND_NAMES: &str = "account_created, c2c_message, group_created, group_updated, \
    group_destroyed, member_joined, member_left, group_message";
/// Most problems an [`IngestError`] lists (it counts them all).
const MAX_LISTED: usize = 20;
/// How often a followed file is looked at.
const POLL: Duration = Duration::from_millis(200);
/// Most bytes read from a followed file at a time.
const CHUNK: u64 = 4 * 1024 * 1024;

/// Where in a body an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The body as a whole (a single event, or a body that is not JSON at all).
    Body,
    /// Line N (1-based) of a JSON Lines body.
    Line(usize),
    /// Item N (0-based) of a JSON array.
    Index(usize),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Body => f.write_str("body"),
            Place::Line(n) => write!(f, "line {n}"),
            Place::Index(i) => write!(f, "index {i}"),
        }
    }
}

/// One thing wrong with one event of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyProblem {
    /// Where the event is.
    pub place: Place,
    /// Its `event_id`, when it could be read.
    pub event_id: Option<String>,
    /// The field, as a path from the event (`kind`, `record.body[0].text`); empty for the
    /// whole event.
    pub field: String,
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong, for a person.
    pub reason: String,
}

impl fmt::Display for BodyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.place)?;
        if let Some(id) = &self.event_id {
            write!(f, ": event {:?}", display_id(id))?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}: {}", self.rule, self.reason)
    }
}

/// A body refused whole: nothing of it was kept, so the sender can fix it and send it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestError {
    /// Who sent it (an address, a file name).
    pub source: String,
    /// The first problems, in body order.
    pub problems: Vec<BodyProblem>,
    /// All problems found (more than listed when there are many).
    pub total: usize,
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: refused, nothing kept:", self.source)?;
        for (i, p) in self.problems.iter().enumerate() {
            write!(f, "{} {p}", if i == 0 { "" } else { ";" })?;
        }
        if self.total > self.problems.len() {
            write!(f, "; and {} more", self.total - self.problems.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for IngestError {}

/// An event, or its event id (when readable) and what is wrong with it.
type Checked = Result<SyncEvent, (Option<String>, Vec<FieldProblem>)>;

/// An event from one JSON object.
fn event_from_map(map: Map<String, Value>) -> Checked {
    let id_hint = map
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut problems = Vec::new();
    let mut f = Fields::new(map, "", &mut problems);
    let event_id = f.req_str("event_id", 1, OTHER_ID_MAX);
    let kind = f.req_str("kind", 1, usize::MAX).and_then(|name| {
        let kind = serde_json::from_value::<EventKind>(Value::String(name.clone())).ok();
        if kind.is_none() {
            let why = format!(
                "unknown value {:?}; allowed: {KIND_NAMES}",
                display_id(&name)
            );
            f.problem(Rule::UnknownEnum, "kind", why);
        }
        kind
    });
    let at = f.req_int("at");
    if let Some(t) = at.filter(|t| *t <= 0) {
        f.problem(
            Rule::InvalidValue,
            "at",
            format!("{t} is not a positive unix time"),
        );
    }
    let record = f.take("record");
    if record.is_none() {
        f.problem(Rule::MissingField, "record", "required field is missing");
    }
    let (Some(event_id), Some(kind), Some(at), Some(record)) = (event_id, kind, at, record) else {
        return Err((id_hint, problems));
    };
    let event = SyncEvent {
        event_id,
        kind,
        at,
        record,
    };
    if let Err(e) = convert::validate(&event) {
        problems.extend(e.problems);
    }
    if problems.is_empty() {
        Ok(event)
    } else {
        Err((Some(event.event_id), problems))
    }
}

/// An event from one value of a body.
fn event_from_value(value: Value) -> Checked {
    match value {
        Value::Object(map) => event_from_map(map),
        other => {
            let why = format!("expected a JSON object, got {}", json_kind(&other));
            Err((None, vec![FieldProblem::new(Rule::InvalidJson, "", why)]))
        }
    }
}

/// The events of a body: one JSON event, a JSON array of events, or JSON Lines (blank lines
/// ignored). Every event is checked; if any is bad the whole body is refused with every
/// problem named by place (line or index), event id, field and rule — nothing of it is kept.
pub fn parse_events(body: &[u8], source: &str) -> Result<Vec<SyncEvent>, IngestError> {
    let mut problems = Vec::new();
    let mut events = Vec::new();
    let mut take = |place: Place, parsed: Checked| match parsed {
        Ok(e) => events.push(e),
        Err((event_id, found)) => problems.extend(found.into_iter().map(|p| BodyProblem {
            place,
            event_id: event_id.clone(),
            field: p.field,
            rule: p.rule,
            reason: p.reason,
        })),
    };
    let whole = match std::str::from_utf8(body) {
        Ok(text) if text.trim_start().starts_with('[') => {
            Some(serde_json::from_str::<Vec<Value>>(text))
        }
        _ => None,
    };
    match whole {
        Some(Ok(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                take(Place::Index(i), event_from_value(item));
            }
        }
        Some(Err(e)) => {
            let why = format!("not a valid JSON array: {e}");
            take(
                Place::Body,
                Err((None, vec![FieldProblem::new(Rule::InvalidJson, "", why)])),
            );
        }
        None => match serde_json::from_slice::<Value>(body) {
            // One event, possibly spread over several lines.
            Ok(v @ Value::Object(_)) => take(Place::Body, event_from_value(v)),
            _ => {
                for (i, line) in body.split(|b| *b == b'\n').enumerate() {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let parsed = decode_object(line).map_err(|p| (None, vec![p]));
                    take(Place::Line(i + 1), parsed.and_then(event_from_map));
                }
            }
        },
    }
    if problems.is_empty() {
        return Ok(events);
    }
    let (source, total) = (source.to_owned(), problems.len());
    problems.truncate(MAX_LISTED);
    Err(IngestError {
        source,
        problems,
        total,
    })
}

/// Whether an `Authorization` header carries `token` as `Bearer <token>` (scheme in any case).
/// The comparison takes the same time wherever the two differ; an empty token admits nobody.
pub fn bearer_ok(header: Option<&str>, token: &str) -> bool {
    let Some(h) = header else { return false };
    let given = match h.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => h[7..].trim(),
        _ => return false,
    };
    // Equal-length digests compared without an early exit: neither the position of the
    // first difference nor the token's length shows in the time taken.
    let (a, b) = (Sha256::digest(given), Sha256::digest(token));
    let diff = a.iter().zip(&b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    diff == 0 && !token.is_empty()
}

/// The cursor holding how far into `path` the follower has persisted (a byte offset).
pub fn cursor_name(path: &Path) -> String {
    format!("ingest_file:{}", path.display())
}

/// The cursor holding how many bad lines of `path` were skipped.
pub fn skipped_cursor_name(path: &Path) -> String {
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
pub async fn follow_file(
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

    fn ids(body: &str) -> Vec<String> {
        let events = parse_events(body.as_bytes(), "t").unwrap();
        events.into_iter().map(|e| e.event_id).collect()
    }

    /// (place, event id, field, rule) of each problem.
    fn problems(body: &str) -> Vec<(Place, Option<String>, String, Rule)> {
        let e = parse_events(body.as_bytes(), "t").unwrap_err();
        assert_eq!(e.total, e.problems.len());
        let each = |p: BodyProblem| (p.place, p.event_id, p.field, p.rule);
        e.problems.into_iter().map(each).collect()
    }

    #[test]
    #[rustfmt::skip]
    fn a_body_is_one_event_an_array_or_json_lines() {
        assert_eq!(ids(&lines(&["e1"])), ["e1"]);
        let pretty = "{\n \"event_id\": \"e2\", \"kind\": \"member_left\",\n \"at\": 9,\n \"record\": {\"group\": \"g\", \"member\": \"u\"}\n}";
        assert_eq!(ids(pretty), ["e2"]);
        assert_eq!(ids(&format!("  [{}]", lines(&["a", "b"]).trim().replace('\n', ","))), ["a", "b"]);
        assert_eq!(ids(&lines(&["a", "b"]).replacen('\n', "\r\n\n", 1)), ["a", "b"]);
        assert!(ids("").is_empty());
    }

    #[test]
    #[rustfmt::skip]
    fn a_bad_event_refuses_the_body_naming_place_event_field_and_rule() {
        let bad = r#"{"event_id": "e7", "kind": "c2c_message", "at": 5, "record": {"id": "m", "to": "u2", "sent_at": 5, "body": [{"type": "text", "text": "x"}]}}"#;
        let body = format!("{}{bad}\n{{nope\n", lines(&["e1"]));
        let e7 = Some("e7".to_string());
        let want = [(Place::Line(2), e7, "record.from".into(), Rule::MissingField), (Place::Line(3), None, String::new(), Rule::InvalidJson)];
        assert_eq!(problems(&body), want);
        let text = parse_events(body.as_bytes(), "10.0.0.7").unwrap_err().to_string();
        assert!(text.starts_with("10.0.0.7: refused, nothing kept: line 2: event \"e7\": record.from: missing_field"), "{text}");
        let array = format!(r#"[{}, {{"event_id": "", "kind": "nope", "at": 0, "record": {{}}}}, 3]"#, lines(&["a"]));
        let got: Vec<_> = problems(&array).into_iter().map(|p| (p.0, p.2, p.3)).collect();
        let want = [(1, "event_id", Rule::BadLength), (1, "kind", Rule::UnknownEnum), (1, "at", Rule::InvalidValue), (2, "", Rule::InvalidJson)];
        assert_eq!(got, want.map(|(i, f, r)| (Place::Index(i), f.to_string(), r)));
        let no_record = problems(r#"{"event_id": "x", "kind": "group_destroyed", "at": 1}"#);
        assert_eq!(no_record, [(Place::Body, Some("x".into()), "record".into(), Rule::MissingField)]);
        assert_eq!(problems("[1,")[0].3, Rule::InvalidJson);
    }

    #[test]
    fn bearer_tokens_must_match_exactly() {
        assert!(bearer_ok(Some("Bearer s3cret"), "s3cret"));
        assert!(bearer_ok(Some("bearer s3cret "), "s3cret"));
        let wrong = [
            "Bearer s3cre",
            "Bearer s3cretx",
            "Basic s3cret",
            "s3cret",
            "Bearer",
        ];
        assert!(wrong.iter().all(|w| !bearer_ok(Some(w), "s3cret")));
        assert!(!bearer_ok(None, "s3cret") && !bearer_ok(Some("Bearer "), ""));
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
        wait_for(&store, &file, 6).await;
        let len = std::fs::metadata(&file).unwrap().len().to_string();
        let (_, cursor, skipped) = stored(&store, &file);
        assert_eq!(
            (cursor.as_deref(), skipped.as_deref()),
            (Some(&*len), Some("1"))
        );
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
