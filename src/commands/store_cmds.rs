//! The companion commands that read (or carefully change) a run's store: `status`, `errors`,
//! `retry` and `skip`.

#[cfg(any(test, feature = "test-support"))]
pub use super::plan::plan;
use super::Outcome;
use crate::cli::{ActionArgs, ErrorsArgs, StatusArgs};
use crate::store::liveness::{last_activity, last_run, liveness, Liveness};
use crate::store::queries::{self, FailureFilter};
use crate::store::verify::{EntityCounts, Pass};
use crate::store::{audit, open_for_reading, open_for_writing, run, ItemState, Kind};
use crate::tim::errors;
use anyhow::{bail, Context};
use rusqlite::Connection;
use serde_json::json;
use std::io::Write;

/// The run's row: state, reason, target.
fn run_row(conn: &Connection) -> anyhow::Result<Option<(String, String, String)>> {
    Ok(run::get(conn)?.map(|r| (r.state, r.reason, r.target)))
}

/// Who runs the store now, for a person: the short form for the first line, then a line of
/// detail (who, or since when nothing has and how to carry on).
fn liveness_text(store: &std::path::Path, liveness: &Liveness) -> (&'static str, String) {
    match liveness {
        Liveness::Running(h) => (
            "a process is running it now",
            format!("process: {} is running it now", h.describe()),
        ),
        Liveness::Elsewhere(h) => (
            "held by a process of another host",
            format!(
                "process: {} holds it; from this host it cannot be told whether that process \
                 still runs",
                h.describe()
            ),
        ),
        Liveness::Idle => {
            let since = last_activity(store)
                .map(|t| format!(" since {} (its last write)", crate::timefmt::utc(t)))
                .unwrap_or_default();
            (
                "no process is running it",
                format!(
                    "nothing has run it{since}; to carry on: {}",
                    resume_command(store)
                ),
            )
        }
    }
}

/// The command that carries the run of `store` on: the last `cutover run` as it was typed.
fn resume_command(store: &std::path::Path) -> String {
    match last_run(store) {
        Some(run) => format!("`{}` (in {})", run.command(), run.cwd.display()),
        None => format!(
            "`cutover run --config RUNBOOK --store {}` with the runbook and flags it was started with",
            store.display()
        ),
    }
}

