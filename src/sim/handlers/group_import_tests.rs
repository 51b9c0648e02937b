use crate::model::console::GroupCustomFields;
use crate::model::GroupType;
use crate::sim::config::SimConfig;
use crate::sim::handlers::testing::{ok, refused, serve};
use crate::sim::state::State;
use crate::tim::api::Api;
use serde_json::{json, Value};

pub(crate) const NOW: i64 = 1_800_000_000;
pub(crate) const CREATED: i64 = NOW - 100_000;

pub(crate) fn people() -> State {
    let mut s = State::default();
    for id in ["owner", "m1", "m2", "m3"] {
        s.import_account(id);
    }
    s
}

pub(crate) fn with_group(id: &str) -> State {
    let mut s = people();
    ok(
        &mut s,
        Api::ImportGroup,
        NOW,
        json!({"Owner_Account": "owner", "Type": "Public", "GroupId": id,
        "Name": "Chess", "CreateTime": CREATED}),
    );
    s
}

pub(crate) fn msgs(times: &[i64]) -> Value {
    Value::Array(
        times
            .iter()
            .map(|t| {
                json!({"From_Account": "m1", "SendTime": t, "Random": t,
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]})
            })
            .collect(),
    )
}

fn results(a: &crate::sim::handlers::Answer) -> Vec<(u64, i64)> {
    a["ImportMsgResult"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["MsgSeq"].as_u64().unwrap(), r["Result"].as_i64().unwrap()))
        .collect()
}

#[test]
fn group_ids_follow_the_rules() {
    let mut s = people();
    let group = |id: &str, kind: &str| json!({"Type": kind, "GroupId": id, "Name": "n", "CreateTime": CREATED});
    assert_eq!(
        refused(&mut s, Api::ImportGroup, NOW, group("@TGS#abc", "Public")),
        10015
    );
    assert_eq!(
        refused(&mut s, Api::ImportGroup, NOW, group("club", "Community")),
        10015
    );
    assert_eq!(
        refused(
            &mut s,
            Api::ImportGroup,
            NOW,
            group(&"x".repeat(49), "Public")
        ),
        10015
    );
    assert_eq!(
        refused(&mut s, Api::ImportGroup, NOW, group("caf\u{e9}", "Public")),
        10015
    );
    assert_eq!(
        refused(&mut s, Api::ImportGroup, NOW, group("g", "AVChatRoom")),
        10007
    );
    assert_eq!(
        refused(&mut s, Api::ImportGroup, NOW, group("g", "Work")),
        10004
    );
    ok(
        &mut s,
        Api::ImportGroup,
        NOW,
        group("@TGS#_club", "Community"),
    );
    ok(&mut s, Api::ImportGroup, NOW, group("g1", "Private"));
    assert_eq!(
        refused(&mut s, Api::ImportGroup, NOW, group("g1", "Private")),
        10021
    );
    let generated = ok(
        &mut s,
        Api::ImportGroup,
        NOW,
        json!({"Type": "Public", "Name": "n"}),
    );
    assert!(generated["GroupId"].as_str().unwrap().starts_with("@TGS#"));
    let mut future = group("g2", "Public");
    future["CreateTime"] = json!(NOW + 1);
    assert_eq!(refused(&mut s, Api::ImportGroup, NOW, future), 10004);
    let long = json!({"Type": "Public", "GroupId": "g3", "Name": "x".repeat(31)});
    assert_eq!(refused(&mut s, Api::ImportGroup, NOW, long), 10004);
    let custom = json!({"Type": "Public", "GroupId": "g4", "Name": "n", "AppDefinedData": [{"Key": "Level", "Value": "1"}]});
    assert_eq!(
        refused(&mut s, Api::ImportGroup, NOW, custom.clone()),
        10004
    );
    // Enabled for another group type only: still 10004, as the console's per-type fields.
    let mut config = SimConfig::default();
    config.app.group_custom_fields =
        GroupCustomFields([(GroupType::Private, vec!["Level".to_string()])].into());
    assert!(
        serve(&mut s, &config, Api::ImportGroup, NOW, custom.clone())
            .result
            .is_err()
    );
    config.app.group_custom_fields = GroupCustomFields::every_type(&["Level"]);
    assert!(serve(&mut s, &config, Api::ImportGroup, NOW, custom)
        .result
        .is_ok());
}

