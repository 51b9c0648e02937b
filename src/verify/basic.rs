//! Accounts (`account_check`), profiles (`portrait_get`), friend entries (`friend_check`) and
//! groups (`get_group_info`): batched reads, one result per item.

use super::compare::{check, result, verdict};
use super::groups::{GroupEntry, GroupIndex};
use super::{for_each_unit, Ctx};
use crate::model::{Account, Friend, Profile};
use crate::store::queries::PendingItem;
use crate::store::verify::{ItemResult, Outcome};
use crate::store::Kind;
use crate::tim::api::Api;
use crate::tim::requests;
use crate::tim::wire::account::{AccountCheck, AccountCheckItem, CheckItem};
use crate::tim::wire::group_read::{GetGroupInfo, GroupInfo};
use crate::tim::wire::profile::{PortraitGet, UserProfileItem};
use crate::tim::wire::sns::{FriendCheck, InfoItem};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Splits items into runs of at most `api`'s batch size.
pub(super) fn batches(items: Vec<PendingItem>, api: Api) -> Vec<Vec<PendingItem>> {
    let size = api.default_batch().unwrap_or(1).max(1);
    items.chunks(size).map(<[PendingItem]>::to_vec).collect()
}

/// An item's entry in a batched read's answer: its code (0: read) and why not.
trait AnswerEntry {
    fn code(&self) -> (i64, &str);
}

impl AnswerEntry for AccountCheckItem {
    fn code(&self) -> (i64, &str) {
        (self.ResultCode, &self.ResultInfo)
    }
}

impl AnswerEntry for UserProfileItem {
    fn code(&self) -> (i64, &str) {
        (self.ResultCode, &self.ResultInfo)
    }
}

impl AnswerEntry for InfoItem {
    fn code(&self) -> (i64, &str) {
        (self.ResultCode, &self.ResultInfo)
    }
}

impl AnswerEntry for GroupInfo {
    fn code(&self) -> (i64, &str) {
        (self.ErrorCode, &self.ErrorInfo)
    }
}

/// An item's result from `api`'s answer, `entry` being the item's entry in it: `read` says
/// what an entry read with code 0 holds; another code, or no entry, is missing.
fn from_answer<E: AnswerEntry>(
    kind: Kind,
    id: i64,
    api: &str,
    entry: Option<&E>,
    read: impl FnOnce(&E) -> ItemResult,
) -> ItemResult {
    let (outcome, detail) = match entry.map(|e| (e, e.code())) {
        Some((e, (0, _))) => return read(e),
        Some((_, (code, info))) => (Outcome::Missing, format!("{api} code {code}: {info}")),
        None => (Outcome::Missing, format!("not in the {api} answer")),
    };
    result(kind, id, outcome, detail)
}

/// Verified when the target's `field` reads `want`, else missing with what it reads.
fn status_is(kind: Kind, id: i64, field: &str, got: &str, want: &str) -> ItemResult {
    if got == want {
        result(kind, id, Outcome::Verified, "")
    } else {
        result(kind, id, Outcome::Missing, format!("{field} {got}"))
    }
}

/// Accounts: `account_check` says `Imported`.
pub(crate) async fn accounts(ctx: &Ctx, items: Vec<PendingItem>) {
    for_each_unit(ctx, batches(items, Api::AccountCheck), |batch| async move {
        let Some(records) = ctx.records::<Account>(Kind::Account, &batch) else {
            return;
        };
        let req = AccountCheck {
            CheckItem: records
                .iter()
                .map(|a| CheckItem {
                    UserID: a.id.clone(),
                })
                .collect(),
        };
        let Some(resp) = ctx
            .read(&req, || format!("account_check from {}", records[0].id))
            .await
        else {
            return;
        };
        let results = batch
            .iter()
            .zip(&records)
            .map(|(item, a)| {
                let entry = resp.ResultItem.iter().find(|r| r.UserID == a.id);
                from_answer(Kind::Account, item.id, "account_check", entry, |r| {
                    status_is(
                        Kind::Account,
                        item.id,
                        "AccountStatus",
                        &r.AccountStatus,
                        "Imported",
                    )
                })
            })
            .collect();
        ctx.sink.put(results, Vec::new()).await;
    })
    .await;
}

