//! What the simulated service holds: accounts with their profiles and friend lists, one-to-one
//! conversations, and groups with their members and messages.
//!
//! Accounts are interned to a `u32` so that tens of millions of messages stay small; in lean
//! mode message bodies are kept only as a hash.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use xxhash_rust::xxh3::xxh3_64;

/// An interned account.
pub(crate) type AccountIdx = u32;

/// One imported account.
#[derive(Debug, Clone, Default)]
pub struct Account {
    /// Its UserID.
    pub(crate) id: Box<str>,
    /// Profile fields by tag (`Tag_Profile_IM_Nick`, …).
    pub(crate) profile: BTreeMap<Box<str>, Value>,
    /// Its one-way friend entries, by friend.
    pub friends: BTreeMap<AccountIdx, Friend>,
    /// One-to-one messages counted as unread for it (live sends and `SyncFromOldSystem` 5).
    pub(crate) c2c_unread: u32,
}

/// One one-way friend entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Friend {
    /// `Tag_SNS_IM_Remark`.
    pub(crate) remark: Option<String>,
    /// When the remark was set.
    pub(crate) remark_time: Option<i64>,
    /// `Tag_SNS_IM_Group`.
    pub(crate) groups: Vec<String>,
    /// `Tag_SNS_IM_AddSource`.
    pub(crate) add_source: String,
    /// `Tag_SNS_IM_AddWording`.
    pub(crate) add_wording: Option<String>,
    /// `Tag_SNS_IM_AddTime`.
    pub(crate) add_time: i64,
    /// `Tag_SNS_Custom_*`.
    pub(crate) custom: Vec<(String, Value)>,
}

/// A message body as stored: whole, or (lean mode) only its hash.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StoredBody {
    /// The `MsgBody` array and `CloudCustomData`.
    Full {
        /// `MsgBody`.
        body: Value,
        /// `CloudCustomData`.
        custom: Option<Box<str>>,
    },
    /// The hash of the body and custom data.
    Lean(u64),
}

impl StoredBody {
    /// Stores `body` (whole unless `lean`).
    pub(crate) fn new(lean: bool, body: &Value, custom: Option<&str>) -> Self {
        if lean {
            StoredBody::Lean(content_hash(body, custom))
        } else {
            StoredBody::Full {
                body: body.clone(),
                custom: custom.map(Into::into),
            }
        }
    }

    /// The body to answer with (empty in lean mode).
    pub(crate) fn body(&self) -> Value {
        match self {
            StoredBody::Full { body, .. } => body.clone(),
            StoredBody::Lean(_) => Value::Array(Vec::new()),
        }
    }

    /// `CloudCustomData`, when kept.
    pub(crate) fn custom(&self) -> Option<&str> {
        match self {
            StoredBody::Full { custom, .. } => custom.as_deref(),
            StoredBody::Lean(_) => None,
        }
    }

    /// The content hash (same value in both modes).
    pub(crate) fn hash(&self) -> u64 {
        match self {
            StoredBody::Full { body, custom } => content_hash(body, custom.as_deref()),
            StoredBody::Lean(h) => *h,
        }
    }
}

/// A hash of a message's content: the canonical JSON of its body (keys sorted) and its custom
/// data.
pub(crate) fn content_hash(body: &Value, custom: Option<&str>) -> u64 {
    let mut bytes = serde_json::to_vec(body).unwrap_or_default();
    bytes.push(0);
    bytes.extend_from_slice(custom.unwrap_or("").as_bytes());
    xxh3_64(&bytes)
}

/// How a one-to-one message got in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum C2cOrigin {
    /// `importmsg` with this `SyncFromOldSystem`.
    Import(u8),
    /// `sendmsg`.
    Send,
}

/// One one-to-one message.
#[derive(Debug, Clone, PartialEq)]
pub struct C2cMsg {
    /// Sender.
    pub from: AccountIdx,
    /// Receiver.
    pub to: AccountIdx,
    /// `MsgSeq`.
    pub seq: u32,
    /// `MsgRandom`.
    pub random: u32,
    /// `MsgTimeStamp`.
    pub time: i64,
    /// How it came in.
    pub(crate) origin: C2cOrigin,
    /// The content.
    pub(crate) body: StoredBody,
}

