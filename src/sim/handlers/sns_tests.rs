use crate::sim::config::SimConfig;
use crate::sim::handlers::testing::{ok, refused, serve};
use crate::sim::state::State;
use crate::tim::api::Api;
use crate::tim::wire::sns::{FriendCheckResponse, FriendGetResponse, FriendResponse};
use crate::tim::wire::Response;
use serde_json::{json, Value};

fn accounts(n: usize) -> State {
    let mut s = State::default();
    for i in 0..n {
        s.import_account(&format!("u{i}"));
    }
    s
}

fn typed<T: serde::de::DeserializeOwned>(mut a: crate::sim::handlers::Answer) -> T {
    a.insert("ActionStatus".into(), json!("OK"));
    serde_json::from_value(Value::Object(a)).unwrap()
}

#[test]
fn import_reports_each_entry() {
    let mut s = accounts(3);
    let a = ok(
        &mut s,
        Api::FriendImport,
        100,
        json!({"From_Account": "u0", "AddFriendItem": [
        {"To_Account": "u1", "AddSource": "AddSource_Type_Android", "GroupName": ["Work"], "AddTime": 50},
        {"To_Account": "ghost", "AddSource": "AddSource_Type_Android"},
        {"To_Account": "u0", "AddSource": "AddSource_Type_Android"},
        {"To_Account": "u2", "AddSource": "Android"}]}),
    );
    let r: FriendResponse = typed(a);
    let codes: Vec<_> = r.ResultItem.iter().map(|i| i.ResultCode).collect();
    assert_eq!(codes, [0, 30003, 30001, 30001]);
    assert_eq!(r.Fail_Account, ["ghost", "u0", "u2"]);
    assert_eq!(r.item_failures().len(), 3);
    assert_eq!(s.account(0).friends.len(), 1);
}

#[test]
fn reimport_overwrites() {
    let mut s = accounts(2);
    for remark in ["a", "b"] {
        ok(
            &mut s,
            Api::FriendImport,
            100,
            json!({"From_Account": "u0", "AddFriendItem": [
            {"To_Account": "u1", "AddSource": "AddSource_Type_Web", "Remark": remark}]}),
        );
    }
    assert_eq!(s.account(0).friends[&1].remark.as_deref(), Some("b"));
}

#[test]
fn limits_of_a_friend_list() {
    let mut s = accounts(2);
    let groups: Vec<String> = (0..33).map(|i| format!("g{i}")).collect();
    let a = ok(
        &mut s,
        Api::FriendImport,
        0,
        json!({"From_Account": "u0", "AddFriendItem": [
        {"To_Account": "u1", "AddSource": "AddSource_Type_Web", "GroupName": groups}]}),
    );
    assert_eq!(a["ResultItem"][0]["ResultCode"], 30011);
    let items: Vec<Value> = (0..1001)
        .map(|_| json!({"To_Account": "u1", "AddSource": "AddSource_Type_Web"}))
        .collect();
    assert_eq!(
        refused(
            &mut s,
            Api::FriendImport,
            0,
            json!({"From_Account": "u0", "AddFriendItem": items})
        ),
        30001
    );
    assert_eq!(
        refused(
            &mut s,
            Api::FriendImport,
            0,
            json!({"From_Account": "ghost", "AddFriendItem": []})
        ),
        30003
    );
}

#[test]
fn custom_items_need_console_tags() {
    let mut s = accounts(2);
    let body = json!({"From_Account": "u0", "AddFriendItem": [{"To_Account": "u1",
        "AddSource": "AddSource_Type_Web", "CustomItem": [{"Tag": "Tag_SNS_Custom_Level", "Value": 3}]}]});
    let a = ok(&mut s, Api::FriendImport, 0, body.clone());
    assert_eq!(a["ResultItem"][0]["ResultCode"], 30001);
    let mut config = SimConfig::default();
    config.app.friend_custom_tags = vec!["Level".into()];
    let served = serve(&mut s, &config, Api::FriendImport, 0, body)
        .result
        .unwrap();
    assert_eq!(served["ResultItem"][0]["ResultCode"], 0);
}

#[test]
fn get_pages_and_check_relations() {
    let mut s = accounts(250);
    let items: Vec<Value> = (1..250)
        .map(|i| json!({"To_Account": format!("u{i}"), "AddSource": "AddSource_Type_Web"}))
        .collect();
    ok(
        &mut s,
        Api::FriendImport,
        0,
        json!({"From_Account": "u0", "AddFriendItem": items}),
    );
    ok(
        &mut s,
        Api::FriendImport,
        0,
        json!({"From_Account": "u1", "AddFriendItem": [{"To_Account": "u0", "AddSource": "AddSource_Type_Web"}]}),
    );
    let mut start = 0;
    let mut seen = 0;
    loop {
        let r: FriendGetResponse = typed(ok(
            &mut s,
            Api::FriendGet,
            0,
            json!({"From_Account": "u0", "StartIndex": start}),
        ));
        seen += r.UserDataItem.len();
        assert_eq!(r.FriendNum, 249);
        if r.CompleteFlag != 0 {
            break;
        }
        start = r.NextStartIndex;
    }
    assert_eq!(seen, 249);
    let r: FriendCheckResponse = typed(ok(
        &mut s,
        Api::FriendCheck,
        0,
        json!({"From_Account": "u0",
        "To_Account": ["u1", "u2", "ghost"], "CheckType": "CheckResult_Type_Both"}),
    ));
    let rel: Vec<_> = r.InfoItem.iter().map(|i| i.Relation.as_str()).collect();
    assert_eq!(
        rel,
        ["CheckResult_Type_BothWay", "CheckResult_Type_AWithB", ""]
    );
    assert_eq!(r.Fail_Account, ["ghost"]);
}

#[test]
fn friend_add_respects_allow_type_unless_forced() {
    let mut s = accounts(2);
    let add = json!({"From_Account": "u0", "AddFriendItem": [{"To_Account": "u1", "AddSource": "AddSource_Type_Web"}]});
    let a = ok(&mut s, Api::FriendAdd, 0, add.clone());
    assert_eq!(a["ResultItem"][0]["ResultCode"], 30539);
    let mut forced = add;
    forced["ForceAddFlags"] = json!(1);
    ok(&mut s, Api::FriendAdd, 0, forced);
    assert!(s.account(0).friends.contains_key(&1) && s.account(1).friends.contains_key(&0));
}
