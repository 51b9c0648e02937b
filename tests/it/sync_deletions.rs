//! Deletions and recalls in two-way sync: the old system's `friend_deleted`, `account_deleted`,
//! `c2c_message_recalled` and `group_message_recalled` reach Tencent IM through the deletion
//! APIs (naming a message by the MsgKey or MsgSeq the target gave it when the relay wrote it),
//! and Tencent's deletion callbacks reach the old system in the same vocabulary, the relay's
//! own deletions and recalls dropped as echoes.
//!
//! The simulator serves the messages, groups and accounts; the four deletion APIs are served
//! by a stub in front of it (`DeletionStub`), which records what it was sent and answers a
//! repeat with the API's repeat code (§4.7b). The deletion callbacks are made by hand, signed
//! as Tencent signs them, and posted to the relay's callback endpoint.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::alone::in_own_process;
use common::engine::app_config;
use common::{client, wait_for, wait_until, webhook, Received, Rig};
use common::{ADMIN, KEY, PATIENCE, SDKAPPID};
use cutover::config::{parse_file, resolve, Flags, Runbook};
use cutover::model::sync_event::Direction;
use cutover::sim::SimHandle;
use cutover::store::sync::{counts, ledger_has};
use cutover::sync::relay::{self, RelayHandle};
use cutover::tim::wire::account::{AccountItem, MultiaccountImport};
use cutover::tim::wire::c2c::SendMsg;
use cutover::tim::wire::MsgElement;
use cutover::tim::SecretKey;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CALLBACK_TOKEN: &str = "callback-token-for-deletions";
const INGEST_TOKEN: &str = "ingest-token-for-deletions";
/// When every message of the test was sent.
const T: i64 = 1_764_000_000;

/// What the stub was sent: (API path, body), in order.
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

/// The four deletion APIs, answered here; every other call is passed to the simulator.
struct DeletionStub {
    url: String,
    calls: Calls,
}

impl DeletionStub {
    async fn start(sim: &SimHandle) -> DeletionStub {
        use axum::body::Bytes;
        use axum::http::Uri;
        let calls = Calls::default();
        let (seen, upstream) = (Arc::clone(&calls), sim.url());
        let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
            let (seen, upstream) = (Arc::clone(&seen), upstream.clone());
            async move {
                let path = uri.path().to_string();
                if let Some(answer) = deletion_answer(&seen, &path, &body) {
                    return axum::Json(answer);
                }
                let url = format!("{upstream}{}", uri.path_and_query().unwrap());
                let answer = reqwest::Client::new().post(url).body(body).send().await;
                let bytes = answer.unwrap().bytes().await.unwrap();
                axum::Json(serde_json::from_slice::<Value>(&bytes).unwrap())
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        DeletionStub { url, calls }
    }

    /// The bodies sent to the API whose path ends with `api`.
    fn sent(&self, api: &str) -> Vec<Value> {
        let calls = self.calls.lock().unwrap();
        let of_api = calls.iter().filter(|(p, _)| p.ends_with(api));
        of_api.map(|(_, b)| b.clone()).collect()
    }
}

/// The stub's answer to a deletion API (`None`: not one), recording the call: done the first
/// time, the API's repeat code for the same body again.
fn deletion_answer(seen: &Calls, path: &str, body: &[u8]) -> Option<Value> {
    let api = [
        "account_delete",
        "friend_delete",
        "group_msg_recall",
        "admin_msgwithdraw",
    ]
    .into_iter()
    .find(|a| path.ends_with(a))?;
    let body: Value = serde_json::from_slice(body).unwrap();
    let mut calls = seen.lock().unwrap();
    let again = calls.iter().any(|(p, b)| p == path && *b == body);
    calls.push((path.to_string(), body.clone()));
    let ok = json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""});
    let code = |first: i64, repeat: i64| if again { repeat } else { first };
    let mut answer = ok.clone();
    match api {
        "account_delete" => {
            answer["ResultItem"] = json!(body["DeleteItem"].as_array().unwrap().iter()
                .map(|i| json!({"UserID": i["UserID"], "ResultCode": code(0, 70107), "ResultInfo": ""}))
                .collect::<Vec<_>>());
        }
        "friend_delete" => {
            answer["ResultItem"] = json!(body["To_Account"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| json!({"To_Account": f, "ResultCode": code(0, 31704), "ResultInfo": ""}))
                .collect::<Vec<_>>());
        }
        "group_msg_recall" => {
            answer["RecallRetList"] = json!(body["MsgSeqList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| json!({"MsgSeq": m["MsgSeq"], "RetCode": code(0, 10030)}))
                .collect::<Vec<_>>());
        }
        _ if again => {
            answer = json!({"ActionStatus": "FAIL", "ErrorCode": 20023, "ErrorInfo": "recalled"});
        }
        _ => {}
    }
    Some(answer)
}