impl C2cMsg {
    /// The de-duplication and ordering key (§3.5): time, then sequence, then random.
    pub(crate) fn key(&self) -> (i64, u32, u32) {
        (self.time, self.seq, self.random)
    }

    /// `MsgSeq_MsgRandom_MsgTimeStamp`.
    pub(crate) fn msg_key(&self) -> String {
        crate::tim::wire::c2c::msg_key(self.seq, self.random, self.time)
    }
}

/// A conversation's messages, sorted by (time, seq, random): §3.5 orders a conversation's
/// history by MsgTimeStamp, then MsgSeq within one second, whatever order they came in.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The messages, oldest first.
    pub msgs: Vec<C2cMsg>,
    /// The keys ([`C2cMsg::key`]) of the messages recalled by `admin_msgwithdraw`: they stay
    /// in the history, flagged (a set beside the messages, so that a history with no recall
    /// costs nothing per message).
    pub(crate) recalled: HashSet<(i64, u32, u32)>,
}

impl Conversation {
    /// Inserts in order; returns false (and stores nothing) when a message with the same
    /// (seq, random, time) is already there, whichever direction it went.
    pub(crate) fn insert(&mut self, msg: C2cMsg) -> bool {
        let key = msg.key();
        match self.msgs.binary_search_by(|m| m.key().cmp(&key)) {
            Ok(_) => false,
            Err(pos) => {
                self.msgs.insert(pos, msg);
                true
            }
        }
    }

    /// The message whose key is `key` (`(time, seq, random)`), whichever way it went.
    pub(crate) fn find(&self, key: (i64, u32, u32)) -> Option<&C2cMsg> {
        self.msgs
            .binary_search_by(|m| m.key().cmp(&key))
            .ok()
            .map(|i| &self.msgs[i])
    }

    /// True when `msg` was recalled.
    pub(crate) fn is_recalled(&self, msg: &C2cMsg) -> bool {
        !self.recalled.is_empty() && self.recalled.contains(&msg.key())
    }
}

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The owner.
    Owner,
    /// An admin.
    Admin,
    /// An ordinary member.
    Member,
}

impl Role {
    /// The API's name for it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }
}

/// One group member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The account.
    pub account: AccountIdx,
    /// Role.
    pub(crate) role: Role,
    /// Unix seconds.
    pub(crate) join_time: i64,
    /// Sequence of the last message read: unread = group's last seq − this.
    pub(crate) read_seq: u64,
    /// Unix seconds of the member's last message.
    pub(crate) last_send_time: i64,
}

/// One group message; its `MsgSeq` is its index + 1.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMsg {
    /// Sender.
    pub from: AccountIdx,
    /// Unix seconds.
    pub time: i64,
    /// `Random`.
    pub random: u32,
    /// The content.
    pub(crate) body: StoredBody,
    /// When the server took it (for the 5-minute Random de-duplication).
    pub(crate) received_at: i64,
    /// The `RecentContactFlag` its import carried (`None`: not given, or sent live).
    pub(crate) recent_contact: Option<u64>,
}

/// One group.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// GroupId.
    pub id: Box<str>,
    /// `Private`, `Public`, `ChatRoom`, `AVChatRoom`, `Community`.
    pub(crate) kind: String,
    /// Name.
    pub name: String,
    /// Introduction.
    pub(crate) introduction: Option<String>,
    /// Notification.
    pub(crate) notification: Option<String>,
    /// Avatar URL.
    pub(crate) face_url: Option<String>,
    /// Owner.
    pub(crate) owner: Option<AccountIdx>,
    /// Unix seconds.
    pub(crate) create_time: i64,
    /// Member cap.
    pub(crate) max_members: u64,
    /// Join option.
    pub(crate) apply_join: String,
    /// Custom fields.
    pub(crate) app_defined: BTreeMap<String, String>,
    /// `ShutUpAllMember`.
    pub(crate) shut_up_all: bool,
    /// Unix seconds of the last info change.
    pub(crate) last_info_time: i64,
    /// Members in join order.
    pub members: Vec<Member>,
    /// Messages; `MsgSeq` = index + 1.
    pub msgs: Vec<GroupMsg>,
    /// Position in the app's group list (for `get_appid_group_list` paging).
    pub(crate) order: u64,
    /// Whether it came in by `import_group` (no notifications) or `create_group`.
    pub(crate) imported: bool,
    /// The `MsgSeq`s recalled by `group_msg_recall`: the messages stay in the history,
    /// flagged.
    pub(crate) recalled: BTreeSet<u64>,
}

