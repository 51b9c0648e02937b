//! A recording proxy between `cutover` and the simulator: every request's command, body and
//! answer in the order they arrived, and answers held back on purpose — the simulator applies
//! the request, its answer never leaves — so that a test can kill a run with that request in
//! flight, and know it.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a test failure

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request as it passed.
#[derive(Debug, Clone)]
pub(crate) struct Exchange {
    /// The API's command (`friend_delete`).
    pub(crate) command: String,
    /// The request body.
    pub(crate) request: Value,
    /// The simulator's answer (`None` while it is on its way).
    pub(crate) answer: Option<Value>,
    /// Its answer was held back: the caller never got it.
    pub(crate) held: bool,
}

struct Shared {
    target: String,
    client: reqwest::Client,
    log: Mutex<Vec<Exchange>>,
    /// Per command, the requests seen so far.
    seen: Mutex<BTreeMap<String, usize>>,
    /// (command, n): the n-th request (from 1) of that command gets no answer.
    holds: Vec<(String, usize)>,
}

/// A running proxy; stops when dropped.
pub(crate) struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `target` (a base URL) on 127.0.0.1, holding back the answer of the n-th
    /// request of each `(command, n)` of `holds`.
    pub(crate) async fn start(target: &str, holds: &[(&str, usize)]) -> Proxy {
        let shared = Arc::new(Shared {
            target: target.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            log: Mutex::new(Vec::new()),
            seen: Mutex::new(BTreeMap::new()),
            holds: holds.iter().map(|(c, n)| (c.to_string(), *n)).collect(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Proxy { addr, shared, task }
    }

    /// Its base URL, to give `cutover` as the target.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in the order they arrived.
    pub(crate) fn log(&self) -> Vec<Exchange> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Requests applied by the simulator whose answers were held back.
    pub(crate) fn held(&self) -> usize {
        self.log().iter().filter(|e| e.held).count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(shared): State<Arc<Shared>>, uri: Uri, body: Bytes) -> Response {
    let command = uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let request = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (index, hold) = {
        let mut log = shared.log.lock().unwrap();
        let mut seen = shared.seen.lock().unwrap();
        let n = seen.entry(command.clone()).or_default();
        *n += 1;
        let hold = shared.holds.contains(&(command.clone(), *n));
        log.push(Exchange {
            command,
            request,
            answer: None,
            held: false,
        });
        (log.len() - 1, hold)
    };
    let url = format!(
        "{}{}",
        shared.target,
        uri.path_and_query().map_or("", |p| p.as_str())
    );
    // On a task of its own: the request reaches the simulator even when the caller is gone.
    let client = shared.client.clone();
    let sent = tokio::spawn(async move {
        let resp = client.post(url).body(body).send().await?;
        let status = resp.status().as_u16();
        Ok::<_, reqwest::Error>((status, resp.bytes().await?))
    });
    let Ok(Ok((status, bytes))) = sent.await else {
        return (StatusCode::BAD_GATEWAY, "the simulator did not answer").into_response();
    };
    {
        let mut log = shared.log.lock().unwrap();
        log[index].answer = serde_json::from_slice(&bytes).ok();
        log[index].held = hold;
    }
    if hold {
        // Applied, never answered: the caller waits until its timeout, or until it is killed.
        std::future::pending::<()>().await;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}