fn runbook(target: &str, store: &Path, hook: &str) -> Runbook {
    let text = format!(
        "[sync]\nlisten = \"127.0.0.1:0\"\nold_webhook = \"{hook}\"\nrelay_admin = \"sync_relay\"\nreconcile_secs = 0\nc2c_mode = \"sendmsg\"\n"
    );
    let file = parse_file(&text, "test").unwrap();
    let flags = Flags {
        source: Some(common::engine::sample_data()),
        store: Some(store.to_path_buf()),
        target_url: Some(target.to_string()),
        sdkappid: Some(SDKAPPID),
        admin: Some(ADMIN.into()),
    };
    resolve(&file, &flags, Some(SecretKey::new(KEY))).unwrap()
}

async fn post(url: &str, token: Option<&str>, body: &Value) -> u16 {
    let mut req = reqwest::Client::new().post(url).body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.header("content-type", "application/json")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// POSTs `events` to the relay's ingest endpoint.
async fn ingest(relay: &RelayHandle, events: Value) {
    let url = format!("http://{}/sync/events", relay.addr);
    assert_eq!(post(&url, Some(INGEST_TOKEN), &events).await, 200);
}

/// POSTs a callback `command` from `platform` with `body`, signed as Tencent signs it.
async fn callback(relay: &RelayHandle, command: &str, platform: &str, body: Value) {
    let time = cutover::timefmt::now_secs();
    let sign = cutover::tim::callback::sign(CALLBACK_TOKEN, time as u64);
    let url = format!(
        "http://{}{}?SdkAppid={SDKAPPID}&CallbackCommand={command}&contenttype=json\
         &ClientIP=127.0.0.1&OptPlatform={platform}&Sign={sign}&RequestTime={time}",
        relay.addr, relay.callback_path
    );
    assert_eq!(post(&url, None, &body).await, 200, "{command}");
}

/// Old → new events by state: (event_id, state, info).
fn old_to_new(store: &Path) -> Vec<(String, i64, String)> {
    let conn = cutover::store::open_for_reading(store).unwrap();
    let sql = "SELECT event_id, state, info FROM sync_event WHERE direction = 0 ORDER BY seq";
    let mut stmt = conn.prepare(sql).unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)));
    rows.unwrap().collect::<Result<_, _>>().unwrap()
}

/// Waits until the old → new events `ids` are done.
async fn applied(store: &Path, ids: &[&str]) {
    let done = |rows: &Vec<(String, i64, String)>| {
        ids.iter()
            .all(|id| rows.iter().any(|(e, state, _)| e == id && *state == 1))
    };
    wait_for("events applied", PATIENCE, || old_to_new(store), done).await;
}

fn text(s: &str) -> Value {
    json!([{"type": "text", "text": s}])
}

fn ev(id: &str, kind: &str, record: Value) -> Value {
    json!({"event_id": id, "kind": kind, "at": T, "record": record})
}

/// The `MsgKey` of a one-to-one message of the test.
fn key(seq: u32, random: u32) -> String {
    format!("{seq}_{random}_{T}")
}

/// The simulator, the deletion stub in front of it, the old system's webhook and the relay
/// between them, with accounts u1, u2 and u3.
struct Setup {
    handle: SimHandle,
    store: PathBuf,
    stub: DeletionStub,
    got: Received,
    relay: RelayHandle,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Setup {
        let Rig { handle, store, dir } = Rig::new(app_config()).await;
        cutover::store::open_for_writing(&store).unwrap();
        let stub = DeletionStub::start(&handle).await;
        let (hook, got) = webhook(Duration::ZERO).await;
        let rb = runbook(&stub.url, &store, &hook);
        let relay = relay::start(&rb, &rb.sync.clone().unwrap()).await.unwrap();
        let list = ["u1", "u2", "u3"].map(|id| AccountItem {
            UserID: id.into(),
            Nick: None,
            FaceUrl: None,
        });
        let import = MultiaccountImport {
            Accounts: None,
            AccountList: Some(list.to_vec()),
        };
        client(&handle).call(&import).await.unwrap();
        Setup {
            handle,
            store,
            stub,
            got,
            relay,
            _dir: dir,
        }
    }

