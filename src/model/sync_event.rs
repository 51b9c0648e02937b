//! The sync event of export-format.md: one change on one side, in the shape both sides speak.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which way an event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the old system into Tencent IM (ingest endpoint, JSONL file).
    OldToNew = 0,
    /// From Tencent IM (callbacks, reconciliation) to the old system (webhook, JSONL file).
    NewToOld = 1,
}

impl Direction {
    /// Both, in order.
    pub(crate) const ALL: [Direction; 2] = [Direction::OldToNew, Direction::NewToOld];

    /// The number stored.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// As shown: `old → new`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Direction::OldToNew => "old → new",
            Direction::NewToOld => "new → old",
        }
    }
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An accounts.jsonl record.
    AccountCreated,
    /// A c2c_messages.jsonl record.
    C2cMessage,
    /// A groups.jsonl record.
    GroupCreated,
    /// `id` plus the changed fields of a groups.jsonl record.
    GroupUpdated,
    /// `{"id": …}`.
    GroupDestroyed,
    /// A group_members.jsonl record.
    MemberJoined,
    /// `{"group": …, "member": …}`.
    MemberLeft,
    /// A group_messages.jsonl record.
    GroupMessage,
    /// `{"owner": …, "friend": …}`: one friend entry deleted from the owner's list.
    FriendDeleted,
    /// `{"id": …}`: an account deleted.
    AccountDeleted,
    /// `{"id": …}` (the c2c_messages.jsonl id), optionally with the message's `from` and
    /// `to`: a one-to-one message recalled.
    C2cMessageRecalled,
    /// `{"group": …, "id": …}` (the group_messages.jsonl id): a group message recalled.
    GroupMessageRecalled,
}

impl EventKind {
    /// The name on the wire.
    pub(crate) fn name(self) -> &'static str {
        match self {
            EventKind::AccountCreated => "account_created",
            EventKind::C2cMessage => "c2c_message",
            EventKind::GroupCreated => "group_created",
            EventKind::GroupUpdated => "group_updated",
            EventKind::GroupDestroyed => "group_destroyed",
            EventKind::MemberJoined => "member_joined",
            EventKind::MemberLeft => "member_left",
            EventKind::GroupMessage => "group_message",
            EventKind::FriendDeleted => "friend_deleted",
            EventKind::AccountDeleted => "account_deleted",
            EventKind::C2cMessageRecalled => "c2c_message_recalled",
            EventKind::GroupMessageRecalled => "group_message_recalled",
        }
    }
}

/// One sync event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncEvent {
    /// Unique per origin: what makes delivery idempotent.
    pub event_id: String,
    /// What changed.
    pub kind: EventKind,
    /// When it happened (unix seconds).
    pub at: i64,
    /// The record, in export-format shape.
    pub record: Value,
}

impl SyncEvent {
    fn text(&self, field: &str) -> &str {
        self.record.get(field).and_then(Value::as_str).unwrap_or("")
    }

    /// The ordering key: events with the same scope are applied in the order received (one
    /// conversation, one group, one account); different scopes go in parallel. A friend entry
    /// goes with its owner (Tencent wants one owner's friend writes one after another); a
    /// recalled one-to-one message with its conversation when the record names `from` and
    /// `to`, else on its own (`msg:{id}`).
    pub(crate) fn scope(&self) -> String {
        let conversation = |a: &str, b: &str| {
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            format!("c2c:{a}\u{1f}{b}")
        };
        match self.kind {
            EventKind::AccountCreated | EventKind::AccountDeleted => {
                format!("account:{}", self.text("id"))
            }
            EventKind::FriendDeleted => format!("account:{}", self.text("owner")),
            EventKind::C2cMessage => conversation(self.text("from"), self.text("to")),
            EventKind::C2cMessageRecalled => {
                let (a, b) = (self.text("from"), self.text("to"));
                if a.is_empty() || b.is_empty() {
                    format!("msg:{}", self.text("id"))
                } else {
                    conversation(a, b)
                }
            }
            EventKind::GroupCreated | EventKind::GroupUpdated | EventKind::GroupDestroyed => {
                format!("group:{}", self.text("id"))
            }
            EventKind::MemberJoined
            | EventKind::MemberLeft
            | EventKind::GroupMessage
            | EventKind::GroupMessageRecalled => format!("group:{}", self.text("group")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_read_as_the_format_writes_them_and_scope_by_conversation_or_group() {
        let e: SyncEvent = serde_json::from_value(json!({"event_id": "old-7781", "kind": "c2c_message",
            "at": 1732000100, "record": {"id": "m1", "from": "u2", "to": "u1", "sent_at": 1732000100,
            "body": [{"type": "text", "text": "still here"}]}}))
        .unwrap();
        assert_eq!(e.kind, EventKind::C2cMessage);
        assert_eq!(e.scope(), "c2c:u1\u{1f}u2");
        let back = serde_json::to_value(&e).unwrap();
        assert_eq!(back["kind"], "c2c_message");
        let m: SyncEvent = serde_json::from_value(json!({"event_id": "x", "kind": "member_left",
            "at": 1, "record": {"group": "g1", "member": "u1"}}))
        .unwrap();
        assert_eq!(m.scope(), "group:g1");
        assert!(serde_json::from_value::<SyncEvent>(
            json!({"event_id": "x", "kind": "nope", "at": 1, "record": {}})
        )
        .is_err());
    }

    #[test]
    fn deletions_read_by_name_and_scope_with_what_they_delete() {
        let scope = |kind: &str, record: Value| {
            let e: SyncEvent = serde_json::from_value(
                json!({"event_id": "x", "kind": kind, "at": 1, "record": record}),
            )
            .unwrap();
            assert_eq!(e.kind.name(), kind);
            e.scope()
        };
        #[rustfmt::skip]
        let cases = [
            ("friend_deleted", json!({"owner": "u1", "friend": "u2"}), "account:u1"),
            ("account_deleted", json!({"id": "u3"}), "account:u3"),
            ("c2c_message_recalled", json!({"id": "m1"}), "msg:m1"),
            ("c2c_message_recalled", json!({"id": "m1", "from": "u2", "to": "u1"}), "c2c:u1\u{1f}u2"),
            ("group_message_recalled", json!({"group": "g1", "id": "gm1"}), "group:g1"),
        ];
        for (kind, record, want) in cases {
            assert_eq!(scope(kind, record), want, "{kind}");
        }
    }
}
