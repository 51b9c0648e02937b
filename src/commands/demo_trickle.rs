//! The demo's traffic after the cutover: once the relay answers, a message from an old-app
//! user every two seconds (POSTed to the ingest endpoint, as the old system would) and one
//! from a Tencent-side user (sent through the simulator, whose callback the relay delivers to
//! the demo old system), so the Sync screen has both directions to show.

use crate::sync::relay::INGEST_TOKEN_ENV;
use crate::tim::client::{ClientConfig, TimClient};
use crate::tim::wire::c2c::SendMsg;
use crate::tim::wire::MsgElement;
use crate::tim::{SecretKey, Target};
use std::time::Duration;

/// Runs until aborted; every failure is logged and the next tick tries again.
pub(super) async fn run(
    sim_url: String,
    sdkappid: u64,
    admin: &'static str,
    key: String,
    relay_port: u16,
) {
    let http = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{relay_port}/health");
    let ingest = format!("http://127.0.0.1:{relay_port}/sync/events");
    let token = std::env::var(INGEST_TOKEN_ENV).unwrap_or_default();
    let client = Target::parse(&sim_url).ok().and_then(|t| {
        TimClient::new(ClientConfig::new(t, sdkappid, admin, SecretKey::new(key))).ok()
    });
    let mut n: u64 = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let up = http
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if !up {
            continue;
        }
        n += 1;
        let now = crate::timefmt::now_secs();
        let event = serde_json::json!({"event_id": format!("demo-old-{now}-{n}"), "kind": "c2c_message",
            "at": now, "record": {"id": format!("demo-old-msg-{now}-{n}"), "from": "u0000002", "to": "u0000001",
            "sent_at": now, "body": [{"type": "text", "text": format!("from the old app #{n}")}]}});
        let sent = http
            .post(&ingest)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(event.to_string())
            .send()
            .await;
        if let Err(e) = sent {
            tracing::debug!(error = %e, "demo trickle: ingest failed");
        }
        if let Some(client) = &client {
            let msg = SendMsg {
                From_Account: Some("u0000001".into()),
                To_Account: "u0000002".into(),
                MsgRandom: rand::random(),
                MsgBody: vec![MsgElement::text(&format!("from a new app #{n}"))],
                ..SendMsg::default()
            };
            if let Err(e) = client.call(&msg).await {
                tracing::debug!(error = %e, "demo trickle: sendmsg failed");
            }
        }
    }
}
