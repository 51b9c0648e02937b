use super::super::group_import::tests::{msgs, with_group, CREATED, NOW};
use crate::sim::config::SimConfig;
use crate::sim::handlers::testing::{ok, refused, serve, Served};
use crate::sim::handlers::Answer;
use crate::sim::state::State;
use crate::tim::api::Api;
use crate::tim::wire::account::AccountDeleteResponse;
use crate::tim::wire::c2c::{AdminGetRoamMsgResponse, MSG_FLAG_RECALLED};
use crate::tim::wire::group::GroupMsgRecallResponse;
use crate::tim::wire::group_read::{GroupMsgGetSimpleResponse, PLACE_MSG_RECALLED};
use crate::tim::wire::sns::FriendResponse;
use crate::tim::wire::Response;
use serde_json::{json, Value};

fn typed<T: serde::de::DeserializeOwned>(mut a: Answer) -> T {
    a.insert("ActionStatus".into(), json!("OK"));
    a.insert("ErrorCode".into(), json!(0));
    serde_json::from_value(Value::Object(a)).unwrap()
}

fn call(s: &mut State, api: Api, body: Value) -> Served {
    serve(s, &SimConfig::default(), api, NOW, body)
}

fn befriend(s: &mut State, owner: &str, friends: &[&str]) {
    let items: Vec<Value> = friends
        .iter()
        .map(|f| json!({"To_Account": f, "AddSource": "AddSource_Type_Web"}))
        .collect();
    ok(
        s,
        Api::FriendImport,
        NOW,
        json!({"From_Account": owner, "AddFriendItem": items}),
    );
}

fn friends_of(s: &State, owner: &str) -> Vec<String> {
    let idx = s.account_idx(owner).unwrap();
    let list = &s.account(idx).friends;
    list.keys().map(|f| s.account_id(*f).to_string()).collect()
}

/// The group "g" (owner, m1, m2 members) with three messages, MsgSeq 1 to 3.
fn group_with_history() -> State {
    let mut s = with_group("g");
    ok(
        &mut s,
        Api::ImportGroupMember,
        NOW,
        json!({"GroupId": "g", "MemberList": [{"Member_Account": "m1"}, {"Member_Account": "m2"}]}),
    );
    let a = ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        json!({"GroupId": "g", "MsgList": msgs(&[NOW - 30, NOW - 20, NOW - 10])}),
    );
    let seqs: Vec<_> = a["ImportMsgResult"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["MsgSeq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        [1, 2, 3],
        "import_group_msg answers each server MsgSeq"
    );
    s
}

#[test]
fn account_delete_answers_each_account_and_70107_on_a_repeat() {
    let mut s = with_group("g");
    let body = json!({"DeleteItem": [{"UserID": "m1"}, {"UserID": "ghost"}]});
    let r: AccountDeleteResponse = typed(ok(&mut s, Api::AccountDelete, NOW, body.clone()));
    let codes: Vec<_> = r
        .ResultItem
        .iter()
        .map(|i| (i.UserID.as_str(), i.ResultCode))
        .collect();
    assert_eq!(codes, [("m1", 0), ("ghost", 70107)]);
    assert_eq!(
        r.ResultItem[1].ResultInfo,
        "Err_TLS_PT_Open_Login_Account_Not_Exist"
    );
    let again: AccountDeleteResponse = typed(ok(&mut s, Api::AccountDelete, NOW, body));
    assert!(again.ResultItem.iter().all(|i| i.ResultCode == 70107));
    let failed: Vec<_> = again.item_failures().into_iter().map(|f| f.code).collect();
    assert_eq!(failed, [Some(70107), Some(70107)]);
    assert!(s.account_idx("m1").is_none() && s.was_deleted("m1"));
    let check = ok(
        &mut s,
        Api::AccountCheck,
        NOW,
        json!({"CheckItem": [{"UserID": "m1"}]}),
    );
    assert_eq!(check["ResultItem"][0]["AccountStatus"], "NotImported");
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"UserID": format!("u{i}")}))
        .collect();
    assert_eq!(
        refused(&mut s, Api::AccountDelete, NOW, json!({"DeleteItem": many})),
        70402
    );
    assert_eq!(refused(&mut s, Api::AccountDelete, NOW, json!({})), 70402);
    assert!(call(&mut s, Api::AccountDelete, json!({"DeleteItem": []}))
        .callbacks
        .is_empty());
}

