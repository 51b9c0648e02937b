//! The friend lists of the scratch memory: what the rules of an owner's list need (its count
//! of friends, its group names, whether it has a friend already), kept so that an entry costs
//! no random page of the file.
//!
//! - Per owner (those of account index below [`OWNERS_IN_MEMORY`]): the count of friends and
//!   of group names in a vector, and its group names as bits of an interned set of at most 32
//!   names. Past 32 distinct names in the file, every owner's names go to the file's
//!   `friend_group` table, as do those of the owners past the cap, with their counts.
//! - The (owner, friend) pairs: a Bloom filter in memory (32 MiB) answers "never seen" for
//!   nearly every new entry; the pairs themselves are kept exactly, the newest in memory and
//!   the rest in sorted runs in the file (each written in order, so its inserts append), which
//!   a pair the filter may have seen is looked up in.

use super::ScratchMemory;
use crate::source::memory::ListView;
use rusqlite::params;
use std::collections::{HashMap, HashSet};

/// Owners (account indexes) whose counts and names are kept in memory: 8 bytes each, at
/// most 32 MiB.
pub(super) const OWNERS_IN_MEMORY: u32 = 1 << 22;
/// Distinct group names that get a bit.
pub(super) const NAME_BITS: usize = 32;
/// Bits of the Bloom filter (2²⁸: 32 MiB), and its hash functions: about 0.3 % of new pairs
/// are looked up after 18 M pairs.
const BLOOM_BITS: u64 = 1 << 28;
const BLOOM_HASHES: u64 = 4;
/// Pairs in memory before they go to the file as a sorted run (7/8 of 2²⁰: a set of 2²⁰
/// slots, 9 MiB).
pub(super) const PENDING_PAIRS: usize = (1 << 20) / 8 * 7;

/// The friend lists' state (of the current file).
pub(super) struct FriendState {
    /// Per owner below the cap: friends (low 16 bits) and group names (high 16).
    tally: Vec<u32>,
    /// Per owner below the cap: its group names, as bits of `names`.
    masks: Vec<u32>,
    /// The names with a bit; `None` once one more came than there are bits.
    names: Option<HashMap<String, u32>>,
    /// The Bloom filter of the pairs pushed (empty until the first).
    bloom: Vec<u64>,
    /// Pairs pushed since the last run.
    pending: HashSet<u64>,
    /// Runs written to the file (`friend_run0`, …).
    runs: u32,
}

impl Default for FriendState {
    fn default() -> Self {
        Self {
            tally: Vec::new(),
            masks: Vec::new(),
            names: Some(HashMap::new()),
            bloom: Vec::new(),
            pending: HashSet::new(),
            runs: 0,
        }
    }
}

/// An (owner, friend) pair as one integer.
fn pair(owner: u32, friend: u32) -> u64 {
    (u64::from(owner) << 32) | u64::from(friend)
}

/// The filter's bit positions of `p`.
fn bloom_bits(p: u64) -> impl Iterator<Item = u64> {
    // splitmix64's finalizer spreads the pair's bits.
    let mut h = p.wrapping_add(0x9E37_79B9_7F4A_7C15);
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 31;
    let (h1, h2) = (h & 0xFFFF_FFFF, (h >> 32) | 1);
    (0..BLOOM_HASHES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % BLOOM_BITS)
}

impl ScratchMemory {
    /// What `owner`'s list says about adding `friend` with the group `names`.
    pub(super) fn view_list(&mut self, owner: u32, friend: u32, names: &[&String]) -> ListView {
        let duplicate = self.pair_seen(pair(owner, friend));
        let (friends, groups) = self.tally_of(owner);
        let new_names = names
            .iter()
            .filter(|n| !self.has_name(owner, n))
            .map(|n| (*n).clone())
            .collect();
        ListView {
            duplicate,
            friends,
            groups,
            new_names,
        }
    }

    /// Adds `friend` and the group names new to the list to `owner`'s list.
    pub(super) fn push_list(&mut self, owner: u32, friend: u32, new_names: &[String]) {
        self.pair_add(pair(owner, friend));
        for name in new_names {
            self.add_name(owner, name);
        }
        let groups = u32::try_from(new_names.len()).unwrap_or(u32::MAX);
        if owner < self.caps.owners {
            let at = owner as usize;
            if self.friends.tally.len() <= at {
                self.friends.tally.resize(at + 1, 0);
            }
            let tally = &mut self.friends.tally[at];
            *tally = tally.saturating_add(1 + (groups << 16));
            return;
        }
        let sql = "INSERT INTO friend_tally (owner, friends, groups) VALUES (?1, 1, ?2)
                   ON CONFLICT (owner) DO UPDATE SET friends = friends + 1,
                   groups = groups + excluded.groups";
        self.write(sql, params![owner, groups]);
    }

