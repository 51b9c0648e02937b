//! What the loader needs of each line the validator judged, owned, so that the validation runs
//! on a thread of its own and hands its lines to the staging thread over a bounded channel:
//! the two halves of staging (reading and judging the export; writing the store) run on the
//! two cores at once.

use crate::model::media::{MediaElem, MediaRef};
use crate::model::ExportRecord;
use crate::source::{Loc, Problem, Valid};
use crate::store::{pair_key, Kind};

/// One judged line, in the validator's order.
pub(super) enum Judged {
    /// A problem of a line.
    Problem(Problem),
    /// A valid record or tombstone.
    Item(Item),
    /// The validator's memory failed here: its judgement of the lines after is void.
    MemoryFailed(rusqlite::Error),
}

/// A valid record or tombstone: its file's kind, where it is, its natural key, the accounts
/// and the group it refers to, its time and the media URLs of a message.
pub(super) struct Item {
    pub(crate) loc: Loc,
    /// The kind of the record's file.
    pub(crate) kind: Kind,
    /// A tombstone of a record of `kind`.
    pub(crate) deleted: bool,
    /// The natural key (`pair_key` for friends and members; the deleted key of a tombstone).
    pub(crate) key: String,
    /// The accounts it refers to, in the order the loader places them (see
    /// `Loader::placement`).
    pub(crate) accounts: [Option<String>; 2],
    /// The group of a member or a group message.
    pub(crate) group: Option<String>,
    /// A message's send time, a group's creation time; 0 for the other kinds.
    pub(crate) t: i64,
    /// A message's media URLs.
    pub(crate) media: Vec<(MediaElem, String, Option<u64>)>,
}

impl Item {
    /// The owned parts of `record` at `loc`.
    pub(crate) fn of(loc: Loc, record: Valid<'_>) -> Self {
        let mut item = Self {
            loc,
            kind: kind_of(record),
            deleted: false,
            key: String::new(),
            accounts: [None, None],
            group: None,
            t: 0,
            media: Vec::new(),
        };
        let media = |refs: Vec<MediaRef<'_>>| {
            refs.into_iter()
                .map(|r| (r.elem, r.url.to_string(), r.size_hint))
                .collect()
        };
        match record {
            Valid::Account(a) => item.key = a.id.clone(),
            Valid::Profile(p) => {
                item.key = p.id.clone();
                item.accounts[0] = Some(p.id.clone());
            }
            Valid::Friend(f) => {
                item.key = pair_key(&f.owner, &f.friend);
                item.accounts = [Some(f.owner.clone()), Some(f.friend.clone())];
            }
            Valid::C2cMessage(m) => {
                item.key = m.id.clone();
                item.accounts = [Some(m.from.clone()), Some(m.to.clone())];
                item.t = m.sent_at;
                item.media = media(m.media());
            }
            Valid::Group(g) => {
                item.key = g.id.clone();
                item.accounts[0] = g.owner.clone();
                item.t = g.created_at;
            }
            Valid::GroupMember(m) => {
                item.key = pair_key(&m.group, &m.member);
                item.accounts[0] = Some(m.member.clone());
                item.group = Some(m.group.clone());
            }
            Valid::GroupMessage(m) => {
                item.key = m.id.clone();
                item.accounts[0] = Some(m.from.clone());
                item.group = Some(m.group.clone());
                item.t = m.sent_at;
                item.media = media(m.media());
            }
            Valid::Deleted(_, tombstone) => {
                item.deleted = true;
                item.key = match tombstone.second() {
                    Some(second) => pair_key(tombstone.first(), second),
                    None => tombstone.first().to_string(),
                };
            }
        }
        item
    }

    /// The message's media references.
    pub(crate) fn media_refs(&self) -> Vec<MediaRef<'_>> {
        self.media
            .iter()
            .map(|(elem, url, size_hint)| MediaRef {
                elem: *elem,
                url,
                size_hint: *size_hint,
            })
            .collect()
    }
}

/// The kind of a valid record.
fn kind_of(record: Valid<'_>) -> Kind {
    match record {
        Valid::Account(_) => Kind::Account,
        Valid::Profile(_) => Kind::Profile,
        Valid::Friend(_) => Kind::Friend,
        Valid::C2cMessage(_) => Kind::C2cMessage,
        Valid::Group(_) => Kind::Group,
        Valid::GroupMember(_) => Kind::GroupMember,
        Valid::GroupMessage(_) => Kind::GroupMessage,
        Valid::Deleted(file, _) => Kind::RECORDS
            .into_iter()
            .find(|k| k.file() == file)
            .unwrap_or(Kind::Account),
    }
}
