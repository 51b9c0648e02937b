//! Throwaway database servers for the export tests: MariaDB and PostgreSQL started by the
//! project's scripts (scripts/db/) in a temp directory on a free loopback port and stopped on
//! drop, or a SQLite file; the example schema filled from a generated export; and running
//! `cutover export` against them. A server that cannot start fails the test, saying why.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a test failure

use cutover::export::example::{self, insert};
use cutover::export::url::Engine;
use cutover::export::SourceUrl;
use cutover::source::gen::{generate, GenConfig};
use cutover::source::ExportFile;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod deletions;
pub(crate) use deletions::delete_after_t1;

/// The login the start scripts create (scripts/db/common.sh).
pub(crate) const PASSWORD: &str = "cutover-test-password";
/// When the generated data was exported: every generated row changed before it.
pub(crate) const T1: i64 = 1_732_000_000;
/// The delta's end.
pub(crate) const T2: i64 = T1 + 3600;

/// A database to export from; a server is stopped when this is dropped.
pub(crate) struct Db {
    pub engine: Engine,
    /// The URL without the password.
    pub url: String,
    pub dir: tempfile::TempDir,
    server: bool,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Db {
    /// A fresh database of `engine`.
    pub(crate) fn start(engine: Engine) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let script = match engine {
            Engine::MySql => "start-mariadb.sh",
            Engine::Postgres => "start-postgres.sh",
            Engine::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("oldim.db").display());
                return Db {
                    engine,
                    url,
                    dir,
                    server: false,
                };
            }
        };
        let out = Command::new("bash")
            .arg(repo().join("scripts/db").join(script))
            .arg(dir.path())
            .output()
            .unwrap();
        let mut db = Db {
            engine,
            url: String::new(),
            dir,
            server: true,
        };
        assert!(
            out.status.success(),
            "scripts/db/{script} could not start a server (run scripts/db/install.sh, or \
             scripts/test, to install it): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let scheme = if engine == Engine::MySql {
            "mysql"
        } else {
            "postgres"
        };
        db.url = format!("{scheme}://cutover@127.0.0.1:{port}/oldim");
        db
    }

    /// The URL with the password in effect, for the library.
    pub(crate) fn source(&self) -> SourceUrl {
        SourceUrl::parse(&self.url, Some(PASSWORD.into())).unwrap()
    }

    /// Runs statements on the database.
    pub(crate) fn execute(&self, sql: &str) {
        let url = self.source();
        runtime()
            .block_on(cutover::export::db::execute(&url, &[sql.to_string()]))
            .unwrap();
    }

    /// Creates the example schema and fills it with `export`, every row changed before T1.
    pub(crate) fn fill(&self, export: &Path) -> u64 {
        let url = self.source();
        runtime()
            .block_on(example::fill(&url, export, (T1 - 1) * 1000))
            .unwrap()
    }

    /// `cutover export` of the example mapping into `out` with `args`, the password from
    /// the environment.
    pub(crate) fn export(&self, out: &Path, args: &[&str]) -> Output {
        self.export_with(out, args, PASSWORD)
    }

    /// `cutover export` with `password` in the environment.
    pub(crate) fn export_with(&self, out: &Path, args: &[&str], password: &str) -> Output {
        self.export_map(out, example::MAPPING, args, password)
    }

    /// `cutover export` with the mapping `mapping`.
    pub(crate) fn export_map(
        &self,
        out: &Path,
        mapping: &str,
        args: &[&str],
        password: &str,
    ) -> Output {
        let map = self.dir.path().join("mapping.toml");
        std::fs::write(&map, mapping).unwrap();
        Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["export", "--from", &self.url, "--map"])
            .arg(&map)
            .arg("--out")
            .arg(out)
            .args(args)
            .env("CUTOVER_SOURCE_PASSWORD", password)
            .output()
            .unwrap()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if self.server {
            let _ = Command::new("bash")
                .arg(repo().join("scripts/db/stop.sh"))
                .arg(self.dir.path())
                .status();
        }
    }
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A small generated export taken at T1 (the golden export of the fill).
pub(crate) fn generated(dir: &Path) -> PathBuf {
    let out = dir.join("generated");
    let cfg = GenConfig {
        seed: 19,
        accounts: 60,
        friends_per_account: 4.0,
        c2c_messages: 300,
        groups: 6,
        members_per_group: 8.0,
        group_messages: 200,
        exported_at: T1,
        ..GenConfig::default()
    };
    generate(&cfg, &out).unwrap();
    out
}

