//! Exactly once against a service that loses answers: requests applied and then answered
//! HTTP 502 or cut off land once (group messages are read back, never re-sent blind), a
//! target that answers `{}` is refused before anything is imported, and imported group
//! messages carry `RecentContactFlag` where the group type accepts it.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::engine::{app_config, assert_same, import, runbook, sample_data};
use cutover::engine::import::Ending;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::sim::config::{Faults, NoAnswer, SimConfig};
use cutover::sim::server::NO_ANSWER;
use cutover::store::open_for_reading;
use cutover::store::queries::{self, FailureFilter};
use cutover::tim::api::Api;
use cutover::verify::Progress;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// No pause for transient errors: the faults below are many, on purpose.
const NO_BUDGET: &str =
    "[error_budget]\nitem_failures_per_code = 0\nconsecutive_transient = 0\n[verify]\nroaming_days = 0\n";

/// Every imported message of `dump`'s groups, as (group type, its `RecentContactFlag`).
fn group_message_flags(dump: &Value) -> Vec<(String, Option<u64>)> {
    let mut out = Vec::new();
    for g in dump["groups"].as_array().unwrap() {
        let kind = g["Type"].as_str().unwrap_or_default().to_string();
        for m in g["messages"].as_array().unwrap() {
            out.push((kind.clone(), m["RecentContactFlag"].as_u64()));
        }
    }
    out
}

