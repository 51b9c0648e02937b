//! One row of a source query → one record of the export: column names are field names,
//! times are converted from the mapping's unit, JSON columns become structured fields.
//!
//! Special columns: `_key` is the source row's key (reported with a problem, never written);
//! `json` is an object whose entries are merged into the record (for any structured field);
//! `body`, `custom` and `groups` given as text are parsed as JSON; `deleted` marks the row
//! deleted and `deleted_at` says when (both read here, never written on a record; see
//! [`super::tombstone`]). NULL means absent.

use super::mapping::TimeUnit;
use super::tombstone::{deleted_flag, DELETED_AT_COLUMN, DELETED_COLUMN};
use crate::timefmt::parse_rfc3339;
use serde_json::{Map, Number, Value};

/// One value of a result row, as the drivers hand it over.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// SQL NULL.
    Null,
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Text.
    Text(String),
    /// Bytes (MySQL hands text columns over as bytes).
    Bytes(Vec<u8>),
    /// A JSON column.
    Json(Value),
    /// A SQL timestamp, as unix seconds (UTC).
    Time(i64),
}

/// Fields whose values are times (unix seconds in the export).
const TIME_FIELDS: [&str; 4] = ["created_at", "added_at", "sent_at", "joined_at"];
/// Fields that hold JSON (an array or an object) in the export.
const JSON_FIELDS: [&str; 3] = ["body", "custom", "groups"];
/// The column with the source row's key.
pub(crate) const KEY_COLUMN: &str = "_key";
/// The column whose JSON object is merged into the record.
pub(crate) const MERGE_COLUMN: &str = "json";

/// A row turned into a record: the JSON object, the source key when the row had one, and
/// whether the row is marked deleted.
#[derive(Debug)]
pub(crate) struct RowRecord {
    /// The record, ready to be written as one line.
    pub(crate) record: Map<String, Value>,
    /// The `_key` column's value.
    pub(crate) key: Option<String>,
    /// The `deleted` column read as a flag (false without one), or why it cannot be read.
    pub(crate) deleted: Result<bool, String>,
    /// The `deleted_at` column, converted like the other times.
    pub(crate) deleted_at: Option<Value>,
}

/// Builds the record of one row. A value that cannot be converted is written as it is, so
/// the validator reports it by field.
pub(crate) fn to_record(columns: &[String], cells: Vec<Cell>, unit: TimeUnit) -> RowRecord {
    let mut record = Map::new();
    let mut key = None;
    let mut merged = None;
    let mut deleted = Ok(false);
    let mut deleted_at = None;
    for (name, cell) in columns.iter().zip(cells) {
        if matches!(cell, Cell::Null) {
            continue;
        }
        if name == KEY_COLUMN {
            key = Some(key_text(cell));
            continue;
        }
        if name == DELETED_COLUMN {
            deleted = deleted_flag(&cell);
            continue;
        }
        if name == DELETED_AT_COLUMN {
            deleted_at = Some(time_value(cell, unit));
            continue;
        }
        if name == MERGE_COLUMN {
            merged = Some(json_value(cell));
            continue;
        }
        let value = if TIME_FIELDS.contains(&name.as_str()) {
            time_value(cell, unit)
        } else if JSON_FIELDS.contains(&name.as_str()) {
            json_value(cell)
        } else {
            plain_value(cell)
        };
        record.insert(name.clone(), value);
    }
    // Explicit columns win over the merged object's entries.
    if let Some(Value::Object(extra)) = merged {
        for (k, v) in extra {
            record.entry(k).or_insert(v);
        }
    }
    RowRecord {
        record,
        key,
        deleted,
        deleted_at,
    }
}

fn key_text(cell: Cell) -> String {
    match plain_value(cell) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

pub(crate) fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn plain_value(cell: Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(i) | Cell::Time(i) => Value::from(i),
        Cell::UInt(u) => Value::from(u),
        Cell::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Cell::Bool(b) => Value::Bool(b),
        Cell::Text(s) => Value::String(s),
        Cell::Bytes(b) => Value::String(text_of(b)),
        Cell::Json(v) => v,
    }
}

