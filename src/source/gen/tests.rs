use super::*;
use crate::model::element::ELEMENT_TYPES;
use crate::source::{validate_export, ExportDir, ExportFile, Problem};
use flate2::read::MultiGzDecoder;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::io::Read;

fn small(seed: u64) -> GenConfig {
    GenConfig {
        seed,
        accounts: 300,
        friends_per_account: 8.0,
        c2c_messages: 1234,
        groups: 21,
        members_per_group: 12.0,
        group_messages: 987,
        ..GenConfig::default()
    }
}

fn run(cfg: &GenConfig) -> (tempfile::TempDir, GenStats) {
    let dir = tempfile::tempdir().unwrap();
    let stats = generate(cfg, dir.path()).unwrap();
    (dir, stats)
}

/// Every file of the export, name → contents (decompressed).
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let bytes = fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

fn lines(dir: &Path, file: ExportFile) -> Vec<Value> {
    let plain = dir.join(file.file_name());
    let text = if plain.exists() {
        fs::read_to_string(plain).unwrap()
    } else {
        let mut s = String::new();
        let gz = fs::File::open(dir.join(format!("{}.gz", file.file_name()))).unwrap();
        MultiGzDecoder::new(gz).read_to_string(&mut s).unwrap();
        s
    };
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn validate(dir: &Path) -> (crate::source::ValidationReport, Vec<Problem>) {
    let mut problems = Vec::new();
    let export = ExportDir::open(dir).unwrap();
    let report = validate_export(&export, &mut |p| problems.push(p)).unwrap();
    (report, problems)
}

#[test]
fn same_seed_gives_identical_bytes() {
    let cfg = small(42);
    let (a, _) = run(&cfg);
    let (b, _) = run(&cfg);
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert_eq!(fa.len(), 8);
    assert_eq!(fa, fb);
    let (c, _) = run(&small(43));
    let fc = files(c.path());
    for ((name, x), (_, y)) in fa.iter().zip(&fc) {
        if name.ends_with(".jsonl") {
            assert_ne!(x, y, "{name} does not depend on the seed");
        }
    }
}

#[test]
fn clean_output_validates_clean_with_exact_totals() {
    let cfg = small(7);
    let (dir, stats) = run(&cfg);
    let (report, problems) = validate(dir.path());
    assert!(
        report.is_clean(),
        "{:?}",
        &problems[..problems.len().min(10)]
    );
    assert_eq!(report.records(), stats.records());
    assert_eq!(stats.bad(), 0);
    let count = |f: ExportFile| stats.files[f as usize].records;
    assert_eq!(count(ExportFile::Accounts), 300);
    assert_eq!(count(ExportFile::C2cMessages), 1234);
    assert_eq!(count(ExportFile::Groups), 21);
    assert_eq!(count(ExportFile::GroupMessages), 987);
    let profiles = count(ExportFile::Profiles);
    assert!((200..=290).contains(&profiles), "{profiles} profiles");
    let friends = count(ExportFile::Friends);
    assert!(
        (2000..=2800).contains(&friends),
        "{friends} friend lines for 300 × 8"
    );
    let members = count(ExportFile::GroupMembers);
    assert!(
        (200..=260).contains(&members),
        "{members} members for 21 × 12"
    );
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["source"], "cutover gen seed 7");
    assert_eq!(manifest["watermark"], 1_732_000_000);
}

#[test]
fn every_element_type_in_both_message_files() {
    let (dir, _) = run(&small(3));
    for file in [ExportFile::C2cMessages, ExportFile::GroupMessages] {
        let types: BTreeSet<String> = lines(dir.path(), file)
            .iter()
            .flat_map(|m| m["body"].as_array().unwrap().clone())
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = ELEMENT_TYPES.iter().map(|t| t.to_string()).collect();
        assert_eq!(types, want, "{file}");
    }
}

#[test]
fn shapes_hold() {
    let (dir, _) = run(&small(11));
    let d = dir.path();
    let friends = lines(d, ExportFile::Friends);
    let pairs: BTreeSet<(String, String)> = friends
        .iter()
        .map(|f| (f["owner"].to_string(), f["friend"].to_string()))
        .collect();
    assert_eq!(pairs.len(), friends.len(), "duplicate friend pairs");
    assert!(pairs.iter().all(|(a, b)| a != b));
    let mutual = pairs
        .iter()
        .filter(|(a, b)| pairs.contains(&(b.clone(), a.clone())))
        .count();
    assert!(
        mutual * 10 > pairs.len() * 8,
        "{mutual} of {} mutual",
        pairs.len()
    );
    // Heavy tail: the busiest owner has several times the mean.
    let mut per_owner = std::collections::BTreeMap::new();
    for (a, _) in &pairs {
        *per_owner.entry(a.clone()).or_insert(0usize) += 1;
    }
    assert!(
        per_owner.values().max() > Some(&30),
        "{:?}",
        per_owner.values().max()
    );
    // Conversations: strictly increasing times per pair, before the export.
    let mut last = std::collections::BTreeMap::new();
    for m in lines(d, ExportFile::C2cMessages) {
        let (from, to) = (m["from"].as_str().unwrap(), m["to"].as_str().unwrap());
        let key = if from < to {
            (from.to_string(), to.to_string())
        } else {
            (to.to_string(), from.to_string())
        };
        let t = m["sent_at"].as_i64().unwrap();
        assert!(t < 1_732_000_000);
        if let Some(prev) = last.insert(key, t) {
            assert!(t > prev, "not increasing: {m}");
        }
    }
    // Groups: one owner each, agreeing with groups.jsonl; never avchatroom.
    let groups = lines(d, ExportFile::Groups);
    assert!(groups.iter().all(|g| g["type"] != "avchatroom"));
    let kinds: BTreeSet<&str> = groups.iter().map(|g| g["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 4);
    let members = lines(d, ExportFile::GroupMembers);
    for g in &groups {
        let owners: Vec<&Value> = members
            .iter()
            .filter(|m| m["group"] == g["id"] && m["role"] == "owner")
            .collect();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0]["member"], g["owner"]);
    }
    assert!(members.iter().any(|m| m["role"] == "admin"));
    assert!(members.iter().any(|m| m.get("unread").is_some()));
}

