//! Deciding, per request, which configured fault strikes — deterministically: request `n` to
//! an API draws its fate from the table's `seed`, the API and `n`, so a run with the same seed
//! and the same requests meets the same faults however the requests interleave.

use super::config::{Faults, NoAnswer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// What happens to one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fate {
    /// Delay before answering.
    pub(crate) latency: Duration,
    /// Refused before it is applied: with this code (or HTTP status when 500–599).
    pub(crate) error: Option<i64>,
    /// Applied, then the answer is lost this way (stalling this long first).
    pub(crate) no_answer: Option<(NoAnswer, Duration)>,
}

impl Fate {
    /// No fault.
    pub(crate) fn clean() -> Self {
        Self {
            latency: Duration::ZERO,
            error: None,
            no_answer: None,
        }
    }
}

/// The fate of request number `n` (counted per API from 0) to the API named `api`.
pub(crate) fn fate(f: &Faults, api: &str, n: u64) -> Fate {
    draw(
        Some(f),
        &mut ChaCha8Rng::seed_from_u64(stream(f.seed, api, n)),
    )
}

/// Whether a request with `body` is one the faults are for: any, unless they name `group_ids`.
pub(crate) fn aims_at(f: &Faults, body: &[u8]) -> bool {
    f.group_ids.is_empty()
        || serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("GroupId")?.as_str().map(str::to_owned))
            .is_some_and(|g| f.group_ids.contains(&g))
}

/// The `repeat_cursor` fault: the request's paging cursor is dropped, so the first page comes
/// back whatever page was asked for.
pub(crate) fn forget_cursor(body: &mut serde_json::Value) {
    if let Some(map) = body.as_object_mut() {
        map.remove("ReqMsgSeq");
        map.remove("Next");
    }
}

/// One RNG seed per (seed, API, request number): FNV-1a over the three, so that neighbouring
/// request numbers and APIs get unrelated streams.
fn stream(seed: u64, api: &str, n: u64) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = seed.to_le_bytes().into_iter();
    for b in bytes.chain(api.bytes()).chain(n.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    h
}

/// Draws the fate of one request from `faults`.
fn draw(faults: Option<&Faults>, rng: &mut impl Rng) -> Fate {
    let Some(f) = faults else {
        return Fate::clean();
    };
    let spread = if f.latency_spread_ms > 0 {
        rng.gen_range(0..=f.latency_spread_ms)
    } else {
        0
    };
    let latency = Duration::from_millis(f.latency_ms + spread);
    let error =
        (f.error_rate > 0.0 && !f.error_codes.is_empty() && rng.gen_bool(f.error_rate.min(1.0)))
            .then(|| f.error_codes[rng.gen_range(0..f.error_codes.len())]);
    // Each rate is drawn only when set, so adding one leaves the other draws of a seed as
    // they were.
    let mut lost = |rate: f64| error.is_none() && rate > 0.0 && rng.gen_bool(rate.min(1.0));
    let stall = Duration::from_millis(f.stall_ms.max(1));
    let no_answer = if lost(f.no_answer_rate) {
        Some((f.no_answer, stall))
    } else if lost(f.bad_gateway_rate) {
        Some((NoAnswer::BadGateway, stall))
    } else if lost(f.empty_answer_rate) {
        Some((NoAnswer::Empty, stall))
    } else {
        None
    };
    Fate {
        latency,
        error,
        no_answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rates_are_honoured() {
        let f = Faults {
            latency_ms: 5,
            latency_spread_ms: 5,
            error_rate: 0.25,
            error_codes: vec![60008, 502],
            no_answer_rate: 0.1,
            ..Faults::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let fates: Vec<Fate> = (0..10_000).map(|_| draw(Some(&f), &mut rng)).collect();
        let errors = fates.iter().filter(|f| f.error.is_some()).count();
        let lost = fates.iter().filter(|f| f.no_answer.is_some()).count();
        assert!((2200..2800).contains(&errors), "{errors}");
        assert!((500..1000).contains(&lost), "{lost}");
        assert!(fates
            .iter()
            .all(|f| (5..=10).contains(&(f.latency.as_millis() as u64))));
        assert_eq!(draw(None, &mut rng), Fate::clean());
    }

    #[test]
    fn lost_answers_of_each_kind_are_drawn_at_their_rates() {
        let f = Faults {
            no_answer_rate: 0.05,
            bad_gateway_rate: 0.1,
            empty_answer_rate: 0.02,
            ..Faults::default()
        };
        let fates: Vec<Fate> = (0..10_000)
            .map(|n| fate(&f, "import_group_msg", n))
            .collect();
        let count = |how| {
            fates
                .iter()
                .filter(|f| f.no_answer.is_some_and(|(h, _)| h == how))
                .count()
        };
        assert!(
            (400..600).contains(&count(NoAnswer::Drop)),
            "{}",
            count(NoAnswer::Drop)
        );
        // 10 % of the 95 % not dropped.
        let gateway = count(NoAnswer::BadGateway);
        assert!((800..1100).contains(&gateway), "{gateway}");
        let empty = count(NoAnswer::Empty);
        assert!((100..260).contains(&empty), "{empty}");
    }

    #[test]
    fn a_seed_replays_the_same_fates_and_another_seed_does_not() {
        let f = |seed| Faults {
            seed,
            error_rate: 0.3,
            error_codes: vec![502],
            no_answer_rate: 0.2,
            latency_spread_ms: 50,
            ..Faults::default()
        };
        let run = |seed, api| (0..200).map(|n| fate(&f(seed), api, n)).collect::<Vec<_>>();
        assert_eq!(run(7, "importmsg"), run(7, "importmsg"));
        assert_ne!(run(7, "importmsg"), run(8, "importmsg"));
        assert_ne!(run(7, "importmsg"), run(7, "sendmsg"));
        let errors = run(7, "importmsg")
            .iter()
            .filter(|f| f.error.is_some())
            .count();
        assert!((30..90).contains(&errors), "{errors} of 200 at 0.3");
    }
}
