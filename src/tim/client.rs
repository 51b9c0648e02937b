//! The REST client: one keep-alive connection pool for one app on one target.
//!
//! Every call gets the query string of §1.1 with a fresh `random` and the cached admin UserSig,
//! posts the typed body, and returns the typed answer or a [`CallError`] that says what kind
//! of failure it was and — crucially for imports that are not idempotent — whether the request
//! may have been applied. An answer counts as Tencent's only if it carries the envelope
//! (`ActionStatus` and `ErrorCode`) and, for a batched API that answers every item, a result
//! for each item sent; anything else is a [`CallError::Protocol`]. The URL (which carries the
//! UserSig) never appears in an error or a log line.

use super::api::Api;
use super::credentials::{Clock, Credentials, DEFAULT_SIG_VALIDITY_SECS};
use super::errors::{self, ErrorClass};
use super::secret::SecretKey;
use super::target::Target;
use super::unreachable::{self, Unreachable};
use super::wire::{Envelope, Request, Response};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How to reach the target and as whom.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL or region.
    pub(crate) target: Target,
    /// The app.
    pub(crate) sdkappid: u64,
    /// The admin identifier the requests are made as.
    pub(crate) admin: String,
    /// The app secret key.
    pub(crate) key: SecretKey,
    /// Total time allowed for one call; the server gives up after 3 s, so this must be longer.
    pub timeout: Duration,
    /// Time allowed to open a connection.
    pub(crate) connect_timeout: Duration,
    /// Validity of the generated admin UserSig, in seconds.
    pub(crate) sig_validity_secs: u64,
}

impl ClientConfig {
    /// Sane defaults: 10 s per call, 5 s to connect, one-day UserSigs.
    pub fn new(target: Target, sdkappid: u64, admin: &str, key: SecretKey) -> Self {
        Self {
            target,
            sdkappid,
            admin: admin.to_string(),
            key,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            sig_validity_secs: DEFAULT_SIG_VALIDITY_SECS,
        }
    }
}

/// Whether a failed request may have taken effect on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// Certainly not: it never left, or the server answered with a documented refusal.
    No,
    /// Nobody knows: it was sent and no answer came back. Resolve by reading back (or rely on
    /// the API's own de-duplication) before sending it again.
    Unknown,
}

/// Why a call did not succeed.
#[derive(Debug, Error)]
pub enum CallError {
    /// The server answered with a non-zero `ErrorCode`.
    #[error("{api}: error {code}: {meaning} (server said: {info:?})", meaning = errors::lookup_for(*.api, *.code).meaning)]
    Api {
        /// The API.
        api: Api,
        /// The code.
        code: i64,
        /// The server's `ErrorInfo`.
        info: String,
    },
    /// The connection could not be made; nothing was sent.
    #[error("{api}: cannot connect to the target: {reason}")]
    Connect {
        /// The API.
        api: Api,
        /// Why.
        reason: String,
    },
    /// The target cannot be reached as it is configured, and retrying will not change that:
    /// its certificate is not trusted or not for its host, or its host name does not resolve.
    /// Nothing was sent.
    #[error("{api}: cannot connect to the target {host}: {what}; {advice} — retrying does not help ({reason})", what = .why.what(), advice = .why.advice())]
    Unreachable {
        /// The API.
        api: Api,
        /// The target's base URL.
        host: String,
        /// What is wrong.
        why: Unreachable,
        /// The causes, as the TLS library or the resolver gave them.
        reason: String,
    },
    /// No answer within the timeout.
    #[error("{api}: no answer within {secs:.1} s: the request may or may not have been applied")]
    Timeout {
        /// The API.
        api: Api,
        /// The timeout.
        secs: f64,
    },
    /// The connection broke after the request was sent.
    #[error("{api}: the connection broke before the answer arrived ({reason}): the request may or may not have been applied")]
    Dropped {
        /// The API.
        api: Api,
        /// Why.
        reason: String,
    },
    /// A status other than 200 (the service answers 200 even for errors, §1.2).
    #[error("{api}: HTTP status {status}{hint}", hint = http_hint(*.status))]
    Http {
        /// The API.
        api: Api,
        /// The status.
        status: u16,
    },
    /// A 200 answer that is not the documented JSON.
    #[error("{api}: the answer is not the documented JSON ({reason}): the request may or may not have been applied")]
    Decode {
        /// The API.
        api: Api,
        /// Why.
        reason: String,
    },
    /// The request could not be encoded as JSON; nothing was sent.
    #[error("{api}: cannot encode the request: {reason}")]
    Encode {
        /// The API.
        api: Api,
        /// Why.
        reason: String,
    },
    /// A 200 answer that is not Tencent's: no envelope (`{}`, HTML, another service's JSON) or
    /// a batch answer without a result for every item sent.
    #[error("{api}: the target does not speak Tencent IM ({reason}) — is a proxy in the way, or the URL wrong? The request may or may not have been applied")]
    Protocol {
        /// The API.
        api: Api,
        /// What was wrong with the answer.
        reason: String,
    },
}

