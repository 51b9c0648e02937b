//! `cutover-bench sync`: the two-way sync relay under steady load, everything in-process on
//! 127.0.0.1 — the simulator at its default limits (which it enforces), the relay with a
//! webhook sink, and a counting webhook standing in for the old system.
//!
//! For `--seconds`, at once: old → new, a paced generator POSTs batches of `c2c_message` and
//! `group_message` events to the relay's `/sync/events` every 100 ms; new → old, another POSTs
//! signed `C2C.CallbackAfterSendMsg` / `Group.CallbackAfterSendMsg` callbacks straight to the
//! relay's callback URL (standing in for Tencent, whose own `sendmsg` the simulator would cap
//! at 200/s). Then it waits until nothing is pending either way and prints, per direction,
//! what was sent, acknowledged and applied or delivered, what was lost (acknowledged, yet not
//! in the simulator or not at the webhook), the lag, the rates, the simulator's rate-limit
//! answers and the process's CPU time. Any loss is an error.

use anyhow::Context;
use cutover::config::{parse_file, resolve, C2cMode, Flags};
use cutover::model::sync_event::{Direction, EventKind, SyncEvent};
use cutover::sim::SimHandle;
use cutover::store::open_for_reading;
use cutover::store::sync::{applied_lags, percentile, DirectionCounts};
use cutover::store::sync_queue::{failed_events, scope_waiting, FailedEvent};
use cutover::sync::convert::{request_for, Call};
use cutover::sync::relay::{self, RelayHandle, CALLBACK_TOKEN_ENV, INGEST_TOKEN_ENV};
use cutover::tim::callback::sign;
use cutover::tim::paced::{call_paced, Policy};
use cutover::tim::wire::account::MultiaccountImport;
use cutover::tim::wire::group::CreateGroup;
use cutover::tim::{ClientConfig, SecretKey, Target, TimClient};
use cutover::timefmt::now_secs;
use reqwest::Client;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

mod print;
mod run;
use run::{Scenario, POISON_PER_SEC};

/// Settings of `cutover-bench sync`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SyncBench {
    /// Seconds both generators run.
    #[arg(long, default_value_t = 60.0)]
    pub(crate) seconds: f64,
    /// Old → new one-to-one messages per second (ingested, applied with importmsg).
    #[arg(long, default_value_t = 150)]
    pub(crate) c2c_per_sec: u32,
    /// Old → new group messages per second (ingested, applied with send_group_msg).
    #[arg(long, default_value_t = 150)]
    pub(crate) group_per_sec: u32,
    /// New → old callbacks per second (half C2C, half group), delivered to the webhook.
    #[arg(long, default_value_t = 500)]
    pub(crate) callbacks_per_sec: u32,
    /// Then the same load under faults (a poison group, 1 % HTTP 502 from the target, the
    /// webhook down 30 s in the middle), its other scopes' lag compared with the clean run.
    #[arg(long)]
    pub(crate) faults: bool,
}

const KEY: &str = "bench-key-0123456789abcdef";
const SDKAPPID: u64 = 1_400_000_000;
const CALLBACK_TOKEN: &str = "bench-callback-token";
const INGEST_TOKEN: &str = "bench-ingest-token";
/// Sets the scene up; not the relay.
const SETUP_ADMIN: &str = "administrator";
/// The relay's own admin (in the simulator's admins list too).
const RELAY_ADMIN: &str = "cutover_sync";
const ACCOUNTS: usize = 1000;
const MEMBERS: usize = 20;
/// The generators' beat.
const TICK: Duration = Duration::from_millis(100);
/// A group gets at most this share of the simulator's per-group message limit (1/10).
const GROUP_SHARE: u32 = 10;
/// Callback group messages are numbered from here, far above any sequence the groups reach.
const CALLBACK_SEQ_BASE: u64 = 10_000_000;
/// Events lost or failed that are listed by id.
const LISTED: usize = 5;

/// One direction's generator figures.
#[derive(Default)]
struct Figures {
    /// Events sent.
    sent: u64,
    /// Events acknowledged (HTTP 200).
    acked: u64,
    /// Events not acknowledged (another status, or no answer), and the last reason.
    refused: (u64, String),
    /// Old → new: the events acknowledged.
    events: Vec<SyncEvent>,
    /// New → old: the `event_id`s of the callbacks acknowledged.
    ids: HashSet<String>,
}

type Flow = Arc<Mutex<Figures>>;
/// Both directions' counts: old → new, new → old.
type Counts = [DirectionCounts; 2];