    /// The relay writes two messages (m1, m2) and a group g1 with two (gm1, gm2): the MsgSeqs
    /// the target gave gm1 and gm2.
    async fn write_messages(&self) -> (u64, u64) {
        #[rustfmt::skip]
        ingest(&self.relay, json!([
            ev("c1", "c2c_message", json!({"id": "m1", "from": "u1", "to": "u2", "sent_at": T, "seq": 11, "random": 111, "body": text("one")})),
            ev("c2", "c2c_message", json!({"id": "m2", "from": "u1", "to": "u2", "sent_at": T, "seq": 12, "random": 112, "body": text("two")})),
            ev("g1", "group_created", json!({"id": "g1", "type": "public", "name": "G", "owner": "u1", "created_at": T})),
            ev("j1", "member_joined", json!({"group": "g1", "member": "u2"})),
            ev("gm1", "group_message", json!({"id": "gm1", "group": "g1", "from": "u1", "sent_at": T, "random": 501, "body": text("a")})),
            ev("gm2", "group_message", json!({"id": "gm2", "group": "g1", "from": "u1", "sent_at": T, "random": 502, "body": text("b")})),
        ])).await;
        applied(&self.store, &["c1", "c2", "g1", "j1", "gm1", "gm2"]).await;
        let dump = self.handle.sim().dump();
        let groups = dump["groups"].as_array().unwrap();
        let g1 = groups.iter().find(|g| g["GroupId"] == "g1").unwrap();
        let msgs = g1["messages"].as_array().unwrap();
        let seq_of = |random: i64| {
            let m = msgs.iter().find(|m| m["Random"] == random).unwrap();
            m["MsgSeq"].as_u64().unwrap()
        };
        (seq_of(501), seq_of(502))
    }

    /// Old → new: every deletion through its API, a repeat counted done, the message named
    /// by the key the target gave it (gm1's is `seq1`); a recall of a message nobody knows
    /// waits.
    async fn delete_old_to_new(&self, seq1: u64) {
        #[rustfmt::skip]
        ingest(&self.relay, json!([
            ev("f1", "friend_deleted", json!({"owner": "u1", "friend": "u2"})),
            ev("f2", "friend_deleted", json!({"owner": "u1", "friend": "u2"})),
            ev("r1", "c2c_message_recalled", json!({"id": "m1"})),
            ev("r2", "c2c_message_recalled", json!({"id": "m1", "from": "u1", "to": "u2"})),
            ev("r3", "group_message_recalled", json!({"group": "g1", "id": "gm1"})),
            ev("d1", "account_deleted", json!({"id": "u3"})),
            ev("rx", "c2c_message_recalled", json!({"id": "m-never-seen"})),
        ])).await;
        applied(&self.store, &["f1", "f2", "r1", "r2", "r3", "d1"]).await;
        let tried = |rows: &Vec<(String, i64, String)>| {
            rows.iter()
                .any(|(e, _, info)| e == "rx" && !info.is_empty())
        };
        let rows = wait_for("rx tried", PATIENCE, || old_to_new(&self.store), tried).await;
        let stub = &self.stub;
        let once =
            json!({"From_Account": "u1", "To_Account": ["u2"], "DeleteType": "Delete_Type_Single"});
        assert_eq!(stub.sent("friend_delete"), [once.clone(), once]);
        let withdraw = json!({"From_Account": "u1", "To_Account": "u2", "MsgKey": key(11, 111)});
        assert_eq!(stub.sent("admin_msgwithdraw"), [withdraw.clone(), withdraw]);
        let recall = json!({"GroupId": "g1", "MsgSeqList": [{"MsgSeq": seq1}]});
        assert_eq!(stub.sent("group_msg_recall"), [recall]);
        let account = json!({"DeleteItem": [{"UserID": "u3"}]});
        assert_eq!(stub.sent("account_delete"), [account]);
        let fate = |id: &str| rows.iter().find(|(e, _, _)| e == id).cloned().unwrap();
        assert!(fate("f2").2.contains("31704"), "{:?}", fate("f2"));
        // r1 and r2 name the same message from two scopes: whichever went second was a repeat.
        let repeats = ["r1", "r2"].map(|id| fate(id).2.contains("20023"));
        assert_eq!(repeats.iter().filter(|r| **r).count(), 1, "{rows:?}");
        let (_, state, info) = fate("rx");
        assert_eq!(state, 0, "a message not known yet is tried again");
        assert!(info.contains("not known"), "{info}");
        let conn = cutover::store::open_for_reading(&self.store).unwrap();
        for k in [
            "sns:u1:delete:u2".to_string(),
            format!("c2c:u1:u2:recall:{}", key(11, 111)),
            format!("group:g1:recall:{seq1}"),
        ] {
            assert!(ledger_has(&conn, &k, 0).unwrap(), "{k}");
        }
    }

