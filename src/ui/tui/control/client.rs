//! `cutover attach`: the console of a live run, opened from any terminal of the same host
//! through the run's control channel. The run draws this console's screen and carries out its
//! keys; this side sends the terminal's events and shows what comes back. `q` leaves (the run
//! goes on).

use super::server::socket_path;
use super::wire::{receive, send, ToConsole, ToRun};
use crate::ui::tui::runtime::KeyReader;
use crate::ui::UiError;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use std::path::Path;
use tokio::io::BufReader;
use tokio::net::UnixStream;

/// Why `cutover attach` could not open the console.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// No control channel beside the store.
    #[error(
        "no run of {store} has a console to attach to ({socket} does not exist): no `cutover run` \
         is running it on this host, or it runs headless (started without a terminal; follow it \
         with `cutover status --store {store}` and its log)"
    )]
    NoChannel {
        /// The store.
        store: String,
        /// Where the socket would be.
        socket: String,
    },
    /// A socket nobody listens on: left by a run that died.
    #[error("no run listens on {socket} (left by a run that ended without cleaning up); `cutover status --store {store}` says where the run is")]
    Stale {
        /// The store.
        store: String,
        /// The socket.
        socket: String,
    },
    /// The channel failed.
    #[error("the control channel {socket}: {source}")]
    Io {
        /// The socket.
        socket: String,
        /// Why.
        source: std::io::Error,
    },
    /// The terminal failed.
    #[error(transparent)]
    Ui(#[from] UiError),
}

/// Opens the console of the run of `store` on this terminal until the operator leaves or the
/// run process ends; returns what to print afterwards.
pub async fn attach(store: &Path) -> Result<String, AttachError> {
    let socket = socket_path(store);
    let name = |p: &Path| p.display().to_string();
    let stream = match UnixStream::connect(&socket).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(AttachError::NoChannel {
                store: name(store),
                socket: name(&socket),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(AttachError::Stale {
                store: name(store),
                socket: name(&socket),
            })
        }
        Err(source) => {
            return Err(AttachError::Io {
                socket: name(&socket),
                source,
            })
        }
    };
    let mut terminal = ratatui::try_init().map_err(UiError::Terminal)?;
    let keys = KeyReader::start();
    let result = show(stream, &mut terminal, keys).await;
    ratatui::restore();
    result.map_err(|source| AttachError::Io {
        socket: name(&socket),
        source,
    })
}

/// Sends the terminal's events and draws the screens that come back, until the end.
async fn show(
    stream: UnixStream,
    terminal: &mut ratatui::DefaultTerminal,
    mut keys: KeyReader,
) -> std::io::Result<String> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let size = terminal.size()?;
    let hello = ToRun::Hello {
        cols: size.width,
        rows: size.height,
    };
    send(&mut w, &hello).await.map_err(std::io::Error::other)?;
    let mut buf = Vec::new();
    let why = loop {
        tokio::select! {
            message = receive::<_, ToConsole>(&mut r, &mut buf) => match message {
                Ok(Some(ToConsole::Frame(screen))) => {
                    terminal.draw(|f| f.render_widget(Shown(&screen), f.area()))?;
                }
                Ok(Some(ToConsole::Welcome { .. } | ToConsole::Controls(_))) => {}
                Ok(Some(ToConsole::Ended { why })) => break why,
                Ok(None) => break "the run process closed the console".to_string(),
                Err(e) => break format!("the control channel failed: {e}"),
            },
            event = keys.events.recv() => match event {
                Some(event) => {
                    if send(&mut w, &ToRun::Input(event)).await.is_err() {
                        break "the run process closed the console".to_string();
                    }
                }
                None => break "this terminal's input is gone".to_string(),
            },
        }
    };
    keys.finish();
    Ok(why)
}

/// A screen drawn by the run, shown as it is.
struct Shown<'a>(&'a Buffer);

impl Widget for Shown<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                if let (Some(from), Some(to)) = (self.0.cell((x, y)), buf.cell_mut((x, y))) {
                    *to = from.clone();
                }
            }
        }
    }
}