/// Updates `flow` (a poisoned lock only means a generator task panicked: its figures stay).
fn note(flow: &Flow, f: impl FnOnce(&mut Figures)) {
    if let Ok(mut figures) = flow.lock() {
        f(&mut figures);
    }
}

/// splitmix64: the generators' choices, reproducible run to run.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn account(i: usize) -> String {
    format!("bench_u{i:04}")
}

fn group(i: usize) -> String {
    format!("bench_g{i:03}")
}

/// Member `k` of group `g` (member 0 owns it).
fn member(g: usize, k: usize) -> String {
    account((g * MEMBERS + k) % ACCOUNTS)
}

/// `n` modulo `m`, as an index (`m` is a small count).
fn pick(n: u64, m: usize) -> usize {
    (n % m as u64) as usize
}

/// How many of `rate` per second are due by the end of tick `k`.
fn due(rate: u32, k: u64) -> u64 {
    u64::from(rate) * k / 10
}

/// Old → new one-to-one message `n`, between two different accounts.
fn c2c_event(n: u64, at: i64) -> SyncEvent {
    let h = mix(n);
    let from = pick(h, ACCOUNTS);
    let to = (from + 1 + pick(h >> 32, ACCOUNTS - 1)) % ACCOUNTS;
    SyncEvent {
        event_id: format!("bench-c2c-{n}"),
        kind: EventKind::C2cMessage,
        at,
        record: json!({"id": format!("bench-m{n}"), "from": account(from), "to": account(to),
            "sent_at": at, "body": [{"type": "text", "text": format!("c2c message {n}")}]}),
    }
}

/// Old → new group message `n`, round-robin over the groups, from one of the group's members.
fn group_event(n: u64, at: i64, groups: usize) -> SyncEvent {
    let g = pick(n, groups);
    SyncEvent {
        event_id: format!("bench-gmsg-{n}"),
        kind: EventKind::GroupMessage,
        at,
        record: json!({"id": format!("bench-gm{n}"), "group": group(g),
            "from": member(g, pick(mix(n), MEMBERS)), "sent_at": at,
            "body": [{"type": "text", "text": format!("group message {n}")}]}),
    }
}

/// New → old callback `n` (even: C2C, odd: group): its command, body and the `event_id` the
/// relay gives it (`tim-c2c-{MsgKey}`, `tim-gmsg-{GroupId}-{MsgSeq}`).
fn callback(n: u64, groups: usize) -> (&'static str, Value, String) {
    let (now, h) = (now_secs(), mix(n ^ 0x5eed));
    let body = json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": format!("callback {n}")}}]);
    let event_ms = now * 1000;
    if n.is_multiple_of(2) {
        let from = pick(h, ACCOUNTS);
        let to = (from + 1 + pick(h >> 32, ACCOUNTS - 1)) % ACCOUNTS;
        let (seq, random) = (n / 2, h as u32);
        let key = format!("{seq}_{random}_{now}");
        let value = json!({"CallbackCommand": "C2C.CallbackAfterSendMsg",
            "From_Account": account(from), "To_Account": account(to), "MsgSeq": seq,
            "MsgRandom": random, "MsgTime": now, "MsgKey": key, "OnlineOnlyFlag": 0,
            "SendMsgResult": 0, "ErrorInfo": "send msg succeed", "UnreadMsgNum": 1,
            "MsgBody": body, "EventTime": event_ms});
        ("C2C.CallbackAfterSendMsg", value, format!("tim-c2c-{key}"))
    } else {
        let g = pick(n / 2, groups);
        let (gid, from) = (group(g), member(g, pick(h, MEMBERS)));
        let seq = CALLBACK_SEQ_BASE + n / 2;
        let value = json!({"CallbackCommand": "Group.CallbackAfterSendMsg", "GroupId": gid,
            "Type": "Public", "From_Account": from, "Operator_Account": from,
            "Random": h as u32, "MsgSeq": seq, "MsgTime": now, "OnlineOnlyFlag": 0,
            "MsgBody": body, "EventTime": event_ms});
        let id = format!("tim-gmsg-{gid}-{seq}");
        ("Group.CallbackAfterSendMsg", value, id)
    }
}

fn cpu_secs() -> Option<f64> {
    // utime and stime, fields 14 and 15 of /proc/self/stat, in USER_HZ (100 on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let mut fields = after.split_whitespace().skip(11);
    let (utime, stime): (f64, f64) = (fields.next()?.parse().ok()?, fields.next()?.parse().ok()?);
    Some((utime + stime) / 100.0)
}

