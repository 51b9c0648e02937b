//! Deletions read from the source (export-format.md, "Deletions in a delta"): a mapping query
//! may return a `deleted` column (and a `deleted_at`); in a delta a deleted row becomes a
//! tombstone line of its kind's file, holding only the kind's key fields.
//!
//! Tombstones are checked here, by their key fields; the validator of the records is handed a
//! blank line in their place, so that the line numbers of its problems stay those of the file.

use super::cells::Cell;
use crate::model::Rule;
use crate::source::ExportFile;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// The column that marks a row deleted.
pub(crate) const DELETED_COLUMN: &str = "deleted";
/// The column that says when the row was deleted (optional).
pub(crate) const DELETED_AT_COLUMN: &str = "deleted_at";

/// The key fields of `kind`'s records: what its tombstones and its key set hold. Profiles
/// have none: a profile is never deleted on its own.
pub(crate) fn key_fields(kind: ExportFile) -> Option<&'static [&'static str]> {
    Some(kind.key_fields()).filter(|fields| !fields.is_empty())
}

/// Whether a `deleted` cell marks its row deleted: true, 1, `t`, `true` (any case) do;
/// false, 0, `f`, `false` and NULL do not. Anything else is a mistake of the mapping.
pub(crate) fn deleted_flag(cell: &Cell) -> Result<bool, String> {
    let text = match cell {
        Cell::Null => return Ok(false),
        Cell::Bool(b) => return Ok(*b),
        Cell::Int(0) | Cell::UInt(0) => return Ok(false),
        Cell::Int(1) | Cell::UInt(1) => return Ok(true),
        Cell::Int(i) | Cell::Time(i) => i.to_string(),
        Cell::UInt(u) => u.to_string(),
        Cell::Float(f) => f.to_string(),
        Cell::Text(t) => t.clone(),
        Cell::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Cell::Json(v) => v.to_string(),
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Ok(true),
        "0" | "f" | "false" => Ok(false),
        _ => Err(format!(
            "column {DELETED_COLUMN} is {text:?}, not a flag (true, 1, 't', 'true' for a \
             deleted row; false, 0, 'f', 'false' or NULL for a live one): for a time column \
             select `(deleted_at IS NOT NULL) AS deleted`"
        )),
    }
}

/// Checks the deletion columns of `kind`'s query: profiles have no tombstone, and a
/// `deleted_at` alone would mark nothing.
pub(crate) fn check_columns(kind: ExportFile, names: &[String]) -> Result<(), String> {
    let has = |c: &str| names.iter().any(|n| n == c);
    if kind == ExportFile::Profiles && (has(DELETED_COLUMN) || has(DELETED_AT_COLUMN)) {
        return Err(format!(
            "a {DELETED_COLUMN}/{DELETED_AT_COLUMN} column: profiles have no tombstone (a \
             profile goes with its account; a cleared field is an upsert with the field's \
             empty value); leave deleted rows out in the query's WHERE"
        ));
    }
    if has(DELETED_AT_COLUMN) && !has(DELETED_COLUMN) {
        return Err(format!(
            "a {DELETED_AT_COLUMN} column without a {DELETED_COLUMN} column marks nothing \
             deleted: add `({DELETED_AT_COLUMN} IS NOT NULL) AS {DELETED_COLUMN}`"
        ));
    }
    Ok(())
}

