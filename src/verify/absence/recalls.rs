//! Recalled messages read back. A group message: at the MsgSeq the target gave it at import
//! (`group_msg_get_simple`, from that MsgSeq down, only as far as the recalled ones reach; the
//! whole history when one was imported before MsgSeqs were recorded) it is a recalled
//! placeholder, or nothing. A one-to-one message: `admin_getroammsg` over the conversation
//! between the first and last recalled message shows it recalled (`MsgFlagBits` 8), or not
//! at all. Messages past the roaming retention cannot be read back and say so.

use super::{Absence, NO_GROUP};
use crate::model::{C2cMessage, GroupMessage};
use crate::store::queries::PendingItem;
use crate::store::verify::ItemResult;
use crate::store::Kind;
use crate::tim::requests;
use crate::tim::wire::c2c::{ImportMsg, RoamMsg};
use crate::tim::wire::group::ImportGroupMsgItem;
use crate::tim::wire::group_read::{GroupMsgGetSimple, RspMsg};
use crate::verify::groups::{by_group, GroupEntry, GroupIndex};
use crate::verify::messages::{find_c2c, in_order, read_conversation, read_group};
use crate::verify::{for_each_unit, Answered, Ctx};
use std::collections::{BTreeMap, HashMap};

/// Messages per `group_msg_get_simple` page (the documented cap).
const GROUP_PAGE: u32 = 20;
/// `IsPlaceMsg` of a recalled group message.
const RECALLED_PLACE: u32 = 2;
/// The `MsgFlagBits` bit of a recalled one-to-one message.
const RECALLED_FLAG: u32 = 8;
/// `admin_getroammsg`'s codes for a sender or receiver that does not exist.
const NO_ACCOUNT: [i64; 2] = [90008, 90003];

/// A recalled group message against the group's history as read back: the message at its
/// MsgSeq (`seq`), or, without one, the one its import sent (`want`).
fn group_recalled(found: &[RspMsg], seq: Option<u32>, want: &ImportGroupMsgItem) -> Absence {
    let m = match seq {
        Some(s) => found.iter().find(|m| m.MsgSeq == u64::from(s)),
        None => found.iter().find(|m| {
            m.From_Account == want.From_Account
                && m.MsgTimeStamp == want.SendTime
                && Some(m.MsgRandom) == want.Random
        }),
    };
    match m {
        None => Absence::Gone("not in the group's history".into()),
        Some(m) if m.IsPlaceMsg == RECALLED_PLACE => Absence::Gone("recalled".into()),
        Some(m) if m.IsPlaceMsg != 0 => {
            Absence::Gone(format!("a placeholder (IsPlaceMsg {})", m.IsPlaceMsg))
        }
        Some(m) => Absence::There(format!("MsgSeq {} reads back, not recalled", m.MsgSeq)),
    }
}

/// The messages of `group` at `seqs` and just below them: from the highest down, a page at a
/// time, skipping to the next MsgSeq not yet covered. An error with one of [`NO_GROUP`] is
/// the answer instead; `None` if a read failed or the pass stopped.
async fn read_seqs(
    ctx: &Ctx,
    group: &GroupEntry,
    mut seqs: Vec<u64>,
) -> Option<Answered<Vec<RspMsg>>> {
    seqs.sort_unstable_by(|a, b| b.cmp(a));
    seqs.dedup();
    let mut out = Vec::new();
    let mut next = seqs.first().copied();
    let unit = || format!("group_msg_get_simple of {}", group.target_id);
    while let Some(top) = next {
        let req = GroupMsgGetSimple {
            GroupId: group.target_id.clone(),
            ReqMsgSeq: Some(top),
            ReqMsgNumber: GROUP_PAGE,
        };
        let resp = match ctx.read_or(&req, &NO_GROUP, unit).await? {
            Answered::Read(resp) => resp,
            Answered::Code(code) => return Some(Answered::Code(code)),
        };
        let lowest = resp.RspMsgList.iter().map(|m| m.MsgSeq).min();
        out.extend(resp.RspMsgList);
        // Each page ends below the one before (`low` ≤ `top`), so this ends.
        next = match lowest {
            Some(low) if resp.IsFinished != 1 => seqs.iter().copied().find(|s| *s < low),
            _ => None,
        };
    }
    Some(Answered::Read(out))
}

