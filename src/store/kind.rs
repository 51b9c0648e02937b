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
}

impl Kind {
    /// Every kind, in staging order.
    pub const ALL: [Kind; 7] = [
        Kind::Account,
        Kind::Profile,
        Kind::Friend,
        Kind::C2cMessage,
        Kind::Group,
        Kind::GroupMember,
        Kind::GroupMessage,
    ];

    /// The number stored in the database.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The kind stored as `code`.
    pub(crate) fn from_code(code: i64) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The export file its records come from.
    pub(crate) fn file(self) -> ExportFile {
        match self {
            Kind::Account => ExportFile::Accounts,
            Kind::Profile => ExportFile::Profiles,
            Kind::Friend => ExportFile::Friends,
            Kind::C2cMessage => ExportFile::C2cMessages,
            Kind::Group => ExportFile::Groups,
            Kind::GroupMember => ExportFile::GroupMembers,
            Kind::GroupMessage => ExportFile::GroupMessages,
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
        Kind::ALL.into_iter().find(|k| {
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
            assert_eq!(Kind::of_file(kind.file()), kind);
        }
        assert_eq!(Kind::from_code(7), None);
    }
}
