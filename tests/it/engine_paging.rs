//! The import reads pending work a page at a time: with pages far smaller than the export
//! (so every kind spans many pages, and groups are imported before their messages and members
//! are paged in), a run stopped part way and resumed still imports every record once.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, assert_same, runbook};
use cutover::engine::control::Command;
use cutover::engine::import::{Ending, Import};
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::source::gen::{generate, GenConfig};
use cutover::store::{open_for_reading, queries};
use std::path::Path;

/// Items per page: a few hundred items of each kind span many pages.
const PAGE: usize = 8;

/// No error budget: a failure shows in the ending instead of pausing the run.
const EXTRA: &str = "[error_budget]\nitem_failures_per_code = 0\nconsecutive_transient = 0\n";

fn export(dir: &Path) -> std::path::PathBuf {
    let export = dir.join("export");
    let cfg = GenConfig {
        seed: 11,
        accounts: 120,
        friends_per_account: 3.0,
        c2c_messages: 200,
        groups: 30,
        members_per_group: 5.0,
        group_messages: 300,
        ..GenConfig::default()
    };
    generate(&cfg, &export).unwrap();
    export
}

fn prepare(runner: &Runner) -> Import {
    runner.prepare_import_with(|s| s.page = PAGE).unwrap()
}

/// Runs `import` to its end; one that never ends fails the test.
async fn run(import: Import) -> Ending {
    let committed = import.handle().committed.clone();
    match tokio::time::timeout(common::PATIENCE, import.run()).await {
        Ok(ending) => ending.unwrap(),
        Err(_) => panic!(
            "the import did not end; committed: {:?}",
            committed.borrow().items
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_pages_import_everything_once() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let export = export(dir.path());
    let runner = Runner::new(
        runbook(&handle, &export, &store, EXTRA),
        RunOptions::default(),
    )
    .unwrap();
    runner.preflight().await.unwrap();
    let ending = run(prepare(&runner)).await;
    assert_eq!(ending, Ending::Complete);
    assert_same(&handle, &export);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_pages_stopped_and_resumed_import_everything_once() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let export = export(dir.path());
    let runner = Runner::new(
        runbook(&handle, &export, &store, EXTRA),
        RunOptions::default(),
    )
    .unwrap();
    runner.preflight().await.unwrap();
    let import = prepare(&runner);
    let steer = import.handle();
    let first = tokio::spawn(run(import));
    // Stop once every group is in the target but group messages are still pending: their
    // later pages then belong to groups the resumed run finds already imported.
    let committed = steer.committed.clone();
    common::wait_until("the groups imported", common::PATIENCE, || {
        let c = committed.borrow();
        let groups = c.items.get(&cutover::store::Kind::Group).map(|c| c[0]);
        groups == Some(0)
    })
    .await;
    steer.send(Command::Cancel {
        reason: "stop part way".into(),
    });
    let ending = first.await.unwrap();
    assert!(matches!(ending, Ending::Cancelled(_)), "{ending:?}");
    let conn = open_for_reading(&store).unwrap();
    let pending: u64 = queries::item_counts(&conn)
        .unwrap()
        .values()
        .map(|c| c[0])
        .sum();
    assert!(pending > 0, "the first run left work for the second");

    let ending = run(prepare(&runner)).await;
    assert_eq!(ending, Ending::Complete);
    assert_same(&handle, &export);
}
