//! What is wrong with a record: a rule that was broken, the field, and a sentence for a person.

use serde::Serialize;
use std::fmt;

/// Every kind of bad input the validator knows, with a stable `snake_case` name used in
/// summaries, JSON reports and problem files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The line is longer than the reader accepts.
    LineTooLong,
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line is not a JSON object.
    InvalidJson,
    /// A required field is absent (or null).
    MissingField,
    /// A field has the wrong JSON type.
    WrongType,
    /// A string is longer (in UTF-8 bytes) than the target allows, or empty where it must not be.
    BadLength,
    /// A value outside its enumeration.
    UnknownEnum,
    /// A value of the right type that the target would refuse (range, format, characters).
    InvalidValue,
    /// The same id (or the same pair) appears twice in one file.
    DuplicateId,
    /// A reference to an account that is not in accounts.jsonl.
    DanglingAccount,
    /// A reference to a group that is not in groups.jsonl.
    DanglingGroup,
    /// A reference to an account or group whose own record was rejected.
    RejectedReference,
    /// A friend entry whose owner and friend are the same account.
    FriendToSelf,
    /// An owner's friend entries use more distinct friend-list groups than allowed.
    TooManyFriendGroups,
    /// An owner has more friend entries than Tencent allows in one list.
    TooManyFriends,
    /// A member who joined before (or when) the group was created.
    JoinedBeforeGroup,
    /// A group message sent before (or when) the group was created.
    SentBeforeGroup,
    /// A time later than the export itself was taken.
    AfterExport,
    /// A message with no elements.
    EmptyBody,
    /// A message over the size limit once encoded for Tencent.
    BodyTooLarge,
    /// A message element that is malformed (unknown type, missing field, a second custom).
    BadElement,
    /// An `avchatroom` group, which Tencent cannot import into.
    Avchatroom,
    /// A second member with role `owner` in one group.
    SecondOwner,
    /// A member with role `owner` who is not the owner named in groups.jsonl.
    OwnerConflict,
    /// A tombstone where there can be none: in a full export, or in profiles.jsonl.
    Tombstone,
    /// An account deleted earlier in the same delta and restated after: Tencent refuses to
    /// create a deleted UserID again for months.
    AccountRecreated,
}

impl Rule {
    /// Every rule, in the order of the enum.
    #[cfg(any(test, feature = "test-support"))]
    pub const ALL: [Rule; 26] = [
        Rule::LineTooLong,
        Rule::InvalidUtf8,
        Rule::InvalidJson,
        Rule::MissingField,
        Rule::WrongType,
        Rule::BadLength,
        Rule::UnknownEnum,
        Rule::InvalidValue,
        Rule::DuplicateId,
        Rule::DanglingAccount,
        Rule::DanglingGroup,
        Rule::RejectedReference,
        Rule::FriendToSelf,
        Rule::TooManyFriendGroups,
        Rule::TooManyFriends,
        Rule::JoinedBeforeGroup,
        Rule::SentBeforeGroup,
        Rule::AfterExport,
        Rule::EmptyBody,
        Rule::BodyTooLarge,
        Rule::BadElement,
        Rule::Avchatroom,
        Rule::SecondOwner,
        Rule::OwnerConflict,
        Rule::Tombstone,
        Rule::AccountRecreated,
    ];

    /// The stable name, as used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Rule::LineTooLong => "line_too_long",
            Rule::InvalidUtf8 => "invalid_utf8",
            Rule::InvalidJson => "invalid_json",
            Rule::MissingField => "missing_field",
            Rule::WrongType => "wrong_type",
            Rule::BadLength => "bad_length",
            Rule::UnknownEnum => "unknown_enum",
            Rule::InvalidValue => "invalid_value",
            Rule::DuplicateId => "duplicate_id",
            Rule::DanglingAccount => "dangling_account",
            Rule::DanglingGroup => "dangling_group",
            Rule::RejectedReference => "rejected_reference",
            Rule::FriendToSelf => "friend_to_self",
            Rule::TooManyFriendGroups => "too_many_friend_groups",
            Rule::TooManyFriends => "too_many_friends",
            Rule::JoinedBeforeGroup => "joined_before_group",
            Rule::SentBeforeGroup => "sent_before_group",
            Rule::AfterExport => "after_export",
            Rule::EmptyBody => "empty_body",
            Rule::BodyTooLarge => "body_too_large",
            Rule::BadElement => "bad_element",
            Rule::Avchatroom => "avchatroom",
            Rule::SecondOwner => "second_owner",
            Rule::OwnerConflict => "owner_conflict",
            Rule::Tombstone => "tombstone",
            Rule::AccountRecreated => "account_recreated",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing wrong with one field of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The rule that was broken.
    pub rule: Rule,
    /// The field, as a path (`body[1].url`); empty when the problem is the whole line.
    pub field: String,
    /// What is wrong, for a person.
    pub(crate) reason: String,
}

impl FieldProblem {
    /// A problem with `field`.
    pub(crate) fn new(rule: Rule, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            rule,
            field: field.into(),
            reason: reason.into(),
        }
    }
}
