//! The client against the simulator for every group API: imports, live operations with their
//! callbacks, and read-back.

#![allow(clippy::unwrap_used)] // a panic in a test helper is a test failure

use crate::common;

use common::{client, sim};
use cutover::sim::config::SimConfig;
use cutover::tim::wire::account::MultiaccountImport;
use cutover::tim::wire::group::*;
use cutover::tim::wire::group_read::*;
use cutover::tim::wire::{MsgElement, Response};
use cutover::tim::TimClient;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn setup(c: &TimClient) {
    let ids: Vec<String> = ["owner", "m1", "m2", "m3"]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    c.call(&MultiaccountImport {
        Accounts: Some(ids),
        AccountList: None,
    })
    .await
    .unwrap();
}

fn group(id: &str, created: i64) -> ImportGroup {
    ImportGroup {
        Owner_Account: Some("owner".into()),
        Type: "Public".into(),
        GroupId: Some(id.into()),
        Name: "Chess club".into(),
        CreateTime: Some(created),
        ..ImportGroup::default()
    }
}

fn msgs(times: &[i64]) -> Vec<ImportGroupMsgItem> {
    times
        .iter()
        .map(|t| ImportGroupMsgItem {
            From_Account: "m1".into(),
            SendTime: *t,
            Random: Some(*t as u32),
            MsgBody: vec![MsgElement::text("hi")],
            CloudCustomData: None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_import_then_read_back() {
    let handle = sim(SimConfig::default()).await;
    let c = client(&handle);
    setup(&c).await;
    let t0 = now() - 10_000;
    let made = c.call(&group("g1", t0)).await.unwrap();
    assert_eq!(made.GroupId, "g1");
    let again = c.call(&group("g1", t0)).await.unwrap_err();
    assert_eq!(again.code(), Some(10021), "a used id");

    let first = c
        .call(&ImportGroupMsg {
            GroupId: "g1".into(),
            RecentContactFlag: None,
            MsgList: msgs(&[t0 + 1, t0 + 2, t0 + 3]),
        })
        .await
        .unwrap();
    let seqs: Vec<u64> = first.ImportMsgResult.iter().map(|r| r.MsgSeq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let replay = c
        .call(&ImportGroupMsg {
            GroupId: "g1".into(),
            RecentContactFlag: None,
            MsgList: msgs(&[t0 + 3]),
        })
        .await
        .unwrap();
    assert_eq!(
        replay.item_failures()[0].code,
        Some(10004),
        "not newer than the newest message"
    );
    let too_many = c
        .call(&ImportGroupMsg {
            GroupId: "g1".into(),
            RecentContactFlag: None,
            MsgList: msgs(&[
                t0 + 4,
                t0 + 5,
                t0 + 6,
                t0 + 7,
                t0 + 8,
                t0 + 9,
                t0 + 10,
                t0 + 11,
            ]),
        })
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Some(10004));

    let members = c
        .call(&ImportGroupMember {
            GroupId: "g1".into(),
            MemberList: vec![
                ImportMember {
                    Member_Account: "m1".into(),
                    Role: Some("Admin".into()),
                    JoinTime: Some(t0 + 1),
                    UnreadMsgNum: Some(2),
                },
                ImportMember {
                    Member_Account: "owner".into(),
                    Role: None,
                    JoinTime: None,
                    UnreadMsgNum: None,
                },
                ImportMember {
                    Member_Account: "ghost".into(),
                    Role: None,
                    JoinTime: None,
                    UnreadMsgNum: None,
                },
                ImportMember {
                    Member_Account: "m2".into(),
                    Role: None,
                    JoinTime: Some(t0 - 1),
                    UnreadMsgNum: None,
                },
            ],
        })
        .await
        .unwrap();
    let results: Vec<u32> = members.MemberList.iter().map(|m| m.Result).collect();
    assert_eq!(results, [1, 2, 0, 0]);
    assert_eq!(members.item_failures().len(), 2);
    c.call(&SetUnreadMsgNum {
        GroupId: "g1".into(),
        Member_Account: "m1".into(),
        UnreadMsgNum: 99,
    })
    .await
    .unwrap();

    let info = c
        .call(&GetGroupInfo {
            GroupIdList: vec!["g1".into(), "nope".into()],
            ResponseFilter: None,
        })
        .await
        .unwrap();
    assert_eq!(info.GroupInfo[0].NextMsgSeq, Some(4));
    assert_eq!(info.GroupInfo[0].MemberNum, Some(2));
    assert_eq!(info.item_failures()[0].code, Some(10010));
    let page = c
        .call(&GetGroupMemberInfo {
            GroupId: "g1".into(),
            Limit: Some(1),
            Offset: Some(0),
            ..GetGroupMemberInfo::default()
        })
        .await
        .unwrap();
    assert_eq!((page.MemberNum, page.MemberList.len()), (2, 1));
    let named = c
        .call(&GetSpecifiedGroupMemberInfo {
            GroupId: "g1".into(),
            Member_List_Account: vec!["m1".into()],
            MemberInfoFilter: None,
        })
        .await
        .unwrap();
    // Unread 99 is capped to the 3 messages: the member has read nothing.
    assert_eq!(named.MemberList[0].MsgSeq, Some(0));
    let list = c.call(&GetAppidGroupList::default()).await.unwrap();
    assert_eq!((list.TotalCount, list.Next), (1, 0));
    let back = c
        .call(&GroupMsgGetSimple {
            GroupId: "g1".into(),
            ReqMsgSeq: None,
            ReqMsgNumber: 2,
        })
        .await
        .unwrap();
    let seqs: Vec<u64> = back.RspMsgList.iter().map(|m| m.MsgSeq).collect();
    assert_eq!((seqs, back.IsFinished), (vec![3, 2], 0));
    let rest = c
        .call(&GroupMsgGetSimple {
            GroupId: "g1".into(),
            ReqMsgSeq: Some(1),
            ReqMsgNumber: 20,
        })
        .await
        .unwrap();
    assert_eq!((rest.RspMsgList.len(), rest.IsFinished), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_group_operations() {
    let handle = sim(SimConfig::default()).await;
    let c = client(&handle);
    setup(&c).await;
    let made = c
        .call(&CreateGroup {
            Owner_Account: Some("owner".into()),
            Type: "Public".into(),
            GroupId: Some("live1".into()),
            Name: "Live".into(),
            MemberList: Some(vec![CreateMember {
                Member_Account: "m1".into(),
                Role: None,
                AppMemberDefinedData: None,
            }]),
            ..CreateGroup::default()
        })
        .await
        .unwrap();
    assert_eq!(made.GroupId, "live1");
    c.call(&ModifyGroupBaseInfo {
        GroupId: "live1".into(),
        Name: Some("Renamed".into()),
        ..ModifyGroupBaseInfo::default()
    })
    .await
    .unwrap();
    let added = c
        .call(&AddGroupMember {
            GroupId: "live1".into(),
            Silence: None,
            MemberList: vec![
                MemberAccount {
                    Member_Account: "m2".into(),
                },
                MemberAccount {
                    Member_Account: "m1".into(),
                },
            ],
        })
        .await
        .unwrap();
    let results: Vec<u32> = added.MemberList.iter().map(|m| m.Result).collect();
    assert_eq!(results, [1, 2]);
    c.call(&DeleteGroupMember {
        GroupId: "live1".into(),
        Silence: None,
        Reason: None,
        MemberToDel_Account: vec!["m2".into(), "m3".into()],
    })
    .await
    .unwrap();
    let sent = c
        .call(&SendGroupMsg {
            GroupId: "live1".into(),
            Random: 5,
            From_Account: Some("m1".into()),
            MsgBody: vec![MsgElement::text("live")],
            ForbidCallbackControl: Some(vec!["ForbidAfterSendMsgCallback".into()]),
            ..SendGroupMsg::default()
        })
        .await
        .unwrap();
    assert_eq!(sent.MsgSeq, 1);
    let info = c
        .call(&GetGroupInfo {
            GroupIdList: vec!["live1".into()],
            ResponseFilter: None,
        })
        .await
        .unwrap();
    assert_eq!(info.GroupInfo[0].Name.as_deref(), Some("Renamed"));
    assert_eq!(info.GroupInfo[0].MemberNum, Some(2));
    c.call(&DestroyGroup {
        GroupId: "live1".into(),
    })
    .await
    .unwrap();
    let gone = c
        .call(&DestroyGroup {
            GroupId: "live1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some(10010));
}
