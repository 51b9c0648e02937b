//! Callback checks and translation.

use super::*;

const SIGN: &str = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061";
const T: i64 = 1669872112;

/// A query of these pairs; a value of "-" leaves the parameter out.
fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    let set = pairs.iter().filter(|(_, v)| *v != "-");
    set.map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn the_documented_sign_passes_and_forgeries_stale_times_and_other_apps_fail() {
    let auth = CallbackAuth {
        sdkappid: 1400000001,
        token: "xxxxyyyy".into(),
        max_skew_secs: 300,
    };
    let check = |app: &str, sign: &str, time: &str, now: i64| {
        let query = q(&[("SdkAppid", app), ("Sign", sign), ("RequestTime", time)]);
        check_query(&query, &auth, now)
    };
    let (app, t) = ("1400000001", "1669872112");
    assert_eq!(check(app, SIGN, t, T + 10), Ok(()));
    assert_eq!(check(app, &SIGN.to_uppercase(), t, T - 300), Ok(()));
    let forged = format!("{}0", &SIGN[..63]);
    for (sign, time) in [(forged.as_str(), t), (SIGN, "1669872113"), ("", t)] {
        assert_eq!(check(app, sign, time, T), Err(Rejection::BadSign));
    }
    let stale = check(app, SIGN, t, T + 301).unwrap_err();
    let want = Rejection::Stale {
        request_time: T,
        off: 301,
        max_skew: 300,
    };
    assert_eq!(stale, want);
    assert!(check(app, SIGN, t, T - 301).is_err());
    let wrong = check("1400000002", SIGN, t, T).unwrap_err();
    assert!(matches!(
        wrong,
        Rejection::WrongAppId {
            want: 1400000001,
            ..
        }
    ));
    assert_eq!(check("-", SIGN, t, T), Err(Rejection::MissingAppId));
    assert_eq!(check(app, "-", t, T), Err(Rejection::MissingAuth("Sign")));
    let no_time = check(app, SIGN, "-", T);
    assert_eq!(no_time, Err(Rejection::MissingAuth("RequestTime")));
    let bad = check(app, SIGN, "soon", T);
    assert!(matches!(bad, Err(Rejection::Malformed { .. })));
    for r in [Rejection::BadSign, wrong, stale] {
        let text = r.to_string();
        assert!(!text.contains("xxxxyyyy") && !text.contains(SIGN), "{text}");
    }
}

/// A store that knows groups as `old:{GroupId}`, the messages and ledger keys given.
#[derive(Default)]
struct Fake {
    messages: Vec<(TargetMsg, &'static str)>,
    ledger: Vec<String>,
}

impl Known for Fake {
    fn old_group_id(&self, group_id: &str) -> String {
        format!("old:{group_id}")
    }
    fn old_message_id(&self, msg: &TargetMsg, old_group: &str) -> Option<String> {
        if let TargetMsg::Group { group_id, .. } = msg {
            assert_eq!(old_group, self.old_group_id(group_id));
        }
        let found = self.messages.iter().find(|(m, _)| m == msg);
        found.map(|(_, id)| (*id).to_string())
    }
    fn relay_wrote(&self, key: &str) -> bool {
        self.ledger.iter().any(|k| k == key)
    }
}

fn run(command: &str, platform: &str, body: &str) -> Result<Vec<Translated>, Rejection> {
    run_with(&Fake::default(), command, platform, body)
}

fn run_with(
    known: &Fake,
    command: &str,
    platform: &str,
    body: &str,
) -> Result<Vec<Translated>, Rejection> {
    let query = q(&[("OptPlatform", platform), ("RequestTime", "1670574414")]);
    let body: Value = serde_json::from_str(body).unwrap();
    translate(command, &query, &body, "relay", known)
}

fn events(command: &str, body: &str) -> Value {
    let out = run(command, "Android", body).unwrap();
    let events: Vec<_> = (out.into_iter())
        .map(|t| match t {
            Translated::Event(e) => e,
            other => panic!("not an event: {other:?}"),
        })
        .collect();
    serde_json::to_value(events).unwrap()
}

/// The example bodies of §5.2 (EventTime sometimes a string, as the docs show it).
const C2C: &str = r#"{"CallbackCommand": "C2C.CallbackAfterSendMsg", "From_Account": "jared", "To_Account": "Jonh",
 "MsgSeq": 48374, "MsgRandom": 2837546, "MsgTime": 1557481126,
 "MsgKey": "48374_2837546_1557481126", "MsgId": "144115233406643804-1727580296-4026038328",
 "OnlineOnlyFlag": 1, "SendMsgResult": 0, "ErrorInfo": "send msg succeed", "UnreadMsgNum": 7,
 "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}],
 "CloudCustomData": "your cloud custom data", "EventTime": 1670574414123}"#;
