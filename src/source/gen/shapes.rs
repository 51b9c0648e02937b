//! Skewed distributions and derived values, using only integer and basic IEEE arithmetic so
//! that the same seed gives the same numbers on every platform (no `powf`, `ln` or `exp`,
//! whose last bit may differ between math libraries).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The largest Pareto weight: one part gets at most this many times the smallest one.
const PARETO_CAP: f64 = 200.0;

/// Cube root of a positive finite `x`: a bit-level first guess, then Newton steps with a fixed
/// count, so the result depends on IEEE `+ - * /` only.
fn cbrt(x: f64) -> f64 {
    let mut y = f64::from_bits(x.to_bits() / 3 + 0x2A9F_7893_782D_A1CE);
    for _ in 0..5 {
        y -= (y * y * y - x) / (3.0 * y * y);
    }
    y
}

/// A Pareto(x_m = 1, α = 1.5) sample, capped at [`PARETO_CAP`]: heavy-tailed, mean ≈ 3 before
/// the cap. Inverse CDF: `u^(-1/α)` = `1 / cbrt(u²)`.
pub(crate) fn pareto(rng: &mut ChaCha8Rng) -> f64 {
    // gen::<f64>() is in [0, 1); 1 - u is in (0, 1], so u² is never zero.
    let u = 1.0 - rng.gen::<f64>();
    (1.0 / cbrt(u * u)).min(PARETO_CAP)
}

