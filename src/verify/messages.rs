//! Messages: a group's history (`group_msg_get_simple`, paged backwards) and a conversation's
//! (`admin_getroammsg`, paged by `LastMsgKey`), matched per message on its de-duplication key
//! and compared by content hash and order. Messages older than the roaming retention cannot
//! be read back and say so.

use super::compare::{body_diff, result};
use super::groups::{GroupCheck, GroupEntry};
use super::{for_each_unit, Answered, Ctx};
use crate::model::{C2cMessage, GroupMessage};
use crate::store::queries::PendingItem;
use crate::store::verify::{Extra, ItemResult, Outcome};
use crate::store::{pair_key, Kind};
use crate::tim::api::Api;
use crate::tim::paging::Pager;
use crate::tim::requests;
use crate::tim::wire::c2c::{AdminGetRoamMsg, ImportMsg, RoamMsg};
use crate::tim::wire::group_read::{GroupMsgGetSimple, RspMsg};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Messages per `group_msg_get_simple` page (the documented cap).
const GROUP_PAGE: u32 = 20;
/// Messages asked for per `admin_getroammsg` page (the server may send fewer).
const ROAM_PAGE: u32 = 100;

impl Ctx {
    /// The oldest send time still readable (no floor without a retention limit).
    fn too_old_floor(&self) -> i64 {
        self.roaming_floor.unwrap_or(i64::MIN)
    }

    /// Whether a message sent at `t` is past the roaming retention.
    pub(super) fn too_old(&self, t: i64) -> bool {
        self.roaming_floor.is_some_and(|floor| t < floor)
    }

    pub(super) fn unreadable(&self, kind: Kind, id: i64) -> ItemResult {
        result(
            kind,
            id,
            Outcome::Unreadable,
            "older than the roaming retention: the target no longer returns it",
        )
    }
}

/// A group's whole readable history, oldest first; `None` if a read failed or the pass stopped.
/// An error with one of `codes` (the group does not exist) is the answer instead.
pub(super) async fn read_group(
    ctx: &Ctx,
    group: &GroupEntry,
    codes: &[i64],
) -> Option<Answered<Vec<RspMsg>>> {
    let mut out = Vec::new();
    let mut below: Option<u64> = None;
    let mut pager = Pager::descending(Api::GroupMsgGetSimple);
    let unit = || format!("group_msg_get_simple of {}", group.target_id);
    loop {
        let req = GroupMsgGetSimple {
            GroupId: group.target_id.clone(),
            ReqMsgSeq: below,
            ReqMsgNumber: GROUP_PAGE,
        };
        let resp = match ctx.read_or(&req, codes, unit).await? {
            Answered::Read(resp) => resp,
            Answered::Code(code) => return Some(Answered::Code(code)),
        };
        let oldest = resp.RspMsgList.iter().map(|m| m.MsgSeq).min();
        out.extend(resp.RspMsgList);
        match oldest {
            Some(seq) if resp.IsFinished == 0 && seq > 1 => {
                below = Some(ctx.advance(&mut pager, seq - 1, unit)?);
            }
            _ => break,
        }
    }
    out.sort_by_key(|m| m.MsgSeq);
    Some(Answered::Read(out))
}

/// Group messages: each group's imported messages read back, in order, with their content.
pub(super) struct GroupMessages;

impl GroupCheck for GroupMessages {
    const KIND: Kind = Kind::GroupMessage;
    type Record = GroupMessage;
    type Found = Vec<RspMsg>;

    async fn read(ctx: &Ctx, group: &GroupEntry) -> Option<Vec<RspMsg>> {
        match read_group(ctx, group, &[]).await? {
            Answered::Read(msgs) => Some(msgs),
            Answered::Code(_) => None,
        }
    }

    fn compare(
        ctx: &Ctx,
        entry: &GroupEntry,
        items: &[PendingItem],
        records: &[GroupMessage],
        found: &Vec<RspMsg>,
    ) -> (Vec<ItemResult>, Vec<Extra>) {
        // The times fixed at staging: what was sent, shifted past same-second bursts.
        let times: Vec<i64> = items.iter().map(|i| i.t).collect();
        let sent = requests::import_group_msg(&entry.target_id, records, &times).MsgList;
        // Placeholders (deleted, expired) carry no body or key to match.
        let by_key: HashMap<(&str, i64, u32), &RspMsg> = found
            .iter()
            .filter(|m| m.IsPlaceMsg == 0)
            .map(|m| ((m.From_Account.as_str(), m.MsgTimeStamp, m.MsgRandom), m))
            .collect();
        let mut matched = HashSet::new();
        let mut last_seq = 0u64;
        let mut results = Vec::new();
        for (item, want) in items.iter().zip(&sent) {
            let key = (
                want.From_Account.as_str(),
                want.SendTime,
                want.Random.unwrap_or(0),
            );
            let Some(got) = by_key.get(&key) else {
                results.push(if ctx.too_old(want.SendTime) {
                    ctx.unreadable(Kind::GroupMessage, item.id)
                } else {
                    result(
                        Kind::GroupMessage,
                        item.id,
                        Outcome::Missing,
                        "not in the group's history on the target",
                    )
                });
                continue;
            };
            matched.insert(got.MsgSeq);
            let mut diffs = Vec::new();
            // The read API does not return CloudCustomData: the body alone is compared.
            if let Some(d) = body_diff((&want.MsgBody, None), (&got.MsgBody, None)) {
                diffs.push(d);
            }
            if got.MsgSeq < last_seq {
                diffs.push(format!(
                    "order: MsgSeq {} comes before MsgSeq {} of an earlier message",
                    got.MsgSeq, last_seq
                ));
            }
            last_seq = last_seq.max(got.MsgSeq);
            results.push(super::compare::verdict(Kind::GroupMessage, item.id, &diffs));
        }
        let extras = extra_group_messages(entry, found, &matched, ctx.too_old_floor());
        (results, extras)
    }
}

