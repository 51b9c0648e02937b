//! The whole import against the simulator: every valid record lands exactly once, every
//! invalid one is reported and absent, and a second run has nothing left to send.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, assert_same, import, runbook, sample_data};
use cutover::engine::import::Ending;
use cutover::source::gen::{generate, GenConfig};
use cutover::store::{open_for_reading, queries};
use cutover::tim::api::Api;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_data_imports_completely_and_exactly_once() {
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(app_config()).await;
    let ending = import(runbook(&handle, &sample_data(), &store, "")).await;
    assert_eq!(ending, Ending::Complete);
    assert_same(&handle, &sample_data());
    let conn = open_for_reading(&store).unwrap();
    let invalid: u64 = conn
        .query_row(
            "SELECT COUNT(DISTINCT file || ':' || line) FROM invalid",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        invalid, 15,
        "the sample's deliberately bad records are reported"
    );
    // A second run resumes from the store: nothing is pending, nothing is sent again.
    let before = handle.sim().counts();
    let again = import(runbook(&handle, &sample_data(), &store, "")).await;
    assert_eq!(again, Ending::Complete);
    let after = handle.sim().counts();
    let imports = |c: &std::collections::BTreeMap<(Api, i64), u64>| -> u64 {
        c.iter()
            .filter(|((api, _), _)| api.is_import())
            .map(|(_, n)| n)
            .sum()
    };
    assert!(imports(&before) > 0);
    assert_eq!(
        imports(&before),
        imports(&after),
        "the resumed run sent nothing"
    );
    assert!(queries::journal(&conn).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_export_with_bad_records_imports_every_valid_one() {
    let common::Rig { handle, store, dir } = common::Rig::new(app_config()).await;
    let export = dir.path().join("export");
    let cfg = GenConfig {
        seed: 7,
        accounts: 300,
        friends_per_account: 4.0,
        c2c_messages: 600,
        groups: 20,
        members_per_group: 8.0,
        group_messages: 500,
        bad_ratio: 0.02,
        gzip: true,
        ..GenConfig::default()
    };
    generate(&cfg, &export).unwrap();
    let ending = import(runbook(&handle, &export, &store, "")).await;
    assert_eq!(ending, Ending::Complete);
    assert_same(&handle, &export);
}
