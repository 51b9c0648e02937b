//! The limits of export-format.md, which mirror what Tencent IM accepts.

/// Account id (`UserID`) bytes.
pub(crate) const ACCOUNT_ID_MAX: usize = 32;
/// Nick and avatar URL bytes on an account.
pub(crate) const PROFILE_STRING_MAX: usize = 500;
/// Profile location bytes.
pub(crate) const LOCATION_MAX: usize = 16;
/// Profile and friend custom keys: English letters only, at most this many bytes.
pub(crate) const CUSTOM_TAG_KEY_MAX: usize = 8;
/// Friend remark bytes.
pub(crate) const REMARK_MAX: usize = 96;
/// One friend-list group name, bytes.
pub(crate) const FRIEND_GROUP_NAME_MAX: usize = 30;
/// Distinct friend-list groups per owner.
pub(crate) const FRIEND_GROUPS_PER_OWNER_MAX: usize = 32;
/// Friend entries in one owner's list (Tencent answers 30010 past it).
pub(crate) const FRIENDS_PER_OWNER_MAX: usize = 3000;
/// Friend add-source keyword bytes.
pub(crate) const ADD_SOURCE_MAX: usize = 8;
/// Friend add wording bytes.
pub(crate) const WORDING_MAX: usize = 256;
/// Group name bytes.
pub(crate) const GROUP_NAME_MAX: usize = 30;
/// Group introduction bytes.
pub(crate) const GROUP_INTRODUCTION_MAX: usize = 240;
/// Group notification bytes.
pub(crate) const GROUP_NOTIFICATION_MAX: usize = 300;
/// Group avatar URL bytes.
pub(crate) const GROUP_AVATAR_MAX: usize = 100;
/// Group custom (AppDefinedData) keys.
pub(crate) const GROUP_CUSTOM_KEYS_MAX: usize = 10;
/// One group custom key, bytes (`[A-Za-z0-9_]`).
pub(crate) const GROUP_CUSTOM_KEY_MAX: usize = 16;
/// One group custom value, bytes.
pub(crate) const GROUP_CUSTOM_VALUE_MAX: usize = 512;
/// A message once encoded as Tencent's `MsgBody` (plus its custom data), bytes.
pub(crate) const MESSAGE_ENCODED_MAX: usize = 12 * 1024;
/// The longest line the reader accepts; a longer one is reported and skipped.
pub(crate) const LINE_MAX: usize = 1024 * 1024;
/// Old ids of groups and messages, bytes (generous; only to keep memory and reports sane).
pub(crate) const OTHER_ID_MAX: usize = 256;