/// Messages in the group that no imported message accounts for. Only messages no newer than
/// the newest imported one count: later ones are live traffic after the cutover.
fn extra_group_messages(
    entry: &GroupEntry,
    found: &[RspMsg],
    matched: &HashSet<u64>,
    floor: i64,
) -> Vec<Extra> {
    let newest = found
        .iter()
        .filter(|m| matched.contains(&m.MsgSeq))
        .map(|m| m.MsgSeq)
        .max()
        .unwrap_or(0);
    found
        .iter()
        .filter(|m| m.IsPlaceMsg == 0 && m.MsgTimeStamp >= floor)
        .filter(|m| !matched.contains(&m.MsgSeq) && m.MsgSeq < newest)
        .map(|m| Extra {
            kind: Kind::GroupMessage,
            scope: entry.target_id.clone(),
            key: format!("MsgSeq {}", m.MsgSeq),
            detail: format!(
                "from {} at {}: not in the export",
                m.From_Account, m.MsgTimeStamp
            ),
        })
        .collect()
}

/// A conversation's two accounts, the lesser first, whoever sent.
pub(super) fn in_order(x: &str, y: &str) -> (String, String) {
    let (a, b) = if x <= y { (x, y) } else { (y, x) };
    (a.to_string(), b.to_string())
}

/// One conversation's imported messages, keyed by the pair of accounts.
type Conversation = (String, String, Vec<(PendingItem, C2cMessage)>);

/// One-to-one messages: each sampled conversation read back and matched on `MsgKey`. Items
/// are grouped by the conversation staging recorded for them, and a conversation's records
/// are read only when it is checked, so memory holds a few conversations, not the export.
pub(crate) async fn c2c(ctx: &Ctx, items: Vec<PendingItem>, checked: &HashSet<i64>) {
    let mut by_scope: BTreeMap<i64, Vec<PendingItem>> = BTreeMap::new();
    let mut unscoped = Vec::new();
    for item in items {
        match item.parent {
            Some(scope) => by_scope.entry(scope).or_default().push(item),
            None => unscoped.push(item),
        }
    }
    let mut units: Vec<Vec<PendingItem>> = by_scope
        .into_iter()
        .filter(|(scope, items)| ctx.to_read(Kind::C2cMessage, &scope.to_string(), items, checked))
        .map(|(_, items)| items)
        .collect();
    // Items staged by an earlier cutover carry no conversation: grouped by their records.
    if !unscoped.is_empty() {
        let Some(conversations) = conversations(ctx, &unscoped) else {
            return;
        };
        units.extend(conversations.into_iter().filter_map(|(key, (_, _, msgs))| {
            let items: Vec<PendingItem> = msgs.iter().map(|(i, _)| *i).collect();
            ctx.to_read(Kind::C2cMessage, &key, &items, checked)
                .then_some(items)
        }));
    }
    for_each_unit(ctx, units, |items| async move {
        let Some(records) = ctx.records::<C2cMessage>(Kind::C2cMessage, &items) else {
            return;
        };
        let Some(first) = records.first() else {
            return;
        };
        let (a, b) = in_order(&first.from, &first.to);
        check_conversation(ctx, (a, b, items.into_iter().zip(records).collect())).await;
    })
    .await;
}