const GROUP_MSG: &str = r#"{"CallbackCommand": "Group.CallbackAfterSendMsg", "GroupId": "@TGS#2J4SZEAEL", "Type": "Public",
 "From_Account": "jared", "Operator_Account": "admin", "Random": 123456, "MsgSeq": 123,
 "MsgId": "144115233406643804-1727580296-4026038328", "MsgTime": 1490686222, "OnlineOnlyFlag": 1,
 "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}],
 "CloudCustomData": "your cloud custom data", "EventTime": 1670574414123,
 "GroupAtInfo": [{"GroupAtAllFlag": 1}, {"GroupAtAllFlag": 0, "GroupAt_Account": "brennan"}]}"#;
const CREATE: &str = r#"{"CallbackCommand": "Group.CallbackAfterCreateGroup", "GroupId": "@TGS#2J4SZEAEL",
 "Operator_Account": "group_root", "Owner_Account": "leckie", "Type": "Public",
 "Name": "MyFirstGroup", "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "peter"}],
 "UserDefinedDataList": [{"Key": "UserDefined1", "Value": "hello"}], "EventTime": 1670574414123}"#;
const DESTROY: &str = r#"{"CallbackCommand": "Group.CallbackAfterGroupDestroyed", "GroupId": "@TGS#2J4SZEAEL",
 "Type": "Public", "Owner_Account": "leckie", "Name": "MyFirstGroup",
 "MemberList": [{"Member_Account": "leckie"}, {"Member_Account": "peter"}], "EventTime": 1670574414123}"#;
const INFO: &str = r#"{"CallbackCommand": "Group.CallbackAfterGroupInfoChanged", "GroupId": "@TGS#2J4SZEAEL",
 "Type": "Public", "Operator_Account": "leckie", "Notification": "NewNotification",
 "EventTime": "1670574414123"}"#;
const JOIN: &str = r#"{"CallbackCommand": "Group.CallbackAfterNewMemberJoin", "GroupId": "@TGS#2J4SZEAEL",
 "Type": "Public", "JoinType": "Apply", "Operator_Account": "leckie",
 "NewMemberList": [{"Member_Account": "jared"}, {"Member_Account": "tommy"}], "EventTime": 1670574414123}"#;
const EXIT: &str = r#"{"CallbackCommand": "Group.CallbackAfterMemberExit", "GroupId": "@TGS#2J4SZEAEL",
 "Type": "Public", "ExitType": "Kicked", "Operator_Account": "leckie",
 "ExitMemberList": [{"Member_Account": "jared"}, {"Member_Account": "tommy"}], "EventTime": "1670574414123"}"#;

