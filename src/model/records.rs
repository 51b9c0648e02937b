//! The canonical records of the export format, one type per file.
//!
//! They serialize back to exactly the export's shape (the generator writes through them), and
//! are built from a line only by [`super::parse`], which applies every per-record rule.

use super::element::Element;
use super::fields::ExportEnum;
use serde::Serialize;
use std::collections::BTreeMap;

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Manifest {
    /// Always `cutover-export`.
    pub(crate) format: String,
    /// Always 1.
    pub(crate) version: i64,
    /// When the dump was taken (unix seconds).
    pub(crate) exported_at: i64,
    /// A free-text name of the source system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<String>,
    /// The newest change time included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) watermark: Option<i64>,
    /// For a delta export: the watermark of the export it follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) delta_of: Option<i64>,
}

/// One line of `accounts.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// The future Tencent `UserID`.
    pub id: String,
    /// Nickname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// Avatar URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) avatar_url: Option<String>,
    /// Creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created_at: Option<i64>,
}

/// Profile gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Gender {
    /// `male`
    Male,
    /// `female`
    Female,
    /// `unknown`
    Unknown,
}

impl ExportEnum for Gender {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("male", Gender::Male),
        ("female", Gender::Female),
        ("unknown", Gender::Unknown),
    ];
}

/// Who may add this account as a friend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AllowFriend {
    /// `need_confirm`
    NeedConfirm,
    /// `allow_any`
    AllowAny,
    /// `deny_any`
    DenyAny,
}

impl ExportEnum for AllowFriend {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("need_confirm", AllowFriend::NeedConfirm),
        ("allow_any", AllowFriend::AllowAny),
        ("deny_any", AllowFriend::DenyAny),
    ];
}

/// One line of `profiles.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// The account this profile belongs to.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Gender.
    pub(crate) gender: Option<Gender>,
    /// Birthday as YYYYMMDD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) birthday: Option<u32>,
    /// Location, at most 16 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) location: Option<String>,
    /// Self signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signature: Option<String>,
    /// Friend-request policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) allow_friend: Option<AllowFriend>,
    /// Language code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) language: Option<u32>,
    /// App-defined level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) level: Option<u32>,
    /// App-defined role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) role: Option<u32>,
    /// Custom fields (`Tag_Profile_Custom_<key>`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

/// A friend custom value: a string or an integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CustomValue {
    /// A string value.
    Text(String),
    /// An integer value.
    Int(i64),
}

/// One line of `friends.jsonl`: one ONE-WAY friend entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Friend {
    /// Whose friend list.
    pub owner: String,
    /// The friend.
    pub friend: String,
    /// Remark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) remark: Option<String>,
    /// Friend-list groups.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) groups: Vec<String>,
    /// How they became friends (English letters).
    pub(crate) source: String,
    /// Add wording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wording: Option<String>,
    /// When the entry was added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) added_at: Option<i64>,
    /// Custom fields (`Tag_SNS_Custom_<key>`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, CustomValue>,
}

/// One line of `c2c_messages.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct C2cMessage {
    /// The old system's message id.
    pub(crate) id: String,
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// Send time.
    pub sent_at: i64,
    /// Sequence; derived from `id` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seq: Option<u32>,
    /// Random; derived from `id` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) random: Option<u32>,
    /// Message elements.
    pub(crate) body: Vec<Element>,
    /// Becomes `CloudCustomData`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) custom_data: Option<String>,
}

/// Group type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupType {
    /// `private` (Tencent Work).
    Private,
    /// `public`.
    Public,
    /// `chatroom` (Tencent Meeting).
    Chatroom,
    /// `community`.
    Community,
    /// `avchatroom`: recognized only to be rejected.
    Avchatroom,
}

impl ExportEnum for GroupType {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("private", GroupType::Private),
        ("public", GroupType::Public),
        ("chatroom", GroupType::Chatroom),
        ("community", GroupType::Community),
        ("avchatroom", GroupType::Avchatroom),
    ];
}

impl GroupType {
    /// Tencent's name of the type (`Type` of import_group, the console's group types).
    pub fn tencent_name(self) -> &'static str {
        match self {
            GroupType::Private => "Private",
            GroupType::Public => "Public",
            GroupType::Chatroom => "ChatRoom",
            GroupType::Community => "Community",
            GroupType::Avchatroom => "AVChatRoom",
        }
    }

    /// The type Tencent names `name`.
    pub fn from_tencent_name(name: &str) -> Option<GroupType> {
        [
            GroupType::Private,
            GroupType::Public,
            GroupType::Chatroom,
            GroupType::Community,
            GroupType::Avchatroom,
        ]
        .into_iter()
        .find(|t| t.tencent_name() == name)
    }

    /// The four types Tencent can import into.
    pub const IMPORTABLE: [GroupType; 4] = [
        GroupType::Private,
        GroupType::Public,
        GroupType::Chatroom,
        GroupType::Community,
    ];
}

/// How a group may be joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JoinOption {
    /// `free`
    Free,
    /// `need_permission`
    NeedPermission,
    /// `disabled`
    Disabled,
}

impl ExportEnum for JoinOption {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("free", JoinOption::Free),
        ("need_permission", JoinOption::NeedPermission),
        ("disabled", JoinOption::Disabled),
    ];
}

/// One line of `groups.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The old group id.
    pub id: String,
    /// Group type.
    #[serde(rename = "type")]
    pub kind: GroupType,
    /// Name.
    pub name: String,
    /// Owner account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Introduction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) introduction: Option<String>,
    /// Notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) notification: Option<String>,
    /// Avatar URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) avatar_url: Option<String>,
    /// Member cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_members: Option<u32>,
    /// Join policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) join_option: Option<JoinOption>,
    /// Creation time.
    pub(crate) created_at: i64,
    /// Group custom data (AppDefinedData).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) custom: BTreeMap<String, String>,
}

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MemberRole {
    /// `member` (the default).
    #[default]
    Member,
    /// `admin`
    Admin,
    /// `owner`
    Owner,
}

impl ExportEnum for MemberRole {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("member", MemberRole::Member),
        ("admin", MemberRole::Admin),
        ("owner", MemberRole::Owner),
    ];
}

/// One line of `group_members.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMember {
    /// The group.
    pub group: String,
    /// The member account.
    pub member: String,
    /// Role; absent means `member`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) role: Option<MemberRole>,
    /// Join time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) joined_at: Option<i64>,
    /// Unread count at export time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unread: Option<u32>,
}

/// One line of `group_messages.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupMessage {
    /// The old message id.
    pub(crate) id: String,
    /// The group.
    pub group: String,
    /// Sender.
    pub from: String,
    /// Send time.
    pub sent_at: i64,
    /// Random; derived from `id` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) random: Option<u32>,
    /// Message elements.
    pub(crate) body: Vec<Element>,
    /// Custom data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) custom_data: Option<String>,
}
