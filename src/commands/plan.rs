//! `cutover plan`: the import estimate of a store (or of an export staged into a temporary
//! one) at the runbook's limits; after a pre-copy, the delta next to a full import against
//! the window; and what `[import] history_since` saves.

use super::Outcome;
use crate::cli::PlanArgs;
use crate::config::{resolve, Flags};
use crate::engine::import::ImportSettings;
use crate::engine::plan::{LanePlan, Plan};
use crate::engine::plan_duration::{window_duration, WindowDuration};
use crate::engine::plan_window::{window_plan, Fit, WindowFit, WindowPlan};
use crate::source::ExportDir;
use crate::store::{open_for_reading, open_for_writing};
use crate::timefmt::eta_text;
use anyhow::bail;
use std::io::Write;

/// `cutover plan`
pub fn plan(args: &PlanArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    if args.scenario {
        return super::plan_scenario::run(args, out);
    }
    let file = super::run::load_file(args.config.as_deref())?;
    // Only limits matter here; the target and key are placeholders the plan never uses.
    let flags = Flags {
        source: Some(".".into()),
        store: Some(".".into()),
        target_url: Some("http://127.0.0.1:1".into()),
        sdkappid: Some(1),
        admin: Some("plan".into()),
    };
    let key = crate::tim::SecretKey::new("plan-only".to_string());
    let rb = resolve(&file, &flags, Some(key)).map_err(|p| anyhow::anyhow!(p.join("; ")))?;
    let settings = ImportSettings::from_runbook(&rb);
    let (_temp, conn, media) = match (&args.store, &args.source) {
        (Some(store), _) => {
            let conn = open_for_reading(store)?;
            let media = stored_media(&conn)?;
            (None, conn, Some(media))
        }
        (None, Some(source)) => {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("plan.db");
            let mut conn = open_for_writing(&path)?;
            let export = ExportDir::open(source)?;
            let same_second = match rb.same_second {
                crate::config::SameSecond::Shift => crate::store::order::SameSecond::Shift,
                crate::config::SameSecond::Refuse => crate::store::order::SameSecond::Refuse,
            };
            let options = crate::store::stage::StageOptions {
                same_second,
                history_since: rb.history_since,
            };
            let staged =
                crate::store::stage::stage_export_with(&mut conn, &path, &export, options)?;
            (Some(dir), conn, Some(staged.media))
        }
        (None, None) => bail!("give --store FILE (a run's store) or --source DIR (an export)"),
    };
    let now = crate::timefmt::now_secs();
    let p = window_plan(&conn, &settings, rb.window_end, now)?;
    let whole = window_duration(&conn, &rb, p.pending.t_limit_secs, now)?;
    let declared = args.config.as_ref().map(|_| super::custom_keys::Declared {
        console: rb.console.clone(),
        drop: rb.drop_custom.clone(),
    });
    let keys = crate::store::custom_keys::inventory(&conn)?;
    // The media inventory: from staging with --source, from the store's objects with --store.
    let media = media
        .map(|m| super::media::MediaReport::new(&m, args.probe))
        .transpose()?;
    if args.json {
        let rows = super::custom_keys::rows(&keys, declared.as_ref());
        let undeclared = declared
            .as_ref()
            .map(|d| super::custom_keys::advice(&keys, d))
            .unwrap_or_default();
        let json = PlanJson {
            plan: &p,
            window_duration: &whole,
            custom_key_status: &rows,
            undeclared_custom_keys: &undeclared,
            media: media.as_ref().map(super::media::MediaReport::json),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
    } else {
        print_plan(&p.pending, out)?;
        print_window_plan(&p, out)?;
        super::plan_duration::print(&whole, out)?;
        super::custom_keys::write(&keys, declared.as_ref(), out)?;
        if let Some(media) = &media {
            media.write(out)?;
        }
    }
    Ok(Outcome::Ok)
}

/// `--json`: the plan's figures and the whole window's.
#[derive(serde::Serialize)]
struct PlanJson<'a> {
    #[serde(flatten)]
    plan: &'a WindowPlan,
    window_duration: &'a WindowDuration,
    /// Every custom key the staged exports use, with its count and whether the runbook
    /// declares or drops it (as `cutover validate --json`).
    custom_key_status: &'a [super::custom_keys::KeyRow],
    /// With `--config`: what to do about each key the runbook neither declares nor drops.
    undeclared_custom_keys: &'a [String],
    /// The media the messages reference, per host (and what `--probe` found), as `cutover
    /// validate --json` (from a store: its absolute http(s) URLs only).
    media: Option<super::media::MediaJson<'a>>,
}

