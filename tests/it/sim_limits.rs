//! The simulator's rate limits and callbacks, as a client sees them.

#![allow(clippy::unwrap_used)] // a panic in a test helper is a test failure

use crate::common;

use axum::extract::{RawQuery, State};
use axum::routing::post;
use axum::Router;
use common::{client, sim, wait_for, PATIENCE, SDKAPPID};
use cutover::sim::config::{ApiQuota, SimConfig};
use cutover::tim::wire::account::{AccountCheck, CheckItem, MultiaccountImport};
use cutover::tim::wire::c2c::{ImportMsg, SendMsg};
use cutover::tim::wire::MsgElement;
use cutover::tim::Api;
use governor::{Quota, RateLimiter};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn check() -> AccountCheck {
    AccountCheck {
        CheckItem: vec![CheckItem { UserID: "a".into() }],
    }
}

fn limited(rate: u32) -> SimConfig {
    let mut config = SimConfig::default();
    config.api_quotas.insert(
        "account_check".into(),
        ApiQuota {
            rate: Some(rate),
            batch: None,
        },
    );
    config
}

/// 60 calls at once against a limit of 20 a second: how many were refused, and at most how
/// many of the simulator's 1-second windows they fell in (its windows start when it does,
/// between `before` and the first call, so a call at `t` is in window
/// `(t - before).as_secs()` or one before it).
async fn burst() -> (usize, u64) {
    let before = Instant::now();
    let handle = sim(limited(20)).await;
    let c = Arc::new(client(&handle));
    let calls: Vec<_> = (0..60)
        .map(|_| {
            let c = Arc::clone(&c);
            tokio::spawn(async move { c.call(&check()).await })
        })
        .collect();
    let mut limited = 0;
    for call in calls {
        if let Err(e) = call.await.unwrap() {
            assert_eq!(e.code(), Some(60007), "{e}");
            limited += 1;
        }
    }
    let windows = before.elapsed().as_secs() + 1;
    assert_eq!(handle.sim().count(Api::AccountCheck, 60007), limited);
    // No window lets more than 20 through, however the burst was spread.
    let admitted = 60 - limited;
    assert!(
        admitted <= 20 * windows,
        "{admitted} admitted in {windows} windows"
    );
    (limited as usize, windows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_over_the_limit_gets_60007() {
    // A burst that fell in two windows or fewer had at least 20 of its 60 calls refused. One
    // spread over more (a machine stalled for seconds) is not a burst: it is sent again.
    for _ in 0..10 {
        let (limited, windows) = burst().await;
        if windows <= 2 {
            assert!(limited >= 20, "{limited} of 60 limited");
            return;
        }
    }
    panic!("no burst of 60 calls fell within two seconds in 10 tries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_paced_below_the_limit_gets_none() {
    let handle = sim(limited(20)).await;
    let c = client(&handle);
    // 16 calls a second with no burst (governor's default burst equals the rate, which would
    // pour a whole second's worth into the first window), each sent once the one before it is
    // answered: a call that leaves in a window left at least 62.5 ms after the one before, and
    // a call admitted late in one window was answered before the next left. So no window can
    // admit more than 17, however slow the machine; 40 calls span at least two windows.
    let quota =
        Quota::per_second(NonZeroU32::new(16).unwrap()).allow_burst(NonZeroU32::new(1).unwrap());
    let pace = RateLimiter::direct(quota);
    for _ in 0..40 {
        pace.until_ready().await;
        c.call(&check()).await.unwrap();
    }
    assert_eq!(handle.sim().count(Api::AccountCheck, 60007), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_limits_answer_the_documented_code() {
    let handle = sim(SimConfig::default()).await;
    let c = client(&handle);
    let many = MultiaccountImport {
        Accounts: Some((0..101).map(|i| format!("u{i}")).collect()),
        AccountList: None,
    };
    assert_eq!(c.call(&many).await.unwrap_err().code(), Some(70402));
    let mut config = SimConfig::default();
    config.api_quotas.insert(
        "multiaccount_import".into(),
        ApiQuota {
            rate: None,
            batch: Some(200),
        },
    );
    let roomy = sim(config).await;
    client(&roomy).call(&many).await.unwrap();
}

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

async fn receiver() -> (String, Seen, tokio::task::JoinHandle<()>) {
    let seen: Seen = Arc::default();
    async fn take(State(seen): State<Seen>, RawQuery(q): RawQuery, body: String) -> &'static str {
        seen.lock()
            .unwrap()
            .push((q.unwrap_or_default(), serde_json::from_str(&body).unwrap()));
        r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}"#
    }
    let app = Router::new()
        .route("/im-callback", post(take))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/im-callback", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen, task)
}

fn param<'a>(query: &'a str, name: &str) -> &'a str {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_sends_fire_signed_callbacks_and_imports_fire_none() {
    let (url, seen, _task) = receiver().await;
    let mut config = SimConfig::default();
    config.callback.url = Some(url);
    config.callback.token = Some("xxxxyyyy".into());
    let handle = sim(config).await;
    let c = client(&handle);
    c.call(&MultiaccountImport {
        Accounts: Some(vec!["a".into(), "b".into()]),
        AccountList: None,
    })
    .await
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    c.call(&ImportMsg {
        SyncFromOldSystem: 2,
        From_Account: "a".into(),
        To_Account: "b".into(),
        MsgSeq: Some(1),
        MsgRandom: 1,
        MsgTimeStamp: now - 5,
        MsgBody: vec![MsgElement::text("old")],
        CloudCustomData: None,
    })
    .await
    .unwrap();
    let live = |random: u32| SendMsg {
        From_Account: Some("a".into()),
        To_Account: "b".into(),
        MsgRandom: random,
        MsgBody: vec![MsgElement::text("new")],
        ..SendMsg::default()
    };
    let sent = c.call(&live(2)).await.unwrap();
    // Callbacks go out one at a time, in order: once a second live send has called back,
    // anything the imports or the first send fired has arrived too.
    let marker = c.call(&live(3)).await.unwrap();
    let seen = wait_for(
        "the second live send's callback",
        PATIENCE,
        || seen.lock().unwrap().clone(),
        |seen| {
            seen.iter()
                .any(|(_, b)| b["MsgKey"] == marker.MsgKey.as_str())
        },
    )
    .await;
    let keys: Vec<&str> = seen
        .iter()
        .map(|(_, b)| b["MsgKey"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        keys,
        [sent.MsgKey.as_str(), marker.MsgKey.as_str()],
        "only the live sends call back, once each: {seen:?}"
    );
    let (query, body) = &seen[0];
    assert_eq!(param(query, "SdkAppid"), SDKAPPID.to_string());
    assert_eq!(param(query, "CallbackCommand"), "C2C.CallbackAfterSendMsg");
    assert_eq!(param(query, "contenttype"), "json");
    assert_eq!(param(query, "OptPlatform"), "RESTAPI");
    let time = param(query, "RequestTime");
    let expected: String = Sha256::digest(format!("xxxxyyyy{time}"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(param(query, "Sign"), expected);
    assert_eq!(body["CallbackCommand"], "C2C.CallbackAfterSendMsg");
    assert_eq!(body["MsgKey"], sent.MsgKey.as_str());
    assert!(body["EventTime"].as_u64().unwrap() > 1_600_000_000_000);
    // The simulator counts a delivery once the answer is back, after the receiver has it.
    let delivered = || {
        let stats = handle.sim().callbacks();
        let load = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
        (load(&stats.delivered), load(&stats.failed))
    };
    wait_for("both callbacks counted", PATIENCE, delivered, |n| {
        *n == (2, 0)
    })
    .await;
}
