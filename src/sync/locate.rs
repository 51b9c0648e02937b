//! Finding a recalled message on the other side: what the target knows a message by (its
//! `MsgKey`, or its group and `MsgSeq`) when the old system names it by its id, and the old id
//! when the target names it by its key.
//!
//! Three kinds of messages are known: those the relay wrote (remembered with the target's
//! answer in `sync_message`), those the import brought (their items: a one-to-one message's
//! `MsgKey` is rebuilt from its export record and staged MsgSeq as the import sent it, a group
//! message's `MsgSeq` is the one `import_group_msg` answered), and those born on Tencent's
//! side, which the relay delivered under ids that carry their key (`tim-c2c-{MsgKey}`,
//! `tim-gmsg-{GroupId}-{MsgSeq}`; a one-to-one message's sender and receiver are in the
//! event delivered).

use super::convert::{group_id_for, MessageRef, TargetMsg};
use crate::model::group_id::target_group_id;
use crate::model::sync_event::SyncEvent;
use crate::model::{C2cMessage, Group};
use crate::store::records::Sources;
use crate::store::sync_msgs::{
    delivered_body, imported_c2c_at, imported_group_msg, sent_by_old, sent_by_target, staged_item,
    StagedItem,
};
use crate::store::{open_for_reading, queries, ItemState, Kind};
use crate::tim::requests::import_msg;
use rusqlite::Connection;
use std::path::PathBuf;

/// The id prefix of a one-to-one message born on Tencent's side.
const TIM_C2C: &str = "tim-c2c-";
/// The id prefix of a group message born on Tencent's side.
const TIM_GROUP_MSG: &str = "tim-gmsg-";

/// Where a message a recall names is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Located {
    /// On the target, known by this.
    Found(TargetMsg),
    /// Never brought onto the target, so there is nothing to recall (why).
    NotThere(String),
    /// Known, but not by what a recall needs (why): it cannot be recalled by the relay.
    Unusable(String),
    /// Not known (yet): neither written by the relay nor staged by the import.
    Unknown,
}

/// Looks messages up in the store at `store`, opened on first use (and the export files the
/// import staged, when a record has to be read).
pub(crate) struct Locator {
    store: PathBuf,
    conn: Option<Connection>,
    sources: Option<Sources>,
}

impl Locator {
    /// A locator of the store at `store`.
    pub(crate) fn new(store: PathBuf) -> Locator {
        Locator {
            store,
            conn: None,
            sources: None,
        }
    }

    fn conn(&mut self) -> Result<&Connection, String> {
        if self.conn.is_none() {
            let conn = open_for_reading(&self.store).map_err(|e| e.to_string())?;
            self.conn = Some(conn);
        }
        self.conn.as_ref().ok_or_else(|| "no store".to_string())
    }

    /// The export record of a staged item of `kind`. The export files are opened on first
    /// use, and again when a read fails (an export staged since, e.g. a window's delta).
    fn record<T: crate::model::ExportRecord>(
        &mut self,
        kind: Kind,
        staged: &StagedItem,
    ) -> Result<T, String> {
        if let Some(Ok(record)) = self.sources.as_ref().map(|s| s.read(kind, &staged.item)) {
            return Ok(record);
        }
        let paths = queries::read_paths(self.conn()?).map_err(|e| e.to_string())?;
        let sources = self.sources.insert(Sources::open(paths)?);
        sources.read(kind, &staged.item)
    }

    /// Where the message `named` is on the target.
    pub(crate) fn target_of(&mut self, named: &MessageRef) -> Result<Located, String> {
        match named {
            MessageRef::C2c { id, between } => self.c2c_target(id, between.as_ref()),
            MessageRef::Group { group, id } => self.group_target(group, id),
        }
    }

    fn c2c_target(
        &mut self,
        id: &str,
        between: Option<&(String, String)>,
    ) -> Result<Located, String> {
        let sql = |e: rusqlite::Error| e.to_string();
        if let Some(m) = sent_by_old(self.conn()?, false, id).map_err(sql)? {
            return Ok(Located::Found(TargetMsg::C2c {
                from: m.place,
                to: m.peer,
                msg_key: m.target,
            }));
        }
        if let Some(msg_key) = id.strip_prefix(TIM_C2C) {
            let pair = match between {
                Some(pair) => Some(pair.clone()),
                None => delivered_pair(self.conn()?, id)?,
            };
            return Ok(match pair {
                Some((from, to)) => Located::Found(TargetMsg::C2c {
                    from,
                    to,
                    msg_key: msg_key.to_owned(),
                }),
                None => Located::Unknown,
            });
        }
        let Some(staged) = staged_item(self.conn()?, Kind::C2cMessage, id).map_err(sql)? else {
            return Ok(Located::Unknown);
        };
        if let Some(why) = not_imported(&staged) {
            return Ok(Located::NotThere(why));
        }
        let record: C2cMessage = self.record(Kind::C2cMessage, &staged)?;
        let sent = import_msg(&record, staged.item.seq);
        Ok(Located::Found(TargetMsg::C2c {
            // import_msg always sets MsgSeq: the key is always known.
            msg_key: sent.msg_key().unwrap_or_default(),
            from: sent.From_Account,
            to: sent.To_Account,
        }))
    }