/// `cutover status`
pub fn status(args: &StatusArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let conn = open_for_reading(&args.store)?;
    let Some((state, reason, target)) = run_row(&conn)? else {
        bail!("store {} holds no run yet", args.store.display());
    };
    let liveness = liveness(&args.store);
    let live = matches!(liveness, Liveness::Running(_));
    let (live_text, live_detail) = liveness_text(&args.store, &liveness);
    let in_flight = queries::in_flight(&conn)?;
    let steps = crate::store::steps::all(&conn)?;
    // Per stage: source, invalid, imported, failed, skipped, pending and the read-back.
    let verified = crate::store::verify::entity_counts(&conn)?;
    let pass = crate::store::verify::pass(&conn)?;
    let history = crate::store::staged::history_skips(&conn)?;
    if args.json {
        let stages: Vec<_> = verified
            .iter()
            .map(|v| {
                let reasons: Vec<_> = history
                    .iter()
                    .filter(|h| Some(h.kind) == v.kind)
                    .map(|h| json!({"items": h.items, "reason": h.reason()}))
                    .collect();
                let mut stage = json!({"stage": v.kind.map_or("", Kind::name), "source": v.source, "invalid": v.invalid,
                       "pending": v.pending, "imported": v.imported, "failed": v.failed, "skipped": v.skipped,
                       "skipped_at_staging": reasons,
                       "verified": v.verified, "missing": v.missing, "differs": v.differs,
                       "extra": v.extra, "unreadable": v.unreadable, "unchecked": v.unchecked});
                // A deletion stage's items done are records deleted on the target.
                if let Some(record) = v.kind.and_then(Kind::deletes) {
                    if let Some(map) = stage.as_object_mut() {
                        let done = map.remove("imported").unwrap_or_default();
                        map.insert("deleted".into(), done);
                        map.insert("deletes".into(), json!(record.name()));
                    }
                }
                stage
            })
            .collect();
        let steps: Vec<_> = steps
            .iter()
            .map(|s| json!({"step": s.step.name(), "state": s.state.word(), "reason": s.state.reason()}))
            .collect();
        let sync =
            crate::store::sync::any(&conn)?.map(|[a, b]| json!({"old_to_new": a, "new_to_old": b}));
        let process = match &liveness {
            Liveness::Running(h) | Liveness::Elsewhere(h) => json!(h),
            Liveness::Idle => json!(null),
        };
        let idle = match liveness {
            Liveness::Idle => json!({"since": last_activity(&args.store),
                                     "resume": resume_command(&args.store)}),
            _ => json!(null),
        };
        let doc = json!({"state": state, "reason": reason, "live": live, "target": target,
                         "process": process, "idle": idle,
                         "in_flight": in_flight, "steps": steps, "stages": stages,
                         "verification": pass, "sync": sync});
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Outcome::Ok);
    }
    writeln!(
        out,
        "run: {state}{} ({live_text}) — target {target}",
        if reason.is_empty() {
            String::new()
        } else {
            format!(": {reason}")
        }
    )?;
    writeln!(out, "  {live_detail}")?;
    for s in &steps {
        let r = match s.state.reason() {
            "" => String::new(),
            r => format!(" — {r}"),
        };
        writeln!(out, "  step {:<15} {}{r}", s.step.name(), s.state)?;
    }
    print_stages(out, &verified, pass.is_some())?;
    for h in &history {
        writeln!(
            out,
            "  {}: {} skipped at staging ({})",
            h.kind.stage(),
            h.items,
            h.reason()
        )?;
    }
    print_pass(out, pass.as_ref())?;
    super::sync_cmds::print_status(&conn, out)?;
    writeln!(out, "requests in flight (journal): {in_flight}")?;
    Ok(Outcome::Ok)
}

/// The per-stage tables (the records, then the deletions when a delta carried any); the
/// read-back columns show `-` until a pass has begun.
fn print_stages(
    out: &mut dyn Write,
    verified: &[EntityCounts],
    read_back: bool,
) -> std::io::Result<()> {
    let (records, deletions): (Vec<EntityCounts>, Vec<EntityCounts>) = verified
        .iter()
        .cloned()
        .partition(|v| v.kind.is_none_or(|k| k.deletes().is_none()));
    let headers = [
        "stage",
        "source",
        "invalid",
        "imported",
        "verified",
        "mismatched",
    ];
    print_table(out, &records, read_back, headers)?;
    if deletions.iter().any(|v| v.source > 0) {
        let headers = [
            "deletion",
            "tombstones",
            "invalid",
            "deleted",
            "gone",
            "still there",
        ];
        print_table(out, &deletions, read_back, headers)?;
    }
    Ok(())
}

/// One table of stages under `h`: stage, source, invalid, done, then failed, skipped and
/// pending, then the read-back's good and bad.
fn print_table(
    out: &mut dyn Write,
    verified: &[EntityCounts],
    read_back: bool,
    h: [&str; 6],
) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<17} {:>10} {:>8} {:>9} {:>8} {:>8} {:>8} {:>9} {:>11}",
        h[0], h[1], h[2], h[3], "failed", "skipped", "pending", h[4], h[5]
    )?;
    for v in verified {
        let (ok, bad) = if read_back {
            (v.verified.to_string(), v.mismatched().to_string())
        } else {
            ("-".to_string(), "-".to_string())
        };
        writeln!(
            out,
            "{:<17} {:>10} {:>8} {:>9} {:>8} {:>8} {:>8} {ok:>9} {bad:>11}",
            v.kind.map_or("", Kind::stage),
            v.source,
            v.invalid,
            v.imported,
            v.failed,
            v.skipped,
            v.pending
        )?;
    }
    Ok(())
}

