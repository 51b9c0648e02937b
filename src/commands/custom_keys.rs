//! The custom keys an export uses, for `cutover validate` and `cutover plan`: each key with
//! the records using it, and, given a runbook, whether its `[app]` declares it (created in the
//! Tencent console), `[import] drop_custom` drops it, or what to do.

use crate::config::{resolve, Flags};
use crate::model::console::{ConsoleSettings, DropCustom, KeyInventory, Undeclared};
use crate::model::GroupType;
use serde::Serialize;
use std::io::{self, Write};
use std::path::Path;

/// The runbook's view of custom keys: what its console has and what it drops.
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared {
    /// `[app]`'s custom fields.
    pub(crate) console: ConsoleSettings,
    /// `[import] drop_custom`.
    pub(crate) drop: DropCustom,
}

/// The `[app]` and `drop_custom` of the runbook at `config` (checked like any runbook; the
/// target and key it would need for a run are not asked for).
pub(crate) fn declared(config: &Path) -> anyhow::Result<Declared> {
    let file = super::run::load_file(Some(config))?;
    let flags = Flags {
        source: Some(".".into()),
        store: Some(".".into()),
        target_url: Some("http://127.0.0.1:1".into()),
        sdkappid: Some(1),
        admin: Some("check".into()),
    };
    let key = crate::tim::SecretKey::new("check-only".to_string());
    let rb = resolve(&file, &flags, Some(key)).map_err(|p| anyhow::anyhow!(p.join("; ")))?;
    Ok(Declared {
        console: rb.console,
        drop: rb.drop_custom,
    })
}

/// One key the export uses, for JSON.
#[derive(Debug, Serialize)]
pub(crate) struct KeyRow {
    /// `Tag_Profile_Custom_Hobby`, `Tag_SNS_Custom_Close`, `group:Category`.
    key: String,
    /// For a group field: Tencent's group type.
    #[serde(skip_serializing_if = "Option::is_none")]
    group_type: Option<&'static str>,
    /// Records using it.
    records: u64,
    /// `declared`, `dropped`, `undeclared`, or `unchecked` without a runbook.
    status: &'static str,
}

/// The keys as rows (for JSON), with their status against `declared`.
pub(crate) fn rows(keys: &KeyInventory, declared: Option<&Declared>) -> Vec<KeyRow> {
    let undeclared = declared.map(|d| keys.undeclared(&d.console, &d.drop));
    keys.rows()
        .into_iter()
        .map(|(key, kind, records)| {
            let status = match (declared, &undeclared) {
                (Some(d), _) if d.drop.drops(&key) => "dropped",
                (Some(_), Some(u)) if is_undeclared(u, &key, kind) => "undeclared",
                (Some(_), _) => "declared",
                (None, _) => "unchecked",
            };
            KeyRow {
                key: key.name(),
                group_type: kind.map(GroupType::tencent_name),
                records,
                status,
            }
        })
        .collect()
}

fn is_undeclared(
    undeclared: &[Undeclared],
    key: &crate::model::console::CustomKey,
    kind: Option<GroupType>,
) -> bool {
    undeclared.iter().any(|u| {
        &u.key == key && (kind.is_none() || u.group_types.iter().any(|(t, _)| Some(*t) == kind))
    })
}

/// The undeclared keys with what to do, for JSON and text.
pub(crate) fn advice(keys: &KeyInventory, declared: &Declared) -> Vec<String> {
    keys.undeclared(&declared.console, &declared.drop)
        .iter()
        .map(|u| format!("{} in {}: {}", u.key.name(), u.used_by(), u.advice()))
        .collect()
}

/// The keys as a table, then what to do about each undeclared one; true when some key is
/// undeclared.
pub(crate) fn write(
    keys: &KeyInventory,
    declared: Option<&Declared>,
    out: &mut dyn Write,
) -> io::Result<bool> {
    writeln!(out)?;
    if keys.is_empty() {
        writeln!(
            out,
            "custom keys: none (no record has a custom profile tag, friend tag or group field)"
        )?;
        return Ok(false);
    }
    writeln!(
        out,
        "custom keys (each must exist in the Tencent console before the import):"
    )?;
    writeln!(
        out,
        "  {:<32} {:<20} {:>9}  status",
        "key", "used by", "records"
    )?;
    for row in rows(keys, declared) {
        let used_by = match row.group_type {
            Some(t) => format!("{t} groups"),
            None if row.key.starts_with(crate::model::console::PROFILE_PREFIX) => {
                "profiles".to_string()
            }
            None => "friend entries".to_string(),
        };
        let status = match row.status {
            "unchecked" => "",
            "undeclared" => "NOT DECLARED in [app]",
            other => other,
        };
        writeln!(
            out,
            "  {:<32} {:<20} {:>9}  {status}",
            row.key, used_by, row.records
        )?;
    }
    let Some(declared) = declared else {
        writeln!(
            out,
            "  (--config RUNBOOK checks them against its [app] and [import] drop_custom)"
        )?;
        return Ok(false);
    };
    let advice = advice(keys, declared);
    if advice.is_empty() {
        writeln!(out, "  every key is declared in [app] or dropped")?;
        return Ok(false);
    }
    writeln!(
        out,
        "\n{} custom {} the runbook's [app] does not declare (cutover run refuses the export \
         before the stop-service step):",
        advice.len(),
        if advice.len() == 1 { "key" } else { "keys" }
    )?;
    for a in advice {
        writeln!(out, "  {a}")?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::console::{CustomKey, GroupCustomFields};

    #[test]
    fn the_table_names_each_key_with_its_status_and_advice() {
        let mut keys = KeyInventory::default();
        keys.add(CustomKey::Profile("Hobby".into()), None, 17);
        keys.add(CustomKey::Friend("Close".into()), None, 52);
        keys.add(
            CustomKey::Group("Category".into()),
            Some(GroupType::Public),
            3,
        );
        let declared = Declared {
            console: ConsoleSettings {
                profile_custom_tags: vec!["Hobby".into()],
                group_custom_fields: GroupCustomFields::every_type(&["Category"]),
                ..ConsoleSettings::default()
            },
            drop: DropCustom::default(),
        };
        let mut out = Vec::new();
        assert!(write(&keys, Some(&declared), &mut out).unwrap());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Tag_SNS_Custom_Close"), "{text}");
        assert!(text.contains("NOT DECLARED"), "{text}");
        assert!(text.contains("52 friend entries: create Tag_SNS_Custom_Close in the console"));
        assert!(
            text.contains("drop_custom = [\"Tag_SNS_Custom_Close\"]"),
            "{text}"
        );
        let mut plain = Vec::new();
        assert!(!write(&keys, None, &mut plain).unwrap());
        let plain = String::from_utf8(plain).unwrap();
        assert!(plain.contains("Public groups"), "{plain}");
    }
}
