//! Where retrying stops: one group whose every import_group_msg answers 10002 ends as
//! retryable failures once `[import] max_retry_secs` has passed, while everything else is
//! imported and the run comes to its end.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{actual, app_config, expected, import, runbook, sample_data};
use cutover::engine::import::Ending;
use cutover::sim::config::Faults;
use cutover::store::queries::{self, FailureFilter};
use cutover::store::{open_for_reading, Kind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_never_clears_fails_as_retryable_and_the_run_ends() {
    let mut want = expected(&sample_data());
    // The group with the most messages: more than one batch of them is left when it gives up.
    let (stuck, messages) = want
        .group_msgs
        .iter()
        .max_by_key(|(_, m)| m.len())
        .map(|(g, m)| (g.clone(), m.len()))
        .unwrap();
    assert!(messages > 7, "{stuck} has {messages} messages");
    let mut config = app_config();
    config.faults.insert(
        "import_group_msg".into(),
        Faults {
            error_rate: 1.0,
            error_codes: vec![10002],
            group_ids: vec![stuck.clone()],
            ..Faults::default()
        },
    );
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(config).await;
    let extra = "[import]\nmax_retry_secs = 2\n[error_budget]\nitem_failures_per_code = 0\nconsecutive_transient = 0\n";
    let ending = import(runbook(&handle, &sample_data(), &store, extra)).await;
    assert_eq!(ending, Ending::CompleteWithFailures(messages as u64));

    let conn = open_for_reading(&store).unwrap();
    let failures = queries::failures(&conn, &FailureFilter::default()).unwrap();
    assert_eq!(failures.len(), messages);
    for f in &failures {
        assert_eq!(f.kind, Kind::GroupMessage);
        assert!(f.retryable, "{f:?}");
        assert_eq!(f.code, Some(10002), "{f:?}");
    }
    let groups = queries::failure_groups(&conn).unwrap();
    assert_eq!(groups.len(), 1);
    assert!(groups[0]
        .sample
        .contains("still failing after 2 s of retries"));

    // Everything else is in the target, the stuck group's members included.
    want.group_msgs.remove(&stuck);
    assert_eq!(actual(&handle.sim().dump()), want);
}
