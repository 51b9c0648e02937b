//! The deletion APIs of §4.7b (`account_delete` in `account`, `friend_delete` in `sns`,
//! `group_msg_recall` in `group`, `admin_msgwithdraw` in `c2c`, with `delete_group_member`
//! and `destroy_group`): a repeat of a deletion already applied answers its own code
//! ([`repeat_means_done`]), which the caller counts as done.

use crate::tim::api::Api;

/// Whether `code`, answered by `api` for one item, says the deletion is applied already
/// (§4.7b): the account does not exist (70107), not friends (31704), the message is not
/// found (10030, 20022) or already recalled (20023), the group is gone (10010).
pub fn repeat_means_done(api: Api, code: i64) -> bool {
    matches!(
        (api, code),
        (Api::AccountDelete, 70107)
            | (Api::FriendDelete, 31704)
            | (Api::GroupMsgRecall, 10030 | 10010)
            | (Api::AdminMsgWithdraw, 20022 | 20023)
            | (Api::DestroyGroup, 10010)
            | (Api::DeleteGroupMember, 10010)
    )
}
