//! The mapping file: one SQL query per kind of the export, whose result columns are named
//! after the export's fields, and the unit of the time columns.
//!
//! ```toml
//! source = "acme-im prod"        # the manifest's `source` (optional)
//! [times]
//! unit = "ms"                    # "s", "ms" or "timestamp"
//! [queries]
//! accounts = "SELECT user_id AS id, nickname AS nick, created_at FROM users
//!             WHERE updated_at >= :since AND updated_at < :until"
//! [keys]                         # optional: each kind's whole current key set (a delta's)
//! accounts = "SELECT user_id AS id FROM users WHERE deleted_at IS NULL"
//! ```
//!
//! A query may use `:since` and `:until`; they become each driver's placeholders (`?` for
//! MySQL, `$n` for PostgreSQL, `?n` for SQLite) and are bound in the time unit.

use super::url::Engine;
use super::DbExportError;
use crate::source::ExportFile;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// How the source stores times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum TimeUnit {
    /// Unix seconds (integers).
    #[serde(rename = "s")]
    #[default]
    Seconds,
    /// Unix milliseconds (integers).
    #[serde(rename = "ms")]
    Millis,
    /// SQL timestamps (`TIMESTAMP`, `DATETIME`, or `YYYY-MM-DD HH:MM:SS` text), read as UTC.
    #[serde(rename = "timestamp")]
    Timestamp,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Times {
    #[serde(default)]
    unit: TimeUnit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    source: Option<String>,
    times: Option<Times>,
    queries: BTreeMap<String, String>,
    #[serde(default)]
    keys: BTreeMap<String, String>,
}

/// A parsed mapping file.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The manifest's `source`.
    pub(crate) source: Option<String>,
    /// The unit of time columns and of the `:since`/`:until` parameters.
    pub(crate) unit: TimeUnit,
    /// The query of each kind it has, in file order.
    pub(crate) queries: Vec<(ExportFile, String)>,
    /// The key-set query of each kind that has one (`[keys]`), in file order.
    pub(crate) keys: Vec<(ExportFile, String)>,
}

impl Mapping {
    /// Reads and checks the mapping file at `path`.
    pub(crate) fn load(path: &Path) -> Result<Self, DbExportError> {
        let bad = |reason: String| DbExportError::Mapping {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        Self::parse(&text).map_err(bad)
    }

    /// Parses mapping text; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: MappingFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let queries = entries("queries", &file.queries)?;
        if !file.queries.contains_key(ExportFile::Accounts.stem()) {
            return Err("[queries] accounts is required (accounts.jsonl is)".into());
        }
        if file.keys.contains_key(ExportFile::Profiles.stem()) {
            return Err(
                "[keys] profiles: profiles have no key set (a profile is never \
                        deleted on its own: it goes with its account)"
                    .into(),
            );
        }
        let keys = entries("keys", &file.keys)?;
        Ok(Self {
            source: file.source,
            unit: file.times.map(|t| t.unit).unwrap_or_default(),
            queries,
            keys,
        })
    }

    /// The kinds whose query never binds `:since`: they would read their whole table each
    /// time, so a follow round refuses them.
    pub(crate) fn without_since(&self) -> Vec<ExportFile> {
        self.queries
            .iter()
            .filter(|(_, sql)| {
                let (_, params) = translate(sql, Engine::Sqlite);
                !params.contains(&Param::Since)
            })
            .map(|(kind, _)| *kind)
            .collect()
    }

    /// The query of `kind`, if the mapping has one.
    pub(crate) fn query(&self, kind: ExportFile) -> Option<&str> {
        self.queries
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, q)| q.as_str())
    }
}

/// The entries of table `[table]`, checked (known kinds, no empty query), in file order.
fn entries(
    table: &str,
    given: &BTreeMap<String, String>,
) -> Result<Vec<(ExportFile, String)>, String> {
    for (name, sql) in given {
        if !ExportFile::ALL.iter().any(|f| f.stem() == name) {
            let known: Vec<&str> = ExportFile::ALL.iter().map(|f| f.stem()).collect();
            return Err(format!(
                "[{table}] {name}: not a kind of the export ({})",
                known.join(", ")
            ));
        }
        if sql.trim().is_empty() {
            return Err(format!("[{table}] {name}: the query is empty"));
        }
    }
    Ok(ExportFile::ALL
        .iter()
        .filter_map(|kind| given.get(kind.stem()).map(|sql| (*kind, sql.clone())))
        .collect())
}

/// A named parameter of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// `:since`: the start of the range (inclusive).
    Since,
    /// `:until`: its end (exclusive).
    Until,
}