/// The records of each file of an export, sorted by their text (file order is the source's).
pub(crate) fn records(dir: &Path) -> BTreeMap<&'static str, Vec<Value>> {
    let mut out = BTreeMap::new();
    for kind in ExportFile::ALL {
        let path = dir.join(kind.file_name());
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut list: Vec<Value> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        list.sort_by_key(|v| v.to_string());
        if !list.is_empty() {
            out.insert(kind.stem(), list);
        }
    }
    out
}

/// The key set of each kind in `dir/keys/`, sorted by text.
pub(crate) fn key_sets(dir: &Path) -> BTreeMap<&'static str, Vec<Value>> {
    records(&dir.join("keys"))
}

/// The key fields of a kind's records.
pub(crate) fn key_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "friends" => &["owner", "friend"],
        "group_members" => &["group", "member"],
        _ => &["id"],
    }
}

/// `record` with only its kind's key fields.
pub(crate) fn key_of(kind: &str, record: &Value) -> Value {
    let mut key = serde_json::Map::new();
    for f in key_fields(kind) {
        key.insert(f.to_string(), record[*f].clone());
    }
    Value::Object(key)
}

/// The manifest of an export.
pub(crate) fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

/// Stdout and stderr of a command.
pub(crate) fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `cutover validate DIR`.
pub(crate) fn validate(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("validate")
        .arg(dir)
        .output()
        .unwrap()
}

/// What changes after T1: two accounts, a message, a member, and a group renamed.
pub(crate) fn change_after_t1(
    db: &Db,
    gen: &BTreeMap<&'static str, Vec<Value>>,
) -> BTreeMap<&'static str, Vec<Value>> {
    let at = T1 + 60;
    let ms = at * 1000;
    let first_user = gen["accounts"][0]["id"].as_str().unwrap().to_string();
    let mut group = gen["groups"][0].clone();
    let accounts = vec![
        json!({"id": "u9001", "nick": "new one", "created_at": at}),
        json!({"id": "u9002", "created_at": at}),
    ];
    let c2c = vec![
        json!({"id": "m9001", "from": "u9001", "to": first_user, "sent_at": at,
                          "seq": 1, "random": 2,
                          "body": [{"type": "text", "text": "after the pre-copy"}]}),
    ];
    let members = vec![
        json!({"group": group["id"], "member": "u9001", "role": "member",
                              "joined_at": at}),
    ];
    db.execute(&insert(ExportFile::Accounts, &accounts, db.engine, ms));
    db.execute(&insert(ExportFile::C2cMessages, &c2c, db.engine, ms));
    db.execute(&insert(ExportFile::GroupMembers, &members, db.engine, ms));
    let gid = group["id"].as_str().unwrap().to_string();
    db.execute(&format!(
        "UPDATE chat_groups SET name = 'Renamed', updated_at = {ms} WHERE group_id = '{gid}'"
    ));
    group["name"] = json!("Renamed");
    let mut expected = BTreeMap::new();
    expected.insert("accounts", accounts);
    expected.insert("c2c_messages", c2c);
    expected.insert("group_members", members);
    expected.insert("groups", vec![group]);
    for list in expected.values_mut() {
        list.sort_by_key(|v| v.to_string());
    }
    expected
}
