//! The store's schema, as an ordered list of migrations applied in one transaction each.
//!
//! `PRAGMA user_version` records how many have been applied, so an older store is brought up
//! to date on open and a newer one (written by a later cutover) is refused rather than misread.

use rusqlite::Connection;

/// Every migration, in order. Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: the run, the staged exports, items, failures, the journal, high-water marks, audit.
    r#"
    CREATE TABLE run (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        created_at      INTEGER NOT NULL,
        target          TEXT NOT NULL,
        sdkappid        INTEGER NOT NULL,
        admin           TEXT NOT NULL,
        config          TEXT NOT NULL,
        state           TEXT NOT NULL,
        reason          TEXT NOT NULL,
        updated_at      INTEGER NOT NULL,
        heartbeat_at    INTEGER,
        owner_pid       INTEGER
    );
    CREATE TABLE export (
        id              INTEGER PRIMARY KEY,
        root            TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        exported_at     INTEGER NOT NULL,
        watermark       INTEGER,
        delta_of        INTEGER,
        staged_at       INTEGER NOT NULL
    );
    CREATE TABLE source_file (
        export_id       INTEGER NOT NULL REFERENCES export(id),
        kind            INTEGER NOT NULL,
        name            TEXT NOT NULL,
        read_path       TEXT NOT NULL,
        records         INTEGER NOT NULL,
        invalid         INTEGER NOT NULL,
        PRIMARY KEY (export_id, kind)
    );
    CREATE TABLE item (
        kind            INTEGER NOT NULL,
        id              INTEGER NOT NULL,
        export_id       INTEGER NOT NULL,
        key             TEXT NOT NULL,
        line            INTEGER NOT NULL,
        offset          INTEGER NOT NULL,
        len             INTEGER NOT NULL,
        parent          INTEGER,
        needs           INTEGER NOT NULL,
        t               INTEGER NOT NULL DEFAULT 0,
        state           INTEGER NOT NULL DEFAULT 0,
        attempts        INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX item_by_key ON item (kind, key);
    CREATE INDEX item_by_state ON item (kind, state);
    CREATE TABLE invalid (
        export_id       INTEGER NOT NULL,
        kind            INTEGER NOT NULL,
        file            TEXT NOT NULL,
        line            INTEGER NOT NULL,
        record          TEXT NOT NULL,
        field           TEXT NOT NULL,
        rule            TEXT NOT NULL,
        reason          TEXT NOT NULL
    );
    CREATE TABLE failure (
        kind            INTEGER NOT NULL,
        id              INTEGER NOT NULL,
        api             TEXT NOT NULL,
        code            INTEGER,
        info            TEXT NOT NULL,
        retryable       INTEGER NOT NULL,
        attempts        INTEGER NOT NULL,
        first_at        INTEGER NOT NULL,
        last_at         INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    CREATE TABLE journal (
        request         INTEGER PRIMARY KEY,
        kind            INTEGER NOT NULL,
        api             TEXT NOT NULL,
        grp             INTEGER,
        items           TEXT NOT NULL,
        sent_at         INTEGER NOT NULL
    );
    CREATE TABLE group_mark (
        grp             INTEGER PRIMARY KEY,
        last_time       INTEGER NOT NULL,
        last_seq        INTEGER NOT NULL
    );
    CREATE TABLE audit (
        id              INTEGER PRIMARY KEY,
        at              INTEGER NOT NULL,
        actor           TEXT NOT NULL,
        action          TEXT NOT NULL,
        detail          TEXT NOT NULL,
        reason          TEXT NOT NULL
    );
    CREATE TABLE step (
        name            TEXT PRIMARY KEY,
        position        INTEGER NOT NULL,
        state           TEXT NOT NULL,
        reason          TEXT NOT NULL,
        started_at      INTEGER,
        ended_at        INTEGER
    );
    CREATE TABLE sample (
        at              INTEGER NOT NULL,
        kind            INTEGER NOT NULL,
        done            INTEGER NOT NULL,
        failed          INTEGER NOT NULL,
        calls           INTEGER NOT NULL,
        PRIMARY KEY (at, kind)
    ) WITHOUT ROWID;
    "#,
    // 2: read-back verification: one result per checked item, what the target has beyond the
    // export, and the verification pass itself.
    r#"
    CREATE TABLE verify_result (
        kind            INTEGER NOT NULL,
        id              INTEGER NOT NULL,
        outcome         INTEGER NOT NULL,
        detail          TEXT NOT NULL,
        at              INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    CREATE TABLE verify_extra (
        kind            INTEGER NOT NULL,
        scope           TEXT NOT NULL,
        key             TEXT NOT NULL,
        detail          TEXT NOT NULL,
        at              INTEGER NOT NULL,
        PRIMARY KEY (kind, scope, key)
    ) WITHOUT ROWID;
    CREATE TABLE verify_pass (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        started_at      INTEGER NOT NULL,
        ended_at        INTEGER,
        sample          REAL NOT NULL,
        roaming_days    INTEGER NOT NULL,
        sampled_units   TEXT NOT NULL DEFAULT '{}'
    );
    "#,
    // 3: two-way sync: every event received (persisted before it is acknowledged), its fate,
    // the keys of what the relay itself wrote (echo ledger), and cursors (file offsets,
    // reconciliation marks).
    r#"
    CREATE TABLE sync_event (
        seq             INTEGER PRIMARY KEY,
        direction       INTEGER NOT NULL,
        event_id        TEXT NOT NULL,
        kind            TEXT NOT NULL,
        scope           TEXT NOT NULL,
        body            TEXT NOT NULL,
        origin          TEXT NOT NULL,
        received_ms     INTEGER NOT NULL,
        state           INTEGER NOT NULL DEFAULT 0,
        attempts        INTEGER NOT NULL DEFAULT 0,
        done_ms         INTEGER,
        api             TEXT,
        code            INTEGER,
        info            TEXT NOT NULL DEFAULT '',
        UNIQUE (direction, event_id)
    );
    CREATE INDEX sync_event_by_state ON sync_event (direction, state, seq);
    CREATE TABLE sync_ledger (
        key             TEXT PRIMARY KEY,
        at_ms           INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE sync_cursor (
        name            TEXT PRIMARY KEY,
        value           TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 4: message order. Group messages keep their export time (`t`) and the time they are
    // sent (`sent_t`: later than `t` when a same-second burst is shifted); one-to-one messages
    // keep the MsgSeq assigned in conversation order (`seq`) and their conversation in
    // `parent`. `scope_mark` is each group's newest sent time and each conversation's highest
    // MsgSeq, so a later export generation continues after them. Messages staged before this
    // migration keep what an earlier cutover sent: their own time and a derived MsgSeq
    // (kinds 3 and 6 are one-to-one and group messages).
    r#"
    ALTER TABLE item ADD COLUMN sent_t INTEGER;
    ALTER TABLE item ADD COLUMN seq INTEGER;
    CREATE INDEX item_by_export_order ON item (kind, export_id, parent, t, line);
    CREATE TABLE scope_mark (
        kind            INTEGER NOT NULL,
        scope           INTEGER NOT NULL,
        last            INTEGER NOT NULL,
        PRIMARY KEY (kind, scope)
    ) WITHOUT ROWID;
    UPDATE item SET sent_t = t WHERE kind IN (3, 6);
    INSERT INTO scope_mark (kind, scope, last)
        SELECT kind, parent, MAX(t) FROM item
        WHERE kind = 6 AND parent IS NOT NULL GROUP BY parent;
    "#,
    // 5: phases. A pre-copy, then one or more delta windows, run on one store: each phase
    // (with the export it stages) starts its runbook steps afresh. `imported_before` marks an
    // item a later export changed after an earlier one was imported (a changed group is
    // brought up to date, not created again). A verification pass may read whole the items of
    // exports from `whole_from` on and sample the older ones.
    r#"
    CREATE TABLE phase (
        id              INTEGER PRIMARY KEY,
        phase           TEXT NOT NULL,
        source          TEXT NOT NULL,
        started_at      INTEGER NOT NULL
    );
    ALTER TABLE item ADD COLUMN imported_before INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE verify_pass ADD COLUMN whole_from INTEGER;
    "#,
    // 6: the history cut-off an export was staged with (`[import] history_since`, unix
    // seconds): its messages sent before it were staged as skipped (state 3).
    r#"
    ALTER TABLE export ADD COLUMN history_since INTEGER;
    "#,
    // 7: staging in chunks. An export being staged has its row in `staging` (its id reserved)
    // until its last chunk commits, which moves the row into `export`: an export is staged
    // exactly when its `export` row exists. `stage_progress` is, per file (kind), the last
    // line whose item or invalid rows a committed chunk holds, so a staging cut short resumes
    // after it.
    r#"
    CREATE TABLE staging (
        export_id       INTEGER PRIMARY KEY,
        root            TEXT NOT NULL,
        fingerprint     TEXT NOT NULL,
        exported_at     INTEGER NOT NULL,
        watermark       INTEGER,
        delta_of        INTEGER,
        staged_at       INTEGER NOT NULL,
        history_since   INTEGER
    );
    CREATE TABLE stage_progress (
        export_id       INTEGER NOT NULL,
        kind            INTEGER NOT NULL,
        lines           INTEGER NOT NULL,
        PRIMARY KEY (export_id, kind)
    ) WITHOUT ROWID;
    "#,
    // 8: the import reads what is pending a page at a time, in the order it goes: by the
    // accounts items need (accounts, profiles, groups), or by their scope and then time
    // (friends and members by owner or group, messages by conversation or group). Partial
    // indexes hold pending items only, so a resumed run finds its next page without walking
    // what is already settled.
    r#"
    CREATE INDEX item_pending_flat ON item (kind, needs, id) WHERE state = 0;
    CREATE INDEX item_pending_scoped ON item
        (kind, COALESCE(parent, -1), COALESCE(sent_t, t), COALESCE(seq, 0), id) WHERE state = 0;
    "#,
    // 9: verification reads what was imported a page at a time, scope by scope (an owner's
    // friends, a group's members or messages, a conversation), in the order they were sent.
    // The index holds every state: a state change does not touch it.
    r#"
    CREATE INDEX item_by_scope ON item
        (kind, COALESCE(parent, -1), COALESCE(sent_t, t), COALESCE(seq, 0), id);
    "#,
    // 10: sync that cannot be wedged, echoed or replayed. Per event: when it may be tried
    // again (`next_ms`) and when it first failed (`first_fail_ms`: its retries end
    // `[sync] max_retry_secs` later); state 5 is held (failed for good, its scope waiting).
    // `send_ms` is when a group message send first left (persisted before it does): an
    // attempt after it reads the group back before sending again. `sync_seen` holds the
    // callbacks already taken in (Sign, RequestTime and body hash), so a replay is not.
    r#"
    ALTER TABLE sync_event ADD COLUMN next_ms INTEGER;
    ALTER TABLE sync_event ADD COLUMN first_fail_ms INTEGER;
    ALTER TABLE sync_event ADD COLUMN send_ms INTEGER;
    CREATE TABLE sync_seen (
        key             TEXT PRIMARY KEY,
        at_ms           INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 11: deletions. A group message keeps the MsgSeq the target gave it at import
    // (`target_seq`), which a recall names it by. Deletion items (kinds 7 to 12) keep the
    // location of the record they delete, its parent, times and MsgSeq in `seq`.
    r#"
    ALTER TABLE item ADD COLUMN target_seq INTEGER;
    "#,
    // 12: recalls in sync. Every message the relay wrote into the target, by the old
    // system's id, with what the target knows it by: a one-to-one message (kind 0) by
    // sender, receiver and MsgKey; a group message (kind 1) by GroupId and MsgSeq (`peer`
    // empty). A recall the old system sends names the message by its old id; one the target
    // reports names it by its key, found again through `sync_message_by_target`.
    r#"
    CREATE TABLE sync_message (
        kind            INTEGER NOT NULL,
        old_id          TEXT NOT NULL,
        place           TEXT NOT NULL,
        peer            TEXT NOT NULL,
        target          TEXT NOT NULL,
        at_ms           INTEGER NOT NULL,
        PRIMARY KEY (kind, old_id)
    ) WITHOUT ROWID;
    CREATE INDEX sync_message_by_target ON sync_message (kind, place, target);
    "#,
    // 13: custom keys. Per staged export, the custom keys its valid records use and how many
    // records use each (kind 0: profile tag, 1: friend tag, 2: group field, whose
    // `group_type` is Tencent's type name; '' otherwise), so a resumed run or a window's
    // delta is checked against the console too. `custom_drop`: the keys the last run left
    // out (`[import] drop_custom`), which every read of a record back leaves out.
    r#"
    CREATE TABLE custom_key (
        export_id       INTEGER NOT NULL,
        kind            INTEGER NOT NULL,
        group_type      TEXT NOT NULL,
        key             TEXT NOT NULL,
        records         INTEGER NOT NULL,
        PRIMARY KEY (export_id, kind, group_type, key)
    ) WITHOUT ROWID;
    CREATE TABLE custom_drop (
        name            TEXT PRIMARY KEY
    ) WITHOUT ROWID;
    "#,
    // 14: media. One row per distinct media URL of the staged messages (the first message
    // that uses it: export, kind, line; how many use it; the export's size, if it gives one),
    // and what became of it: 0 pending, 1 copied (key, new_url, size, sha256), 2 failed
    // (reason, retryable), 3 skipped. `carried`: what its messages carry ('copy',
    // 'placeholder', 'keep'), decided once before the first message that may use it is sent
    // and never changed, which every read of a record back applies. `verified`: the
    // verification's HEAD (1 equal, 0 not, with verify_detail). `media_policy`: the last
    // run's `[media] on_unreachable`, for the report.
    r#"
    CREATE TABLE media_object (
        id              INTEGER PRIMARY KEY,
        url             TEXT NOT NULL UNIQUE,
        host            TEXT NOT NULL,
        elem            TEXT NOT NULL,
        export_id       INTEGER NOT NULL,
        kind            INTEGER NOT NULL,
        line            INTEGER NOT NULL,
        refs            INTEGER NOT NULL,
        size_hint       INTEGER,
        state           INTEGER NOT NULL DEFAULT 0,
        key             TEXT,
        new_url         TEXT,
        size            INTEGER,
        sha256          TEXT,
        reason          TEXT NOT NULL DEFAULT '',
        retryable       INTEGER NOT NULL DEFAULT 0,
        attempts        INTEGER NOT NULL DEFAULT 0,
        updated_at      INTEGER,
        carried         TEXT,
        verified        INTEGER,
        verify_detail   TEXT
    );
    CREATE INDEX media_object_host_state ON media_object (host, state);
    CREATE TABLE media_policy (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        on_unreachable  TEXT NOT NULL
    );
    "#,
];

/// The item indexes a bulk staging may build after its inserts rather than during them (see
/// `stage`): those whose order is not the inserts' order, by name, each with
/// the statement that creates it as its migration did. Inserting rows into a table and then
/// building an index sorts once; keeping these up to date lands every insert in four more
/// random pages.
/// (`item_by_state` is not among them: staged items all go in at the end of it.)
pub(crate) const DEFERRABLE_ITEM_INDEXES: [(&str, &str); 4] = [
    (
        "item_by_export_order",
        "CREATE INDEX item_by_export_order ON item (kind, export_id, parent, t, line)",
    ),
    (
        "item_pending_flat",
        "CREATE INDEX item_pending_flat ON item (kind, needs, id) WHERE state = 0",
    ),
    (
        "item_pending_scoped",
        "CREATE INDEX item_pending_scoped ON item
        (kind, COALESCE(parent, -1), COALESCE(sent_t, t), COALESCE(seq, 0), id) WHERE state = 0",
    ),
    (
        "item_by_scope",
        "CREATE INDEX item_by_scope ON item
        (kind, COALESCE(parent, -1), COALESCE(sent_t, t), COALESCE(seq, 0), id)",
    ),
];

/// The key index, which a bulk staging of a full export (not a delta) into an empty store
/// builds after its inserts too: no key can repeat there (the validator refuses a line whose
/// id, or pair of ids, an earlier line of its file had), and building it unique would fail
/// the staging if one did. Its random inserts were most of the cost of staging 30 M items.
pub(crate) const ITEM_KEY_INDEX: (&str, &str) = (
    "item_by_key",
    "CREATE UNIQUE INDEX item_by_key ON item (kind, key)",
);

/// While [`ITEM_KEY_INDEX`] is left out: the keys of the accounts (kind 0) and the groups
/// (kind 4), which the loader looks their item ids up by (queries with the kind spelled out
/// use them). Dropped when the key index is back.
pub(crate) const STAGING_KEY_INDEXES: [(&str, &str); 2] = [
    (
        "staging_account_key",
        "CREATE UNIQUE INDEX staging_account_key ON item (key) WHERE kind = 0",
    ),
    (
        "staging_group_key",
        "CREATE UNIQUE INDEX staging_group_key ON item (key) WHERE kind = 4",
    ),
];

/// Leaves the key index out for a bulk staging (in the caller's transaction): drops it and
/// creates the [`STAGING_KEY_INDEXES`].
pub(crate) fn defer_key_index(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("DROP INDEX IF EXISTS {}", ITEM_KEY_INDEX.0))?;
    for (_, sql) in STAGING_KEY_INDEXES {
        conn.execute_batch(sql)?;
    }
    Ok(())
}

/// Builds the key index if it was left out, and drops the [`STAGING_KEY_INDEXES`].
pub(crate) fn restore_key_index(conn: &Connection) -> rusqlite::Result<()> {
    if !index_exists(conn, ITEM_KEY_INDEX.0)? {
        conn.execute_batch(ITEM_KEY_INDEX.1)?;
    }
    for (name, _) in STAGING_KEY_INDEXES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    Ok(())
}

/// Drops the [`DEFERRABLE_ITEM_INDEXES`] (in the caller's transaction).
pub(crate) fn drop_deferrable_indexes(conn: &Connection) -> rusqlite::Result<()> {
    for (name, _) in DEFERRABLE_ITEM_INDEXES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    Ok(())
}

/// Creates those of `names` (of [`DEFERRABLE_ITEM_INDEXES`]) the store lacks; how many it
/// created.
pub(crate) fn create_missing_indexes(conn: &Connection, names: &[&str]) -> rusqlite::Result<usize> {
    let mut created = 0;
    for (name, sql) in DEFERRABLE_ITEM_INDEXES {
        if names.contains(&name) && !index_exists(conn, name)? {
            conn.execute_batch(sql)?;
            created += 1;
        }
    }
    Ok(created)
}

/// Whether the store has the index `name`.
pub(crate) fn index_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
}

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Why a store could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A later cutover wrote this store.
    #[error("the store has schema version {found}; this cutover knows up to {SCHEMA_VERSION}: use a newer cutover")]
    TooNew {
        /// The version found.
        found: i64,
    },
    /// SQLite refused.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

/// Applies the migrations `conn` does not have yet.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(SchemaError::TooNew { found });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_a_newer_store() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(SchemaError::TooNew { .. })
        ));
    }

    /// Deferred indexes come back exactly as the migrations made them.
    #[test]
    fn deferrable_indexes_are_the_migrations_own() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let definitions = |conn: &Connection| -> Vec<(String, String)> {
            let mut stmt = conn
                .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'item' AND sql IS NOT NULL ORDER BY name")
                .unwrap();
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, String>(1)?)));
            let squeeze = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
            rows.unwrap()
                .map(|r| r.unwrap())
                .map(|(n, s)| (n, squeeze(s)))
                .collect()
        };
        let before = definitions(&conn);
        assert_eq!(
            before.len(),
            DEFERRABLE_ITEM_INDEXES.len() + 2,
            "{before:?}"
        );
        drop_deferrable_indexes(&conn).unwrap();
        assert_eq!(definitions(&conn).len(), 2);
        let names = DEFERRABLE_ITEM_INDEXES.map(|(n, _)| n);
        assert_eq!(create_missing_indexes(&conn, &names).unwrap(), names.len());
        assert_eq!(create_missing_indexes(&conn, &names).unwrap(), 0);
        assert_eq!(definitions(&conn), before);
        defer_key_index(&conn).unwrap();
        assert_eq!(definitions(&conn).len(), before.len() + 1);
        restore_key_index(&conn).unwrap();
        assert_eq!(definitions(&conn), before);
    }
}
