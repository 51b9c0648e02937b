//! Read-back verification in the store: one result per checked item, what the target holds
//! beyond the export, the pass's settings, and the per-entity counts every front end shows.

use super::verify_gone::{gone_any_kind_in, gone_in};
use super::{display_key, Kind};
use crate::timefmt::now_secs;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;

/// What reading an item back showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The target holds it as the export has it.
    Verified = 0,
    /// The target does not hold it.
    Missing = 1,
    /// The target holds it with a field that differs (the detail names it).
    Differs = 2,
    /// It cannot be read back (e.g. a message older than the roaming retention).
    Unreadable = 3,
}

impl Outcome {
    /// The number stored in the database.
    pub(crate) fn code(self) -> i64 {
        self as i64
    }

    fn from_code(code: i64) -> Outcome {
        match code {
            0 => Outcome::Verified,
            1 => Outcome::Missing,
            2 => Outcome::Differs,
            _ => Outcome::Unreadable,
        }
    }

    /// As shown to a person.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Outcome::Verified => "verified",
            Outcome::Missing => "missing",
            Outcome::Differs => "differs",
            Outcome::Unreadable => "unreadable",
        }
    }
}

/// The result for one imported item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult {
    /// Its kind.
    pub kind: Kind,
    /// Its id within the kind.
    pub id: i64,
    /// What the read-back showed.
    pub outcome: Outcome,
    /// Which field differs and how, or why it cannot be read (empty when verified).
    pub detail: String,
}

/// Something the target holds that the export does not (a member, a message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extra {
    /// What it would be.
    pub(crate) kind: Kind,
    /// Where it was found (a group id, a conversation).
    pub(crate) scope: String,
    /// What identifies it there (an account, a MsgSeq).
    pub(crate) key: String,
    /// What it is.
    pub(crate) detail: String,
}

/// The settings and times of the verification pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pass {
    /// When it started (seconds since the epoch).
    pub started_at: i64,
    /// When it finished, if it did.
    pub ended_at: Option<i64>,
    /// The fraction of conversations and groups whose messages were read back.
    pub sample: f64,
    /// Messages older than this many days are not readable (0: no limit).
    pub roaming_days: i64,
    /// Per kind: units (conversations, groups) read back of units in all.
    pub sampled_units: BTreeMap<String, (u64, u64)>,
}

