//! Every cross-file rule with a case that breaks it and one that does not.

use crate::model::Rule;
use crate::source::{validate_export, ExportDir};
use std::fs;

const ACCOUNTS: &str = r#"{"id": "u1"}
{"id": "u2"}
{"id": "u3"}
{"id": "bad", "nick": 5}
"#;

const GROUPS: &str = r#"{"id": "g1", "type": "public", "name": "g", "owner": "u1", "created_at": 1600000000}
{"id": "g2", "type": "private", "name": "h", "created_at": 1600000000}
{"id": "g3", "type": "avchatroom", "name": "live", "created_at": 1600000000}
"#;

/// Validates an export made of `files` (name, content) and returns (file, line, rule) per problem.
fn problems(files: &[(&str, &str)]) -> Vec<(String, u64, Rule)> {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("manifest.json"),
        r#"{"format": "cutover-export", "version": 1, "exported_at": 1732000000}"#,
    )
    .unwrap();
    let mut has_accounts = false;
    for (name, content) in files {
        has_accounts |= *name == "accounts.jsonl";
        fs::write(dir.path().join(name), content).unwrap();
    }
    if !has_accounts {
        fs::write(dir.path().join("accounts.jsonl"), ACCOUNTS).unwrap();
    }
    let export = ExportDir::open(dir.path()).unwrap();
    let mut out = Vec::new();
    validate_export(&export, &mut |p| out.push((p.file, p.line, p.rule))).unwrap();
    out
}

/// The problems of one file other than accounts.jsonl's known bad line 4.
fn in_file(file: &str, content: &str, extra: &[(&str, &str)]) -> Vec<(u64, Rule)> {
    let mut files = vec![(file, content)];
    files.extend_from_slice(extra);
    problems(&files)
        .into_iter()
        .filter(|(f, _, _)| f == file)
        .map(|(_, line, rule)| (line, rule))
        .collect()
}

#[test]
fn duplicate_account_ids() {
    let got = in_file(
        "accounts.jsonl",
        "{\"id\": \"u1\"}\n{\"id\": \"u2\"}\n{\"id\": \"u1\"}\n",
        &[],
    );
    assert_eq!(got, vec![(3, Rule::DuplicateId)]);
}

#[test]
fn duplicate_profile_and_message_ids() {
    let profiles = "{\"id\": \"u1\"}\n{\"id\": \"u2\"}\n{\"id\": \"u1\"}\n";
    assert_eq!(
        in_file("profiles.jsonl", profiles, &[]),
        vec![(3, Rule::DuplicateId)]
    );
    let msg = |id: &str| {
        format!(
            r#"{{"id": "{id}", "from": "u1", "to": "u2", "sent_at": 1700000000, "body": [{{"type": "text", "text": "x"}}]}}"#
        )
    };
    let c2c = format!("{}\n{}\n{}\n", msg("m1"), msg("m2"), msg("m1"));
    assert_eq!(
        in_file("c2c_messages.jsonl", &c2c, &[]),
        vec![(3, Rule::DuplicateId)]
    );
}

#[test]
fn duplicate_group_ids() {
    let groups = format!(
        "{GROUPS}{}\n",
        r#"{"id": "g1", "type": "public", "name": "again", "created_at": 1600000000}"#
    );
    let got = in_file("groups.jsonl", &groups, &[]);
    assert!(got.contains(&(4, Rule::DuplicateId)), "{got:?}");
    assert!(!got.iter().any(|(l, _)| *l == 1), "{got:?}");
}

#[test]
fn friend_references_self_and_duplicates() {
    let friends = [
        r#"{"owner": "u1", "friend": "u2", "source": "Web"}"#,
        r#"{"owner": "u2", "friend": "u1", "source": "Web"}"#,
        r#"{"owner": "u1", "friend": "u9", "source": "Web"}"#,
        r#"{"owner": "u9", "friend": "u1", "source": "Web"}"#,
        r#"{"owner": "u1", "friend": "bad", "source": "Web"}"#,
        r#"{"owner": "u3", "friend": "u3", "source": "Web"}"#,
        r#"{"owner": "u1", "friend": "u2", "source": "Web"}"#,
    ]
    .join("\n");
    let got = in_file("friends.jsonl", &friends, &[]);
    assert_eq!(
        got,
        vec![
            (3, Rule::DanglingAccount),
            (4, Rule::DanglingAccount),
            (5, Rule::RejectedReference),
            (6, Rule::FriendToSelf),
            (7, Rule::DuplicateId),
        ]
    );
}

#[test]
fn friend_groups_are_counted_per_owner_across_lines() {
    let mut accounts = String::new();
    let mut friends = String::new();
    for i in 0..40 {
        accounts.push_str(&format!("{{\"id\": \"u{i}\"}}\n"));
    }
    // u0 uses one new group per entry: the 33rd distinct group is one too many.
    for i in 1..=33 {
        friends.push_str(&format!(
            "{{\"owner\": \"u0\", \"friend\": \"u{i}\", \"source\": \"Web\", \"groups\": [\"G{i}\"]}}\n"
        ));
    }
    // u1 reuses the same group: fine however many entries.
    for i in 2..=39 {
        friends.push_str(&format!(
            "{{\"owner\": \"u1\", \"friend\": \"u{i}\", \"source\": \"Web\", \"groups\": [\"Work\"]}}\n"
        ));
    }
    let got = in_file("friends.jsonl", &friends, &[("accounts.jsonl", &accounts)]);
    assert_eq!(got, vec![(33, Rule::TooManyFriendGroups)]);
}

