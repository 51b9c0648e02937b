//! One line of an export file → a typed record, applying every rule that needs only that line.
//!
//! Rules that need other records (duplicates, references, group times, owners) are applied by
//! the validator in `source::validate`.

use super::element::Element;
use super::fields::{is_letters_key, json_kind, Fields};
use super::limits::*;
use super::problem::{FieldProblem, Rule};
use super::records::*;
use super::tombstone::{self, Deleted, Tombstone};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The outcome of parsing one line.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// How reports name the record (its id, `owner→friend`, `group/member`), or `-`.
    pub(crate) label: String,
    /// The record's identity for duplicate and reference checks, when it could be read even
    /// if the record is otherwise bad: the id, or the two ids joined by a NUL byte.
    pub(crate) key: Option<String>,
    /// The record, present exactly when `problems` is empty and the line is not a tombstone.
    pub record: Option<T>,
    /// The line is a tombstone (`"deleted": true`) whose key could be read: the deleted key
    /// (usable exactly when `problems` is empty).
    pub tombstone: Option<Tombstone>,
    /// Everything wrong with the line.
    pub problems: Vec<FieldProblem>,
    /// Fields the format does not know (a note, never an error).
    pub(crate) unknown_fields: Vec<String>,
}

/// A record type of the export, parsed from one JSON object.
pub trait ExportRecord: Sized {
    /// Reads the identity of a record before its fields are checked: (label, key).
    fn identity(map: &Map<String, Value>) -> (String, Option<String>);
    /// Takes the fields, recording problems; `None` when a required piece is unusable.
    fn from_fields(f: &mut Fields<'_>) -> Option<Self>;
    /// The key fields a tombstone of this kind carries (name, most bytes); none when the kind
    /// has no tombstone.
    const KEY_FIELDS: &'static [(&'static str, usize)];
    /// Leaves out the custom keys `drop` names (`[import] drop_custom`); most kinds have none.
    fn drop_custom(&mut self, _drop: &super::console::DropCustom) {}
    /// The media URLs of its message body (none for the kinds without one).
    fn media(&self) -> Vec<super::media::MediaRef<'_>> {
        Vec::new()
    }
    /// Rewrites the media URLs of its message body by `fate` (see
    /// [`super::media::MediaFate`]).
    fn rewrite_media(
        &mut self,
        _fate: &mut dyn FnMut(super::media::MediaElem, &str) -> super::media::MediaFate,
    ) {
    }
}

/// Parses one line (without its `\n`) as a record of type `T`.
///
/// ```
/// use cutover::model::{parse_line, Account, Rule};
/// let ok = parse_line::<Account>(r#"{"id": "u1", "nick": "阿丽"}"#.as_bytes());
/// assert_eq!(ok.record.unwrap().nick.as_deref(), Some("阿丽"));
/// let bad = parse_line::<Account>(br#"{"id": 7}"#);
/// assert_eq!(bad.problems[0].rule, Rule::WrongType);
/// assert_eq!(bad.problems[0].field, "id");
/// ```
pub fn parse_line<T: ExportRecord>(line: &[u8]) -> Parsed<T> {
    let mut map = match decode_object(line) {
        Ok(m) => m,
        Err(problem) => {
            return Parsed {
                label: "-".into(),
                key: None,
                record: None,
                tombstone: None,
                problems: vec![problem],
                unknown_fields: Vec::new(),
            }
        }
    };
    let deleted = tombstone::deleted(&mut map);
    let (label, key) = T::identity(&map);
    let mut problems = Vec::new();
    let mut fields = Fields::new(map, "", &mut problems);
    let (record, tombstone, unknown_fields) = match deleted {
        // The rest of a tombstone's line is the deleted row's, of no use: not a note either.
        Deleted::Yes => (
            None,
            tombstone::read(&mut fields, T::KEY_FIELDS),
            Vec::new(),
        ),
        Deleted::No | Deleted::Bad(_) => {
            let record = T::from_fields(&mut fields);
            (record, None, fields.unknown())
        }
    };
    if let Deleted::Bad(problem) = deleted {
        problems.push(problem);
    }
    let clean = problems.is_empty();
    Parsed {
        label,
        key,
        record: record.filter(|_| clean),
        tombstone,
        problems,
        unknown_fields,
    }
}

