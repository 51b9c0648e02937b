//! The app's console settings that decide whether a record's custom keys can be written:
//! Tencent refuses a custom profile tag (`Tag_Profile_Custom_<Key>`: 40009), a friend tag
//! (`Tag_SNS_Custom_<Key>`: 30001) or a group custom field (`AppDefinedData` key, enabled per
//! group type: 10004) that was not created in the console first. The runbook's `[app]` and the
//! simulator's `[app]` share this shape; the export's inventory of keys is checked against it.
//!
//! One naming everywhere (messages, `[import] drop_custom`, docs): the full tag names
//! `Tag_Profile_Custom_Hobby` and `Tag_SNS_Custom_Close`, and `group:Category` for a group
//! custom field.

use super::records::{Friend, Group, GroupType, Profile};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The prefix of a custom profile tag.
pub const PROFILE_PREFIX: &str = "Tag_Profile_Custom_";
/// The prefix of a friend custom tag.
pub const FRIEND_PREFIX: &str = "Tag_SNS_Custom_";
/// The prefix of a group custom field, as `drop_custom` and messages name it.
pub const GROUP_PREFIX: &str = "group:";

/// A custom key a record uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum CustomKey {
    /// `Tag_Profile_Custom_<Key>` of a profile.
    Profile(String),
    /// `Tag_SNS_Custom_<Key>` of a friend entry.
    Friend(String),
    /// An `AppDefinedData` key of a group.
    Group(String),
}

impl CustomKey {
    /// Its name: `Tag_Profile_Custom_Hobby`, `Tag_SNS_Custom_Close`, `group:Category`.
    pub fn name(&self) -> String {
        match self {
            CustomKey::Profile(k) => format!("{PROFILE_PREFIX}{k}"),
            CustomKey::Friend(k) => format!("{FRIEND_PREFIX}{k}"),
            CustomKey::Group(k) => format!("{GROUP_PREFIX}{k}"),
        }
    }

    /// The key from its name, or why the name is none.
    pub fn parse(name: &str) -> Result<CustomKey, String> {
        let (key, make): (_, fn(String) -> CustomKey) =
            if let Some(k) = name.strip_prefix(PROFILE_PREFIX) {
                (k, CustomKey::Profile)
            } else if let Some(k) = name.strip_prefix(FRIEND_PREFIX) {
                (k, CustomKey::Friend)
            } else if let Some(k) = name.strip_prefix(GROUP_PREFIX) {
                (k, CustomKey::Group)
            } else {
                return Err(format!(
                    "{name:?} is not a custom key: name it {PROFILE_PREFIX}<Key>, \
                     {FRIEND_PREFIX}<Key> or {GROUP_PREFIX}<Key>"
                ));
            };
        if key.is_empty() {
            return Err(format!("{name:?} names no key after its prefix"));
        }
        Ok(make(key.to_string()))
    }

    /// The bare key (`Hobby`), as `[app]` lists it.
    pub fn key(&self) -> &str {
        match self {
            CustomKey::Profile(k) | CustomKey::Friend(k) | CustomKey::Group(k) => k,
        }
    }

    /// Where the console creates it.
    pub fn console_page(&self) -> &'static str {
        match self {
            CustomKey::Profile(_) => "Profile custom fields",
            CustomKey::Friend(_) => "Friend custom fields",
            CustomKey::Group(_) => "Group custom fields",
        }
    }

    /// The `[app]` line that declares it (`group_types`: where a group key is used).
    pub fn app_line(&self, group_types: &[GroupType]) -> String {
        match self {
            CustomKey::Profile(k) => format!("profile_custom_tags = [\"{k}\"]"),
            CustomKey::Friend(k) => format!("friend_custom_tags = [\"{k}\"]"),
            CustomKey::Group(k) => {
                let lines: Vec<String> = group_types
                    .iter()
                    .map(|t| format!("{} = [\"{k}\"]", t.tencent_name()))
                    .collect();
                format!("[app.group_custom_fields] {}", lines.join(", "))
            }
        }
    }
}

