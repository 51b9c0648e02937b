//! The echo ledger's keys: what the relay writes into Tencent IM, named the way the callback
//! for it will name it, so that callback is known as the relay's own write coming back (§4.8)
//! even when it carries no `Operator_Account`.

use super::convert::{request_for, Call};
use crate::config::C2cMode;
use crate::model::sync_event::SyncEvent;

/// The key of a one-to-one message: `c2c:{from}:{to}:{MsgKey}`.
pub(crate) fn c2c_msg_key(from: &str, to: &str, msg_key: &str) -> String {
    format!("c2c:{from}:{to}:{msg_key}")
}

/// The key of a one-to-one message's recall: `c2c:{from}:{to}:recall:{MsgKey}`.
pub(crate) fn c2c_recall_key(from: &str, to: &str, msg_key: &str) -> String {
    format!("c2c:{from}:{to}:recall:{msg_key}")
}

/// The key of a group message's recall: `group:{gid}:recall:{MsgSeq}`.
pub(crate) fn group_recall_key(group_id: &str, msg_seq: u64) -> String {
    format!("group:{group_id}:recall:{msg_seq}")
}

/// The key of a friend entry's deletion: `sns:{owner}:delete:{friend}`.
pub(crate) fn friend_delete_key(owner: &str, friend: &str) -> String {
    format!("sns:{owner}:delete:{friend}")
}

/// Keys of what applying `event` writes into Tencent IM: [`call_keys`] of its requests. Empty
/// for a record that does not validate and for a recall, whose request needs the store (the
/// applier takes [`call_keys`] of the request it built).
pub(crate) fn ledger_keys(event: &SyncEvent) -> Vec<String> {
    // The mode does not change any key.
    request_for(event, C2cMode::Importmsg)
        .map(|calls| call_keys(&calls))
        .unwrap_or_default()
}

