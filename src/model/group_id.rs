//! The Tencent `GroupId` an old group id becomes.
//!
//! Tencent takes a custom id when it is printable ASCII, at most 48 bytes and does not start
//! with `@TGS#` (reserved for ids it assigns); a Community's custom id must start with `@TGS#_`.
//! Any other old id is mapped to a stable generated id, the same on every run, so a retried
//! `import_group` hits "already used" instead of creating a second group.

use super::records::GroupType;
use std::borrow::Cow;

/// The longest custom `GroupId` Tencent accepts.
pub(crate) const GROUP_ID_MAX: usize = 48;
const RESERVED_PREFIX: &str = "@TGS#";
const COMMUNITY_PREFIX: &str = "@TGS#_";
/// The prefix of ids the console generates for non-community groups.
pub(crate) const GENERATED_PREFIX: &str = "cutover_";

fn is_printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// The `GroupId` to import the old group `old_id` of type `kind` under.
///
/// ```
/// use cutover::model::{group_id::target_group_id, GroupType};
/// assert_eq!(target_group_id("g001", GroupType::Public), "g001");
/// assert!(target_group_id("@TGS#2J4SZEAEL", GroupType::Public).starts_with("cutover_"));
/// assert!(target_group_id("g001", GroupType::Community).starts_with("@TGS#_"));
/// ```
pub fn target_group_id(old_id: &str, kind: GroupType) -> Cow<'_, str> {
    let usable = !old_id.is_empty() && old_id.len() <= GROUP_ID_MAX && is_printable_ascii(old_id);
    if kind == GroupType::Community {
        if usable && old_id.starts_with(COMMUNITY_PREFIX) {
            return Cow::Borrowed(old_id);
        }
        return Cow::Owned(format!("{COMMUNITY_PREFIX}{}", stable_suffix(old_id)));
    }
    if usable && !old_id.starts_with(RESERVED_PREFIX) {
        return Cow::Borrowed(old_id);
    }
    Cow::Owned(format!("{GENERATED_PREFIX}{}", stable_suffix(old_id)))
}

/// 32 hex digits of a 128-bit hash of the old id: stable across runs and machines.
fn stable_suffix(old_id: &str) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(old_id.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_ids_pass_through() {
        assert_eq!(target_group_id("g001", GroupType::Public), "g001");
        assert_eq!(
            target_group_id("@TGS#_abc", GroupType::Community),
            "@TGS#_abc"
        );
    }

    #[test]
    fn unusable_ids_map_to_stable_generated_ids() {
        let long = "x".repeat(49);
        for old in ["@TGS#2J4SZEAEL", "群一", long.as_str(), "tab\there"] {
            let mapped = target_group_id(old, GroupType::Private);
            assert!(mapped.starts_with(GENERATED_PREFIX), "{old} -> {mapped}");
            assert!(mapped.len() <= GROUP_ID_MAX);
            assert_eq!(mapped, target_group_id(old, GroupType::Private));
        }
        let c = target_group_id("g001", GroupType::Community);
        assert!(c.starts_with("@TGS#_") && c.len() <= GROUP_ID_MAX, "{c}");
        assert_ne!(
            target_group_id("a", GroupType::Chatroom),
            target_group_id("b", GroupType::Chatroom)
        );
    }
}
