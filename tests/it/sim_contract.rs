//! The simulator against raw JSON taken from the spec's own examples: exact field names,
//! exact codes for bad requests, and per-item failures inside an OK envelope.

#![allow(clippy::unwrap_used)] // a panic in a test helper is a test failure

use crate::common;

use common::{client, sim, ADMIN, KEY, SDKAPPID};
use cutover::sim::config::SimConfig;
use cutover::tim::usersig;
use cutover::tim::{Api, SecretKey};
use serde_json::{json, Value};

async fn raw(c: &cutover::tim::TimClient, api: Api, body: Value) -> Value {
    c.call_raw(api, serde_json::to_vec(&body).unwrap())
        .await
        .unwrap()
}

fn code(v: &Value) -> i64 {
    v["ErrorCode"].as_i64().unwrap()
}

fn config_with_console_tags() -> SimConfig {
    let mut config = SimConfig::default();
    config.app.friend_custom_tags = vec!["XXXX".into(), "YYYY".into()];
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_examples_are_accepted() {
    let handle = sim(config_with_console_tags()).await;
    let c = client(&handle);
    let r = raw(
        &c,
        Api::MultiaccountImport,
        json!({"Accounts": ["lumotuwe1", "lumotuwe2", "id", "id1", "id2"]}),
    )
    .await;
    assert_eq!(
        (r["ActionStatus"].as_str(), code(&r)),
        (Some("OK"), 0),
        "{r}"
    );
    assert!(
        r.get("FailAccounts").is_none(),
        "present only when some failed: {r}"
    );
    let r = raw(
        &c,
        Api::ImportMsg,
        json!({"SyncFromOldSystem": 2, "From_Account": "lumotuwe1", "To_Account": "lumotuwe2",
        "MsgSeq": 827092, "MsgRandom": 1287657, "MsgTimeStamp": 1556178721,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi, beauty"}}],
        "CloudCustomData": "your cloud custom data"}),
    )
    .await;
    assert_eq!(code(&r), 0, "{r}");
    let r = raw(&c, Api::PortraitSet, json!({"From_Account": "id", "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "MyNickName"}]})).await;
    assert_eq!(
        (code(&r), r["ErrorDisplay"].as_str()),
        (0, Some("")),
        "profile answers carry ErrorDisplay: {r}"
    );
    let r = raw(&c, Api::FriendImport, json!({"From_Account": "id",
        "AddFriendItem": [{"To_Account": "id1", "Remark": "remark1", "RemarkTime": 1420000001,
            "GroupName": ["朋友"], "AddSource": "AddSource_Type_XXXXXXXX", "AddWording": "I'm Test1",
            "AddTime": 1420000001,
            "CustomItem": [{"Tag": "Tag_SNS_Custom_XXXX", "Value": "Test"}, {"Tag": "Tag_SNS_Custom_YYYY", "Value": 0}]},
            {"To_Account": "nobody", "AddSource": "AddSource_Type_Web"}]})).await;
    // Per-item failure inside an OK envelope.
    assert_eq!(
        (r["ActionStatus"].as_str(), code(&r)),
        (Some("OK"), 0),
        "{r}"
    );
    assert_eq!(
        r["ResultItem"][0],
        json!({"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""})
    );
    assert_eq!(r["ResultItem"][1]["ResultCode"], 30003);
    assert_eq!(r["Fail_Account"], json!(["nobody"]));
    let r = raw(
        &c,
        Api::AccountCheck,
        json!({"CheckItem": [{"UserID": "id"}, {"UserID": "zz"}]}),
    )
    .await;
    assert_eq!(
        r["ResultItem"][1],
        json!({"UserID": "zz", "ResultCode": 0, "ResultInfo": "", "AccountStatus": "NotImported"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_documented_codes() {
    let handle = sim(SimConfig::default()).await;
    let c = client(&handle);
    raw(&c, Api::MultiaccountImport, json!({"Accounts": ["a", "b"]})).await;
    let good = json!({"SyncFromOldSystem": 2, "From_Account": "a", "To_Account": "b", "MsgRandom": 1,
        "MsgTimeStamp": 1556178721, "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]});
    let without = |field: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };
    assert_eq!(
        code(&raw(&c, Api::ImportMsg, without("MsgRandom")).await),
        90005
    );
    assert_eq!(
        code(&raw(&c, Api::ImportMsg, without("MsgTimeStamp")).await),
        90006
    );
    assert_eq!(
        code(&raw(&c, Api::ImportMsg, without("To_Account")).await),
        90003
    );
    assert_eq!(
        code(&raw(&c, Api::ImportMsg, without("From_Account")).await),
        90008
    );
    assert_eq!(
        code(&raw(&c, Api::ImportMsg, without("SyncFromOldSystem")).await),
        90030
    );
    let r = raw(&c, Api::ImportMsg, without("MsgBody")).await;
    assert_eq!(
        (r["ActionStatus"].as_str(), code(&r)),
        (Some("FAIL"), 90007)
    );
    assert!(!r["ErrorInfo"].as_str().unwrap().is_empty());
    let r = c
        .call_raw(Api::ImportMsg, b"{not json".to_vec())
        .await
        .unwrap();
    assert_eq!(code(&r), 60003);
    let r = c.call_raw(Api::AccountCheck, Vec::new()).await.unwrap();
    assert_eq!(code(&r), 60003, "the body is never empty: send {{}}");
    assert_eq!(code(&raw(&c, Api::AccountCheck, json!({})).await), 70402);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_are_checked_exactly() {
    let handle = sim(SimConfig::default()).await;
    let key = SecretKey::new(KEY);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sig = usersig::generate(&key, SDKAPPID, ADMIN, 3600, now);
    let http = reqwest::Client::new();
    let call = |path: &str, query: String| {
        let url = format!("{}/{path}?{query}", handle.url());
        let http = http.clone();
        async move {
            let r = http.post(url).body("{}").send().await.unwrap();
            assert_eq!(r.status(), 200, "errors come in the envelope");
            serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).unwrap()
        }
    };
    let q = |app: u64, id: &str| {
        format!(
            "sdkappid={app}&identifier={id}&usersig={}&random=99999999&contenttype=json",
            sig.expose()
        )
    };
    assert_eq!(
        code(&call("v4/im_open_login_svc/account_check", q(SDKAPPID, ADMIN)).await),
        70402
    );
    assert_eq!(
        code(&call("v4/im_open_login_svc/Account_Check", q(SDKAPPID, ADMIN)).await),
        60009
    );
    assert_eq!(
        code(&call("v4/im_open_login_svc/account_check", q(1400000001, ADMIN)).await),
        70020
    );
    assert_eq!(
        code(&call("v4/im_open_login_svc/account_check", q(SDKAPPID, "someone")).await),
        70013
    );
    assert_eq!(
        code(
            &call(
                "v4/im_open_login_svc/account_check",
                format!("sdkappid={SDKAPPID}")
            )
            .await
        ),
        60004
    );
    let r = reqwest::get(format!(
        "{}/v4/im_open_login_svc/account_check?{}",
        handle.url(),
        q(SDKAPPID, ADMIN)
    ))
    .await
    .unwrap();
    let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(code(&v), 60002, "POST only");
    // The dump is for admins only.
    let dump = http
        .post(format!("{}/sim/dump?{}", handle.url(), q(SDKAPPID, ADMIN)))
        .send()
        .await
        .unwrap();
    let dump: Value = serde_json::from_slice(&dump.bytes().await.unwrap()).unwrap();
    assert_eq!(dump["sdkappid"], SDKAPPID);
    let refused = http
        .post(format!("{}/sim/dump?sdkappid={SDKAPPID}", handle.url()))
        .send()
        .await
        .unwrap();
    let refused: Value = serde_json::from_slice(&refused.bytes().await.unwrap()).unwrap();
    assert_eq!(code(&refused), 60004);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_is_served_at_its_path() {
    let handle = sim(SimConfig::default()).await;
    let c = client(&handle);
    for api in Api::ALL {
        let r = raw(&c, *api, json!({})).await;
        // An empty body is refused by each API's own checks, never as an unknown path.
        assert_ne!(code(&r), 60009, "{api}: {r}");
        assert!(r.get("ActionStatus").is_some(), "{api}: {r}");
    }
}
