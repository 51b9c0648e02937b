//! groups.jsonl, group_members.jsonl and group_messages.jsonl.

use super::bad::{BadCtx, Target};
use super::shapes::{digits, pareto, split, Timeline};
use super::write::RecordWriter;
use super::{content, elements};
use super::{FileStats, GroupPlan, Stream, World, DAY};
use crate::model::element::ELEMENT_TYPES;
use crate::model::{Group, GroupMember, GroupMessage, GroupType, JoinOption, MemberRole};
use crate::source::ExportFile;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

/// The member cap of each group type (Tencent's defaults; the plan never exceeds them).
fn type_cap(kind: GroupType) -> u32 {
    match kind {
        GroupType::Private => 200,
        GroupType::Public => 2_000,
        GroupType::Chatroom => 10_000,
        GroupType::Community | GroupType::Avchatroom => 100_000,
    }
}

/// Sizes (heavy-tailed, totalling about `groups × members_per_group`), member layout and
/// creation time of every group.
pub(super) fn plan(w: &World, rng: &mut ChaCha8Rng) -> Vec<GroupPlan> {
    let (g, n) = (w.cfg.groups, w.n);
    if g == 0 {
        return Vec::new();
    }
    let mean = w.cfg.members_per_group;
    let base = if mean >= 3.0 { 3 } else { 1 }.min(n);
    let cap = |i: usize| type_cap(World::group_type(i as u32)).min(n);
    let total = (f64::from(g) * mean).round() as u64;
    let weights: Vec<f64> = (0..g).map(|_| pareto(rng)).collect();
    let extra = split(
        rng,
        total.saturating_sub(u64::from(base) * u64::from(g)),
        &weights,
        |i| cap(i) - base,
    );
    let e = w.exported_at();
    extra
        .iter()
        .map(|&more| {
            let size = base + more;
            let start = rng.gen_range(0..n);
            let stride = rng.gen_range(1..=(n / size).max(1));
            let earliest = w.account_created(start).max(e - 4 * 365 * DAY) + 1;
            GroupPlan {
                start,
                stride,
                size,
                created_at: rng.gen_range(earliest..=e - 7 * DAY),
            }
        })
        .collect()
}

/// groups.jsonl: types round-robin over private, public, chatroom and community.
pub(super) fn groups(w: &World, dir: &Path) -> Result<FileStats, super::GenError> {
    let mut out = RecordWriter::create(dir, ExportFile::Groups, w.cfg.gzip)?;
    let mut rng = w.rng(Stream::Groups);
    let mut spoiler = w.spoiler(Stream::Groups, Target::Group);
    for (g, plan) in (0..).zip(&w.groups) {
        let id = w.group_id(g);
        let kind = World::group_type(g);
        let avatar_url = rng
            .gen_bool(0.5)
            .then(|| format!("https://cdn.example-im.com/group/{id}.png"));
        let mut custom = BTreeMap::new();
        if rng.gen_ratio(1, 10) {
            let category = content::pick(&mut rng, &["sports", "study", "work", "家庭"]);
            if w.cfg.custom_keys {
                custom.insert("Category".to_string(), category.to_string());
            }
        }
        let rec = Group {
            kind,
            name: content::group_name(&mut rng, g),
            owner: Some(w.account_id(plan.start)),
            introduction: rng
                .gen_bool(0.6)
                .then(|| content::introduction(&mut rng).to_string()),
            notification: rng
                .gen_bool(0.3)
                .then(|| content::notification(&mut rng).to_string()),
            avatar_url,
            max_members: Some(type_cap(kind)),
            join_option: rng.gen_bool(0.8).then(|| match rng.gen_range(0..3) {
                0 => JoinOption::Free,
                1 => JoinOption::NeedPermission,
                _ => JoinOption::Disabled,
            }),
            created_at: plan.created_at,
            custom,
            id,
        };
        spoiler.append(&mut out, &rec)?;
    }
    out.finish()
}