    fn group_target(&mut self, group: &str, id: &str) -> Result<Located, String> {
        let sql = |e: rusqlite::Error| e.to_string();
        if let Some(m) = sent_by_old(self.conn()?, true, id).map_err(sql)? {
            if let Ok(msg_seq) = m.target.parse() {
                return Ok(Located::Found(TargetMsg::Group {
                    group_id: m.place,
                    msg_seq,
                }));
            }
        }
        if let Some((group_id, seq)) = id.strip_prefix(TIM_GROUP_MSG).and_then(split_seq) {
            return Ok(Located::Found(TargetMsg::Group {
                group_id: group_id.to_owned(),
                msg_seq: seq,
            }));
        }
        let Some(staged) = staged_item(self.conn()?, Kind::GroupMessage, id).map_err(sql)? else {
            return Ok(Located::Unknown);
        };
        if let Some(why) = not_imported(&staged) {
            return Ok(Located::NotThere(why));
        }
        let Some(msg_seq) = staged.target_seq else {
            return Ok(Located::Unusable(
                "its MsgSeq was not recorded when it was imported: recall it by hand".into(),
            ));
        };
        Ok(Located::Found(TargetMsg::Group {
            group_id: self.group_id(group)?,
            msg_seq,
        }))
    }

    /// The Tencent `GroupId` of the old group `group`: as the import mapped it when it is
    /// staged, else as sync maps ids.
    fn group_id(&mut self, group: &str) -> Result<String, String> {
        let staged = staged_item(self.conn()?, Kind::Group, group).map_err(|e| e.to_string())?;
        if let Some(staged) = staged {
            if let Ok(g) = self.record::<Group>(Kind::Group, &staged) {
                return Ok(target_group_id(&g.id, g.kind).into_owned());
            }
        }
        Ok(group_id_for(group, None))
    }

    /// The old id of the message the target knows as `msg` (`old_group`: the old id of its
    /// group), when the relay wrote it or the import brought it.
    pub(crate) fn old_id_of(
        &mut self,
        msg: &TargetMsg,
        old_group: &str,
    ) -> Result<Option<String>, String> {
        let sql = |e: rusqlite::Error| e.to_string();
        match msg {
            TargetMsg::C2c { from, to, msg_key } => {
                let conn = self.conn()?;
                if let Some(old) = sent_by_target(conn, false, from, to, msg_key).map_err(sql)? {
                    return Ok(Some(old));
                }
                self.imported_c2c(from, to, msg_key)
            }
            TargetMsg::Group { group_id, msg_seq } => {
                let conn = self.conn()?;
                let seq = msg_seq.to_string();
                if let Some(old) = sent_by_target(conn, true, group_id, "", &seq).map_err(sql)? {
                    return Ok(Some(old));
                }
                imported_group_msg(conn, old_group, *msg_seq).map_err(sql)
            }
        }
    }

    /// The old id of the imported one-to-one message whose import request had `msg_key`.
    fn imported_c2c(
        &mut self,
        from: &str,
        to: &str,
        msg_key: &str,
    ) -> Result<Option<String>, String> {
        let Some(time) = msg_key.rsplit('_').next().and_then(|t| t.parse().ok()) else {
            return Ok(None);
        };
        let candidates =
            imported_c2c_at(self.conn()?, (from, to), time).map_err(|e| e.to_string())?;
        for (old_id, staged) in candidates {
            if not_imported(&staged).is_some() {
                continue;
            }
            let record: C2cMessage = self.record(Kind::C2cMessage, &staged)?;
            let sent = import_msg(&record, staged.item.seq);
            let key = sent.msg_key().unwrap_or_default();
            if key == msg_key && sent.From_Account == from && sent.To_Account == to {
                return Ok(Some(old_id));
            }
        }
        Ok(None)
    }
}

/// Why a staged message is not on the target, if it is not.
fn not_imported(staged: &StagedItem) -> Option<String> {
    (staged.state != ItemState::Done.code())
        .then(|| "staged by the import but never imported: nothing to recall".to_string())
}

/// `{GroupId}-{MsgSeq}` split at its last `-` (a GroupId may hold `-` itself).
fn split_seq(rest: &str) -> Option<(&str, u64)> {
    let (group_id, seq) = rest.rsplit_once('-')?;
    Some((group_id, seq.parse().ok()?)).filter(|(g, _)| !g.is_empty())
}