impl Group {
    /// The newest `MsgSeq` (0 when empty).
    pub(crate) fn last_seq(&self) -> u64 {
        self.msgs.len() as u64
    }

    /// The member entry of `account`.
    pub(crate) fn member(&self, account: AccountIdx) -> Option<&Member> {
        self.members.iter().find(|m| m.account == account)
    }

    /// The mutable member entry of `account`.
    pub(crate) fn member_mut(&mut self, account: AccountIdx) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.account == account)
    }

    /// Unix seconds of the newest message (0 when empty).
    pub(crate) fn last_msg_time(&self) -> i64 {
        self.msgs.last().map_or(0, |m| m.time)
    }

    /// True for live-broadcast groups, which the import APIs refuse.
    pub(crate) fn is_avchatroom(&self) -> bool {
        self.kind == "AVChatRoom"
    }

    /// True for communities.
    pub(crate) fn is_community(&self) -> bool {
        self.kind == "Community"
    }

    /// True when message `seq` was recalled.
    pub(crate) fn is_recalled(&self, seq: u64) -> bool {
        self.recalled.contains(&seq)
    }
}

/// Everything the service holds for one app.
#[derive(Debug, Default)]
pub struct State {
    accounts: Vec<Account>,
    index: HashMap<Box<str>, AccountIdx>,
    /// UserIDs removed by `account_delete`, with the index they had: such a UserID cannot be
    /// imported again (Tencent refuses it for three months, §4.7b).
    deleted: HashMap<Box<str>, AccountIdx>,
    /// Conversations keyed by (smaller, larger) account.
    pub conversations: HashMap<(AccountIdx, AccountIdx), Conversation>,
    /// Groups by id.
    pub groups: HashMap<Box<str>, Group>,
    /// Group ids in the app's list order.
    pub(crate) group_order: BTreeMap<u64, Box<str>>,
    next_order: u64,
    next_generated: u64,
}

impl State {
    /// The account `id`, if imported.
    pub fn account_idx(&self, id: &str) -> Option<AccountIdx> {
        self.index.get(id).copied()
    }

    /// The account at `idx`.
    pub(crate) fn account(&self, idx: AccountIdx) -> &Account {
        &self.accounts[idx as usize]
    }

    /// The mutable account at `idx`.
    pub fn account_mut(&mut self, idx: AccountIdx) -> &mut Account {
        &mut self.accounts[idx as usize]
    }

    /// The UserID of `idx`.
    pub fn account_id(&self, idx: AccountIdx) -> &str {
        &self.accounts[idx as usize].id
    }

    /// All accounts, in import order.
    pub(crate) fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Imports `id` (once; a second import returns the same index).
    pub(crate) fn import_account(&mut self, id: &str) -> AccountIdx {
        if let Some(idx) = self.index.get(id) {
            return *idx;
        }
        let idx = u32::try_from(self.accounts.len()).unwrap_or(u32::MAX);
        self.accounts.push(Account {
            id: id.into(),
            ..Account::default()
        });
        self.index.insert(id.into(), idx);
        idx
    }

    /// Removes an account's import (simulates an account deleted on the target; for tests).
    /// Its index stays allocated so that existing references stay valid.
    #[cfg(any(test, feature = "test-support"))]
    pub fn forget_account(&mut self, id: &str) -> bool {
        self.index.remove(id).is_some()
    }

