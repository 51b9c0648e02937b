use super::super::group_import::tests::{msgs, with_group, CREATED, NOW};
use crate::sim::handlers::testing::{ok, refused};
use crate::sim::handlers::Answer;
use crate::tim::api::Api;
use crate::tim::wire::group_read::*;
use serde_json::{json, Value};

fn typed<T: serde::de::DeserializeOwned>(mut a: Answer) -> T {
    a.insert("ActionStatus".into(), json!("OK"));
    a.insert("ErrorCode".into(), json!(0));
    serde_json::from_value(Value::Object(a)).unwrap()
}

#[test]
fn group_list_pages_with_next() {
    let mut s = with_group("g0");
    for i in 1..5 {
        ok(
            &mut s,
            Api::ImportGroup,
            NOW,
            json!({"Type": if i % 2 == 0 { "Public" } else { "Private" },
            "GroupId": format!("g{i}"), "Name": "n", "CreateTime": CREATED}),
        );
    }
    let mut next = 0;
    let mut seen = Vec::new();
    loop {
        let r: GetAppidGroupListResponse = typed(ok(
            &mut s,
            Api::GetAppidGroupList,
            NOW,
            json!({"Limit": 2, "Next": next}),
        ));
        assert_eq!(r.TotalCount, 5);
        seen.extend(r.GroupIdList.into_iter().map(|g| g.GroupId));
        if r.Next == 0 {
            break;
        }
        next = r.Next;
    }
    assert_eq!(seen, ["g0", "g1", "g2", "g3", "g4"]);
    let private: GetAppidGroupListResponse = typed(ok(
        &mut s,
        Api::GetAppidGroupList,
        NOW,
        json!({"GroupType": "Private"}),
    ));
    assert_eq!(private.TotalCount, 2);
    assert_eq!(
        refused(&mut s, Api::GetAppidGroupList, NOW, json!({"Limit": 10001})),
        10004
    );
}

#[test]
fn members_page_by_offset_or_by_next_for_communities() {
    let mut s = with_group("g");
    ok(
        &mut s,
        Api::ImportGroupMember,
        NOW,
        json!({"GroupId": "g", "MemberList": [
        {"Member_Account": "m1", "Role": "Admin"}, {"Member_Account": "m2"}, {"Member_Account": "m3"}]}),
    );
    let r: GetGroupMemberInfoResponse = typed(ok(
        &mut s,
        Api::GetGroupMemberInfo,
        NOW,
        json!({"GroupId": "g", "Limit": 3, "Offset": 2}),
    ));
    assert_eq!((r.MemberNum, r.MemberList.len()), (4, 2));
    let admins: GetGroupMemberInfoResponse = typed(ok(
        &mut s,
        Api::GetGroupMemberInfo,
        NOW,
        json!({"GroupId": "g", "MemberRoleFilter": ["Admin"], "MemberInfoFilter": ["Role"]}),
    ));
    assert_eq!(admins.MemberList.len(), 1);
    assert_eq!(admins.MemberList[0].Role.as_deref(), Some("Admin"));
    assert_eq!(admins.MemberList[0].JoinTime, None, "filtered out");
    assert_eq!(
        refused(
            &mut s,
            Api::GetGroupMemberInfo,
            NOW,
            json!({"GroupId": "g", "Limit": 201})
        ),
        10004
    );

    ok(
        &mut s,
        Api::ImportGroup,
        NOW,
        json!({"Owner_Account": "owner", "Type": "Community", "GroupId": "@TGS#_c", "Name": "c", "CreateTime": CREATED}),
    );
    ok(
        &mut s,
        Api::ImportGroupMember,
        NOW,
        json!({"GroupId": "@TGS#_c", "MemberList": [{"Member_Account": "m1"}, {"Member_Account": "m2"}]}),
    );
    assert_eq!(
        refused(
            &mut s,
            Api::GetGroupMemberInfo,
            NOW,
            json!({"GroupId": "@TGS#_c", "Offset": 0})
        ),
        10004
    );
    let mut next = String::new();
    let mut count = 0;
    loop {
        let r: GetGroupMemberInfoResponse = typed(ok(
            &mut s,
            Api::GetGroupMemberInfo,
            NOW,
            json!({"GroupId": "@TGS#_c", "Limit": 2, "Next": next}),
        ));
        count += r.MemberList.len();
        next = r.Next.unwrap();
        if next.is_empty() {
            break;
        }
    }
    assert_eq!(count, 3);
}

#[test]
fn info_per_group_with_filters() {
    let mut s = with_group("g");
    ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        json!({"GroupId": "g", "MsgList": msgs(&[CREATED + 1, CREATED + 2])}),
    );
    let r: GetGroupInfoResponse = typed(ok(
        &mut s,
        Api::GetGroupInfo,
        NOW,
        json!({"GroupIdList": ["g", "x"]}),
    ));
    let g = &r.GroupInfo[0];
    assert_eq!(
        (g.NextMsgSeq, g.MemberNum, g.Owner_Account.as_deref()),
        (Some(3), Some(1), Some("owner"))
    );
    assert_eq!(g.CreateTime, Some(CREATED));
    assert_eq!(g.LastMsgTime, Some(CREATED + 2));
    assert_eq!(r.GroupInfo[1].ErrorCode, 10010);
    let filtered: GetGroupInfoResponse = typed(ok(
        &mut s,
        Api::GetGroupInfo,
        NOW,
        json!({"GroupIdList": ["g"], "ResponseFilter": {"GroupBaseInfoFilter": ["Name"]}}),
    ));
    assert_eq!(filtered.GroupInfo[0].Name.as_deref(), Some("Chess"));
    assert_eq!(filtered.GroupInfo[0].CreateTime, None);
    let many: Vec<String> = (0..51).map(|i| format!("g{i}")).collect();
    assert_eq!(
        refused(&mut s, Api::GetGroupInfo, NOW, json!({"GroupIdList": many})),
        10004
    );
}

