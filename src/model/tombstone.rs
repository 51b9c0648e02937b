//! Tombstones: the lines of a delta export that say a record was deleted in the old system
//! (export-format.md, "Deletions in a delta"). A tombstone is a line of the kind's own file
//! with `"deleted": true` and the kind's key fields; everything else on it is ignored.

use super::fields::{json_kind, Fields};
use super::problem::{FieldProblem, Rule};
use serde_json::{Map, Value};

/// A deleted record: its kind's key, as read from its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// The key fields' values in the order of the kind's key (one, or two for a pair).
    pub(crate) ids: Vec<String>,
    /// When the old system deleted it (unix seconds), if the line says.
    pub(crate) deleted_at: Option<i64>,
}

impl Tombstone {
    /// The first key field: the id, or the owner of a friend entry, or a member's group.
    pub(crate) fn first(&self) -> &str {
        self.ids.first().map_or("", String::as_str)
    }

    /// The second key field of a pair (friend, member), if any.
    pub(crate) fn second(&self) -> Option<&str> {
        self.ids.get(1).map(String::as_str)
    }
}

/// What a line's `deleted` field says.
pub(crate) enum Deleted {
    /// Absent or `false`: the line is a record (the field is taken off the map).
    No,
    /// `true`: the line is a tombstone.
    Yes,
    /// Not a boolean.
    Bad(FieldProblem),
}

/// Reads (and takes off `map`) the line's `deleted` field.
pub(crate) fn deleted(map: &mut Map<String, Value>) -> Deleted {
    match map.remove("deleted") {
        None | Some(Value::Bool(false)) | Some(Value::Null) => Deleted::No,
        Some(Value::Bool(true)) => Deleted::Yes,
        Some(other) => Deleted::Bad(FieldProblem::new(
            Rule::WrongType,
            "deleted",
            format!("expected true or false, got {}", json_kind(&other)),
        )),
    }
}

/// Reads a tombstone of a kind whose key fields are `keys` (name, most bytes) from the rest
/// of its line; `None` (with problems) when a key field is missing or wrong, or when the kind
/// has no tombstone (`keys` empty: profiles, where a cleared field is an upsert).
pub(crate) fn read(f: &mut Fields<'_>, keys: &[(&str, usize)]) -> Option<Tombstone> {
    if keys.is_empty() {
        f.problem(
            Rule::Tombstone,
            "deleted",
            "profiles have no tombstone: a cleared field is an upsert with the field's empty \
             value (\"\" or 0)",
        );
        return None;
    }
    let ids: Vec<Option<String>> = keys
        .iter()
        .map(|(name, max)| f.req_str(name, 1, *max))
        .collect();
    let deleted_at = f.opt_int("deleted_at");
    if let Some(t) = deleted_at.filter(|t| *t <= 0) {
        f.problem(
            Rule::InvalidValue,
            "deleted_at",
            format!("{t} is not a positive unix time"),
        );
    }
    let ids: Option<Vec<String>> = ids.into_iter().collect();
    Some(Tombstone {
        ids: ids?,
        deleted_at,
    })
}

#[cfg(test)]
mod tests {
    use crate::model::{parse_line, Account, Friend, Profile, Rule};

    #[test]
    fn a_tombstone_needs_only_its_key() {
        let p = parse_line::<Friend>(br#"{"owner":"u1","friend":"u2","deleted":true}"#);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert!(p.record.is_none());
        let t = p.tombstone.unwrap();
        assert_eq!((t.first(), t.second()), ("u1", Some("u2")));
        assert_eq!(p.key.as_deref(), Some("u1\0u2"));

        let p = parse_line::<Account>(br#"{"id":"u1","deleted":true,"deleted_at":1732000300}"#);
        assert_eq!(p.tombstone.unwrap().deleted_at, Some(1_732_000_300));
    }

    #[test]
    fn a_tombstone_without_its_key_or_of_a_profile_is_refused() {
        let p = parse_line::<Friend>(br#"{"owner":"u1","deleted":true}"#);
        assert_eq!(p.problems[0].rule, Rule::MissingField);
        assert_eq!(p.problems[0].field, "friend");
        assert!(p.tombstone.is_none());

        let p = parse_line::<Profile>(br#"{"id":"u1","deleted":true}"#);
        assert_eq!(p.problems[0].rule, Rule::Tombstone);
        assert!(p.tombstone.is_none());
    }

    #[test]
    fn deleted_false_is_a_record_and_a_non_boolean_is_wrong() {
        let p = parse_line::<Account>(br#"{"id":"u1","deleted":false}"#);
        assert!(p.record.is_some() && p.tombstone.is_none());
        assert!(p.unknown_fields.is_empty());

        let p = parse_line::<Account>(br#"{"id":"u1","deleted":"yes"}"#);
        assert_eq!(p.problems[0].rule, Rule::WrongType);
        assert_eq!(p.problems[0].field, "deleted");
    }
}
