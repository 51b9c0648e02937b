use super::super::group_import::tests::{msgs, people, with_group, CREATED, NOW};
use crate::sim::body::Body;
use crate::sim::config::SimConfig;
use crate::sim::handlers::testing::{ok, refused, serve};
use crate::sim::handlers::{dispatch, Ctx};
use crate::sim::limiter::Limiter;
use crate::tim::api::Api;
use serde_json::json;

fn text(t: &str) -> serde_json::Value {
    json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}])
}

#[test]
fn send_fires_its_callback_unless_forbidden_and_dedupes_on_random() {
    let mut s = with_group("g");
    let c = SimConfig::default();
    let send = json!({"GroupId": "g", "Random": 7, "From_Account": "m1", "MsgBody": text("hi"), "CloudCustomData": "cc"});
    let served = serve(&mut s, &c, Api::SendGroupMsg, NOW, send.clone());
    let a = served.result.unwrap();
    assert_eq!(a["MsgSeq"], 1);
    let cb = &served.callbacks[0];
    assert_eq!(cb.command, "Group.CallbackAfterSendMsg");
    for (field, value) in [
        ("GroupId", json!("g")),
        ("Type", json!("Public")),
        ("From_Account", json!("m1")),
        ("Operator_Account", json!("admin")),
        ("Random", json!(7)),
        ("MsgSeq", json!(1)),
        ("MsgTime", json!(NOW)),
        ("OnlineOnlyFlag", json!(0)),
        ("MsgBody", text("hi")),
        ("CloudCustomData", json!("cc")),
    ] {
        assert_eq!(cb.body[field], value, "{field}");
    }
    let again = serve(&mut s, &c, Api::SendGroupMsg, NOW + 10, send);
    assert_eq!(
        again.result.unwrap()["MsgSeq"],
        1,
        "a repeated Random is the same message"
    );
    assert!(again.callbacks.is_empty());
    let quiet = json!({"GroupId": "g", "Random": 8, "MsgBody": text("x"),
        "ForbidCallbackControl": ["ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"]});
    let served = serve(&mut s, &c, Api::SendGroupMsg, NOW, quiet);
    assert_eq!(served.result.unwrap()["MsgSeq"], 2);
    assert!(served.callbacks.is_empty());
    assert_eq!(
        refused(
            &mut s,
            Api::SendGroupMsg,
            NOW,
            json!({"GroupId": "g", "Random": 9, "From_Account": "ghost", "MsgBody": text("x")})
        ),
        10019
    );
}

#[test]
fn live_messages_keep_unread_counts() {
    let mut s = with_group("g");
    ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        json!({"GroupId": "g", "MsgList": msgs(&[CREATED + 1])}),
    );
    ok(
        &mut s,
        Api::SendGroupMsg,
        NOW,
        json!({"GroupId": "g", "Random": 1, "MsgBody": text("x")}),
    );
    let g = &s.groups["g"];
    assert_eq!(
        g.last_seq() - g.member(s.account_idx("owner").unwrap()).unwrap().read_seq,
        1
    );
}

#[test]
fn a_group_takes_at_most_its_rate_of_messages_per_second() {
    let mut s = with_group("g");
    let mut config = SimConfig::default();
    config.app.group_msgs_per_sec = 2;
    let limiter = Limiter::new();
    let mut codes = Vec::new();
    for random in 0..3 {
        let body = json!({"GroupId": "g", "Random": random, "MsgBody": text("x")});
        let mut ctx = Ctx {
            state: &mut s,
            config: &config,
            limiter: &limiter,
            api: Api::SendGroupMsg,
            now: NOW,
            operator: "admin",
            sdkappid: 1,
            callbacks: Vec::new(),
        };
        codes.push(
            dispatch(&mut ctx, Body(body.as_object().unwrap()))
                .err()
                .map(|e| e.code),
        );
    }
    assert_eq!(codes, [None, None, Some(10023)]);
}

