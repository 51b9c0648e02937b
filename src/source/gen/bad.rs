//! Deliberately bad records for `--bad-ratio`: each breaks one rule of the export format.
//!
//! Accounts and groups are referred to by other files, so their bad lines are added after the
//! good record (duplicates, or records with fresh ids) instead of replacing it: one bad account
//! does not turn into thousands of dangling references. Records of the other files are
//! replaced. Decisions come from their own random stream, so the good records are the same
//! whatever the ratio.

use super::write::RecordWriter;
use super::GenError;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// One way to break a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mutation {
    /// The id (or the pair) of an earlier record.
    DuplicateId,
    /// An id over its byte limit.
    LongId,
    /// A value outside its enumeration (or an unknown element type).
    UnknownEnum,
    /// A reference to an account or group that does not exist.
    Dangling,
    /// A friend entry to oneself.
    FriendToSelf,
    /// A message with no elements.
    EmptyBody,
    /// A member who joined before the group was created.
    JoinedBeforeGroup,
    /// A group message sent before the group was created.
    SentBeforeGroup,
    /// A line that is not JSON.
    InvalidJson,
    /// An `avchatroom` group.
    Avchatroom,
    /// A field of the wrong JSON type.
    WrongType,
}

/// The file a record belongs to, for the mutations that suit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// accounts.jsonl (bad lines are added)
    Account,
    /// profiles.jsonl
    Profile,
    /// friends.jsonl
    Friend,
    /// c2c_messages.jsonl
    C2c,
    /// groups.jsonl (bad lines are added)
    Group,
    /// group_members.jsonl
    Member,
    /// group_messages.jsonl
    GroupMessage,
}

use Mutation::*;

impl Target {
    fn mutations(self) -> &'static [Mutation] {
        match self {
            Target::Account => &[DuplicateId, LongId, WrongType, InvalidJson],
            Target::Profile => &[DuplicateId, UnknownEnum, Dangling, WrongType, InvalidJson],
            Target::Friend => &[DuplicateId, Dangling, FriendToSelf, WrongType, InvalidJson],
            Target::C2c => &[
                DuplicateId,
                LongId,
                UnknownEnum,
                Dangling,
                EmptyBody,
                WrongType,
                InvalidJson,
            ],
            Target::Group => &[
                DuplicateId,
                LongId,
                UnknownEnum,
                Dangling,
                Avchatroom,
                WrongType,
                InvalidJson,
            ],
            Target::Member => &[
                DuplicateId,
                UnknownEnum,
                Dangling,
                JoinedBeforeGroup,
                WrongType,
                InvalidJson,
            ],
            Target::GroupMessage => &[
                DuplicateId,
                LongId,
                Dangling,
                EmptyBody,
                SentBeforeGroup,
                WrongType,
                InvalidJson,
            ],
        }
    }
}

/// What a mutation may need to know besides the record itself.
#[derive(Debug, Default)]
pub(crate) struct BadCtx<'a> {
    /// The key of the previous good record of the file: an id, or (owner, friend) /
    /// (group, member) for pair records.
    pub(crate) prev: Option<(&'a str, &'a str)>,
    /// The group's creation time, for member and group message records.
    pub(crate) group_created_at: Option<i64>,
}

/// Decides which records go bad, and how.
pub(crate) struct Spoiler {
    rng: ChaCha8Rng,
    ratio: f64,
    target: Target,
}

impl Spoiler {
    /// A spoiler for `target` with its own random stream.
    pub(crate) fn new(rng: ChaCha8Rng, ratio: f64, target: Target) -> Self {
        Self { rng, ratio, target }
    }

    /// With probability `ratio`, the mutation to apply to the next record.
    pub(crate) fn roll(&mut self) -> Option<Mutation> {
        if self.ratio <= 0.0 || !self.rng.gen_bool(self.ratio.min(1.0)) {
            return None;
        }
        let kinds = self.target.mutations();
        Some(kinds[self.rng.gen_range(0..kinds.len())])
    }

    /// The bad line (without `\n`) that `mutation` makes of `rec`.
    pub(crate) fn spoil<T: Serialize>(
        &mut self,
        rec: &T,
        mutation: Mutation,
        ctx: &BadCtx<'_>,
    ) -> Result<Vec<u8>, GenError> {
        let mut line = serde_json::to_vec(rec)?;
        if mutation == InvalidJson {
            // Cut the record short, on a character boundary (still UTF-8): an unterminated
            // object.
            let mut cut = line.len() * 2 / 3;
            while cut > 0 && line[cut] & 0xC0 == 0x80 {
                cut -= 1;
            }
            line.truncate(cut);
            return Ok(line);
        }
        let mut value: Value = serde_json::from_slice(&line)?;
        let map = value
            .as_object_mut()
            .ok_or_else(|| GenError::Settings("a record serializes as an object".into()))?;
        self.apply(map, mutation, ctx);
        Ok(serde_json::to_vec(&value)?)
    }

