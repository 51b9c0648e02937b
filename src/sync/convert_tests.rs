//! Converting old → new events into requests.

use super::*;
use crate::tim::requests::{derived_u32, SALT_C2C_RANDOM, SALT_C2C_SEQ, SALT_GROUP_RANDOM};
use serde_json::json;
use EventKind::*;

fn ev(kind: EventKind, record: Value) -> SyncEvent {
    let event = json!({"event_id": "e1", "kind": kind, "at": 1_700_000_000, "record": record});
    serde_json::from_value(event).unwrap()
}

/// The one request of an event, as JSON; checks its API.
fn one(kind: EventKind, record: Value, mode: C2cMode) -> Value {
    let calls = request_for(&ev(kind, record), mode).unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].api(), api_for(kind, mode));
    serde_json::to_value(&calls[0]).unwrap()
}

fn c2c() -> Value {
    json!({"id": "m1", "from": "u1", "to": "u2", "sent_at": 1_700_000_000,
        "body": [{"type": "text", "text": "hi"}], "custom_data": "cd"})
}

fn text(t: &str) -> Value {
    json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}])
}

#[test]
fn every_kind_becomes_its_request_in_both_modes() {
    #[rustfmt::skip]
    let cases = [
        (AccountCreated, json!({"id": "u1", "nick": "Al", "avatar_url": "http://a"}),
         json!({"UserID": "u1", "Nick": "Al", "FaceUrl": "http://a"})),
        (GroupCreated, json!({"id": "g1", "type": "public", "name": "Chess", "owner": "u1",
            "introduction": "i", "max_members": 50, "join_option": "free", "created_at": 1_600_000_000}),
         json!({"Owner_Account": "u1", "Type": "Public", "GroupId": "g1", "Name": "Chess",
            "Introduction": "i", "MaxMemberCount": 50, "ApplyJoinOption": "FreeAccess"})),
        (GroupUpdated, json!({"id": "g1", "name": "Go", "join_option": "disabled", "custom": {"Level": "3"}}),
         json!({"GroupId": "g1", "Name": "Go", "ApplyJoinOption": "DisableApply",
            "AppDefinedData": [{"Key": "Level", "Value": "3"}]})),
        (GroupDestroyed, json!({"id": "g1"}), json!({"GroupId": "g1"})),
        (MemberJoined, json!({"group": "g1", "member": "u2", "role": "admin"}),
         json!({"GroupId": "g1", "Silence": 1, "MemberList": [{"Member_Account": "u2"}]})),
        (MemberLeft, json!({"group": "g1", "member": "u2"}),
         json!({"GroupId": "g1", "Silence": 1, "MemberToDel_Account": ["u2"]})),
        (GroupMessage, json!({"id": "gm1", "group": "g1", "from": "u2", "sent_at": 1_700_000_000,
            "body": [{"type": "text", "text": "gg"}]}),
         json!({"GroupId": "g1", "Random": derived_u32("gm1", SALT_GROUP_RANDOM), "MsgBody": text("gg"),
            "From_Account": "u2", "ForbidCallbackControl": FORBID_CALLBACKS})),
    ];
    for mode in [C2cMode::Importmsg, C2cMode::Sendmsg] {
        for (kind, record, want) in &cases {
            assert_eq!(one(*kind, record.clone(), mode), *want, "{kind:?}");
        }
    }
    let seq = derived_u32("m1", SALT_C2C_SEQ);
    let random = derived_u32("m1", SALT_C2C_RANDOM);
    #[rustfmt::skip]
    let (import, send) = (
        json!({"SyncFromOldSystem": 5, "From_Account": "u1", "To_Account": "u2", "MsgSeq": seq,
            "MsgRandom": random, "MsgTimeStamp": 1_700_000_000, "MsgBody": text("hi"),
            "CloudCustomData": "cd"}),
        json!({"SyncOtherMachine": 1, "From_Account": "u1", "To_Account": "u2", "MsgSeq": seq,
            "MsgRandom": random, "MsgTimeStamp": 1_700_000_000, "MsgBody": text("hi"),
            "ForbidCallbackControl": ["ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"],
            "CloudCustomData": "cd"}),
    );
    assert_eq!(one(C2cMessage, c2c(), C2cMode::Importmsg), import);
    assert_eq!(one(C2cMessage, c2c(), C2cMode::Sendmsg), send);
}

#[test]
fn group_ids_follow_the_import_mapping() {
    let gid = target_group_id("g9", GroupType::Community).into_owned();
    let c = json!({"id": "g9", "type": "community", "name": "C", "created_at": 1});
    let created = one(GroupCreated, c, C2cMode::Importmsg);
    assert_eq!(created["GroupId"], gid.as_str());
    let d = json!({"id": "g9", "type": "community"});
    let destroyed = one(GroupDestroyed, d, C2cMode::Importmsg);
    assert_eq!(destroyed["GroupId"], gid.as_str());
    assert_eq!(group_id_for("@TGS#_x", None), "@TGS#_x");
    assert!(group_id_for("@TGS#abc", None).starts_with("cutover_"));
    let owner_only = ev(GroupUpdated, json!({"id": "g1", "owner": "u3"}));
    assert_eq!(request_for(&owner_only, C2cMode::Importmsg), Ok(Vec::new()));
}