/// group_members.jsonl: the owner first, a few admins, then members; distinct accounts,
/// all joined after the group was created and before the export.
pub(super) fn members(w: &World, dir: &Path) -> Result<FileStats, super::GenError> {
    let mut out = RecordWriter::create(dir, ExportFile::GroupMembers, w.cfg.gzip)?;
    let mut rng = w.rng(Stream::Members);
    let mut spoiler = w.spoiler(Stream::Members, Target::Member);
    let mut prev: Option<(String, String)> = None;
    for (g, plan) in (0..).zip(&w.groups) {
        let group = w.group_id(g);
        let admins = if plan.size > 2 {
            (1 + plan.size / 40).min(5)
        } else {
            0
        };
        for k in 0..plan.size {
            let role = match k {
                0 => Some(MemberRole::Owner),
                k if k <= admins => Some(MemberRole::Admin),
                _ => rng.gen_bool(0.5).then_some(MemberRole::Member),
            };
            let unread = rng
                .gen_ratio(3, 10)
                .then(|| (pareto(&mut rng) * 3.0) as u32);
            let rec = GroupMember {
                group: group.clone(),
                member: w.account_id(w.member(plan, k)),
                role,
                joined_at: (k == 0 || rng.gen_ratio(19, 20)).then(|| w.joined_at(g, plan, k)),
                unread,
            };
            let ctx = BadCtx {
                prev: prev.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
                group_created_at: Some(plan.created_at),
            };
            if spoiler.replace(&mut out, &rec, &ctx)? {
                prev = Some((rec.group, rec.member));
            }
        }
    }
    out.finish()
}

/// group_messages.jsonl: exactly `group_messages` messages, shared out by a heavy-tailed
/// weight that grows with the group's size; each sent by a member who had joined, after the
/// group was created and before the export. The first 8 use the 8 element types in turn.
pub(super) fn messages(w: &World, dir: &Path) -> Result<FileStats, super::GenError> {
    let mut out = RecordWriter::create(dir, ExportFile::GroupMessages, w.cfg.gzip)?;
    let total = w.cfg.group_messages;
    if total == 0 || w.groups.is_empty() {
        return out.finish();
    }
    let mut rng = w.rng(Stream::GroupMessages);
    let mut spoiler = w.spoiler(Stream::GroupMessages, Target::GroupMessage);
    let weights: Vec<f64> = w
        .groups
        .iter()
        .map(|p| pareto(&mut rng) * f64::from(p.size).sqrt())
        .collect();
    let counts = split(&mut rng, total, &weights, |_| u32::MAX);
    drop(weights);
    let width = digits(total).max(8);
    let latest = w.exported_at() - 1;
    let mut index = 0u64;
    let mut prev: Option<String> = None;
    for ((g, plan), &count) in (0..).zip(&w.groups).zip(&counts) {
        if count == 0 {
            continue;
        }
        let group = w.group_id(g);
        // The owner joined at created_at + 1, so every time from created_at + 2 has a sender.
        let mut times = Timeline::new(plan.created_at + 2, latest, u64::from(count));
        for _ in 0..count {
            let sent_at = times.next(&mut rng);
            // Active members talk most: member k with density falling as k grows.
            let mut k = 0;
            for _ in 0..2 {
                let u = rng.gen::<f64>();
                let candidate = ((f64::from(plan.size) * u * u * u) as u32).min(plan.size - 1);
                if w.joined_at(g, plan, candidate) < sent_at {
                    k = candidate;
                    break;
                }
            }
            let forced = (index < ELEMENT_TYPES.len() as u64).then_some(index as usize);
            let rec = GroupMessage {
                id: format!("gm{:0width$}", index + 1),
                group: group.clone(),
                from: w.account_id(w.member(plan, k)),
                sent_at,
                random: rng.gen_bool(0.5).then(|| rng.gen()),
                body: elements::body(&mut rng, forced),
                custom_data: elements::custom_data(&mut rng),
            };
            index += 1;
            let (protect, created) = (forced.is_some(), Some(plan.created_at));
            spoiler.write_keyed(&mut out, &rec, &rec.id, &mut prev, protect, created)?;
        }
    }
    out.finish()
}