/// Runs the benchmark and prints its figures; an error when an acknowledged event was lost.
pub(crate) fn run_sync_bench(b: &SyncBench, out: &mut dyn Write) -> anyhow::Result<()> {
    // Before any thread of the runtime exists: the relay reads them when it starts.
    std::env::set_var(CALLBACK_TOKEN_ENV, CALLBACK_TOKEN);
    std::env::set_var(INGEST_TOKEN_ENV, INGEST_TOKEN);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run::drive(b, out))
}

/// Old-system events the webhook received: `event_id` → times.
type Received = Arc<Mutex<HashMap<String, u32>>>;

/// The old system's webhook: counts every event by `event_id`, answers 200 (503 while
/// `down` is set).
async fn webhook(down: Arc<AtomicBool>) -> anyhow::Result<(String, Received)> {
    let got: Received = Arc::default();
    let seen = Arc::clone(&got);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (seen, down) = (Arc::clone(&seen), Arc::clone(&down));
            async move {
                if down.load(Ordering::Relaxed) {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let id = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v["event_id"].as_str().map(str::to_owned));
                match (id, seen.lock()) {
                    (Some(id), Ok(mut seen)) => {
                        *seen.entry(id).or_default() += 1;
                        axum::http::StatusCode::OK
                    }
                    _ => axum::http::StatusCode::BAD_REQUEST,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the bench webhook stopped");
        }
    });
    Ok((url, got))
}

/// Accounts, and groups with members, written through the REST API as `SETUP_ADMIN` (each
/// call retried: the simulator may be injecting faults).
async fn setup(handle: &SimHandle, groups: usize) -> anyhow::Result<()> {
    let target = Target::parse(&handle.url())?;
    let cfg = ClientConfig::new(target, SDKAPPID, SETUP_ADMIN, SecretKey::new(KEY));
    let client = TimClient::new(cfg)?;
    let (_running, halt) = tokio::sync::watch::channel(false);
    for first in (0..ACCOUNTS).step_by(100) {
        let list: Vec<Value> = (first..ACCOUNTS.min(first + 100))
            .map(|i| json!({"UserID": account(i)}))
            .collect();
        let req: MultiaccountImport = serde_json::from_value(json!({"AccountList": list}))?;
        let failed = call_paced(None, &Policy::READS, &halt, || client.call(&req))
            .await?
            .FailAccounts;
        anyhow::ensure!(failed.is_empty(), "accounts not imported: {failed:?}");
    }
    for g in 0..groups {
        let members: Vec<Value> = (1..MEMBERS)
            .map(|k| json!({"Member_Account": member(g, k)}))
            .collect();
        let req: CreateGroup = serde_json::from_value(json!({"Owner_Account": member(g, 0),
            "Type": "Public", "GroupId": group(g), "Name": format!("Bench group {g}"),
            "MemberList": members}))?;
        call_paced(None, &Policy::READS, &halt, || client.call(&req)).await?;
    }
    Ok(())
}

/// Generator pacing: calls `send(k)` at the start of each tick `k` (1-based) for `seconds`,
/// then waits out the last tick and every request still in flight. Returns the seconds taken.
async fn paced(seconds: f64, mut send: impl FnMut(u64, &mut JoinSet<()>)) -> f64 {
    let started = Instant::now();
    let ticks = (seconds * 10.0).round().max(1.0) as u64;
    let mut beat = tokio::time::interval(TICK);
    let mut inflight = JoinSet::new();
    for k in 1..=ticks {
        beat.tick().await;
        send(k, &mut inflight);
        while inflight.try_join_next().is_some() {}
    }
    beat.tick().await;
    while inflight.join_next().await.is_some() {}
    started.elapsed().as_secs_f64()
}

/// POSTs `body` as JSON (with the ingest token when `bearer`): 200, or why not.
async fn post(http: &Client, url: &str, body: Vec<u8>, bearer: bool) -> Result<(), String> {
    let mut req = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if bearer {
        req = req.bearer_auth(INGEST_TOKEN);
    }
    match req.body(body).timeout(Duration::from_secs(30)).send().await {
        Ok(r) if r.status() == reqwest::StatusCode::OK => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status())),
        Err(e) => Err(e.to_string()),
    }
}

