//! The kinds of staged items, one per export file, and the states an item goes through.

use crate::source::ExportFile;
use crate::tim::api::Api;
use serde::Serialize;

/// What an item is: one record of one export file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An account (multiaccount_import).
    Account = 0,
    /// A profile (portrait_set).
    Profile = 1,
    /// A one-way friend entry (friend_import).
    Friend = 2,
    /// A one-to-one message (importmsg).
    C2cMessage = 3,
    /// A group (import_group).
    Group = 4,
    /// A group member (import_group_member).
    GroupMember = 5,
    /// A group message (import_group_msg).
    GroupMessage = 6,
    /// A one-to-one message recalled in the old system (admin_msgwithdraw).
    C2cRecall = 7,
    /// A group message recalled in the old system (group_msg_recall).
    GroupRecall = 8,
    /// A member who left a group in the old system (delete_group_member).
    MemberRemoval = 9,
    /// A group dismissed in the old system (destroy_group).
    GroupDeletion = 10,
    /// A friend entry deleted in the old system (friend_delete, one way).
    FriendDeletion = 11,
    /// An account deleted in the old system (account_delete: irreversible).
    AccountDeletion = 12,
}

impl Kind {
    /// The kinds of records, one per export file, in staging order.
    pub const RECORDS: [Kind; 7] = [
        Kind::Account,
        Kind::Profile,
        Kind::Friend,
        Kind::C2cMessage,
        Kind::Group,
        Kind::GroupMember,
        Kind::GroupMessage,
    ];

    /// The kinds of deletions (a delta's tombstones), in the order they are applied: message
    /// recalls, members, groups, friend entries, accounts last.
    pub const DELETIONS: [Kind; 6] = [
        Kind::C2cRecall,
        Kind::GroupRecall,
        Kind::MemberRemoval,
        Kind::GroupDeletion,
        Kind::FriendDeletion,
        Kind::AccountDeletion,
    ];

    /// Every kind: the records, then the deletions.
    pub const ALL: [Kind; 13] = [
        Kind::Account,
        Kind::Profile,
        Kind::Friend,
        Kind::C2cMessage,
        Kind::Group,
        Kind::GroupMember,
        Kind::GroupMessage,
        Kind::C2cRecall,
        Kind::GroupRecall,
        Kind::MemberRemoval,
        Kind::GroupDeletion,
        Kind::FriendDeletion,
        Kind::AccountDeletion,
    ];

    /// The record kind a deletion kind deletes (`None` for a record kind).
    pub fn deletes(self) -> Option<Kind> {
        match self {
            Kind::C2cRecall => Some(Kind::C2cMessage),
            Kind::GroupRecall => Some(Kind::GroupMessage),
            Kind::MemberRemoval => Some(Kind::GroupMember),
            Kind::GroupDeletion => Some(Kind::Group),
            Kind::FriendDeletion => Some(Kind::Friend),
            Kind::AccountDeletion => Some(Kind::Account),
            _ => None,
        }
    }

    /// The deletion kind of a record kind (`None` for profiles, which have no tombstone, and
    /// for deletion kinds).
    pub fn deletion(self) -> Option<Kind> {
        Kind::DELETIONS
            .into_iter()
            .find(|d| d.deletes() == Some(self))
    }

    /// The record kind of an item: itself, or the kind a deletion deletes.
    pub fn record(self) -> Kind {
        self.deletes().unwrap_or(self)
    }