/// Profiles: every field the import set reads back the same from `portrait_get`.
pub(crate) async fn profiles(ctx: &Ctx, items: Vec<PendingItem>) {
    for_each_unit(ctx, batches(items, Api::PortraitGet), |batch| async move {
        let Some(records) = ctx.records::<Profile>(Kind::Profile, &batch) else {
            return;
        };
        let wanted: Vec<_> = records.iter().map(requests::portrait_set).collect();
        let mut tags: Vec<String> = wanted
            .iter()
            .flatten()
            .flat_map(|p| p.ProfileItem.iter().map(|t| t.Tag.clone()))
            .collect();
        tags.sort();
        tags.dedup();
        let mut results: Vec<ItemResult> = Vec::new();
        let mut ask = Vec::new();
        for ((item, profile), want) in batch.iter().zip(&records).zip(&wanted) {
            match want {
                // Nothing was set, so there is nothing that could be missing.
                None => results.push(result(Kind::Profile, item.id, Outcome::Verified, "")),
                Some(_) => ask.push(profile.id.clone()),
            }
        }
        if !ask.is_empty() {
            let req = PortraitGet {
                To_Account: ask,
                TagList: tags,
            };
            let Some(resp) = ctx
                .read(&req, || format!("portrait_get from {}", req.To_Account[0]))
                .await
            else {
                return;
            };
            for ((item, profile), want) in batch.iter().zip(&records).zip(&wanted) {
                let Some(want) = want else { continue };
                let got = resp
                    .UserProfileItem
                    .iter()
                    .find(|u| u.To_Account == profile.id);
                results.push(from_answer(
                    Kind::Profile,
                    item.id,
                    "portrait_get",
                    got,
                    |u| {
                        let mut diffs = Vec::new();
                        for t in &want.ProfileItem {
                            let found = u
                                .ProfileItem
                                .iter()
                                .find(|f| f.Tag == t.Tag)
                                .map(|f| f.Value.clone());
                            check(&mut diffs, &t.Tag, Some(t.Value.clone()), found);
                        }
                        verdict(Kind::Profile, item.id, &diffs)
                    },
                ));
            }
        }
        ctx.sink.put(results, Vec::new()).await;
    })
    .await;
}

/// Friend entries (or their deletions) as units of `friend_check`: one owner's each (an
/// entry's parent is its owner's account item), at most a call's worth.
pub(super) fn owner_units(items: Vec<PendingItem>) -> Vec<Vec<PendingItem>> {
    let mut by_owner: BTreeMap<Option<i64>, Vec<PendingItem>> = BTreeMap::new();
    for item in items {
        by_owner.entry(item.parent).or_default().push(item);
    }
    by_owner
        .into_values()
        .flat_map(|v| batches(v, Api::FriendCheck))
        .collect()
}

/// Friend entries: `friend_check` (one way) shows the owner has the friend.
pub(crate) async fn friends(ctx: &Ctx, items: Vec<PendingItem>) {
    for_each_unit(ctx, owner_units(items), |batch| async move {
        let Some(records) = ctx.records::<Friend>(Kind::Friend, &batch) else {
            return;
        };
        let owner = records[0].owner.clone();
        let req = FriendCheck {
            From_Account: owner.clone(),
            To_Account: records.iter().map(|f| f.friend.clone()).collect(),
            CheckType: "CheckResult_Type_Single".into(),
        };
        let Some(resp) = ctx.read(&req, || format!("friend_check of {owner}")).await else {
            return;
        };
        let results = batch
            .iter()
            .zip(&records)
            .map(|(item, f)| {
                let entry = resp.InfoItem.iter().find(|i| i.To_Account == f.friend);
                from_answer(Kind::Friend, item.id, "friend_check", entry, |i| {
                    let want = "CheckResult_Type_AWithB";
                    status_is(Kind::Friend, item.id, "Relation", &i.Relation, want)
                })
            })
            .collect();
        ctx.sink.put(results, Vec::new()).await;
    })
    .await;
}

