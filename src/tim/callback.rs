//! Tencent's callbacks to the app's server (§5), the parts both ends need: the commands the
//! relay understands, the token's environment variable, and the `Sign` of §5.1.

use sha2::{Digest, Sha256};

/// The environment variable holding the callback token (takes precedence over the file).
pub const CALLBACK_TOKEN_ENV: &str = "CUTOVER_CALLBACK_TOKEN";

/// The ten "after" callbacks that carry what happened in the new app: the seven of §5.2, then
/// a friend entry deleted and the two message recalls.
pub const COMMANDS: [&str; 10] = [
    "C2C.CallbackAfterSendMsg",
    "Group.CallbackAfterSendMsg",
    "Group.CallbackAfterCreateGroup",
    "Group.CallbackAfterGroupInfoChanged",
    "Group.CallbackAfterNewMemberJoin",
    "Group.CallbackAfterMemberExit",
    "Group.CallbackAfterGroupDestroyed",
    "Sns.CallbackFriendDelete",
    "C2C.CallbackAfterMsgWithDraw",
    "Group.CallbackAfterRecallMsg",
];

/// `Sign` = lowercase hex of SHA-256(token + RequestTime) (§5.1).
pub fn sign(token: &str, request_time: u64) -> String {
    let digest = Sha256::digest(format!("{token}{request_time}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
