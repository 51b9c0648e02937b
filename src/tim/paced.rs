//! Read-back calls: one paced lane per read API, retries for what can be retried, and a stop
//! that ends the pass between calls (the pass is resumable from the store).

use crate::tim::api::Api;
use crate::tim::client::{CallError, TimClient};
use crate::tim::errors::ErrorClass;
use crate::tim::lane::{retry_delay, Lane, LaneFigures};
use crate::tim::wire::Request;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

/// Attempts per read before the unit it belongs to is given up (and left unchecked).
const MAX_ATTEMPTS: u32 = 8;

/// Why a read did not answer.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operator (or a signal) stopped the pass.
    #[error("stopped")]
    Stopped,
    /// The call failed for good, or kept failing.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Paced, retried read-back calls.
pub struct Reader {
    client: Arc<TimClient>,
    lanes: HashMap<Api, Lane>,
    stop: watch::Receiver<bool>,
}

impl Reader {
    /// A reader over `client` with one lane per API at `rates` (the documented default when
    /// absent), with at most `max_in_flight` calls each.
    pub fn new(
        client: Arc<TimClient>,
        rates: &HashMap<Api, u32>,
        max_in_flight: usize,
        stop: watch::Receiver<bool>,
    ) -> Reader {
        let lanes = Api::ALL
            .iter()
            .filter(|a| a.is_read_only())
            .map(|a| {
                let rate = rates.get(a).copied().unwrap_or(a.default_rate());
                (*a, Lane::new(rate, 1, max_in_flight))
            })
            .collect();
        Reader {
            client,
            lanes,
            stop,
        }
    }

    /// Whether the pass was asked to stop.
    pub fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// The lanes' figures, in API order.
    pub fn lanes(&self) -> Vec<(Api, LaneFigures)> {
        let mut out: Vec<_> = self.lanes.iter().map(|(a, l)| (*a, l.figures())).collect();
        out.sort_by_key(|(a, _)| *a);
        out
    }

    /// Calls `R::API`, waiting for its lane and retrying what a retry can fix.
    pub async fn call<R: Request>(&self, req: &R) -> Result<R::Response, ReadError> {
        let lane = self.lanes.get(&R::API);
        let mut attempt = 0;
        loop {
            if self.stopped() {
                return Err(ReadError::Stopped);
            }
            if let Some(lane) = lane {
                if let Some(wait) = lane.backoff_left() {
                    tokio::time::sleep(wait).await;
                }
                lane.permit().await;
                lane.started();
            }
            let started = std::time::Instant::now();
            let result = self.client.call(req).await;
            if let Some(lane) = lane {
                lane.finished(started.elapsed());
            }
            let err = match result {
                Ok(resp) => return Ok(resp),
                Err(e) => e,
            };
            let class = err.class();
            attempt += 1;
            if !class.is_retryable() || attempt >= MAX_ATTEMPTS {
                return Err(ReadError::Call(err));
            }
            let wait = retry_delay(attempt - 1);
            if class == ErrorClass::RateLimited {
                if let Some(lane) = lane {
                    lane.back_off(wait, err.code());
                }
            }
            tracing::debug!(api = %R::API, attempt, %err, "read-back retried");
            tokio::time::sleep(wait).await;
        }
    }
}
