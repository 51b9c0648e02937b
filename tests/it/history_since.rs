//! `[import] history_since`: messages older than the cut-off are skipped at staging — never
//! sent, never failed — and status and the report count them with the reason.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{actual, app_config, import, runbook, sample_data};
use cutover::engine::import::Ending;
use cutover::model::group_id::target_group_id;
use cutover::source::{validate_export_with, ExportDir, Valid};
use cutover::store::{open_for_reading, queries, Kind};
use std::collections::BTreeMap;

/// The sample's valid messages: one-to-one (from, to, time) and group (target id, from, time).
type Messages = (Vec<(String, String, i64)>, Vec<(String, String, i64)>);

fn sample_messages() -> Messages {
    let export = ExportDir::open(&sample_data()).unwrap();
    let (mut c2c, mut group) = (Vec::new(), Vec::new());
    let mut ids = BTreeMap::new();
    validate_export_with(&export, &mut |_| {}, &mut |_, record| match record {
        Valid::C2cMessage(m) => c2c.push((m.from.clone(), m.to.clone(), m.sent_at)),
        Valid::Group(g) => {
            ids.insert(g.id.clone(), target_group_id(&g.id, g.kind).into_owned());
        }
        Valid::GroupMessage(m) => group.push((ids[&m.group].clone(), m.from.clone(), m.sent_at)),
        _ => {}
    })
    .unwrap();
    (c2c, group)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_messages_are_skipped_counted_and_said() {
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(app_config()).await;
    let (c2c, group) = sample_messages();
    // The cut-off is a group message's own time: that message is kept (boundary).
    let mut times: Vec<i64> = group.iter().map(|m| m.2).collect();
    times.sort_unstable();
    let cutoff = times[times.len() / 2];
    let at = cutover::timefmt::utc(cutoff)
        .replace(" UTC", "Z")
        .replacen(' ', "T", 1);
    let extra = format!("[import]\nhistory_since = \"{at}\"\n");
    let ending = import(runbook(&handle, &sample_data(), &store, &extra)).await;
    assert_eq!(ending, Ending::Complete);

    // The target holds exactly the messages at or after the cut-off.
    let got = actual(&handle.sim().dump());
    let mut want_c2c: BTreeMap<(String, String, i64), usize> = BTreeMap::new();
    for (from, to, t) in c2c.iter().filter(|m| m.2 >= cutoff) {
        *want_c2c.entry((from.clone(), to.clone(), *t)).or_default() += 1;
    }
    assert_eq!(got.c2c, want_c2c, "c2c messages");
    let mut want_group: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    for (g, from, t) in group.iter().filter(|m| m.2 >= cutoff) {
        want_group
            .entry(g.clone())
            .or_default()
            .push((from.clone(), *t));
    }
    for list in want_group.values_mut() {
        list.sort_by_key(|(_, t)| *t);
        let mut prev = None;
        for (_, t) in list.iter_mut() {
            *t = cutover::store::order::send_time(prev, *t);
            prev = Some(*t);
        }
    }
    assert_eq!(got.group_msgs, want_group, "group messages");

    // Counted as skipped (never failed), with the reason.
    let old_c2c = c2c.iter().filter(|m| m.2 < cutoff).count() as u64;
    let old_group = group.iter().filter(|m| m.2 < cutoff).count() as u64;
    assert!(old_c2c > 0 && old_group > 0, "the sample spans the cut-off");
    let conn = open_for_reading(&store).unwrap();
    let counts = queries::item_counts(&conn).unwrap();
    assert_eq!(counts[&Kind::C2cMessage][2..], [0, old_c2c]);
    assert_eq!(counts[&Kind::GroupMessage][2..], [0, old_group]);
    let reason = format!(
        "older than history_since {}",
        cutover::timefmt::date_or_time(cutoff)
    );
    let status = common::status_text(&store);
    for want in [
        format!("c2c messages: {old_c2c} skipped at staging ({reason})"),
        format!("group messages: {old_group} skipped at staging ({reason})"),
    ] {
        assert!(status.contains(&want), "{want:?} not in:\n{status}");
    }
    let report = cutover::report::gather::gather(&conn, &store).unwrap();
    let md = cutover::report::markdown::render(&report);
    assert!(
        md.contains(&format!("{old_group} group messages ({reason})")),
        "{md}"
    );
}
