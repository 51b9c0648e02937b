//! Items per second over the import, derived from the store's `sample` rows.
//!
//! The store writer takes a sample every few seconds while an import runs (and one when it
//! stops): per kind, the items done and failed so far — cumulative counts, not per interval
//! (`calls` is not recorded and stays 0). The rate of an interval is therefore the growth of
//! `done + failed` between two consecutive samples divided by the seconds between them. Failed
//! counts can shrink (an operator's retry or skip moves items out of failed); a shrinking count
//! adds nothing rather than a negative rate.

use super::data::{Interval, Throughput};
use std::collections::BTreeMap;

/// How often the store writer takes a sample (see `store::writer`).
pub(crate) const SAMPLE_EVERY_SECS: u64 = 5;

/// One stored sample: when, which kind, items done and failed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Seconds since the epoch.
    pub(crate) at: i64,
    /// The kind's name.
    pub(crate) kind: String,
    /// Items done so far.
    pub(crate) done: u64,
    /// Items failed so far.
    pub(crate) failed: u64,
}

/// Rounds to two decimals, so the JSON stays short and stable.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The intervals between consecutive samples. `import_started` (the import step's first
/// start), when earlier than the first sample, is taken as a sample with nothing settled yet:
/// the import is the only thing that settles items, so nothing was settled before it started.
pub(crate) fn derive(samples: &[Sample], import_started: Option<i64>) -> Throughput {
    let mut by_at: BTreeMap<i64, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        by_at.entry(s.at).or_default().push(s);
    }
    let mut prev: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut prev_at = match (import_started, by_at.keys().next()) {
        (Some(start), Some(&first)) if start < first => Some(start),
        _ => None,
    };
    let mut intervals = Vec::new();
    for (&at, rows) in &by_at {
        let mut now = prev.clone();
        for s in rows {
            now.insert(s.kind.as_str(), (s.done, s.failed));
        }
        if let Some(from) = prev_at {
            intervals.push(interval(from, at, &prev, &now));
        }
        prev = now;
        prev_at = Some(at);
    }
    summarise(intervals, by_at.len())
}

fn interval(
    from: i64,
    to: i64,
    before: &BTreeMap<&str, (u64, u64)>,
    after: &BTreeMap<&str, (u64, u64)>,
) -> Interval {
    let secs = (to - from).max(1) as f64;
    let (mut imported, mut failed) = (0, 0);
    let mut by_kind = BTreeMap::new();
    for (kind, &(done, fail)) in after {
        let (d0, f0) = before.get(kind).copied().unwrap_or_default();
        let (d, f) = (done.saturating_sub(d0), fail.saturating_sub(f0));
        imported += d;
        failed += f;
        if d + f > 0 {
            by_kind.insert((*kind).to_string(), round2((d + f) as f64 / secs));
        }
    }
    Interval {
        from,
        to,
        imported,
        failed,
        items_per_sec: round2((imported + failed) as f64 / secs),
        by_kind,
    }
}

fn summarise(intervals: Vec<Interval>, samples: usize) -> Throughput {
    let peak = intervals
        .iter()
        .map(|i| i.items_per_sec)
        .fold(0.0, f64::max);
    let secs: i64 = intervals.iter().map(|i| i.to - i.from).sum();
    let items: u64 = intervals.iter().map(|i| i.imported + i.failed).sum();
    Throughput {
        sample_every_secs: SAMPLE_EVERY_SECS,
        samples,
        peak_items_per_sec: peak,
        overall_items_per_sec: (secs > 0).then(|| round2(items as f64 / secs as f64)),
        intervals,
    }
}

/// A caveat for a person reading the figures, when there is one: with a single interval the
/// chart can only show the import's average.
pub(crate) fn caveat(t: &Throughput) -> Option<String> {
    (t.intervals.len() == 1).then(|| {
        format!(
            "One interval only: the store samples every {} s, so an import this short shows \
             just its average rate.",
            t.sample_every_secs
        )
    })
}

/// An interval's per-kind rates in staging order (then any kind this build does not know).
pub(crate) fn in_kind_order(by_kind: &BTreeMap<String, f64>) -> Vec<(&str, f64)> {
    let known = crate::store::Kind::ALL.map(crate::store::Kind::name);
    let mut out: Vec<(&str, f64)> = known
        .iter()
        .filter_map(|k| by_kind.get(*k).map(|v| (*k, *v)))
        .collect();
    out.extend(
        by_kind
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), *v)),
    );
    out
}

