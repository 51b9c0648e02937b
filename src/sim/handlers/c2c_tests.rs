use crate::sim::config::SimConfig;
use crate::sim::handlers::testing::{ok, refused, serve};
use crate::sim::state::State;
use crate::tim::api::Api;
use crate::tim::wire::c2c::AdminGetRoamMsgResponse;
use serde_json::{json, Value};

const NOW: i64 = 1_800_000_000;

fn two() -> State {
    let mut s = State::default();
    s.import_account("a");
    s.import_account("b");
    s
}

fn msg(from: &str, to: &str, seq: u32, random: u32, time: i64, text: &str) -> Value {
    json!({"SyncFromOldSystem": 2, "From_Account": from, "To_Account": to, "MsgSeq": seq,
        "MsgRandom": random, "MsgTimeStamp": time,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]})
}

#[test]
fn importmsg_dedupes_on_the_triple_and_keeps_the_first() {
    let mut s = two();
    ok(
        &mut s,
        Api::ImportMsg,
        NOW,
        msg("a", "b", 1, 2, NOW - 10, "first"),
    );
    ok(
        &mut s,
        Api::ImportMsg,
        NOW,
        msg("b", "a", 1, 2, NOW - 10, "second"),
    );
    ok(
        &mut s,
        Api::ImportMsg,
        NOW,
        msg("a", "b", 1, 2, NOW - 10, "third"),
    );
    let conv = s.conversation(0, 1).unwrap();
    assert_eq!(conv.msgs.len(), 1);
    assert_eq!(conv.msgs[0].body.body()[0]["MsgContent"]["Text"], "first");
}

#[test]
fn importmsg_field_codes() {
    let mut s = two();
    let mut m = msg("a", "b", 1, 2, NOW - 10, "x");
    let mut code = |edit: &dyn Fn(&mut Value)| {
        let mut body = m.clone();
        edit(&mut body);
        refused(&mut s, Api::ImportMsg, NOW, body)
    };
    assert_eq!(code(&|b| b["SyncFromOldSystem"] = json!(3)), 90030);
    assert_eq!(
        code(&|b| {
            b.as_object_mut().unwrap().remove("SyncFromOldSystem");
        }),
        90030
    );
    assert_eq!(code(&|b| b["MsgRandom"] = json!("7")), 90005);
    assert_eq!(
        code(&|b| {
            b.as_object_mut().unwrap().remove("MsgTimeStamp");
        }),
        90006
    );
    assert_eq!(code(&|b| b["To_Account"] = json!("ghost")), 90012);
    assert_eq!(code(&|b| b["From_Account"] = json!("ghost")), 90048);
    assert_eq!(code(&|b| b["MsgBody"] = json!({})), 90007);
    assert_eq!(
        code(&|b| b["MsgBody"] =
            json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x".repeat(12300)}}])),
        93000
    );
    assert_eq!(code(&|b| b["MsgTimeStamp"] = json!(NOW + 5)), 90001);
    m["SyncFromOldSystem"] = json!(5);
    ok(&mut s, Api::ImportMsg, NOW, m);
    assert_eq!(s.account(1).c2c_unread, 1);
}

#[test]
fn imports_fire_no_callbacks_and_sendmsg_does_unless_forbidden() {
    let mut s = two();
    let c = SimConfig::default();
    assert!(serve(
        &mut s,
        &c,
        Api::ImportMsg,
        NOW,
        msg("a", "b", 1, 2, NOW, "x")
    )
    .callbacks
    .is_empty());
    let send = json!({"From_Account": "a", "To_Account": "b", "MsgRandom": 9,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "live"}}]});
    let served = serve(&mut s, &c, Api::SendMsg, NOW, send.clone());
    let key = served.result.unwrap()["MsgKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(served.callbacks.len(), 1);
    let cb = &served.callbacks[0];
    assert_eq!(cb.command, "C2C.CallbackAfterSendMsg");
    assert_eq!(cb.body["MsgKey"], json!(key));
    assert_eq!(cb.body["SendMsgResult"], 0);
    let mut quiet = send;
    quiet["MsgRandom"] = json!(10);
    quiet["ForbidCallbackControl"] =
        json!(["ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"]);
    let served = serve(&mut s, &c, Api::SendMsg, NOW, quiet);
    assert!(served.result.is_ok() && served.callbacks.is_empty());
    assert_eq!(
        refused(
            &mut s,
            Api::SendMsg,
            NOW,
            json!({"To_Account": "ghost", "MsgRandom": 1,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]})
        ),
        20003
    );
}

#[test]
fn roaming_pages_newest_first_and_hides_old_messages() {
    let mut s = two();
    for i in 0..25u32 {
        ok(
            &mut s,
            Api::ImportMsg,
            NOW,
            msg("a", "b", i, i, NOW - 100 + i64::from(i), "x"),
        );
    }
    ok(
        &mut s,
        Api::ImportMsg,
        NOW,
        msg("a", "b", 99, 99, NOW - 8 * 86_400, "expired"),
    );
    let mut keys = Vec::new();
    let mut req =
        json!({"From_Account": "a", "To_Account": "b", "MaxCnt": 10, "MinTime": 0, "MaxTime": NOW});
    loop {
        let mut a = ok(&mut s, Api::AdminGetRoamMsg, NOW, req.clone());
        a.insert("ActionStatus".into(), json!("OK"));
        let r: AdminGetRoamMsgResponse = serde_json::from_value(Value::Object(a)).unwrap();
        keys.extend(r.MsgList.iter().map(|m| m.MsgSeq));
        if r.Complete == 1 {
            break;
        }
        req["MaxTime"] = json!(r.LastMsgTime);
        req["LastMsgKey"] = json!(r.LastMsgKey);
    }
    let expected: Vec<u32> = (0..25).rev().collect();
    assert_eq!(keys, expected);
}

#[test]
fn a_conversation_reads_back_by_time_then_msg_seq_whatever_the_import_order() {
    let mut s = two();
    for (seq, time, text) in [
        (3, NOW - 5, "c"),
        (1, NOW - 5, "a"),
        (9, NOW - 9, "first"),
        (2, NOW - 5, "b"),
    ] {
        ok(
            &mut s,
            Api::ImportMsg,
            NOW,
            msg("a", "b", seq, seq, time, text),
        );
    }
    let req =
        json!({"From_Account": "b", "To_Account": "a", "MaxCnt": 10, "MinTime": 0, "MaxTime": NOW});
    let mut a = ok(&mut s, Api::AdminGetRoamMsg, NOW, req);
    a.insert("ActionStatus".into(), json!("OK"));
    let r: AdminGetRoamMsgResponse = serde_json::from_value(Value::Object(a)).unwrap();
    let texts: Vec<String> = r
        .MsgList
        .iter()
        .rev()
        .map(|m| {
            serde_json::to_value(&m.MsgBody).unwrap()[0]["MsgContent"]["Text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(texts, ["first", "a", "b", "c"]);
}
