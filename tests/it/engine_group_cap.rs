//! 10006 from import_group (the app's daily net-new group cap) holds the group lane with its
//! reason instead of retrying every few seconds; a stop still ends the run at once.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, runbook, sample_data};
use common::{wait_for, PATIENCE};
use cutover::engine::control::Command;
use cutover::engine::import::Ending;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::sim::config::Faults;
use cutover::store::{open_for_reading, Kind};
use cutover::tim::errors::DAILY_GROUP_CAP;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_group_cap_holds_the_group_lane_with_its_reason() {
    let mut config = app_config();
    config.faults.insert(
        "import_group".into(),
        Faults {
            error_rate: 1.0,
            error_codes: vec![10006],
            ..Faults::default()
        },
    );
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(config).await;
    let rb = runbook(&handle, &sample_data(), &store, "");
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    runner.preflight().await.unwrap();
    let import = runner.prepare_import().unwrap();
    let steer = import.handle();
    let run = tokio::spawn(import.run());

    let holds = wait_for(
        "the group lane to hold on the daily cap",
        PATIENCE,
        || steer.holds(),
        |h| !h.is_empty(),
    )
    .await;
    assert_eq!(holds, vec![(Kind::Group, DAILY_GROUP_CAP)]);
    let lanes = steer.lanes();
    let (_, group) = lanes.iter().find(|(k, _)| *k == Kind::Group).unwrap();
    assert_eq!(group.backoff_code, Some(10006));
    // Held until the next day, not for a retry's few seconds.
    assert!(group.backoff > 60.0, "{group:?}");

    steer.send(Command::Cancel {
        reason: "test over".into(),
    });
    let ending = run.await.unwrap().unwrap();
    assert_eq!(ending, Ending::Cancelled("test over".into()));
    let conn = open_for_reading(&store).unwrap();
    let held: String = conn
        .query_row("SELECT reason FROM audit WHERE action = 'hold'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(held, DAILY_GROUP_CAP);
}