/// At most `max` intervals for display: runs of consecutive intervals merged into one (their
/// rates weighted by their seconds). Fewer than `max` are returned as they are.
pub(crate) fn coarsen(intervals: &[Interval], max: usize) -> Vec<Interval> {
    let max = max.max(1);
    if intervals.len() <= max {
        return intervals.to_vec();
    }
    let per = intervals.len().div_ceil(max);
    intervals.chunks(per).filter_map(merge).collect()
}

fn merge(run: &[Interval]) -> Option<Interval> {
    let (first, last) = (run.first()?, run.last()?);
    let secs = (last.to - first.from).max(1) as f64;
    let mut by_kind: BTreeMap<String, f64> = BTreeMap::new();
    for i in run {
        let w = (i.to - i.from).max(1) as f64;
        for (k, r) in &i.by_kind {
            *by_kind.entry(k.clone()).or_default() += r * w;
        }
    }
    let imported = run.iter().map(|i| i.imported).sum::<u64>();
    let failed = run.iter().map(|i| i.failed).sum::<u64>();
    Some(Interval {
        from: first.from,
        to: last.to,
        imported,
        failed,
        items_per_sec: round2((imported + failed) as f64 / secs),
        by_kind: by_kind
            .into_iter()
            .map(|(k, v)| (k, round2(v / secs)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at: i64, kind: &str, done: u64, failed: u64) -> Sample {
        Sample {
            at,
            kind: kind.into(),
            done,
            failed,
        }
    }

    #[test]
    fn rates_are_growth_of_cumulative_counts_between_samples() {
        let samples = [
            s(105, "accounts", 50, 0),
            s(105, "friends", 10, 0),
            s(110, "accounts", 50, 0),
            s(110, "friends", 60, 5),
        ];
        let t = derive(&samples, Some(100));
        assert_eq!(t.samples, 2);
        assert_eq!(t.intervals.len(), 2);
        let first = &t.intervals[0];
        assert_eq!((first.from, first.to, first.imported), (100, 105, 60));
        assert_eq!(first.items_per_sec, 12.0);
        assert_eq!(first.by_kind["accounts"], 10.0);
        let second = &t.intervals[1];
        assert_eq!((second.imported, second.failed), (50, 5));
        assert_eq!(second.items_per_sec, 11.0);
        assert!(!second.by_kind.contains_key("accounts"));
        assert_eq!(t.peak_items_per_sec, 12.0);
        assert_eq!(t.overall_items_per_sec, Some(11.5));
    }

    #[test]
    fn a_shrinking_failed_count_adds_nothing_and_no_start_means_no_baseline() {
        let samples = [s(10, "friends", 0, 5), s(20, "friends", 10, 0)];
        let t = derive(&samples, None);
        assert_eq!(t.intervals.len(), 1);
        assert_eq!((t.intervals[0].imported, t.intervals[0].failed), (10, 0));
        assert_eq!(t.intervals[0].items_per_sec, 1.0);
        // A start later than the first sample (a resumed step) is not a baseline.
        assert_eq!(derive(&samples, Some(15)).intervals.len(), 1);
        assert_eq!(derive(&[], Some(1)).overall_items_per_sec, None);
        assert!(caveat(&derive(&samples, None)).is_some());
        assert!(caveat(&derive(&samples, Some(5))).is_none());
    }

    #[test]
    fn coarsening_keeps_totals_and_weights_rates_by_time() {
        let samples: Vec<Sample> = (0..=10)
            .map(|i| s(i * 5, "accounts", i as u64 * 10, 0))
            .collect();
        let t = derive(&samples, None);
        assert_eq!(t.intervals.len(), 10);
        let c = coarsen(&t.intervals, 3);
        assert_eq!(c.len(), 3);
        assert_eq!(c.iter().map(|i| i.imported).sum::<u64>(), 100);
        assert_eq!((c[0].from, c[2].to), (0, 50));
        assert_eq!(c[0].items_per_sec, 2.0);
        assert_eq!(c[0].by_kind["accounts"], 2.0);
        assert_eq!(coarsen(&t.intervals, 20).len(), 10);
        let by_kind = BTreeMap::from([
            ("groups".to_string(), 1.0),
            ("accounts".to_string(), 2.0),
            ("later_kind".to_string(), 3.0),
        ]);
        assert_eq!(
            in_kind_order(&by_kind),
            [("accounts", 2.0), ("groups", 1.0), ("later_kind", 3.0)]
        );
    }
}