#[test]
fn messages_read_back_newest_first_and_expired_ones_are_placeholders() {
    let mut s = with_group("other");
    let old = NOW - 8 * 86_400;
    ok(
        &mut s,
        Api::ImportGroup,
        NOW,
        json!({"Type": "Public", "GroupId": "g", "Name": "n", "CreateTime": old - 1}),
    );
    ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        json!({"GroupId": "g", "MsgList": msgs(&[old, NOW - 3, NOW - 2, NOW - 1])}),
    );
    let r: GroupMsgGetSimpleResponse = typed(ok(
        &mut s,
        Api::GroupMsgGetSimple,
        NOW,
        json!({"GroupId": "g", "ReqMsgNumber": 2}),
    ));
    let seqs: Vec<u64> = r.RspMsgList.iter().map(|m| m.MsgSeq).collect();
    assert_eq!((seqs, r.IsFinished), (vec![4, 3], 0));
    let r: GroupMsgGetSimpleResponse = typed(ok(
        &mut s,
        Api::GroupMsgGetSimple,
        NOW,
        json!({"GroupId": "g", "ReqMsgNumber": 20, "ReqMsgSeq": 2}),
    ));
    assert_eq!(r.IsFinished, 1);
    assert_eq!(r.RspMsgList[0].MsgBody.len(), 1);
    assert_eq!(
        (r.RspMsgList[1].IsPlaceMsg, r.RspMsgList[1].MsgBody.len()),
        (1, 0),
        "past the roaming period"
    );
    assert_eq!(
        refused(
            &mut s,
            Api::GroupMsgGetSimple,
            NOW,
            json!({"GroupId": "g", "ReqMsgNumber": 21})
        ),
        10004
    );
    assert_eq!(
        refused(
            &mut s,
            Api::GroupMsgGetSimple,
            NOW,
            json!({"GroupId": "x", "ReqMsgNumber": 1})
        ),
        10010
    );
}

#[test]
fn named_members_and_live_broadcast_groups() {
    let mut s = with_group("g");
    ok(
        &mut s,
        Api::ImportGroupMember,
        NOW,
        json!({"GroupId": "g", "MemberList": [{"Member_Account": "m1"}]}),
    );
    let r: GetGroupMemberInfoResponse = typed(ok(
        &mut s,
        Api::GetSpecifiedGroupMemberInfo,
        NOW,
        json!({"GroupId": "g", "Member_List_Account": ["m1", "m2", "ghost"]}),
    ));
    assert_eq!(r.MemberNum, 2);
    let names: Vec<&str> = r
        .MemberList
        .iter()
        .map(|m| m.Member_Account.as_str())
        .collect();
    assert_eq!(names, ["m1"]);
    assert_eq!(r.MemberList[0].MsgFlag.as_deref(), Some("AcceptAndNotify"));
    let many: Vec<String> = (0..51).map(|i| format!("u{i}")).collect();
    assert_eq!(
        refused(
            &mut s,
            Api::GetSpecifiedGroupMemberInfo,
            NOW,
            json!({"GroupId": "g", "Member_List_Account": many})
        ),
        10004
    );

    ok(
        &mut s,
        Api::CreateGroup,
        NOW,
        json!({"Type": "AVChatRoom", "GroupId": "live", "Name": "n"}),
    );
    let r: GetGroupInfoResponse = typed(ok(
        &mut s,
        Api::GetGroupInfo,
        NOW,
        json!({"GroupIdList": ["live"]}),
    ));
    let live = &r.GroupInfo[0];
    assert_eq!(
        (live.ErrorCode, live.Type.as_deref()),
        (0, Some("AVChatRoom"))
    );
    assert_eq!((live.MemberNum, live.MemberList.is_none()), (None, true));
    for api in [Api::GetGroupMemberInfo, Api::GroupMsgGetSimple] {
        let body = json!({"GroupId": "live", "ReqMsgNumber": 1});
        assert_eq!(refused(&mut s, api, NOW, body), 10007, "{api}");
    }
}

#[test]
fn message_history_pages_backwards_to_the_first() {
    let mut s = with_group("g");
    let times: Vec<i64> = (1..=7).map(|i| NOW - 100 + i).collect();
    ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        json!({"GroupId": "g", "MsgList": msgs(&times)}),
    );
    let mut req = json!({"GroupId": "g", "ReqMsgNumber": 3});
    let mut seen = Vec::new();
    loop {
        let r: GroupMsgGetSimpleResponse =
            typed(ok(&mut s, Api::GroupMsgGetSimple, NOW, req.clone()));
        seen.extend(r.RspMsgList.iter().map(|m| m.MsgSeq));
        if r.IsFinished == 1 {
            break;
        }
        let min = r.RspMsgList.iter().map(|m| m.MsgSeq).min().unwrap();
        req["ReqMsgSeq"] = json!(min - 1);
    }
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);
    let zero = json!({"GroupId": "g", "ReqMsgNumber": 0});
    assert_eq!(refused(&mut s, Api::GroupMsgGetSimple, NOW, zero), 10004);
    let mut empty = with_group("e");
    let r: GroupMsgGetSimpleResponse = typed(ok(
        &mut empty,
        Api::GroupMsgGetSimple,
        NOW,
        json!({"GroupId": "e", "ReqMsgNumber": 5}),
    ));
    assert_eq!((r.IsFinished, r.RspMsgList.len()), (1, 0));
}