#[test]
fn c2c_references_and_times() {
    let lines = [
        r#"{"id": "m1", "from": "u1", "to": "u2", "sent_at": 1700000000, "body": [{"type": "text", "text": "ok"}]}"#,
        r#"{"id": "m2", "from": "u1", "to": "nobody", "sent_at": 1700000000, "body": [{"type": "text", "text": "x"}]}"#,
        r#"{"id": "m3", "from": "bad", "to": "u2", "sent_at": 1700000000, "body": [{"type": "text", "text": "x"}]}"#,
        r#"{"id": "m4", "from": "u1", "to": "u2", "sent_at": 1800000000, "body": [{"type": "text", "text": "x"}]}"#,
    ]
    .join("\n");
    let got = in_file("c2c_messages.jsonl", &lines, &[]);
    assert_eq!(
        got,
        vec![
            (2, Rule::DanglingAccount),
            (3, Rule::RejectedReference),
            (4, Rule::AfterExport)
        ]
    );
}

#[test]
fn group_owner_must_be_an_account() {
    let groups = format!(
        "{GROUPS}{}\n",
        r#"{"id": "g4", "type": "public", "name": "x", "owner": "ghost", "created_at": 1600000000}"#
    );
    let got = in_file("groups.jsonl", &groups, &[]);
    assert_eq!(got, vec![(3, Rule::Avchatroom), (4, Rule::DanglingAccount)]);
}

#[test]
fn member_rules() {
    let members = [
        r#"{"group": "g1", "member": "u1", "role": "owner", "joined_at": 1600000001}"#,
        r#"{"group": "g1", "member": "u2", "joined_at": 1600000000}"#,
        r#"{"group": "g9", "member": "u2"}"#,
        r#"{"group": "g3", "member": "u2"}"#,
        r#"{"group": "g1", "member": "nobody"}"#,
        r#"{"group": "g1", "member": "u3", "role": "owner"}"#,
        r#"{"group": "g2", "member": "u1", "role": "owner"}"#,
        r#"{"group": "g1", "member": "u1"}"#,
        r#"{"group": "g2", "member": "u2", "joined_at": 1800000000}"#,
        r#"{"group": "g2", "member": "u3", "role": "admin", "joined_at": 1600000100, "unread": 2}"#,
    ]
    .join("\n");
    let got = in_file("group_members.jsonl", &members, &[("groups.jsonl", GROUPS)]);
    assert_eq!(
        got,
        vec![
            (2, Rule::JoinedBeforeGroup),
            (3, Rule::DanglingGroup),
            (4, Rule::RejectedReference),
            (5, Rule::DanglingAccount),
            (6, Rule::SecondOwner),
            (6, Rule::OwnerConflict),
            (7, Rule::OwnerConflict),
            (8, Rule::DuplicateId),
            (9, Rule::AfterExport),
        ]
    );
}

#[test]
fn group_message_rules() {
    let msg = |id: &str, group: &str, from: &str, at: i64| {
        format!(
            r#"{{"id": "{id}", "group": "{group}", "from": "{from}", "sent_at": {at}, "body": [{{"type": "text", "text": "x"}}]}}"#
        )
    };
    let lines = [
        msg("gm1", "g1", "u2", 1_600_000_001),
        msg("gm2", "g1", "u2", 1_600_000_000),
        msg("gm3", "g9", "u2", 1_700_000_000),
        msg("gm4", "g3", "u2", 1_700_000_000),
        msg("gm5", "g1", "ghost", 1_700_000_000),
        msg("gm6", "g2", "u1", 1_800_000_000),
        msg("gm1", "g2", "u1", 1_700_000_000),
    ]
    .join("\n");
    let got = in_file("group_messages.jsonl", &lines, &[("groups.jsonl", GROUPS)]);
    assert_eq!(
        got,
        vec![
            (2, Rule::SentBeforeGroup),
            (3, Rule::DanglingGroup),
            (4, Rule::RejectedReference),
            (5, Rule::DanglingAccount),
            (6, Rule::AfterExport),
            (7, Rule::DuplicateId),
        ]
    );
}

#[test]
fn a_clean_export_has_no_problems() {
    let accounts = "{\"id\": \"u1\"}\n{\"id\": \"u2\"}\n";
    let got = problems(&[
        ("accounts.jsonl", accounts),
        (
            "groups.jsonl",
            r#"{"id": "g1", "type": "public", "name": "g", "owner": "u1", "created_at": 1600000000}"#,
        ),
        (
            "group_members.jsonl",
            r#"{"group": "g1", "member": "u1", "role": "owner", "joined_at": 1600000001}"#,
        ),
    ]);
    assert!(got.is_empty(), "{got:?}");
}