/// Decodes a line into a JSON object, or says why it is not one.
pub(crate) fn decode_object(line: &[u8]) -> Result<Map<String, Value>, FieldProblem> {
    let text = std::str::from_utf8(line).map_err(|e| {
        let at = e.valid_up_to();
        FieldProblem::new(
            Rule::InvalidUtf8,
            "",
            format!("not valid UTF-8 (byte {})", at + 1),
        )
    })?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(FieldProblem::new(
            Rule::InvalidJson,
            "",
            format!("expected a JSON object, got {}", json_kind(&other)),
        )),
        Err(e) => {
            // serde_json ends its message with "at line 1 column N"; within one line only the
            // column means anything to the reader.
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            let reason = format!("not valid JSON at column {}: {message}", e.column());
            Err(FieldProblem::new(Rule::InvalidJson, "", reason))
        }
    }
}

/// A value from the data made safe to print on a terminal, and not too long.
pub(crate) fn display_id(s: &str) -> String {
    const MAX_CHARS: usize = 48;
    let mut out: String = s
        .chars()
        .take(MAX_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if s.chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

fn str_field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    map.get(name).and_then(Value::as_str)
}

fn single_identity(map: &Map<String, Value>, name: &str) -> (String, Option<String>) {
    match str_field(map, name) {
        Some(id) => (display_id(id), Some(id.to_string())),
        None => ("-".into(), None),
    }
}

fn pair_identity(
    map: &Map<String, Value>,
    a: &str,
    b: &str,
    sep: &str,
) -> (String, Option<String>) {
    match (str_field(map, a), str_field(map, b)) {
        (Some(x), Some(y)) => (
            format!("{}{sep}{}", display_id(x), display_id(y)),
            Some(format!("{x}\0{y}")),
        ),
        (Some(x), None) => (format!("{}{sep}?", display_id(x)), None),
        (None, Some(y)) => (format!("?{sep}{}", display_id(y)), None),
        (None, None) => ("-".into(), None),
    }
}

fn account_id(f: &mut Fields<'_>, name: &str) -> Option<String> {
    f.req_str(name, 1, ACCOUNT_ID_MAX)
}

fn positive_time(f: &mut Fields<'_>, name: &str, required: bool) -> Option<i64> {
    let t = if required {
        f.req_int(name)
    } else {
        f.opt_int(name)
    }?;
    if t <= 0 {
        f.problem(
            Rule::InvalidValue,
            name,
            format!("{t} is not a positive unix time"),
        );
        return None;
    }
    Some(t)
}

fn is_valid_yyyymmdd(v: u32) -> bool {
    let (y, m, d) = (v / 10_000, (v / 100) % 100, v % 100);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1000..=9999).contains(&y) && (1..=days).contains(&d)
}

/// A string of `min..=max` bytes from a list or a map, or the problem with it.
fn bounded_string(v: Value, min: usize, max: usize) -> Result<String, (Rule, String)> {
    match v {
        Value::String(s) if (min..=max).contains(&s.len()) => Ok(s),
        Value::String(s) => Err((
            Rule::BadLength,
            format!("{} bytes, allowed {min}..={max}", s.len()),
        )),
        v => Err((
            Rule::WrongType,
            format!("expected a string, got {}", json_kind(&v)),
        )),
    }
}

/// A profile or friend custom key: English letters only.
fn tag_key(key: &str) -> Result<(), String> {
    if is_letters_key(key, CUSTOM_TAG_KEY_MAX) {
        Ok(())
    } else {
        Err(format!(
            "key must be 1..={CUSTOM_TAG_KEY_MAX} English letters"
        ))
    }
}