/// Old → new: every tick one POST to `/sync/events` with the events due (and, with a poison
/// group, its messages).
async fn ingest_load(
    b: &SyncBench,
    url: String,
    groups: usize,
    scen: &Scenario,
    flow: Flow,
) -> f64 {
    let http = Client::new();
    let (mut c2c, mut gmsg, mut poison) = (0, 0, 0);
    paced(b.seconds, |k, inflight| {
        let (at, c2c_to, gmsg_to) = (now_secs(), due(b.c2c_per_sec, k), due(b.group_per_sec, k));
        let mut events: Vec<SyncEvent> = (c2c..c2c_to).map(|n| c2c_event(n, at)).collect();
        events.extend((gmsg..gmsg_to).map(|n| group_event(n, at, groups)));
        if let Some(g) = scen.poison {
            let poison_to = due(POISON_PER_SEC, k);
            events.extend((poison..poison_to).map(|n| run::poison_event(n, at, g)));
            poison = poison_to;
        }
        (c2c, gmsg) = (c2c_to, gmsg_to);
        let n = events.len() as u64;
        note(&flow, |f| f.sent += n);
        let (http, url, flow) = (http.clone(), url.clone(), Arc::clone(&flow));
        inflight.spawn(async move {
            let body = serde_json::to_vec(&events).unwrap_or_default(); // JSON values only
            match post(&http, &url, body, true).await {
                Ok(()) => note(&flow, |f| {
                    f.acked += n;
                    f.events.extend(events);
                }),
                Err(why) => note(&flow, |f| f.refused = (f.refused.0 + n, why)),
            }
        });
    })
    .await
}

/// New → old: every tick the callbacks due, each its own signed POST, as Tencent sends them.
async fn callback_load(b: &SyncBench, base: String, groups: usize, flow: Flow) -> f64 {
    let http = Client::new();
    let mut sent = 0;
    paced(b.seconds, |k, inflight| {
        let upto = due(b.callbacks_per_sec, k);
        for n in sent..upto {
            let (command, body, id) = callback(n, groups);
            let now = now_secs().max(0) as u64;
            let url = format!("{base}?SdkAppid={SDKAPPID}&CallbackCommand={command}&contenttype=json&ClientIP=127.0.0.1&OptPlatform=Android&Sign={}&RequestTime={now}",
                sign(CALLBACK_TOKEN, now));
            let (http, flow) = (http.clone(), Arc::clone(&flow));
            inflight.spawn(async move {
                match post(&http, &url, body.to_string().into_bytes(), false).await {
                    Ok(()) => note(&flow, |f| {
                        f.acked += 1;
                        f.ids.insert(id);
                    }),
                    Err(why) => note(&flow, |f| f.refused = (f.refused.0 + 1, why)),
                }
            });
        }
        note(&flow, |f| f.sent += upto - sent);
        sent = upto;
    })
    .await
}

/// Of the acknowledged old → new events, those the simulator does not hold: each event's
/// request (the relay's own conversion) looked up among the simulator's messages.
fn missing_in_sim(handle: &SimHandle, acked: &[SyncEvent]) -> Vec<String> {
    // Keys: `c2c|from|to|time|seq|random` and `group|group id|from|random`.
    let held: HashSet<String> = handle.sim().with_state(|st| {
        let id = |idx| st.account_id(idx);
        let c2c = st.conversations.values().flat_map(|c| &c.msgs).map(|m| {
            let (from, to) = (id(m.from), id(m.to));
            format!("c2c|{from}|{to}|{}|{}|{}", m.time, m.seq, m.random)
        });
        let groups = st.groups.values().flat_map(|g| {
            let gid = &g.id;
            g.msgs
                .iter()
                .map(move |m| format!("group|{gid}|{}|{}", id(m.from), m.random))
        });
        c2c.chain(groups).collect()
    });
    // The bench's runbook says `c2c_mode = "importmsg"` (see `start_relay`).
    let key = |e: &SyncEvent| match request_for(e, C2cMode::Importmsg).ok()?.pop()? {
        Call::ImportMsg(r) => Some(format!(
            "c2c|{}|{}|{}|{}|{}",
            r.From_Account, r.To_Account, r.MsgTimeStamp, r.MsgSeq?, r.MsgRandom
        )),
        Call::SendGroupMsg(r) => Some(format!(
            "group|{}|{}|{}",
            r.GroupId, r.From_Account?, r.Random
        )),
        _ => None,
    };
    acked
        .iter()
        .filter(|e| key(e).is_none_or(|k| !held.contains(&k)))
        .map(|e| e.event_id.clone())
        .collect()
}

/// Receive-to-done lag of every applied event of `direction`: `p50/p99/max` (ms).
fn whole_run_lag(store: &Path, direction: Direction) -> anyhow::Result<String> {
    let conn = open_for_reading(store)?;
    let mut lags = applied_lags(&conn, direction)?;
    lags.sort_unstable();
    let (p50, p99) = (percentile(&lags, 0.5), percentile(&lags, 0.99));
    Ok(format!(
        "{}/{}/{}",
        num(p50),
        num(p99),
        num(lags.last().copied())
    ))
}

