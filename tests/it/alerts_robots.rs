//! Alerts to chat robots, against local receivers standing in for each robot: the payload
//! shapes, the signatures recomputed by the documented algorithm (/work/shared/spec/robots.md),
//! a 200 with an error in its body counted as a failure, the rate limit with the digest that
//! folds the backlog, a full queue folded and counted, and an alert repeated while it holds.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure is the test's

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use base64::Engine;
use cutover::alerts::{Alert, Alerter, ChannelSetup, Limit, Severity};
use cutover::config::alerts::ChannelKind;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// One post a receiver took.
#[derive(Debug, Clone)]
struct Got {
    query: String,
    auth: Option<String>,
    body: Value,
}

#[derive(Clone)]
struct Rx {
    got: Arc<Mutex<Vec<Got>>>,
    count: Arc<watch::Sender<usize>>,
    answer: &'static str,
    /// The first post is answered 429 with `Retry-After: 1`.
    throttle_first: bool,
}

/// A local robot on 127.0.0.1:0 answering every post with `answer` (HTTP 200).
struct Receiver {
    base: String,
    rx: Rx,
}

impl Receiver {
    async fn start(answer: &'static str) -> Receiver {
        Self::start_as(answer, false).await
    }

    async fn start_as(answer: &'static str, throttle_first: bool) -> Receiver {
        let rx = Rx {
            got: Arc::default(),
            count: Arc::new(watch::channel(0).0),
            answer,
            throttle_first,
        };
        let app = axum::Router::new().fallback(take).with_state(rx.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { base, rx }
    }

    /// Waits until `n` posts arrived (a positive signal, with a generous bound).
    async fn wait_for(&self, n: usize) -> Vec<Got> {
        let mut count = self.rx.count.subscribe();
        tokio::time::timeout(Duration::from_secs(20), count.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} posts never arrived: {:?}", self.got()))
            .unwrap();
        self.got()
    }

    fn got(&self) -> Vec<Got> {
        self.rx.got.lock().unwrap().clone()
    }
}

async fn take(
    State(rx): State<Rx>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let got = Got {
        query: uri.query().unwrap_or("").to_string(),
        auth: headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string()),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let first = {
        let mut all = rx.got.lock().unwrap();
        all.push(got);
        all.len() == 1
    };
    rx.count.send_modify(|c| *c += 1);
    if first && rx.throttle_first {
        let status = axum::http::StatusCode::TOO_MANY_REQUESTS;
        return (status, [("retry-after", "1")], "rate_limited").into_response();
    }
    rx.answer.into_response()
}

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(msg);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn setup(name: &str, kind: ChannelKind, url: String, secret: Option<&str>) -> ChannelSetup {
    ChannelSetup {
        name: name.into(),
        kind,
        url: Ok(url),
        secret: secret.map(str::to_string),
        repeat: Duration::from_secs(3600),
        limits: vec![Limit {
            burst: 50,
            every: Duration::from_millis(10),
        }],
    }
}

fn alert(key: &str) -> Alert {
    Alert {
        key: key.into(),
        severity: Severity::Critical,
        title: format!("{key}: the run paused"),
        body: "step import · error budget 50 × 20003 · cutover errors --store run.db".into(),
    }
}

#[tokio::test]
async fn each_robot_gets_its_shape_and_a_signature_that_checks() {
    let ok = r#"{"errcode":0,"errmsg":"ok"}"#;
    let wecom = Receiver::start(ok).await;
    let ding = Receiver::start(ok).await;
    let feishu = Receiver::start(r#"{"code":0,"msg":"success","data":{}}"#).await;
    let slack = Receiver::start("ok").await;
    let hook = Receiver::start("").await;
    let alerter = Alerter::start_with(
        vec![
            setup(
                "w",
                ChannelKind::Wecom,
                format!("{}/cgi-bin/webhook/send?key=K", wecom.base),
                None,
            ),
            setup(
                "d",
                ChannelKind::Dingtalk,
                format!("{}/robot/send?access_token=T", ding.base),
                Some("SECding"),
            ),
            setup(
                "f",
                ChannelKind::Feishu,
                format!("{}/open-apis/bot/v2/hook/X", feishu.base),
                Some("feishu-secret"),
            ),
            setup(
                "s",
                ChannelKind::Slack,
                format!("{}/services/T/B/X", slack.base),
                None,
            ),
            setup(
                "h",
                ChannelKind::Webhook,
                format!("{}/alerts", hook.base),
                Some("tok"),
            ),
        ],
        "nightly",
        16,
    );
    alerter.fire(alert("paused"));

    let w = &wecom.wait_for(1).await[0];
    assert_eq!(w.query, "key=K");
    assert_eq!(w.body["msgtype"], "markdown");
    assert!(w.body["markdown"]["content"]
        .as_str()
        .unwrap()
        .contains("the run paused"));

    let d = &ding.wait_for(1).await[0];
    let q: Vec<(String, String)> = url_pairs(&d.query);
    assert_eq!(q[0], ("access_token".into(), "T".into()));
    assert_eq!(q[1].0, "timestamp");
    assert_eq!(q[2].0, "sign");
    let ts: i64 = q[1].1.parse().unwrap();
    assert!(
        (now_ms() - ts).abs() < 3_600_000,
        "the timestamp is within the hour"
    );
    let expect = hmac_b64(b"SECding", format!("{ts}\nSECding").as_bytes());
    assert_eq!(
        q[2].1, expect,
        "DingTalk's sign: base64(HMAC-SHA256(secret, ts\\nsecret))"
    );
    assert_eq!(d.body["msgtype"], "markdown");
    assert!(d.body["markdown"]["title"].is_string() && d.body["markdown"]["text"].is_string());

    let f = &feishu.wait_for(1).await[0];
    let ts = f.body["timestamp"].as_str().unwrap();
    let secs: i64 = ts.parse().unwrap();
    assert!((now_ms() / 1000 - secs).abs() < 3600);
    let expect = hmac_b64(format!("{ts}\nfeishu-secret").as_bytes(), b"");
    assert_eq!(
        f.body["sign"], expect,
        "Feishu's sign: base64(HMAC-SHA256(ts\\nsecret, \"\"))"
    );
    assert_eq!(f.body["msg_type"], "text");
    assert!(f.body["content"]["text"]
        .as_str()
        .unwrap()
        .contains("the run paused"));

    let s = &slack.wait_for(1).await[0];
    assert_eq!(s.body.as_object().unwrap().len(), 1);
    assert!(s.body["text"]
        .as_str()
        .unwrap()
        .starts_with("[CRITICAL] FIRING paused"));

    let h = &hook.wait_for(1).await[0];
    assert_eq!(h.auth.as_deref(), Some("Bearer tok"));
    for field in ["run", "key", "severity", "state", "title", "body", "at"] {
        assert!(
            h.body.get(field).is_some(),
            "the webhook's JSON has {field}: {}",
            h.body
        );
    }
    assert_eq!(
        (&h.body["run"], &h.body["state"]),
        (&"nightly".into(), &"firing".into())
    );

    alerter.resolve("paused");
    let h = &hook.wait_for(2).await[1];
    assert_eq!(h.body["state"], "resolved");
    let w = &wecom.wait_for(2).await[1];
    assert!(w.body["markdown"]["content"]
        .as_str()
        .unwrap()
        .contains("RESOLVED paused"));
    for r in [&ding, &feishu, &slack] {
        r.wait_for(2).await;
    }
    alerter.flush(Duration::from_secs(10)).await;
    for f in alerter.deliveries() {
        assert_eq!((f.sent, f.failed), (2, 0), "{f:?}");
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn a_backlog_over_the_limit_folds_into_one_digest_that_counts_it() {
    let hook = Receiver::start("").await;
    let mut s = setup("h", ChannelKind::Webhook, format!("{}/in", hook.base), None);
    s.limits = vec![Limit {
        burst: 3,
        every: Duration::from_secs(1),
    }];
    let alerter = Alerter::start_with(vec![s], "nightly", 64);
    for i in 0..10 {
        alerter.fire(alert(&format!("k{i}")));
    }
    alerter.flush(Duration::from_secs(20)).await;
    let got = hook.got();
    assert_eq!(
        got.len(),
        4,
        "3 at once (the burst), then one digest: {got:?}"
    );
    for g in &got[..3] {
        assert_eq!(g.body["state"], "firing");
    }
    let digest = &got[3].body;
    assert_eq!(digest["state"], "digest");
    assert_eq!(digest["title"], "7 alerts");
    let body = digest["body"].as_str().unwrap();
    assert!(
        body.starts_with("7 messages folded into this one (over the robot's rate limit)"),
        "{body}"
    );
    assert!(body.contains("k9"), "{body}");
    let f = &alerter.deliveries()[0];
    assert_eq!((f.sent, f.failed, f.folded), (4, 0, 7));
}

#[tokio::test]
async fn a_200_with_an_error_in_its_body_counts_as_failed_without_the_key() {
    let wecom = Receiver::start(r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#).await;
    let mut missing = setup("m", ChannelKind::Slack, String::new(), None);
    missing.url = Err("CUTOVER_SLACK_URL is not set".into());
    let alerter = Alerter::start_with(
        vec![
            setup(
                "w",
                ChannelKind::Wecom,
                format!("{}/send?key=SECRETKEY42", wecom.base),
                None,
            ),
            missing,
        ],
        "nightly",
        16,
    );
    alerter.fire(alert("paused"));
    wecom.wait_for(1).await;
    alerter.flush(Duration::from_secs(10)).await;
    let figures = alerter.deliveries();
    let w = &figures[0];
    assert_eq!((w.sent, w.failed), (0, 1));
    let why = w.last_failure.as_deref().unwrap();
    assert!(why.contains("errcode 93000: invalid webhook url"), "{why}");
    assert!(!why.contains("SECRETKEY42"));
    let m = &figures[1];
    assert_eq!((m.sent, m.failed), (0, 1));
    assert_eq!(
        m.last_failure.as_deref(),
        Some("CUTOVER_SLACK_URL is not set")
    );
}

#[tokio::test]
async fn a_full_queue_folds_into_a_digest_and_is_counted() {
    let hook = Receiver::start("").await;
    let alerter = Alerter::start_with(
        vec![setup(
            "h",
            ChannelKind::Webhook,
            format!("{}/in", hook.base),
            None,
        )],
        "nightly",
        1,
    );
    // No await between the calls: the delivery tasks cannot run, the queue of one fills.
    for i in 0..20 {
        alerter.fire(alert(&format!("k{i}")));
    }
    assert_eq!(alerter.overflowed(), 19);
    alerter.flush(Duration::from_secs(10)).await;
    let got = hook.got();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].body["key"], "k0");
    assert_eq!(got[1].body["state"], "digest");
    let body = got[1].body["body"].as_str().unwrap();
    assert!(
        body.starts_with("19 messages folded into this one (the alert queue was full)"),
        "{body}"
    );
}

#[tokio::test]
async fn an_alert_repeats_while_it_holds_and_resolves_once() {
    let hook = Receiver::start("").await;
    let mut s = setup("h", ChannelKind::Webhook, format!("{}/in", hook.base), None);
    s.repeat = Duration::from_millis(100);
    let alerter = Alerter::start_with(vec![s], "nightly", 16);
    alerter.fire(alert("waiting"));
    let got = hook.wait_for(3).await;
    assert!(got[..3].iter().all(|g| g.body["state"] == "firing"));
    assert!(got[1].body["body"]
        .as_str()
        .unwrap()
        .contains("still holding"));
    alerter.resolve("waiting");
    let got = loop {
        let n = hook.got().len();
        let got = hook.wait_for(n + 1).await;
        if got.last().unwrap().body["state"] == "resolved" {
            break got;
        }
    };
    // Resolving again says nothing more.
    alerter.resolve("waiting");
    alerter.flush(Duration::from_secs(10)).await;
    assert_eq!(hook.got().len(), got.len());
}

#[tokio::test]
async fn a_robot_answering_429_is_left_alone_for_its_retry_after_then_gets_a_digest() {
    let slack = Receiver::start_as("ok", true).await;
    let alerter = Alerter::start_with(
        vec![setup(
            "s",
            ChannelKind::Slack,
            format!("{}/services/X", slack.base),
            None,
        )],
        "nightly",
        16,
    );
    for i in 0..3 {
        alerter.fire(alert(&format!("k{i}")));
    }
    let got = slack.wait_for(2).await;
    alerter.flush(Duration::from_secs(10)).await;
    assert_eq!(slack.got().len(), 2, "{got:?}");
    let text = got[1].body["text"].as_str().unwrap();
    assert!(text.contains("2 messages folded into this one"), "{text}");
    let f = &alerter.deliveries()[0];
    assert_eq!((f.sent, f.failed, f.folded), (1, 1, 2));
    // The digest went through: the channel is no longer failing (the log keeps the 429).
    assert_eq!(f.last_failure, None);
}
