//! The example schema of a self-built IM (`assets/example-im/`): its tables for each engine,
//! its mapping file, and filling it from an export (a generated one in the tests and the
//! benchmark), so that `cutover export` can be tried and measured against real servers.
//!
//! The statements here write to a scratch database the caller set up for that; they never run
//! during an export.

use super::db::execute;
use super::url::{Engine, SourceUrl};
use super::DbExportError;
use crate::source::reader::{open_lines, Line};
use crate::source::{ExportDir, ExportFile};
use serde_json::Value;
use std::path::Path;

/// The mapping file of the example schema.
pub const MAPPING: &str = include_str!("../../assets/example-im/mapping.toml");

/// The example schema's tables for `engine`.
pub(crate) fn schema(engine: Engine) -> &'static str {
    match engine {
        Engine::MySql => include_str!("../../assets/example-im/schema-mysql.sql"),
        Engine::Postgres => include_str!("../../assets/example-im/schema-postgres.sql"),
        Engine::Sqlite => include_str!("../../assets/example-im/schema-sqlite.sql"),
    }
}

/// How a field is stored.
#[derive(Clone, Copy)]
enum Col {
    /// Text, or a number kept as it is.
    Plain,
    /// A JSON value, stored as its text.
    Json,
    /// Unix seconds in the export, milliseconds in the table.
    Millis,
}

/// The table of `kind` and its columns: (export field, column, how it is stored).
fn table(kind: ExportFile) -> (&'static str, &'static [(&'static str, &'static str, Col)]) {
    use Col::*;
    match kind {
        ExportFile::Accounts => (
            "users",
            &[
                ("id", "user_id", Plain),
                ("nick", "nickname", Plain),
                ("avatar_url", "avatar", Plain),
                ("created_at", "created_at", Millis),
            ],
        ),
        ExportFile::Profiles => (
            "user_profiles",
            &[
                ("id", "user_id", Plain),
                ("gender", "gender", Plain),
                ("birthday", "birthday", Plain),
                ("location", "location", Plain),
                ("signature", "signature", Plain),
                ("allow_friend", "allow_friend", Plain),
                ("language", "language", Plain),
                ("level", "level", Plain),
                ("role", "role", Plain),
                ("custom", "extra", Json),
            ],
        ),
        ExportFile::Friends => (
            "friendships",
            &[
                ("owner", "owner_id", Plain),
                ("friend", "friend_id", Plain),
                ("remark", "remark", Plain),
                ("groups", "tags", Json),
                ("source", "add_source", Plain),
                ("wording", "wording", Plain),
                ("added_at", "created_at", Millis),
                ("custom", "extra", Json),
            ],
        ),
        ExportFile::C2cMessages => (
            "messages",
            &[
                ("id", "msg_id", Plain),
                ("from", "sender_id", Plain),
                ("to", "receiver_id", Plain),
                ("sent_at", "created_at", Millis),
                ("seq", "seq", Plain),
                ("random", "rnd", Plain),
                ("body", "content", Json),
                ("custom_data", "cloud_custom", Plain),
            ],
        ),
        ExportFile::Groups => (
            "chat_groups",
            &[
                ("id", "group_id", Plain),
                ("type", "group_type", Plain),
                ("name", "name", Plain),
                ("owner", "owner_id", Plain),
                ("introduction", "introduction", Plain),
                ("notification", "notification", Plain),
                ("avatar_url", "avatar", Plain),
                ("max_members", "max_members", Plain),
                ("join_option", "join_option", Plain),
                ("created_at", "created_at", Millis),
                ("custom", "extra", Json),
            ],
        ),
        ExportFile::GroupMembers => (
            "group_members",
            &[
                ("group", "group_id", Plain),
                ("member", "user_id", Plain),
                ("role", "role", Plain),
                ("joined_at", "joined_at", Millis),
                ("unread", "unread", Plain),
            ],
        ),
        ExportFile::GroupMessages => (
            "group_messages",
            &[
                ("id", "msg_id", Plain),
                ("group", "group_id", Plain),
                ("from", "sender_id", Plain),
                ("sent_at", "created_at", Millis),
                ("random", "rnd", Plain),
                ("body", "content", Json),
                ("custom_data", "cloud_custom", Plain),
            ],
        ),
    }
}

