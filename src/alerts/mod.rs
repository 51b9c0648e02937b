//! Alerts to chat robots (WeCom, DingTalk, Feishu/Lark, Slack, a plain JSON webhook): an
//! [`Alerter`] takes alerts from the run without ever blocking it and delivers them on tasks of
//! its own, each channel held to its robot's rate limit, a backlog folded into one digest, and
//! every delivery counted per channel ([`Alerter::deliveries`]).
//!
//! One concern per module: `message` (what a message says), `sign` (the robots' signatures),
//! `payload` (each robot's request), `answer` (reading its answer, where HTTP 200 can still be
//! a refusal), `limits` (the rate limits), `book` (fire, repeat, resolve), `dispatch` (the task
//! that keeps the book) and `channel` (one robot's delivery task). docs/alerts.md tells the
//! operator's side.

mod answer;
mod book;
mod channel;
mod dispatch;
mod limits;
mod message;
mod payload;
mod sign;

pub use channel::ChannelSetup;
pub use limits::Limit;

use crate::config::alerts::{AlertsConfig, ChannelConfig, ChannelKind};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// Alerts waiting for the dispatcher; more fold into a digest ([`Alerter::overflowed`]).
const QUEUE: usize = 256;

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Needs a look soon.
    Warning,
    /// Needs someone now.
    Critical,
    /// For the record (the import finished).
    Info,
}

impl Severity {
    /// `warning`, `critical` or `info`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
            Severity::Info => "info",
        }
    }

    /// Worse is greater.
    fn rank(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// What it is about (`paused`, `window_overrun`, …): one alert per key holds at a time.
    pub key: String,
    /// How bad.
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// The run, the step, the numbers, the command to look closer.
    pub body: String,
}

/// What one channel delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelFigures {
    /// The channel's name.
    pub name: String,
    /// Which robot.
    pub kind: ChannelKind,
    /// Posts the robot took.
    pub sent: u64,
    /// Posts that failed (transport, HTTP status, or an error in a 200's body).
    pub failed: u64,
    /// Messages that went folded into a digest.
    pub folded: u64,
    /// While the channel is failing: why its last post failed (no URL, no secret); cleared
    /// by the next post that goes through (the log keeps every failure).
    pub last_failure: Option<String>,
}

/// What the run's side and the delivery tasks share.
pub(crate) struct Delivery {
    figures: Mutex<Vec<ChannelFigures>>,
    /// Messages handed to channels and not yet posted.
    outstanding: AtomicU64,
    /// Told after every post.
    progress: Notify,
    /// Alerts and resolutions that found the queue full.
    overflow: Mutex<dispatch::Overflow>,
    /// Told when something overflowed.
    wake: Notify,
    /// How many calls found the queue full.
    overflowed: AtomicU64,
}

impl Delivery {
    fn figures(&self) -> MutexGuard<'_, Vec<ChannelFigures>> {
        self.figures.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn overflow(&self) -> MutexGuard<'_, dispatch::Overflow> {
        self.overflow.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The setup of channel `c`, its variables read through `env`.
fn setup(c: &ChannelConfig, env: &dyn Fn(&str) -> Result<String, String>) -> ChannelSetup {
    let secret = c.secret_env.as_deref().map(env).transpose();
    let url = match (secret.as_ref(), env(&c.url_env)) {
        // A secret named but not set: no post at all rather than an unsigned one.
        (Err(why), _) => Err(why.clone()),
        (Ok(_), url) => url,
    };
    ChannelSetup {
        name: c.name.clone(),
        kind: c.kind,
        url,
        secret: secret.ok().flatten(),
        repeat: Duration::from_secs(c.repeat_minutes.saturating_mul(60)),
        limits: limits::defaults(c.kind),
    }
}

/// Sends alerts to the runbook's chat robots; cloning it is cheap, and no call blocks.
#[derive(Clone)]
pub struct Alerter {
    inner: Option<(mpsc::Sender<dispatch::Command>, Arc<Delivery>)>,
}

impl Alerter {
    /// Starts the delivery tasks on the current tokio runtime for `cfg`'s channels, reading
    /// each channel's URL and secret from the environment now. A variable not set makes its
    /// channel fail every post, saying which variable (resolve refuses that earlier). No
    /// channel, or no runtime: alerts are off.
    pub fn start(cfg: &AlertsConfig, run_name: &str) -> Alerter {
        let env = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
        let setups = cfg.channels.iter().map(|c| setup(c, &env)).collect();
        Self::start_with(setups, run_name, QUEUE)
    }

