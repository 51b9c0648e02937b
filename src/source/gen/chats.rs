//! c2c_messages.jsonl: conversations between pairs of accounts.

use super::bad::Target;
use super::elements;
use super::shapes::{digits, pareto, split, Timeline};
use super::write::RecordWriter;
use super::{FileStats, Stream, World};
use crate::model::element::ELEMENT_TYPES;
use crate::model::C2cMessage;
use crate::source::ExportFile;
use rand::Rng;
use std::path::Path;

/// Mean messages per conversation.
const CONVERSATION_MEAN: u64 = 25;
/// The longest conversation.
const CONVERSATION_MAX: u32 = 5000;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A multiplier coprime with `n`, so that `c * k mod n` visits every account once per round.
fn coprime_multiplier(n: u64) -> u64 {
    let mut k = 0x9E37_79B9 % n.max(1);
    while k == 0 || gcd(k, n) != 1 {
        k += 1;
    }
    k
}

/// The two accounts of conversation `c`: the first runs over every account (scattered by a
/// multiplier) once per round, the second is at an offset under `n/2` that changes with the
/// round, so no pair repeats until every pair has been used.
struct Pairs {
    n: u64,
    m: u64,
    k: u64,
    shift: u64,
}

impl Pairs {
    fn pair(&self, c: u64) -> (u32, u32) {
        let a = (c % self.n * self.k + self.shift) % self.n;
        let d = 1 + (c / self.n) % self.m;
        (a as u32, ((a + d) % self.n) as u32)
    }
}

/// c2c_messages.jsonl: exactly `c2c_messages` messages in conversations of heavy-tailed
/// length, times strictly increasing within each conversation and before the export, both
/// sides talking. The first 8 messages use the 8 element types in turn.
pub(super) fn c2c_messages(w: &World, dir: &Path) -> Result<FileStats, super::GenError> {
    let mut out = RecordWriter::create(dir, ExportFile::C2cMessages, w.cfg.gzip)?;
    let total = w.cfg.c2c_messages;
    if total == 0 {
        return out.finish();
    }
    let mut rng = w.rng(Stream::C2c);
    let mut spoiler = w.spoiler(Stream::C2c, Target::C2c);
    let conversations = total.div_ceil(CONVERSATION_MEAN) as usize;
    let weights: Vec<f64> = (0..conversations).map(|_| pareto(&mut rng)).collect();
    let rest = total - conversations as u64;
    let extra = split(&mut rng, rest, &weights, |_| CONVERSATION_MAX - 1);
    drop(weights);
    let n = u64::from(w.n);
    let pairs = Pairs {
        n,
        m: ((n - 1) / 2).max(1),
        k: coprime_multiplier(n),
        shift: rng.gen_range(0..n),
    };
    let width = digits(total).max(8);
    let latest = w.exported_at() - 1;
    let mut index = 0u64;
    let mut prev: Option<String> = None;
    for (c, &more) in extra.iter().enumerate() {
        let len = 1 + u64::from(more);
        let (a, b) = pairs.pair(c as u64);
        let (ida, idb) = (w.account_id(a), w.account_id(b));
        let earliest = w.account_created(a).max(w.account_created(b)) + 1;
        // A conversation lasts `len` typical gaps: a chat, an afternoon, weeks of catching up.
        let gap = [60, 600, 3_600, 86_400][rng.gen_range(0..4)];
        let span = (len as i64).saturating_mul(gap).min(latest - earliest);
        let start = rng.gen_range(earliest..=latest - span);
        let mut times = Timeline::new(start, start + span, len);
        let mut seq = rng.gen_bool(0.6).then(|| rng.gen_range(1..1_000_000u32));
        let mut a_speaks = rng.gen_bool(0.5);
        for _ in 0..len {
            if !rng.gen_bool(0.6) {
                a_speaks = !a_speaks;
            }
            let (from, to) = if a_speaks { (&ida, &idb) } else { (&idb, &ida) };
            let forced = (index < ELEMENT_TYPES.len() as u64).then_some(index as usize);
            let rec = C2cMessage {
                id: format!("m{:0width$}", index + 1),
                from: from.clone(),
                to: to.clone(),
                sent_at: times.next(&mut rng),
                seq,
                random: seq.map(|_| rng.gen()),
                body: elements::body(&mut rng, forced),
                custom_data: elements::custom_data(&mut rng),
            };
            seq = seq.map(|s| s.wrapping_add(1));
            index += 1;
            let protect = forced.is_some();
            spoiler.write_keyed(&mut out, &rec, &rec.id, &mut prev, protect, None)?;
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn pairs_do_not_repeat_and_never_pair_an_account_with_itself() {
        for n in [3u64, 10, 11, 64, 1000] {
            let m = (n - 1) / 2;
            let pairs = Pairs {
                n,
                m,
                k: coprime_multiplier(n),
                shift: 5 % n,
            };
            let mut seen = BTreeSet::new();
            for c in 0..n * m {
                let (a, b) = pairs.pair(c);
                assert_ne!(a, b);
                assert!(seen.insert((a.min(b), a.max(b))), "n={n} c={c}");
            }
        }
    }
}