#[test]
fn a_bad_record_names_the_event_the_field_and_the_rule() {
    let mut no_from = c2c();
    no_from.as_object_mut().unwrap().remove("from");
    let e = request_for(&ev(C2cMessage, no_from), C2cMode::Sendmsg).unwrap_err();
    let got = (e.event_id.as_str(), e.field(), e.rule());
    assert_eq!(got, ("e1", "record.from", Rule::MissingField));
    assert!(e.to_string().contains("record.from: missing_field"), "{e}");
    #[rustfmt::skip]
    let cases = [
        (GroupUpdated, json!({"id": "g1", "name": "x".repeat(31)}), "record.name", Rule::BadLength),
        (MemberLeft, json!({"group": "g1"}), "record.member", Rule::MissingField),
        (GroupDestroyed, json!("g1"), "record", Rule::InvalidJson),
        (GroupMessage, json!({"id": "x", "group": "g", "from": "u", "sent_at": 5, "body": []}),
         "record.body", Rule::EmptyBody),
        (GroupCreated, json!({"id": "g", "type": "avchatroom", "name": "n", "created_at": 5}),
         "record.type", Rule::Avchatroom),
        (GroupUpdated, json!({"id": "g", "custom": {"bad key": "v"}}), "record.custom.bad key",
         Rule::InvalidValue),
        (AccountCreated, json!({"id": 7}), "record.id", Rule::WrongType),
    ];
    for (kind, record, field, rule) in cases {
        let e = validate(&ev(kind, record)).unwrap_err();
        assert_eq!((e.field(), e.rule()), (field, rule), "{e}");
    }
}

#[test]
fn deletions_become_their_requests_and_recalls_name_the_message_found() {
    let c2c_found = TargetMsg::C2c {
        from: "u1".into(),
        to: "u2".into(),
        msg_key: "7_8_9".into(),
    };
    let group_found = TargetMsg::Group {
        group_id: "g1".into(),
        msg_seq: 12,
    };
    #[rustfmt::skip]
    let cases = [
        (FriendDeleted, json!({"owner": "u1", "friend": "u2"}), None,
         json!({"From_Account": "u1", "To_Account": ["u2"], "DeleteType": "Delete_Type_Single"})),
        (AccountDeleted, json!({"id": "u3"}), None, json!({"DeleteItem": [{"UserID": "u3"}]})),
        (C2cMessageRecalled, json!({"id": "m1"}), Some(&c2c_found),
         json!({"From_Account": "u1", "To_Account": "u2", "MsgKey": "7_8_9"})),
        (C2cMessageRecalled, json!({"id": "m1", "from": "u1", "to": "u2"}), Some(&c2c_found),
         json!({"From_Account": "u1", "To_Account": "u2", "MsgKey": "7_8_9"})),
        (GroupMessageRecalled, json!({"group": "g1", "id": "gm1"}), Some(&group_found),
         json!({"GroupId": "g1", "MsgSeqList": [{"MsgSeq": 12}]})),
    ];
    for (kind, record, found, want) in cases {
        let got = calls(
            &ev(kind, record),
            C2cMode::Sendmsg,
            found,
            &DropCustom::default(),
        )
        .unwrap();
        assert_eq!(got.len(), 1, "{kind:?}");
        assert_eq!(got[0].api(), api_for(kind, C2cMode::Importmsg));
        assert_eq!(serde_json::to_value(&got[0]).unwrap(), want, "{kind:?}");
    }
    // Without the message found (or found as the other kind), a recall has no request.
    let recall = ev(C2cMessageRecalled, json!({"id": "m1"}));
    assert_eq!(request_for(&recall, C2cMode::Importmsg), Ok(Vec::new()));
    assert_eq!(
        calls(
            &recall,
            C2cMode::Importmsg,
            Some(&group_found),
            &DropCustom::default()
        ),
        Ok(Vec::new())
    );
    let named = validate(&ev(
        C2cMessageRecalled,
        json!({"id": "m1", "from": "u1", "to": "u2"}),
    ));
    let between = Some(("u1".to_string(), "u2".to_string()));
    assert_eq!(
        named,
        Ok(Record::Recalled(MessageRef::C2c {
            id: "m1".into(),
            between
        }))
    );
    #[rustfmt::skip]
    let bad = [
        (FriendDeleted, json!({"owner": "u1"}), "record.friend", Rule::MissingField),
        (AccountDeleted, json!({"id": "x".repeat(33)}), "record.id", Rule::BadLength),
        (C2cMessageRecalled, json!({"id": ""}), "record.id", Rule::BadLength),
        (C2cMessageRecalled, json!({"id": "m1", "from": 5, "to": "u2"}), "record.from", Rule::WrongType),
        (GroupMessageRecalled, json!({"id": "gm1"}), "record.group", Rule::MissingField),
    ];
    for (kind, record, field, rule) in bad {
        let e = validate(&ev(kind, record)).unwrap_err();
        assert_eq!((e.field(), e.rule()), (field, rule), "{e}");
    }
}

#[test]
fn a_created_group_leaves_out_the_custom_fields_the_import_dropped() {
    let group = json!({"id": "g1", "type": "public", "name": "Chess", "owner": "u1",
        "created_at": 5, "custom": {"Category": "games", "Level": "3"}});
    let dropped = DropCustom([crate::model::console::CustomKey::Group("Category".into())].into());
    let calls = calls(&ev(GroupCreated, group), C2cMode::Importmsg, None, &dropped).unwrap();
    let body = serde_json::to_value(&calls[0]).unwrap();
    let text = body.to_string();
    assert!(!text.contains("Category"), "{body}");
    assert!(text.contains("Level"), "{body}");
}