    /// Breaks record `m` the way `mutation` says. One arm per (mutation, target): the table
    /// is longer than a function should be, but it reads best whole.
    fn apply(&mut self, m: &mut Map<String, Value>, mutation: Mutation, ctx: &BadCtx<'_>) {
        let t = self.target;
        let text = |m: &Map<String, Value>, k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let id = text(m, "id");
        // Added bad lines of accounts and groups get a fresh id unless the point is a clash.
        if matches!(t, Target::Account | Target::Group) && mutation != DuplicateId {
            m.insert("id".into(), json!(format!("{id}x")));
        }
        let earlier = self.rng.gen_range(1..=1000);
        match (mutation, t) {
            (DuplicateId, Target::Account | Target::Group) => {}
            (DuplicateId, Target::Friend) => self.set_pair(m, ctx, "owner", "friend"),
            (DuplicateId, Target::Member) => self.set_pair(m, ctx, "group", "member"),
            (DuplicateId, _) => {
                let prev = ctx.prev.map_or_else(|| id.clone(), |(a, _)| a.to_string());
                m.insert("id".into(), json!(prev));
            }
            (LongId, Target::Account) => {
                m.insert("id".into(), json!(format!("{id}_{}", "x".repeat(40))));
            }
            (LongId, _) => {
                m.insert("id".into(), json!(format!("{id}_{}", "x".repeat(300))));
            }
            (UnknownEnum, Target::Profile) => {
                m.insert("gender".into(), json!("robot"));
            }
            (UnknownEnum, Target::Group) => {
                m.insert("join_option".into(), json!("sometimes"));
            }
            (UnknownEnum, Target::Member) => {
                m.insert("role".into(), json!("moderator"));
            }
            (UnknownEnum, _) => {
                let sticker = json!({"type": "sticker"});
                if let Some(Value::Array(body)) = m.get_mut("body") {
                    body.insert(0, sticker);
                }
            }
            (Dangling, Target::Profile) => {
                m.insert("id".into(), json!(format!("ghost{id}")));
            }
            (Dangling, Target::Friend) => {
                let friend = text(m, "friend");
                m.insert("friend".into(), json!(format!("ghost{friend}")));
            }
            (Dangling, Target::C2c) => {
                let to = text(m, "to");
                m.insert("to".into(), json!(format!("ghost{to}")));
            }
            (Dangling, Target::Group) => {
                let owner = text(m, "owner");
                m.insert("owner".into(), json!(format!("ghost{owner}")));
            }
            (Dangling, _) => {
                let group = text(m, "group");
                m.insert("group".into(), json!(format!("ghost{group}")));
            }
            (FriendToSelf, _) => {
                let owner = text(m, "owner");
                m.insert("friend".into(), json!(owner));
            }
            (EmptyBody, _) => {
                m.insert("body".into(), json!([]));
            }
            (JoinedBeforeGroup, _) => {
                let created = ctx.group_created_at.unwrap_or(earlier + 1);
                m.insert("joined_at".into(), json!((created - earlier).max(1)));
            }
            (SentBeforeGroup, _) => {
                let created = ctx.group_created_at.unwrap_or(earlier + 1);
                m.insert("sent_at".into(), json!((created - earlier).max(1)));
            }
            (Avchatroom, _) => {
                m.insert("type".into(), json!("avchatroom"));
            }
            (WrongType, _) => {
                let (field, value) = match t {
                    Target::Account => ("created_at", json!("2021-03-04")),
                    Target::Profile => ("birthday", json!("1990-02-14")),
                    Target::Friend => ("groups", json!("Work")),
                    Target::C2c => ("sent_at", json!("1700000000")),
                    Target::Group => ("max_members", json!("many")),
                    Target::Member => ("unread", json!("3")),
                    Target::GroupMessage => ("from", json!(10_001)),
                };
                m.insert(field.into(), value);
            }
            (InvalidJson, _) => {}
        }
    }

    fn set_pair(&mut self, m: &mut Map<String, Value>, ctx: &BadCtx<'_>, a: &str, b: &str) {
        if let Some((x, y)) = ctx.prev {
            m.insert(a.into(), json!(x));
            m.insert(b.into(), json!(y));
        } else if a == "owner" {
            // No earlier entry to repeat: break the pair another way.
            let owner = m.get(a).cloned().unwrap_or(Value::Null);
            m.insert(b.into(), owner);
        } else {
            m.insert(a.into(), json!("ghost"));
        }
    }
}

impl Spoiler {
    /// Writes a record keyed by one id: intact when `protect` (the first messages carry every
    /// element type), otherwise perhaps spoiled. Keeps the id of the last good record in
    /// `prev`, for the duplicate-id mutation.
    pub(crate) fn write_keyed<T: Serialize>(
        &mut self,
        out: &mut RecordWriter,
        rec: &T,
        id: &str,
        prev: &mut Option<String>,
        protect: bool,
        group_created_at: Option<i64>,
    ) -> Result<(), GenError> {
        let written = if protect {
            out.record(rec)?;
            true
        } else {
            let ctx = BadCtx {
                prev: prev.as_deref().map(|p| (p, "")),
                group_created_at,
            };
            self.replace(out, rec, &ctx)?
        };
        if written {
            *prev = Some(id.to_string());
        }
        Ok(())
    }

    /// Writes `rec`, or (with probability `ratio`) a bad line made of it in its place.
    /// Returns whether the good record was written.
    pub(crate) fn replace<T: Serialize>(
        &mut self,
        out: &mut RecordWriter,
        rec: &T,
        ctx: &BadCtx<'_>,
    ) -> Result<bool, GenError> {
        match self.roll() {
            None => {
                out.record(rec)?;
                Ok(true)
            }
            Some(m) => {
                let line = self.spoil(rec, m, ctx)?;
                out.bad_line(&line)?;
                Ok(false)
            }
        }
    }

    /// Writes `rec`, then (with probability `ratio`) a bad line made of it.
    pub(crate) fn append<T: Serialize>(
        &mut self,
        out: &mut RecordWriter,
        rec: &T,
    ) -> Result<(), GenError> {
        out.record(rec)?;
        if let Some(m) = self.roll() {
            let line = self.spoil(rec, m, &BadCtx::default())?;
            out.bad_line(&line)?;
        }
        Ok(())
    }
}