/// A group custom (AppDefinedData) key: `[A-Za-z0-9_]`.
fn group_key(key: &str) -> Result<(), String> {
    let ok = (1..=GROUP_CUSTOM_KEY_MAX).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key must be 1..={GROUP_CUSTOM_KEY_MAX} bytes of [A-Za-z0-9_]"
        ))
    }
}

/// The record's optional `custom` map: at most `max_keys` keys (any number without), each
/// key passing `key` and each value read by `value`; a bad key or value is a problem at
/// `custom.KEY` and is left out.
fn custom_map<V>(
    f: &mut Fields<'_>,
    max_keys: Option<usize>,
    key: fn(&str) -> Result<(), String>,
    value: impl Fn(Value) -> Result<V, (Rule, String)>,
) -> BTreeMap<String, V> {
    let map = f.opt_object("custom").unwrap_or_default();
    if let Some(max) = max_keys.filter(|max| map.len() > *max) {
        f.problem(
            Rule::InvalidValue,
            "custom",
            format!("{} keys, allowed {max}", map.len()),
        );
    }
    let mut custom = BTreeMap::new();
    for (k, v) in map {
        let path = format!("custom.{}", display_id(&k));
        match key(&k)
            .map_err(|why| (Rule::InvalidValue, why))
            .and_then(|()| value(v))
        {
            Ok(v) => {
                custom.insert(k, v);
            }
            Err((rule, why)) => f.problem(rule, &path, why),
        }
    }
    custom
}

impl ExportRecord for Account {
    const KEY_FIELDS: &'static [(&'static str, usize)] = &[("id", ACCOUNT_ID_MAX)];

    fn identity(map: &Map<String, Value>) -> (String, Option<String>) {
        single_identity(map, "id")
    }

    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let id = account_id(f, "id");
        let nick = f.opt_str("nick", 0, PROFILE_STRING_MAX);
        let avatar_url = f.opt_str("avatar_url", 0, PROFILE_STRING_MAX);
        let created_at = f.opt_int("created_at");
        Some(Account {
            id: id?,
            nick,
            avatar_url,
            created_at,
        })
    }
}

impl ExportRecord for Profile {
    fn drop_custom(&mut self, drop: &super::console::DropCustom) {
        drop.strip_profile(self);
    }

    const KEY_FIELDS: &'static [(&'static str, usize)] = &[];

    fn identity(map: &Map<String, Value>) -> (String, Option<String>) {
        single_identity(map, "id")
    }

    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let id = account_id(f, "id");
        let gender = f.opt_enum("gender");
        let birthday = f.opt_u32("birthday");
        if let Some(b) = birthday.filter(|b| !is_valid_yyyymmdd(*b)) {
            f.problem(
                Rule::InvalidValue,
                "birthday",
                format!("{b} is not a YYYYMMDD date"),
            );
        }
        let location = f.opt_str("location", 0, LOCATION_MAX);
        let signature = f.opt_str("signature", 0, PROFILE_STRING_MAX);
        let allow_friend = f.opt_enum("allow_friend");
        let language = f.opt_u32("language");
        let level = f.opt_u32("level");
        let role = f.opt_u32("role");
        let custom = custom_map(f, None, tag_key, |v| {
            bounded_string(v, 0, PROFILE_STRING_MAX)
        });
        Some(Profile {
            id: id?,
            gender,
            birthday,
            location,
            signature,
            allow_friend,
            language,
            level,
            role,
            custom,
        })
    }
}

impl ExportRecord for Friend {
    fn drop_custom(&mut self, drop: &super::console::DropCustom) {
        drop.strip_friend(self);
    }