#[test]
fn the_seven_documented_callbacks_become_export_records() {
    let (g, t) = ("old:@TGS#2J4SZEAEL", 1670574414);
    let text = json!([{"type": "text", "text": "red packet"}]);
    let cases = [
        (
            COMMANDS[0],
            C2C,
            json!([{"event_id": "tim-c2c-48374_2837546_1557481126",
            "kind": "c2c_message", "at": 1557481126, "record": {
            "id": "tim-c2c-48374_2837546_1557481126", "from": "jared", "to": "Jonh",
            "sent_at": 1557481126, "seq": 48374, "random": 2837546, "body": text,
            "custom_data": "your cloud custom data"}}]),
        ),
        (
            COMMANDS[1],
            GROUP_MSG,
            json!([{"event_id": "tim-gmsg-@TGS#2J4SZEAEL-123",
            "kind": "group_message", "at": 1490686222, "record": {
            "id": "tim-gmsg-@TGS#2J4SZEAEL-123", "group": g, "from": "jared",
            "sent_at": 1490686222, "random": 123456, "body": text,
            "custom_data": "your cloud custom data"}}]),
        ),
        (
            COMMANDS[2],
            CREATE,
            json!([{"event_id": "tim-gcreate-@TGS#2J4SZEAEL",
            "kind": "group_created", "at": t, "record": {"id": g, "type": "public",
            "name": "MyFirstGroup", "owner": "leckie", "created_at": t,
            "custom": {"UserDefined1": "hello"}}}]),
        ),
        (
            COMMANDS[3],
            INFO,
            json!([{"event_id": "tim-gupd-@TGS#2J4SZEAEL-1670574414123",
            "kind": "group_updated", "at": t,
            "record": {"id": g, "notification": "NewNotification"}}]),
        ),
        (
            COMMANDS[4],
            JOIN,
            json!(["jared", "tommy"].map(|m| json!({
            "event_id": format!("tim-join-@TGS#2J4SZEAEL-{m}-1670574414123"),
            "kind": "member_joined", "at": t,
            "record": {"group": g, "member": m, "joined_at": t}}))),
        ),
        (
            COMMANDS[5],
            EXIT,
            json!(["jared", "tommy"].map(|m| json!({
            "event_id": format!("tim-exit-@TGS#2J4SZEAEL-{m}-1670574414123"),
            "kind": "member_left", "at": t, "record": {"group": g, "member": m}}))),
        ),
        (
            COMMANDS[6],
            DESTROY,
            json!([{"event_id": "tim-gdestroy-@TGS#2J4SZEAEL",
            "kind": "group_destroyed", "at": t, "record": {"id": g}}]),
        ),
    ];
    for (command, body, want) in cases {
        assert_eq!(events(command, body), want, "{command}");
    }
    let int_time = INFO.replace("\"1670574414123\"", "1670574414123");
    assert_eq!(events(COMMANDS[3], &int_time), events(COMMANDS[3], INFO));
    let face = INFO.replace(
        "Notification\": \"NewNotification",
        "FaceUrl\": \"https://f",
    );
    assert_eq!(
        events(COMMANDS[3], &face)[0]["record"]["avatar_url"],
        "https://f"
    );
    let shut_up = r#"{"GroupId": "g", "ShutUpAllMember": "On", "EventTime": 1}"#;
    assert!(matches!(
        run(COMMANDS[3], "Web", shut_up).unwrap()[0],
        Translated::Ignored(_)
    ));
}

#[test]
fn reconciliation_reads_give_the_callbacks_own_events() {
    let roam: RoamMsg =
        serde_json::from_value(json!({"From_Account": "jared", "To_Account": "Jonh",
        "MsgSeq": 48374, "MsgRandom": 2837546, "MsgTimeStamp": 1557481126,
        "MsgKey": "48374_2837546_1557481126", "CloudCustomData": "your cloud custom data",
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}]}))
        .unwrap();
    let from_roam = serde_json::to_value([c2c_event_from_roam(&roam)]).unwrap();
    assert_eq!(from_roam, events(COMMANDS[0], C2C));
    let rsp: RspMsg = serde_json::from_value(json!({"From_Account": "jared", "MsgRandom": 123456,
        "MsgSeq": 123, "MsgTimeStamp": 1490686222,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}]}))
    .unwrap();
    let from_rsp = group_event_from_rsp("@TGS#2J4SZEAEL", "old:@TGS#2J4SZEAEL", &rsp);
    let no_custom = GROUP_MSG.replace("\"CloudCustomData\"", "\"Unused\"");
    let callback = events(COMMANDS[1], &no_custom);
    assert_eq!(serde_json::to_value([from_rsp]).unwrap(), callback);
}

