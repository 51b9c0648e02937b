//! A target whose paging cursor does not move: verification's read of that group ends with a
//! protocol error (the group is reported unread) instead of asking for the same page for ever.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, expected, import, runbook, sample_data};
use cutover::engine::import::Ending;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::sim::config::Faults;
use cutover::verify::Progress;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_that_does_not_move_ends_the_read_with_a_protocol_error() {
    // The group with the most messages: more than one page of group_msg_get_simple.
    let (group, messages) = expected(&sample_data())
        .group_msgs
        .into_iter()
        .max_by_key(|(_, m)| m.len())
        .unwrap();
    assert!(messages.len() > 20, "{group} needs more than a page");
    let mut config = app_config();
    config.faults.insert(
        "group_msg_get_simple".into(),
        Faults {
            repeat_cursor: true,
            group_ids: vec![group.clone()],
            ..Faults::default()
        },
    );
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(config).await;
    let rb = || {
        runbook(
            &handle,
            &sample_data(),
            &store,
            "[verify]\nroaming_days = 0\n",
        )
    };
    assert_eq!(import(rb()).await, Ending::Complete);

    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let summary = Runner::new(rb(), RunOptions::default())
        .unwrap()
        .verify(Arc::new(Progress::default()), stop)
        .await
        .unwrap();
    let stuck: Vec<_> = summary
        .unread_units
        .iter()
        .filter(|u| u.contains("protocol error: the page cursor did not move"))
        .collect();
    assert_eq!(stuck.len(), 1, "{:?}", summary.unread_units);
    assert!(
        stuck[0].starts_with(&format!("group_msg_get_simple of {group}")),
        "{}",
        stuck[0]
    );
}
