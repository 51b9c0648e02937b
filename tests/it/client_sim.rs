//! The client against the simulator, API by API, over real HTTP on loopback.

#![allow(clippy::unwrap_used)] // a panic in a test helper is a test failure

use crate::common;

use common::{client, client_as, sim, ADMIN};
use cutover::sim::config::{Faults, NoAnswer, SimConfig};
use cutover::tim::errors::ErrorClass;
use cutover::tim::wire::account::*;
use cutover::tim::wire::c2c::*;
use cutover::tim::wire::profile::*;
use cutover::tim::wire::sns::*;
use cutover::tim::wire::{MsgElement, Response, TagValue};
use cutover::tim::{Api, Applied, CallError};
use serde_json::json;
use std::time::Duration;

fn accounts(ids: &[&str]) -> MultiaccountImport {
    MultiaccountImport {
        Accounts: None,
        AccountList: Some(
            ids.iter()
                .map(|id| AccountItem {
                    UserID: (*id).into(),
                    Nick: Some(format!("nick {id}")),
                    FaceUrl: None,
                })
                .collect(),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_profiles_and_friends_round_trip() {
    let handle = sim(SimConfig::default()).await;
    let c = client(&handle);
    let r = c
        .call(&accounts(&["a", "b", &"x".repeat(33)]))
        .await
        .unwrap();
    assert_eq!(r.item_failures().len(), 1, "the over-long id is reported");
    c.call(&AccountImport {
        UserID: "c".into(),
        Nick: None,
        FaceUrl: None,
    })
    .await
    .unwrap();
    let check = c
        .call(&AccountCheck {
            CheckItem: ["a", "c", "zz"]
                .iter()
                .map(|u| CheckItem {
                    UserID: (*u).into(),
                })
                .collect(),
        })
        .await
        .unwrap();
    let status: Vec<_> = check
        .ResultItem
        .iter()
        .map(|i| i.AccountStatus.as_str())
        .collect();
    assert_eq!(status, ["Imported", "Imported", "NotImported"]);

    c.call(&PortraitSet {
        From_Account: "a".into(),
        ProfileItem: vec![TagValue {
            Tag: "Tag_Profile_IM_Gender".into(),
            Value: json!("Gender_Type_Male"),
        }],
    })
    .await
    .unwrap();
    let got = c
        .call(&PortraitGet {
            To_Account: vec!["a".into()],
            TagList: vec!["Tag_Profile_IM_Gender".into(), "Tag_Profile_IM_Nick".into()],
        })
        .await
        .unwrap();
    assert_eq!(got.UserProfileItem[0].ProfileItem.len(), 2);

    let f = c
        .call(&FriendImport {
            From_Account: "a".into(),
            AddFriendItem: ["b", "ghost"]
                .iter()
                .map(|to| ImportFriendItem {
                    To_Account: (*to).into(),
                    Remark: None,
                    RemarkTime: None,
                    GroupName: None,
                    AddSource: "AddSource_Type_Web".into(),
                    AddWording: None,
                    AddTime: Some(1_600_000_000),
                    CustomItem: None,
                })
                .collect(),
        })
        .await
        .unwrap();
    let failures = f.item_failures();
    assert_eq!(
        (failures.len(), failures[0].key.as_str(), failures[0].code),
        (1, "ghost", Some(30003))
    );
    let rel = c
        .call(&FriendCheck {
            From_Account: "a".into(),
            To_Account: vec!["b".into()],
            CheckType: "CheckResult_Type_Single".into(),
        })
        .await
        .unwrap();
    assert_eq!(rel.InfoItem[0].Relation, "CheckResult_Type_AWithB");
    let added = c
        .call(&FriendAdd {
            From_Account: "b".into(),
            AddFriendItem: vec![AddFriendItem {
                To_Account: "c".into(),
                Remark: None,
                GroupName: Some("Work".into()),
                AddSource: "AddSource_Type_Web".into(),
                AddWording: None,
            }],
            AddType: Some("Add_Type_Both".into()),
            ForceAddFlags: Some(1),
        })
        .await
        .unwrap();
    assert!(added.item_failures().is_empty());
    let both = c
        .call(&FriendCheck {
            From_Account: "b".into(),
            To_Account: vec!["c".into()],
            CheckType: "CheckResult_Type_Both".into(),
        })
        .await
        .unwrap();
    assert_eq!(both.InfoItem[0].Relation, "CheckResult_Type_BothWay");
    let page = c
        .call(&FriendGet {
            From_Account: "a".into(),
            StartIndex: 0,
            StandardSequence: None,
            CustomSequence: None,
        })
        .await
        .unwrap();
    assert_eq!((page.FriendNum, page.CompleteFlag), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c2c_import_send_and_read_back() {
    let handle = sim(SimConfig::default()).await;
    let c = client(&handle);
    c.call(&accounts(&["a", "b"])).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let msg = ImportMsg {
        SyncFromOldSystem: 2,
        From_Account: "a".into(),
        To_Account: "b".into(),
        MsgSeq: Some(7),
        MsgRandom: 8,
        MsgTimeStamp: now - 60,
        MsgBody: vec![MsgElement::text("hello")],
        CloudCustomData: None,
    };
    c.call(&msg).await.unwrap();
    c.call(&msg).await.unwrap(); // a replay is de-duplicated, not an error
    let sent = c
        .call(&SendMsg {
            From_Account: Some("b".into()),
            To_Account: "a".into(),
            MsgRandom: 9,
            ForbidCallbackControl: Some(vec!["ForbidAfterSendMsgCallback".into()]),
            MsgBody: vec![MsgElement::text("live")],
            ..SendMsg::default()
        })
        .await
        .unwrap();
    assert!(
        sent.MsgKey.ends_with(&format!("_9_{}", sent.MsgTime)),
        "{}",
        sent.MsgKey
    );
    let roam = c
        .call(&AdminGetRoamMsg {
            From_Account: "a".into(),
            To_Account: "b".into(),
            MaxCnt: 100,
            MinTime: 0,
            MaxTime: now + 10,
            LastMsgKey: None,
        })
        .await
        .unwrap();
    assert_eq!(roam.MsgCnt, 2);
    assert_eq!(roam.MsgList[1].MsgKey, format!("7_8_{}", now - 60));
    assert_eq!(
        handle.sim().dump()["c2c_messages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let e = c
        .call(&ImportMsg {
            To_Account: "nobody".into(),
            ..msg
        })
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.class(), e.applied()),
        (Some(90012), ErrorClass::Item, Applied::No)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_admin_and_a_wrong_key_are_refused_with_their_codes() {
    let handle = sim(SimConfig::default()).await;
    let stranger = client_as(&handle, "bob", Duration::from_secs(5));
    let e = stranger.call(&accounts(&["a"])).await.unwrap_err();
    assert_eq!((e.code(), e.class()), (Some(70403), ErrorClass::Fatal));
    let relay = client_as(&handle, "sync_relay", Duration::from_secs(5));
    relay.call(&accounts(&["a"])).await.unwrap();
    let text = e.to_string();
    assert!(
        !text.contains("usersig") && !text.contains("eJ"),
        "no credentials in errors: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_request_without_an_answer_is_unknown_not_failed() {
    for how in [NoAnswer::Drop, NoAnswer::Stall] {
        let mut config = SimConfig::default();
        config.faults.insert(
            "account_import".into(),
            Faults {
                seed: 21,
                no_answer_rate: 1.0,
                no_answer: how,
                stall_ms: 3_000,
                ..Faults::default()
            },
        );
        let handle = sim(config).await;
        let c = client_as(&handle, ADMIN, Duration::from_millis(1_000));
        let e = c
            .call(&AccountImport {
                UserID: "a".into(),
                Nick: None,
                FaceUrl: None,
            })
            .await
            .unwrap_err();
        assert_eq!(e.applied(), Applied::Unknown, "{how:?}: {e}");
        assert!(e.class().is_retryable());
        if how == NoAnswer::Stall {
            assert!(matches!(e, CallError::Timeout { .. }), "{e:?}");
        }
        assert_eq!(
            handle.sim().with_state(|s| s.account_count()),
            1,
            "the request took effect"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_errors_and_http_502_are_retryable_and_may_have_been_applied() {
    let mut config = SimConfig::default();
    config.faults.insert(
        "all".into(),
        Faults {
            seed: 22,
            error_rate: 1.0,
            error_codes: vec![502],
            ..Faults::default()
        },
    );
    config.faults.insert(
        "account_check".into(),
        Faults {
            seed: 23,
            error_rate: 1.0,
            error_codes: vec![70169],
            ..Faults::default()
        },
    );
    let handle = sim(config).await;
    let c = client(&handle);
    let e = c.call(&accounts(&["a"])).await.unwrap_err();
    assert!(matches!(e, CallError::Http { status: 502, .. }), "{e:?}");
    // A gateway may answer 502 after the service applied the request: the client cannot
    // tell (here it was refused before, as the empty state shows).
    assert_eq!(
        (e.class(), e.applied()),
        (ErrorClass::Retry, Applied::Unknown)
    );
    let e = c
        .call(&AccountCheck { CheckItem: vec![] })
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.class(), e.applied()),
        (Some(70169), ErrorClass::Retry, Applied::Unknown)
    );
    assert_eq!(handle.sim().with_state(|s| s.account_count()), 0);
    assert_eq!(handle.sim().count(Api::MultiaccountImport, 502), 1);
}
