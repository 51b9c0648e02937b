//! accounts.jsonl, profiles.jsonl and friends.jsonl.

use super::bad::{BadCtx, Target};
use super::content;
use super::shapes::{distinct_offsets, pareto, split};
use super::write::RecordWriter;
use super::{FileStats, Stream, World};
use crate::model::{Account, AllowFriend, CustomValue, Friend, Gender, Profile};
use crate::source::ExportFile;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// Share of friendships stored both ways (A→B and B→A).
const MUTUAL: f64 = 0.9;
/// The most friends one owner picks (others may add more by picking the owner): well under
/// Tencent's 3000-friend limit.
const PICKS_MAX: u32 = 1000;

/// accounts.jsonl: `u0000001`…, with nick, avatar and creation time.
pub(super) fn accounts(w: &World, dir: &Path) -> Result<FileStats, super::GenError> {
    let mut out = RecordWriter::create(dir, ExportFile::Accounts, w.cfg.gzip)?;
    let mut rng = w.rng(Stream::Accounts);
    let mut spoiler = w.spoiler(Stream::Accounts, Target::Account);
    for i in 0..w.n {
        let id = w.account_id(i);
        let avatar_url = rng
            .gen_bool(0.7)
            .then(|| format!("https://cdn.example-im.com/avatar/{id}.jpg"));
        let rec = Account {
            nick: rng.gen_bool(0.95).then(|| content::nick(&mut rng)),
            avatar_url,
            created_at: Some(w.account_created(i)),
            id,
        };
        spoiler.append(&mut out, &rec)?;
    }
    out.finish()
}

fn profile(rng: &mut ChaCha8Rng, id: String) -> Profile {
    let gender = rng.gen_bool(0.9).then(|| match rng.gen_range(0..20) {
        0..=8 => Gender::Female,
        9..=17 => Gender::Male,
        _ => Gender::Unknown,
    });
    let birthday = rng.gen_bool(0.6).then(|| {
        rng.gen_range(1960..=2008) * 10_000 + rng.gen_range(1..=12) * 100 + rng.gen_range(1..=28)
    });
    let allow_friend = rng.gen_bool(0.7).then(|| match rng.gen_range(0..10) {
        0..=6 => AllowFriend::NeedConfirm,
        7..=8 => AllowFriend::AllowAny,
        _ => AllowFriend::DenyAny,
    });
    let mut custom = BTreeMap::new();
    if rng.gen_ratio(15, 100) {
        let hobby = content::pick(rng, &["chess", "篮球", "photography", "读书", "hiking"]);
        custom.insert("Hobby".to_string(), hobby.to_string());
        if rng.gen_bool(0.3) {
            custom.insert("Vip".to_string(), rng.gen_range(1..=5).to_string());
        }
    }
    Profile {
        id,
        gender,
        birthday,
        location: rng
            .gen_bool(0.5)
            .then(|| content::location(rng).to_string()),
        signature: rng
            .gen_bool(0.6)
            .then(|| content::signature(rng).to_string()),
        allow_friend,
        language: rng.gen_bool(0.3).then(|| rng.gen_range(0..10)),
        level: rng.gen_bool(0.4).then(|| rng.gen_range(0..100)),
        role: rng.gen_bool(0.1).then(|| rng.gen_range(0..3)),
        custom,
    }
}

/// profiles.jsonl: about 85% of the accounts have one.
pub(super) fn profiles(w: &World, dir: &Path) -> Result<FileStats, super::GenError> {
    let mut out = RecordWriter::create(dir, ExportFile::Profiles, w.cfg.gzip)?;
    let mut rng = w.rng(Stream::Profiles);
    let mut spoiler = w.spoiler(Stream::Profiles, Target::Profile);
    let mut prev: Option<String> = None;
    for i in 0..w.n {
        if !rng.gen_bool(0.85) {
            continue;
        }
        let mut rec = profile(&mut rng, w.account_id(i));
        if !w.cfg.custom_keys {
            rec.custom.clear();
        }
        spoiler.write_keyed(&mut out, &rec, &rec.id, &mut prev, false, None)?;
    }
    out.finish()
}

/// One friend entry of `owner` for `friend`.
fn entry(rng: &mut ChaCha8Rng, owner: String, friend: String, source: &str, at: i64) -> Friend {
    let mut custom = BTreeMap::new();
    if rng.gen_ratio(5, 100) {
        if rng.gen_bool(0.5) {
            custom.insert("Close".to_string(), CustomValue::Int(rng.gen_range(0..=1)));
        } else {
            custom.insert("Tag".to_string(), CustomValue::Text("vip".into()));
        }
    }
    Friend {
        owner,
        friend,
        remark: rng.gen_bool(0.3).then(|| content::remark(rng)),
        groups: content::friend_groups(rng),
        source: source.to_string(),
        wording: rng
            .gen_ratio(15, 100)
            .then(|| content::wording(rng).to_string()),
        added_at: Some(at),
        custom,
    }
}

/// friends.jsonl: owner `i` picks distinct offsets `d` in `1..=(n-1)/2` and befriends
/// `(i + d) mod n`; as every offset is under `n/2`, no pair comes up twice and nobody
/// befriends themselves. About 90% of the picks are stored both ways. The number of picks
/// per owner is heavy-tailed, totalling `accounts × friends_per_account / 1.9` so that the
/// lines total about `accounts × friends_per_account`.
pub(super) fn friends(w: &World, dir: &Path) -> Result<FileStats, super::GenError> {
    let mut out = RecordWriter::create(dir, ExportFile::Friends, w.cfg.gzip)?;
    let mut rng = w.rng(Stream::Friends);
    let mut spoiler = w.spoiler(Stream::Friends, Target::Friend);
    let n = w.n;
    let m = (n - 1) / 2;
    let total = (f64::from(n) * w.cfg.friends_per_account / (1.0 + MUTUAL)).round() as u64;
    let cap = m.min(PICKS_MAX);
    let weights: Vec<f64> = (0..n).map(|_| pareto(&mut rng)).collect();
    let picks = split(&mut rng, total, &weights, |_| cap);
    drop(weights);
    let latest = w.exported_at() - 1;
    let mut offsets = Vec::new();
    let mut prev: Option<(String, String)> = None;
    for (i, &k) in (0..n).zip(&picks) {
        distinct_offsets(&mut rng, k, m, &mut offsets);
        for &d in &offsets {
            let j = ((u64::from(i) + u64::from(d)) % u64::from(n)) as u32;
            let earliest = w.account_created(i).max(w.account_created(j)) + 1;
            let at = rng.gen_range(earliest..=latest);
            let source = content::source(&mut rng);
            let (a, b) = (w.account_id(i), w.account_id(j));
            let mutual = rng.gen_bool(MUTUAL);
            let forward = entry(&mut rng, a.clone(), b.clone(), source, at);
            let back = mutual.then(|| {
                let back_at = (at + rng.gen_range(0..3600)).min(latest);
                entry(&mut rng, b, a, source, back_at)
            });
            for mut rec in std::iter::once(forward).chain(back) {
                if !w.cfg.custom_keys {
                    rec.custom.clear();
                }
                let ctx = BadCtx {
                    prev: prev.as_ref().map(|(o, f)| (o.as_str(), f.as_str())),
                    group_created_at: None,
                };
                if spoiler.replace(&mut out, &rec, &ctx)? {
                    prev = Some((rec.owner, rec.friend));
                }
            }
        }
    }
    out.finish()
}
