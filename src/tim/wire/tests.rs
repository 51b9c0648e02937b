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