#[test]
fn messages_must_be_strictly_newer_and_get_sequences_from_one() {
    let mut s = with_group("g");
    let body = |times: &[i64]| json!({"GroupId": "g", "MsgList": msgs(times)});
    let a = ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        body(&[CREATED + 1, CREATED + 2]),
    );
    assert_eq!(results(&a), [(1, 0), (2, 0)]);
    // A resend of the same batch fails the "newer than the newest" rule.
    let a = ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        body(&[CREATED + 1, CREATED + 2]),
    );
    assert_eq!(results(&a), [(0, 10004), (0, 10004)]);
    let a = ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        body(&[CREATED + 2, CREATED + 3, NOW, CREATED - 5]),
    );
    assert_eq!(results(&a), [(0, 10004), (3, 0), (0, 10004), (0, 10004)]);
    assert_eq!(
        refused(
            &mut s,
            Api::ImportGroupMsg,
            NOW,
            body(&[1, 2, 3, 4, 5, 6, 7, 8])
        ),
        10004
    );
    assert_eq!(
        refused(
            &mut s,
            Api::ImportGroupMsg,
            NOW,
            json!({"GroupId": "nope", "MsgList": msgs(&[CREATED + 9])})
        ),
        10010
    );
    let big = json!({"GroupId": "g", "MsgList": [{"From_Account": "m1", "SendTime": CREATED + 10,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x".repeat(12300)}}]}]});
    assert_eq!(
        results(&ok(&mut s, Api::ImportGroupMsg, NOW, big)),
        [(0, 80002)]
    );
    assert_eq!(s.groups["g"].last_seq(), 3);
}

#[test]
fn member_results_unread_caps_and_the_reset() {
    let mut s = with_group("g");
    ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        json!({"GroupId": "g", "MsgList": msgs(&[CREATED + 1, CREATED + 2, CREATED + 3])}),
    );
    let a = ok(
        &mut s,
        Api::ImportGroupMember,
        NOW,
        json!({"GroupId": "g", "MemberList": [
        {"Member_Account": "m1", "Role": "Admin", "JoinTime": CREATED + 1, "UnreadMsgNum": 2},
        {"Member_Account": "m2", "UnreadMsgNum": 50},
        {"Member_Account": "owner"},
        {"Member_Account": "ghost"},
        {"Member_Account": "m3", "JoinTime": CREATED},
        {"Member_Account": "m3", "Role": "Owner"}]}),
    );
    let r: Vec<u64> = a["MemberList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Result"].as_u64().unwrap())
        .collect();
    assert_eq!(r, [1, 1, 2, 0, 0, 0]);
    let unread = |s: &State, who: &str| {
        let g = &s.groups["g"];
        g.last_seq() - g.member(s.account_idx(who).unwrap()).unwrap().read_seq
    };
    assert_eq!(
        (unread(&s, "m1"), unread(&s, "m2")),
        (2, 3),
        "capped to the 3 messages"
    );
    ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        json!({"GroupId": "g", "MsgList": msgs(&[CREATED + 4])}),
    );
    assert_eq!(
        (unread(&s, "m1"), unread(&s, "m2")),
        (0, 0),
        "importing messages resets unread"
    );
    ok(
        &mut s,
        Api::SetUnreadMsgNum,
        NOW,
        json!({"GroupId": "g", "Member_Account": "m1", "UnreadMsgNum": 3}),
    );
    assert_eq!(unread(&s, "m1"), 3);
    assert_eq!(
        refused(
            &mut s,
            Api::SetUnreadMsgNum,
            NOW,
            json!({"GroupId": "g", "Member_Account": "m3", "UnreadMsgNum": 1})
        ),
        10004
    );
    let many: Vec<Value> = (0..21).map(|_| json!({"Member_Account": "m1"})).collect();
    assert_eq!(
        refused(
            &mut s,
            Api::ImportGroupMember,
            NOW,
            json!({"GroupId": "g", "MemberList": many})
        ),
        10005
    );
}

#[test]
fn imports_fire_no_callbacks() {
    let mut s = people();
    let c = SimConfig::default();
    let calls = [
        (
            Api::ImportGroup,
            json!({"Owner_Account": "owner", "Type": "Public", "GroupId": "g", "Name": "n", "CreateTime": CREATED}),
        ),
        (
            Api::ImportGroupMsg,
            json!({"GroupId": "g", "MsgList": msgs(&[CREATED + 1])}),
        ),
        (
            Api::ImportGroupMember,
            json!({"GroupId": "g", "MemberList": [{"Member_Account": "m1"}]}),
        ),
        (
            Api::SetUnreadMsgNum,
            json!({"GroupId": "g", "Member_Account": "m1", "UnreadMsgNum": 1}),
        ),
    ];
    for (api, body) in calls {
        let served = serve(&mut s, &c, api, NOW, body);
        assert!(served.result.is_ok(), "{api}");
        assert!(served.callbacks.is_empty(), "{api} fired a callback");
    }
}