/// A SQL text literal of `text` for `engine`.
fn quote(text: &str, engine: Engine) -> String {
    literal(Some(&Value::String(text.to_string())), Col::Plain, engine)
}

/// A SQL literal of `v` for `engine`.
fn literal(v: Option<&Value>, col: Col, engine: Engine) -> String {
    let text = match (v, col) {
        (None | Some(Value::Null), _) => return "NULL".into(),
        (Some(v), Col::Json) => v.to_string(),
        (Some(Value::Number(n)), Col::Millis) => match n.as_i64() {
            Some(s) => return s.saturating_mul(1000).to_string(),
            None => n.to_string(),
        },
        (Some(Value::Number(n)), _) => return n.to_string(),
        (Some(Value::Bool(b)), _) => return i64::from(*b).to_string(),
        (Some(Value::String(s)), _) => s.clone(),
        (Some(other), _) => other.to_string(),
    };
    let mut escaped = text.replace('\'', "''");
    if engine == Engine::MySql {
        escaped = escaped.replace('\\', "\\\\");
    }
    format!("'{escaped}'")
}

/// One `INSERT` of `records` of `kind` into the example schema, each row changed at
/// `updated_at_ms`.
pub fn insert(kind: ExportFile, records: &[Value], engine: Engine, updated_at_ms: i64) -> String {
    let (name, cols) = table(kind);
    let names: Vec<&str> = cols.iter().map(|c| c.1).collect();
    let mut sql = format!(
        "INSERT INTO {name} ({}, updated_at) VALUES ",
        names.join(", ")
    );
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            sql.push_str(",\n");
        }
        let values: Vec<String> = cols
            .iter()
            .map(|(field, _, col)| literal(r.get(*field), *col, engine))
            .collect();
        sql.push_str(&format!("({}, {updated_at_ms})", values.join(", ")));
    }
    sql
}

/// Rows per `INSERT` and statements per call when filling.
const ROWS_PER_INSERT: usize = 500;
const INSERTS_PER_CALL: usize = 20;

/// Creates the example tables in the database at `url` and fills them with every record of
/// the export in `dir`, each changed at `updated_at_ms`. Returns the rows written.
pub async fn fill(url: &SourceUrl, dir: &Path, updated_at_ms: i64) -> Result<u64, DbExportError> {
    execute(url, &[schema(url.engine).to_string()]).await?;
    let export = ExportDir::open(dir)?;
    let mut rows = 0;
    for kind in ExportFile::ALL {
        let Some(path) = export.path(kind) else {
            continue;
        };
        let bad = |e: std::io::Error| DbExportError::Io {
            what: format!("reading {}", path.display()),
            source: e,
        };
        let mut lines = open_lines(path).map_err(bad)?;
        let (mut records, mut batch) = (Vec::new(), Vec::new());
        loop {
            let next = lines.next_line().map_err(bad)?;
            if let Some((_, Line::Text(bytes))) = next {
                if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
                    records.push(v);
                }
            }
            let end = next.is_none();
            if records.len() >= ROWS_PER_INSERT || (end && !records.is_empty()) {
                rows += records.len() as u64;
                batch.push(insert(kind, &records, url.engine, updated_at_ms));
                records.clear();
            }
            if batch.len() >= INSERTS_PER_CALL || (end && !batch.is_empty()) {
                let joined = batch.join(";\n");
                // SQLite and PostgreSQL take several statements in one call; so does MySQL's
                // text protocol.
                execute(url, &[wrap(&joined, url.engine)]).await?;
                batch.clear();
            }
            if end {
                break;
            }
        }
    }
    Ok(rows)
}

