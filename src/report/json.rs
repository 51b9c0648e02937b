//! The report as one JSON object: [`ReportData`] as it is (docs/report-json.md documents every
//! field).

use super::data::ReportData;

/// Renders `r` as pretty-printed JSON, with a final newline.
pub(crate) fn render(r: &ReportData) -> serde_json::Result<String> {
    let mut text = serde_json::to_string_pretty(r)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;
    use serde_json::Value;

    #[test]
    fn round_trips_with_the_documented_field_names() {
        let report = fixture::report();
        let text = render(&report).unwrap();
        let back: ReportData = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report);
        let v: Value = serde_json::from_str(&text).unwrap();
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(&v),
            [
                "audit",
                "deletions",
                "entities",
                "exports",
                "failures",
                "generated_at",
                "history_since",
                "media",
                "report_version",
                "run",
                "same_second",
                "steps",
                "store",
                "sync",
                "throughput",
                "totals",
                "verification"
            ]
        );
        assert_eq!(
            keys(&v["run"]),
            [
                "admin",
                "created_at",
                "reason",
                "sdkappid",
                "state",
                "target",
                "updated_at"
            ]
        );
        assert_eq!(
            keys(&v["entities"][0]),
            [
                "differs",
                "extra",
                "failed",
                "imported",
                "invalid",
                "kind",
                "mismatched",
                "missing",
                "pending",
                "skipped",
                "source",
                "stage",
                "unchecked",
                "unreadable",
                "verified"
            ]
        );
        assert_eq!(
            keys(&v["failures"]["groups"][0]),
            ["api", "code", "count", "meaning", "retryable", "sample"]
        );
        assert_eq!(
            keys(&v["verification"]),
            [
                "ended_at",
                "mismatches",
                "mismatches_limit",
                "notes",
                "roaming_days",
                "sample",
                "sampled",
                "started_at",
                "status",
                "totals"
            ]
        );
        assert_eq!(v["verification"]["status"], "unfinished");
        assert_eq!(
            keys(&v["verification"]["mismatches"][0]),
            ["detail", "kind", "record", "source", "what"]
        );
        assert_eq!(
            keys(&v["throughput"]),
            [
                "intervals",
                "overall_items_per_sec",
                "peak_items_per_sec",
                "sample_every_secs",
                "samples"
            ]
        );
        assert_eq!(
            keys(&v["throughput"]["intervals"][0]),
            [
                "by_kind",
                "failed",
                "from",
                "imported",
                "items_per_sec",
                "to"
            ]
        );
        assert_eq!(
            keys(&v["steps"][0]),
            [
                "ended_at",
                "name",
                "position",
                "reason",
                "started_at",
                "state"
            ]
        );
        assert_eq!(
            keys(&v["audit"][0]),
            ["action", "actor", "at", "detail", "reason"]
        );
        assert_eq!(
            keys(&v["exports"][0]),
            [
                "delta_of",
                "exported_at",
                "files",
                "id",
                "root",
                "staged_at",
                "watermark"
            ]
        );
        assert_eq!(
            keys(&v["exports"][0]["files"][0]),
            ["invalid", "kind", "name", "records"]
        );
    }
}
