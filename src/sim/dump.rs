//! The state dump: everything the simulated service holds, for tests to compare with the
//! export (`/sim/dump` for admins, `--dump-on-exit FILE`). A recalled message is there with
//! `"recalled": true`; deleted accounts are left out of `accounts` and listed by UserID in
//! `deleted_accounts`.

use super::state::{C2cOrigin, State, StoredBody};
use serde_json::{json, Value};

fn content(body: &StoredBody) -> Value {
    let mut v = json!({ "content_hash": format!("{:016x}", body.hash()) });
    if let StoredBody::Full { body, custom } = body {
        v["MsgBody"] = body.clone();
        if let Some(c) = custom {
            v["CloudCustomData"] = json!(c);
        }
    }
    v
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

/// The whole state as JSON.
pub(crate) fn dump(state: &State, sdkappid: u64) -> Value {
    let mut accounts = Vec::new();
    for (idx, a) in state.accounts().iter().enumerate() {
        let idx = u32::try_from(idx).unwrap_or(u32::MAX);
        if state.account_idx(&a.id) != Some(idx) {
            continue; // forgotten (deleted) account
        }
        let friends: Vec<Value> = a
            .friends
            .iter()
            .map(|(to, f)| {
                json!({
                    "To_Account": state.account_id(*to), "Remark": f.remark, "RemarkTime": f.remark_time,
                    "GroupName": f.groups, "AddSource": f.add_source, "AddWording": f.add_wording,
                    "AddTime": f.add_time,
                    "CustomItem": f.custom.iter().map(|(t, v)| json!({"Tag": t, "Value": v})).collect::<Vec<_>>(),
                })
            })
            .collect();
        accounts.push(json!({"UserID": a.id, "profile": a.profile, "friends": friends}));
    }
    let mut conversations: Vec<_> = state.conversations.iter().collect();
    conversations.sort_by_key(|(k, _)| **k);
    let mut c2c = Vec::new();
    for (_, conv) in conversations {
        for m in &conv.msgs {
            let origin = match m.origin {
                C2cOrigin::Import(n) => format!("importmsg:{n}"),
                C2cOrigin::Send => "sendmsg".into(),
            };
            let mut fields = json!({
                "From_Account": state.account_id(m.from), "To_Account": state.account_id(m.to),
                "MsgSeq": m.seq, "MsgRandom": m.random, "MsgTimeStamp": m.time,
                "MsgKey": m.msg_key(), "origin": origin,
            });
            if conv.is_recalled(m) {
                fields["recalled"] = json!(true);
            }
            c2c.push(merge(fields, content(&m.body)));
        }
    }
    let mut groups = Vec::new();
    for id in state.group_order.values() {
        let Some(g) = state.groups.get(id) else {
            continue;
        };
        let last = g.last_seq();
        let members: Vec<Value> = g
            .members
            .iter()
            .map(|m| {
                json!({"Member_Account": state.account_id(m.account), "Role": m.role.name(),
                    "JoinTime": m.join_time, "UnreadMsgNum": last.saturating_sub(m.read_seq)})
            })
            .collect();
        let messages: Vec<Value> = g
            .msgs
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut fields = json!({"MsgSeq": i + 1, "From_Account": state.account_id(m.from),
                        "SendTime": m.time, "Random": m.random});
                if let Some(flag) = m.recent_contact {
                    fields["RecentContactFlag"] = json!(flag);
                }
                if g.is_recalled(i as u64 + 1) {
                    fields["recalled"] = json!(true);
                }
                merge(fields, content(&m.body))
            })
            .collect();
        groups.push(json!({
            "GroupId": g.id, "Type": g.kind, "Name": g.name, "Introduction": g.introduction,
            "Notification": g.notification, "FaceUrl": g.face_url,
            "Owner_Account": g.owner.map(|o| state.account_id(o).to_string()),
            "CreateTime": g.create_time, "MaxMemberNum": g.max_members, "ApplyJoinOption": g.apply_join,
            "AppDefinedData": g.app_defined, "imported": g.imported,
            "members": members, "messages": messages,
        }));
    }
    json!({"sdkappid": sdkappid, "accounts": accounts, "c2c_messages": c2c, "groups": groups,
        "deleted_accounts": state.deleted_ids()})
}