/// What a status other than 200 says about the setup: Tencent answers 200 even for its
/// errors (§1.2), so 401 and 403 come from something in the way that wants credentials the
/// client does not give.
fn http_hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (Tencent IM answers 200 even for its errors, so a proxy or gateway in the way refused the request: check [target] url and whether that proxy lets this machine through; retrying does not help)",
        404 => " (check [target] url: no such API under it)",
        _ => "",
    }
}

/// Whether an HTTP `status` refuses this one request for good: a 4xx other than 401 and 403
/// (the credentials or the address, which every request would meet) and 408 and 429 (a
/// timeout or a rate limit: later may do).
pub(crate) fn refuses_one_request(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 403 | 408 | 429)
}

impl CallError {
    /// The API that failed.
    pub(crate) fn api(&self) -> Api {
        match self {
            CallError::Api { api, .. }
            | CallError::Connect { api, .. }
            | CallError::Unreachable { api, .. }
            | CallError::Timeout { api, .. }
            | CallError::Dropped { api, .. }
            | CallError::Http { api, .. }
            | CallError::Decode { api, .. }
            | CallError::Encode { api, .. }
            | CallError::Protocol { api, .. } => *api,
        }
    }

    /// The Tencent error code, when the server gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            CallError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// What to do about it: the code's class from the one table, and for failures without a
    /// code, retry (transport errors and HTTP 5xx are transient; other statuses mean a wrong
    /// URL or a proxy in the way, which retrying will not fix; so does a target unreachable
    /// as configured: an untrusted certificate, a host name that does not resolve). An answer that is not
    /// Tencent's has a class of its own: [`ErrorClass::Protocol`].
    pub fn class(&self) -> ErrorClass {
        match self {
            CallError::Api { code, .. } => errors::lookup(*code).class,
            // A timeout or rate limit from a proxy in the way: later may do.
            CallError::Http { status, .. } if matches!(*status, 408 | 429) => ErrorClass::Retry,
            CallError::Http { status, .. } if *status < 500 => ErrorClass::Fatal,
            CallError::Unreachable { .. } => ErrorClass::Fatal,
            // The item cannot be put on the wire as it is; sending it again will not help.
            CallError::Encode { .. } => ErrorClass::Item,
            CallError::Protocol { .. } | CallError::Decode { .. } => ErrorClass::Protocol,
            _ => ErrorClass::Retry,
        }
    }

