use super::*;
use crate::config::EXAMPLE;
use crate::model::history::HistorySince;

fn key() -> Option<SecretKey> {
    Some(SecretKey::new("k3y-value"))
}

#[test]
fn the_example_resolves() {
    let file = parse_file(EXAMPLE, "runbook.toml").unwrap();
    let rb = resolve(&file, &Flags::default(), key()).unwrap();
    assert_eq!(rb.target.base(), "https://adminapisgp.im.qcloud.com");
    assert_eq!(rb.batches[&Api::ImportGroupMsg], 7);
    assert_eq!(rb.rates[&Api::MultiaccountImport], 100);
    assert!(matches!(
        rb.stop_service.as_ref().unwrap().kind,
        HookKind::Command { .. }
    ));
    match &rb.resume_service.as_ref().unwrap().kind {
        HookKind::Http {
            method,
            expect_status,
            ..
        } => assert_eq!((method.as_str(), *expect_status), ("POST", 200)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn flags_win_over_the_file_and_suffice_alone() {
    let file = parse_file(EXAMPLE, "runbook.toml").unwrap();
    let flags = Flags {
        target_url: Some("http://127.0.0.1:9000".into()),
        sdkappid: Some(7),
        admin: Some("relay".into()),
        source: Some("elsewhere".into()),
        store: Some("x.db".into()),
    };
    let rb = resolve(&file, &flags, key()).unwrap();
    assert_eq!(
        (rb.target.base(), rb.sdkappid, rb.admin.as_str()),
        ("http://127.0.0.1:9000", 7, "relay")
    );
    let alone = resolve(&RunbookFile::default(), &flags, key()).unwrap();
    assert!(alone.stop_service.is_none() && alone.resume_service.is_none());
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
[target]
url = "mars"
[hooks.stop_service]
command = "x"
url = "http://y"
[hooks.restart]
command = "z"
[limits.importmsgs]
rate = 5
[limits.importmsg]
batch = 3
[concurrency]
min_in_flight = 10
max_in_flight = 2
"#;
    let file = parse_file(text, "rb.toml").unwrap();
    let problems = resolve(&file, &Flags::default(), None).unwrap_err();
    let all = problems.join("\n");
    for expected in [
        "unknown target \"mars\"",
        "SDKAppID is missing",
        "admin identifier is missing",
        "export directory is missing",
        "store is missing",
        "CUTOVER_SECRET_KEY",
        "both command and url",
        "[hooks.restart] is not a hook",
        "[limits.importmsgs]: no such API",
        "batch does not apply",
        "min_in_flight",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
}

#[test]
fn unknown_keys_name_the_file() {
    let e = parse_file("[target]\nsdkappid = \"abc\"\n", "rb.toml").unwrap_err();
    assert!(e.starts_with("rb.toml"), "{e}");
    assert!(parse_file("[targets]\n", "rb.toml").is_err());
}

#[test]
fn the_key_never_shows() {
    let file = parse_file(EXAMPLE, "runbook.toml").unwrap();
    let rb = resolve(&file, &Flags::default(), key()).unwrap();
    let shown = format!("{rb:?} {}", serde_json::to_string(&rb).unwrap());
    assert!(!shown.contains("k3y-value"), "{shown}");
}

#[test]
fn the_sync_section_is_checked_whole() {
    let file = parse_file(EXAMPLE, "runbook.toml").unwrap();
    let rb = resolve(&file, &Flags::default(), key()).unwrap();
    let sync = rb.sync.unwrap();
    assert_eq!(sync.listen.to_string(), "127.0.0.1:8090");
    assert_eq!(sync.c2c_mode, C2cMode::Importmsg);
    assert!(matches!(sync.sink, OldSink::Webhook(_)));
    assert_eq!((rb.verify.sample, rb.verify.roaming_days), (1.0, 7));
    let bad = parse_file(
        "[target]\nurl = \"http://127.0.0.1:1\"\nsdkappid = 1\nadmin = \"a\"\n[source]\ndir = \"d\"\n[store]\npath = \"s\"\n\
         [sync]\nlisten = \"everywhere\"\nold_webhook = \"ftp://x\"\nold_jsonl = \"f\"\nc2c_mode = \"fax\"\n\
         [verify]\nsample = 0\n",
        "bad.toml",
    )
    .unwrap();
    let problems = resolve(&bad, &Flags::default(), key())
        .unwrap_err()
        .join("\n");
    for want in [
        "listen \"everywhere\"",
        "both old_webhook and old_jsonl",
        "c2c_mode \"fax\"",
        "sample must be more than 0",
    ] {
        assert!(problems.contains(want), "missing {want:?} in:\n{problems}");
    }
}

#[test]
fn the_strategy_matches_the_sync_section() {
    let base = "[target]\nurl = \"http://127.0.0.1:1\"\nsdkappid = 1\nadmin = \"a\"\n[source]\ndir = \"d\"\n[store]\npath = \"s\"\n";
    let sync = "[sync]\nold_webhook = \"http://127.0.0.1:2/hook\"\n";
    let run = |text: String| {
        resolve(
            &parse_file(&text, "t.toml").unwrap(),
            &Flags::default(),
            key(),
        )
    };
    assert_eq!(
        run(base.to_string()).unwrap().strategy,
        Strategy::ForcedUpgrade
    );
    assert_eq!(
        run(format!("{base}{sync}")).unwrap().strategy,
        Strategy::Coexistence
    );
    let refused = |text: String, want: &str| {
        let problems = run(text).unwrap_err().join("\n");
        assert!(problems.contains(want), "missing {want:?} in {problems}");
    };
    refused(
        format!("strategy = \"coexistence\"\n{base}"),
        "coexistence needs a [sync] section",
    );
    refused(
        format!("strategy = \"forced_upgrade\"\n{base}{sync}"),
        "forced_upgrade has no sync",
    );
    refused(
        format!("strategy = \"big_bang\"\n{base}"),
        "not coexistence or forced_upgrade",
    );
    refused(
        format!("{base}[window]\nends_at = \"3am\"\n"),
        "ends_at \"3am\" is not an RFC 3339 time",
    );
    let rb = run(format!(
        "{base}[window]\nends_at = \"2024-11-19T15:06:40+08:00\"\n"
    ))
    .unwrap();
    assert_eq!(rb.window_end, Some(1_732_000_000));
}

#[test]
fn conversation_lists_are_updated_unless_the_runbook_says_not() {
    let mut file = parse_file(EXAMPLE, "runbook.toml").unwrap();
    assert!(
        resolve(&file, &Flags::default(), key())
            .unwrap()
            .update_conversations
    );
    file.import.update_conversations = None;
    assert!(
        resolve(&file, &Flags::default(), key())
            .unwrap()
            .update_conversations
    );
    let off = EXAMPLE.replace(
        "update_conversations = true",
        "update_conversations = false",
    );
    let file = parse_file(&off, "runbook.toml").unwrap();
    assert!(
        !resolve(&file, &Flags::default(), key())
            .unwrap()
            .update_conversations
    );
}

#[test]
fn same_second_is_shift_unless_refuse_is_asked_for() {
    let example = parse_file(EXAMPLE, "runbook.toml").unwrap();
    let rb = resolve(&example, &Flags::default(), key()).unwrap();
    assert_eq!(rb.same_second, SameSecond::Shift);
    let with = |text: &str| {
        let mut file = parse_file(EXAMPLE, "runbook.toml").unwrap();
        file.import = parse_file(text, "t").unwrap().import;
        resolve(&file, &Flags::default(), key())
    };
    assert_eq!(with("").unwrap().same_second, SameSecond::Shift);
    let refuse = with("[import]\nsame_second = \"refuse\"\n").unwrap();
    assert_eq!(refuse.same_second, SameSecond::Refuse);
    let problems = with("[import]\nsame_second = \"drop\"\n").unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains("same_second \"drop\"")),
        "{problems:?}"
    );
}

/// The example with each `(from, to)` replaced, resolved.
fn example_with(replace: &[(&str, &str)]) -> Result<Runbook, Vec<String>> {
    let text = replace
        .iter()
        .fold(EXAMPLE.to_string(), |t, (from, to)| t.replace(from, to));
    resolve(
        &parse_file(&text, "runbook.toml").unwrap(),
        &Flags::default(),
        key(),
    )
}

#[test]
fn history_since_takes_a_date_a_time_or_the_roaming_period() {
    let at = |value: &str| {
        example_with(&[(
            "# history_since = \"roaming\"",
            &format!("history_since = {value:?}"),
        )])
    };
    assert_eq!(example_with(&[]).unwrap().history_since, None);
    assert_eq!(
        at("2026-11-01").unwrap().history_since,
        Some(HistorySince::At(1_793_491_200))
    );
    assert_eq!(
        at("2026-11-01T08:00:00+08:00").unwrap().history_since,
        Some(HistorySince::At(1_793_491_200))
    );
    assert_eq!(
        at("roaming").unwrap().history_since,
        Some(HistorySince::Roaming { days: 7 })
    );
    let longer = example_with(&[
        (
            "# history_since = \"roaming\"",
            "history_since = \"roaming\"",
        ),
        ("roaming_days = 7", "roaming_days = 30"),
    ])
    .unwrap();
    assert_eq!(
        (longer.history_since, longer.verify.roaming_days),
        (Some(HistorySince::Roaming { days: 30 }), 30)
    );
    for bad in ["2026-02-30", "last week", "1.11.2026"] {
        let problems = at(bad).unwrap_err().join("\n");
        assert!(
            problems.contains(&format!("[import] history_since {bad:?} is not a date")),
            "{problems}"
        );
    }
    let problems = example_with(&[("roaming_days = 7", "roaming_days = -1")])
        .unwrap_err()
        .join("\n");
    assert!(
        problems.contains("[app] roaming_days must be 0"),
        "{problems}"
    );
}

#[test]
fn the_two_roaming_periods_must_agree() {
    let problems = example_with(&[(
        "precopy_sample = 0.01",
        "precopy_sample = 0.01\nroaming_days = 30",
    )])
    .unwrap_err()
    .join("\n");
    assert!(
        problems.contains("[verify] roaming_days (30) and [app] roaming_days (7) differ"),
        "{problems}"
    );
}

#[test]
fn precopy_sample_is_a_fraction_defaulting_to_one_percent() {
    let rb = example_with(&[("precopy_sample = 0.01\n", "")]).unwrap();
    assert_eq!(rb.verify_precopy_sample, DEFAULT_PRECOPY_SAMPLE);
    for ok in [0.0, 0.25, 1.0] {
        let rb = example_with(&[("precopy_sample = 0.01", &format!("precopy_sample = {ok:?}"))])
            .unwrap();
        assert_eq!(rb.verify_precopy_sample, ok);
    }
    for bad in ["1.5", "-0.1", "nan"] {
        let problems =
            example_with(&[("precopy_sample = 0.01", &format!("precopy_sample = {bad}"))])
                .unwrap_err()
                .join("\n");
        assert!(
            problems.contains("[verify] precopy_sample must be a fraction from 0 to 1"),
            "{problems}"
        );
    }
}

#[test]
fn the_scenario_section_needs_all_four_facts_and_refuses_what_it_rules_out() {
    let base = "[target]\nurl = \"http://127.0.0.1:1\"\nsdkappid = 1\nadmin = \"a\"\n[source]\ndir = \"d\"\n[store]\npath = \"s\"\n";
    let sync = "[sync]\nold_webhook = \"http://127.0.0.1:2/hook\"\n";
    let run = |text: String| {
        resolve(
            &parse_file(&text, "t.toml").unwrap(),
            &Flags::default(),
            key(),
        )
    };
    let facts = |old: &str, accounts: bool, routing: bool, richer: bool| {
        format!(
            "[scenario]\nold_system = \"{old}\"\naccounts_in_old_system = {accounts}\n\
             message_routing = {routing}\nricher_callbacks = {richer}\n"
        )
    };
    let problems = run(format!("{base}[scenario]\nold_system = \"mainframe\"\n"))
        .unwrap_err()
        .join("\n");
    assert!(problems.contains("third_party or self_built"), "{problems}");
    assert!(
        problems.contains("missing: accounts_in_old_system, message_routing, richer_callbacks"),
        "{problems}"
    );
    // Scenario 2 with coexistence: refused with the guide's reason; forced upgrade is fine.
    let rb = run(format!(
        "{base}{sync}{}",
        facts("third_party", true, true, false)
    ))
    .unwrap();
    let why = rb.scenario_refusal().unwrap_or_default();
    assert!(why.contains("scenario 2"), "{why}");
    assert!(
        why.contains("cannot be synced to the new system in real time"),
        "{why}"
    );
    let rb = run(format!("{base}{}", facts("third_party", true, true, false))).unwrap();
    assert_eq!(rb.scenario_refusal(), None);
    assert_eq!(rb.strategy_line(), "forced upgrade · scenario 2");
    // Scenario 4 allows coexistence.
    let rb = run(format!(
        "{base}{sync}{}",
        facts("self_built", false, true, true)
    ))
    .unwrap();
    assert_eq!(rb.scenario_refusal(), None);
    assert_eq!(rb.strategy_line(), "coexistence · scenario 4");
}