/// Groups: `get_group_info` finds each, with the fields the import set.
pub(crate) async fn groups(ctx: &Ctx, index: &GroupIndex, items: Vec<PendingItem>) {
    for_each_unit(ctx, batches(items, Api::GetGroupInfo), |batch| async move {
        let entries: Vec<_> = batch
            .iter()
            .filter_map(|i| index.get(i.id).map(|g| (i, g)))
            .collect();
        let req = group_info_request(&entries);
        if req.GroupIdList.is_empty() {
            return;
        }
        let Some(resp) = ctx
            .read(&req, || {
                format!("get_group_info from {}", req.GroupIdList[0])
            })
            .await
        else {
            return;
        };
        let results = entries
            .iter()
            .map(|(item, g)| {
                let entry = resp.GroupInfo.iter().find(|i| i.GroupId == g.target_id);
                from_answer(Kind::Group, item.id, "get_group_info", entry, |info| {
                    compare_group(item.id, g, info)
                })
            })
            .collect();
        ctx.sink.put(results, Vec::new()).await;
    })
    .await;
}

/// One `get_group_info` for a batch of groups: base fields and the custom keys the export
/// uses; no member list (that is the members check, and a big group's list could pass the
/// 1 MB answer cap).
fn group_info_request(entries: &[(&PendingItem, &GroupEntry)]) -> GetGroupInfo {
    let mut keys: Vec<&String> = entries
        .iter()
        .flat_map(|(_, g)| g.record.custom.keys())
        .collect();
    keys.sort();
    keys.dedup();
    GetGroupInfo {
        GroupIdList: entries.iter().map(|(_, g)| g.target_id.clone()).collect(),
        ResponseFilter: Some(json!({
            "GroupBaseInfoFilter": ["Type", "Name", "Introduction", "Notification", "FaceUrl",
                "Owner_Account", "CreateTime", "MaxMemberNum", "ApplyJoinOption"],
            "MemberInfoFilter": [],
            "AppDefinedDataFilter_Group": keys,
        })),
    }
}

/// A group the target has, field by field against what its import sent.
fn compare_group(id: i64, g: &GroupEntry, info: &GroupInfo) -> ItemResult {
    let want = requests::import_group(&g.record);
    let mut d = Vec::new();
    let s = |v: &Option<String>| v.as_ref().map(|s| Value::String(s.clone()));
    check(&mut d, "Type", Some(json!(want.Type)), s(&info.Type));
    check(&mut d, "Name", Some(json!(want.Name)), s(&info.Name));
    let texts = [
        ("Owner_Account", want.Owner_Account, &info.Owner_Account),
        ("Introduction", want.Introduction, &info.Introduction),
        ("Notification", want.Notification, &info.Notification),
        ("FaceUrl", want.FaceUrl, &info.FaceUrl),
    ];
    for (field, want, got) in texts {
        check(&mut d, field, want.map(Value::String), s(got));
    }
    check(
        &mut d,
        "CreateTime",
        want.CreateTime.map(|t| json!(t)),
        info.CreateTime.map(|t| json!(t)),
    );
    check(
        &mut d,
        "MaxMemberNum",
        want.MaxMemberCount.map(|n| json!(n)),
        info.MaxMemberNum.map(|n| json!(n)),
    );
    check(
        &mut d,
        "ApplyJoinOption",
        want.ApplyJoinOption.map(Value::String),
        s(&info.ApplyJoinOption),
    );
    for kv in want.AppDefinedData.unwrap_or_default() {
        let found = info
            .AppDefinedData
            .iter()
            .flatten()
            .find(|f| f.Key == kv.Key)
            .map(|f| Value::String(f.Value.clone()));
        check(
            &mut d,
            &format!("AppDefinedData.{}", kv.Key),
            Some(Value::String(kv.Value)),
            found,
        );
    }
    verdict(Kind::Group, id, &d)
}
