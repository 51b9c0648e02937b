//! `sample-data/` holds exactly the bad records its README lists, and nothing else is wrong.

use cutover::source::{validate_export, ExportDir};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn sample_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/sample-data"))
}

/// (file, line, rule) for every row of the table in sample-data/README.md.
fn documented() -> BTreeSet<(String, u64, String)> {
    let readme = std::fs::read_to_string(sample_dir().join("README.md")).expect("README");
    let mut out = BTreeSet::new();
    for row in readme.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let location = cells[1].trim_matches('`');
        let (file, line) = location.rsplit_once(':').expect("file:line");
        for rule in cells[2].split(',') {
            let rule = rule.trim().trim_matches('`').to_string();
            out.insert((file.to_string(), line.parse().expect("line number"), rule));
        }
    }
    out
}

#[test]
fn validate_reports_exactly_the_documented_bad_records() {
    let expected = documented();
    assert!(
        expected.len() >= 10,
        "the README table should list the bad records"
    );
    let export = ExportDir::open(sample_dir()).expect("open sample-data");
    let mut found = BTreeSet::new();
    let report = validate_export(&export, &mut |p| {
        found.insert((p.file, p.line, p.rule.name().to_string()));
    })
    .expect("validate");
    assert_eq!(found, expected);
    for f in &report.files {
        assert!(f.present, "{} should be in the sample", f.file);
        assert_eq!(f.records, f.valid + f.invalid);
    }
}

#[test]
fn the_binary_exits_one_on_the_sample() {
    let o = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .arg("validate")
        .arg(sample_dir())
        .output()
        .expect("run cutover");
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("accounts.jsonl: unknown fields ignored: vip_level"),
        "{text}"
    );
}

#[test]
fn the_sample_is_realistic() {
    let count = |f: &str| {
        std::fs::read_to_string(sample_dir().join(f))
            .expect("file")
            .lines()
            .count()
    };
    assert!(count("accounts.jsonl") >= 50);
    assert!(count("c2c_messages.jsonl") >= 500);
    assert!(count("group_messages.jsonl") >= 400);
    let all = std::fs::read_to_string(sample_dir().join("c2c_messages.jsonl")).expect("c2c")
        + &std::fs::read_to_string(sample_dir().join("group_messages.jsonl")).expect("group");
    for kind in [
        "text", "image", "file", "sound", "video", "location", "face", "custom",
    ] {
        assert!(
            all.contains(&format!("\"type\":\"{kind}\"")),
            "no {kind} element"
        );
    }
    let groups = std::fs::read_to_string(sample_dir().join("groups.jsonl")).expect("groups");
    for kind in ["private", "public", "chatroom", "community"] {
        let n = groups.matches(&format!("\"type\":\"{kind}\"")).count();
        assert!(n >= 8, "{n} {kind} groups");
    }
    assert!(
        all.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "no Chinese text"
    );
    assert!(all.chars().any(|c| c >= '\u{1f300}'), "no emoji");
}