    /// Whether the request may have been applied. Only a documented refusal (a code that is
    /// not an internal error or timeout), a 4xx status, or a connection that never opened
    /// says "no"; every 5xx (502 and 503 included: a gateway may answer so after forwarding
    /// the request), a timeout, a broken connection, an in-band internal/timeout code and an
    /// answer that is not Tencent's leave the outcome unknown.
    pub fn applied(&self) -> Applied {
        match self {
            CallError::Api { code, .. } if errors::maybe_applied(*code) => Applied::Unknown,
            CallError::Api { .. }
            | CallError::Connect { .. }
            | CallError::Unreachable { .. }
            | CallError::Encode { .. } => Applied::No,
            CallError::Http { status, .. } if *status < 500 => Applied::No,
            _ => Applied::Unknown,
        }
    }
}

/// The REST client for one app.
#[derive(Debug)]
pub struct TimClient {
    http: reqwest::Client,
    target: Target,
    credentials: Credentials,
    timeout: Duration,
}

/// The client could not be built.
#[derive(Debug, Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct BuildError(String);

impl TimClient {
    /// A client with the system clock.
    pub fn new(config: ClientConfig) -> Result<Self, BuildError> {
        Self::with_clock(config, super::credentials::system_clock())
    }

    /// A client whose UserSigs are issued at the times `clock` gives.
    pub(crate) fn with_clock(config: ClientConfig, clock: Clock) -> Result<Self, BuildError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BuildError(describe(&e)))?;
        let credentials = Credentials::new(
            config.key,
            config.sdkappid,
            &config.admin,
            config.sig_validity_secs,
            clock,
        );
        Ok(Self {
            http,
            target: config.target,
            credentials,
            timeout: config.timeout,
        })
    }

    /// The admin identifier.
    pub(crate) fn admin(&self) -> &str {
        self.credentials.identifier()
    }

    /// Calls `R::API` with `request`. A non-zero top-level `ErrorCode` is an error; item
    /// failures inside an OK answer are in the returned response
    /// ([`Response::item_failures`]). An answer without the envelope, or (for a batched API
    /// that answers every item) without a result for an item sent, is a
    /// [`CallError::Protocol`].
    pub async fn call<R: Request>(&self, request: &R) -> Result<R::Response, CallError> {
        let started = Instant::now();
        let outcome = self.call_unrecorded(request).await;
        super::stats::record(R::API, &outcome, started.elapsed());
        outcome
    }

    /// [`Self::call`], not counted in [`super::stats`].
    async fn call_unrecorded<R: Request>(&self, request: &R) -> Result<R::Response, CallError> {
        let api = R::API;
        let body = serde_json::to_vec(request).map_err(|e| CallError::Encode {
            api,
            reason: e.to_string(),
        })?;
        let bytes = self.send(api, body).await?;
        let probe = envelope_of(api, &bytes)?;
        if probe.ErrorCode != 0 {
            return Err(self.api_error(api, probe));
        }
        let response: R::Response =
            serde_json::from_slice(&bytes).map_err(|e| CallError::Protocol {
                api,
                reason: format!("the body does not have the documented fields: {e}"),
            })?;
        check_items(api, request.item_keys(), response.answered_keys())?;
        Ok(response)
    }

    /// Calls `api` with a raw JSON body and returns the raw JSON answer, envelope errors
    /// included (for contract tests and diagnostics).
    #[cfg(any(test, feature = "test-support"))]
    pub async fn call_raw(&self, api: Api, body: Vec<u8>) -> Result<serde_json::Value, CallError> {
        let bytes = self.send(api, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| CallError::Decode {
            api,
            reason: e.to_string(),
        })
    }

    fn api_error(&self, api: Api, envelope: Envelope) -> CallError {
        if errors::lookup(envelope.ErrorCode).class == ErrorClass::RenewCredentials {
            self.credentials.invalidate();
        }
        CallError::Api {
            api,
            code: envelope.ErrorCode,
            info: envelope.ErrorInfo,
        }
    }

    fn url(&self, api: Api) -> String {
        let sig = self.credentials.usersig();
        let identifier: String = url_encode(self.credentials.identifier());
        format!(
            "{}/{}?sdkappid={}&identifier={}&usersig={}&random={}&contenttype=json",
            self.target.base(),
            api.path(),
            self.credentials.sdkappid(),
            identifier,
            url_encode(sig.expose()),
            rand::random::<u32>(),
        )
    }

    async fn send(&self, api: Api, body: Vec<u8>) -> Result<bytes::Bytes, CallError> {
        let started = Instant::now();
        let result = self
            .http
            .post(self.url(api))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let response = match result {
            Ok(r) => r,
            Err(e) => return Err(self.transport_error(api, &e, started)),
        };
        let status = response.status().as_u16();
        if status != 200 {
            tracing::debug!(%api, status, "non-200 answer");
            return Err(CallError::Http { api, status });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(api, &e, started))?;
        tracing::trace!(%api, ms = started.elapsed().as_millis() as u64, "answer");
        Ok(bytes)
    }

    fn transport_error(&self, api: Api, e: &reqwest::Error, started: Instant) -> CallError {
        if e.is_timeout() {
            CallError::Timeout {
                api,
                secs: started
                    .elapsed()
                    .as_secs_f64()
                    .max(self.timeout.as_secs_f64()),
            }
        } else if let Some(why) = unreachable::cause(e) {
            CallError::Unreachable {
                api,
                host: self.target.base().to_string(),
                why,
                reason: describe(e),
            }
        } else if e.is_connect() {
            CallError::Connect {
                api,
                reason: describe(e),
            }
        } else {
            CallError::Dropped {
                api,
                reason: describe(e),
            }
        }
    }
}

