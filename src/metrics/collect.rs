//! One scrape: a registry filled from the store (items per stage and outcome, read-back
//! results, step states, sync per direction, media objects, the window's time left) and from
//! the process's call figures, encoded as OpenMetrics text.

use crate::model::step::StepState;
use crate::model::sync_event::Direction;
use crate::store::media::hosts;
use crate::store::{open_for_reading, Kind};
use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::path::Path;
use std::sync::atomic::AtomicU64;

/// Labels of a stage's count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: String,
    outcome: String,
}

/// Labels of a step's state.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    step: String,
    state: String,
}

/// Labels of a sync count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SyncLabels {
    direction: String,
    state: String,
}

/// Labels of one direction.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: String,
    quantile: String,
}

/// Labels of a media count.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// A gauge family of integer values.
type Gauges<L> = Family<L, Gauge>;
/// A gauge family of float values.
type FloatGauges<L> = Family<L, Gauge<f64, AtomicU64>>;

/// Sets one gauge of `family` per (name, value), labelled by `labels(name)`.
fn set_each<'a, L>(
    family: &Gauges<L>,
    values: impl IntoIterator<Item = (&'a str, u64)>,
    labels: impl Fn(&str) -> L,
) where
    L: Clone + std::hash::Hash + Eq,
{
    for (name, n) in values {
        family.get_or_create(&labels(name)).set(n as i64);
    }
}

/// Everything one scrape shows, as OpenMetrics text. `window_end` (unix seconds) gives the
/// window's time left; `now` is the scrape's time.
pub fn scrape(
    store: &Path,
    window_end: Option<i64>,
    alerts: &[crate::alerts::ChannelFigures],
    now: i64,
) -> Result<String, String> {
    let conn = open_for_reading(store).map_err(|e| e.to_string())?;
    let sql = |e: rusqlite::Error| format!("the store {}: {e}", store.display());
    let mut registry = Registry::with_prefix("cutover");
    let entities = crate::store::verify::entity_counts(&conn).map_err(sql)?;
    stages(&entities, &mut registry);
    steps(&conn, &mut registry).map_err(sql)?;
    sync(&conn, &mut registry).map_err(sql)?;
    media(&conn, &mut registry).map_err(sql)?;
    if let Some(end) = window_end {
        let left: Gauge = Gauge::default();
        left.set(end - now);
        registry.register(
            "window_seconds_left",
            "Seconds until [window] ends_at (negative: past it)",
            left,
        );
    }
    let pending = entities.iter().map(|e| e.pending).sum();
    eta(&conn, pending, &mut registry).map_err(sql)?;
    alerts_sent(alerts, &mut registry);
    let stats = crate::tim::stats::stats();
    registry.register(
        "api_calls",
        "Tencent IM calls by API and outcome (0: success; an error code; http_N, timeout, connect, unreachable, dropped, protocol)",
        stats.calls.clone(),
    );
    registry.register(
        "api_latency_seconds",
        "Seconds from sending a Tencent IM call to its answer, by API",
        stats.latency.clone(),
    );
    let mut text = String::new();
    encode(&mut text, &registry).map_err(|e| format!("encoding the metrics: {e}"))?;
    Ok(text)
}

/// Items per stage and outcome (`status --json`'s stages), and the read-back's results.
fn stages(entities: &[crate::store::verify::EntityCounts], registry: &mut Registry) {
    let items: Gauges<StageLabels> = Family::default();
    let verified: Gauges<StageLabels> = Family::default();
    let mut mismatched = 0;
    for e in entities {
        let stage = e.kind.map_or("", Kind::name).to_string();
        let labels = |outcome: &str| StageLabels {
            stage: stage.clone(),
            outcome: outcome.into(),
        };
        let outcomes = [
            ("source", e.source),
            ("invalid", e.invalid),
            ("pending", e.pending),
            ("imported", e.imported),
            ("failed", e.failed),
            ("skipped", e.skipped),
        ];
        set_each(&items, outcomes, labels);
        let results = [
            ("verified", e.verified),
            ("missing", e.missing),
            ("differs", e.differs),
            ("extra", e.extra),
            ("unreadable", e.unreadable),
            ("unchecked", e.unchecked),
        ];
        set_each(&verified, results, labels);
        mismatched += e.missing + e.differs;
    }
    registry.register("items", "Items per stage and outcome, as committed", items);
    registry.register(
        "verify_items",
        "Imported items read back per stage and result",
        verified,
    );
    let mismatches: Gauge = Gauge::default();
    mismatches.set(mismatched as i64);
    registry.register(
        "verify_mismatches",
        "Items read back missing or different",
        mismatches,
    );
}

