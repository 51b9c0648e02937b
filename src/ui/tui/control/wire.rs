//! What a run and an attached console say to each other over the control channel: one JSON
//! object per line. The console sends the operator's terminal events; the run sends the
//! screen it drew for that console, and whether that console may act.

use crossterm::event::Event;
use ratatui::buffer::Buffer;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest line either side accepts (a 500×200 screen is well under it).
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// From an attached console to the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToRun {
    /// The first message: the console's terminal size.
    Hello {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// A key, a resize, or any other terminal event.
    Input(Event),
}

/// From the run to an attached console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToConsole {
    /// The answer to `Hello`: who runs the store, and whether this console controls it.
    Welcome {
        /// The run's process id.
        pid: u32,
        /// True: every control works; false: read-only until the controlling console leaves.
        controls: bool,
    },
    /// This console now controls the run (the one before it left), or no longer does.
    Controls(bool),
    /// The screen as drawn for this console.
    Frame(Buffer),
    /// The run process is ending: how the run ended (its exit code), or why it stopped.
    Ended {
        /// What to show.
        why: String,
    },
}

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The other side went away or the stream failed.
    #[error("the control channel failed: {0}")]
    Io(#[from] std::io::Error),
    /// A line that is not one of ours.
    #[error("the control channel sent something else: {0}")]
    Garbled(#[from] serde_json::Error),
    /// A line longer than [`MAX_LINE`].
    #[error("the control channel sent a line over {MAX_LINE} bytes")]
    TooLong,
}

/// Writes `message` as one line.
pub async fn send<W, T>(w: &mut W, message: &T) -> Result<(), WireError>
where
    W: AsyncWrite + Unpin,
    T: Serialize,
{
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    w.write_all(&line).await?;
    w.flush().await?;
    Ok(())
}

/// Reads the next message; `None` when the other side closed the stream.
pub async fn receive<R, T>(r: &mut R, buf: &mut Vec<u8>) -> Result<Option<T>, WireError>
where
    R: AsyncBufRead + Unpin,
    T: DeserializeOwned,
{
    buf.clear();
    let n = (&mut *r)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        if buf.len() > MAX_LINE {
            return Err(WireError::TooLong);
        }
        // The stream ended in the middle of a line: the other side went away.
        return Ok(None);
    }
    Ok(Some(serde_json::from_slice(buf)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent};
    use ratatui::layout::Rect;
    use tokio::io::BufReader;

    #[tokio::test]
    async fn messages_cross_the_channel_whole() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let (mut w, mut r) = (a, BufReader::new(b));
        let mut screen = Buffer::empty(Rect::new(0, 0, 20, 3));
        screen.set_string(0, 1, "RUNNING 中文", ratatui::style::Style::new());
        let key = ToRun::Input(Event::Key(KeyEvent::from(KeyCode::Char('p'))));
        send(&mut w, &key).await.unwrap();
        send(&mut w, &ToConsole::Frame(screen.clone()))
            .await
            .unwrap();
        drop(w);
        let mut buf = Vec::new();
        let got: ToRun = receive(&mut r, &mut buf).await.unwrap().unwrap();
        assert_eq!(got, key);
        let got: ToConsole = receive(&mut r, &mut buf).await.unwrap().unwrap();
        assert_eq!(got, ToConsole::Frame(screen));
        let end: Option<ToConsole> = receive(&mut r, &mut buf).await.unwrap();
        assert!(end.is_none());
    }

    #[tokio::test]
    async fn a_line_that_is_not_ours_is_an_error() {
        let (mut w, r) = tokio::io::duplex(1024);
        w.write_all(b"GET / HTTP/1.1\n").await.unwrap();
        let mut buf = Vec::new();
        let got: Result<Option<ToRun>, _> = receive(&mut BufReader::new(r), &mut buf).await;
        assert!(matches!(got, Err(WireError::Garbled(_))), "{got:?}");
    }
}