/// Recalled group messages: a group at a time.
pub(crate) async fn group_messages(ctx: &Ctx, index: &GroupIndex, items: Vec<PendingItem>) {
    let kind = Kind::GroupRecall;
    for_each_unit(ctx, by_group(items), |(group, items)| async move {
        let Some(entry) = index.get(group) else {
            ctx.unit_failed(format!(
                "{}: group item {group} is not staged",
                kind.stage()
            ));
            return;
        };
        let Some(records) = ctx.records::<GroupMessage>(kind, &items) else {
            return;
        };
        let times: Vec<i64> = items.iter().map(|i| i.t).collect();
        let sent = requests::import_group_msg(&entry.target_id, &records, &times).MsgList;
        let mut results = Vec::new();
        let mut readable = Vec::new();
        for (item, want) in items.iter().zip(sent) {
            if ctx.too_old(want.SendTime) {
                results.push(ctx.unreadable(kind, item.id));
            } else {
                readable.push((item, want));
            }
        }
        if !readable.is_empty() {
            let seqs: Option<Vec<u64>> =
                readable.iter().map(|(i, _)| i.seq.map(u64::from)).collect();
            let found = match seqs {
                Some(seqs) => read_seqs(ctx, entry, seqs).await,
                None => read_group(ctx, entry, &NO_GROUP).await,
            };
            match found {
                None => return,
                Some(Answered::Code(code)) => results.extend(readable.iter().map(|(i, _)| {
                    let why = format!("the group does not exist (group_msg_get_simple {code})");
                    Absence::Gone(why).result(kind, i.id)
                })),
                Some(Answered::Read(found)) => results.extend(
                    readable
                        .iter()
                        .map(|(i, want)| group_recalled(&found, i.seq, want).result(kind, i.id)),
                ),
            }
        }
        ctx.sink.put(results, Vec::new()).await;
    })
    .await;
}

/// A recalled one-to-one message against its conversation as read back.
fn c2c_recalled(want: &ImportMsg, by_key: &HashMap<&str, &RoamMsg>, found: &[RoamMsg]) -> Absence {
    match find_c2c(want, by_key, found) {
        None => Absence::Gone("not in the conversation's history".into()),
        Some(m) if m.MsgFlagBits & RECALLED_FLAG != 0 => Absence::Gone("recalled".into()),
        Some(m) => Absence::There(format!("MsgKey {} reads back, not recalled", m.MsgKey)),
    }
}

/// Recalled one-to-one messages: a conversation at a time (as staged with the messages; one
/// staged without one is read alone).
pub(crate) async fn c2c_messages(ctx: &Ctx, items: Vec<PendingItem>) {
    let mut units: BTreeMap<i64, Vec<PendingItem>> = BTreeMap::new();
    let mut alone = Vec::new();
    for item in items {
        match item.parent {
            Some(scope) => units.entry(scope).or_default().push(item),
            None => alone.push(vec![item]),
        }
    }
    let units: Vec<Vec<PendingItem>> = units.into_values().chain(alone).collect();
    for_each_unit(ctx, units, |items| async move {
        let Some(records) = ctx.records::<C2cMessage>(Kind::C2cRecall, &items) else {
            return;
        };
        let mut by_pair: BTreeMap<(String, String), Vec<(&PendingItem, &C2cMessage)>> =
            BTreeMap::new();
        for (item, msg) in items.iter().zip(&records) {
            let pair = in_order(&msg.from, &msg.to);
            by_pair.entry(pair).or_default().push((item, msg));
        }
        for ((a, b), msgs) in by_pair {
            if !check_conversation(ctx, (&a, &b), &msgs).await {
                return;
            }
        }
    })
    .await;
}

