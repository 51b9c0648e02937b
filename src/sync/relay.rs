//! The relay: the receiver, the outbox (new → old), the applier (old → new), the file
//! follower and reconciliation, started together on one store and stopped together.

use super::journal::{Journal, JournalThread};
use super::server::{router, Refusals, ServerState};
use super::{apply, outbox, reconcile, SyncError};
use crate::config::{OldSink, Runbook, SyncConfig};
use crate::model::group_id::target_group_id;
use crate::model::Group;
use crate::store::records::Sources;
use crate::store::sync::DirectionCounts;
use crate::store::{open_for_reading, queries, Kind};
use crate::tim::client::{ClientConfig, TimClient};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub use crate::tim::callback::CALLBACK_TOKEN_ENV;
/// The environment variable holding the ingest bearer token.
pub const INGEST_TOKEN_ENV: &str = "CUTOVER_INGEST_TOKEN";

fn env_token(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|t| !t.trim().is_empty())
}

/// A running relay.
pub struct RelayHandle {
    /// Where the receiver listens.
    pub addr: SocketAddr,
    /// The callback path.
    pub callback_path: String,
    /// The store.
    pub store: PathBuf,
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<Result<(), SyncError>>)>,
    server: JoinHandle<()>,
    journal: Option<(Journal, JournalThread)>,
}

/// Tencent GroupId → old group id, for every group staged in the store.
fn old_group_ids(store: &Path) -> Result<HashMap<String, String>, SyncError> {
    let conn = open_for_reading(store)?;
    let sources = Sources::open(queries::read_paths(&conn)?).map_err(SyncError::Records)?;
    let mut map = HashMap::new();
    for item in queries::all_items(&conn, Kind::Group)? {
        if let Ok(g) = sources.read::<Group>(Kind::Group, &item) {
            map.insert(target_group_id(&g.id, g.kind).into_owned(), g.id);
        }
    }
    Ok(map)
}

/// Both directions' figures, as committed in the store at `store` (also after the relay
/// stopped).
pub(crate) fn counts(store: &Path) -> Result<[DirectionCounts; 2], SyncError> {
    Ok(crate::store::sync::both(&open_for_reading(store)?)?)
}

/// Starts the relay of `rb`'s `[sync]` section on its store.
pub async fn start(rb: &Runbook, cfg: &SyncConfig) -> Result<RelayHandle, SyncError> {
    let store = rb.store.clone();
    let (journal, thread) = Journal::open(&store)?;
    let client = Arc::new(TimClient::new(ClientConfig::new(
        rb.target.clone(),
        rb.sdkappid,
        &cfg.relay_admin,
        rb.key.clone(),
    ))?);
    let callback_token = env_token(CALLBACK_TOKEN_ENV);
    let ingest_token = env_token(INGEST_TOKEN_ENV);
    let groups = Arc::new(Mutex::new(old_group_ids(&store).unwrap_or_default()));
    let (outbox_wake, apply_wake) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let state = Arc::new(ServerState {
        journal: journal.clone(),
        auth: callback_token.map(|token| super::callback::CallbackAuth {
            sdkappid: rb.sdkappid,
            token,
            max_skew_secs: cfg.max_clock_skew_secs,
        }),
        ingest_token,
        relay_admin: cfg.relay_admin.clone(),
        old_group_ids: Arc::clone(&groups),
        reader: Mutex::new(open_for_reading(&store)?),
        locator: Mutex::new(super::locate::Locator::new(store.clone())),
        outbox: Arc::clone(&outbox_wake),
        apply: Arc::clone(&apply_wake),
        refusals: Refusals::default(),
    });
    let listen = |error| SyncError::Listen {
        addr: cfg.listen,
        error,
    };
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(listen)?;
    let addr = listener.local_addr().map_err(listen)?;
    let (stop_tx, stop) = watch::channel(false);
    let server = serve(listener, router(state, &cfg.callback_path), stop.clone());
    let tasks = spawn_workers(
        rb,
        cfg,
        &journal,
        client,
        groups,
        stop,
        (outbox_wake, apply_wake),
    );
    tracing::info!(%addr, "sync relay started");
    Ok(RelayHandle {
        addr,
        callback_path: cfg.callback_path.clone(),
        store,
        stop: stop_tx,
        tasks,
        server,
        journal: Some((journal, thread)),
    })
}

/// The receiver: serves `app` on `listener` until `stop` turns true.
fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "the sync receiver stopped");
        }
    })
}

