//! The scratch memory judges every record as the in-memory one does.

use super::*;
use crate::model::{FieldProblem, Rule};
use crate::source::friend_lists::add_friend;
use crate::source::gen::{generate, GenConfig};
use crate::source::memory::InMemory;
use crate::source::{validate_with_memory, ExportDir, Known};
use std::collections::BTreeSet;

fn scratch(dir: &Path) -> ScratchMemory {
    ScratchMemory::create(dir).expect("scratch memory").0
}

/// Every problem of `export` (file, line, field, rule, reason), and the lines found valid.
fn judge(export: &ExportDir, memory: Box<dyn CrossMemory + Send>) -> (Vec<String>, u64) {
    let mut problems = Vec::new();
    let mut valid = 0;
    validate_with_memory(
        export,
        memory,
        &Known::default(),
        &mut |p| {
            problems.push(format!(
                "{}:{} {} {} {}",
                p.file,
                p.line,
                p.field,
                p.rule.name(),
                p.reason
            ))
        },
        &mut |_, _| valid += 1,
    )
    .expect("validation");
    (problems, valid)
}

#[test]
fn scratch_memory_judges_a_spoiled_export_as_memory_does() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GenConfig {
        bad_ratio: 0.2,
        accounts: 300,
        friends_per_account: 4.0,
        c2c_messages: 600,
        groups: 40,
        members_per_group: 6.0,
        group_messages: 600,
        ..GenConfig::default()
    };
    generate(&cfg, &dir.path().join("export")).unwrap();
    let export = ExportDir::open(&dir.path().join("export")).unwrap();
    let in_memory = judge(&export, Box::new(InMemory::default()));
    let on_disk = judge(&export, Box::new(scratch(dir.path())));
    assert_eq!(in_memory, on_disk);
    // Past its caps, the memory goes to the file and still judges alike.
    for cap in [0, 7, 150] {
        let caps = Caps {
            accounts: cap,
            groups: cap / 2,
            seen: cap * 2,
            owners: u32::try_from(cap).unwrap(),
            names: cap.min(3),
            pairs: cap + 1,
        };
        let (spilling, _) = ScratchMemory::with_caps(dir.path(), caps).unwrap();
        assert_eq!(
            judge(&export, Box::new(spilling)),
            in_memory,
            "caps {caps:?}"
        );
    }
    let rules: BTreeSet<&str> = in_memory
        .0
        .iter()
        .filter_map(|p| p.split(' ').nth(2))
        .collect();
    assert!(rules.len() >= 5, "too few kinds of problem: {rules:?}");
    assert!(rules.contains(Rule::DuplicateId.name()), "{rules:?}");
}

fn add(m: &mut ScratchMemory, owner: u32, friend: u32, groups: &[&str]) -> Vec<Rule> {
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    let mut p: Vec<FieldProblem> = Vec::new();
    add_friend(m, owner, friend, &groups, &mut p);
    p.into_iter().map(|x| x.rule).collect()
}

#[test]
fn friend_lists_on_disk_keep_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let in_file = Caps {
        owners: 1,
        names: 5,
        pairs: 2,
        ..Caps::default()
    };
    // Owner 1's names overflow the bits: every name goes to the file from then on.
    let overflowing = Caps {
        owners: 2,
        ..in_file
    };
    for caps in [Caps::default(), in_file, overflowing] {
        friend_lists_keep_the_limits(ScratchMemory::with_caps(dir.path(), caps).unwrap().0);
    }
}

fn friend_lists_keep_the_limits(mut m: ScratchMemory) {
    let max = crate::model::limits::FRIENDS_PER_OWNER_MAX as u32;
    for f in 1..=max {
        assert!(add(&mut m, 0, f, &[]).is_empty());
    }
    assert_eq!(add(&mut m, 0, max + 1, &[]), vec![Rule::TooManyFriends]);
    assert_eq!(add(&mut m, 1, 2, &[]), Vec::<Rule>::new());
    assert_eq!(add(&mut m, 1, 2, &[]), vec![Rule::DuplicateId]);
    for f in 3..=34 {
        let name = format!("G{f}");
        assert!(add(&mut m, 1, f, &[&name, "G3"]).is_empty());
    }
    assert!(add(&mut m, 1, 40, &["G7", "G8"]).is_empty());
    assert_eq!(
        add(&mut m, 1, 41, &["G35"]),
        vec![Rule::TooManyFriendGroups]
    );
    assert!(add(&mut m, 1, 41, &["G9"]).is_empty());
    // The next file starts with empty lists.
    m.next_file();
    assert!(add(&mut m, 1, 2, &[]).is_empty());
}

#[test]
fn first_lines_are_per_file_and_accounts_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = Caps {
        accounts: 1,
        groups: 0,
        seen: 1,
        ..Caps::default()
    };
    for caps in [Caps::default(), tiny] {
        first_lines_and_accounts(ScratchMemory::with_caps(dir.path(), caps).unwrap().0);
    }
}

fn first_lines_and_accounts(mut m: ScratchMemory) {
    assert_eq!(m.first_line(7, 3), None);
    assert_eq!(m.first_line(7, 9), Some(3));
    assert_eq!(m.first_line(17, 4), None);
    assert_eq!(m.first_line(17, 5), Some(4));
    m.next_file();
    assert!(!m.seen_before(8));
    assert!(m.seen_before(8));
    assert!(!m.seen_before(18));
    assert!(m.seen_before(18));
    m.next_file();
    assert_eq!(m.first_line(7, 9), None);
    assert!(!m.seen_before(8));
    m.know_account(1);
    m.know_account(1);
    m.know_account(u64::MAX);
    assert_eq!(m.account_count(), 2);
    assert_eq!(m.account(u64::MAX).map(|a| a.index), Some(1));
    m.know_group(u64::MAX - 1, 1_600_000_000);
    let group = m.group(u64::MAX - 1).expect("known group");
    assert!(group.earlier);
    assert_eq!(group.created_at, 1_600_000_000);
}

#[test]
fn an_sql_failure_is_kept_for_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    // No account fits in memory: they go to the file.
    let caps = Caps {
        accounts: 0,
        ..Caps::default()
    };
    let (mut m, failure) = ScratchMemory::with_caps(dir.path(), caps).unwrap();
    m.conn.execute_batch("DROP TABLE account").unwrap();
    m.know_account(1);
    assert_eq!(m.account(1), None);
    let error = failure.take().expect("the failure is kept");
    assert!(error.to_string().contains("account"), "{error}");
    assert!(failure.take().is_none(), "taken once");
}

#[test]
fn the_scratch_file_goes_when_the_memory_does() {
    let dir = tempfile::tempdir().unwrap();
    let m = scratch(&dir.path().join("cache"));
    assert_eq!(
        std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
        1
    );
    drop(m);
    assert_eq!(
        std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
        0
    );
}

#[test]
fn a_killed_stagings_scratch_file_is_removed_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crossref-left.db"), b"left by a killed run").unwrap();
    std::fs::write(dir.path().join("other.db"), b"not ours").unwrap();
    let m = scratch(dir.path());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"other.db".to_string()), "{names:?}");
    assert!(
        !names.contains(&"crossref-left.db".to_string()),
        "{names:?}"
    );
    drop(m);
}
