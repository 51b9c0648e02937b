//! Every REST API the console speaks, with its path and its documented limits.
//!
//! One table shared by the client (which URL to call, how much to put in one request) and the
//! simulator (which limits to enforce, which code to answer), so the two cannot drift apart.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The services of `v4/{service}/{command}` (spec §1.1); each has its own error-code range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// `im_open_login_svc`: accounts (70xxx codes).
    Login,
    /// `profile`: profiles (40xxx codes, `ErrorDisplay` in answers).
    Profile,
    /// `sns`: the relation chain (30xxx codes, `ErrorDisplay` in answers).
    Sns,
    /// `openim`: one-to-one messages (90xxx/20xxx codes).
    OpenIm,
    /// `group_open_http_svc`: groups (10xxx codes).
    Group,
}

impl Service {
    /// The path segment.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Service::Login => "im_open_login_svc",
            Service::Profile => "profile",
            Service::Sns => "sns",
            Service::OpenIm => "openim",
            Service::Group => "group_open_http_svc",
        }
    }

    /// The code this service answers when the identifier is not an app admin (§1.1).
    pub(crate) fn not_admin_code(self) -> i64 {
        match self {
            Service::Login => 70403,
            Service::Profile => 40004,
            Service::Sns => 30004,
            Service::OpenIm => 90009,
            Service::Group => 10007,
        }
    }

    /// Whether answers carry `ErrorDisplay` (§1.2: profile and relation-chain services only).
    pub(crate) fn has_error_display(self) -> bool {
        matches!(self, Service::Profile | Service::Sns)
    }
}

macro_rules! apis {
    ($( $variant:ident => ($service:ident, $command:literal, $rate:expr, $batch:expr, $batch_code:expr) ),* $(,)?) => {
        /// One REST API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Api { $(
            #[doc = concat!("`v4/…/", $command, "`")]
            $variant,
        )* }

        impl Api {
            /// Every API, in a fixed order.
            pub const ALL: &'static [Api] = &[$(Api::$variant),*];

            /// Its service.
            pub(crate) fn service(self) -> Service {
                match self { $(Api::$variant => Service::$service),* }
            }

            /// The command, the last path segment (also the API's name in config and logs).
            pub fn command(self) -> &'static str {
                match self { $(Api::$variant => $command),* }
            }

            /// The documented default rate limit, calls per second per SDKAppID (§1.4, §6).
            pub fn default_rate(self) -> u32 {
                match self { $(Api::$variant => $rate),* }
            }

            /// The documented maximum of items in one request (CURRENT values), if any.
            pub(crate) fn default_batch(self) -> Option<usize> {
                match self { $(Api::$variant => $batch),* }
            }

            /// The code answered when a request holds more items than the batch limit.
            pub(crate) fn batch_code(self) -> i64 {
                match self { $(Api::$variant => $batch_code),* }
            }
        }
    };
}

apis! {
    AccountImport => (Login, "account_import", 200, None, 70402),
    MultiaccountImport => (Login, "multiaccount_import", 100, Some(100), 70402),
    AccountCheck => (Login, "account_check", 100, Some(100), 70402),
    AccountDelete => (Login, "account_delete", 100, Some(100), 70402),
    PortraitSet => (Profile, "portrait_set", 200, None, 40001),
    PortraitGet => (Profile, "portrait_get", 200, Some(100), 40001),
    FriendImport => (Sns, "friend_import", 200, Some(1000), 30001),
    FriendAdd => (Sns, "friend_add", 200, Some(1000), 30001),
    FriendGet => (Sns, "friend_get", 200, Some(100), 30001),
    FriendCheck => (Sns, "friend_check", 200, Some(1000), 30001),
    FriendDelete => (Sns, "friend_delete", 200, Some(100), 30001),
    ImportMsg => (OpenIm, "importmsg", 200, None, 90001),
    SendMsg => (OpenIm, "sendmsg", 200, None, 90001),
    AdminGetRoamMsg => (OpenIm, "admin_getroammsg", 200, Some(100), 90001),
    AdminMsgWithdraw => (OpenIm, "admin_msgwithdraw", 200, None, 90001),
    ImportGroup => (Group, "import_group", 200, None, 10004),
    ImportGroupMember => (Group, "import_group_member", 200, Some(20), 10005),
    ImportGroupMsg => (Group, "import_group_msg", 200, Some(7), 10004),
    SetUnreadMsgNum => (Group, "set_unread_msg_num", 200, None, 10004),
    SendGroupMsg => (Group, "send_group_msg", 200, None, 10004),
    CreateGroup => (Group, "create_group", 200, Some(100), 10005),
    ModifyGroupBaseInfo => (Group, "modify_group_base_info", 200, None, 10004),
    ChangeGroupOwner => (Group, "change_group_owner", 200, None, 10004),
    AddGroupMember => (Group, "add_group_member", 200, Some(20), 10005),
    DeleteGroupMember => (Group, "delete_group_member", 200, Some(100), 10005),
    DestroyGroup => (Group, "destroy_group", 200, None, 10004),
    GetGroupInfo => (Group, "get_group_info", 200, Some(50), 10004),
    GetGroupMemberInfo => (Group, "get_group_member_info", 200, Some(200), 10004),
    GetSpecifiedGroupMemberInfo => (Group, "get_specified_group_member_info", 200, Some(50), 10004),
    GetAppidGroupList => (Group, "get_appid_group_list", 1, Some(10000), 10004),
    GroupMsgGetSimple => (Group, "group_msg_get_simple", 200, Some(20), 10004),
    GroupMsgRecall => (Group, "group_msg_recall", 200, Some(10), 10004),
}

