//! Running the real engine against the simulator, and checking the simulator's state against
//! an export.

#![allow(dead_code, clippy::unwrap_used)] // test support: a failure here is a test failure

use super::{ADMIN, KEY, SDKAPPID};
use cutover::config::{parse_file, resolve, Flags, Runbook};
use cutover::engine::import::Ending;
use cutover::model::console::GroupCustomFields;
use cutover::model::group_id::target_group_id;
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::sim::config::SimConfig;
use cutover::sim::SimHandle;
use cutover::source::{validate_export_with, ExportDir, Valid};
use cutover::tim::SecretKey;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The bundled sample export.
pub(crate) fn sample_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

/// A simulated app set up for the exports we generate: their custom profile, friend and group
/// keys exist, and history never expires from read-back.
pub(crate) fn app_config() -> SimConfig {
    let mut c = SimConfig::default();
    c.app.profile_custom_tags = vec!["Hobby".into(), "Vip".into()];
    c.app.friend_custom_tags = vec!["Close".into(), "Tag".into()];
    c.app.group_custom_fields = GroupCustomFields::every_type(&["Category"]);
    c.app.roaming_days = 0;
    c
}

/// The `[app]` of [`app_config`]'s console, for runbooks: the custom keys of the sample and
/// of generated exports.
pub(crate) const APP_KEYS: &str = cutover::source::gen::CUSTOM_KEYS_APP;

/// `extra` runbook TOML with [`APP_KEYS`] declared, unless it has an `[app]` of its own.
pub(crate) fn with_app_keys(extra: &str) -> String {
    if extra.contains("[app]") {
        extra.to_string()
    } else {
        format!("{extra}\n{APP_KEYS}")
    }
}

/// The runbook of a run from `source` into `handle`, with `extra` TOML (limits, budget) and
/// [`app_config`]'s custom keys declared (unless `extra` has an `[app]`).
pub(crate) fn runbook(handle: &SimHandle, source: &Path, store: &Path, extra: &str) -> Runbook {
    let file = parse_file(&with_app_keys(extra), "test").unwrap();
    let flags = Flags {
        source: Some(source.to_path_buf()),
        store: Some(store.to_path_buf()),
        target_url: Some(handle.url()),
        sdkappid: Some(SDKAPPID),
        admin: Some(ADMIN.into()),
    };
    resolve(&file, &flags, Some(SecretKey::new(KEY))).unwrap()
}

/// Runs preflight and the import step in-process.
pub(crate) async fn import(rb: Runbook) -> Ending {
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    runner.preflight().await.unwrap();
    let import = runner.prepare_import().unwrap();
    import.run().await.unwrap()
}

/// What an export holds, by the keys the target shows.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Expected {
    pub accounts: BTreeSet<String>,
    pub friends: BTreeSet<(String, String)>,
    /// (from, to, time) → count
    pub c2c: BTreeMap<(String, String, i64), usize>,
    pub groups: BTreeMap<String, Option<String>>,
    pub members: BTreeSet<(String, String)>,
    /// group → send times, oldest first
    pub group_msgs: BTreeMap<String, Vec<(String, i64)>>,
}

