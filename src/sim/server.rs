//! The HTTP face of the simulator: `POST /v4/{service}/{command}` as Tencent serves it —
//! the query string checked, the per-API window, faults, the body read field by field, and
//! the envelope always with HTTP 200 (§1.2) unless a fault says otherwise.

use super::auth::{self, Caller};
use super::body::{ApiError, ApiResult, Body};
use super::callbacks::CallbackSender;
use super::config::{NoAnswer, SimConfig};
use super::faults::{self, Fate};
use super::handlers::{self, Answer, Ctx};
use super::limiter::Limiter;
use super::state::State;
use crate::tim::api::Api;
use crate::tim::secret::SecretKey;
use crate::timefmt::now_secs;
use axum::body::{Body as HttpBody, Bytes};
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// How to run a simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Where to listen (use port 0 in tests).
    pub listen: SocketAddr,
    /// The app.
    pub sdkappid: u64,
    /// Admin identifiers (the real service allows up to 10).
    pub admins: Vec<String>,
    /// The app secret key.
    pub key: SecretKey,
    /// Limits, faults, callbacks, console settings.
    pub config: SimConfig,
}

/// The outcome counted for a request: 0 success, a Tencent code, an HTTP status, or
/// [`NO_ANSWER`].
pub const NO_ANSWER: i64 = -1;

/// The running service's shared parts.
pub struct Sim {
    state: Mutex<State>,
    config: SimConfig,
    limiter: Limiter,
    callbacks: CallbackSender,
    sdkappid: u64,
    admins: Vec<String>,
    key: SecretKey,
    counts: Mutex<BTreeMap<(Api, i64), u64>>,
    /// Requests that drew a fate, per API: the request number of the next draw.
    draws: Mutex<BTreeMap<Api, u64>>,
    sigs: auth::SigCache,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked mid-request leaves data that is still structurally valid.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sim {
    /// Runs `f` on the state (tests use this to look, or to tamper).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.state))
    }

    /// The state dump.
    pub fn dump(&self) -> Value {
        super::dump::dump(&lock(&self.state), self.sdkappid)
    }

    /// How many requests to `api` ended with `outcome` (0 = success).
    #[cfg(any(test, feature = "test-support"))]
    pub fn count(&self, api: Api, outcome: i64) -> u64 {
        lock(&self.counts)
            .get(&(api, outcome))
            .copied()
            .unwrap_or(0)
    }

    /// All counts: (API, outcome) → requests.
    pub fn counts(&self) -> BTreeMap<(Api, i64), u64> {
        lock(&self.counts).clone()
    }

    /// Callback delivery counts.
    #[cfg(any(test, feature = "test-support"))]
    pub fn callbacks(&self) -> &super::callbacks::CallbackStats {
        self.callbacks.stats()
    }

    /// The request number of `api`'s next fault draw.
    fn next_draw(&self, api: Api) -> u64 {
        let mut draws = lock(&self.draws);
        let n = draws.entry(api).or_default();
        *n += 1;
        *n - 1
    }

    fn tally(&self, api: Api, outcome: i64) {
        *lock(&self.counts).entry((api, outcome)).or_default() += 1;
    }

    fn envelope(&self, api: Option<Api>, result: Result<Map<String, Value>, ApiError>) -> Response {
        let display = api.is_some_and(|a| a.service().has_error_display());
        if let Some(api) = api {
            self.tally(api, result.as_ref().map_or_else(|e| e.code, |_| 0));
        }
        let mut map = Map::new();
        match result {
            Ok(fields) => {
                map.insert("ActionStatus".into(), json!("OK"));
                map.insert("ErrorCode".into(), json!(0));
                map.insert("ErrorInfo".into(), json!(""));
                map.extend(fields);
            }
            Err(e) => {
                map.insert("ActionStatus".into(), json!("FAIL"));
                map.insert("ErrorCode".into(), json!(e.code));
                map.insert("ErrorInfo".into(), json!(e.info));
            }
        }
        if display {
            map.insert("ErrorDisplay".into(), json!(""));
        }
        let bytes = serde_json::to_vec(&Value::Object(map)).unwrap_or_default();
        ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
    }
}

/// A running simulator; stops when dropped.
pub struct SimHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    sim: Arc<Sim>,
    task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The service's shared parts.
    pub fn sim(&self) -> &Arc<Sim> {
        &self.sim
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds and starts a simulator in the current tokio runtime.
pub async fn start(options: SimOptions) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;
    let callbacks = CallbackSender::start(&options.config.callback, options.sdkappid);
    let sim = Arc::new(Sim {
        state: Mutex::new(State::default()),
        limiter: Limiter::new(),
        callbacks,
        sdkappid: options.sdkappid,
        admins: options.admins,
        key: options.key,
        config: options.config,
        counts: Mutex::new(BTreeMap::new()),
        draws: Mutex::new(BTreeMap::new()),
        sigs: auth::SigCache::default(),
    });
    let app = Router::new()
        .route("/v4/{service}/{command}", any(serve_api))
        .route("/sim/dump", any(serve_dump))
        .fallback(serve_unknown)
        .with_state(Arc::clone(&sim));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "simulator stopped");
        }
    });
    Ok(SimHandle { addr, sim, task })
}

async fn serve_unknown(AxumState(sim): AxumState<Arc<Sim>>) -> Response {
    sim.envelope(
        None,
        Err(ApiError::new(
            60009,
            "request resource error: check the URL",
        )),
    )
}