/// Fields of a JSON object in a chosen order (the format's: key fields first).
#[derive(Debug)]
pub(crate) struct Ordered(pub(crate) Vec<(&'static str, Value)>);

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// What is wrong with one field of a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldProblem {
    /// The field.
    pub(crate) field: &'static str,
    /// The rule broken.
    pub(crate) rule: Rule,
    /// Why.
    pub(crate) reason: String,
}

/// The tombstone of a deleted row of `kind`, and what is wrong with it.
#[derive(Debug)]
pub(crate) struct Tombstone {
    /// The line's fields: the key fields, `deleted`, and `deleted_at` when known.
    pub(crate) fields: Ordered,
    /// The record's name in problems (`u1`, `u1→u2`, `g1/u2`).
    pub(crate) name: String,
    /// Problems of its fields (a key field missing, not text, empty).
    pub(crate) problems: Vec<FieldProblem>,
}

/// The tombstone of a deleted row of `kind` whose record is `record` (the row's fields) and
/// whose `deleted_at` column gave `deleted_at`. `kind` has key fields (not profiles).
pub(crate) fn tombstone(
    kind: ExportFile,
    record: &serde_json::Map<String, Value>,
    deleted_at: Option<Value>,
) -> Tombstone {
    let keys = key_fields(kind).unwrap_or(&[]);
    let mut fields = Vec::with_capacity(keys.len() + 2);
    let mut problems = Vec::new();
    let mut names = Vec::with_capacity(keys.len());
    for field in keys {
        let value = record.get(*field).cloned();
        let bad = |rule, reason: &str| FieldProblem {
            field,
            rule,
            reason: reason.to_string(),
        };
        match &value {
            None => problems.push(bad(Rule::MissingField, "a tombstone needs its key field")),
            Some(Value::String(s)) if s.is_empty() => {
                problems.push(bad(Rule::BadLength, "an id is never empty"))
            }
            Some(Value::String(_)) => {}
            Some(_) => problems.push(bad(Rule::WrongType, "ids are strings")),
        }
        names.push(match &value {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "-".into(),
        });
        if let Some(v) = value {
            fields.push((*field, v));
        }
    }
    fields.push((DELETED_COLUMN, Value::Bool(true)));
    if let Some(at) = deleted_at {
        if !at.is_i64() {
            problems.push(FieldProblem {
                field: DELETED_AT_COLUMN,
                rule: Rule::WrongType,
                reason: "unix seconds (an integer)".into(),
            });
        }
        fields.push((DELETED_AT_COLUMN, at));
    }
    let name = match kind {
        ExportFile::Friends => names.join("→"),
        _ => names.join("/"),
    };
    Tombstone {
        fields: Ordered(fields),
        name,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(kind: ExportFile, record: Value, at: Option<Value>) -> (String, Tombstone) {
        let Value::Object(map) = record else {
            panic!("an object")
        };
        let t = tombstone(kind, &map, at);
        (serde_json::to_string(&t.fields).unwrap(), t)
    }

    #[test]
    fn flags_read_as_the_databases_give_them() {
        for yes in [
            Cell::Bool(true),
            Cell::Int(1),
            Cell::UInt(1),
            Cell::Text("t".into()),
            Cell::Bytes(b"TRUE".to_vec()),
            Cell::Bytes(b"1".to_vec()),
        ] {
            assert_eq!(deleted_flag(&yes), Ok(true), "{yes:?}");
        }
        for no in [
            Cell::Null,
            Cell::Bool(false),
            Cell::Int(0),
            Cell::Text("f".into()),
            Cell::Bytes(b"false".to_vec()),
            Cell::Text("0".into()),
        ] {
            assert_eq!(deleted_flag(&no), Ok(false), "{no:?}");
        }
        for bad in [Cell::Int(1_732_000_000_000), Cell::Text("yes".into())] {
            let e = deleted_flag(&bad).unwrap_err();
            assert!(e.contains("IS NOT NULL) AS deleted"), "{e}");
        }
    }

    #[test]
    fn a_tombstone_holds_only_the_kinds_key_in_the_formats_order() {
        let friend = json!({"owner": "u1", "friend": "u2", "remark": "x", "added_at": 5});
        let (text, t) = line(ExportFile::Friends, friend, Some(json!(1_732_000_300)));
        assert_eq!(
            text,
            r#"{"owner":"u1","friend":"u2","deleted":true,"deleted_at":1732000300}"#
        );
        assert_eq!((t.name.as_str(), t.problems.len()), ("u1→u2", 0));
        let member = json!({"group": "g1", "member": "u2", "role": "admin"});
        let (text, _) = line(ExportFile::GroupMembers, member, None);
        assert_eq!(text, r#"{"group":"g1","member":"u2","deleted":true}"#);
        let message = json!({"id": "m1", "group": "g1", "from": "u1", "body": []});
        let (text, _) = line(ExportFile::GroupMessages, message, None);
        assert_eq!(text, r#"{"id":"m1","deleted":true}"#);
    }

    #[test]
    fn a_tombstone_without_a_usable_key_is_a_problem() {
        let (text, t) = line(ExportFile::Friends, json!({"owner": ""}), Some(json!("x")));
        assert_eq!(text, r#"{"owner":"","deleted":true,"deleted_at":"x"}"#);
        let rules: Vec<(&str, Rule)> = t.problems.iter().map(|p| (p.field, p.rule)).collect();
        assert_eq!(
            rules,
            vec![
                ("owner", Rule::BadLength),
                ("friend", Rule::MissingField),
                ("deleted_at", Rule::WrongType)
            ]
        );
        let (_, t) = line(ExportFile::Accounts, json!({"id": 7}), None);
        assert_eq!(t.problems[0].rule, Rule::WrongType);
    }

    #[test]
    fn profiles_take_no_deletion_columns() {
        let cols = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = check_columns(ExportFile::Profiles, &cols(&["id", "deleted"])).unwrap_err();
        assert!(e.contains("profiles have no tombstone"), "{e}");
        assert!(check_columns(ExportFile::Accounts, &cols(&["id", "deleted"])).is_ok());
        let e = check_columns(ExportFile::Groups, &cols(&["id", "deleted_at"])).unwrap_err();
        assert!(e.contains("IS NOT NULL) AS deleted"), "{e}");
        assert!(key_fields(ExportFile::Profiles).is_none());
    }
}