fn num(v: Option<i64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

/// Waits until neither direction has anything pending (outside the poison scope), up to
/// `limit`; the counts at the end and whether it drained.
async fn drain(
    relay: &RelayHandle,
    limit: Duration,
    poison: Option<&str>,
) -> anyhow::Result<(Counts, bool)> {
    let deadline = Instant::now() + limit;
    loop {
        let c = relay.counts()?;
        let stuck = match poison {
            Some(scope) => {
                let conn = open_for_reading(&relay.store)?;
                scope_waiting(&conn, Direction::OldToNew, scope)?.0
            }
            None => 0,
        };
        if c[0].pending <= stuck && c[1].pending == 0 {
            return Ok((c, true));
        }
        if Instant::now() >= deadline {
            return Ok((c, false));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The relay on `store`, its `[sync]` section the defaults but for the webhook sink, the
/// `importmsg` mode (spelled out: [`missing_in_sim`] relies on it) and its own admin; started
/// and healthy. Returns it and its reconciliation interval.
async fn start_relay(
    handle: &SimHandle,
    hook: &str,
    store: &Path,
) -> anyhow::Result<(RelayHandle, u64)> {
    cutover::store::open_for_writing(store)?;
    let toml = format!("[sync]\nlisten = \"127.0.0.1:0\"\nold_webhook = \"{hook}\"\nc2c_mode = \"importmsg\"\nrelay_admin = \"{RELAY_ADMIN}\"\n");
    let file = parse_file(&toml, "bench").map_err(anyhow::Error::msg)?;
    let flags = Flags {
        source: store.parent().map(|d| d.join("export")), // never read: nothing is imported
        store: Some(store.to_path_buf()),
        target_url: Some(handle.url()),
        sdkappid: Some(SDKAPPID),
        admin: Some(SETUP_ADMIN.into()),
    };
    let rb = resolve(&file, &flags, Some(SecretKey::new(KEY)))
        .map_err(|p| anyhow::anyhow!(p.join("; ")))?;
    let cfg = rb
        .sync
        .clone()
        .context("the bench runbook has a [sync] section")?;
    let relay = relay::start(&rb, &cfg).await?;
    relay.health(&cfg).await.map_err(anyhow::Error::msg)?;
    Ok((relay, cfg.reconcile_secs))
}

/// What one measured run gave: the generators' figures and times, and the relay's counts,
/// lags and failures once it drained (or the limit passed).
struct Measured {
    old: Figures,
    new: Figures,
    /// Seconds each generator ran: old → new, new → old.
    secs: [f64; 2],
    /// Seconds until both generators stopped.
    generated: f64,
    /// Seconds until the relay drained (or the limit passed).
    total: f64,
    cpu: Option<f64>,
    counts: Counts,
    drained: bool,
    limit: Duration,
    failures: Vec<FailedEvent>,
    lags: [String; 2],
}

/// Runs both generators for `--seconds` at once, waits for the relay to drain, reads its
/// failures and lags from the store, and stops it.
async fn measure(
    b: &SyncBench,
    relay: RelayHandle,
    store: &Path,
    groups: usize,
    scen: &Scenario,
) -> anyhow::Result<Measured> {
    let (old_flow, new_flow) = (Flow::default(), Flow::default());
    let cpu0 = cpu_secs();
    let started = Instant::now();
    let ingest_url = format!("http://{}/sync/events", relay.addr);
    let callback_url = format!("http://{}{}", relay.addr, relay.callback_path);
    let (old_secs, new_secs) = tokio::join!(
        ingest_load(b, ingest_url, groups, scen, Arc::clone(&old_flow)),
        callback_load(b, callback_url, groups, Arc::clone(&new_flow)),
    );
    let (generated, secs) = (started.elapsed().as_secs_f64(), [old_secs, new_secs]);
    let limit = Duration::from_secs_f64(b.seconds.max(60.0));
    let poison_scope = scen.poison.map(|g| format!("group:{}", group(g)));
    let (counts, drained) = drain(&relay, limit, poison_scope.as_deref()).await?;
    let total = started.elapsed().as_secs_f64();
    let cpu = cpu_secs().zip(cpu0).map(|(a, b)| a - b);
    let failures = failed_events(&open_for_reading(store)?, LISTED)?;
    let lags = [
        whole_run_lag(store, Direction::OldToNew)?,
        whole_run_lag(store, Direction::NewToOld)?,
    ];
    relay.stop().await?;
    let take = |flow: &Flow| {
        flow.lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    };
    Ok(Measured {
        old: take(&old_flow),
        new: take(&new_flow),
        secs,
        generated,
        total,
        cpu,
        counts,
        drained,
        limit,
        failures,
        lags,
    })
}
