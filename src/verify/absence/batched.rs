//! Deleted accounts (`account_check`), friend entries (`friend_check`, one way) and groups
//! (`get_group_info`) read back in batches, one result per deletion.

use super::{Absence, NO_GROUP};
use crate::model::group_id::target_group_id;
use crate::model::{Account, Friend, Group};
use crate::store::queries::PendingItem;
use crate::store::verify::ItemResult;
use crate::store::Kind;
use crate::tim::api::Api;
use crate::tim::wire::account::{AccountCheck, AccountCheckItem, CheckItem};
use crate::tim::wire::group_read::{GetGroupInfo, GroupInfo};
use crate::tim::wire::sns::{FriendCheck, InfoItem};
use crate::verify::basic::{batches, owner_units};
use crate::verify::{for_each_unit, Answered, Ctx};
use serde_json::json;
use std::collections::BTreeMap;

/// `account_check`'s code for an account that does not exist.
const NO_ACCOUNT: i64 = 70107;
/// `friend_check`'s code for an account that does not exist (the owner: for the whole call).
const NO_FRIEND_ACCOUNT: i64 = 30003;

/// A deleted account as `account_check` answered for it.
fn account(entry: Option<&AccountCheckItem>) -> Absence {
    match entry {
        None => Absence::Unknown("not in the account_check answer".into()),
        Some(e) if e.ResultCode == NO_ACCOUNT => Absence::Gone("the account does not exist".into()),
        Some(e) if e.ResultCode != 0 => Absence::Unknown(format!(
            "account_check code {}: {}",
            e.ResultCode, e.ResultInfo
        )),
        Some(e) if e.AccountStatus == "NotImported" => {
            Absence::Gone("account_check: NotImported".into())
        }
        Some(e) => Absence::There(format!("account_check: AccountStatus {}", e.AccountStatus)),
    }
}

