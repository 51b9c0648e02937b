//! The client against the simulator for the deletion APIs of §4.7b: each deletion, its repeat
//! code as the client sees it, the recalled read-back, and the callbacks at the app's webhook.

#![allow(clippy::unwrap_used)] // a panic in a test helper is a test failure

use crate::common;

use common::{client, sim, wait_until, webhook};
use cutover::sim::config::SimConfig;
use cutover::tim::wire::account::*;
use cutover::tim::wire::c2c::*;
use cutover::tim::wire::group::*;
use cutover::tim::wire::group_read::*;
use cutover::tim::wire::sns::*;
use cutover::tim::wire::{MsgElement, Response};
use cutover::tim::TimClient;
use std::time::Duration;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Accounts a, b, c; a's friends b and c; one message a → b; group g with two messages.
async fn setup(c: &TimClient, t0: i64) -> Vec<u64> {
    c.call(&MultiaccountImport {
        Accounts: Some(vec!["a".into(), "b".into(), "c".into()]),
        AccountList: None,
    })
    .await
    .unwrap();
    let entry = |to: &str| ImportFriendItem {
        To_Account: to.into(),
        Remark: None,
        RemarkTime: None,
        GroupName: None,
        AddSource: "AddSource_Type_Web".into(),
        AddWording: None,
        AddTime: Some(t0),
        CustomItem: None,
    };
    c.call(&FriendImport {
        From_Account: "a".into(),
        AddFriendItem: vec![entry("b"), entry("c")],
    })
    .await
    .unwrap();
    c.call(&ImportMsg {
        SyncFromOldSystem: 2,
        From_Account: "a".into(),
        To_Account: "b".into(),
        MsgSeq: Some(11),
        MsgRandom: 22,
        MsgTimeStamp: t0,
        MsgBody: vec![MsgElement::text("hi")],
        CloudCustomData: None,
    })
    .await
    .unwrap();
    c.call(&ImportGroup {
        Owner_Account: Some("a".into()),
        Type: "Public".into(),
        GroupId: Some("g".into()),
        Name: "g".into(),
        CreateTime: Some(t0 - 10),
        ..ImportGroup::default()
    })
    .await
    .unwrap();
    let item = |t: i64| ImportGroupMsgItem {
        From_Account: "a".into(),
        SendTime: t,
        Random: Some(t as u32),
        MsgBody: vec![MsgElement::text("x")],
        CloudCustomData: None,
    };
    let imported = c
        .call(&ImportGroupMsg {
            GroupId: "g".into(),
            RecentContactFlag: None,
            MsgList: vec![item(t0 + 1), item(t0 + 2)],
        })
        .await
        .unwrap();
    imported.ImportMsgResult.iter().map(|r| r.MsgSeq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_deletion_its_repeat_code_and_its_callback() {
    let (hook, got) = webhook(Duration::ZERO).await;
    let mut config = SimConfig::default();
    config.callback.url = Some(hook);
    let handle = sim(config).await;
    let c = client(&handle);
    let t0 = now() - 1_000;
    let seqs = setup(&c, t0).await;
    assert_eq!(seqs, [1, 2]);

    let unfriend = FriendDelete {
        From_Account: "a".into(),
        To_Account: vec!["b".into()],
        DeleteType: Some(DELETE_TYPE_SINGLE.into()),
    };
    let done = c.call(&unfriend).await.unwrap();
    assert!(done.item_failures().is_empty());
    let again = c.call(&unfriend).await.unwrap();
    assert_eq!(again.item_failures()[0].code, Some(31704));

    let recall = GroupMsgRecall {
        GroupId: "g".into(),
        MsgSeqList: vec![MsgSeqItem { MsgSeq: seqs[1] }],
    };
    assert!(c.call(&recall).await.unwrap().item_failures().is_empty());
    assert!(
        c.call(&recall).await.unwrap().item_failures().is_empty(),
        "recalled already: done"
    );
    let read = c
        .call(&GroupMsgGetSimple {
            GroupId: "g".into(),
            ReqMsgSeq: None,
            ReqMsgNumber: 20,
        })
        .await
        .unwrap();
    let flags: Vec<_> = read
        .RspMsgList
        .iter()
        .map(|m| (m.MsgSeq, m.IsPlaceMsg))
        .collect();
    assert_eq!(flags, [(2, PLACE_MSG_RECALLED), (1, 0)]);

    let withdraw = AdminMsgWithdraw {
        From_Account: "a".into(),
        To_Account: "b".into(),
        MsgKey: msg_key(11, 22, t0),
    };
    c.call(&withdraw).await.unwrap();
    assert_eq!(c.call(&withdraw).await.unwrap_err().code(), Some(20023));
    let roam = c
        .call(&AdminGetRoamMsg {
            From_Account: "a".into(),
            To_Account: "b".into(),
            MaxCnt: 10,
            MinTime: 0,
            MaxTime: now(),
            LastMsgKey: None,
        })
        .await
        .unwrap();
    assert_eq!(roam.MsgList[0].MsgFlagBits, MSG_FLAG_RECALLED);

    let delete = AccountDelete {
        DeleteItem: vec![DeleteItem { UserID: "c".into() }],
    };
    assert!(c.call(&delete).await.unwrap().item_failures().is_empty());
    let repeat = c.call(&delete).await.unwrap();
    assert_eq!(repeat.item_failures()[0].code, Some(70107));
    let reimport = AccountImport {
        UserID: "c".into(),
        Nick: None,
        FaceUrl: None,
    };
    assert_eq!(c.call(&reimport).await.unwrap_err().code(), Some(70402));

    c.call(&DestroyGroup {
        GroupId: "g".into(),
    })
    .await
    .unwrap();
    assert_eq!(c.call(&recall).await.unwrap_err().code(), Some(10010));

    let want = [
        "Sns.CallbackFriendDelete",
        "Group.CallbackAfterRecallMsg",
        "C2C.CallbackAfterMsgWithDraw",
        "Group.CallbackAfterGroupDestroyed",
    ];
    wait_until(
        "the four callbacks at the webhook",
        Duration::from_secs(10),
        || got.lock().unwrap().len() >= want.len(),
    )
    .await;
    let commands: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|b| b["CallbackCommand"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(commands, want, "each once, repeats announce nothing");
}