/// `[app.group_custom_fields]`: per group type (Tencent's names: `Private`, `Public`,
/// `ChatRoom`, `Community`), the custom field keys enabled in the console.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, Vec<String>>")]
pub struct GroupCustomFields(pub BTreeMap<GroupType, Vec<String>>);

impl TryFrom<BTreeMap<String, Vec<String>>> for GroupCustomFields {
    type Error = String;

    fn try_from(map: BTreeMap<String, Vec<String>>) -> Result<Self, String> {
        let mut out = BTreeMap::new();
        for (name, keys) in map {
            let kind = GroupType::from_tencent_name(&name)
                .filter(|k| *k != GroupType::Avchatroom)
                .ok_or_else(|| {
                    format!(
                        "[app.group_custom_fields] {name}: not a group type Tencent imports \
                         (use Private, Public, ChatRoom or Community)"
                    )
                })?;
            out.insert(kind, keys);
        }
        Ok(GroupCustomFields(out))
    }
}

impl GroupCustomFields {
    /// The same keys for every importable group type.
    pub fn every_type<S: Into<String> + Clone>(keys: &[S]) -> GroupCustomFields {
        let keys: Vec<String> = keys.iter().cloned().map(Into::into).collect();
        GroupCustomFields(
            GroupType::IMPORTABLE
                .into_iter()
                .map(|t| (t, keys.clone()))
                .collect(),
        )
    }

    /// Whether `key` is enabled for groups of `kind`.
    pub fn enabled(&self, kind: GroupType, key: &str) -> bool {
        self.0
            .get(&kind)
            .is_some_and(|ks| ks.iter().any(|k| k == key))
    }
}

/// What the app's console has created: the runbook's (or the simulator's) `[app]` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConsoleSettings {
    /// The `<Key>`s of `Tag_Profile_Custom_<Key>`.
    pub profile_custom_tags: Vec<String>,
    /// The `<Key>`s of `Tag_SNS_Custom_<Key>`.
    pub friend_custom_tags: Vec<String>,
    /// Group custom fields per group type.
    pub group_custom_fields: GroupCustomFields,
}

/// A key the export uses that the console does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeclared {
    /// The key.
    pub key: CustomKey,
    /// Records using it (for a group key: only on the types that lack it).
    pub records: u64,
    /// For a group key: the types of the groups that use it without it being enabled.
    pub group_types: Vec<(GroupType, u64)>,
}

impl Undeclared {
    /// Where it is used: `17 profiles`, `4 groups (Public 3, Private 1)`.
    pub fn used_by(&self) -> String {
        let n = self.records;
        let plural = |one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        match &self.key {
            CustomKey::Profile(_) => plural("profile", "profiles"),
            CustomKey::Friend(_) => plural("friend entry", "friend entries"),
            CustomKey::Group(_) => {
                let types: Vec<String> = self
                    .group_types
                    .iter()
                    .map(|(t, c)| format!("{} {c}", t.tencent_name()))
                    .collect();
                format!("{} ({})", plural("group", "groups"), types.join(", "))
            }
        }
    }

    /// What to do about it, in one sentence.
    pub fn advice(&self) -> String {
        let name = self.key.name();
        let types: Vec<GroupType> = self.group_types.iter().map(|(t, _)| *t).collect();
        let create = match &self.key {
            CustomKey::Group(k) => format!(
                "enable the group custom field {k} for {} groups in the console ({})",
                list(&types.iter().map(|t| t.tencent_name()).collect::<Vec<_>>()),
                self.key.console_page()
            ),
            _ => format!("create {name} in the console ({})", self.key.console_page()),
        };
        format!(
            "{create} and declare it in [app] ({}), or drop it: \
             `[import] drop_custom = [\"{name}\"]`",
            self.key.app_line(&types)
        )
    }
}

