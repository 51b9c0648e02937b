//! The runbook's steps as stored: one row per step with its state, reason and times.
//! Only the runbook writes them (through [`record`]); everyone else reads.

use crate::model::step::{Step, StepState};
use rusqlite::{params, Connection};

/// A step as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredStep {
    /// Which.
    pub(crate) step: Step,
    /// Its state and reason.
    pub(crate) state: StepState,
    /// When it first started (unix seconds).
    pub(crate) started_at: Option<i64>,
    /// When it last ended.
    pub(crate) ended_at: Option<i64>,
}

/// Records `state` for `step` at `now`: a start time the first time it runs, an end time
/// whenever it ends (cleared while it is open again).
pub(crate) fn record(
    conn: &Connection,
    step: Step,
    state: &StepState,
    now: i64,
) -> rusqlite::Result<()> {
    let started = matches!(state, StepState::Running { .. }).then_some(now);
    let ended = state.is_ended().then_some(now);
    conn.execute(
        "INSERT INTO step (name, position, state, reason, started_at, ended_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (name) DO UPDATE SET state = ?3, reason = ?4,
             started_at = COALESCE(started_at, ?5), ended_at = ?6",
        params![
            step.name(),
            step.index() as i64 + 1,
            state.word(),
            state.reason(),
            started,
            ended
        ],
    )?;
    Ok(())
}

/// The stored state of `step`, if it was ever recorded.
#[cfg(any(test, feature = "test-support"))]
pub fn state_of(conn: &Connection, step: Step) -> rusqlite::Result<Option<StepState>> {
    use rusqlite::OptionalExtension;
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT state, reason FROM step WHERE name = ?1",
            [step.name()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(word, reason)| decode(&word, &reason)).transpose()
}

/// Every step in runbook order; a step never recorded is [`StepState::Waiting`].
pub(crate) fn all(conn: &Connection) -> rusqlite::Result<Vec<StoredStep>> {
    let mut stmt = conn.prepare("SELECT name, state, reason, started_at, ended_at FROM step")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut steps: Vec<StoredStep> = Step::ALL
        .into_iter()
        .map(|step| StoredStep {
            step,
            state: StepState::Waiting,
            started_at: None,
            ended_at: None,
        })
        .collect();
    for row in rows {
        let (name, word, reason, started_at, ended_at) = row?;
        let Some(step) = Step::from_name(&name) else {
            continue;
        };
        steps[step.index()] = StoredStep {
            step,
            state: decode(&word, &reason)?,
            started_at,
            ended_at,
        };
    }
    Ok(steps)
}

/// A stored state word of another version reads as a conversion failure of its column.
fn decode(word: &str, reason: &str) -> rusqlite::Result<StepState> {
    StepState::from_stored(word, reason).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_keeps_its_first_start_and_its_last_end() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_for_writing(&dir.path().join("s.db")).unwrap();
        assert_eq!(state_of(&conn, Step::Import).unwrap(), None);
        record(&conn, Step::Import, &StepState::running(""), 10).unwrap();
        record(&conn, Step::Import, &StepState::stopped("cancelled"), 20).unwrap();
        record(&conn, Step::Import, &StepState::running(""), 30).unwrap();
        let s = &all(&conn).unwrap()[Step::Import.index()];
        assert_eq!((s.started_at, s.ended_at), (Some(10), None));
        record(&conn, Step::Import, &StepState::done("ok"), 40).unwrap();
        let steps = all(&conn).unwrap();
        let s = &steps[Step::Import.index()];
        assert_eq!((s.started_at, s.ended_at), (Some(10), Some(40)));
        assert_eq!(s.state, StepState::done("ok"));
        assert_eq!(steps[0].state, StepState::Waiting);
        assert_eq!(
            state_of(&conn, Step::Import).unwrap(),
            Some(StepState::done("ok"))
        );
    }
}