/// The relay's workers, by name: the outbox and the applier always, the file follower when
/// `[sync]` names an ingest file, and reconciliation unless it is off. `wakes` are the
/// outbox's and the applier's, which the receiver rings when it has kept something.
fn spawn_workers(
    rb: &Runbook,
    cfg: &SyncConfig,
    journal: &Journal,
    client: Arc<TimClient>,
    groups: Arc<Mutex<HashMap<String, String>>>,
    stop: watch::Receiver<bool>,
    (outbox_wake, apply_wake): (Arc<Notify>, Arc<Notify>),
) -> Vec<(&'static str, JoinHandle<Result<(), SyncError>>)> {
    let store = &rb.store;
    let rates: HashMap<_, _> = rb.rates.iter().map(|(a, r)| (*a, *r)).collect();
    let mut tasks: Vec<(&'static str, JoinHandle<Result<(), SyncError>>)> = vec![
        (
            "outbox",
            tokio::spawn(outbox::run(
                store.clone(),
                journal.clone(),
                cfg.sink.clone(),
                super::retry::RetryPolicy::of(cfg),
                stop.clone(),
                Some(Arc::clone(&outbox_wake)),
            )),
        ),
        (
            "apply",
            tokio::spawn(apply::run(
                store.clone(),
                journal.clone(),
                Arc::clone(&client),
                cfg.clone(),
                rates.clone(),
                stop.clone(),
                Some(apply_wake),
            )),
        ),
    ];
    if let Some(file) = &cfg.ingest_file {
        tasks.push((
            "ingest file",
            tokio::spawn(super::follow::follow_file(
                file.clone(),
                journal.clone(),
                store.clone(),
                stop.clone(),
            )),
        ));
    }
    if cfg.reconcile_secs > 0 {
        tasks.push((
            "reconcile",
            tokio::spawn(reconcile::run(reconcile::Reconcile {
                store: store.clone(),
                journal: journal.clone(),
                client,
                rates,
                groups,
                every: std::time::Duration::from_secs(cfg.reconcile_secs),
                stop,
                wake: outbox_wake,
            })),
        ));
    }
    tasks
}

impl RelayHandle {
    /// Both directions' figures, as committed.
    pub fn counts(&self) -> Result<[DirectionCounts; 2], SyncError> {
        counts(&self.store)
    }

    /// A part that ended while it should be running, with why.
    pub(crate) fn broken(&self) -> Option<String> {
        self.tasks
            .iter()
            .find(|(_, t)| t.is_finished())
            .map(|(name, _)| format!("the sync {name} stopped (see the log)"))
    }

    /// Checks the relay from outside: the receiver answers its health check, the tokens are
    /// set, and the old system's sink is reachable. Says what is wrong.
    pub async fn health(&self, cfg: &SyncConfig) -> Result<String, String> {
        if env_token(CALLBACK_TOKEN_ENV).is_none() {
            return Err(format!(
                "{CALLBACK_TOKEN_ENV} is not set: Tencent's callbacks could not be authenticated, so none would be accepted"
            ));
        }
        if env_token(INGEST_TOKEN_ENV).is_none() && cfg.ingest_file.is_none() {
            return Err(format!(
                "{INGEST_TOKEN_ENV} is not set and no [sync] ingest_file: nothing from the old system could come in"
            ));
        }
        let url = format!("http://{}/health", self.addr);
        let answer = reqwest::Client::new()
            .get(&url)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| format!("the receiver does not answer {url}: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!(
                "the receiver's health check answered {}",
                answer.status()
            ));
        }
        match &cfg.sink {
            OldSink::Webhook(hook) => {
                let reachable = reqwest::Url::parse(hook).ok().and_then(|u| {
                    Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?))
                });
                let Some(hostport) = reachable else {
                    return Err(format!("old_webhook {hook} has no host"));
                };
                tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    tokio::net::TcpStream::connect(&hostport),
                )
                .await
                .map_err(|_| {
                    format!(
                        "the old system's webhook {hostport} does not accept connections (timeout)"
                    )
                })?
                .map_err(|e| {
                    format!("the old system's webhook {hostport} does not accept connections: {e}")
                })?;
            }
            OldSink::Jsonl(path) => {
                crate::private::append(path)
                    .map_err(|e| format!("cannot append to {}: {e}", path.display()))?;
            }
        }
        if let Some(why) = self.broken() {
            return Err(why);
        }
        Ok(format!(
            "receiver on {} (callbacks at {}, ingest at /sync/events); new → old to {}",
            self.addr,
            self.callback_path,
            match &cfg.sink {
                OldSink::Webhook(u) => u.clone(),
                OldSink::Jsonl(p) => p.display().to_string(),
            }
        ))
    }

    /// Stops taking events, lets the parts finish what they hold, and commits everything.
    pub async fn stop(mut self) -> Result<(), SyncError> {
        let _ = self.stop.send(true);
        let _ = (&mut self.server).await;
        for (name, task) in self.tasks.drain(..) {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(part = name, error = %e, "sync part ended with an error")
                }
                Err(e) => tracing::error!(part = name, error = %e, "sync part panicked"),
            }
        }
        if let Some((journal, thread)) = self.journal.take() {
            drop(journal);
            tokio::task::spawn_blocking(move || thread.join()).await?;
        }
        tracing::info!("sync relay stopped");
        Ok(())
    }
}