/// The sender and receiver of the one-to-one message the relay delivered to the old system as
/// event `event_id`.
fn delivered_pair(conn: &Connection, event_id: &str) -> Result<Option<(String, String)>, String> {
    let Some(body) = delivered_body(conn, event_id).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let Ok(event) = serde_json::from_str::<SyncEvent>(&body) else {
        return Ok(None);
    };
    let text = |f: &str| {
        event
            .record
            .get(f)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    Ok(text("from").zip(text("to")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ExportDir;
    use crate::store::stage::stage_export;
    use crate::store::sync_msgs::mark_imported;
    use std::path::Path;

    /// A store with the sample export staged, two of its messages imported (the group one
    /// with MsgSeq 5) and a third group message imported before MsgSeqs were recorded.
    fn imported() -> (tempfile::TempDir, Locator) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.db");
        let mut conn = crate::store::open_for_writing(&path).unwrap();
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
        stage_export(&mut conn, &path, &ExportDir::open(&sample).unwrap()).unwrap();
        for (kind, key, seq) in [
            (Kind::C2cMessage, "m00000001", None),
            (Kind::GroupMessage, "gm00000001", Some(5)),
            (Kind::GroupMessage, "gm00000002", None),
        ] {
            assert_eq!(mark_imported(&conn, kind, key, seq).unwrap(), 1);
        }
        (dir, Locator::new(path))
    }

    fn c2c(id: &str, between: Option<(&str, &str)>) -> MessageRef {
        let between = between.map(|(a, b)| (a.to_string(), b.to_string()));
        MessageRef::C2c {
            id: id.into(),
            between,
        }
    }

    fn group(group: &str, id: &str) -> MessageRef {
        MessageRef::Group {
            group: group.into(),
            id: id.into(),
        }
    }

    #[test]
    fn imported_messages_are_found_by_their_import_and_named_back_by_their_key() {
        let (_dir, mut locator) = imported();
        let Located::Found(found) = locator.target_of(&c2c("m00000001", None)).unwrap() else {
            panic!("an imported one-to-one message is found");
        };
        let TargetMsg::C2c { from, to, msg_key } = &found else {
            panic!("{found:?}");
        };
        assert_eq!((from.as_str(), to.as_str()), ("u0000030", "u0000029"));
        assert!(msg_key.ends_with("_1726907543"), "{msg_key}");
        assert_eq!(
            locator.old_id_of(&found, "").unwrap().as_deref(),
            Some("m00000001")
        );
        let other_way = TargetMsg::C2c {
            from: to.clone(),
            to: from.clone(),
            msg_key: msg_key.clone(),
        };
        assert_eq!(locator.old_id_of(&other_way, "").unwrap(), None);
        let found = locator.target_of(&group("g000001", "gm00000001")).unwrap();
        let want = TargetMsg::Group {
            group_id: "g000001".into(),
            msg_seq: 5,
        };
        assert_eq!(found, Located::Found(want.clone()));
        let back = locator.old_id_of(&want, "g000001").unwrap();
        assert_eq!(back.as_deref(), Some("gm00000001"));
        let six = TargetMsg::Group {
            group_id: "g000001".into(),
            msg_seq: 6,
        };
        assert_eq!(locator.old_id_of(&six, "g000001").unwrap(), None);
        // Staged but never imported: nothing to recall; imported without its MsgSeq: by hand.
        let pending = locator.target_of(&c2c("m00000002", None)).unwrap();
        assert!(matches!(pending, Located::NotThere(_)), "{pending:?}");
        let no_seq = locator.target_of(&group("g000001", "gm00000002")).unwrap();
        assert!(matches!(no_seq, Located::Unusable(_)), "{no_seq:?}");
        let nobody = locator.target_of(&c2c("m-nobody", None)).unwrap();
        assert_eq!(nobody, Located::Unknown);
    }

    #[test]
    fn messages_born_on_tencent_are_named_by_the_ids_they_were_delivered_under() {
        let (_dir, mut locator) = imported();
        let found = locator
            .target_of(&group("g1", "tim-gmsg-@TGS#a-b-7"))
            .unwrap();
        let want = TargetMsg::Group {
            group_id: "@TGS#a-b".into(),
            msg_seq: 7,
        };
        assert_eq!(found, Located::Found(want));
        // A one-to-one message's sender and receiver come with the event, or from the event
        // the relay delivered (none here).
        let id = "tim-c2c-1_2_3";
        assert_eq!(locator.target_of(&c2c(id, None)).unwrap(), Located::Unknown);
        let found = locator.target_of(&c2c(id, Some(("a", "b")))).unwrap();
        let want = TargetMsg::C2c {
            from: "a".into(),
            to: "b".into(),
            msg_key: "1_2_3".into(),
        };
        assert_eq!(found, Located::Found(want));
    }

    #[test]
    fn ids_born_on_tencent_carry_their_key() {
        assert_eq!(
            split_seq("@TGS#2J4SZEAEL-123"),
            Some(("@TGS#2J4SZEAEL", 123))
        );
        assert_eq!(split_seq("g-1-7"), Some(("g-1", 7)));
        assert_eq!(split_seq("g-x"), None);
        assert_eq!(split_seq("-7"), None);
    }
}
