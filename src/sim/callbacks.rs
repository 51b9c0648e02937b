//! Callbacks to the app's server (§5): fired after the live operations of §4, never after an
//! import, unless the request forbade them. Sent as Tencent sends them — the query string of
//! §5.1 with `OptPlatform=RESTAPI`, `Sign`/`RequestTime` when a token is set, a 2-second
//! timeout — and, like Tencent's "after" callbacks, never retried.

use super::config::CallbackConfig;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One callback to send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Callback {
    /// `C2C.CallbackAfterSendMsg`, `Group.CallbackAfterCreateGroup`, …
    pub(crate) command: &'static str,
    /// The body, without `CallbackCommand` and `EventTime` (added when sent).
    pub(crate) body: Map<String, Value>,
}

impl Callback {
    /// A callback with these body fields.
    pub(crate) fn new(command: &'static str, body: Value) -> Self {
        let body = match body {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self { command, body }
    }
}

pub(crate) use crate::tim::callback::{sign, CALLBACK_TOKEN_ENV};

/// Delivery counts.
#[derive(Debug, Default)]
// Reachable only through `Sim::callbacks`, a test-support hook.
#[cfg_attr(not(any(test, feature = "test-support")), allow(unreachable_pub))]
pub struct CallbackStats {
    /// Answered with HTTP 200.
    pub delivered: AtomicU64,
    /// Failed (refused, timed out, non-200) or dropped because the queue was full.
    pub failed: AtomicU64,
}

/// Queues callbacks for the sender task.
#[derive(Clone)]
pub(crate) struct CallbackSender {
    tx: Option<mpsc::Sender<Callback>>,
    commands: Option<Vec<String>>,
    stats: Arc<CallbackStats>,
}

impl CallbackSender {
    /// Starts the sender task (when a URL is configured).
    pub(crate) fn start(config: &CallbackConfig, sdkappid: u64) -> Self {
        let stats = Arc::new(CallbackStats::default());
        let token = std::env::var(CALLBACK_TOKEN_ENV)
            .ok()
            .filter(|t| !t.is_empty())
            .or_else(|| config.token.clone());
        let tx = config.url.clone().map(|url| {
            let (tx, rx) = mpsc::channel(10_000);
            tokio::spawn(deliver(rx, url, token, sdkappid, Arc::clone(&stats)));
            tx
        });
        Self {
            tx,
            commands: config.commands.clone(),
            stats,
        }
    }

    /// Delivery counts.
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn stats(&self) -> &CallbackStats {
        &self.stats
    }

    /// Queues `callback` (dropped and counted as failed when the queue is full, as a busy
    /// service would lose it).
    pub(crate) fn send(&self, callback: Callback) {
        let Some(tx) = &self.tx else { return };
        if let Some(enabled) = &self.commands {
            if !enabled.iter().any(|c| c == callback.command) {
                return;
            }
        }
        if tx.try_send(callback).is_err() {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn deliver(
    mut rx: mpsc::Receiver<Callback>,
    url: String,
    token: Option<String>,
    sdkappid: u64,
    stats: Arc<CallbackStats>,
) {
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return;
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    while let Some(cb) = rx.recv().await {
        let now_ms = crate::timefmt::now_ms();
        let mut full = format!(
            "{url}{separator}SdkAppid={sdkappid}&CallbackCommand={}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI",
            cb.command
        );
        if let Some(token) = &token {
            let t = u64::try_from(now_ms / 1000).unwrap_or(0);
            full.push_str(&format!("&Sign={}&RequestTime={t}", sign(token, t)));
        }
        let mut body = Map::new();
        body.insert("CallbackCommand".into(), json!(cb.command));
        body.extend(cb.body);
        body.insert("EventTime".into(), json!(now_ms));
        let ok = http
            .post(&full)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&Value::Object(body)).unwrap_or_default())
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let counter = if ok { &stats.delivered } else { &stats.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        if !ok {
            tracing::debug!(command = cb.command, "callback not delivered");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_the_documented_vector() {
        assert_eq!(
            sign("xxxxyyyy", 1669872112),
            "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
        );
    }
}
