//! The public base of the bucket: what a CDN, or a public-read bucket, gives the clients. s3s-fs
//! serves no anonymous reads while it checks signatures, so a read-only HTTP server over the
//! bucket's directory (where s3s-fs keeps each object at its key) stands in for it: a plain
//! GET of an object's public URL answers the bytes the server stored.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// A running public base; stops when dropped.
pub(crate) struct PublicBase {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl PublicBase {
    /// Serves the files under `dir` on 127.0.0.1.
    pub(crate) async fn start(dir: PathBuf) -> PublicBase {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(serve).with_state(Arc::new(dir));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PublicBase { addr, task }
    }

    /// Its base URL, the bucket's `public_base`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for PublicBase {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(State(dir): State<Arc<PathBuf>>, uri: Uri) -> Response {
    let key = uri.path().trim_start_matches('/');
    if key
        .split('/')
        .any(|s| s.is_empty() || s == ".." || s.starts_with('.'))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(dir.join(key)).await {
        Ok(bytes) => bytes.into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
