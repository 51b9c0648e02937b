//! Shared by the integration tests: a simulator on a loopback port and a client for it.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a test failure

pub mod engine;

use cutover::sim::config::SimConfig;
use cutover::sim::{start, SimHandle, SimOptions};
use cutover::tim::{ClientConfig, SecretKey, Target, TimClient};
use std::time::Duration;

/// The app of every test.
pub const SDKAPPID: u64 = 1400000000;
/// Its admin.
pub const ADMIN: &str = "administrator";
/// Its key.
pub const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

/// Starts a simulator with `config` on 127.0.0.1:0.
pub async fn sim(config: SimConfig) -> SimHandle {
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
pub fn client_as(handle: &SimHandle, admin: &str, timeout: Duration) -> TimClient {
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
pub fn client(handle: &SimHandle) -> TimClient {
    client_as(handle, ADMIN, Duration::from_secs(10))
}

/// What `cutover status --store STORE` prints (text).
pub fn status_text(store: &std::path::Path) -> String {
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