/// Deleted accounts: `account_check` says they are not there.
pub(crate) async fn accounts(ctx: &Ctx, items: Vec<PendingItem>) {
    for_each_unit(ctx, batches(items, Api::AccountCheck), |batch| async move {
        let kind = Kind::AccountDeletion;
        let Some(records) = ctx.records::<Account>(kind, &batch) else {
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
        let unit = || format!("account_check from {}", records[0].id);
        let Some(resp) = ctx.read(&req, unit).await else {
            return;
        };
        let results = batch
            .iter()
            .zip(&records)
            .map(|(item, a)| {
                let entry = resp.ResultItem.iter().find(|r| r.UserID == a.id);
                account(entry).result(kind, item.id)
            })
            .collect();
        ctx.sink.put(results, Vec::new()).await;
    })
    .await;
}

/// A deleted friend entry as `friend_check` (one way) answered for it.
fn friend(entry: Option<&InfoItem>) -> Absence {
    match entry {
        None => Absence::Unknown("not in the friend_check answer".into()),
        Some(e) if e.ResultCode == NO_FRIEND_ACCOUNT => {
            Absence::Gone("the friend's account does not exist".into())
        }
        Some(e) if e.ResultCode != 0 => Absence::Unknown(format!(
            "friend_check code {}: {}",
            e.ResultCode, e.ResultInfo
        )),
        Some(e) if e.Relation.ends_with("_AWithB") || e.Relation.ends_with("_BothWay") => {
            Absence::There(format!("friend_check: Relation {}", e.Relation))
        }
        Some(e) => Absence::Gone(format!("friend_check: Relation {}", e.Relation)),
    }
}

/// Deleted friend entries: `friend_check` from the owner shows no relation with the friend
/// (or an account of the entry does not exist). One owner's per call, owners read side by
/// side (a unit per owner: a deletion's parent is its owner's account item).
pub(crate) async fn friends(ctx: &Ctx, items: Vec<PendingItem>) {
    for_each_unit(ctx, owner_units(items), |batch| async move {
        let Some(records) = ctx.records::<Friend>(Kind::FriendDeletion, &batch) else {
            return;
        };
        let mut by_owner: BTreeMap<&str, Vec<(&PendingItem, &Friend)>> = BTreeMap::new();
        for (item, f) in batch.iter().zip(&records) {
            by_owner
                .entry(f.owner.as_str())
                .or_default()
                .push((item, f));
        }
        for (owner, entries) in by_owner {
            if !check_owner(ctx, owner, &entries).await {
                return;
            }
        }
    })
    .await;
}

/// Reads back one owner's deleted entries; false when the read failed or the pass stopped.
async fn check_owner(ctx: &Ctx, owner: &str, entries: &[(&PendingItem, &Friend)]) -> bool {
    let kind = Kind::FriendDeletion;
    let req = FriendCheck {
        From_Account: owner.to_string(),
        To_Account: entries.iter().map(|(_, f)| f.friend.clone()).collect(),
        CheckType: "CheckResult_Type_Single".into(),
    };
    let unit = || format!("friend_check of {owner}");
    let results = match ctx.read_or(&req, &[NO_FRIEND_ACCOUNT], unit).await {
        None => return false,
        Some(Answered::Code(code)) => entries
            .iter()
            .map(|(item, _)| {
                let why = format!("the owner's account does not exist (friend_check code {code})");
                Absence::Gone(why).result(kind, item.id)
            })
            .collect(),
        Some(Answered::Read(resp)) => entries
            .iter()
            .map(|(item, f)| {
                let entry = resp.InfoItem.iter().find(|i| i.To_Account == f.friend);
                friend(entry).result(kind, item.id)
            })
            .collect(),
    };
    ctx.sink.put(results, Vec::new()).await;
    true
}

/// A destroyed group as `get_group_info` answered for it.
fn group(entry: Option<&GroupInfo>) -> Absence {
    match entry {
        None => Absence::Unknown("not in the get_group_info answer".into()),
        Some(g) if NO_GROUP.contains(&g.ErrorCode) => Absence::Gone(format!(
            "get_group_info code {}: {}",
            g.ErrorCode, g.ErrorInfo
        )),
        Some(g) if g.ErrorCode != 0 => Absence::Unknown(format!(
            "get_group_info code {}: {}",
            g.ErrorCode, g.ErrorInfo
        )),
        Some(g) => Absence::There(format!(
            "get_group_info answers the group ({})",
            g.Type.as_deref().unwrap_or("type not given")
        )),
    }
}

/// Destroyed groups: `get_group_info` answers that they do not exist.
pub(crate) async fn groups(ctx: &Ctx, items: Vec<PendingItem>) {
    for_each_unit(ctx, batches(items, Api::GetGroupInfo), |batch| async move {
        let kind = Kind::GroupDeletion;
        let Some(records) = ctx.records::<Group>(kind, &batch) else {
            return;
        };
        let ids: Vec<String> = records
            .iter()
            .map(|g| target_group_id(&g.id, g.kind).into_owned())
            .collect();
        let req = GetGroupInfo {
            GroupIdList: ids.clone(),
            ResponseFilter: Some(json!({"GroupBaseInfoFilter": ["Type"], "MemberInfoFilter": []})),
        };
        let unit = || format!("get_group_info from {}", ids[0]);
        let Some(resp) = ctx.read(&req, unit).await else {
            return;
        };
        let results: Vec<ItemResult> = batch
            .iter()
            .zip(&ids)
            .map(|(item, id)| {
                let entry = resp.GroupInfo.iter().find(|g| &g.GroupId == id);
                group(entry).result(kind, item.id)
            })
            .collect();
        ctx.sink.put(results, Vec::new()).await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::from_value;

    #[test]
    fn accounts_are_gone_when_not_imported_or_not_there() {
        let item = |code: i64, status: &str| -> AccountCheckItem {
            from_value(json!({"UserID": "u1", "ResultCode": code, "AccountStatus": status}))
                .unwrap()
        };
        assert!(matches!(
            account(Some(&item(0, "NotImported"))),
            Absence::Gone(_)
        ));
        assert!(matches!(account(Some(&item(70107, ""))), Absence::Gone(_)));
        assert_eq!(
            account(Some(&item(0, "Imported"))),
            Absence::There("account_check: AccountStatus Imported".into())
        );
        assert!(matches!(
            account(Some(&item(70500, ""))),
            Absence::Unknown(_)
        ));
        assert!(matches!(account(None), Absence::Unknown(_)));
    }

    #[test]
    fn friend_entries_are_gone_without_a_one_way_relation() {
        let item = |code: i64, relation: &str| -> InfoItem {
            from_value(json!({"To_Account": "u2", "ResultCode": code, "Relation": relation}))
                .unwrap()
        };
        let gone = |r: &str| matches!(friend(Some(&item(0, r))), Absence::Gone(_));
        assert!(gone("CheckResult_Type_NoRelation"));
        assert!(gone("CheckResult_Type_BWithA"));
        assert!(!gone("CheckResult_Type_AWithB"));
        assert!(!gone("CheckResult_Type_BothWay"));
        assert!(matches!(friend(Some(&item(30003, ""))), Absence::Gone(_)));
        assert!(matches!(
            friend(Some(&item(30001, ""))),
            Absence::Unknown(_)
        ));
        assert!(matches!(friend(None), Absence::Unknown(_)));
    }

    #[test]
    fn groups_are_gone_when_the_target_says_they_do_not_exist() {
        let info = |code: i64| -> GroupInfo {
            from_value(json!({"GroupId": "g1", "ErrorCode": code, "Type": "Public"})).unwrap()
        };
        assert!(matches!(group(Some(&info(10010))), Absence::Gone(_)));
        assert!(matches!(group(Some(&info(10015))), Absence::Gone(_)));
        assert_eq!(
            group(Some(&info(0))),
            Absence::There("get_group_info answers the group (Public)".into())
        );
        assert!(matches!(group(Some(&info(10007))), Absence::Unknown(_)));
        assert!(matches!(group(None), Absence::Unknown(_)));
    }
}