async fn serve_dump(AxumState(sim): AxumState<Arc<Sim>>, RawQuery(query): RawQuery) -> Response {
    let now = u64::try_from(now_secs()).unwrap_or(0);
    let service = crate::tim::api::Service::Login;
    match auth::check(
        query.as_deref().unwrap_or(""),
        service,
        sim.sdkappid,
        &sim.admins,
        &sim.key,
        now,
    ) {
        Ok(_) => {
            let bytes = serde_json::to_vec(&sim.dump()).unwrap_or_default();
            ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Err(e) => sim.envelope(None, Err(e)),
    }
}

/// The answer to a request that took effect but whose answer is lost as `how` says.
fn lost_answer(how: NoAnswer) -> Response {
    match how {
        NoAnswer::BadGateway => {
            (StatusCode::BAD_GATEWAY, "bad gateway (injected fault)").into_response()
        }
        NoAnswer::Empty => ([(header::CONTENT_TYPE, "application/json")], "{}").into_response(),
        NoAnswer::Drop | NoAnswer::Stall => reset(),
    }
}

/// A connection closed without an answer: the body fails at once, so hyper aborts the
/// connection before the status line leaves its buffer.
fn reset() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("answer lost (injected fault)"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(HttpBody::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::OK.into_response())
}

async fn serve_api(
    AxumState(sim): AxumState<Arc<Sim>>,
    Path((service, command)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    method: Method,
    body: Bytes,
) -> Response {
    let (api, caller, now) = match admit(&sim, &service, &command, query.as_deref(), &method) {
        Ok(admitted) => admitted,
        Err((api, error)) => return sim.envelope(api, Err(error)),
    };
    // A table aimed at some groups leaves the API's other requests to `all`.
    let aimed = sim
        .config
        .faults(api)
        .filter(|f| faults::aims_at(f, &body))
        .or_else(|| {
            sim.config
                .faults
                .get("all")
                .filter(|f| faults::aims_at(f, &body))
        });
    let fate: Fate = aimed.map_or_else(Fate::clean, |f| {
        faults::fate(f, api.command(), sim.next_draw(api))
    });
    if !fate.latency.is_zero() {
        tokio::time::sleep(fate.latency).await;
    }
    if let Some(code) = fate.error {
        // An HTTP status: 5xx a server or gateway failure, 4xx a refusal of this request.
        if (400..600).contains(&code) {
            sim.tally(api, code);
            let status = StatusCode::from_u16(u16::try_from(code).unwrap_or(502))
                .unwrap_or(StatusCode::BAD_GATEWAY);
            return (status, "injected fault").into_response();
        }
        return sim.envelope(Some(api), Err(ApiError::new(code, "injected fault")));
    }
    let mut parsed: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return sim.envelope(
                Some(api),
                Err(ApiError::new(60003, "request body is not a JSON object")),
            )
        }
    };
    if aimed.is_some_and(|f| f.repeat_cursor) {
        faults::forget_cursor(&mut parsed);
    }
    let empty = Map::new();
    let map = parsed.as_object().unwrap_or(&empty);
    let result = apply(&sim, api, now, &caller.identifier, map);
    if let Some((how, stall)) = fate.no_answer {
        sim.tally(
            api,
            if how == NoAnswer::BadGateway {
                502
            } else {
                NO_ANSWER
            },
        );
        if how == NoAnswer::Stall {
            tokio::time::sleep(stall).await;
        }
        return lost_answer(how);
    }
    sim.envelope(Some(api), result)
}

/// The checks before a call is looked at: a known API, POST, a valid UserSig of an admin and
/// the API's rate limit. A refusal names the API (when known) and the error to answer.
fn admit(
    sim: &Sim,
    service: &str,
    command: &str,
    query: Option<&str>,
    method: &Method,
) -> Result<(Api, Caller, i64), (Option<Api>, ApiError)> {
    let Some(api) = Api::from_path(service, command) else {
        let error = ApiError::new(60009, format!("no API v4/{service}/{command}"));
        return Err((None, error));
    };
    let refuse = |error| Err((Some(api), error));
    if *method != Method::POST {
        return refuse(ApiError::new(60002, "REST API requests must be POST"));
    }
    let now = now_secs();
    let caller = match auth::check_cached(
        query.unwrap_or(""),
        api.service(),
        sim.sdkappid,
        &sim.admins,
        &sim.key,
        u64::try_from(now).unwrap_or(0),
        &sim.sigs,
    ) {
        Ok(c) => c,
        Err(e) => return refuse(e),
    };
    if !sim.limiter.admit(api, sim.config.rate(api)) {
        return refuse(ApiError::new(
            60007,
            "REST API call frequency over the limit",
        ));
    }
    Ok((api, caller, now))
}

/// Runs the call against the state under its lock, then queues the callbacks it raised.
fn apply(
    sim: &Sim,
    api: Api,
    now: i64,
    operator: &str,
    map: &Map<String, Value>,
) -> ApiResult<Answer> {
    let (result, callbacks) = {
        let mut state = lock(&sim.state);
        let mut ctx = Ctx {
            state: &mut state,
            config: &sim.config,
            limiter: &sim.limiter,
            api,
            now,
            operator,
            sdkappid: sim.sdkappid,
            callbacks: Vec::new(),
        };
        let result = handlers::dispatch(&mut ctx, Body(map));
        (result, ctx.callbacks)
    };
    for cb in callbacks {
        sim.callbacks.send(cb);
    }
    result
}