/// After a pre-copy: the delta next to a full import, the window, the history cut-off.
fn print_window_plan(p: &WindowPlan, out: &mut dyn Write) -> std::io::Result<()> {
    if let Some(full) = &p.full {
        writeln!(
            out,
            "\n{} exports staged (a pre-copy and its deltas): still to import vs. a full import",
            p.exports
        )?;
        writeln!(
            out,
            "{:<16} {:>9} {:>9} {:>10}   {:>9} {:>9} {:>10}",
            "stage", "pending", "calls", "time", "all", "calls", "time"
        )?;
        for (d, f) in p.pending.lanes.iter().zip(&full.lanes) {
            writeln!(
                out,
                "{:<16} {:>9} {:>9} {:>10}   {:>9} {:>9} {:>10}",
                d.stage,
                d.items,
                d.calls,
                eta_text(Some(d.secs)),
                f.items,
                f.calls,
                eta_text(Some(f.secs))
            )?;
        }
        writeln!(
            out,
            "{:<16} {:>30}   {:>30}",
            "T_limit",
            eta_text(Some(p.pending.t_limit_secs)),
            eta_text(Some(full.t_limit_secs))
        )?;
    }
    if let Some(w) = &p.window {
        print_window(w, out)?;
    }
    if let Some(h) = &p.history {
        let lanes: Vec<String> = h
            .lanes
            .iter()
            .filter(|l| l.items > 0)
            .map(|l: &LanePlan| {
                format!(
                    "{} {} ({} calls, {} at {}/s)",
                    l.items,
                    l.stage,
                    l.calls,
                    eta_text(Some(l.secs)),
                    l.rate
                )
            })
            .collect();
        writeln!(
            out,
            "history_since skipped {} ({}): {} calls saved; a full import's T_limit is {} shorter ({} without the cut-off)",
            lanes.join(", "),
            h.reasons.join("; "),
            h.calls,
            eta_text(Some(h.t_limit_saved_secs)),
            eta_text(Some(h.t_limit_without_cutoff_secs))
        )?;
    }
    Ok(())
}

/// `fits, 1h02m to spare` or `does NOT fit: over by 35m10s`.
fn fit_text(fit: &Fit) -> String {
    if fit.fits {
        format!("fits, {} to spare", eta_text(Some(fit.margin_secs as f64)))
    } else {
        format!(
            "does NOT fit: over by {}",
            eta_text(Some(-fit.margin_secs as f64))
        )
    }
}

fn print_window(w: &WindowFit, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "window ends {}; started now ({}), at T_limit:",
        crate::timefmt::utc(w.ends_at),
        crate::timefmt::utc(w.from)
    )?;
    writeln!(
        out,
        "  still to import  {:>10}  {}",
        eta_text(Some(w.still_to_import.needs_secs)),
        fit_text(&w.still_to_import)
    )?;
    if let Some(full) = &w.full {
        writeln!(
            out,
            "  full import      {:>10}  {}",
            eta_text(Some(full.needs_secs)),
            fit_text(full)
        )?;
    }
    Ok(())
}

fn print_plan(p: &Plan, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<16} {:<20} {:>9} {:>9} {:>6} {:>10}",
        "stage", "api", "items", "calls", "rate", "time"
    )?;
    for l in &p.lanes {
        writeln!(
            out,
            "{:<16} {:<20} {:>9} {:>9} {:>5}/s {:>10}",
            l.stage,
            l.api,
            l.items,
            l.calls,
            l.rate,
            eta_text(Some(l.secs))
        )?;
    }
    writeln!(
        out,
        "T_limit {} (accounts lane + the long pole{}); at the lanes' pace {}",
        eta_text(Some(p.t_limit_secs)),
        p.long_pole.map_or(String::new(), |l| format!(", {l}")),
        eta_text(Some(p.t_paced_secs))
    )?;
    let s = &p.same_second;
    if s.shifted > 0 {
        writeln!(
            out,
            "same-second group messages: {} sent later than their own time to keep their order (largest shift {} s)",
            s.shifted, s.largest_secs
        )?;
    }
    if s.refused > 0 {
        writeln!(
            out,
            "same-second group messages: {} refused at staging ([import] same_second = \"refuse\")",
            s.refused
        )?;
    }
    Ok(())
}

/// The media inventory of a store's staged messages (its absolute http(s) URLs: the store
/// keeps no others).
fn stored_media(
    conn: &rusqlite::Connection,
) -> anyhow::Result<crate::source::media_inventory::MediaInventory> {
    let mut inventory = crate::source::media_inventory::MediaInventory::default();
    crate::store::media::each_object(conn, |elem, url, refs| {
        let one = [crate::model::media::MediaRef {
            elem,
            url,
            size_hint: None,
        }];
        for _ in 0..refs {
            inventory.add(&one);
        }
    })?;
    Ok(inventory)
}