    const KEY_FIELDS: &'static [(&'static str, usize)] =
        &[("owner", ACCOUNT_ID_MAX), ("friend", ACCOUNT_ID_MAX)];

    fn identity(map: &Map<String, Value>) -> (String, Option<String>) {
        pair_identity(map, "owner", "friend", "→")
    }

    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let owner = account_id(f, "owner");
        let friend = account_id(f, "friend");
        if owner.is_some() && owner == friend {
            f.problem(Rule::FriendToSelf, "friend", "a friend entry to oneself");
        }
        let remark = f.opt_str("remark", 0, REMARK_MAX);
        let mut groups = Vec::new();
        for (i, v) in f
            .opt_array("groups")
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            match bounded_string(v, 1, FRIEND_GROUP_NAME_MAX) {
                Ok(s) => groups.push(s),
                Err((rule, why)) => f.problem(rule, &format!("groups[{i}]"), why),
            }
        }
        let distinct: BTreeSet<&String> = groups.iter().collect();
        if distinct.len() > FRIEND_GROUPS_PER_OWNER_MAX {
            let why = format!(
                "{} distinct friend groups, allowed {FRIEND_GROUPS_PER_OWNER_MAX}",
                distinct.len()
            );
            f.problem(Rule::TooManyFriendGroups, "groups", why);
        }
        let source = f.req_str("source", 1, ADD_SOURCE_MAX);
        if let Some(s) = source
            .as_deref()
            .filter(|s| !is_letters_key(s, ADD_SOURCE_MAX))
        {
            let why = format!("{:?}: English letters only", display_id(s));
            f.problem(Rule::InvalidValue, "source", why);
        }
        let wording = f.opt_str("wording", 0, WORDING_MAX);
        let added_at = f.opt_int("added_at");
        let custom = custom_map(f, None, tag_key, |v| match v {
            Value::String(s) => Ok(CustomValue::Text(s)),
            Value::Number(n) if n.is_i64() => Ok(CustomValue::Int(n.as_i64().unwrap_or_default())),
            v => {
                let why = format!("expected a string or an integer, got {}", json_kind(&v));
                Err((Rule::WrongType, why))
            }
        });
        Some(Friend {
            owner: owner?,
            friend: friend?,
            remark,
            groups,
            source: source?,
            wording,
            added_at,
            custom,
        })
    }
}

/// Reads `body` and `custom_data` of a message and checks the encoded size.
fn message_body(f: &mut Fields<'_>) -> (Option<Vec<Element>>, Option<String>) {
    let body = f.req_array("body").and_then(|elems| {
        if elems.is_empty() {
            f.problem(
                Rule::EmptyBody,
                "body",
                "a message needs at least one element",
            );
            return None;
        }
        super::parse_element::elements(f, elems)
    });
    let custom_data = f.opt_str("custom_data", 0, usize::MAX);
    if let Some(body) = &body {
        let size = super::element::encoded_size(body, custom_data.as_deref());
        if size > MESSAGE_ENCODED_MAX {
            let why =
                format!("{size} bytes once encoded for Tencent, allowed {MESSAGE_ENCODED_MAX}");
            f.problem(Rule::BodyTooLarge, "body", why);
        }
    }
    (body, custom_data)
}

impl ExportRecord for C2cMessage {
    fn media(&self) -> Vec<super::media::MediaRef<'_>> {
        super::media::media_refs(&self.body)
    }

    fn rewrite_media(
        &mut self,
        fate: &mut dyn FnMut(super::media::MediaElem, &str) -> super::media::MediaFate,
    ) {
        super::media::rewrite_media(&mut self.body, fate);
    }

    const KEY_FIELDS: &'static [(&'static str, usize)] = &[("id", OTHER_ID_MAX)];

    fn identity(map: &Map<String, Value>) -> (String, Option<String>) {
        single_identity(map, "id")
    }

    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let id = f.req_str("id", 1, OTHER_ID_MAX);
        let from = account_id(f, "from");
        let to = account_id(f, "to");
        let sent_at = positive_time(f, "sent_at", true);
        let seq = f.opt_u32("seq");
        let random = f.opt_u32("random");
        let (body, custom_data) = message_body(f);
        Some(C2cMessage {
            id: id?,
            from: from?,
            to: to?,
            sent_at: sent_at?,
            seq,
            random,
            body: body?,
            custom_data,
        })
    }
}

