//! The demo "old system": an HTTP server that stands in for the app's own IM during
//! `cutover demo`. Its maintenance endpoints (the stop/resume hooks) and its sync webhook only
//! record what they received, so the demo shows exactly what the console did to it; so does
//! its `/alerts`, the webhook the demo's alerts go to. Its media
//! server answers `GET /media/<path>` with bytes generated from the path (4 to 64 kB, the same
//! bytes every time), standing in for the CDN the sample export's media URLs name.

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request the old system received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Received {
    /// The path.
    pub(crate) path: String,
    /// The body, as text.
    pub(crate) body: String,
}

/// A running demo old system.
pub(crate) struct OldSystem {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl OldSystem {
    /// Starts it on 127.0.0.1 at `port` (0: chosen by the system).
    pub(crate) async fn start(port: u16) -> std::io::Result<OldSystem> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/maintenance/stop", post(record))
            .route("/maintenance/resume", post(record))
            .route("/sync/webhook", post(record))
            .route("/alerts", post(record))
            .route("/media/{*path}", axum::routing::get(media))
            .with_state(Arc::clone(&received));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(OldSystem {
            addr,
            received,
            task,
        })
    }

    /// The URL of `path` on it.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything received so far, in order.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for OldSystem {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(received): State<Arc<Mutex<Vec<Received>>>>,
    uri: axum::http::Uri,
    body: String,
) -> &'static str {
    if let Ok(mut r) = received.lock() {
        r.push(Received {
            path: uri.path().to_string(),
            body,
        });
    }
    "ok"
}

/// The bytes of the object at `path`: 4 to 64 kB, a function of the path alone.
pub(crate) fn media_bytes(path: &str) -> Vec<u8> {
    let mut state = xxhash_rust::xxh3::xxh3_64(path.as_bytes()) | 1;
    let len = 4096 + (state % (60 * 1024)) as usize;
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        // xorshift64: cheap, and the same sequence for the same path.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

async fn media(axum::extract::Path(path): axum::extract::Path<String>) -> Vec<u8> {
    media_bytes(&path)
}

#[cfg(test)]
mod tests {
    use super::media_bytes;

    #[test]
    fn media_bytes_depend_on_the_path_alone() {
        let a = media_bytes("img/a.jpg");
        assert_eq!(a, media_bytes("img/a.jpg"));
        assert_ne!(a, media_bytes("img/b.jpg"));
        assert!((4096..4096 + 60 * 1024).contains(&a.len()));
    }
}