    /// The number stored in the database.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The kind stored as `code`.
    pub(crate) fn from_code(code: i64) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The export file its records come from (a deletion's: the file of what it deletes,
    /// which holds its tombstones).
    pub(crate) fn file(self) -> ExportFile {
        match self.record() {
            Kind::Account => ExportFile::Accounts,
            Kind::Profile => ExportFile::Profiles,
            Kind::Friend => ExportFile::Friends,
            Kind::C2cMessage => ExportFile::C2cMessages,
            Kind::Group => ExportFile::Groups,
            Kind::GroupMember => ExportFile::GroupMembers,
            _ => ExportFile::GroupMessages,
        }
    }

    /// The kind whose records come from `file`.
    #[cfg(test)]
    pub(crate) fn of_file(file: ExportFile) -> Kind {
        match file {
            ExportFile::Accounts => Kind::Account,
            ExportFile::Profiles => Kind::Profile,
            ExportFile::Friends => Kind::Friend,
            ExportFile::C2cMessages => Kind::C2cMessage,
            ExportFile::Groups => Kind::Group,
            ExportFile::GroupMembers => Kind::GroupMember,
            ExportFile::GroupMessages => Kind::GroupMessage,
        }
    }

    /// The kind of an export file name (`friends.jsonl`, `friends.jsonl.gz`).
    pub(crate) fn of_file_name(name: &str) -> Option<Kind> {
        Kind::RECORDS.into_iter().find(|k| {
            name.strip_prefix(k.file().stem())
                .is_some_and(|rest| rest == ".jsonl" || rest == ".jsonl.gz")
        })
    }

    /// The import API that carries it.
    pub fn api(self) -> Api {
        match self {
            Kind::Account => Api::MultiaccountImport,
            Kind::Profile => Api::PortraitSet,
            Kind::Friend => Api::FriendImport,
            Kind::C2cMessage => Api::ImportMsg,
            Kind::Group => Api::ImportGroup,
            Kind::GroupMember => Api::ImportGroupMember,
            Kind::GroupMessage => Api::ImportGroupMsg,
            Kind::C2cRecall => Api::AdminMsgWithdraw,
            Kind::GroupRecall => Api::GroupMsgRecall,
            Kind::MemberRemoval => Api::DeleteGroupMember,
            Kind::GroupDeletion => Api::DestroyGroup,
            Kind::FriendDeletion => Api::FriendDelete,
            Kind::AccountDeletion => Api::AccountDelete,
        }
    }

    /// The stage's name, as shown to the operator.
    pub fn stage(self) -> &'static str {
        match self {
            Kind::Account => "accounts",
            Kind::Profile => "profiles",
            Kind::Friend => "friends",
            Kind::C2cMessage => "c2c messages",
            Kind::Group => "groups",
            Kind::GroupMember => "group members",
            Kind::GroupMessage => "group messages",
            Kind::C2cRecall => "c2c recalls",
            Kind::GroupRecall => "group recalls",
            Kind::MemberRemoval => "member removals",
            Kind::GroupDeletion => "group deletions",
            Kind::FriendDeletion => "friend deletions",
            Kind::AccountDeletion => "account deletions",
        }
    }

    /// The name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Account => "accounts",
            Kind::Profile => "profiles",
            Kind::Friend => "friends",
            Kind::C2cMessage => "c2c_messages",
            Kind::Group => "groups",
            Kind::GroupMember => "group_members",
            Kind::GroupMessage => "group_messages",
            Kind::C2cRecall => "c2c_recalls",
            Kind::GroupRecall => "group_recalls",
            Kind::MemberRemoval => "member_removals",
            Kind::GroupDeletion => "group_deletions",
            Kind::FriendDeletion => "friend_deletions",
            Kind::AccountDeletion => "account_deletions",
        }
    }
}

/// Where an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Not yet imported (or to be sent again).
    Pending = 0,
    /// Imported: the target said so, or a read-back showed it.
    Done = 1,
    /// Refused for good (an error row says why); the operator may retry or skip it.
    Failed = 2,
    /// Skipped by the operator, with a reason in the audit table; or at staging, a message
    /// older than the export's history cut-off (`export.history_since` says why).
    Skipped = 3,
}

impl ItemState {
    /// The number stored in the database.
    pub(crate) fn code(self) -> i64 {
        self as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_files_match() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_code(kind.code()), Some(kind));
            assert_eq!(Kind::of_file(kind.file()), kind.record());
        }
        assert_eq!(Kind::from_code(13), None);
        for kind in Kind::DELETIONS {
            assert_eq!(kind.deletes().and_then(Kind::deletion), Some(kind));
        }
        assert_eq!(Kind::Profile.deletion(), None);
    }
}
