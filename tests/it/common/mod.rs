//! Shared by the integration tests: a simulator on a loopback port and a client for it, the
//! rig most tests start from (simulator, temp dir, store path), the one way a test waits for
//! something (polling a positive condition with a generous deadline), a recording webhook, and a
//! recording proxy that can hold an answer back.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a test failure

pub(crate) mod alone;
pub(crate) mod engine;
pub(crate) mod proxy;
pub(crate) mod sync;

use cutover::sim::config::SimConfig;
use cutover::sim::{start, SimHandle, SimOptions};
use cutover::tim::{ClientConfig, SecretKey, Target, TimClient};
use serde_json::Value;
use std::fmt::Debug;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The app of every test.
pub(crate) const SDKAPPID: u64 = 1400000000;
/// Its admin.
pub(crate) const ADMIN: &str = "administrator";
/// Its key.
pub(crate) const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

/// Starts a simulator with `config` on 127.0.0.1:0.
pub(crate) async fn sim(config: SimConfig) -> SimHandle {
    start(SimOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        sdkappid: SDKAPPID,
        admins: vec![ADMIN.into(), "sync_relay".into()],
        key: SecretKey::new(KEY),
        config,
    })
    .await
    .unwrap()
}

/// A client of `handle` as `admin`, with `timeout`.
pub(crate) fn client_as(handle: &SimHandle, admin: &str, timeout: Duration) -> TimClient {
    let mut cfg = ClientConfig::new(
        Target::parse(&handle.url()).unwrap(),
        SDKAPPID,
        admin,
        SecretKey::new(KEY),
    );
    cfg.timeout = timeout;
    TimClient::new(cfg).unwrap()
}

/// A client of `handle` as the admin.
pub(crate) fn client(handle: &SimHandle) -> TimClient {
    client_as(handle, ADMIN, Duration::from_secs(10))
}

/// What `cutover status --store STORE` prints (text).
pub(crate) fn status_text(store: &std::path::Path) -> String {
    let mut out = Vec::new();
    cutover::commands::store_cmds::status(
        &cutover::cli::StatusArgs {
            store: store.to_path_buf(),
            json: false,
        },
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// How long a wait may last before the test fails: generous, for a slow machine shared by
/// several builds. A wait returns as soon as its condition holds, so this costs nothing when
/// things work.
pub(crate) const PATIENCE: Duration = Duration::from_secs(120);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(25);

/// Calls `look` until `done` holds for what it returned, and returns that; after `timeout`,
/// panics naming `what` and the last value seen. Every wait in the tests goes through here.
pub(crate) async fn wait_for_async<V, Fut>(
    what: &str,
    timeout: Duration,
    mut look: impl FnMut() -> Fut,
    done: impl Fn(&V) -> bool,
) -> V
where
    V: Debug,
    Fut: Future<Output = V>,
{
    let start = Instant::now();
    loop {
        let value = look().await;
        if done(&value) {
            return value;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}; last seen: {value:#?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// [`wait_for_async`] with a plain function to look with.
pub(crate) async fn wait_for<V: Debug>(
    what: &str,
    timeout: Duration,
    mut look: impl FnMut() -> V,
    done: impl Fn(&V) -> bool,
) -> V {
    wait_for_async(what, timeout, || std::future::ready(look()), done).await
}

/// Waits until `ok` holds (see [`wait_for_async`]).
pub(crate) async fn wait_until(what: &str, timeout: Duration, ok: impl FnMut() -> bool) {
    wait_for(what, timeout, ok, |held| *held).await;
}

/// A simulator on 127.0.0.1:0 and a temp dir with the path of a store in it (not created).
pub(crate) struct Rig {
    /// The simulator.
    pub handle: SimHandle,
    /// `run.db` in the temp dir.
    pub store: PathBuf,
    /// The temp dir (removed when the rig is dropped).
    pub dir: tempfile::TempDir,
}

impl Rig {
    /// A simulator with `config`, and a fresh temp dir.
    pub(crate) async fn new(config: SimConfig) -> Self {
        let handle = sim(config).await;
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("run.db");
        Self { handle, store, dir }
    }

    /// A client as the admin.
    pub(crate) fn client(&self) -> TimClient {
        client(&self.handle)
    }

    /// `name` in the temp dir.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A free loopback port (for a listener that others must know before it starts).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What a [`webhook`] received, in order.
pub(crate) type Received = Arc<Mutex<Vec<Value>>>;

/// A webhook on a loopback port that records the JSON bodies POSTed to it, answering each
/// after `delay`; its URL and what it received.
pub(crate) async fn webhook(delay: Duration) -> (String, Received) {
    use axum::routing::post;
    let got = Received::default();
    let seen = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::Json<Value>| {
            let seen = Arc::clone(&seen);
            async move {
                tokio::time::sleep(delay).await;
                seen.lock().unwrap().push(body.0);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}