    /// Starts the delivery tasks for `channels` as given, with a queue of `queue` alerts (the
    /// tests use it for local robots, small limits and a small queue).
    pub fn start_with(channels: Vec<ChannelSetup>, run_name: &str, queue: usize) -> Alerter {
        if channels.is_empty() {
            return Alerter::disabled();
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("alerts are off: no tokio runtime to deliver them on");
            return Alerter::disabled();
        };
        let (tx, rx) = mpsc::channel(queue.max(1));
        let delivery = Arc::new(Delivery {
            figures: Mutex::new(
                channels
                    .iter()
                    .map(|c| ChannelFigures {
                        name: c.name.clone(),
                        kind: c.kind,
                        sent: 0,
                        failed: 0,
                        folded: 0,
                        last_failure: None,
                    })
                    .collect(),
            ),
            outstanding: AtomicU64::new(0),
            progress: Notify::new(),
            overflow: Mutex::new(dispatch::Overflow::default()),
            wake: Notify::new(),
            overflowed: AtomicU64::new(0),
        });
        dispatch::spawn(&runtime, channels, run_name, rx, Arc::clone(&delivery));
        Alerter {
            inner: Some((tx, delivery)),
        }
    }

    /// An alerter that sends nothing.
    pub fn disabled() -> Alerter {
        Alerter { inner: None }
    }

    /// `alert` holds: sent if new, re-sent every `repeat_minutes` while it holds. Never blocks:
    /// when the queue is full the alert folds into the next digest and is counted.
    pub fn fire(&self, alert: Alert) {
        if let Some((tx, delivery)) = &self.inner {
            if let Err(e) = tx.try_send(dispatch::Command::Fire(alert)) {
                if let dispatch::Command::Fire(alert) = e.into_inner() {
                    delivery.overflow().fire(alert);
                }
                delivery.overflowed.fetch_add(1, Ordering::SeqCst);
                delivery.wake.notify_one();
            }
        }
    }

    /// `key` no longer holds: a resolved message once, if it was firing. Never blocks.
    pub fn resolve(&self, key: &str) {
        if let Some((tx, delivery)) = &self.inner {
            if tx
                .try_send(dispatch::Command::Resolve(key.to_string()))
                .is_err()
            {
                delivery.overflow().resolve(key);
                delivery.overflowed.fetch_add(1, Ordering::SeqCst);
                delivery.wake.notify_one();
            }
        }
    }

    /// Per channel: its name, kind, posts sent and failed, messages folded, the last failure.
    pub fn deliveries(&self) -> Vec<ChannelFigures> {
        match &self.inner {
            Some((_, delivery)) => delivery.figures().clone(),
            None => Vec::new(),
        }
    }

    /// How many `fire`/`resolve` calls found the queue full (each went into a digest).
    pub fn overflowed(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |(_, d)| d.overflowed.load(Ordering::SeqCst))
    }

    /// Waits, at most `within`, until everything fired or resolved so far has been posted (or
    /// failed): best effort at the end of a run.
    pub async fn flush(&self, within: Duration) {
        let Some((tx, delivery)) = &self.inner else {
            return;
        };
        let _ = tokio::time::timeout(within, async {
            let (done, handed) = oneshot::channel();
            if tx.send(dispatch::Command::Flush(done)).await.is_err() {
                return;
            }
            let _ = handed.await;
            loop {
                let progress = delivery.progress.notified();
                tokio::pin!(progress);
                progress.as_mut().enable();
                if delivery.outstanding.load(Ordering::SeqCst) == 0 {
                    return;
                }
                progress.await;
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(secret_env: Option<&str>) -> ChannelConfig {
        ChannelConfig {
            name: "ops".into(),
            kind: ChannelKind::Dingtalk,
            url_env: "URL".into(),
            secret_env: secret_env.map(str::to_string),
            repeat_minutes: 30,
        }
    }

    #[test]
    fn a_channel_reads_its_variables_and_fails_whole_without_them() {
        let env = |set: &'static [&'static str]| {
            move |n: &str| {
                set.contains(&n)
                    .then(|| format!("value of {n}"))
                    .ok_or_else(|| format!("{n} is not set"))
            }
        };
        let s = setup(&channel(Some("SECRET")), &env(&["URL", "SECRET"]));
        assert_eq!(s.url, Ok("value of URL".into()));
        assert_eq!(s.secret.as_deref(), Some("value of SECRET"));
        assert_eq!(s.repeat, Duration::from_secs(1800));
        assert_eq!(s.limits, limits::defaults(ChannelKind::Dingtalk));
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("value of"),
            "Debug shows no URL or secret: {shown}"
        );
        let s = setup(&channel(Some("SECRET")), &env(&["URL"]));
        assert_eq!(s.url, Err("SECRET is not set".into()));
        let s = setup(&channel(None), &env(&[]));
        assert_eq!(s.url, Err("URL is not set".into()));
    }

    #[tokio::test]
    async fn no_channel_or_disabled_sends_nothing_and_never_blocks() {
        let a = Alerter::start(&AlertsConfig::default(), "r");
        a.fire(Alert {
            key: "k".into(),
            severity: Severity::Info,
            title: String::new(),
            body: String::new(),
        });
        a.resolve("k");
        a.flush(Duration::from_secs(1)).await;
        assert!(a.deliveries().is_empty());
        assert_eq!(Alerter::disabled().overflowed(), 0);
    }
}