#[test]
fn a_malformed_item_refuses_the_whole_request_and_stores_nothing() {
    let mut s = with_group("g");
    let mut list = msgs(&[CREATED + 1, CREATED + 2]);
    list[1]["SendTime"] = json!("yesterday");
    assert_eq!(
        refused(
            &mut s,
            Api::ImportGroupMsg,
            NOW,
            json!({"GroupId": "g", "MsgList": list})
        ),
        10004
    );
    assert_eq!(
        s.groups["g"].last_seq(),
        0,
        "the good first message is not kept"
    );
    assert_eq!(
        refused(
            &mut s,
            Api::ImportGroupMember,
            NOW,
            json!({"GroupId": "g", "MemberList": [
            {"Member_Account": "m1"}, {"Member_Account": "m2", "JoinTime": "today"}]})
        ),
        10004
    );
    assert_eq!(s.groups["g"].members.len(), 1, "only the owner");
}

#[test]
fn members_without_join_time_join_a_group_created_this_second() {
    let mut s = people();
    ok(
        &mut s,
        Api::ImportGroup,
        NOW,
        json!({"Owner_Account": "owner", "Type": "Public", "GroupId": "g", "Name": "n"}),
    );
    let a = ok(
        &mut s,
        Api::ImportGroupMember,
        NOW,
        json!({"GroupId": "g", "MemberList": [{"Member_Account": "m1"}]}),
    );
    assert_eq!(a["MemberList"][0]["Result"], 1);
}

#[test]
fn live_broadcast_groups_and_communities_have_their_own_rules() {
    let mut s = with_group("g");
    ok(
        &mut s,
        Api::CreateGroup,
        NOW,
        json!({"Type": "AVChatRoom", "GroupId": "live", "Name": "n"}),
    );
    let member = json!({"GroupId": "live", "MemberList": [{"Member_Account": "m1"}]});
    assert_eq!(refused(&mut s, Api::ImportGroupMember, NOW, member), 10007);
    let msg = json!({"GroupId": "live", "MsgList": msgs(&[NOW - 1])});
    assert_eq!(refused(&mut s, Api::ImportGroupMsg, NOW, msg), 10007);
    let unread = json!({"GroupId": "live", "Member_Account": "m1", "UnreadMsgNum": 1});
    assert!(
        ok(&mut s, Api::SetUnreadMsgNum, NOW, unread).is_empty(),
        "accepted, no effect"
    );
    assert_eq!(
        refused(
            &mut s,
            Api::SetUnreadMsgNum,
            NOW,
            json!({"GroupId": "nope", "Member_Account": "m1", "UnreadMsgNum": 1})
        ),
        10010
    );

    let topic = json!({"Type": "Public", "GroupId": "t", "Name": "n", "SupportTopic": 1});
    assert_eq!(refused(&mut s, Api::ImportGroup, NOW, topic), 10004);
    ok(
        &mut s,
        Api::ImportGroup,
        NOW,
        json!({"Type": "Community", "Name": "c", "SupportTopic": 1, "CreateTime": CREATED}),
    );
    let generated = s.group_order.values().last().unwrap().to_string();
    assert!(generated.starts_with("@TGS#_"), "{generated}");
    let flagged =
        json!({"GroupId": generated, "RecentContactFlag": 1, "MsgList": msgs(&[CREATED + 1])});
    assert_eq!(refused(&mut s, Api::ImportGroupMsg, NOW, flagged), 10004);
    let ghost = json!({"GroupId": "g", "MsgList": [{"From_Account": "ghost", "SendTime": CREATED + 1,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]}]});
    assert_eq!(
        results(&ok(&mut s, Api::ImportGroupMsg, NOW, ghost)),
        [(0, 10004)],
        "an unknown sender fails its message"
    );
    let orphan = json!({"Owner_Account": "ghost", "Type": "Public", "GroupId": "o", "Name": "n"});
    assert_eq!(refused(&mut s, Api::ImportGroup, NOW, orphan), 10019);
}

#[test]
fn a_message_at_the_same_second_as_the_newest_is_refused() {
    // The docs say "greater than" the newest: the strict reading, so ties are refused with
    // the documented per-message "send time invalid" (10004), within a batch and across.
    let mut s = with_group("g");
    let body = |times: &[i64]| json!({"GroupId": "g", "MsgList": msgs(times)});
    let a = ok(
        &mut s,
        Api::ImportGroupMsg,
        NOW,
        body(&[CREATED + 5, CREATED + 5, CREATED + 6]),
    );
    assert_eq!(results(&a), [(1, 0), (0, 10004), (2, 0)]);
    let a = ok(&mut s, Api::ImportGroupMsg, NOW, body(&[CREATED + 6]));
    assert_eq!(results(&a), [(0, 10004)]);
}
