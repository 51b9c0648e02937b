//! The `/metrics` endpoint: an axum server on `[metrics] listen` that scrapes the store on each
//! request ([`super::collect::scrape`]); it stops when its handle is dropped.

use crate::config::metrics::MetricsConfig;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// The OpenMetrics text format's content type.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A running `/metrics` endpoint; stops when dropped.
#[derive(Debug)]
pub struct MetricsServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A scrape is answered from the last one this young (each reads the whole store's counts).
const FRESH: std::time::Duration = std::time::Duration::from_secs(10);

/// What a scrape reads, and the last one (one scrape at a time reads the store).
struct Source {
    store: PathBuf,
    window_end: Option<i64>,
    alerter: crate::alerts::Alerter,
    last: tokio::sync::Mutex<Option<(std::time::Instant, String)>>,
}

/// Serves `/metrics` of the store at `store` on `cfg.listen`, with the deliveries of
/// `alerter`'s channels.
pub async fn serve(
    cfg: &MetricsConfig,
    store: PathBuf,
    window_end: Option<i64>,
    alerter: crate::alerts::Alerter,
) -> std::io::Result<MetricsServer> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("[metrics] listen {}: cannot listen: {e}", cfg.listen),
            )
        })?;
    let addr = listener.local_addr()?;
    let source = Arc::new(Source {
        store,
        window_end,
        alerter,
        last: tokio::sync::Mutex::new(None),
    });
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(source);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    tracing::info!(%addr, "metrics served at /metrics");
    Ok(MetricsServer { addr, task })
}

async fn metrics(
    axum::extract::State(source): axum::extract::State<Arc<Source>>,
) -> impl IntoResponse {
    // Scrapes wait for each other: at most one reads the store, and a second one within
    // FRESH gets the same text.
    let mut last = source.last.lock().await;
    if let Some((_, text)) = last.as_ref().filter(|(at, _)| at.elapsed() < FRESH) {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            text.clone(),
        );
    }
    let now = crate::timefmt::now_secs();
    let reading = Arc::clone(&source);
    let scraped = tokio::task::spawn_blocking(move || {
        let alerts = reading.alerter.deliveries();
        super::collect::scrape(&reading.store, reading.window_end, &alerts, now)
    })
    .await;
    match scraped {
        Ok(Ok(text)) => {
            *last = Some((std::time::Instant::now(), text.clone()));
            (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text)
        }
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            e,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            e.to_string(),
        ),
    }
}
