//! The preflight's check of the export's custom keys against the app's console: every custom
//! profile tag, friend tag and group custom field the staged exports use must be declared in
//! `[app]` (created in the Tencent console) or dropped (`[import] drop_custom`). Otherwise the
//! run stops here, before the stop-service step, naming each key, where it is used, how many
//! records and what to do. A drop is recorded in the audit trail when the decision changes.

use super::RunbookError;
use crate::config::Runbook;
use crate::model::console::{CustomKey, KeyInventory};
use crate::store::custom_keys;
use rusqlite::Connection;

/// Checks the staged exports' custom keys (the store's inventory, so a resumed run and a
/// window's delta are checked too) and records the run's drops.
pub(crate) fn check(conn: &Connection, rb: &Runbook) -> Result<(), RunbookError> {
    let inventory = custom_keys::inventory(conn)?;
    let undeclared = inventory.undeclared(&rb.console, &rb.drop_custom);
    if !undeclared.is_empty() {
        let each: Vec<String> = undeclared
            .iter()
            .map(|u| format!("{} in {}: {}", u.key.name(), u.used_by(), u.advice()))
            .collect();
        return Err(RunbookError::CustomKeys(format!(
            "the export uses {} custom {} the app's console does not have ([app] declares what \
             it has; Tencent refuses the records otherwise), so nothing was stopped or \
             imported: {}",
            undeclared.len(),
            if undeclared.len() == 1 { "key" } else { "keys" },
            each.join("; ")
        )));
    }
    let before = custom_keys::dropped(conn)?;
    if before != rb.drop_custom {
        let tx = conn.unchecked_transaction()?;
        custom_keys::set_dropped(&tx, &rb.drop_custom)?;
        let (detail, reason) = if rb.drop_custom.is_empty() {
            (
                format!("none (was: {})", before.names().join(", ")),
                "[import] drop_custom is empty now: every custom key is imported",
            )
        } else {
            (
                dropped_detail(&inventory, rb),
                "[import] drop_custom: left out of every request the import builds; the rest \
                 of each record is imported",
            )
        };
        crate::store::audit::record(&tx, "runbook", "drop custom keys", &detail, reason)?;
        tx.commit()?;
    }
    Ok(())
}

/// `Tag_SNS_Custom_Close (52 records), group:Level (not used by the export)`.
fn dropped_detail(inventory: &KeyInventory, rb: &Runbook) -> String {
    let mut counts = std::collections::BTreeMap::<CustomKey, u64>::new();
    for (key, _, n) in inventory.rows() {
        *counts.entry(key).or_default() += n;
    }
    rb.drop_custom
        .0
        .iter()
        .map(|key| match counts.get(key) {
            Some(n) => format!(
                "{} ({n} {})",
                key.name(),
                if *n == 1 { "record" } else { "records" }
            ),
            None => format!("{} (not used by the export)", key.name()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