/// Keys of what `calls` write into Tencent IM, one per change a callback reports; none for
/// writes that fire no callback (`account_import`, `account_delete`).
///
/// `{gid}` is always the Tencent `GroupId` (as callbacks carry it), never the old id. Exactly:
///
/// | event | key | matching callback |
/// |---|---|---|
/// | `c2c_message` | `c2c:{from}:{to}:{MsgSeq}_{MsgRandom}_{MsgTimeStamp}` | `C2C.CallbackAfterSendMsg`: `c2c:{From_Account}:{To_Account}:{MsgKey}` |
/// | `group_created` | `group:{gid}:created` | `Group.CallbackAfterCreateGroup` |
/// | `group_updated` | `group:{gid}:info:{Field}:{value}` per changed `Name`, `Introduction`, `Notification`, `FaceUrl`; `group:{gid}:info:custom:{Key}:{Value}` per custom key | `Group.CallbackAfterGroupInfoChanged`, one key per field present |
/// | `group_destroyed` | `group:{gid}:destroyed` | `Group.CallbackAfterGroupDestroyed` |
/// | `member_joined` | `group:{gid}:join:{member}` | `Group.CallbackAfterNewMemberJoin`, per `NewMemberList` entry |
/// | `member_left` | `group:{gid}:exit:{member}` | `Group.CallbackAfterMemberExit`, per `ExitMemberList` entry |
/// | `group_message` | `group:{gid}:msg:{from}:{Random}` | `Group.CallbackAfterSendMsg`: `From_Account`, `Random` |
/// | `friend_deleted` | `sns:{owner}:delete:{friend}` | `Sns.CallbackFriendDelete`, per `PairList` entry |
/// | `c2c_message_recalled` | `c2c:{from}:{to}:recall:{MsgKey}` | `C2C.CallbackAfterMsgWithDraw` |
/// | `group_message_recalled` | `group:{gid}:recall:{MsgSeq}` | `Group.CallbackAfterRecallMsg`, per `MsgSeqList` entry |
pub(crate) fn call_keys(calls: &[Call]) -> Vec<String> {
    let mut keys = Vec::new();
    for call in calls {
        match call {
            Call::AccountImport(_) | Call::AccountDelete(_) => {}
            Call::ImportMsg(m) => keys.push(c2c_msg_key(
                &m.From_Account,
                &m.To_Account,
                &format!(
                    "{}_{}_{}",
                    m.MsgSeq.unwrap_or_default(),
                    m.MsgRandom,
                    m.MsgTimeStamp
                ),
            )),
            Call::SendMsg(m) => keys.push(c2c_msg_key(
                m.From_Account.as_deref().unwrap_or_default(),
                &m.To_Account,
                &format!(
                    "{}_{}_{}",
                    m.MsgSeq.unwrap_or_default(),
                    m.MsgRandom,
                    m.MsgTimeStamp.unwrap_or_default()
                ),
            )),
            Call::CreateGroup(g) => keys.push(format!(
                "group:{}:created",
                g.GroupId.as_deref().unwrap_or_default()
            )),
            Call::ModifyGroupBaseInfo(m) => {
                let gid = &m.GroupId;
                for (field, value) in [
                    ("Name", &m.Name),
                    ("Introduction", &m.Introduction),
                    ("Notification", &m.Notification),
                    ("FaceUrl", &m.FaceUrl),
                ] {
                    if let Some(v) = value {
                        keys.push(format!("group:{gid}:info:{field}:{v}"));
                    }
                }
                for kv in m.AppDefinedData.iter().flatten() {
                    keys.push(format!("group:{gid}:info:custom:{}:{}", kv.Key, kv.Value));
                }
            }
            Call::DestroyGroup(d) => keys.push(format!("group:{}:destroyed", d.GroupId)),
            Call::AddGroupMember(a) => {
                for m in &a.MemberList {
                    keys.push(format!("group:{}:join:{}", a.GroupId, m.Member_Account));
                }
            }
            Call::DeleteGroupMember(d) => {
                for m in &d.MemberToDel_Account {
                    keys.push(format!("group:{}:exit:{m}", d.GroupId));
                }
            }
            Call::SendGroupMsg(s) => keys.push(format!(
                "group:{}:msg:{}:{}",
                s.GroupId,
                s.From_Account.as_deref().unwrap_or_default(),
                s.Random
            )),
            Call::FriendDelete(f) => {
                for friend in &f.To_Account {
                    keys.push(friend_delete_key(&f.From_Account, friend));
                }
            }
            Call::AdminMsgWithdraw(w) => {
                keys.push(c2c_recall_key(&w.From_Account, &w.To_Account, &w.MsgKey));
            }
            Call::GroupMsgRecall(r) => {
                for m in &r.MsgSeqList {
                    keys.push(group_recall_key(&r.GroupId, m.MsgSeq));
                }
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sync_event::EventKind::{self, *};
    use crate::sync::convert::{calls, TargetMsg};
    use crate::tim::requests::{derived_u32, SALT_C2C_RANDOM, SALT_C2C_SEQ};
    use serde_json::{json, Value};

    fn ev(kind: EventKind, record: Value) -> SyncEvent {
        let event = json!({"event_id": "e1", "kind": kind, "at": 1_700_000_000, "record": record});
        serde_json::from_value(event).unwrap()
    }

    fn c2c() -> Value {
        json!({"id": "m1", "from": "u1", "to": "u2", "sent_at": 1_700_000_000,
            "body": [{"type": "text", "text": "hi"}], "custom_data": "cd"})
    }

    #[test]
    fn ledger_keys_have_the_documented_shapes() {
        let seq = derived_u32("m1", SALT_C2C_SEQ);
        let random = derived_u32("m1", SALT_C2C_RANDOM);
        let c2c_key = format!("c2c:u1:u2:{seq}_{random}_1700000000");
        #[rustfmt::skip]
        let cases = [
            (C2cMessage, c2c(), vec![c2c_key.as_str()]),
            (GroupCreated, json!({"id": "g1", "type": "private", "name": "n", "created_at": 1}),
             vec!["group:g1:created"]),
            (GroupUpdated, json!({"id": "g1", "name": "N", "max_members": 9, "custom": {"K": "v"}}),
             vec!["group:g1:info:Name:N", "group:g1:info:custom:K:v"]),
            (GroupDestroyed, json!({"id": "g1"}), vec!["group:g1:destroyed"]),
            (MemberJoined, json!({"group": "g1", "member": "u2"}), vec!["group:g1:join:u2"]),
            (MemberLeft, json!({"group": "g1", "member": "u2"}), vec!["group:g1:exit:u2"]),
            (GroupMessage, json!({"id": "gm", "group": "g1", "from": "u2", "sent_at": 5, "random": 77,
                "body": [{"type": "text", "text": "x"}]}), vec!["group:g1:msg:u2:77"]),
            (AccountCreated, json!({"id": "u1"}), vec![]),
            (MemberLeft, json!({}), vec![]),
            (FriendDeleted, json!({"owner": "u1", "friend": "u2"}), vec!["sns:u1:delete:u2"]),
            (AccountDeleted, json!({"id": "u1"}), vec![]),
            // A recall's key needs the message as the target knows it: the store says.
            (C2cMessageRecalled, json!({"id": "m1"}), vec![]),
            (GroupMessageRecalled, json!({"group": "g1", "id": "gm"}), vec![]),
        ];
        for (kind, record, want) in cases {
            assert_eq!(ledger_keys(&ev(kind, record)), want, "{kind:?}");
        }
        let sent = calls(
            &ev(C2cMessage, c2c()),
            C2cMode::Sendmsg,
            None,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(
            call_keys(&sent),
            [c2c_key.as_str()],
            "sendmsg: the same key"
        );
        let found = TargetMsg::C2c {
            from: "u1".into(),
            to: "u2".into(),
            msg_key: "1_2_3".into(),
        };
        let recall = ev(C2cMessageRecalled, json!({"id": "m1"}));
        let withdraw = calls(
            &recall,
            C2cMode::Importmsg,
            Some(&found),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(call_keys(&withdraw), ["c2c:u1:u2:recall:1_2_3"]);
        let found = TargetMsg::Group {
            group_id: "g1".into(),
            msg_seq: 12,
        };
        let recall = ev(GroupMessageRecalled, json!({"group": "g1", "id": "gm"}));
        let recalled = calls(
            &recall,
            C2cMode::Importmsg,
            Some(&found),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(call_keys(&recalled), ["group:g1:recall:12"]);
    }
}