/// Starts a pass. A pass with the same settings that did not finish is carried on (its
/// results are kept); anything else starts from nothing.
pub fn begin_pass(
    conn: &mut Connection,
    sample: f64,
    roaming_days: i64,
    whole_from: Option<i64>,
) -> rusqlite::Result<bool> {
    let tx = conn.transaction()?;
    let open: Option<(f64, i64, Option<i64>)> = tx
        .query_row(
            "SELECT sample, roaming_days, whole_from FROM verify_pass WHERE ended_at IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let resumed = open == Some((sample, roaming_days, whole_from));
    if resumed {
        // Records deleted since the pass started are no longer looked for: their results go.
        for kind in Kind::RECORDS {
            let gone = gone_in(&tx, kind)?;
            if gone != "0" {
                tx.execute(
                    &format!(
                        "DELETE FROM verify_result WHERE kind = ?1 AND id IN
                         (SELECT i.id FROM item i WHERE i.kind = ?1 AND {gone})"
                    ),
                    [kind.code()],
                )?;
            }
        }
    } else {
        tx.execute_batch(
            "DELETE FROM verify_result; DELETE FROM verify_extra; DELETE FROM verify_pass;",
        )?;
        tx.execute(
            "INSERT INTO verify_pass (id, started_at, sample, roaming_days, whole_from)
             VALUES (1, ?1, ?2, ?3, ?4)",
            params![now_secs(), sample, roaming_days, whole_from],
        )?;
    }
    tx.commit()?;
    Ok(resumed)
}

/// Ends the pass, with how many units each sampled kind read back.
pub fn end_pass(
    conn: &Connection,
    sampled_units: &BTreeMap<String, (u64, u64)>,
) -> rusqlite::Result<()> {
    let json = serde_json::to_string(sampled_units).unwrap_or_else(|_| "{}".into());
    conn.execute(
        "UPDATE verify_pass SET ended_at = ?1, sampled_units = ?2",
        params![now_secs(), json],
    )?;
    Ok(())
}

/// The pass, if verification ever started.
pub fn pass(conn: &Connection) -> rusqlite::Result<Option<Pass>> {
    conn.query_row(
        "SELECT started_at, ended_at, sample, roaming_days, sampled_units FROM verify_pass",
        [],
        |r| {
            let units: String = r.get(4)?;
            Ok(Pass {
                started_at: r.get(0)?,
                ended_at: r.get(1)?,
                sample: r.get(2)?,
                roaming_days: r.get(3)?,
                sampled_units: serde_json::from_str(&units).unwrap_or_default(),
            })
        },
    )
    .optional()
}

/// Items of `kind` that already have a result (a resumed pass skips them).
#[cfg(test)]
pub(crate) fn checked_ids(
    conn: &Connection,
    kind: Kind,
) -> rusqlite::Result<std::collections::HashSet<i64>> {
    let mut stmt = conn.prepare("SELECT id FROM verify_result WHERE kind = ?1")?;
    let rows = stmt.query_map([kind.code()], |r| r.get(0))?;
    rows.collect()
}

/// Records results and extras in one transaction (a result replaces an earlier one).
#[cfg(any(test, feature = "test-support"))]
pub fn record(
    conn: &mut Connection,
    results: &[ItemResult],
    extras: &[Extra],
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    record_in(&tx, results, extras)?;
    tx.commit()
}

/// Records results and extras inside the caller's transaction (the verification writer's).
pub(crate) fn record_in(
    tx: &Connection,
    results: &[ItemResult],
    extras: &[Extra],
) -> rusqlite::Result<()> {
    let at = now_secs();
    {
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO verify_result (kind, id, outcome, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in results {
            put.execute(params![r.kind.code(), r.id, r.outcome.code(), r.detail, at])?;
        }
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO verify_extra (kind, scope, key, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for e in extras {
            put.execute(params![e.kind.code(), e.scope, e.key, e.detail, at])?;
        }
    }
    Ok(())
}

/// Per-entity counts: what the export had, what became of it, what the read-back showed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EntityCounts {
    /// The kind.
    pub kind: Option<Kind>,
    /// Records in the export (valid and invalid).
    pub source: u64,
    /// Records refused at staging (invalid).
    pub invalid: u64,
    /// Items imported.
    pub imported: u64,
    /// Items failed for good.
    pub failed: u64,
    /// Items skipped by an operator, or at staging (`[import] history_since`).
    pub skipped: u64,
    /// Items not yet sent.
    pub pending: u64,
    /// Imported items read back as they should be.
    pub verified: u64,
    /// Imported items missing on the target.
    pub missing: u64,
    /// Imported items with a differing field.
    pub differs: u64,
    /// Imported items that cannot be read back (retention).
    pub unreadable: u64,
    /// Imported items not read back (not sampled, or verification not run).
    pub unchecked: u64,
    /// Imported records meant to be gone from the target: deleted by a delta (done or still
    /// to do), or gone with a deleted account or a destroyed group. Not read back as present:
    /// the deletion kinds read back their absence.
    pub gone: u64,
    /// Things on the target that the export does not have.
    pub extra: u64,
}

impl EntityCounts {
    /// Missing, differing and extra together: what needs a person's look.
    pub fn mismatched(&self) -> u64 {
        self.missing + self.differs + self.extra
    }
}

/// The counts of every record kind, in staging order, then of each deletion kind a delta
/// carried (one with no item is left out).
pub fn entity_counts(conn: &Connection) -> rusqlite::Result<Vec<EntityCounts>> {
    let states = super::queries::item_counts(conn)?;
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let [pending, imported, failed, skipped] = states.get(&kind).copied().unwrap_or_default();
        if kind.deletes().is_some() && pending + imported + failed + skipped == 0 {
            continue;
        }
        let invalid: u64 = conn.query_row(
            "SELECT COALESCE(SUM(invalid), 0) FROM source_file WHERE kind = ?1",
            [kind.code()],
            |r| r.get(0),
        )?;
        let mut c = EntityCounts {
            kind: Some(kind),
            source: pending + imported + failed + skipped + invalid,
            invalid,
            imported,
            failed,
            skipped,
            pending,
            ..EntityCounts::default()
        };
        let gone = gone_in(conn, kind)?;
        if gone != "0" {
            c.gone = conn.query_row(
                &format!(
                    "SELECT COUNT(*) FROM item i WHERE i.kind = ?1 AND i.state = 1 AND {gone}"
                ),
                [kind.code()],
                |r| r.get(0),
            )?;
        }
        // No result is of an item meant to be gone: a pass does not check one, and drops
        // the results of those gone since it started when it carries on (`begin_pass`).
        let mut stmt = conn.prepare_cached(
            "SELECT v.outcome, COUNT(*) FROM verify_result v
             JOIN item i ON i.kind = v.kind AND i.id = v.id
             WHERE v.kind = ?1 AND i.state = 1 GROUP BY v.outcome",
        )?;
        let rows = stmt.query_map([kind.code()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, u64>(1)?))
        })?;
        for row in rows {
            let (outcome, n) = row?;
            match Outcome::from_code(outcome) {
                Outcome::Verified => c.verified = n,
                Outcome::Missing => c.missing = n,
                Outcome::Differs => c.differs = n,
                Outcome::Unreadable => c.unreadable = n,
            }
        }
        c.unchecked =
            imported.saturating_sub(c.gone + c.verified + c.missing + c.differs + c.unreadable);
        c.extra = conn.query_row(
            "SELECT COUNT(*) FROM verify_extra WHERE kind = ?1",
            [kind.code()],
            |r| r.get(0),
        )?;
        out.push(c);
    }
    Ok(out)
}