/// Reads one conversation back and matches its imported messages.
async fn check_conversation(ctx: &Ctx, (a, b, msgs): Conversation) {
    let mut results = Vec::new();
    let mut readable = Vec::new();
    for (item, msg) in msgs {
        if ctx.too_old(msg.sent_at) {
            results.push(ctx.unreadable(Kind::C2cMessage, item.id));
        } else {
            readable.push((item, requests::import_msg(&msg, item.seq)));
        }
    }
    let (Some(min), Some(max)) = (
        readable.iter().map(|(_, m)| m.MsgTimeStamp).min(),
        readable.iter().map(|(_, m)| m.MsgTimeStamp).max(),
    ) else {
        ctx.sink.put(results, Vec::new()).await;
        return;
    };
    let Some(Answered::Read(found)) = read_conversation(ctx, (&a, &b), (min, max), &[]).await
    else {
        return;
    };
    let by_key: HashMap<&str, &RoamMsg> = found.iter().map(|m| (m.MsgKey.as_str(), m)).collect();
    let mut matched = HashSet::new();
    for (item, want) in &readable {
        results.push(match find_c2c(want, &by_key, &found) {
            None => result(
                Kind::C2cMessage,
                item.id,
                Outcome::Missing,
                "not in the conversation's history on the target",
            ),
            Some(got) => {
                matched.insert(got.MsgKey.as_str());
                compare_c2c(item.id, want, got)
            }
        });
    }
    let extras = extra_c2c_messages(&a, &b, &found, &matched);
    ctx.sink.put(results, extras).await;
}

/// The imported messages of `items` grouped by conversation; `None` when the export could
/// not be read (the pass is stopping).
fn conversations(ctx: &Ctx, items: &[PendingItem]) -> Option<BTreeMap<String, Conversation>> {
    let mut conversations: BTreeMap<String, Conversation> = BTreeMap::new();
    for chunk in items.chunks(1024) {
        let records = ctx.records::<C2cMessage>(Kind::C2cMessage, chunk)?;
        for (item, msg) in chunk.iter().zip(records) {
            let (a, b) = in_order(&msg.from, &msg.to);
            conversations
                .entry(pair_key(&a, &b))
                .or_insert_with(|| (a, b, Vec::new()))
                .2
                .push((*item, msg));
        }
    }
    Some(conversations)
}

/// The message read back that an import request made: by its `MsgKey` when the request set
/// `MsgSeq`, else by sender, `MsgRandom` and time.
pub(super) fn find_c2c<'a>(
    want: &ImportMsg,
    by_key: &HashMap<&str, &'a RoamMsg>,
    found: &'a [RoamMsg],
) -> Option<&'a RoamMsg> {
    match want.msg_key() {
        Some(key) => by_key.get(key.as_str()).copied(),
        None => found.iter().find(|m| {
            m.From_Account == want.From_Account
                && m.MsgRandom == want.MsgRandom
                && m.MsgTimeStamp == want.MsgTimeStamp
        }),
    }
}

/// A message read back against its import request: the sender and the content.
fn compare_c2c(id: i64, want: &ImportMsg, got: &RoamMsg) -> ItemResult {
    let mut diffs = Vec::new();
    if got.From_Account != want.From_Account {
        diffs.push(format!(
            "From_Account: expected {}, found {}",
            want.From_Account, got.From_Account
        ));
    }
    if let Some(d) = body_diff(
        (&want.MsgBody, want.CloudCustomData.as_deref()),
        (&got.MsgBody, got.CloudCustomData.as_deref()),
    ) {
        diffs.push(d);
    }
    super::compare::verdict(Kind::C2cMessage, id, &diffs)
}

/// Messages in the conversation of `a` and `b` that no imported message accounts for.
fn extra_c2c_messages(a: &str, b: &str, found: &[RoamMsg], matched: &HashSet<&str>) -> Vec<Extra> {
    found
        .iter()
        .filter(|m| !matched.contains(m.MsgKey.as_str()))
        .map(|m| Extra {
            kind: Kind::C2cMessage,
            scope: format!("{a}↔{b}"),
            key: m.MsgKey.clone(),
            detail: format!(
                "from {} at {}: not in the export",
                m.From_Account, m.MsgTimeStamp
            ),
        })
        .collect()
}

/// A conversation's messages between `min` and `max` (inclusive), every page. An error with
/// one of `codes` (an account does not exist) is the answer instead.
pub(super) async fn read_conversation(
    ctx: &Ctx,
    (a, b): (&str, &str),
    (min, max): (i64, i64),
    codes: &[i64],
) -> Option<Answered<Vec<RoamMsg>>> {
    let mut out: Vec<RoamMsg> = Vec::new();
    let (mut max_time, mut last_key) = (max, None);
    let mut pager = Pager::new(Api::AdminGetRoamMsg);
    let unit = || format!("admin_getroammsg of {a}↔{b}");
    loop {
        let req = AdminGetRoamMsg {
            From_Account: a.to_string(),
            To_Account: b.to_string(),
            MaxCnt: ROAM_PAGE,
            MinTime: min,
            MaxTime: max_time,
            LastMsgKey: last_key.clone(),
        };
        let resp = match ctx.read_or(&req, codes, unit).await? {
            Answered::Read(resp) => resp,
            Answered::Code(code) => return Some(Answered::Code(code)),
        };
        let empty = resp.MsgList.is_empty();
        out.extend(resp.MsgList);
        if resp.Complete == 1 || empty {
            return Some(Answered::Read(out));
        }
        let (time, key) = ctx.advance(&mut pager, (resp.LastMsgTime, resp.LastMsgKey), unit)?;
        (max_time, last_key) = (time, Some(key));
    }
}