/// The valid records of the export at `dir`.
pub(crate) fn expected(dir: &Path) -> Expected {
    let export = ExportDir::open(dir).unwrap();
    let mut e = Expected::default();
    let mut group_ids = BTreeMap::new();
    validate_export_with(&export, &mut |_| {}, &mut |_, record| match record {
        Valid::Account(a) => {
            e.accounts.insert(a.id.clone());
        }
        Valid::Friend(f) => {
            e.friends.insert((f.owner.clone(), f.friend.clone()));
        }
        Valid::C2cMessage(m) => {
            *e.c2c
                .entry((m.from.clone(), m.to.clone(), m.sent_at))
                .or_default() += 1;
        }
        Valid::Group(g) => {
            let id = target_group_id(&g.id, g.kind).into_owned();
            group_ids.insert(g.id.clone(), id.clone());
            e.groups.insert(id, g.owner.clone());
        }
        Valid::GroupMember(m) => {
            e.members
                .insert((group_ids[&m.group].clone(), m.member.clone()));
        }
        Valid::GroupMessage(m) => {
            let list = e.group_msgs.entry(group_ids[&m.group].clone()).or_default();
            list.push((m.from.clone(), m.sent_at));
        }
        // The fixtures are full exports: they hold no tombstones.
        Valid::Profile(_) | Valid::Deleted(..) => {}
    })
    .unwrap();
    for list in e.group_msgs.values_mut() {
        // (time, line) order, each sent after the one before ([import] same_second = shift).
        list.sort_by_key(|(_, t)| *t);
        let mut prev = None;
        for (_, t) in list.iter_mut() {
            *t = cutover::store::order::send_time(prev, *t);
            prev = Some(*t);
        }
    }
    for (group, owner) in &e.groups {
        if let Some(owner) = owner {
            e.members.insert((group.clone(), owner.clone()));
        }
    }
    e
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// What the simulator holds, in the same shape.
pub(crate) fn actual(dump: &Value) -> Expected {
    let mut e = Expected::default();
    for a in dump["accounts"].as_array().unwrap() {
        let id = s(&a["UserID"]);
        if id == ADMIN {
            continue;
        }
        for f in a["friends"].as_array().unwrap() {
            assert!(e.friends.insert((id.clone(), s(&f["To_Account"]))));
        }
        assert!(e.accounts.insert(id));
    }
    // A recalled message stays in history, marked: it is gone for the comparison.
    let live = |m: &&Value| m["recalled"] != Value::Bool(true);
    for m in dump["c2c_messages"].as_array().unwrap().iter().filter(live) {
        let key = (
            s(&m["From_Account"]),
            s(&m["To_Account"]),
            m["MsgTimeStamp"].as_i64().unwrap(),
        );
        *e.c2c.entry(key).or_default() += 1;
    }
    for g in dump["groups"].as_array().unwrap() {
        let id = s(&g["GroupId"]);
        e.groups
            .insert(id.clone(), g["Owner_Account"].as_str().map(str::to_string));
        for m in g["members"].as_array().unwrap() {
            assert!(e.members.insert((id.clone(), s(&m["Member_Account"]))));
        }
        let msgs: Vec<(String, i64)> = g["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(live)
            .map(|m| (s(&m["From_Account"]), m["SendTime"].as_i64().unwrap()))
            .collect();
        if !msgs.is_empty() {
            e.group_msgs.insert(id, msgs);
        }
    }
    e
}

/// Asserts that the simulator holds exactly the valid records of the export, once each.
pub(crate) fn assert_same(handle: &SimHandle, dir: &Path) {
    let want = expected(dir);
    let got = actual(&handle.sim().dump());
    assert_eq!(got.accounts, want.accounts, "accounts");
    assert_eq!(got.friends, want.friends, "friend entries");
    assert_eq!(got.c2c, want.c2c, "c2c messages");
    assert_eq!(got.groups, want.groups, "groups");
    assert_eq!(got.members, want.members, "group members");
    assert_eq!(got.group_msgs, want.group_msgs, "group messages");
}

/// `cutover run --headless` from `source` into `handle` through `store`, with `args`; not
/// started yet (stdin closed, stdout not kept). Without `--config` in `args`, a runbook
/// beside the store declares [`APP_KEYS`].
pub(crate) fn run_command(
    handle: &SimHandle,
    store: &Path,
    source: &Path,
    args: &[&str],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args([
        "run",
        "--headless",
        "--admin",
        ADMIN,
        "--target-url",
        &handle.url(),
    ])
    .args(["--sdkappid", &SDKAPPID.to_string()])
    .arg("--source")
    .arg(source)
    .arg("--store")
    .arg(store)
    .args(args)
    .env("CUTOVER_SECRET_KEY", KEY)
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null());
    if !args.contains(&"--config") {
        let book = store.with_extension("app.toml");
        std::fs::write(&book, APP_KEYS).unwrap();
        cmd.arg("--config").arg(book);
    }
    cmd
}

/// [`run_command`] to its end, with its output.
pub(crate) fn run_to_end(
    handle: &SimHandle,
    store: &Path,
    source: &Path,
    args: &[&str],
) -> std::process::Output {
    run_command(handle, store, source, args)
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap()
}

/// The simulator's group names by GroupId.
pub(crate) fn group_names(handle: &SimHandle) -> BTreeMap<String, String> {
    let dump = handle.sim().dump();
    dump["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let s = |v: &Value| v.as_str().unwrap().to_string();
            (s(&g["GroupId"]), s(&g["Name"]))
        })
        .collect()
}