/// How a mismatch of `kind` is named: a deletion whose record reads back is `still there`.
fn what(kind: Kind, outcome: Outcome) -> &'static str {
    match (kind.deletes(), outcome) {
        (Some(_), Outcome::Differs) => "still there",
        _ => outcome.name(),
    }
}

/// The record kind of item `i` (a deletion's: the kind it deletes), as SQL.
fn record_kind_sql() -> String {
    let arms: String = Kind::DELETIONS
        .iter()
        .map(|d| format!(" WHEN {} THEN {}", d.code(), d.record().code()))
        .collect();
    format!("(CASE i.kind{arms} ELSE i.kind END)")
}

/// One item the read-back found wrong, or one extra.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The kind.
    pub kind: Kind,
    /// The record (`u0001`, `g1/u2`, a message id), or where an extra was found.
    pub record: String,
    /// `missing`, `differs` or `extra`; for a deletion, `still there`.
    pub what: &'static str,
    /// Which field and how, or what the extra is.
    pub detail: String,
    /// The source file and line (empty for extras).
    pub source: String,
}

/// Mismatches (missing, differing, extra) of `kind` (all kinds when `None`), at most `limit`.
pub fn mismatches(
    conn: &Connection,
    kind: Option<Kind>,
    limit: usize,
) -> rusqlite::Result<Vec<Mismatch>> {
    let kind_code = kind.map_or(-1, Kind::code);
    let mut out = Vec::new();
    let gone = gone_any_kind_in(conn)?;
    // A deletion's item keeps the place of the record it deletes: its source is the record's.
    let record_kind = record_kind_sql();
    let mut stmt = conn.prepare(&format!(
        "SELECT v.kind, i.key, v.outcome, v.detail, COALESCE(s.name, ''), i.line
         FROM verify_result v JOIN item i ON i.kind = v.kind AND i.id = v.id
         LEFT JOIN source_file s ON s.export_id = i.export_id
             AND s.kind = {record_kind}
         WHERE v.outcome IN (1, 2) AND i.state = 1 AND (?1 < 0 OR v.kind = ?1) AND NOT {gone}
         ORDER BY v.kind, i.id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![kind_code, limit as i64], |r| {
        let kind = Kind::from_code(r.get(0)?).unwrap_or(Kind::Account);
        let key: String = r.get(1)?;
        let file: String = r.get(4)?;
        let line: u64 = r.get(5)?;
        Ok(Mismatch {
            kind,
            record: display_key(kind, &key),
            what: what(kind, Outcome::from_code(r.get(2)?)),
            detail: r.get(3)?,
            source: format!("{file}:{line}"),
        })
    })?;
    for row in rows {
        out.push(row?);
    }
    let left = limit.saturating_sub(out.len());
    let mut stmt = conn.prepare(
        "SELECT kind, scope, key, detail FROM verify_extra WHERE (?1 < 0 OR kind = ?1)
         ORDER BY kind, scope, key LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![kind_code, left as i64], |r| {
        let kind = Kind::from_code(r.get(0)?).unwrap_or(Kind::Account);
        let scope: String = r.get(1)?;
        let key: String = r.get(2)?;
        Ok(Mismatch {
            kind,
            record: format!("{scope}/{key}"),
            what: "extra",
            detail: r.get(3)?,
            source: String::new(),
        })
    })?;
    for row in rows {
        out.push(row?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO export (id, root, fingerprint, exported_at, staged_at) VALUES (1, 'x', 'f', 0, 0);
             INSERT INTO source_file VALUES (1, 0, 'accounts.jsonl', 'a', 4, 1);
             INSERT INTO item (kind, id, export_id, key, line, offset, len, needs, state) VALUES
               (0, 1, 1, 'u1', 1, 0, 1, -1, 1), (0, 2, 1, 'u2', 2, 0, 1, -1, 1),
               (0, 3, 1, 'u3', 3, 0, 1, -1, 1), (0, 4, 1, 'u4', 4, 0, 1, -1, 2);",
        )
        .unwrap();
        conn
    }

    fn result(id: i64, outcome: Outcome) -> ItemResult {
        ItemResult {
            kind: Kind::Account,
            id,
            outcome,
            detail: if outcome == Outcome::Verified {
                String::new()
            } else {
                "gone".into()
            },
        }
    }

    #[test]
    fn counts_split_imported_items_by_what_the_read_back_showed() {
        let mut conn = store();
        assert!(!begin_pass(&mut conn, 1.0, 7, None).unwrap());
        record(
            &mut conn,
            &[result(1, Outcome::Verified), result(2, Outcome::Missing)],
            &[],
        )
        .unwrap();
        let c = &entity_counts(&conn).unwrap()[0];
        assert_eq!(
            (
                c.source,
                c.invalid,
                c.imported,
                c.failed,
                c.verified,
                c.missing,
                c.unchecked
            ),
            (5, 1, 3, 1, 1, 1, 1)
        );
        let m = mismatches(&conn, None, 10).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].record.as_str(), m[0].what, m[0].source.as_str()),
            ("u2", "missing", "accounts.jsonl:2")
        );
    }

    #[test]
    fn an_unfinished_pass_with_the_same_settings_is_carried_on() {
        let mut conn = store();
        begin_pass(&mut conn, 1.0, 7, None).unwrap();
        record(&mut conn, &[result(1, Outcome::Verified)], &[]).unwrap();
        assert!(begin_pass(&mut conn, 1.0, 7, None).unwrap());
        assert_eq!(checked_ids(&conn, Kind::Account).unwrap().len(), 1);
        // Other settings: a new pass from nothing.
        assert!(!begin_pass(&mut conn, 0.5, 7, None).unwrap());
        assert!(checked_ids(&conn, Kind::Account).unwrap().is_empty());
        end_pass(&conn, &BTreeMap::from([("groups".to_string(), (1, 2))])).unwrap();
        let p = pass(&conn).unwrap().unwrap();
        assert!(p.ended_at.is_some());
        assert_eq!(p.sampled_units["groups"], (1, 2));
        // A finished pass is never resumed: verifying again starts over.
        assert!(!begin_pass(&mut conn, 0.5, 7, None).unwrap());
    }
}