/// The envelope as the answer gives it: both `ActionStatus` (`OK` or `FAIL`) and an integer
/// `ErrorCode` must be there (§1.2 says they always are), or the answer is not Tencent's.
fn envelope_of(api: Api, bytes: &[u8]) -> Result<Envelope, CallError> {
    #[derive(serde::Deserialize)]
    #[allow(non_snake_case)] // the wire's names
    struct Probe {
        ActionStatus: Option<String>,
        ErrorCode: Option<i64>,
        #[serde(default)]
        ErrorInfo: String,
    }
    let protocol = |reason: String| CallError::Protocol { api, reason };
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
        protocol(format!(
            "the answer is not a JSON object ({e}); it starts {start:?}"
        ))
    })?;
    let (Some(status), Some(code)) = (probe.ActionStatus, probe.ErrorCode) else {
        return Err(protocol(
            "the answer has no ActionStatus/ErrorCode envelope".into(),
        ));
    };
    if status != "OK" && status != "FAIL" {
        return Err(protocol(format!(
            "ActionStatus is {status:?}, not OK or FAIL"
        )));
    }
    Ok(Envelope {
        ActionStatus: status,
        ErrorCode: code,
        ErrorInfo: probe.ErrorInfo,
        ErrorDisplay: None,
    })
}

/// A batched answer must carry a result for every item sent (`sent` and `answered` are the
/// request's and the answer's item keys; `None` where the API does not answer per item).
fn check_items(
    api: Api,
    sent: Option<Vec<String>>,
    answered: Option<Vec<String>>,
) -> Result<(), CallError> {
    let (Some(sent), Some(answered)) = (sent, answered) else {
        return Ok(());
    };
    let missing = sent.iter().filter(|k| !answered.contains(k)).count();
    if missing == 0 {
        return Ok(());
    }
    Err(CallError::Protocol {
        api,
        reason: format!(
            "the answer has no result for {missing} of the {} items sent",
            sent.len()
        ),
    })
}