impl ExportRecord for Group {
    fn drop_custom(&mut self, drop: &super::console::DropCustom) {
        drop.strip_group(self);
    }

    const KEY_FIELDS: &'static [(&'static str, usize)] = &[("id", OTHER_ID_MAX)];

    fn identity(map: &Map<String, Value>) -> (String, Option<String>) {
        single_identity(map, "id")
    }

    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let id = f.req_str("id", 1, OTHER_ID_MAX);
        let kind = f.req_enum::<GroupType>("type");
        if kind == Some(GroupType::Avchatroom) {
            let why = "avchatroom groups cannot be imported into Tencent IM";
            f.problem(Rule::Avchatroom, "type", why);
        }
        let name = f.req_str("name", 1, GROUP_NAME_MAX);
        let owner = f.opt_str("owner", 1, ACCOUNT_ID_MAX);
        let introduction = f.opt_str("introduction", 0, GROUP_INTRODUCTION_MAX);
        let notification = f.opt_str("notification", 0, GROUP_NOTIFICATION_MAX);
        let avatar_url = f.opt_str("avatar_url", 0, GROUP_AVATAR_MAX);
        let max_members = f.opt_u32("max_members");
        if max_members == Some(0) {
            f.problem(Rule::InvalidValue, "max_members", "must be at least 1");
        }
        let join_option = f.opt_enum::<JoinOption>("join_option");
        let created_at = positive_time(f, "created_at", true);
        let custom = custom_map(f, Some(GROUP_CUSTOM_KEYS_MAX), group_key, |v| {
            bounded_string(v, 0, GROUP_CUSTOM_VALUE_MAX)
        });
        Some(Group {
            id: id?,
            kind: kind?,
            name: name?,
            owner,
            introduction,
            notification,
            avatar_url,
            max_members,
            join_option,
            created_at: created_at?,
            custom,
        })
    }
}

impl ExportRecord for GroupMember {
    const KEY_FIELDS: &'static [(&'static str, usize)] =
        &[("group", OTHER_ID_MAX), ("member", ACCOUNT_ID_MAX)];

    fn identity(map: &Map<String, Value>) -> (String, Option<String>) {
        pair_identity(map, "group", "member", "/")
    }

    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let group = f.req_str("group", 1, OTHER_ID_MAX);
        let member = account_id(f, "member");
        let role = f.opt_enum::<MemberRole>("role");
        let joined_at = positive_time(f, "joined_at", false);
        let unread = f.opt_u32("unread");
        Some(GroupMember {
            group: group?,
            member: member?,
            role,
            joined_at,
            unread,
        })
    }
}

impl ExportRecord for GroupMessage {
    fn media(&self) -> Vec<super::media::MediaRef<'_>> {
        super::media::media_refs(&self.body)
    }

    fn rewrite_media(
        &mut self,
        fate: &mut dyn FnMut(super::media::MediaElem, &str) -> super::media::MediaFate,
    ) {
        super::media::rewrite_media(&mut self.body, fate);
    }

    const KEY_FIELDS: &'static [(&'static str, usize)] = &[("id", OTHER_ID_MAX)];

    fn identity(map: &Map<String, Value>) -> (String, Option<String>) {
        single_identity(map, "id")
    }

    fn from_fields(f: &mut Fields<'_>) -> Option<Self> {
        let id = f.req_str("id", 1, OTHER_ID_MAX);
        let group = f.req_str("group", 1, OTHER_ID_MAX);
        let from = account_id(f, "from");
        let sent_at = positive_time(f, "sent_at", true);
        let random = f.opt_u32("random");
        let (body, custom_data) = message_body(f);
        Some(GroupMessage {
            id: id?,
            group: group?,
            from: from?,
            sent_at: sent_at?,
            random,
            body: body?,
            custom_data,
        })
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
