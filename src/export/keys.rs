//! Key sets (`[keys]` in the mapping): for a delta, each kind's whole current key set in the
//! old database, written row by row to `keys/<stem>.jsonl` — one object per line with exactly
//! the kind's key fields. The window compares it with the keys it imported before: a key that
//! vanished is a row deleted outright (a hard delete, which leaves no row to mark).
//!
//! The query is checked like the others: its columns must be exactly the key fields, every
//! value text and not empty. A key set with a hole would delete what still exists, so a bad
//! row stops the export (naming the entry and the row) instead of being skipped.

use super::cells::{text_of, Cell};
use super::tombstone::{key_fields, Ordered};
use super::write::KindFile;
use super::DbExportError;
use crate::source::ExportFile;
use serde_json::Value;
use std::path::Path;

/// The key set of one kind being written.
pub(crate) struct KeySet {
    /// Its file.
    pub(crate) file: KindFile,
    /// The key fields, each with the index of its column.
    columns: Vec<(&'static str, usize)>,
}

/// `[keys] <stem>`: the mapping entry, for errors.
fn entry(kind: ExportFile) -> String {
    format!("[keys] {}", kind.stem())
}

fn bad(kind: ExportFile, reason: String) -> DbExportError {
    DbExportError::Entry {
        entry: entry(kind),
        reason,
    }
}

/// Which column holds each key field of `kind`, when `names` are exactly the key fields.
fn key_columns(kind: ExportFile, names: &[String]) -> Result<Vec<(&'static str, usize)>, String> {
    let fields = key_fields(kind).ok_or("profiles have no key set")?;
    let wanted = fields.join(", ");
    let mut columns = Vec::with_capacity(fields.len());
    for field in fields {
        match names.iter().position(|n| n == field) {
            Some(i) => columns.push((*field, i)),
            None => {
                return Err(format!(
                    "the query returns {}; it must return exactly {wanted} (name the columns \
                     with AS)",
                    names.join(", ")
                ))
            }
        }
    }
    if let Some(extra) = names.iter().find(|n| !fields.contains(&n.as_str())) {
        return Err(format!(
            "column {extra}: a key set holds exactly {wanted}, nothing else"
        ));
    }
    Ok(columns)
}

impl KeySet {
    /// Starts the key set of `kind` in `staging`, its query's columns being `names`.
    pub(crate) fn start(
        kind: ExportFile,
        names: &[String],
        staging: &Path,
    ) -> Result<Self, DbExportError> {
        let columns = key_columns(kind, names).map_err(|r| bad(kind, r))?;
        let file = KindFile::create_key_set(kind, staging)?;
        Ok(Self { file, columns })
    }

    /// Writes the key of one row.
    pub(crate) fn row(&mut self, cells: Vec<Cell>) -> Result<(), DbExportError> {
        let kind = self.file.kind;
        let row = self.file.rows + 1;
        let line =
            key_line(&self.columns, cells).map_err(|r| bad(kind, format!("row {row}: {r}")))?;
        if let Err(source) = self.file.write(&line) {
            return Err(DbExportError::Io {
                what: format!("writing {}", self.file.name),
                source,
            });
        }
        Ok(())
    }
}

/// The line of one row: each key field's value, which must be non-empty text.
fn key_line(columns: &[(&'static str, usize)], mut cells: Vec<Cell>) -> Result<Ordered, String> {
    let mut fields = Vec::with_capacity(columns.len());
    for (field, i) in columns {
        let cell = cells.get_mut(*i).map(|c| std::mem::replace(c, Cell::Null));
        let text = match cell {
            Some(Cell::Text(t)) => t,
            Some(Cell::Bytes(b)) => text_of(b),
            Some(Cell::Null) | None => return Err(format!("{field} is NULL")),
            Some(other) => {
                return Err(format!(
                    "{field} is {other:?}, not text: ids are strings (cast it: \
                     CAST(x AS CHAR), x::text)"
                ))
            }
        };
        if text.is_empty() {
            return Err(format!("{field} is empty"));
        }
        fields.push((*field, Value::String(text)));
    }
    Ok(Ordered(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_columns_are_exactly_the_key_fields() {
        let cols = key_columns(ExportFile::Friends, &names(&["friend", "owner"])).unwrap();
        assert_eq!(cols, vec![("owner", 1), ("friend", 0)]);
        let e = key_columns(ExportFile::Accounts, &names(&["user_id"])).unwrap_err();
        assert!(
            e.contains("returns user_id") && e.contains("exactly id"),
            "{e}"
        );
        let e = key_columns(
            ExportFile::GroupMembers,
            &names(&["group", "member", "role"]),
        );
        assert!(e.unwrap_err().contains("column role"));
    }

    #[test]
    fn a_key_line_is_the_key_in_the_formats_order_and_a_bad_key_stops() {
        let cols = key_columns(ExportFile::Friends, &names(&["friend", "owner"])).unwrap();
        let cells = vec![Cell::Bytes(b"u2".to_vec()), Cell::Text("u1".into())];
        let line = serde_json::to_string(&key_line(&cols, cells).unwrap()).unwrap();
        assert_eq!(line, r#"{"owner":"u1","friend":"u2"}"#);
        let null = vec![Cell::Null, Cell::Text("u1".into())];
        assert_eq!(key_line(&cols, null).unwrap_err(), "friend is NULL");
        let cols = key_columns(ExportFile::Accounts, &names(&["id"])).unwrap();
        assert!(key_line(&cols, vec![Cell::Int(7)])
            .unwrap_err()
            .contains("not text"));
        assert_eq!(
            key_line(&cols, vec![Cell::Text(String::new())]).unwrap_err(),
            "id is empty"
        );
    }

    #[test]
    fn key_sets_are_written_one_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        let mut set = KeySet::start(
            ExportFile::GroupMembers,
            &names(&["group", "member"]),
            dir.path(),
        )
        .unwrap();
        set.row(vec![Cell::Text("g1".into()), Cell::Text("u1".into())])
            .unwrap();
        set.row(vec![Cell::Text("g1".into()), Cell::Text("u2".into())])
            .unwrap();
        let e = set
            .row(vec![Cell::Text("g1".into()), Cell::Null])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "mapping [keys] group_members: row 3: member is NULL");
        assert_eq!(set.file.name, "keys/group_members.jsonl");
        set.file.finish().unwrap();
        let text = std::fs::read_to_string(dir.path().join("keys/group_members.jsonl")).unwrap();
        assert_eq!(
            text,
            "{\"group\":\"g1\",\"member\":\"u1\"}\n{\"group\":\"g1\",\"member\":\"u2\"}\n"
        );
    }
}
