//! Old → new events coming in: a body the old system POSTs (one event, an array, or JSON
//! Lines) or a line of a followed file ([`super::follow`]), checked whole before any of it is
//! kept.
//!
//! Every event is checked the way the export is: `event_id`, a known `kind`, `at`, and the
//! record with every per-record rule of its kind ([`convert::validate`]), so what is persisted
//! can be applied.

use super::convert;
use crate::model::fields::{json_kind, Fields};
use crate::model::limits::OTHER_ID_MAX;
use crate::model::parse::{decode_object, display_id};
use crate::model::sync_event::{EventKind, SyncEvent};
use crate::model::{FieldProblem, Rule};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;

/// The kinds, as a person reads them in an error.
const KIND_NAMES: &str = "account_created, c2c_message, group_created, group_updated, \
    group_destroyed, member_joined, member_left, group_message, friend_deleted, account_deleted, \
    c2c_message_recalled, group_message_recalled";
/// Most problems an [`IngestError`] lists (it counts them all).
const MAX_LISTED: usize = 20;

/// Where in a body an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
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
pub(crate) struct BodyProblem {
    /// Where the event is.
    pub(crate) place: Place,
    /// Its `event_id`, when it could be read.
    pub(crate) event_id: Option<String>,
    /// The field, as a path from the event (`kind`, `record.body[0].text`); empty for the
    /// whole event.
    pub(crate) field: String,
    /// The rule broken.
    pub(crate) rule: Rule,
    /// What is wrong, for a person.
    pub(crate) reason: String,
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
pub(crate) struct IngestError {
    /// Who sent it (an address, a file name).
    pub(crate) source: String,
    /// The first problems, in body order.
    pub(crate) problems: Vec<BodyProblem>,
    /// All problems found (more than listed when there are many).
    pub(crate) total: usize,
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
pub(super) fn event_from_map(map: Map<String, Value>) -> Checked {
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
pub(crate) fn parse_events(body: &[u8], source: &str) -> Result<Vec<SyncEvent>, IngestError> {
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
pub(crate) fn bearer_ok(header: Option<&str>, token: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