/// `A`, `A and B`, `A, B and C`.
fn list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Per custom key, how many valid records use it; group keys per group type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyInventory {
    /// Profiles per `Tag_Profile_Custom_<Key>` key.
    pub profile: BTreeMap<String, u64>,
    /// Friend entries per `Tag_SNS_Custom_<Key>` key.
    pub friend: BTreeMap<String, u64>,
    /// Groups per (group type, key).
    pub group: BTreeMap<(GroupType, String), u64>,
}

/// Adds one to `key`'s count, allocating only the first time the key is seen.
fn bump(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

impl KeyInventory {
    /// Counts the keys of a profile.
    pub fn profile(&mut self, p: &Profile) {
        for key in p.custom.keys() {
            bump(&mut self.profile, key);
        }
    }

    /// Counts the keys of a friend entry.
    pub fn friend(&mut self, f: &Friend) {
        for key in f.custom.keys() {
            bump(&mut self.friend, key);
        }
    }

    /// Counts the keys of a group.
    pub fn group(&mut self, g: &Group) {
        for key in g.custom.keys() {
            // Few groups have custom data: the tuple key's allocation stays off the hot path.
            *self.group.entry((g.kind, key.clone())).or_default() += 1;
        }
    }

    /// Adds `count` records using `key` (for a group key, on groups of `kind`).
    pub fn add(&mut self, key: CustomKey, kind: Option<GroupType>, count: u64) {
        match (key, kind) {
            (CustomKey::Profile(k), _) => *self.profile.entry(k).or_default() += count,
            (CustomKey::Friend(k), _) => *self.friend.entry(k).or_default() += count,
            (CustomKey::Group(k), kind) => {
                let kind = kind.unwrap_or(GroupType::Public);
                *self.group.entry((kind, k)).or_default() += count;
            }
        }
    }

    /// Every (key, group type for a group key, records), in name order per kind.
    pub fn rows(&self) -> Vec<(CustomKey, Option<GroupType>, u64)> {
        let profile = self
            .profile
            .iter()
            .map(|(k, n)| (CustomKey::Profile(k.clone()), None, *n));
        let friend = self
            .friend
            .iter()
            .map(|(k, n)| (CustomKey::Friend(k.clone()), None, *n));
        let mut group: Vec<_> = self
            .group
            .iter()
            .map(|((t, k), n)| (CustomKey::Group(k.clone()), Some(*t), *n))
            .collect();
        group.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        profile.chain(friend).chain(group).collect()
    }

    /// True when no record uses a custom key.
    pub fn is_empty(&self) -> bool {
        self.profile.is_empty() && self.friend.is_empty() && self.group.is_empty()
    }

    /// The keys `console` does not have and `drop` does not drop, with their records.
    pub fn undeclared(&self, console: &ConsoleSettings, drop: &DropCustom) -> Vec<Undeclared> {
        let mut out = Vec::new();
        let lone = |key: CustomKey, records: u64| Undeclared {
            key,
            records,
            group_types: Vec::new(),
        };
        for (k, n) in &self.profile {
            let key = CustomKey::Profile(k.clone());
            if !console.profile_custom_tags.contains(k) && !drop.drops(&key) {
                out.push(lone(key, *n));
            }
        }
        for (k, n) in &self.friend {
            let key = CustomKey::Friend(k.clone());
            if !console.friend_custom_tags.contains(k) && !drop.drops(&key) {
                out.push(lone(key, *n));
            }
        }
        let mut groups: BTreeMap<&str, Vec<(GroupType, u64)>> = BTreeMap::new();
        for ((t, k), n) in &self.group {
            let key = CustomKey::Group(k.clone());
            if !console.group_custom_fields.enabled(*t, k) && !drop.drops(&key) {
                groups.entry(k).or_default().push((*t, *n));
            }
        }
        for (k, group_types) in groups {
            out.push(Undeclared {
                key: CustomKey::Group(k.to_string()),
                records: group_types.iter().map(|(_, n)| n).sum(),
                group_types,
            });
        }
        out
    }
}

/// `[import] drop_custom`: custom keys left out of every request the import builds (the rest
/// of each record goes as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DropCustom(pub BTreeSet<CustomKey>);

impl DropCustom {
    /// Whether `key` is dropped.
    pub fn drops(&self, key: &CustomKey) -> bool {
        self.0.contains(key)
    }

    /// True when nothing is dropped.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(CustomKey::name).collect()
    }

    /// Removes the dropped keys from a profile.
    pub fn strip_profile(&self, p: &mut Profile) {
        if !self.is_empty() {
            p.custom
                .retain(|k, _| !self.drops(&CustomKey::Profile(k.clone())));
        }
    }

    /// Removes the dropped keys from a friend entry.
    pub fn strip_friend(&self, f: &mut Friend) {
        if !self.is_empty() {
            f.custom
                .retain(|k, _| !self.drops(&CustomKey::Friend(k.clone())));
        }
    }

    /// Removes the dropped keys from a group.
    pub fn strip_group(&self, g: &mut Group) {
        if !self.is_empty() {
            g.custom
                .retain(|k, _| !self.drops(&CustomKey::Group(k.clone())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for name in [
            "Tag_Profile_Custom_Hobby",
            "Tag_SNS_Custom_Close",
            "group:Category",
        ] {
            assert_eq!(CustomKey::parse(name).unwrap().name(), name);
        }
        assert!(CustomKey::parse("Hobby")
            .unwrap_err()
            .contains("not a custom key"));
        assert!(CustomKey::parse("group:").is_err());
    }

    #[test]
    fn group_fields_are_per_tencent_type() {
        let map: BTreeMap<String, Vec<String>> =
            [("Public".to_string(), vec!["Category".to_string()])].into();
        let fields = GroupCustomFields::try_from(map).unwrap();
        assert!(fields.enabled(GroupType::Public, "Category"));
        assert!(!fields.enabled(GroupType::Private, "Category"));
        let bad: BTreeMap<String, Vec<String>> = [("public".to_string(), vec![])].into();
        assert!(GroupCustomFields::try_from(bad)
            .unwrap_err()
            .contains("ChatRoom"));
    }

    #[test]
    fn undeclared_keys_are_those_neither_declared_nor_dropped() {
        let mut inv = KeyInventory::default();
        inv.add(CustomKey::Profile("Hobby".into()), None, 17);
        inv.add(CustomKey::Friend("Close".into()), None, 52);
        inv.add(
            CustomKey::Group("Category".into()),
            Some(GroupType::Public),
            3,
        );
        inv.add(
            CustomKey::Group("Category".into()),
            Some(GroupType::Private),
            1,
        );
        let console = ConsoleSettings {
            profile_custom_tags: vec!["Hobby".into()],
            group_custom_fields: GroupCustomFields(
                [(GroupType::Public, vec!["Category".to_string()])].into(),
            ),
            ..ConsoleSettings::default()
        };
        let got = inv.undeclared(&console, &DropCustom::default());
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].key.name(), "Tag_SNS_Custom_Close");
        assert_eq!(got[0].used_by(), "52 friend entries");
        assert!(
            got[0].advice().contains("Friend custom fields"),
            "{}",
            got[0].advice()
        );
        assert!(got[0]
            .advice()
            .contains("drop_custom = [\"Tag_SNS_Custom_Close\"]"));
        assert_eq!(got[1].used_by(), "1 group (Private 1)");
        assert!(got[1]
            .advice()
            .contains("field Category for Private groups"));
        assert_eq!(
            list(&["Private", "Public", "Community"]),
            "Private, Public and Community"
        );
        let drop = DropCustom([CustomKey::Friend("Close".into())].into());
        assert_eq!(inv.undeclared(&console, &drop).len(), 1);
    }
}
