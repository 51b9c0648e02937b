//! Deciding, per request, which configured fault strikes.

use super::config::{Faults, NoAnswer};
use rand::Rng;
use std::time::Duration;

/// What happens to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Fate {
    /// Delay before answering.
    pub latency: Duration,
    /// Refused before it is applied: with this code (or HTTP status when 500–599).
    pub error: Option<i64>,
    /// Applied, then the answer is lost this way (stalling this long first).
    pub no_answer: Option<(NoAnswer, Duration)>,
}

impl Fate {
    /// No fault.
    pub fn clean() -> Self {
        Self {
            latency: Duration::ZERO,
            error: None,
            no_answer: None,
        }
    }
}

/// Draws the fate of one request from `faults`.
pub fn draw(faults: Option<&Faults>, rng: &mut impl Rng) -> Fate {
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
    let no_answer =
        (error.is_none() && f.no_answer_rate > 0.0 && rng.gen_bool(f.no_answer_rate.min(1.0)))
            .then(|| (f.no_answer, Duration::from_millis(f.stall_ms.max(1))));
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
}
