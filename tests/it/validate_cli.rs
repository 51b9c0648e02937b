//! `cutover validate` as a user runs it: the real binary, its output and exit codes.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn cutover(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .output()
        .expect("run cutover")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_export(dir: &Path, accounts: &str) {
    fs::write(
        dir.join("manifest.json"),
        r#"{"format": "cutover-export", "version": 1, "exported_at": 1732000000, "source": "test"}"#,
    )
    .expect("write manifest");
    fs::write(dir.join("accounts.jsonl"), accounts).expect("write accounts");
}

#[test]
fn clean_export_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    write_export(
        dir.path(),
        "{\"id\": \"u1\"}\n{\"id\": \"u2\", \"mood\": \"ok\"}\n",
    );
    let o = cutover(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("clean: 2 records, no problems"), "{text}");
    assert!(
        text.contains("accounts.jsonl: unknown fields ignored: mood"),
        "{text}"
    );
}

#[test]
fn problems_exit_one_with_file_line_record_field() {
    let dir = tempfile::tempdir().unwrap();
    write_export(
        dir.path(),
        "{\"id\": \"u1\"}\n{\"id\": \"u1\"}\n{\"id\": 3}\n",
    );
    let out_file = dir.path().join("problems.jsonl");
    let o = cutover(&[
        "validate",
        dir.path().to_str().unwrap(),
        "--problems-out",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains("accounts.jsonl:2: u1 id: duplicate id, first at line 1 [duplicate_id]"),
        "{text}"
    );
    assert!(
        text.contains("accounts.jsonl:3: - id: expected a string, got an integer [wrong_type]"),
        "{text}"
    );
    let lines: Vec<serde_json::Value> = fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], 2);
    assert_eq!(lines[0]["rule"], "duplicate_id");
    assert_eq!(lines[1]["field"], "id");
}

#[test]
fn json_report_has_totals_and_problems() {
    let dir = tempfile::tempdir().unwrap();
    write_export(dir.path(), "{\"id\": \"u1\"}\n{\"id\": \"\"}\n");
    let o = cutover(&["validate", "--json", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["totals"]["records"], 2);
    assert_eq!(v["totals"]["invalid"], 1);
    assert_eq!(v["clean"], false);
    assert_eq!(v["manifest"]["source"], "test");
    assert_eq!(v["files"][0]["problems_by_rule"]["bad_length"], 1);
    assert_eq!(v["files"][1]["present"], false);
    assert_eq!(v["problems"][0]["line"], 2);
}

#[test]
fn max_shown_limits_the_screen_not_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let bad: String = (0..5).map(|_| "{\"id\": 1}\n").collect();
    write_export(dir.path(), &bad);
    let o = cutover(&["validate", "--max-shown", "2", dir.path().to_str().unwrap()]);
    let text = stdout(&o);
    assert_eq!(text.matches("[wrong_type]").count(), 2, "{text}");
    assert!(text.contains("… and 3 more"), "{text}");
    assert!(text.contains("5 problems in 5 of 5 records"), "{text}");
}

#[test]
fn unreadable_exports_exit_two_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let o = cutover(&["validate", path]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("manifest.json is missing"),
        "{}",
        stderr(&o)
    );

    fs::write(
        dir.path().join("manifest.json"),
        r#"{"format": "cutover-export", "version": 3, "exported_at": 1}"#,
    )
    .unwrap();
    let o = cutover(&["validate", path]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("version 3 is not supported; this console reads version 1"));

    let o = cutover(&["validate", dir.path().join("missing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a directory"));
}

#[test]
fn a_corrupt_gzip_file_is_named_with_its_line() {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    write_export(dir.path(), "{\"id\": \"u1\"}\n");
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    for i in 0..20_000 {
        writeln!(enc, "{{\"id\": \"m{i}\", \"from\": \"u1\", \"to\": \"u1\", \"sent_at\": 1, \"body\": [{{\"type\": \"text\", \"text\": \"{i}\"}}]}}").unwrap();
    }
    let mut gz = enc.finish().unwrap();
    let keep = gz.len() / 2;
    gz.truncate(keep);
    fs::write(dir.path().join("c2c_messages.jsonl.gz"), gz).unwrap();
    let o = cutover(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("c2c_messages.jsonl.gz: cannot read after line"),
        "{err}"
    );
}

#[test]
fn same_second_group_messages_are_counted_as_shifts() {
    let dir = tempfile::tempdir().unwrap();
    write_export(dir.path(), "{\"id\": \"u1\"}\n");
    fs::write(
        dir.path().join("groups.jsonl"),
        "{\"id\": \"g\", \"type\": \"public\", \"name\": \"G\", \"created_at\": 1600000000}\n",
    )
    .unwrap();
    let msg = |id: &str, t: i64| {
        format!("{{\"id\": \"{id}\", \"group\": \"g\", \"from\": \"u1\", \"sent_at\": {t}, \"body\": [{{\"type\": \"text\", \"text\": \"x\"}}]}}\n")
    };
    // Out of order in the file: the burst of three at ..100 is found over the whole group.
    let text = [
        msg("m3", 1600000100),
        msg("m1", 1600000100),
        msg("m0", 1600000050),
        msg("m2", 1600000100),
    ]
    .concat();
    fs::write(dir.path().join("group_messages.jsonl"), text).unwrap();
    let o = cutover(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o)
            .contains("same-second group messages: 2 will be sent up to 2 s after their own time"),
        "{}",
        stdout(&o)
    );
    let o = cutover(&["validate", "--json", dir.path().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["same_second"]["shifted"], 2);
    assert_eq!(v["same_second"]["largest_secs"], 2);
    assert_eq!(v["same_second"]["refused"], 2);
}

#[test]
fn a_delta_says_what_it_deletes_and_a_full_export_refuses_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let lines = "{\"id\": \"u1\"}\n{\"id\": \"u2\", \"deleted\": true}\n\
                 {\"id\": \"u3\", \"deleted\": true}\n{\"id\": \"u3\"}\n";
    write_export(dir.path(), lines);
    // A full export: the tombstones are problems, named by line.
    let o = cutover(&["validate", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(text.contains("accounts.jsonl:2: u2 deleted"), "{text}");
    assert!(text.contains("[tombstone]"), "{text}");

    // A delta: tombstones are deletions; restating a deleted account is refused.
    fs::write(
        dir.path().join("manifest.json"),
        r#"{"format": "cutover-export", "version": 1, "exported_at": 1732003600, "delta_of": 1732000000}"#,
    )
    .unwrap();
    fs::create_dir_all(dir.path().join("keys")).unwrap();
    fs::write(
        dir.path().join("keys/friends.jsonl"),
        "{\"owner\": \"u1\", \"friend\": \"u2\"}\n",
    )
    .unwrap();
    let o = cutover(&["validate", dir.path().to_str().unwrap()]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("accounts.jsonl:4: u3 id"), "{text}");
    assert!(text.contains("[account_recreated]"), "{text}");
    assert!(text.contains("accounts.jsonl: 2 tombstones"), "{text}");
    assert!(
        text.contains("keys/friends.jsonl: the old system's whole key set of friends (1 keys)"),
        "{text}"
    );
}