    /// New → old: the relay's own deletion and recalls come back (echoes, dropped) beside a
    /// user's (delivered by old ids where the relay knows them).
    async fn recall_new_to_old(&self, (seq1, seq2): (u64, u64)) {
        // A message sent on the Tencent side, unknown to the relay.
        #[rustfmt::skip]
        let own = SendMsg { From_Account: Some("u2".into()), To_Account: "u1".into(), MsgSeq: Some(21),
            MsgRandom: 221, MsgTimeStamp: Some(T), MsgBody: vec![MsgElement::text("mine")], ..SendMsg::default() };
        let tencent_key = client(&self.handle).call(&own).await.unwrap().MsgKey;
        #[rustfmt::skip]
        let calls = [
            ("Sns.CallbackFriendDelete", "RESTAPI", json!({"CallbackCommand": "Sns.CallbackFriendDelete",
                "PairList": [{"From_Account": "u1", "To_Account": "u2"}, {"From_Account": "u2", "To_Account": "u1"}]})),
            ("C2C.CallbackAfterMsgWithDraw", "RESTAPI", json!({"From_Account": "u1", "To_Account": "u2",
                "MsgKey": key(11, 111), "EventTime": T * 1000})),
            ("C2C.CallbackAfterMsgWithDraw", "Android", json!({"From_Account": "u1", "To_Account": "u2",
                "MsgKey": key(12, 112), "EventTime": T * 1000 + 1})),
            ("C2C.CallbackAfterMsgWithDraw", "iOS", json!({"From_Account": "u2", "To_Account": "u1",
                "MsgKey": tencent_key, "EventTime": T * 1000 + 2})),
            ("Group.CallbackAfterRecallMsg", "RESTAPI", json!({"Operator_Account": "sync_relay", "Type": "Public",
                "GroupId": "g1", "MsgSeqList": [{"MsgSeq": seq1}], "EventTime": (T * 1000).to_string()})),
            ("Group.CallbackAfterRecallMsg", "Web", json!({"Operator_Account": "u1", "Type": "Public",
                "GroupId": "g1", "MsgSeqList": [{"MsgSeq": seq2, "MsgId": "x"}], "EventTime": T * 1000 + 3})),
        ];
        for (command, platform, body) in calls {
            callback(&self.relay, command, platform, body).await;
        }
        let delivered = || self.got.lock().unwrap().len();
        wait_until("four events delivered", PATIENCE, || delivered() >= 4).await;
        let conn = cutover::store::open_for_reading(&self.store).unwrap();
        let c = counts(&conn, Direction::NewToOld).unwrap();
        assert_eq!((c.received, c.dropped_as_echo), (7, 3), "{c:?}");
        let got = self.got.lock().unwrap().clone();
        let mut records: Vec<(String, Value)> = (got.iter())
            .map(|e| (e["kind"].as_str().unwrap().to_string(), e["record"].clone()))
            .collect();
        records.sort_by_key(|(k, r)| format!("{k}{r}"));
        #[rustfmt::skip]
        assert_eq!(records, [
            ("c2c_message_recalled".to_string(), json!({"id": "m2", "from": "u1", "to": "u2"})),
            ("c2c_message_recalled".to_string(), json!({"id": format!("tim-c2c-{tencent_key}"), "from": "u2", "to": "u1"})),
            ("friend_deleted".to_string(), json!({"owner": "u2", "friend": "u1"})),
            ("group_message_recalled".to_string(), json!({"group": "g1", "id": "gm2"})),
        ]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_and_recalls_go_both_ways_and_echoes_do_not_come_back() {
    let tokens = [
        ("CUTOVER_CALLBACK_TOKEN", CALLBACK_TOKEN),
        ("CUTOVER_INGEST_TOKEN", INGEST_TOKEN),
    ];
    let name = "deletions_and_recalls_go_both_ways_and_echoes_do_not_come_back";
    if !in_own_process(module_path!(), name, &tokens) {
        return;
    }
    let setup = Setup::new().await;
    let seqs = setup.write_messages().await;
    setup.delete_old_to_new(seqs.0).await;
    setup.recall_new_to_old(seqs).await;
    setup.relay.stop().await.unwrap();
}