impl Api {
    /// The path after the host: `v4/{service}/{command}`.
    pub(crate) fn path(self) -> String {
        format!("v4/{}/{}", self.service().path(), self.command())
    }

    /// Finds an API by its service and command path segments (exact, case-sensitive, §1.1).
    pub(crate) fn from_path(service: &str, command: &str) -> Option<Api> {
        Api::ALL
            .iter()
            .copied()
            .find(|a| a.service().path() == service && a.command() == command)
    }

    /// Finds an API by its command name (as written in config files).
    pub(crate) fn from_command(command: &str) -> Option<Api> {
        Api::ALL.iter().copied().find(|a| a.command() == command)
    }

    /// Import APIs never fire callbacks or push notifications (§3); the others of §4 do.
    pub fn is_import(self) -> bool {
        matches!(
            self,
            Api::AccountImport
                | Api::MultiaccountImport
                | Api::PortraitSet
                | Api::FriendImport
                | Api::ImportMsg
                | Api::ImportGroup
                | Api::ImportGroupMember
                | Api::ImportGroupMsg
                | Api::SetUnreadMsgNum
        )
    }

    /// Read-back APIs (§6): they change nothing, so a retry is always safe.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Api::AccountCheck
                | Api::PortraitGet
                | Api::FriendGet
                | Api::FriendCheck
                | Api::AdminGetRoamMsg
                | Api::GetGroupInfo
                | Api::GetGroupMemberInfo
                | Api::GetSpecifiedGroupMemberInfo
                | Api::GetAppidGroupList
                | Api::GroupMsgGetSimple
        )
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.command())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_documented_ones() {
        assert_eq!(
            Api::MultiaccountImport.path(),
            "v4/im_open_login_svc/multiaccount_import"
        );
        assert_eq!(
            Api::ImportGroupMsg.path(),
            "v4/group_open_http_svc/import_group_msg"
        );
        assert_eq!(Api::FriendImport.path(), "v4/sns/friend_import");
        assert_eq!(Api::AdminGetRoamMsg.path(), "v4/openim/admin_getroammsg");
        for api in Api::ALL {
            assert_eq!(
                Api::from_path(api.service().path(), api.command()),
                Some(*api)
            );
            assert_eq!(Api::from_command(api.command()), Some(*api));
        }
        assert_eq!(Api::from_path("openim", "ImportMsg"), None);
    }

    #[test]
    fn limits_match_the_spec() {
        assert_eq!(Api::MultiaccountImport.default_rate(), 100);
        assert_eq!(Api::AccountCheck.default_rate(), 100);
        assert_eq!(Api::GetAppidGroupList.default_rate(), 1);
        assert_eq!(Api::ImportMsg.default_rate(), 200);
        assert_eq!(Api::ImportGroupMember.default_batch(), Some(20));
        assert_eq!(Api::ImportGroupMsg.default_batch(), Some(7));
        assert_eq!(Api::GetGroupInfo.default_batch(), Some(50));
        assert_eq!(Api::ImportGroupMember.batch_code(), 10005);
    }
}