#[test]
fn bad_ratio_gives_problems_and_every_bad_line_is_caught() {
    let cfg = GenConfig {
        bad_ratio: 0.05,
        gzip: true,
        ..small(5)
    };
    let (dir, stats) = run(&cfg);
    assert!(dir.path().join("friends.jsonl.gz").exists());
    let (report, _) = validate(dir.path());
    assert!(!report.is_clean());
    assert!(stats.bad() > 100, "{} bad", stats.bad());
    for (f, summary) in stats.files.iter().zip(&report.files) {
        // Every bad line is caught; bad lines may make good ones invalid too (a duplicate id
        // flags the second line, a spoiled member may claim a second owner).
        assert!(
            summary.invalid >= f.bad,
            "{}: {} < {}",
            f.file,
            summary.invalid,
            f.bad
        );
        assert_eq!(summary.records, f.records, "{}", f.file);
    }
}

#[test]
fn bad_records_break_rules_of_every_kind() {
    let cfg = GenConfig {
        bad_ratio: 0.5,
        accounts: 100,
        friends_per_account: 2.0,
        c2c_messages: 200,
        groups: 60,
        members_per_group: 3.0,
        group_messages: 200,
        ..GenConfig::default()
    };
    let (dir, stats) = run(&cfg);
    let (report, problems) = validate(dir.path());
    assert!(report.invalid() >= stats.bad());
    let rules: BTreeSet<String> = problems.iter().map(|p| p.rule.to_string()).collect();
    for want in [
        "duplicate_id",
        "bad_length",
        "unknown_enum",
        "dangling_account",
        "dangling_group",
        "friend_to_self",
        "empty_body",
        "joined_before_group",
        "sent_before_group",
        "invalid_json",
        "avchatroom",
        "wrong_type",
    ] {
        assert!(rules.contains(want), "no {want} in {rules:?}");
    }
    assert!(!rules.contains("invalid_utf8"), "{rules:?}");
}

#[test]
fn refuses_an_existing_export_without_force() {
    let cfg = GenConfig {
        accounts: 20,
        c2c_messages: 10,
        groups: 2,
        group_messages: 10,
        ..GenConfig::default()
    };
    let (dir, _) = run(&cfg);
    let err = generate(&cfg, dir.path()).unwrap_err().to_string();
    assert!(err.contains("--force"), "{err}");
    let gz = GenConfig {
        force: true,
        gzip: true,
        ..cfg
    };
    generate(&gz, dir.path()).unwrap();
    assert!(!dir.path().join("accounts.jsonl").exists());
    assert!(validate(dir.path()).0.is_clean());
}

#[test]
fn tiny_and_empty_exports_are_valid() {
    for (accounts, groups, c2c, gm) in [(1, 0, 0, 0), (2, 1, 5, 3), (3, 4, 40, 40)] {
        let cfg = GenConfig {
            accounts,
            groups,
            c2c_messages: c2c,
            group_messages: gm,
            ..GenConfig::default()
        };
        let (dir, stats) = run(&cfg);
        assert_eq!(stats.files[ExportFile::C2cMessages as usize].records, c2c);
        assert_eq!(stats.files[ExportFile::GroupMessages as usize].records, gm);
        let (report, problems) = validate(dir.path());
        assert!(report.is_clean(), "{accounts}/{groups}: {problems:?}");
    }
    assert!(GenConfig {
        accounts: 0,
        ..GenConfig::default()
    }
    .check()
    .is_err());
    assert!(GenConfig {
        bad_ratio: 1.5,
        ..GenConfig::default()
    }
    .check()
    .is_err());
    let no_groups = GenConfig {
        groups: 0,
        ..GenConfig::default()
    };
    assert!(no_groups.check().is_err());
}

/// Without custom keys the export is the same but for them: no record has a custom field, and
/// the other files are byte for byte those of the same seed with them.
#[test]
fn custom_keys_are_written_only_when_asked() {
    let with = small(5);
    let without = GenConfig {
        custom_keys: false,
        ..small(5)
    };
    let (a, _) = run(&with);
    let (b, _) = run(&without);
    let read = |d: &tempfile::TempDir, f: &str| std::fs::read_to_string(d.path().join(f)).unwrap();
    for f in ["profiles.jsonl", "friends.jsonl", "groups.jsonl"] {
        assert!(read(&a, f).contains("\"custom\""), "{f}");
        assert!(!read(&b, f).contains("\"custom\""), "{f}");
    }
    for f in [
        "accounts.jsonl",
        "c2c_messages.jsonl",
        "group_messages.jsonl",
    ] {
        assert_eq!(read(&a, f), read(&b, f), "{f}");
    }
}