/// Splits `total` into `weights.len()` parts proportional to the weights, part `i` at most
/// `cap(i)`. The parts sum to exactly `total` unless the caps cannot hold it (then every part
/// is at its cap).
pub(crate) fn split(
    rng: &mut ChaCha8Rng,
    total: u64,
    weights: &[f64],
    cap: impl Fn(usize) -> u32,
) -> Vec<u32> {
    let mut parts = vec![0u32; weights.len()];
    if weights.is_empty() || total == 0 {
        return parts;
    }
    let sum: f64 = weights.iter().sum();
    let mut given = 0u64;
    for (i, (part, w)) in parts.iter_mut().zip(weights).enumerate() {
        let share = if sum > 0.0 {
            (total as f64 * w / sum) as u64
        } else {
            0
        };
        *part = share.min(u64::from(cap(i))) as u32;
        given += u64::from(*part);
    }
    // The rounding (and the caps) leave a remainder: hand it out one by one, cyclically from
    // a random start, skipping parts at their cap.
    let mut left = total.saturating_sub(given);
    let n = parts.len();
    let start = rng.gen_range(0..n);
    while left > 0 {
        let before = left;
        for step in 0..n {
            let i = (start + step) % n;
            if parts[i] < cap(i) {
                parts[i] += 1;
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        if left == before {
            break;
        }
    }
    parts
}

/// `k` distinct numbers from `1..=m`, ascending (`k` is clamped to `m`).
pub(crate) fn distinct_offsets(rng: &mut ChaCha8Rng, k: u32, m: u32, out: &mut Vec<u32>) {
    out.clear();
    let k = k.min(m);
    if k == 0 {
        return;
    }
    if u64::from(k) * 2 > u64::from(m) {
        // Dense: a partial Fisher-Yates shuffle of the whole range.
        out.extend(1..=m);
        for i in 0..k as usize {
            let j = rng.gen_range(i..out.len());
            out.swap(i, j);
        }
        out.truncate(k as usize);
    } else {
        // Sparse: draw, sort, drop repeats, draw again for what is missing.
        while out.len() < k as usize {
            let missing = k as usize - out.len();
            out.extend((0..missing).map(|_| rng.gen_range(1..=m)));
            out.sort_unstable();
            out.dedup();
        }
    }
    out.sort_unstable();
}

/// A 64-bit hash of `(a, b)` under the generator's `seed` and a `domain`: for values that
/// several files must agree on without sharing state (an account's creation time, a member's
/// join time).
pub(crate) fn mix(seed: u64, domain: u64, a: u64, b: u64) -> u64 {
    let mut bytes = [0u8; 24];
    bytes[..8].copy_from_slice(&domain.to_le_bytes());
    bytes[8..16].copy_from_slice(&a.to_le_bytes());
    bytes[16..].copy_from_slice(&b.to_le_bytes());
    xxh3_64_with_seed(&bytes, seed)
}

/// A value in `lo..=hi` picked by `hash` (`lo` when the range is empty).
pub(crate) fn pick_in(hash: u64, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        return lo;
    }
    let width = (hi - lo) as u64 + 1;
    lo + (hash % width) as i64
}

/// Hands out `count` send times in `from..=to`, strictly increasing while the range has room
/// (never decreasing otherwise), with bursts of quick replies and longer pauses.
pub(crate) struct Timeline {
    last: i64,
    to: i64,
    left: u64,
}

impl Timeline {
    /// Times for `count` messages, the first at or after `from`, none after `to`.
    pub(crate) fn new(from: i64, to: i64, count: u64) -> Self {
        Self {
            last: from - 1,
            to: to.max(from),
            left: count,
        }
    }

    /// The next time.
    pub(crate) fn next(&mut self, rng: &mut ChaCha8Rng) -> i64 {
        let left = self.left.max(1) as i64;
        self.left = self.left.saturating_sub(1);
        // Leave one second for each message still to come.
        let room = self.to - self.last - (left - 1);
        if room < 1 {
            self.last = (self.last + 1).min(self.to);
            return self.last;
        }
        let average = (room / left).max(1);
        let gap = if rng.gen_bool(0.7) {
            rng.gen_range(1..=average.min(120))
        } else {
            rng.gen_range(1..=average.saturating_mul(2).min(room))
        };
        self.last += gap.min(room);
        self.last
    }
}

/// The decimal digits of `n` (at least 1).
pub(crate) fn digits(n: u64) -> usize {
    let mut d = 1;
    let mut n = n / 10;
    while n > 0 {
        d += 1;
        n /= 10;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn cbrt_is_accurate() {
        for x in [1e-30, 1e-6, 0.001, 0.5, 1.0, 8.0, 1234.5] {
            let y = cbrt(x);
            assert!((y * y * y - x).abs() <= x * 1e-12, "{x}: {y}");
        }
    }

    #[test]
    fn split_is_exact_and_respects_caps() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let weights: Vec<f64> = (0..1000).map(|_| pareto(&mut rng)).collect();
        let parts = split(&mut rng, 123_457, &weights, |_| 500);
        assert_eq!(parts.iter().map(|&p| u64::from(p)).sum::<u64>(), 123_457);
        assert!(parts.iter().all(|&p| p <= 500));
        assert!(parts.iter().max() > Some(&(parts.iter().sum::<u32>() / 1000 * 3)));
        let full = split(&mut rng, 10_000, &weights[..10], |_| 7);
        assert_eq!(full, vec![7; 10]);
    }

    #[test]
    fn offsets_are_distinct_and_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = Vec::new();
        for (k, m) in [(5, 1000), (90, 100), (100, 100), (3, 2), (0, 9)] {
            distinct_offsets(&mut rng, k, m, &mut out);
            assert_eq!(out.len(), k.min(m) as usize);
            assert!(out.windows(2).all(|w| w[0] < w[1]));
            assert!(out.iter().all(|&d| (1..=m).contains(&d)));
        }
    }

    #[test]
    fn timeline_increases_within_bounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (from, to, count) in [(100, 10_000, 500), (100, 199, 100), (5, 1_000_000, 3)] {
            let mut t = Timeline::new(from, to, count);
            let times: Vec<i64> = (0..count).map(|_| t.next(&mut rng)).collect();
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{from}..{to}");
            assert!(times[0] >= from && times[times.len() - 1] <= to);
        }
    }
}