/// A reqwest error with its causes, and without the URL (which carries the UserSig).
fn describe(e: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    // reqwest's own Display names the URL; the causes below it do not.
    text.push_str(if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_body() || e.is_decode() {
        "error reading the answer"
    } else {
        "request error"
    });
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass; `*` too, which the
/// UserSig alphabet uses and form encoding leaves alone).
fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'*') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(url_encode("admin"), "admin");
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
        assert_eq!(url_encode("eJy*-_"), "eJy*-_");
    }

    #[test]
    fn only_a_4xx_about_the_request_itself_refuses_it() {
        for status in [400, 404, 413, 422] {
            assert!(refuses_one_request(status), "{status}");
        }
        // Credentials or address (every request meets them), a timeout, a rate limit, not 4xx.
        for status in [401, 403, 408, 429, 200, 502] {
            assert!(!refuses_one_request(status), "{status}");
        }
        let http = |status| CallError::Http {
            api: Api::ImportGroupMsg,
            status,
        };
        assert_eq!(http(429).class(), ErrorClass::Retry);
        assert_eq!(http(408).class(), ErrorClass::Retry);
        assert_eq!(http(403).class(), ErrorClass::Fatal);
    }

    #[test]
    fn outcome_of_each_failure() {
        let api = Api::ImportGroupMsg;
        let rejected = CallError::Api {
            api,
            code: 10004,
            info: String::new(),
        };
        assert_eq!(rejected.applied(), Applied::No);
        assert_eq!(rejected.class(), ErrorClass::Item);
        let timeout = CallError::Timeout { api, secs: 10.0 };
        assert_eq!(timeout.applied(), Applied::Unknown);
        assert_eq!(timeout.class(), ErrorClass::Retry);
        assert_eq!(
            CallError::Http { api, status: 502 }.applied(),
            Applied::Unknown
        );
        assert_eq!(
            CallError::Http { api, status: 503 }.applied(),
            Applied::Unknown
        );
        assert_eq!(CallError::Http { api, status: 404 }.applied(), Applied::No);
        for code in [60008, 10002, 90992, 70169] {
            let internal = CallError::Api {
                api,
                code,
                info: String::new(),
            };
            assert_eq!(internal.applied(), Applied::Unknown, "{code}");
        }
        assert_eq!(
            CallError::Http { api, status: 504 }.applied(),
            Applied::Unknown
        );
        assert_eq!(
            CallError::Http { api, status: 502 }.class(),
            ErrorClass::Retry
        );
        assert_eq!(
            CallError::Http { api, status: 404 }.class(),
            ErrorClass::Fatal
        );
        let limited = CallError::Api {
            api,
            code: 60007,
            info: String::new(),
        };
        assert_eq!(limited.class(), ErrorClass::RateLimited);
        assert_eq!(limited.applied(), Applied::No);
        assert!(limited.to_string().contains("frequency"), "{limited}");
    }

    #[test]
    fn an_answer_without_the_envelope_is_not_tencents() {
        let api = Api::AccountCheck;
        for body in [&b"{}"[..], b"<html>502</html>", br#"{"status":"ok"}"#, b""] {
            let e = envelope_of(api, body).unwrap_err();
            assert_eq!(e.class(), ErrorClass::Protocol, "{e}");
            assert_eq!(e.applied(), Applied::Unknown);
            assert!(e.to_string().contains("does not speak Tencent IM"), "{e}");
        }
        let weird = envelope_of(api, br#"{"ActionStatus":"yes","ErrorCode":0}"#);
        assert!(matches!(weird, Err(CallError::Protocol { .. })));
        let ok = envelope_of(api, br#"{"ActionStatus":"OK","ErrorCode":0,"X":1}"#).unwrap();
        assert_eq!((ok.ActionStatus.as_str(), ok.ErrorCode), ("OK", 0));
    }

    #[test]
    fn a_batch_answer_must_answer_every_item() {
        let api = Api::ImportGroupMsg;
        let keys = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(check_items(api, keys(&["#0", "#1"]), keys(&["#0", "#1"])).is_ok());
        assert!(check_items(api, None, None).is_ok());
        let e = check_items(api, keys(&["#0", "#1"]), keys(&["#0"])).unwrap_err();
        assert!(e.to_string().contains("1 of the 2"), "{e}");
        assert!(check_items(api, keys(&["a"]), keys(&[])).is_err());
    }
}
