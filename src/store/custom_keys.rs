//! The custom keys of the staged exports (what staging counted) and the keys a run drops
//! (`[import] drop_custom`), which [`super::records::Sources`] leaves out of every record it
//! reads back, for the import and its verification alike.

use crate::model::console::{CustomKey, DropCustom, KeyInventory};
use crate::model::GroupType;
use rusqlite::{params, Connection};

const PROFILE: i64 = 0;
const FRIEND: i64 = 1;
const GROUP: i64 = 2;

/// Records the inventory of export `export_id` (inside staging's last transaction).
pub(crate) fn save(conn: &Connection, export_id: i64, keys: &KeyInventory) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO custom_key (export_id, kind, group_type, key, records)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (key, kind, records) in keys.rows() {
        let code = match key {
            CustomKey::Profile(_) => PROFILE,
            CustomKey::Friend(_) => FRIEND,
            CustomKey::Group(_) => GROUP,
        };
        let group_type = kind.map_or("", GroupType::tencent_name);
        stmt.execute(params![export_id, code, group_type, key.key(), records])?;
    }
    Ok(())
}

/// The custom keys of every export staged in the store, records summed over the exports.
pub fn inventory(conn: &Connection) -> rusqlite::Result<KeyInventory> {
    let mut stmt = conn.prepare(
        "SELECT kind, group_type, key, SUM(records) FROM custom_key
         GROUP BY kind, group_type, key",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = KeyInventory::default();
    while let Some(row) = rows.next()? {
        let (code, group_type, key): (i64, String, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?);
        let records: u64 = row.get(3)?;
        let key = match code {
            PROFILE => CustomKey::Profile(key),
            FRIEND => CustomKey::Friend(key),
            _ => CustomKey::Group(key),
        };
        out.add(key, GroupType::from_tencent_name(&group_type), records);
    }
    Ok(out)
}

/// Replaces the dropped keys with `drop` (the run's decision).
pub(crate) fn set_dropped(conn: &Connection, drop: &DropCustom) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM custom_drop", [])?;
    let mut stmt = conn.prepare_cached("INSERT INTO custom_drop (name) VALUES (?1)")?;
    for name in drop.names() {
        stmt.execute([name])?;
    }
    Ok(())
}

/// The keys the last run dropped.
pub fn dropped(conn: &Connection) -> rusqlite::Result<DropCustom> {
    let mut stmt = conn.prepare("SELECT name FROM custom_drop ORDER BY name")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = DropCustom::default();
    for name in names {
        // Only names that parsed are ever written; another is ignored.
        if let Ok(key) = CustomKey::parse(&name?) {
            out.0.insert(key);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventories_sum_over_exports_and_drops_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open_for_writing(&dir.path().join("s.db")).unwrap();
        let mut keys = KeyInventory::default();
        keys.add(CustomKey::Profile("Hobby".into()), None, 2);
        keys.add(
            CustomKey::Group("Category".into()),
            Some(GroupType::Chatroom),
            1,
        );
        save(&conn, 1, &keys).unwrap();
        save(&conn, 2, &keys).unwrap();
        let got = inventory(&conn).unwrap();
        assert_eq!(got.profile["Hobby"], 4);
        assert_eq!(got.group[&(GroupType::Chatroom, "Category".to_string())], 2);
        let drop = DropCustom([CustomKey::Friend("Close".into())].into());
        set_dropped(&conn, &drop).unwrap();
        set_dropped(&conn, &drop).unwrap();
        assert_eq!(dropped(&conn).unwrap(), drop);
    }
}