#[test]
fn the_relays_own_rest_writes_are_echoes_and_bad_input_is_refused() {
    let exit = EXIT.replace("\"leckie\"", "\"relay\"");
    let out = run(COMMANDS[5], "RESTAPI", &exit).unwrap();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|t| matches!(t, Translated::Echo(e, why)
        if e.kind == EventKind::MemberLeft && why.contains("relay"))));
    // The relay's account from a client, or another admin through REST, is no echo.
    assert!(matches!(
        run(COMMANDS[5], "Web", &exit).unwrap()[0],
        Translated::Event(_)
    ));
    assert!(matches!(
        run(COMMANDS[1], "RESTAPI", GROUP_MSG).unwrap()[0],
        Translated::Event(_)
    ));
    let own_msg = GROUP_MSG.replace("\"admin\"", "\"relay\"");
    assert!(matches!(
        run(COMMANDS[1], "RESTAPI", &own_msg).unwrap()[0],
        Translated::Echo(..)
    ));
    // C2C callbacks name no operator: never echoes.
    assert!(matches!(
        run(COMMANDS[0], "RESTAPI", C2C).unwrap()[0],
        Translated::Event(_)
    ));
    for (command, body) in [(COMMANDS[0], C2C), (COMMANDS[1], GROUP_MSG)] {
        let failed = body.replace("\"MsgBody\"", "\"SendMsgResult\": 10017, \"MsgBody\"");
        let failed = failed.replace("\"SendMsgResult\": 0,", "");
        assert!(matches!(
            run(command, "Web", &failed).unwrap()[0],
            Translated::Ignored(_)
        ));
    }
    let unknown = run("State.StateChange", "Web", "{}");
    assert!(matches!(unknown, Err(Rejection::UnknownCommand(_))));
    for (command, body) in [
        (COMMANDS[6], CREATE),
        (COMMANDS[6], "[]"),
        (COMMANDS[6], r#"{"EventTime": 1}"#),
        (COMMANDS[0], &C2C.replace("48374,", "-1,")),
        (
            COMMANDS[4],
            r#"{"GroupId": "g", "NewMemberList": [{"Member": "x"}]}"#,
        ),
    ] {
        let err = run(command, "Web", body).unwrap_err();
        assert!(matches!(err, Rejection::Malformed { .. }), "{err}");
    }
    let ok = json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""});
    assert_eq!(ok_answer(), ok);
}

/// The documented bodies of the deletion callbacks (Chinese docs 269/1659, 269/61697 and
/// 269/73141): the friend deletion has no time, the group recall's EventTime is a string on
/// one page and an integer on another.
const FRIEND_DELETE: &str = r#"{"CallbackCommand": "Sns.CallbackFriendDelete", "PairList": [
 {"From_Account": "id", "To_Account": "id1"}, {"From_Account": "id", "To_Account": "id2"}]}"#;
const WITHDRAW: &str = r#"{"CallbackCommand": "C2C.CallbackAfterMsgWithDraw", "From_Account": "jared",
 "To_Account": "Jonh", "MsgKey": "48374_2837546_1557481126", "EventTime": 1670574414123}"#;
const RECALL: &str = r#"{"CallbackCommand": "Group.CallbackAfterRecallMsg", "Operator_Account": "admin",
 "Type": "Public", "GroupId": "@TGS#2J4SZEAEL",
 "MsgSeqList": [{"MsgSeq": 130, "MsgId": "144115213033478435-1739361321-2512805311"}, {"MsgSeq": "131"}],
 "EventTime": "1670574414123"}"#;