/// Each step's state: 1 for the state it is in.
fn steps(conn: &rusqlite::Connection, registry: &mut Registry) -> rusqlite::Result<()> {
    let family: Gauges<StepLabels> = Family::default();
    for s in crate::store::steps::all(conn)? {
        for word in StepState::WORDS {
            let labels = StepLabels {
                step: s.step.name().to_string(),
                state: word.to_string(),
            };
            family
                .get_or_create(&labels)
                .set(i64::from(s.state.word() == word));
        }
    }
    registry.register(
        "step_state",
        "Each runbook step's state (1: the one it is in)",
        family,
    );
    Ok(())
}

/// Sync events per direction and state, and the lag.
fn sync(conn: &rusqlite::Connection, registry: &mut Registry) -> rusqlite::Result<()> {
    let events: Gauges<SyncLabels> = Family::default();
    let lag: FloatGauges<DirectionLabels> = Family::default();
    for (direction, name) in [
        (Direction::OldToNew, "old_to_new"),
        (Direction::NewToOld, "new_to_old"),
    ] {
        let c = crate::store::sync::counts(conn, direction)?;
        let states = [
            ("received", c.received),
            ("applied", c.applied),
            ("failed", c.failed),
            ("held", c.held),
            ("pending", c.pending),
            ("skipped", c.skipped),
            ("dropped_as_echo", c.dropped_as_echo),
            ("recovered", c.recovered),
        ];
        set_each(&events, states, |state| SyncLabels {
            direction: name.into(),
            state: state.into(),
        });
        for (quantile, ms) in [("0.5", c.lag_p50_ms), ("0.99", c.lag_p99_ms)] {
            if let Some(ms) = ms {
                let labels = DirectionLabels {
                    direction: name.into(),
                    quantile: quantile.into(),
                };
                lag.get_or_create(&labels).set(ms as f64 / 1000.0);
            }
        }
    }
    registry.register("sync_events", "Sync events per direction and state", events);
    registry.register(
        "sync_lag_seconds",
        "Receive-to-applied lag of the last 1000 applied events, per direction",
        lag,
    );
    Ok(())
}

/// Media objects per state.
fn media(conn: &rusqlite::Connection, registry: &mut Registry) -> rusqlite::Result<()> {
    let all = hosts(conn)?;
    let family: Gauges<StateLabels> = Family::default();
    let sum = |f: fn(&crate::store::media::HostObjects) -> u64| all.iter().map(f).sum::<u64>();
    let states = [
        ("pending", sum(|h| h.pending)),
        ("copied", sum(|h| h.copied)),
        ("failed", sum(|h| h.failed)),
        ("skipped", sum(|h| h.skipped)),
    ];
    set_each(&family, states, |state| StateLabels {
        state: state.into(),
    });
    registry.register(
        "media_objects",
        "Media objects of the messages per state",
        family,
    );
    Ok(())
}

/// Labels of a channel's deliveries.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: String,
    result: String,
}

/// Alert messages per channel and result (sent, failed, folded into a digest).
fn alerts_sent(alerts: &[crate::alerts::ChannelFigures], registry: &mut Registry) {
    let family: Gauges<ChannelLabels> = Family::default();
    for c in alerts {
        let results = [("sent", c.sent), ("failed", c.failed), ("folded", c.folded)];
        set_each(&family, results, |result| ChannelLabels {
            channel: c.name.clone(),
            result: result.into(),
        });
    }
    registry.register(
        "alerts",
        "Alert messages per channel and result: sent, failed, folded into a digest",
        family,
    );
}

/// The import's time left: the pending items at the rate of the last minute's samples (none
/// while nothing is pending or nothing settled lately).
fn eta(conn: &rusqlite::Connection, pending: u64, registry: &mut Registry) -> rusqlite::Result<()> {
    let family: FloatGauges<StateLabels> = Family::default();
    if let (true, Some(rate)) = (pending > 0, crate::store::samples::recent_rate(conn, 60)?) {
        let labels = StateLabels {
            state: "importing".into(),
        };
        family.get_or_create(&labels).set(pending as f64 / rate);
    }
    registry.register(
        "eta_seconds",
        "The import's time left: its pending items at the last minute's rate",
        family,
    );
    Ok(())
}