/// `sql` with `:since`/`:until` replaced by `engine`'s placeholders, and the parameter each
/// placeholder number stands for: per occurrence for MySQL's `?`, per first appearance for
/// numbered placeholders. Text in single quotes and `::` casts are left alone.
pub(crate) fn translate(sql: &str, engine: Engine) -> (String, Vec<Param>) {
    let mut out = String::with_capacity(sql.len());
    let mut params: Vec<Param> = Vec::new();
    let mut in_quote = false;
    let mut prev = '\0';
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let found = (!in_quote && c == ':' && prev != ':')
            .then(|| named_param(&rest[1..]))
            .flatten();
        if let Some((param, len)) = found {
            let n = match engine {
                Engine::MySql => {
                    params.push(param);
                    0
                }
                _ => match params.iter().position(|p| *p == param) {
                    Some(i) => i + 1,
                    None => {
                        params.push(param);
                        params.len()
                    }
                },
            };
            match engine {
                Engine::MySql => out.push('?'),
                Engine::Postgres => out.push_str(&format!("${n}")),
                Engine::Sqlite => out.push_str(&format!("?{n}")),
            }
            rest = &rest[1 + len..];
            prev = 'x';
            continue;
        }
        if c == '\'' {
            in_quote = !in_quote;
        }
        out.push(c);
        prev = c;
        rest = &rest[c.len_utf8()..];
    }
    (out, params)
}

/// `since`/`until` at the start of `s`, not followed by an identifier character.
fn named_param(s: &str) -> Option<(Param, usize)> {
    for (name, param) in [("since", Param::Since), ("until", Param::Until)] {
        if let Some(after) = s.strip_prefix(name) {
            let ident = after
                .chars()
                .next()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            if !ident {
                return Some((param, name.len()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "x >= :since AND x < :until OR y = ':since' OR z < :until::bigint";

    #[test]
    fn placeholders_per_driver() {
        let (my, p) = translate(Q, Engine::MySql);
        assert_eq!(my, "x >= ? AND x < ? OR y = ':since' OR z < ?::bigint");
        assert_eq!(p, vec![Param::Since, Param::Until, Param::Until]);
        let (pg, p) = translate(Q, Engine::Postgres);
        assert_eq!(pg, "x >= $1 AND x < $2 OR y = ':since' OR z < $2::bigint");
        assert_eq!(p, vec![Param::Since, Param::Until]);
        let (lite, p) = translate("a < :until AND b >= :since", Engine::Sqlite);
        assert_eq!(lite, "a < ?1 AND b >= ?2");
        assert_eq!(p, vec![Param::Until, Param::Since]);
        assert_eq!(translate("a::since_x", Engine::Postgres).1, vec![]);
        assert_eq!(translate(":sinced", Engine::Postgres).1, vec![]);
    }

    #[test]
    fn the_mapping_names_known_kinds_and_needs_accounts() {
        let m =
            Mapping::parse("[times]\nunit = \"ms\"\n[queries]\naccounts = \"q\"\ngroups = \"g\"")
                .unwrap();
        assert_eq!(m.unit, TimeUnit::Millis);
        assert_eq!(m.query(ExportFile::Groups), Some("g"));
        assert!(Mapping::parse("[queries]\ngroups = \"g\"")
            .unwrap_err()
            .contains("accounts is required"));
        assert!(Mapping::parse("[queries]\naccounts = \"q\"\nusers = \"u\"")
            .unwrap_err()
            .contains("users"));
        assert!(Mapping::parse("[times]\nunit = \"h\"\n[queries]\naccounts = \"q\"").is_err());
    }

    #[test]
    fn key_sets_are_named_by_kind_and_profiles_have_none() {
        let m = Mapping::parse(
            "[queries]\naccounts = \"q\"\n[keys]\nfriends = \"f\"\naccounts = \"a\"",
        )
        .unwrap();
        let kinds: Vec<ExportFile> = m.keys.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, vec![ExportFile::Accounts, ExportFile::Friends]);
        assert!(Mapping::parse("[queries]\naccounts = \"q\"")
            .unwrap()
            .keys
            .is_empty());
        let e = Mapping::parse("[queries]\naccounts = \"q\"\n[keys]\nprofiles = \"p\"");
        assert!(e.unwrap_err().contains("[keys] profiles"));
        let e = Mapping::parse("[queries]\naccounts = \"q\"\n[keys]\nusers = \"u\"");
        assert!(e.unwrap_err().contains("[keys] users: not a kind"));
        let e = Mapping::parse("[queries]\naccounts = \"q\"\n[keys]\ngroups = \" \"");
        assert!(e.unwrap_err().contains("[keys] groups: the query is empty"));
    }
}