#[test]
fn deletions_and_recalls_become_events_named_by_the_old_ids_the_relay_knows() {
    let (g, t) = ("old:@TGS#2J4SZEAEL", 1670574414);
    let unknown = [
        (
            COMMANDS[7],
            FRIEND_DELETE,
            json!(["id1", "id2"].map(|f| json!({
            "event_id": format!("tim-fdel-id-{f}-1670574414000"), "kind": "friend_deleted",
            "at": t, "record": {"owner": "id", "friend": f}}))),
        ),
        (
            COMMANDS[8],
            WITHDRAW,
            json!([{"event_id": "tim-c2crecall-48374_2837546_1557481126",
            "kind": "c2c_message_recalled", "at": t, "record": {
            "id": "tim-c2c-48374_2837546_1557481126", "from": "jared", "to": "Jonh"}}]),
        ),
        (
            COMMANDS[9],
            RECALL,
            json!([130, 131].map(|s| json!({
            "event_id": format!("tim-grecall-@TGS#2J4SZEAEL-{s}"), "kind": "group_message_recalled",
            "at": t, "record": {"group": g, "id": format!("tim-gmsg-@TGS#2J4SZEAEL-{s}")}}))),
        ),
    ];
    for (command, body, want) in unknown {
        assert_eq!(events(command, body), want, "{command}");
    }
    // Messages the relay wrote or the import brought are named by their old ids.
    let known = Fake {
        messages: vec![
            (
                TargetMsg::C2c {
                    from: "jared".into(),
                    to: "Jonh".into(),
                    msg_key: "48374_2837546_1557481126".into(),
                },
                "m77",
            ),
            (
                TargetMsg::Group {
                    group_id: "@TGS#2J4SZEAEL".into(),
                    msg_seq: 131,
                },
                "gm9",
            ),
        ],
        ledger: Vec::new(),
    };
    let ids = |command, body| -> Vec<Value> {
        let out = run_with(&known, command, "Web", body).unwrap();
        out.into_iter()
            .map(|t| match t {
                Translated::Event(e) => e.record["id"].clone(),
                other => panic!("not an event: {other:?}"),
            })
            .collect()
    };
    assert_eq!(ids(COMMANDS[8], WITHDRAW), [json!("m77")]);
    let recalled = ids(COMMANDS[9], RECALL);
    assert_eq!(
        recalled,
        [json!("tim-gmsg-@TGS#2J4SZEAEL-130"), json!("gm9")]
    );
    // Without EventTime, the withdrawal takes RequestTime; an empty pair list says so.
    let no_time = WITHDRAW.replace(", \"EventTime\": 1670574414123", "");
    assert_eq!(events(COMMANDS[8], &no_time), events(COMMANDS[8], WITHDRAW));
    let none = run(COMMANDS[7], "Web", r#"{"PairList": []}"#).unwrap();
    assert!(matches!(&none[..], [Translated::Ignored(_)]), "{none:?}");
}

#[test]
fn the_relays_own_deletions_and_recalls_come_back_as_echoes() {
    let known = Fake {
        messages: Vec::new(),
        ledger: vec![
            "sns:id:delete:id2".into(),
            "c2c:jared:Jonh:recall:48374_2837546_1557481126".into(),
            "group:@TGS#2J4SZEAEL:recall:131".into(),
        ],
    };
    let echoes = |command, platform, body: &str| -> Vec<bool> {
        let out = run_with(&known, command, platform, body).unwrap();
        out.iter()
            .map(|t| matches!(t, Translated::Echo(..)))
            .collect()
    };
    assert_eq!(echoes(COMMANDS[7], "RESTAPI", FRIEND_DELETE), [false, true]);
    assert_eq!(echoes(COMMANDS[8], "RESTAPI", WITHDRAW), [true]);
    assert_eq!(echoes(COMMANDS[9], "RESTAPI", RECALL), [false, true]);
    // The relay's admin recalling through REST is an echo whatever the ledger says.
    let own = RECALL.replace("\"admin\"", "\"relay\"");
    assert_eq!(echoes(COMMANDS[9], "RESTAPI", &own), [true, true]);
    assert_eq!(echoes(COMMANDS[9], "Web", &own), [false, true]);
    #[rustfmt::skip]
    let bad = [
        (COMMANDS[7], r#"{"PairList": [{"From_Account": "a"}]}"#),
        (COMMANDS[7], r#"{"PairList": {}}"#),
        (COMMANDS[8], r#"{"From_Account": "a", "To_Account": "b"}"#),
        (COMMANDS[9], r#"{"GroupId": "g", "MsgSeqList": [{"MsgId": "x"}]}"#),
        (COMMANDS[9], r#"{"MsgSeqList": [{"MsgSeq": 1}]}"#),
    ];
    for (command, body) in bad {
        let err = run(command, "Web", body).unwrap_err();
        assert!(
            matches!(err, Rejection::Malformed { .. }),
            "{command}: {err}"
        );
    }
}