/// Where the read-back verification stands: not run, unfinished, or finished (and sampled).
fn print_pass(out: &mut dyn Write, pass: Option<&Pass>) -> std::io::Result<()> {
    match pass {
        None => writeln!(out, "verification: not run (cutover verify --store …)"),
        Some(p) if p.ended_at.is_none() => writeln!(
            out,
            "verification: did not finish; cutover verify carries on where it stopped"
        ),
        Some(p) => writeln!(
            out,
            "verification: finished {}{}",
            crate::timefmt::utc(p.ended_at.unwrap_or_default()),
            if p.sample < 1.0 {
                format!(
                    ", members and messages of {:.0} % of groups and conversations read back",
                    p.sample * 100.0
                )
            } else {
                String::new()
            }
        ),
    }
}

/// `cutover errors`
pub(crate) fn errors(args: &ErrorsArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let conn = open_for_reading(&args.store)?;
    if let Some(path) = &args.export {
        let n = crate::store::export::export_failures(&conn, &FailureFilter::default(), path)?;
        writeln!(out, "wrote {n} failed items to {}", path.display())?;
        return Ok(Outcome::Ok);
    }
    let groups = queries::failure_groups(&conn)?;
    if args.json {
        let doc: Vec<_> = groups
            .iter()
            .map(|g| {
                json!({"api": g.api, "code": g.code, "count": g.count, "retryable": g.retryable,
                            "meaning": meaning_of(&g.api, g.code, &g.sample), "sample": g.sample})
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Outcome::Ok);
    }
    if groups.is_empty() {
        writeln!(out, "no failed items")?;
        super::sync_cmds::print_failures(&conn, out)?;
        super::media_cmds::print_failures(&conn, out)?;
        return Ok(Outcome::Ok);
    }
    writeln!(
        out,
        "{:<22} {:>6} {:>7} {:<9} meaning",
        "api", "code", "items", "retry?"
    )?;
    for g in &groups {
        let code = g.code.map_or("-".to_string(), |c| c.to_string());
        let meaning = meaning_of(&g.api, g.code, &g.sample);
        let retry = if g.retryable { "yes" } else { "no" };
        writeln!(
            out,
            "{:<22} {code:>6} {:>7} {retry:<9} {meaning}",
            g.api, g.count
        )?;
    }
    let total: u64 = groups.iter().map(|g| g.count).sum();
    writeln!(
        out,
        "{total} failed items; `--export FILE` lists them one by one"
    )?;
    super::sync_cmds::print_failures(&conn, out)?;
    super::media_cmds::print_failures(&conn, out)?;
    Ok(Outcome::Ok)
}

/// What the error table says a failure group of `api` means: the error table's meaning (the
/// API's own where the code has one there); for a code the spec does not document,
/// "undocumented code" and Tencent's ErrorInfo (from the sample, which ends
/// `(server said: "…")`); without a code, the engine's own reason.
fn meaning_of(api: &str, code: Option<i64>, sample: &str) -> String {
    match code {
        None => sample.to_string(),
        Some(c) if errors::is_documented(c) => errors::lookup_named(api, c).meaning.to_string(),
        Some(_) => {
            let said = sample
                .rsplit_once("server said: ")
                .map_or(sample, |(_, s)| s.strip_suffix(')').unwrap_or(s));
            format!("{} — ErrorInfo: {said}", errors::UNDOCUMENTED)
        }
    }
}

fn filter(args: &ActionArgs) -> anyhow::Result<FailureFilter> {
    let kind = match &args.stage {
        None => None,
        Some(name) => Some(
            Kind::ALL
                .into_iter()
                .find(|k| k.name() == name)
                .with_context(|| format!("no stage {name:?}: use one of accounts, profiles, friends, c2c_messages, groups, group_members, group_messages, c2c_recalls, group_recalls, member_removals, group_deletions, friend_deletions, account_deletions, sync"))?,
        ),
    };
    Ok(FailureFilter {
        api: args.api.clone(),
        code: args.code,
        kind,
    })
}

fn move_failed(
    args: &ActionArgs,
    to: ItemState,
    action: &str,
    out: &mut dyn Write,
) -> anyhow::Result<Outcome> {
    let reason = args.reason.clone().unwrap_or_default();
    if to == ItemState::Skipped && reason.trim().is_empty() {
        bail!("skip needs --reason: it goes into the audit trail and the report");
    }
    if args.stage.as_deref() == Some("sync") {
        // No store lock: sync events are flipped for the running relay to pick up.
        let conn = open_for_writing(&args.store)?;
        let state = if to == ItemState::Pending {
            crate::store::sync::EventState::Pending
        } else {
            crate::store::sync::EventState::Skipped
        };
        let n = super::sync_cmds::move_failed_events(&conn, state, action, &reason)?;
        let what = if to == ItemState::Pending {
            "failed or held sync events will be applied again by the running (or next) relay"
        } else {
            "failed, held or still-failing sync events skipped (their scopes go on)"
        };
        writeln!(out, "{n} {what}")?;
        return Ok(Outcome::Ok);
    }
    if args.stage.as_deref() == Some("media") {
        let _lock = super::store_lock::take(&args.store, action)?;
        let conn = open_for_writing(&args.store)?;
        let n = super::media_cmds::move_failed(&conn, to == ItemState::Pending, action, &reason)?;
        let what = if to == ItemState::Pending {
            "failed media objects will be copied again at the next `cutover run` (messages already imported keep what they carry)"
        } else {
            "failed media objects skipped (their messages carry `[media] on_unreachable`)"
        };
        writeln!(out, "{n} {what}")?;
        return Ok(Outcome::Ok);
    }
    let filter = filter(args)?;
    // A run that holds the lock may be creating the store this moment: then the lock says who.
    let no_store = |store: &std::path::Path| !store.is_file();
    if no_store(&args.store) && !crate::store::lock::lock_path(&args.store).exists() {
        bail!("no store at {}", args.store.display());
    }
    let _lock = super::store_lock::take(&args.store, action)?;
    if no_store(&args.store) {
        bail!("no store at {}", args.store.display());
    }
    let conn = open_for_writing(&args.store)?;
    // The lock is ours; a fresh heartbeat is a run of another host writing the same file.
    if run::get(&conn)?.is_some_and(|r| r.live()) {
        bail!("a run is active on this store: change it from that run's console, or stop the run first");
    }
    let tx = conn.unchecked_transaction()?;
    let moved = queries::move_failed(&tx, &filter, to)?;
    let n: usize = moved.values().map(Vec::len).sum();
    let detail = format!("{} ({n} items)", filter.describe());
    audit::record(&tx, "cli", action, &detail, &reason)?;
    tx.commit()?;
    let what = if to == ItemState::Pending {
        "will be sent again at the next `cutover run`"
    } else {
        "skipped"
    };
    writeln!(out, "{n} {} {what}", filter.describe())?;
    Ok(Outcome::Ok)
}

/// `cutover retry`
pub fn retry(args: &ActionArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    move_failed(args, ItemState::Pending, "retry", out)
}

/// `cutover skip`
pub fn skip(args: &ActionArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    move_failed(args, ItemState::Skipped, "skip", out)
}

#[cfg(test)]
mod tests {
    use super::meaning_of;

    #[test]
    fn an_undocumented_code_shows_tencents_error_info() {
        let sample =
            r#"import_group_msg: error 12345: undocumented code (server said: "quota of the day")"#;
        let api = "import_group_msg";
        assert_eq!(
            meaning_of(api, Some(12345), sample),
            r#"undocumented code — ErrorInfo: "quota of the day""#
        );
        assert_eq!(
            meaning_of(api, Some(10010), sample),
            "group does not exist or was dismissed"
        );
        assert_eq!(
            meaning_of(api, None, "its group was not imported"),
            "its group was not imported"
        );
    }

    #[test]
    fn a_code_shows_its_meaning_on_the_groups_api() {
        let sample = "error 10004";
        assert!(
            meaning_of("import_group_msg", Some(10004), sample).starts_with("send time invalid")
        );
        assert_eq!(
            meaning_of("import_group", Some(10004), sample),
            "invalid parameter"
        );
    }
}