fn assert_nothing_failed(store: &Path) {
    let conn = open_for_reading(store).unwrap();
    let failures = queries::failures(&conn, &FailureFilter::default()).unwrap();
    assert!(
        failures.is_empty(),
        "the error table is empty: {failures:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_and_resets_leave_every_message_exactly_once() {
    let mut config = app_config();
    let lossy = Faults {
        seed: 15,
        latency_ms: 1,
        latency_spread_ms: 4,
        // 5 %: applied, then the connection is closed without an answer.
        no_answer_rate: 0.05,
        no_answer: NoAnswer::Drop,
        // 10 %: applied, then a gateway answers 502.
        bad_gateway_rate: 0.10,
        ..Faults::default()
    };
    config.faults.insert("all".into(), lossy);
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(config).await;
    let rb = || runbook(&handle, &sample_data(), &store, NO_BUDGET);
    assert_eq!(import(rb()).await, Ending::Complete);

    // The faults struck the messages, both ways.
    let sim = handle.sim();
    for api in [Api::ImportGroupMsg, Api::ImportMsg] {
        let (gateway, cut) = (sim.count(api, 502), sim.count(api, NO_ANSWER));
        assert!(gateway > 0 && cut > 0, "{api}: {gateway} × 502, {cut} cut");
    }
    // Every record once: group and C2C messages counted against the export.
    assert_same(&handle, &sample_data());
    assert_nothing_failed(&store);

    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let runner = Runner::new(rb(), RunOptions::default()).unwrap();
    let summary = runner
        .verify(Arc::new(Progress::default()), stop)
        .await
        .unwrap();
    assert!(summary.finished, "{:?}", summary.unread_units);
    for c in &summary.counts {
        assert_eq!(
            (c.verified, c.mismatched(), c.unchecked, c.unreadable),
            (c.imported, 0, 0, 0),
            "{:?} verifies whole",
            c.kind
        );
    }

    // Conversation lists: Work, Public and Meeting groups' messages carry the flag, the
    // communities' (which refuse it) do not.
    let flags = group_message_flags(&sim.dump());
    assert!(!flags.is_empty());
    for (kind, flag) in &flags {
        let want = if kind == "Community" { None } else { Some(1) };
        assert_eq!(flag, &want, "a message of a {kind} group");
    }
    assert!(flags.iter().any(|(k, _)| k == "Community"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversation_lists_are_left_alone_when_the_runbook_says_so() {
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(app_config()).await;
    let extra = format!("{NO_BUDGET}[import]\nupdate_conversations = false\n");
    assert_eq!(
        import(runbook(&handle, &sample_data(), &store, &extra)).await,
        Ending::Complete
    );
    let flags = group_message_flags(&handle.sim().dump());
    assert!(!flags.is_empty());
    assert!(flags.iter().all(|(_, flag)| flag.is_none()), "{flags:?}");
}

/// A target that answers every call `HTTP 200 {}`, after carrying it out.
fn empty_answers() -> SimConfig {
    let mut config = app_config();
    let empty = Faults {
        empty_answer_rate: 1.0,
        ..Faults::default()
    };
    config.faults.insert("all".into(), empty);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_answers_empty_json_is_refused_before_any_import() {
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(empty_answers()).await;
    let runner = Runner::new(
        runbook(&handle, &sample_data(), &store, NO_BUDGET),
        RunOptions::default(),
    )
    .unwrap();
    let refused = runner.preflight().await.unwrap_err().to_string();
    assert!(
        refused.contains("does not answer like Tencent IM") && refused.contains("proxy"),
        "{refused}"
    );
    let conn = open_for_reading(&store).unwrap();
    for (kind, [_, done, failed, _]) in queries::item_counts(&conn).unwrap() {
        assert_eq!((done, failed), (0, 0), "{kind:?}: nothing marked imported");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_whose_answers_turn_to_empty_json_stops_fatal_marking_nothing() {
    // Preflight against a real-looking target, then the import meets `{}` answers.
    let good = common::Rig::new(app_config()).await;
    let bad = common::sim(empty_answers()).await;
    let rb = runbook(&good.handle, &sample_data(), &good.store, NO_BUDGET);
    Runner::new(rb, RunOptions::default())
        .unwrap()
        .preflight()
        .await
        .unwrap();
    let rb = runbook(&bad, &sample_data(), &good.store, NO_BUDGET);
    let import = Runner::new(rb, RunOptions::default())
        .unwrap()
        .prepare_import()
        .unwrap();
    let ending = import.run().await.unwrap();
    let Ending::Fatal(reason) = ending else {
        panic!("not fatal: {ending:?}");
    };
    assert!(reason.contains("does not speak Tencent IM"), "{reason}");
    let conn = open_for_reading(&good.store).unwrap();
    for (kind, [_, done, failed, _]) in queries::item_counts(&conn).unwrap() {
        assert_eq!((done, failed), (0, 0), "{kind:?}: nothing marked imported");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_back_that_fails_for_good_keeps_the_batch_unresolved() {
    // Every group-message batch is applied and answered 502; every read-back of a group is
    // refused with a fatal code (needs an app admin).
    let mut config = app_config();
    let lost = Faults {
        bad_gateway_rate: 1.0,
        ..Faults::default()
    };
    let refused = Faults {
        error_rate: 1.0,
        error_codes: vec![70403],
        ..Faults::default()
    };
    config.faults.insert("import_group_msg".into(), lost);
    config.faults.insert("group_msg_get_simple".into(), refused);
    let common::Rig {
        handle,
        store,
        dir: _dir,
    } = common::Rig::new(config).await;
    let ending = import(runbook(&handle, &sample_data(), &store, NO_BUDGET)).await;
    let Ending::Fatal(reason) = ending else {
        panic!("not fatal: {ending:?}");
    };
    assert!(reason.contains("read back on the next run"), "{reason}");
    assert!(handle.sim().count(Api::ImportGroupMsg, 502) > 0);

    // The unanswered batch is still journaled, and none of its messages is failed or done.
    let conn = open_for_reading(&store).unwrap();
    let journal = queries::journal(&conn).unwrap();
    let unresolved: Vec<i64> = journal
        .iter()
        .filter(|e| e.kind == cutover::store::Kind::GroupMessage)
        .flat_map(|e| e.items.clone())
        .collect();
    assert!(!unresolved.is_empty(), "{journal:?}");
    let counts = queries::item_counts(&conn).unwrap();
    let [_, done, failed, _] = counts[&cutover::store::Kind::GroupMessage];
    assert_eq!((done, failed), (0, 0));
}

/// A simulator whose `multiaccount_import` applies every request and then loses the answer
/// as `how` says.
async fn losing(how: NoAnswer) -> cutover::sim::SimHandle {
    let mut config = SimConfig::default();
    let faults = match how {
        NoAnswer::BadGateway => Faults {
            bad_gateway_rate: 1.0,
            ..Faults::default()
        },
        NoAnswer::Empty => Faults {
            empty_answer_rate: 1.0,
            ..Faults::default()
        },
        _ => Faults {
            no_answer_rate: 1.0,
            no_answer: how,
            ..Faults::default()
        },
    };
    config.faults.insert("multiaccount_import".into(), faults);
    common::sim(config).await
}

const ONE_ACCOUNT: &str = r#"{"AccountList": [{"UserID": "u1"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_closes_the_connection_without_an_http_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let handle = losing(NoAnswer::Drop).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let key = cutover::tim::SecretKey::new(common::KEY);
    let sig = cutover::tim::usersig::generate(&key, common::SDKAPPID, common::ADMIN, 3600, now);
    let request = format!(
        "POST /v4/im_open_login_svc/multiaccount_import?sdkappid={}&identifier={}&usersig={}\
         &random=1&contenttype=json HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{ONE_ACCOUNT}",
        common::SDKAPPID,
        common::ADMIN,
        sig.expose(),
        ONE_ACCOUNT.len()
    );
    let mut stream = tokio::net::TcpStream::connect(handle.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // A reset may surface as an error rather than an end of stream; either way, no bytes.
    let _ = stream.read_to_end(&mut answer).await;
    assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    assert_eq!(handle.sim().with_state(|s| s.account_count()), 1, "applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_are_unknown_outcomes_of_applied_requests() {
    use cutover::tim::wire::account::{AccountItem, MultiaccountImport};
    use cutover::tim::{Applied, CallError};
    let request = MultiaccountImport {
        Accounts: None,
        AccountList: Some(vec![AccountItem {
            UserID: "u1".into(),
            Nick: None,
            FaceUrl: None,
        }]),
    };
    for how in [NoAnswer::BadGateway, NoAnswer::Empty, NoAnswer::Drop] {
        let handle = losing(how).await;
        let e = common::client(&handle).call(&request).await.unwrap_err();
        match how {
            NoAnswer::BadGateway => assert!(matches!(e, CallError::Http { status: 502, .. })),
            NoAnswer::Empty => assert!(matches!(e, CallError::Protocol { .. }), "{e:?}"),
            _ => assert!(matches!(e, CallError::Dropped { .. }), "{e:?}"),
        }
        assert_eq!(e.applied(), Applied::Unknown, "{how:?}: {e}");
        assert_eq!(handle.sim().with_state(|s| s.account_count()), 1, "{how:?}");
    }
}
