//! The run's side of the control channel: a Unix socket beside the store (`<store>.sock`),
//! readable and writable by this user only (mode 0600, and every connection's peer must be
//! this user), through which `cutover attach` opens a console on the live run. Each connection
//! becomes a [`PeerEvent::Joined`] with the channels its screen goes through, then its terminal
//! events, then [`PeerEvent::Left`].

use super::wire::{receive, send, ToConsole, ToRun};
use crossterm::event::Event;
use ratatui::buffer::Buffer;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::BufReader;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// The control socket of the store at `store`: `<store>.sock`.
pub fn socket_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".sock");
    PathBuf::from(p)
}

/// What reaches an attached console: messages in order, and the latest screen (a slow console
/// skips frames rather than holding the run up).
#[derive(Debug, Clone)]
pub struct PeerOut {
    /// Welcome, a change of role, the end.
    pub(crate) notes: mpsc::UnboundedSender<ToConsole>,
    /// The screen last drawn for it.
    pub(crate) frame: watch::Sender<Option<Buffer>>,
}

impl PeerOut {
    /// Hands over `screen` unless it is the one already handed over.
    pub(crate) fn show(&self, screen: &Buffer) {
        self.frame.send_if_modified(|shown| {
            if shown.as_ref() == Some(screen) {
                return false;
            }
            *shown = Some(screen.clone());
            true
        });
    }
}

/// What happens on the control channel.
#[derive(Debug)]
pub enum PeerEvent {
    /// A console attached, with its terminal's size.
    Joined {
        /// Its number (one per connection).
        id: u64,
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
        /// Where its screen goes.
        out: PeerOut,
    },
    /// A terminal event of console `id`.
    Input {
        /// The console.
        id: u64,
        /// The event.
        event: Event,
    },
    /// Console `id` left (or its connection broke).
    Left {
        /// The console.
        id: u64,
    },
}

/// The listening control channel; dropping it closes it and removes the socket.
pub struct ControlServer {
    path: PathBuf,
    accept: tokio::task::JoinHandle<()>,
    peers: std::sync::Arc<tokio::sync::Mutex<JoinSet<()>>>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.accept.abort();
        // Only the run that made it holds the store's lock, so the file is ours to remove.
        let _ = std::fs::remove_file(&self.path);
    }
}

impl ControlServer {
    /// Listens beside `store` (whose lock the caller holds: a socket already there was left by
    /// a run that died, and is replaced); the consoles' events arrive on the receiver.
    pub fn start(
        store: &Path,
    ) -> std::io::Result<(ControlServer, mpsc::UnboundedReceiver<PeerEvent>)> {
        let path = socket_path(store);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let owner = std::fs::metadata(&path)?.uid();
        let (tx, rx) = mpsc::unbounded_channel();
        let peers = std::sync::Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
        let accept = tokio::spawn(accept_loop(
            listener,
            owner,
            tx,
            std::sync::Arc::clone(&peers),
        ));
        Ok((
            ControlServer {
                path,
                accept,
                peers,
            },
            rx,
        ))
    }

    /// Where it listens.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting, and gives the consoles up to `grace` to receive what was sent to them
    /// (the end of the run) before their connections close.
    pub(crate) async fn close(self, grace: Duration) {
        self.accept.abort();
        let mut peers = self.peers.lock().await;
        let _ =
            tokio::time::timeout(grace, async { while peers.join_next().await.is_some() {} }).await;
        peers.abort_all();
    }
}

async fn accept_loop(
    listener: UnixListener,
    owner: u32,
    tx: mpsc::UnboundedSender<PeerEvent>,
    peers: std::sync::Arc<tokio::sync::Mutex<JoinSet<()>>>,
) {
    let mut next_id = 0u64;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(%e, "the control channel cannot accept a console");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let uid = stream.peer_cred().map(|c| c.uid()).ok();
        if uid != Some(owner) {
            tracing::warn!(
                ?uid,
                "the control channel refused a console of another user"
            );
            continue;
        }
        next_id += 1;
        peers.lock().await.spawn(serve(stream, next_id, tx.clone()));
    }
}

/// One console: its hello, then its events in and its screens out, until either side leaves.
async fn serve(stream: UnixStream, id: u64, tx: mpsc::UnboundedSender<PeerEvent>) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    let Ok(Some(ToRun::Hello { cols, rows })) = receive::<_, ToRun>(&mut r, &mut buf).await else {
        tracing::warn!(id, "a console attached without saying hello; closed");
        return;
    };
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let (frame_tx, mut frame) = watch::channel(None);
    let out = PeerOut {
        notes: notes_tx,
        frame: frame_tx,
    };
    if tx
        .send(PeerEvent::Joined {
            id,
            cols,
            rows,
            out,
        })
        .is_err()
    {
        return;
    }
    tracing::info!(id, cols, rows, "a console attached");
    let writer = async {
        loop {
            // Notes first: the end of the run is sent before the closing of its screens.
            let message = tokio::select! {
                biased;
                note = notes.recv() => match note {
                    Some(note) => note,
                    None => return,
                },
                changed = frame.changed() => match changed {
                    Ok(()) => match frame.borrow_and_update().clone() {
                        Some(screen) => ToConsole::Frame(screen),
                        None => continue,
                    },
                    Err(_) => return,
                },
            };
            let last = matches!(message, ToConsole::Ended { .. });
            if send(&mut w, &message).await.is_err() || last {
                return;
            }
        }
    };
    let reader = async {
        loop {
            match receive::<_, ToRun>(&mut r, &mut buf).await {
                Ok(Some(ToRun::Input(event))) => {
                    if tx.send(PeerEvent::Input { id, event }).is_err() {
                        return;
                    }
                }
                Ok(Some(ToRun::Hello { .. })) => {}
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(id, %e, "a console's connection broke");
                    return;
                }
            }
        }
    };
    tokio::select! {
        () = writer => {}
        () = reader => {}
    }
    tracing::info!(id, "a console left");
    let _ = tx.send(PeerEvent::Left { id });
}