/// Marks deleted, changed at `at_ms`, every row whose `id` is a multiple of `every` in the
/// example's tables that have one (users, chat_groups, messages, group_messages): soft
/// deletes, for the benchmark of a delta with deletions.
pub async fn mark_deleted(url: &SourceUrl, every: u32, at_ms: i64) -> Result<(), DbExportError> {
    let marks = [
        ("users", format!("deleted_at = {at_ms}")),
        ("chat_groups", format!("deleted_at = {at_ms}")),
        ("messages", "is_deleted = TRUE".to_string()),
        ("group_messages", "is_deleted = TRUE".to_string()),
    ];
    let sql: Vec<String> = marks
        .iter()
        .map(|(table, mark)| {
            format!("UPDATE {table} SET {mark}, updated_at = {at_ms} WHERE id % {every} = 0")
        })
        .collect();
    execute(url, &sql).await
}

/// A batch in one transaction (far faster for SQLite; harmless elsewhere).
fn wrap(sql: &str, engine: Engine) -> String {
    match engine {
        Engine::MySql => format!("START TRANSACTION;\n{sql};\nCOMMIT"),
        _ => format!("BEGIN;\n{sql};\nCOMMIT"),
    }
}

/// The `i`-th change of a live old system to the example schema, made at `ms`: a cycle of
/// six (a new account, a message from the account before, that account joining `group`, the
/// group renamed, a message written 153 changes before deleted softly, a membership made 153
/// changes before deleted outright: seconds apart at 50 changes a second, so that rounds
/// import what is deleted later); `None` for the deletions of the first cycles. What the follow tests and the window benchmark write while
/// a follow run reads.
pub fn live_change(i: u64, ms: i64, engine: Engine, to: &str, group: &str) -> Option<String> {
    let user = |n: u64| format!("u8{n:04}");
    let secs = ms / 1000;
    let sql = match i % 6 {
        0 => insert(
            ExportFile::Accounts,
            &[serde_json::json!({"id": user(i), "nick": format!("live {i}"), "created_at": secs})],
            engine,
            ms,
        ),
        1 => insert(
            ExportFile::C2cMessages,
            &[
                serde_json::json!({"id": format!("m8{i:04}"), "from": user(i - 1), "to": to,
                     "sent_at": secs, "seq": i, "random": i,
                     "body": [{"type": "text", "text": format!("live {i}")}]}),
            ],
            engine,
            ms,
        ),
        2 => insert(
            ExportFile::GroupMembers,
            &[
                serde_json::json!({"group": group, "member": user(i - 2), "role": "member",
                     "joined_at": secs}),
            ],
            engine,
            ms,
        ),
        3 => format!(
            "UPDATE chat_groups SET name = 'Renamed {i}', updated_at = {ms} \
             WHERE group_id = {}",
            quote(group, engine)
        ),
        4 if i >= 155 => format!(
            "UPDATE messages SET is_deleted = TRUE, updated_at = {ms} WHERE msg_id = 'm8{:04}'",
            i - 153
        ),
        5 if i >= 155 => format!(
            "DELETE FROM group_members WHERE group_id = {} AND user_id = '{}'",
            quote(group, engine),
            user(i - 155)
        ),
        _ => return None,
    };
    Some(sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_escape_per_engine() {
        let r = json!({"id": "m'1\\", "from": "a", "to": "b", "sent_at": 7,
                       "body": [{"type": "text", "text": "it's"}]});
        let my = insert(
            ExportFile::C2cMessages,
            std::slice::from_ref(&r),
            Engine::MySql,
            9,
        );
        assert!(my.contains(r"'m''1\\'"), "{my}");
        assert!(my.contains("7000") && my.contains("NULL") && my.ends_with(", 9)"));
        let pg = insert(ExportFile::C2cMessages, &[r], Engine::Postgres, 9);
        assert!(pg.contains(r"'m''1\'") && pg.contains(r#"'[{"text":"it''s","type":"text"}]'"#));
    }
}