#[test]
fn create_modify_add_delete_destroy_call_back_with_their_fields() {
    let mut s = people();
    let c = SimConfig::default();
    let created = serve(
        &mut s,
        &c,
        Api::CreateGroup,
        NOW,
        json!({"Owner_Account": "owner", "Type": "Public",
        "GroupId": "g", "Name": "Club", "MemberList": [{"Member_Account": "m1"}]}),
    );
    assert_eq!(created.result.unwrap()["GroupId"], "g");
    let cb = &created.callbacks[0].body;
    assert_eq!(
        (cb["Owner_Account"].as_str(), cb["Name"].as_str()),
        (Some("owner"), Some("Club"))
    );
    assert_eq!(
        cb["MemberList"],
        json!([{"Member_Account": "owner"}, {"Member_Account": "m1"}])
    );
    assert_eq!(
        refused(
            &mut s,
            Api::CreateGroup,
            NOW,
            json!({"Type": "Public", "GroupId": "g", "Name": "n"})
        ),
        10025
    );

    let modified = serve(
        &mut s,
        &c,
        Api::ModifyGroupBaseInfo,
        NOW,
        json!({"GroupId": "g", "Notification": "new", "MaxMemberNum": 50}),
    );
    let cb = &modified.callbacks[0];
    assert_eq!(cb.command, "Group.CallbackAfterGroupInfoChanged");
    assert_eq!(cb.body, json!({"GroupId": "g", "Type": "Public", "Operator_Account": "admin", "Notification": "new"}).as_object().unwrap().clone());
    let quiet = serve(
        &mut s,
        &c,
        Api::ModifyGroupBaseInfo,
        NOW,
        json!({"GroupId": "g", "ShutUpAllMember": "On"}),
    );
    assert!(
        quiet.result.is_ok() && quiet.callbacks.is_empty(),
        "only name/intro/notification/face/custom call back"
    );

    let added = serve(
        &mut s,
        &c,
        Api::AddGroupMember,
        NOW,
        json!({"GroupId": "g", "MemberList": [{"Member_Account": "m2"}, {"Member_Account": "m1"}]}),
    );
    assert_eq!(
        added.callbacks[0].body["NewMemberList"],
        json!([{"Member_Account": "m2"}])
    );
    assert_eq!(added.callbacks[0].body["JoinType"], "Invited");
    assert_eq!(
        refused(
            &mut s,
            Api::AddGroupMember,
            NOW,
            json!({"GroupId": "g", "MemberList": [{"Member_Account": "ghost"}]})
        ),
        10019
    );

    let removed = serve(
        &mut s,
        &c,
        Api::DeleteGroupMember,
        NOW,
        json!({"GroupId": "g", "MemberToDel_Account": ["m2", "m3"]}),
    );
    assert_eq!(
        removed.callbacks[0].body["ExitMemberList"],
        json!([{"Member_Account": "m2"}])
    );
    let again = serve(
        &mut s,
        &c,
        Api::DeleteGroupMember,
        NOW,
        json!({"GroupId": "g", "MemberToDel_Account": ["m2"]}),
    );
    assert!(
        again.result.is_ok() && again.callbacks.is_empty(),
        "removing a non-member is a quiet success"
    );
    assert_eq!(
        refused(
            &mut s,
            Api::DeleteGroupMember,
            NOW,
            json!({"GroupId": "g", "MemberToDel_Account": ["owner"]})
        ),
        10004
    );

    let destroyed = serve(&mut s, &c, Api::DestroyGroup, NOW, json!({"GroupId": "g"}));
    assert_eq!(
        destroyed.callbacks[0].command,
        "Group.CallbackAfterGroupDestroyed"
    );
    assert_eq!(
        destroyed.callbacks[0].body["MemberList"],
        json!([{"Member_Account": "owner"}, {"Member_Account": "m1"}])
    );
    assert!(s.groups.is_empty());
    assert_eq!(
        refused(&mut s, Api::DestroyGroup, NOW, json!({"GroupId": "g"})),
        10010
    );
}

#[test]
fn online_only_messages_are_announced_but_not_stored() {
    let mut s = with_group("g");
    let c = SimConfig::default();
    let body = json!({"GroupId": "g", "Random": 3, "From_Account": "m1", "OnlineOnlyFlag": 1,
        "MsgBody": text("typing")});
    let served = serve(&mut s, &c, Api::SendGroupMsg, NOW, body);
    let a = served.result.unwrap();
    assert_eq!(
        (a["MsgSeq"].as_u64(), a["MsgTime"].as_i64()),
        (Some(0), Some(NOW))
    );
    assert_eq!(served.callbacks[0].body["OnlineOnlyFlag"], 1);
    assert_eq!(served.callbacks[0].body["MsgSeq"], 0);
    assert_eq!(s.groups["g"].last_seq(), 0);
    let typed: crate::tim::wire::group::SendGroupMsgResponse = serde_json::from_value(json!({
        "ActionStatus": "OK", "ErrorCode": 0, "MsgTime": a["MsgTime"], "MsgSeq": a["MsgSeq"]}))
    .unwrap();
    assert_eq!(typed.MsgTime, NOW);
}

#[test]
fn a_send_to_a_missing_group_changes_nothing() {
    let mut s = people();
    let body = json!({"GroupId": "nope", "Random": 1, "MsgBody": text("x")});
    assert_eq!(refused(&mut s, Api::SendGroupMsg, NOW, body), 10010);
    assert_eq!(
        s.account_idx("admin"),
        None,
        "the default sender is not recorded"
    );
    let bad = json!({"GroupId": "nope", "Random": 1, "MsgBody": []});
    assert_eq!(refused(&mut s, Api::SendGroupMsg, NOW, bad), 10004);
}

#[test]
fn a_full_group_refuses_new_members_and_a_repeated_name_counts_once() {
    let mut s = people();
    ok(
        &mut s,
        Api::CreateGroup,
        NOW,
        json!({"Owner_Account": "owner", "Type": "Private", "GroupId": "g", "Name": "n",
        "MaxMemberCount": 2}),
    );
    let twice =
        json!({"GroupId": "g", "MemberList": [{"Member_Account": "m1"}, {"Member_Account": "m1"}]});
    let a = ok(&mut s, Api::AddGroupMember, NOW, twice);
    assert_eq!(
        a["MemberList"],
        json!([{"Member_Account": "m1", "Result": 1}, {"Member_Account": "m1", "Result": 2}])
    );
    let more = json!({"GroupId": "g", "MemberList": [{"Member_Account": "m2"}]});
    assert_eq!(refused(&mut s, Api::AddGroupMember, NOW, more), 10014);
    assert_eq!(s.groups["g"].members.len(), 2);
}
