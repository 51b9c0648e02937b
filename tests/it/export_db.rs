//! `cutover export` against real servers (MariaDB and PostgreSQL, started by scripts/db/) and
//! SQLite: the example schema filled with a generated export exports back to exactly that
//! export, which `cutover validate` passes; `--since` the first watermark yields exactly the
//! rows changed after it; a bad row is reported with its source key; deletions become
//! tombstones and key sets (export_deletions.rs); a wrong password fails clearly without
//! showing it.
#![allow(clippy::unwrap_used)]

use crate::db_rig;

use cutover::export::example::insert;
use cutover::export::url::Engine;
use cutover::source::ExportFile;
use db_rig::{change_after_t1, generated, manifest, records, said, validate, Db, T1, T2};
use serde_json::json;

fn full_delta_bad_rows_and_deletions(engine: Engine) {
    let db = Db::start(engine);
    let gen_dir = generated(db.dir.path());
    let gen = records(&gen_dir);
    let rows = db.fill(&gen_dir);
    assert_eq!(rows, gen.values().map(|v| v.len() as u64).sum::<u64>());

    // The full export equals the generated one, and validate passes it.
    let full = db.dir.path().join("full");
    let out = db.export(&full, &["--until", &T1.to_string()]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains("rows/s"),
        "progress per kind: {}",
        said(&out)
    );
    assert_eq!(
        records(&full),
        gen,
        "the export equals the generated export"
    );
    let m = manifest(&full);
    assert_eq!(
        (m["watermark"].as_i64(), m.get("delta_of")),
        (Some(T1), None)
    );
    assert_eq!(m["source"], "example-im");
    let v = validate(&full);
    assert_eq!(v.status.code(), Some(0), "{}", said(&v));
    let leftovers: Vec<_> = std::fs::read_dir(&full)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no staging left: {leftovers:?}");
    assert!(
        !full.join("keys").exists(),
        "a full export writes no key set"
    );

    // A delta since the first watermark holds exactly what changed after it.
    let expected = change_after_t1(&db, &gen);
    let delta = db.dir.path().join("delta");
    let args = ["--since", &T1.to_string(), "--until", &T2.to_string()];
    let out = db.export(&delta, &args);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert_eq!(records(&delta), expected);
    let m = manifest(&delta);
    assert_eq!(
        (m["watermark"].as_i64(), m["delta_of"].as_i64()),
        (Some(T2), Some(T1))
    );

    // Bad rows (a friend who is not an account, an empty body) are named by their source key.
    let ms = (T2 + 10) * 1000;
    let first = gen["accounts"][0]["id"].as_str().unwrap();
    let friend = json!({"owner": first, "friend": "ghost", "source": "Android"});
    let empty = json!({"id": "m-empty", "from": first, "to": "u9001", "sent_at": T2 + 10,
                       "body": []});
    db.execute(&insert(ExportFile::Friends, &[friend], db.engine, ms));
    db.execute(&insert(ExportFile::C2cMessages, &[empty], db.engine, ms));
    let bad = db.dir.path().join("bad");
    let t3 = (T2 + 3600).to_string();
    let out = db.export(&bad, &["--since", &T2.to_string(), "--until", &t3]);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let friend_line = text
        .lines()
        .find(|l| l.starts_with("friends.jsonl:1:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        friend_line.contains("dangling")
            && friend_line.contains(&format!("(source row {first}/ghost)")),
        "{friend_line}"
    );
    let message_line = text
        .lines()
        .find(|l| l.starts_with("c2c_messages.jsonl:1: m-empty"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        message_line.contains("(source row 302)"),
        "the message's own key: {message_line}"
    );

    crate::export_deletions::deletions_in_a_delta(&db, &gen);
}

fn wrong_password(engine: Engine) {
    let db = Db::start(engine);
    let out_dir = db.dir.path().join("never");
    let secret = "wr0ng-Pa55word";
    let out = db.export_with(&out_dir, &[], secret);
    let text = said(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("cannot connect to"), "{text}");
    assert!(!text.contains(secret), "the password is not shown: {text}");
    // In the URL, too.
    let url = db.url.replace("cutover@", &format!("cutover:{secret}@"));
    let map = db.dir.path().join("mapping.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["export", "--from", &url, "--map"])
        .arg(&map)
        .arg("--out")
        .arg(&out_dir)
        .env_remove("CUTOVER_SOURCE_PASSWORD")
        .output()
        .unwrap();
    let text = said(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("cannot connect to") && text.contains("cutover:***@"),
        "{text}"
    );
    assert!(!text.contains(secret), "the password is not shown: {text}");
    assert!(!out_dir.join("manifest.json").exists());

    // TLS asked for, and the throwaway server has none: refused, not sent in the clear.
    let tls = match engine {
        Engine::MySql => "?require_ssl=true",
        _ => "?sslmode=require",
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["export", "--from", &format!("{}{tls}", db.url), "--map"])
        .arg(&map)
        .arg("--out")
        .arg(&out_dir)
        .env("CUTOVER_SOURCE_PASSWORD", db_rig::PASSWORD)
        .output()
        .unwrap();
    let text = said(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("cannot connect to"), "{text}");
}

#[test]
fn mariadb_full_export_delta_bad_rows_and_deletions() {
    full_delta_bad_rows_and_deletions(Engine::MySql);
}

#[test]
fn postgres_full_export_delta_bad_rows_and_deletions() {
    full_delta_bad_rows_and_deletions(Engine::Postgres);
}

#[test]
fn sqlite_full_export_delta_bad_rows_and_deletions() {
    full_delta_bad_rows_and_deletions(Engine::Sqlite);
}

#[test]
fn mariadb_wrong_password_fails_without_showing_it() {
    wrong_password(Engine::MySql);
}

#[test]
fn postgres_wrong_password_fails_without_showing_it() {
    wrong_password(Engine::Postgres);
}