    /// Deletes accounts (`account_delete`); says, per id, whether it existed. Each one's
    /// profile, friend list and group memberships go (a group it owned is left without an
    /// owner), and its UserID is remembered so that it cannot be imported again. What it sent
    /// stays in the others' histories, and the other accounts' friend entries that point at it
    /// stay too (see `handlers::delete`). Its index stays allocated, so that references to it
    /// stay valid.
    pub(crate) fn delete_accounts(&mut self, ids: &[&str]) -> Vec<bool> {
        let mut gone = HashSet::new();
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(idx) = self.index.remove(*id) else {
                found.push(false);
                continue;
            };
            self.deleted.insert((*id).into(), idx);
            let account = &mut self.accounts[idx as usize];
            account.profile.clear();
            account.friends.clear();
            account.c2c_unread = 0;
            gone.insert(idx);
            found.push(true);
        }
        if !gone.is_empty() {
            for group in self.groups.values_mut() {
                group.members.retain(|m| !gone.contains(&m.account));
                if group.owner.is_some_and(|o| gone.contains(&o)) {
                    group.owner = None;
                }
            }
        }
        found
    }

    /// True when `id` was deleted by `account_delete` (and so cannot be imported again).
    pub fn was_deleted(&self, id: &str) -> bool {
        self.deleted.contains_key(id)
    }

    /// The index a deleted account had.
    pub(crate) fn deleted_idx(&self, id: &str) -> Option<AccountIdx> {
        self.deleted.get(id).copied()
    }

    /// The deleted UserIDs, sorted.
    pub(crate) fn deleted_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.deleted.keys().map(AsRef::as_ref).collect();
        ids.sort_unstable();
        ids
    }

    /// Number of imported accounts.
    pub fn account_count(&self) -> usize {
        self.index.len()
    }

    /// The conversation between `a` and `b`, made on first use.
    pub(crate) fn conversation_mut(&mut self, a: AccountIdx, b: AccountIdx) -> &mut Conversation {
        self.conversations.entry((a.min(b), a.max(b))).or_default()
    }

    /// The conversation between `a` and `b`, if any message was ever stored.
    pub fn conversation(&self, a: AccountIdx, b: AccountIdx) -> Option<&Conversation> {
        self.conversations.get(&(a.min(b), a.max(b)))
    }

    /// Adds a group at the end of the app's list.
    pub(crate) fn add_group(&mut self, mut group: Group) {
        group.order = self.next_order;
        self.next_order += 1;
        self.group_order.insert(group.order, group.id.clone());
        self.groups.insert(group.id.clone(), group);
    }

    /// Removes a group.
    pub(crate) fn remove_group(&mut self, id: &str) -> Option<Group> {
        let group = self.groups.remove(id)?;
        self.group_order.remove(&group.order);
        Some(group)
    }

    /// A fresh server-assigned id: `@TGS#…`, or `@TGS#_…` for a community.
    pub(crate) fn generate_group_id(&mut self, community: bool) -> String {
        loop {
            self.next_generated += 1;
            let id = format!(
                "@TGS#{}{:X}SIM",
                if community { "_" } else { "2" },
                self.next_generated
            );
            if !self.groups.contains_key(id.as_str()) {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(from: u32, to: u32, seq: u32, random: u32, time: i64) -> C2cMsg {
        C2cMsg {
            from,
            to,
            seq,
            random,
            time,
            origin: C2cOrigin::Import(2),
            body: StoredBody::Lean(0),
        }
    }

    #[test]
    fn conversations_dedupe_on_the_triple_in_either_direction() {
        let mut s = State::default();
        let a = s.import_account("a");
        let b = s.import_account("b");
        assert!(s.conversation_mut(a, b).insert(msg(a, b, 1, 2, 100)));
        assert!(!s.conversation_mut(b, a).insert(msg(b, a, 1, 2, 100)));
        assert!(s.conversation_mut(a, b).insert(msg(a, b, 1, 3, 100)));
        assert!(s.conversation_mut(a, b).insert(msg(a, b, 0, 9, 50)));
        let times: Vec<_> = s
            .conversation(a, b)
            .unwrap()
            .msgs
            .iter()
            .map(|m| m.time)
            .collect();
        assert_eq!(times, [50, 100, 100]);
    }

    #[test]
    fn reimport_keeps_one_account() {
        let mut s = State::default();
        assert_eq!(s.import_account("x"), s.import_account("x"));
        assert_eq!(s.account_count(), 1);
    }

    #[test]
    fn lean_and_full_bodies_hash_alike() {
        let body = json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]);
        let full = StoredBody::new(false, &body, Some("c"));
        let lean = StoredBody::new(true, &body, Some("c"));
        assert_eq!(full.hash(), lean.hash());
        assert_eq!(full.body(), body);
        assert_eq!(lean.body(), json!([]));
    }
}
