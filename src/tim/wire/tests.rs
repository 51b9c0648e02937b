//! The wire types against the spec's own example JSON.

use super::account::*;
use super::c2c::*;
use super::group::*;
use super::sns::*;
use super::*;
use serde_json::json;

#[test]
fn optional_fields_are_left_out() {
    let body = serde_json::to_value(AccountImport {
        UserID: "u1".into(),
        Nick: None,
        FaceUrl: None,
    })
    .unwrap();
    assert_eq!(body, json!({"UserID": "u1"}));
}

#[test]
fn friend_import_answer_surfaces_every_failed_entry() {
    let text = r#"{"ResultItem": [{"To_Account": "id1", "ResultCode": 0, "ResultInfo": ""},
        {"To_Account": "id2", "ResultCode": 30010, "ResultInfo": "Err_SNS_FriendImport_My_Friend_Num_Exceed_Threshold"}],
        "Fail_Account": ["id2"], "ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "ErrorDisplay": ""}"#;
    let r: FriendResponse = serde_json::from_str(text).unwrap();
    assert_eq!(r.envelope.ActionStatus, "OK");
    assert_eq!(r.envelope.ErrorDisplay.as_deref(), Some(""));
    let failures = r.item_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].key, "id2");
    assert_eq!(failures[0].code, Some(30010));
}

#[test]
fn multiaccount_fail_accounts_are_failures_without_a_code() {
    let r: MultiaccountImportResponse = serde_json::from_str(
        r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","FailAccounts":["test3","test4"]}"#,
    )
    .unwrap();
    let keys: Vec<_> = r.item_failures().into_iter().map(|f| f.key).collect();
    assert_eq!(keys, ["test3", "test4"]);
}

#[test]
fn import_group_msg_results_name_the_failed_message() {
    let r: ImportGroupMsgResponse = serde_json::from_str(
        r#"{"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
            "ImportMsgResult": [{"MsgSeq": 1, "MsgTime": 1620808101, "Result": 0},
                                {"MsgSeq": 2, "MsgTime": 1620892821, "Result": 10004}]}"#,
    )
    .unwrap();
    let f = r.item_failures();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].key.as_str(), f[0].code), ("#1", Some(10004)));
}

#[test]
fn member_result_zero_is_a_failure_and_two_is_not() {
    let r: MemberResultResponse = serde_json::from_str(
        r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"",
            "MemberList":[{"Member_Account":"tommy","Result":1},{"Member_Account":"jared","Result":0},
                          {"Member_Account":"bob","Result":2}]}"#,
    )
    .unwrap();
    let keys: Vec<_> = r.item_failures().into_iter().map(|f| f.key).collect();
    assert_eq!(keys, ["jared"]);
}

#[test]
fn importmsg_request_has_the_documented_shape() {
    let req = ImportMsg {
        SyncFromOldSystem: 2,
        From_Account: "lumotuwe1".into(),
        To_Account: "lumotuwe2".into(),
        MsgSeq: Some(827092),
        MsgRandom: 1287657,
        MsgTimeStamp: 1556178721,
        MsgBody: vec![MsgElement::text("hi, beauty")],
        CloudCustomData: Some("your cloud custom data".into()),
    };
    let expected = json!({"SyncFromOldSystem": 2, "From_Account": "lumotuwe1", "To_Account": "lumotuwe2",
        "MsgSeq": 827092, "MsgRandom": 1287657, "MsgTimeStamp": 1556178721,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi, beauty"}}],
        "CloudCustomData": "your cloud custom data"});
    assert_eq!(serde_json::to_value(&req).unwrap(), expected);
}

#[test]
fn deletion_requests_have_the_documented_shapes() {
    let accounts = AccountDelete {
        DeleteItem: vec![
            DeleteItem {
                UserID: "UserID_1".into(),
            },
            DeleteItem {
                UserID: "UserID_2".into(),
            },
        ],
    };
    assert_eq!(
        serde_json::to_value(&accounts).unwrap(),
        json!({"DeleteItem": [{"UserID": "UserID_1"}, {"UserID": "UserID_2"}]})
    );
    assert_eq!(accounts.item_keys().unwrap(), ["UserID_1", "UserID_2"]);
    let friends = FriendDelete {
        From_Account: "id".into(),
        To_Account: vec!["id1".into(), "id2".into()],
        DeleteType: Some(DELETE_TYPE_SINGLE.into()),
    };
    assert_eq!(
        serde_json::to_value(&friends).unwrap(),
        json!({"From_Account": "id", "To_Account": ["id1", "id2"], "DeleteType": "Delete_Type_Single"})
    );
    let recall = GroupMsgRecall {
        GroupId: "@TGS#2J4SZEAEL".into(),
        MsgSeqList: vec![MsgSeqItem { MsgSeq: 100 }, MsgSeqItem { MsgSeq: 101 }],
    };
    assert_eq!(
        serde_json::to_value(&recall).unwrap(),
        json!({"GroupId": "@TGS#2J4SZEAEL", "MsgSeqList": [{"MsgSeq": 100}, {"MsgSeq": 101}]})
    );
    assert_eq!(recall.item_keys().unwrap(), ["100", "101"]);
    let withdraw = AdminMsgWithdraw {
        From_Account: "vinson".into(),
        To_Account: "dramon".into(),
        MsgKey: msg_key(31906, 833502, 1572869830),
    };
    assert_eq!(
        serde_json::to_value(&withdraw).unwrap(),
        json!({"From_Account": "vinson", "To_Account": "dramon", "MsgKey": "31906_833502_1572869830"})
    );
}

#[test]
fn deletion_answers_name_each_item() {
    let accounts: AccountDeleteResponse = serde_json::from_str(
        r#"{"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "",
            "ResultItem": [{"ResultCode": 0, "ResultInfo": "", "UserID": "UserID_1"},
                {"ResultCode": 70107, "ResultInfo": "Err_TLS_PT_Open_Login_Account_Not_Exist",
                 "UserID": "UserID_2"}]}"#,
    )
    .unwrap();
    let f = accounts.item_failures();
    assert_eq!((f[0].key.as_str(), f[0].code), ("UserID_2", Some(70107)));
    assert_eq!(accounts.answered_keys().unwrap(), ["UserID_1", "UserID_2"]);
    let recall: GroupMsgRecallResponse = serde_json::from_str(
        r#"{"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0,
            "RecallRetList": [{"MsgSeq": 100, "RetCode": 10030}, {"MsgSeq": 101, "RetCode": 0}]}"#,
    )
    .unwrap();
    let f = recall.item_failures();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].key.as_str(), f[0].code), ("100", Some(10030)));
    assert_eq!(recall.answered_keys().unwrap(), ["100", "101"]);
}