/// Text is parsed as JSON; text that is not JSON stays a string (the validator names it).
fn json_value(cell: Cell) -> Value {
    let text = match cell {
        Cell::Text(s) => s,
        Cell::Bytes(b) => text_of(b),
        other => return plain_value(other),
    };
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// A time in the mapping's unit → unix seconds. Milliseconds are floored to the second.
fn time_value(cell: Cell, unit: TimeUnit) -> Value {
    match (cell, unit) {
        (Cell::Time(s), _) => Value::from(s),
        (Cell::Int(ms), TimeUnit::Millis) => Value::from(ms.div_euclid(1000)),
        (Cell::UInt(ms), TimeUnit::Millis) => Value::from(ms / 1000),
        (Cell::Float(ms), TimeUnit::Millis) => Value::from((ms / 1000.0).floor() as i64),
        (Cell::Float(s), TimeUnit::Seconds) => Value::from(s.floor() as i64),
        (Cell::Text(t), TimeUnit::Timestamp) => sql_time(&t).map_or(Value::String(t), Value::from),
        (Cell::Bytes(b), TimeUnit::Timestamp) => {
            let t = text_of(b);
            sql_time(&t).map_or(Value::String(t), Value::from)
        }
        (other, _) => plain_value(other),
    }
}

/// Unix seconds of SQL timestamp text `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or of RFC 3339.
pub(crate) fn sql_time(text: &str) -> Option<i64> {
    let t = text.trim();
    parse_rfc3339(t).or_else(|| parse_rfc3339(&format!("{t}Z")))
}

/// `YYYY-MM-DD HH:MM:SS` of unix seconds (UTC), as SQL reads a timestamp.
pub(crate) fn sql_time_text(secs: i64) -> String {
    crate::timefmt::utc(secs)
        .trim_end_matches(" UTC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn times_in_each_unit_become_seconds() {
        let c = cols(&["sent_at"]);
        let at = |cell, unit| to_record(&c, vec![cell], unit).record["sent_at"].clone();
        assert_eq!(
            at(Cell::Int(1_700_000_000_999), TimeUnit::Millis),
            json!(1_700_000_000)
        );
        assert_eq!(
            at(Cell::Int(1_700_000_000), TimeUnit::Seconds),
            json!(1_700_000_000)
        );
        assert_eq!(
            at(Cell::Time(1_700_000_000), TimeUnit::Timestamp),
            json!(1_700_000_000)
        );
        assert_eq!(
            at(
                Cell::Text("2023-11-14 22:13:20.5".into()),
                TimeUnit::Timestamp
            ),
            json!(1_700_000_000)
        );
        assert_eq!(sql_time_text(1_700_000_000), "2023-11-14 22:13:20");
    }

    #[test]
    fn json_columns_keys_and_nulls() {
        let c = cols(&["_key", "id", "body", "custom_data", "json", "nick"]);
        let row = vec![
            Cell::Int(42),
            Cell::Bytes(b"m1".to_vec()),
            Cell::Text(r#"[{"type":"text","text":"hi"}]"#.into()),
            Cell::Text("{\"a\":1}".into()),
            Cell::Json(json!({"seq": 7, "id": "not me"})),
            Cell::Null,
        ];
        let r = to_record(&c, row, TimeUnit::Seconds);
        assert_eq!(r.key.as_deref(), Some("42"));
        assert_eq!((r.deleted.clone(), r.deleted_at.clone()), (Ok(false), None));
        assert_eq!(
            Value::Object(r.record),
            json!({"id": "m1", "body": [{"type": "text", "text": "hi"}],
                   "custom_data": "{\"a\":1}", "seq": 7})
        );
    }

    #[test]
    fn the_deletion_columns_are_read_and_never_written() {
        let c = cols(&["id", "deleted", "deleted_at"]);
        let row = |flag: Cell| {
            let cells = vec![Cell::Text("u1".into()), flag, Cell::Int(1_732_000_300_500)];
            to_record(&c, cells, TimeUnit::Millis)
        };
        let r = row(Cell::Bool(true));
        assert_eq!(Value::Object(r.record), json!({"id": "u1"}));
        assert_eq!(r.deleted, Ok(true));
        assert_eq!(r.deleted_at, Some(json!(1_732_000_300)));
        assert_eq!(row(Cell::Null).deleted, Ok(false));
        assert!(row(Cell::Text("yes".into())).deleted.is_err());
    }
}