/// Reads back one conversation's recalled messages; false when the read failed or the pass
/// stopped.
async fn check_conversation(
    ctx: &Ctx,
    pair: (&str, &str),
    msgs: &[(&PendingItem, &C2cMessage)],
) -> bool {
    let kind = Kind::C2cRecall;
    let mut results: Vec<ItemResult> = Vec::new();
    let mut readable = Vec::new();
    for (item, msg) in msgs {
        if ctx.too_old(msg.sent_at) {
            results.push(ctx.unreadable(kind, item.id));
        } else {
            readable.push((*item, requests::import_msg(msg, item.seq)));
        }
    }
    let times = readable.iter().map(|(_, m)| m.MsgTimeStamp);
    if let (Some(min), Some(max)) = (times.clone().min(), times.max()) {
        match read_conversation(ctx, pair, (min, max), &NO_ACCOUNT).await {
            None => return false,
            Some(Answered::Code(code)) => results.extend(readable.iter().map(|(i, _)| {
                let why = format!(
                    "an account of the conversation does not exist (admin_getroammsg {code})"
                );
                Absence::Unknown(why).result(kind, i.id)
            })),
            Some(Answered::Read(found)) => {
                let by_key: HashMap<&str, &RoamMsg> =
                    found.iter().map(|m| (m.MsgKey.as_str(), m)).collect();
                results.extend(
                    readable
                        .iter()
                        .map(|(i, want)| c2c_recalled(want, &by_key, &found).result(kind, i.id)),
                );
            }
        }
    }
    ctx.sink.put(results, Vec::new()).await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{from_value, json};

    fn rsp(seq: u64, place: u32) -> RspMsg {
        from_value(
            json!({"From_Account": "u1", "IsPlaceMsg": place, "MsgRandom": 7,
            "MsgSeq": seq, "MsgTimeStamp": 100 + seq as i64}),
        )
        .unwrap()
    }

    #[test]
    fn a_recalled_group_message_reads_back_as_a_placeholder_or_not_at_all() {
        let found = [rsp(3, 0), rsp(4, 2), rsp(5, 1)];
        let want = ImportGroupMsgItem {
            From_Account: "u1".into(),
            SendTime: 103,
            Random: Some(7),
            MsgBody: Vec::new(),
            CloudCustomData: None,
        };
        assert_eq!(
            group_recalled(&found, Some(4), &want),
            Absence::Gone("recalled".into())
        );
        assert!(matches!(
            group_recalled(&found, Some(5), &want),
            Absence::Gone(_)
        ));
        assert_eq!(
            group_recalled(&found, Some(9), &want),
            Absence::Gone("not in the group's history".into())
        );
        assert_eq!(
            group_recalled(&found, Some(3), &want),
            Absence::There("MsgSeq 3 reads back, not recalled".into())
        );
        // Without a MsgSeq, found by what its import sent.
        assert!(matches!(
            group_recalled(&found, None, &want),
            Absence::There(_)
        ));
    }

    #[test]
    fn a_recalled_c2c_message_reads_back_flagged_or_not_at_all() {
        let roam = |flags: u32| -> RoamMsg {
            from_value(json!({"From_Account": "a", "To_Account": "b", "MsgSeq": 1,
                "MsgRandom": 7, "MsgTimeStamp": 100, "MsgFlagBits": flags,
                "MsgKey": "1_7_100"}))
            .unwrap()
        };
        let want = ImportMsg {
            SyncFromOldSystem: 1,
            From_Account: "a".into(),
            To_Account: "b".into(),
            MsgSeq: Some(1),
            MsgRandom: 7,
            MsgTimeStamp: 100,
            MsgBody: Vec::new(),
            CloudCustomData: None,
        };
        let check = |found: Vec<RoamMsg>| {
            let by_key = found.iter().map(|m| (m.MsgKey.as_str(), m)).collect();
            c2c_recalled(&want, &by_key, &found)
        };
        assert_eq!(check(vec![roam(8)]), Absence::Gone("recalled".into()));
        assert_eq!(
            check(Vec::new()),
            Absence::Gone("not in the conversation's history".into())
        );
        assert_eq!(
            check(vec![roam(0)]),
            Absence::There("MsgKey 1_7_100 reads back, not recalled".into())
        );
    }
}