    /// Forgets the lists (the next file has none).
    pub(super) fn forget_lists(&mut self) {
        for run in 0..self.friends.runs {
            let result = self
                .conn
                .execute_batch(&format!("DROP TABLE friend_run{run}"));
            self.ok(result);
        }
        self.friends = FriendState::default();
    }

    fn tally_of(&self, owner: u32) -> (usize, usize) {
        if owner < self.caps.owners {
            let tally = self.friends.tally.get(owner as usize).copied().unwrap_or(0);
            return ((tally & 0xFFFF) as usize, (tally >> 16) as usize);
        }
        let tally = "SELECT friends, groups FROM friend_tally WHERE owner = ?1";
        self.read(tally, [owner], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap_or((0, 0))
    }

    fn has_name(&self, owner: u32, name: &str) -> bool {
        if let (true, Some(names)) = (owner < self.caps.owners, &self.friends.names) {
            let mask = self.friends.masks.get(owner as usize).copied().unwrap_or(0);
            return names.get(name).is_some_and(|bit| mask & (1 << bit) != 0);
        }
        let has_name = "SELECT 1 FROM friend_group WHERE owner = ?1 AND name = ?2";
        self.read(has_name, params![owner, name], |r| r.get::<_, i64>(0))
            .is_some()
    }

    fn add_name(&mut self, owner: u32, name: &str) {
        if owner < self.caps.owners && self.friends.names.is_some() {
            if let Some(bit) = self.name_bit(name) {
                let at = owner as usize;
                if self.friends.masks.len() <= at {
                    self.friends.masks.resize(at + 1, 0);
                }
                self.friends.masks[at] |= 1 << bit;
                return;
            }
            self.names_to_file();
        }
        let sql = "INSERT INTO friend_group (owner, name) VALUES (?1, ?2)";
        self.write(sql, params![owner, name]);
    }

    /// The bit of `name`, given one if it is new and bits are left.
    fn name_bit(&mut self, name: &str) -> Option<u32> {
        let names = self.friends.names.as_mut()?;
        if let Some(bit) = names.get(name) {
            return Some(*bit);
        }
        let bit = u32::try_from(names.len())
            .ok()
            .filter(|&b| (b as usize) < self.caps.names)?;
        names.insert(name.to_string(), bit);
        Some(bit)
    }

    /// Every owner's names to the file: there are more than bits.
    fn names_to_file(&mut self) {
        let Some(names) = self.friends.names.take() else {
            return;
        };
        let masks = std::mem::take(&mut self.friends.masks);
        let sql = "INSERT INTO friend_group (owner, name) VALUES (?1, ?2)";
        for (owner, mask) in (0u32..).zip(masks) {
            for (name, bit) in &names {
                if mask & (1 << bit) != 0 {
                    self.write(sql, params![owner, name]);
                }
            }
        }
    }

    fn pair_seen(&self, p: u64) -> bool {
        let bloom = &self.friends.bloom;
        if bloom.is_empty()
            || !bloom_bits(p).all(|b| bloom[(b / 64) as usize] & (1 << (b % 64)) != 0)
        {
            return false;
        }
        if self.friends.pending.contains(&p) {
            return true;
        }
        let key = i64::from_ne_bytes(p.to_ne_bytes());
        (0..self.friends.runs).any(|run| {
            let sql = format!("SELECT 1 FROM friend_run{run} WHERE p = ?1");
            self.read(&sql, [key], |r| r.get::<_, i64>(0)).is_some()
        })
    }

    fn pair_add(&mut self, p: u64) {
        if self.friends.bloom.is_empty() {
            self.friends.bloom = vec![0; (BLOOM_BITS / 64) as usize];
            self.friends.pending = HashSet::with_capacity(self.caps.pairs);
        }
        for b in bloom_bits(p) {
            self.friends.bloom[(b / 64) as usize] |= 1 << (b % 64);
        }
        self.friends.pending.insert(p);
        if self.friends.pending.len() >= self.caps.pairs {
            self.write_run();
        }
    }

    /// The pending pairs to the file, as one sorted run.
    fn write_run(&mut self) {
        let mut pairs: Vec<u64> = self.friends.pending.drain().collect();
        pairs.sort_unstable();
        let run = self.friends.runs;
        self.friends.runs += 1;
        let create = format!("CREATE TABLE friend_run{run} (p INTEGER PRIMARY KEY)");
        let result = self.conn.execute_batch(&create);
        self.ok(result);
        let insert = format!("INSERT INTO friend_run{run} (p) VALUES (?1)");
        for p in pairs {
            self.write(&insert, [i64::from_ne_bytes(p.to_ne_bytes())]);
        }
    }
}