#[test]
fn a_deleted_account_takes_its_profile_friends_and_memberships_with_it() {
    let mut s = group_with_history();
    ok(
        &mut s,
        Api::PortraitSet,
        NOW,
        json!({"From_Account": "m1", "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "M"}]}),
    );
    befriend(&mut s, "m1", &["m2", "m3"]);
    befriend(&mut s, "m2", &["m1", "m3"]);
    ok(
        &mut s,
        Api::AccountDelete,
        NOW,
        json!({"DeleteItem": [{"UserID": "m1"}, {"UserID": "owner"}]}),
    );
    let old = s.deleted_idx("m1").unwrap();
    assert!(s.account(old).profile.is_empty() && s.account(old).friends.is_empty());
    let g = &s.groups["g"];
    let members: Vec<_> = g.members.iter().map(|m| s.account_id(m.account)).collect();
    assert_eq!(members, ["m2"], "memberships go; the group stays");
    assert_eq!(
        g.owner, None,
        "a deleted owner leaves the group without one"
    );
    assert_eq!(
        g.msgs.len(),
        3,
        "what the account sent stays in the history"
    );
    // The others' entries that point at it stay (the stricter reading): friend_delete can
    // still remove them.
    assert_eq!(friends_of(&s, "m2"), ["m1", "m3"]);
    let profile = ok(
        &mut s,
        Api::PortraitGet,
        NOW,
        json!({"To_Account": ["m1"], "TagList": ["Tag_Profile_IM_Nick"]}),
    );
    assert_eq!(profile["UserProfileItem"][0]["ResultCode"], 40003);
    let dump = crate::sim::dump::dump(&s, 1);
    assert_eq!(dump["deleted_accounts"], json!(["m1", "owner"]));
    assert!(dump["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["UserID"] != "m1"));
}

#[test]
fn a_deleted_user_id_cannot_be_imported_again() {
    let mut s = with_group("g");
    ok(
        &mut s,
        Api::AccountDelete,
        NOW,
        json!({"DeleteItem": [{"UserID": "m1"}]}),
    );
    assert_eq!(
        refused(&mut s, Api::AccountImport, NOW, json!({"UserID": "m1"})),
        70402
    );
    let a = ok(
        &mut s,
        Api::MultiaccountImport,
        NOW,
        json!({"AccountList": [{"UserID": "m1"}, {"UserID": "fresh"}]}),
    );
    assert_eq!(a["FailAccounts"], json!(["m1"]));
    assert!(s.account_idx("m1").is_none() && s.account_idx("fresh").is_some());
}

#[test]
fn friend_delete_one_way_both_ways_and_31704_on_a_repeat() {
    let mut s = with_group("g");
    befriend(&mut s, "m1", &["m2", "m3"]);
    befriend(&mut s, "m2", &["m1"]);
    befriend(&mut s, "m3", &["m1"]);
    let single =
        json!({"From_Account": "m1", "To_Account": ["m2"], "DeleteType": "Delete_Type_Single"});
    let served = call(&mut s, Api::FriendDelete, single.clone());
    let r: FriendResponse = typed(served.result.unwrap());
    assert_eq!(
        (
            r.ResultItem[0].To_Account.as_str(),
            r.ResultItem[0].ResultCode
        ),
        ("m2", 0)
    );
    assert_eq!(friends_of(&s, "m1"), ["m3"]);
    assert_eq!(
        friends_of(&s, "m2"),
        ["m1"],
        "one-way leaves the reverse entry"
    );
    assert_eq!(served.callbacks[0].command, "Sns.CallbackFriendDelete");
    assert_eq!(
        served.callbacks[0].body["PairList"],
        json!([{"From_Account": "m1", "To_Account": "m2"}])
    );
    let repeat = call(&mut s, Api::FriendDelete, single);
    let r: FriendResponse = typed(repeat.result.unwrap());
    assert_eq!(r.ResultItem[0].ResultCode, 31704);
    assert_eq!(r.Fail_Account, ["m2"]);
    assert!(
        repeat.callbacks.is_empty(),
        "nothing deleted, nothing announced"
    );
    // No DeleteType: both ways.
    let both = call(
        &mut s,
        Api::FriendDelete,
        json!({"From_Account": "m1", "To_Account": ["m3", "ghost"]}),
    );
    assert_eq!(
        both.callbacks[0].body["PairList"],
        json!([{"From_Account": "m1", "To_Account": "m3"}, {"From_Account": "m3", "To_Account": "m1"}])
    );
    let r: FriendResponse = typed(both.result.unwrap());
    let codes: Vec<_> = r.ResultItem.iter().map(|i| i.ResultCode).collect();
    assert_eq!(
        codes,
        [0, 30003],
        "an account never imported does not exist"
    );
    assert!(friends_of(&s, "m1").is_empty() && friends_of(&s, "m3").is_empty());
}

#[test]
fn friend_delete_refusals_and_entries_pointing_at_a_deleted_account() {
    let mut s = with_group("g");
    befriend(&mut s, "m2", &["m1"]);
    let body = |extra: Value| {
        let mut b = json!({"From_Account": "m2", "To_Account": ["m1"]});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let code = |s: &mut State, b: Value| refused(s, Api::FriendDelete, NOW, b);
    assert_eq!(code(&mut s, body(json!({"DeleteType": "Both"}))), 30001);
    assert_eq!(code(&mut s, body(json!({"From_Account": "ghost"}))), 30003);
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    assert_eq!(code(&mut s, body(json!({"To_Account": many}))), 30001);
    assert_eq!(code(&mut s, json!({})), 30001);
    ok(
        &mut s,
        Api::AccountDelete,
        NOW,
        json!({"DeleteItem": [{"UserID": "m1"}]}),
    );
    let single = body(json!({"DeleteType": "Delete_Type_Single"}));
    let r: FriendResponse = typed(ok(&mut s, Api::FriendDelete, NOW, single.clone()));
    assert_eq!(
        r.ResultItem[0].ResultCode, 0,
        "the entry still pointed at m1"
    );
    assert!(friends_of(&s, "m2").is_empty());
    let r: FriendResponse = typed(ok(&mut s, Api::FriendDelete, NOW, single));
    assert_eq!(r.ResultItem[0].ResultCode, 31704);
    assert_eq!(
        refused(
            &mut s,
            Api::FriendDelete,
            NOW,
            json!({"From_Account": "m1", "To_Account": ["m2"]})
        ),
        30003,
        "a deleted owner does not exist"
    );
}

fn recall(s: &mut State, group: &str, seqs: &[u64]) -> Served {
    let list: Vec<Value> = seqs.iter().map(|q| json!({ "MsgSeq": q })).collect();
    call(
        s,
        Api::GroupMsgRecall,
        json!({"GroupId": group, "MsgSeqList": list}),
    )
}

fn rets(served: Served) -> Vec<(u64, i64)> {
    let r: GroupMsgRecallResponse = typed(served.result.unwrap());
    r.RecallRetList
        .iter()
        .map(|r| (r.MsgSeq, r.RetCode))
        .collect()
}

#[test]
fn group_recall_answers_each_seq_and_fires_its_callback() {
    let mut s = group_with_history();
    let served = recall(&mut s, "g", &[2, 9, 0]);
    let cb = served.callbacks[0].clone();
    assert_eq!(rets(served), [(2, 0), (9, 10030), (0, 10030)]);
    assert_eq!(cb.command, "Group.CallbackAfterRecallMsg");
    for (field, value) in [
        ("Operator_Account", json!("admin")),
        ("Type", json!("Public")),
        ("GroupId", json!("g")),
        ("MsgSeqList", json!([{"MsgSeq": 2}])),
    ] {
        assert_eq!(cb.body[field], value, "{field}");
    }
    let repeat = recall(&mut s, "g", &[2]);
    assert!(repeat.callbacks.is_empty());
    assert_eq!(rets(repeat), [(2, 0)], "already recalled: done");
    let r: GroupMsgRecallResponse = typed(recall(&mut s, "g", &[7]).result.unwrap());
    let failures = r.item_failures();
    assert_eq!(
        (failures[0].key.as_str(), failures[0].code),
        ("7", Some(10030))
    );
    assert_eq!(r.answered_keys(), Some(vec!["7".to_string()]));
    let eleven: Vec<u64> = (1..=11).collect();
    assert_eq!(recall(&mut s, "g", &eleven).result.unwrap_err().code, 10004);
    assert_eq!(recall(&mut s, "g", &[]).result.unwrap_err().code, 10004);
    assert_eq!(recall(&mut s, "nope", &[1]).result.unwrap_err().code, 10010);
    assert_eq!(
        refused(
            &mut s,
            Api::GroupMsgRecall,
            NOW,
            json!({"GroupId": "g", "MsgSeqList": [{"MsgSeq": "1"}]})
        ),
        10004
    );
}

#[test]
fn a_recalled_group_message_reads_back_as_recalled_without_its_body() {
    let mut s = group_with_history();
    recall(&mut s, "g", &[2]).result.unwrap();
    for with in [json!(null), json!(1)] {
        let r: GroupMsgGetSimpleResponse = typed(ok(
            &mut s,
            Api::GroupMsgGetSimple,
            NOW,
            json!({"GroupId": "g", "ReqMsgNumber": 20, "WithRecalledMsg": with}),
        ));
        let read: Vec<_> = r
            .RspMsgList
            .iter()
            .map(|m| (m.MsgSeq, m.IsPlaceMsg, m.MsgBody.len()))
            .collect();
        assert_eq!(read, [(3, 0, 1), (2, PLACE_MSG_RECALLED, 0), (1, 0, 1)]);
        assert_eq!(r.IsFinished, 1);
    }
    assert_eq!(
        refused(
            &mut s,
            Api::GroupMsgGetSimple,
            NOW,
            json!({"GroupId": "g", "ReqMsgNumber": 1, "WithRecalledMsg": 2})
        ),
        10004
    );
    let dump = crate::sim::dump::dump(&s, 1);
    let flags: Vec<_> = dump["groups"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.get("recalled").cloned())
        .collect();
    assert_eq!(flags, [None, Some(json!(true)), None]);
}

#[test]
fn a_message_past_the_roaming_period_cannot_be_recalled() {
    let mut s = with_group("g");
    let days = |n: i64| NOW - n * 86_400;
    ok(
        &mut s,
        Api::ImportGroup,
        NOW,
        json!({"Type": "Public", "GroupId": "old", "Name": "n", "CreateTime": days(10)}),
    );
    ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        json!({"GroupId": "old", "MsgList": msgs(&[days(9)])}),
    );
    let served = recall(&mut s, "old", &[1]);
    assert!(served.callbacks.is_empty());
    assert_eq!(rets(served), [(1, 10030)]);
    assert!(s.groups["old"].recalled.is_empty());
}

#[test]
fn a_destroyed_group_takes_its_members_and_messages_with_it() {
    let mut s = group_with_history();
    ok(&mut s, Api::DestroyGroup, NOW, json!({"GroupId": "g"}));
    let info = ok(
        &mut s,
        Api::GetGroupInfo,
        NOW,
        json!({"GroupIdList": ["g"]}),
    );
    assert_eq!(info["GroupInfo"][0]["ErrorCode"], 10010);
    for (api, body) in [
        (
            Api::GroupMsgGetSimple,
            json!({"GroupId": "g", "ReqMsgNumber": 5}),
        ),
        (Api::GetGroupMemberInfo, json!({"GroupId": "g"})),
        (Api::DestroyGroup, json!({"GroupId": "g"})),
        (
            Api::GroupMsgRecall,
            json!({"GroupId": "g", "MsgSeqList": [{"MsgSeq": 1}]}),
        ),
        (
            Api::DeleteGroupMember,
            json!({"GroupId": "g", "MemberToDel_Account": ["m1"]}),
        ),
    ] {
        assert_eq!(refused(&mut s, api, NOW, body), 10010, "{api}");
    }
    // The same id imported again is a new, empty group.
    ok(
        &mut s,
        Api::ImportGroup,
        NOW,
        json!({"Type": "Public", "GroupId": "g", "Name": "again", "CreateTime": CREATED}),
    );
    let g = &s.groups["g"];
    assert!(g.members.is_empty() && g.msgs.is_empty() && g.recalled.is_empty());
}

fn two_with_messages() -> State {
    let mut s = State::default();
    s.import_account("a");
    s.import_account("b");
    for (seq, text) in [(1, "keep"), (2, "recall me")] {
        ok(
            &mut s,
            Api::ImportMsg,
            NOW,
            json!({"SyncFromOldSystem": 2, "From_Account": "a", "To_Account": "b",
                "MsgSeq": seq, "MsgRandom": 7, "MsgTimeStamp": NOW - 100 + i64::from(seq),
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
                "CloudCustomData": "cc"}),
        );
    }
    s
}

fn withdraw(s: &mut State, from: &str, to: &str, key: &str) -> Served {
    call(
        s,
        Api::AdminMsgWithdraw,
        json!({"From_Account": from, "To_Account": to, "MsgKey": key}),
    )
}

#[test]
fn c2c_withdraw_by_msg_key_with_20022_and_20023_for_repeats() {
    let mut s = two_with_messages();
    let key = format!("2_7_{}", NOW - 98);
    let served = withdraw(&mut s, "a", "b", &key);
    assert!(served.result.is_ok());
    let cb = &served.callbacks[0];
    assert_eq!(cb.command, "C2C.CallbackAfterMsgWithDraw");
    assert_eq!(
        Value::Object(cb.body.clone()),
        json!({"From_Account": "a", "To_Account": "b", "MsgKey": key, "UnreadMsgNum": 0})
    );
    let repeat = withdraw(&mut s, "b", "a", &key);
    assert_eq!(repeat.result.unwrap_err().code, 20023, "either orientation");
    assert!(repeat.callbacks.is_empty());
    let missing = format!("3_7_{}", NOW - 98);
    assert_eq!(
        withdraw(&mut s, "a", "b", &missing)
            .result
            .unwrap_err()
            .code,
        20022
    );
    for bad in ["2_7", "x_7_1", "2_7_1_0", ""] {
        assert_eq!(
            withdraw(&mut s, "a", "b", bad).result.unwrap_err().code,
            90001,
            "{bad}"
        );
    }
    assert_eq!(
        withdraw(&mut s, "ghost", "b", &key)
            .result
            .unwrap_err()
            .code,
        90048
    );
    assert_eq!(
        withdraw(&mut s, "a", "ghost", &key)
            .result
            .unwrap_err()
            .code,
        90012
    );
    assert_eq!(
        refused(&mut s, Api::AdminMsgWithdraw, NOW, json!({})),
        90008
    );
    s.import_account("c");
    assert_eq!(
        withdraw(&mut s, "a", "c", &key).result.unwrap_err().code,
        20022
    );
}

#[test]
fn a_withdrawn_message_reads_back_flagged_8_without_its_body() {
    let mut s = two_with_messages();
    withdraw(&mut s, "a", "b", &format!("2_7_{}", NOW - 98))
        .result
        .unwrap();
    let r: AdminGetRoamMsgResponse = typed(ok(
        &mut s,
        Api::AdminGetRoamMsg,
        NOW,
        json!({"From_Account": "a", "To_Account": "b", "MaxCnt": 10, "MinTime": 0, "MaxTime": NOW}),
    ));
    let read: Vec<_> = r
        .MsgList
        .iter()
        .map(|m| {
            (
                m.MsgSeq,
                m.MsgFlagBits,
                m.MsgBody.len(),
                m.CloudCustomData.is_some(),
            )
        })
        .collect();
    assert_eq!(read, [(2, MSG_FLAG_RECALLED, 0, false), (1, 0, 1, true)]);
    let dump = crate::sim::dump::dump(&s, 1);
    assert_eq!(dump["c2c_messages"][1]["recalled"], true);
    assert!(dump["c2c_messages"][0].get("recalled").is_none());
}

#[test]
fn a_live_message_is_withdrawn_by_the_key_sendmsg_answered() {
    let mut s = two_with_messages();
    let sent = ok(
        &mut s,
        Api::SendMsg,
        NOW,
        json!({"From_Account": "b", "To_Account": "a", "MsgRandom": 5,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]}),
    );
    let key = sent["MsgKey"].as_str().unwrap().to_string();
    let served = withdraw(&mut s, "b", "a", &key);
    assert!(served.result.is_ok());
    assert_eq!(served.callbacks[0].body["UnreadMsgNum"], 1);
}
