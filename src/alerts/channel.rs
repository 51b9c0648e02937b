//! One channel's delivery task: it takes the messages meant for its robot, sends each as its
//! limits allow, folds what waited for the limit into one digest, reads the robot's answer,
//! and counts what was sent and what failed (logging why, never the URL or a secret).

use super::answer::{self, Refusal};
use super::limits::{Limit, Limiter};
use super::message::Message;
use super::{payload, Delivery};
use crate::config::alerts::ChannelKind;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long one post may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A channel ready to start: where its robot is and how fast it may be told. Its `Debug`
/// leaves out the URL and the secret.
#[derive(Clone)]
pub struct ChannelSetup {
    /// The channel's name.
    pub name: String,
    /// Which robot.
    pub kind: ChannelKind,
    /// The robot's URL, or why there is none (its variable was not set).
    pub url: Result<String, String>,
    /// The signing secret or bearer token.
    pub secret: Option<String>,
    /// Time between repeats of an alert that holds.
    pub repeat: Duration,
    /// The limits it is held to (each robot's defaults are in docs/alerts.md).
    pub limits: Vec<Limit>,
}

impl std::fmt::Debug for ChannelSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSetup")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url.as_ref().map(|_| "(set)"))
            .field("secret", &self.secret.as_ref().map(|_| "(set)"))
            .field("repeat", &self.repeat)
            .field("limits", &self.limits)
            .finish()
    }
}

/// The delivery task of channel `slot`.
pub(crate) struct Worker {
    pub(crate) slot: usize,
    pub(crate) setup: ChannelSetup,
    pub(crate) delivery: Arc<Delivery>,
    pub(crate) rx: mpsc::UnboundedReceiver<Message>,
}

impl Worker {
    /// Runs until the dispatcher is gone and everything it handed over is sent.
    pub(crate) async fn run(mut self) {
        let limiter = Limiter::new(&self.setup.limits);
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .build();
        let http = match http {
            Ok(h) => Some(h),
            Err(e) => {
                let e = e.without_url();
                tracing::error!(channel = %self.setup.name, "alerts: no HTTP client: {e}");
                None
            }
        };
        let mut pending: VecDeque<Message> = VecDeque::new();
        let mut waited = false;
        loop {
            if pending.is_empty() {
                match self.rx.recv().await {
                    Some(m) => pending.push_back(m),
                    None => return,
                }
            }
            while let Ok(m) = self.rx.try_recv() {
                pending.push_back(m);
            }
            if let Err(wait) = limiter.check() {
                waited = true;
                tokio::time::sleep(wait).await;
                continue;
            }
            // What waited for the limit goes as one digest; a message alone goes as itself.
            let batch: Vec<Message> = if waited && pending.len() > 1 {
                pending.drain(..).collect()
            } else {
                pending.pop_front().into_iter().collect()
            };
            waited = false;
            let msg = match batch.as_slice() {
                [one] => one.clone(),
                many => Message::digest(many, "over the robot's rate limit"),
            };
            let result = match &http {
                Some(http) => self.send(http, &msg).await,
                None => Err(Refusal::from("no HTTP client".to_string())),
            };
            let back_off = result.as_ref().err().and_then(|r| r.back_off);
            self.count(batch.len(), result.map_err(|r| r.why));
            if let Some(pause) = back_off {
                // The robot throttles: what comes meanwhile waits and goes as one digest.
                let secs = pause.as_secs();
                tracing::warn!(channel = %self.setup.name, "alerts: throttled, waiting {secs}s");
                waited = true;
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// Posts `msg` and reads the answer.
    async fn send(&self, http: &reqwest::Client, msg: &Message) -> Result<(), Refusal> {
        let url = self
            .setup
            .url
            .as_ref()
            .map_err(|why| Refusal::from(why.clone()))?;
        let now_ms = crate::timefmt::now_ms();
        let req = payload::request(
            self.setup.kind,
            url,
            self.setup.secret.as_deref(),
            msg,
            now_ms,
        );
        let body = serde_json::to_vec(&req.body)
            .map_err(|e| Refusal::from(format!("the body as JSON: {e}")))?;
        let mut post = http
            .post(&req.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(token) = &req.bearer {
            post = post.bearer_auth(token);
        }
        let answer = post.send().await.map_err(describe)?;
        let status = answer.status().as_u16();
        let retry_after = answer
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = answer.text().await.map_err(describe)?;
        answer::judge(self.setup.kind, status, retry_after, &text)
    }

    /// Counts one post standing for `messages` messages.
    fn count(&self, messages: usize, result: Result<(), String>) {
        {
            let mut figures = self.delivery.figures();
            if let Some(f) = figures.get_mut(self.slot) {
                if messages > 1 {
                    f.folded += messages as u64;
                }
                match &result {
                    Ok(()) => {
                        f.sent += 1;
                        // Delivering again: no longer failing.
                        f.last_failure = None;
                    }
                    Err(why) => {
                        f.failed += 1;
                        f.last_failure = Some(why.clone());
                    }
                }
            }
        }
        if let Err(why) = result {
            tracing::warn!(
                channel = %self.setup.name,
                kind = self.setup.kind.name(),
                "alert not delivered: {why}"
            );
        }
        self.delivery
            .outstanding
            .fetch_sub(messages as u64, Ordering::SeqCst);
        self.delivery.progress.notify_waiters();
    }
}

/// A transport error without its URL (the URL carries the robot's key).
fn describe(e: reqwest::Error) -> Refusal {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let e = e.without_url();
    let mut why = format!("{kind}: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        why.push_str(&format!(": {s}"));
        source = s.source();
    }
    Refusal::from(why)
}
