//! The media inventory of `cutover validate` and `cutover plan --source` (references per host
//! and element type, distinct URLs, signed and relative URLs), and `--probe N` against a real
//! HTTP server: the real binary, its text and its JSON.
#![allow(clippy::unwrap_used)]

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// A message body element of each media kind.
fn image(url: &str) -> Value {
    json!({"type": "image", "url": url, "uuid": "i", "width": 10, "height": 10})
}

fn file(url: &str) -> Value {
    json!({"type": "file", "url": url, "uuid": "f", "name": "a.pdf", "size": 100})
}

fn sound(url: &str) -> Value {
    json!({"type": "sound", "url": url, "uuid": "s", "size": 100, "seconds": 3})
}

fn video(url: &str, thumb: &str) -> Value {
    json!({"type": "video", "url": url, "uuid": "v", "size": 100, "seconds": 3,
           "format": "mp4", "thumb_url": thumb, "thumb_uuid": "t",
           "thumb_width": 10, "thumb_height": 10})
}

/// An export in `dir`: three accounts, one group of them, and one message per body in
/// `c2c` (u1 → u2) and `group` (in g1, from u1).
fn write_export(dir: &Path, c2c: &[Vec<Value>], group: &[Vec<Value>]) {
    let write = |name: &str, lines: Vec<Value>| {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(dir.join(name), text).unwrap();
    };
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"format": "cutover-export", "version": 1, "exported_at": 1732000000}"#,
    )
    .unwrap();
    write(
        "accounts.jsonl",
        ["u1", "u2", "u3"].map(|id| json!({"id": id})).to_vec(),
    );
    write(
        "groups.jsonl",
        vec![
            json!({"id": "g1", "type": "public", "name": "g", "owner": "u1",
                    "created_at": 1700000000}),
        ],
    );
    write(
        "group_members.jsonl",
        ["u1", "u2"]
            .map(|m| json!({"group": "g1", "member": m, "joined_at": 1700000001}))
            .to_vec(),
    );
    let message = |i: usize, body: &Vec<Value>| {
        json!({"id": format!("m{i}"), "from": "u1", "to": "u2",
               "sent_at": 1710000000 + i, "body": body})
    };
    write(
        "c2c_messages.jsonl",
        c2c.iter().enumerate().map(|(i, b)| message(i, b)).collect(),
    );
    let message = |i: usize, body: &Vec<Value>| {
        json!({"id": format!("gm{i}"), "group": "g1", "from": "u1",
               "sent_at": 1710000000 + i, "body": body})
    };
    write(
        "group_messages.jsonl",
        group
            .iter()
            .enumerate()
            .map(|(i, b)| message(i, b))
            .collect(),
    );
}

/// `cutover ARGS`: its stdout and exit code (stderr shown on failure).
fn cutover(args: &[&str]) -> (String, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code();
    assert!(
        code != Some(2),
        "{args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (text, code)
}

/// A host row of the JSON `media` object.
fn host<'a>(media: &'a Value, name: &str) -> &'a Value {
    let hosts = media["hosts"].as_array().unwrap();
    hosts
        .iter()
        .find(|h| h["host"] == name)
        .unwrap_or_else(|| panic!("no {name} in {media}"))
}

/// Two hosts (one in upper case with a port, one with a signed URL), a relative URL, and a
/// message that is invalid (its sender unknown), whose media is not counted.
fn two_host_export(dir: &Path) {
    let cdn = |p: &str| format!("https://cdn.example.com/{p}");
    let s3 = |p: &str| format!("https://media.s3.example.net/{p}");
    let c2c = vec![
        vec![image(&cdn("i/1.jpg"))],
        vec![
            json!({"type": "text", "text": "again"}),
            image(&cdn("i/1.jpg")),
        ],
        vec![file(&cdn("f/a.pdf"))],
        vec![sound("https://CDN.example.com:8443/v/1.amr")],
        vec![file(&s3("f/b.zip?X-Amz-Signature=abc&X-Amz-Expires=3600"))],
    ];
    let group = vec![
        vec![video(&cdn("v/1.mp4"), &cdn("v/1.jpg"))],
        vec![image(&cdn("i/2.png"))],
        vec![video(&s3("v/2.mp4"), &s3("v/2.jpg"))],
        vec![image("/static/3.png")],
    ];
    write_export(dir, &c2c, &group);
    // An invalid message: its media is not counted.
    let bad = json!({"id": "bad", "from": "nobody", "to": "u2", "sent_at": 1710000100,
                     "body": [image(&cdn("i/bad.jpg"))]});
    let path = dir.join("c2c_messages.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}{bad}\n")).unwrap();
}

/// The figures of the two-host export, as every command must give them.
fn check_media_json(media: &Value) {
    assert_eq!(
        (
            &media["references"],
            &media["distinct_urls"],
            &media["signed_urls"]
        ),
        (&json!(11), &json!(10), &json!(1)),
        "{media}"
    );
    let names: Vec<&str> = media["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cdn.example.com",
            "media.s3.example.net",
            "(not http/https)"
        ]
    );
    let cdn = host(media, "cdn.example.com");
    assert_eq!(
        cdn["by_type"],
        json!({"image": 3, "file": 1, "sound": 1, "video": 1, "video_thumb": 1})
    );
    assert_eq!(
        (&cdn["references"], &cdn["distinct_urls"]),
        (&json!(7), &json!(6))
    );
    assert_eq!(cdn["signed_urls"], 0);
    let s3 = host(media, "media.s3.example.net");
    assert_eq!(
        s3["by_type"],
        json!({"image": 0, "file": 1, "sound": 0, "video": 1, "video_thumb": 1})
    );
    assert_eq!(s3["signed_markers"], json!({"x-amz-signature": 1}));
    assert_eq!(
        s3["samples"][0], "https://media.s3.example.net/f/b.zip?…",
        "a signed URL is shown without its signature"
    );
    let relative = host(media, "(not http/https)");
    assert_eq!(relative["absolute"], false);
    assert_eq!(relative["samples"], json!(["/static/3.png"]));
}

#[test]
fn validate_and_plan_count_media_per_host() {
    let dir = tempfile::tempdir().unwrap();
    two_host_export(dir.path());
    let src = dir.path().to_str().unwrap();

    let (text, code) = cutover(&["validate", src]);
    assert_eq!(code, Some(1), "the invalid message is a problem: {text}");
    assert!(
        text.contains("media: 11 references, 10 distinct URLs on 2 hosts"),
        "{text}"
    );
    let row = |text: &str, host: &str| -> Vec<String> {
        let line = text.lines().find(|l| l.starts_with(host));
        let line = line.unwrap_or_else(|| panic!("no {host} row: {text}"));
        line.split_whitespace().skip(1).map(String::from).collect()
    };
    assert_eq!(
        row(&text, "cdn.example.com"),
        ["3", "1", "1", "1", "1", "6", "0"]
    );
    assert_eq!(
        row(&text, "media.s3.example.net"),
        ["0", "1", "0", "1", "1", "3", "1"]
    );
    assert!(
        text.contains("signed or expiring URLs: media.s3.example.net 1 (x-amz-signature 1)"),
        "{text}"
    );
    assert!(text.contains("rehost them with [media]"), "{text}");
    assert!(
        text.contains("1 URL is not absolute http(s) (e.g. \"/static/3.png\")"),
        "{text}"
    );
    assert!(
        !text.contains("X-Amz-Signature=abc"),
        "no signature shown: {text}"
    );

    let (text, _) = cutover(&["validate", src, "--json"]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    check_media_json(&doc["media"]);
    assert_eq!(doc["media"]["probe_per_host"], Value::Null);

    let (text, code) = cutover(&["plan", "--source", src]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("media: 11 references, 10 distinct URLs on 2 hosts"),
        "{text}"
    );
    assert_eq!(
        row(&text, "cdn.example.com"),
        ["3", "1", "1", "1", "1", "6", "0"]
    );
    let (text, _) = cutover(&["plan", "--source", src, "--json"]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    check_media_json(&doc["media"]);
}

#[test]
fn an_export_without_media_prints_no_media_section() {
    let dir = tempfile::tempdir().unwrap();
    let text = [vec![json!({"type": "text", "text": "hi"})]];
    write_export(dir.path(), &text, &text);
    let src = dir.path().to_str().unwrap();
    let (out, code) = cutover(&["validate", src]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("media"), "{out}");
    let (out, _) = cutover(&["plan", "--source", src]);
    assert!(!out.contains("media"), "{out}");
    let (out, _) = cutover(&["validate", src, "--json"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["media"]["references"], 0);
    assert_eq!(doc["media"]["hosts"], json!([]));
}

/// 2,500 bytes, or its first byte when asked for `bytes=0-0`.
async fn ranged(headers: HeaderMap) -> Response {
    if headers.get(header::RANGE).is_some_and(|r| r == "bytes=0-0") {
        let range = [(header::CONTENT_RANGE, "bytes 0-0/2500")];
        (StatusCode::PARTIAL_CONTENT, range, vec![0u8]).into_response()
    } else {
        vec![0u8; 2500].into_response()
    }
}

/// The old system's media server on 127.0.0.1:0 (its task ends with the test's runtime):
/// `/a.jpg` (1,000 bytes) and `/b.mp4` (2,500 bytes, HEAD refused with 405); anything else is
/// a 404.
async fn media_server() -> u16 {
    let app = Router::new()
        .route("/a.jpg", get(|| async { vec![1u8; 1000] }))
        .route(
            "/b.mp4",
            get(ranged).head(|| async { StatusCode::METHOD_NOT_ALLOWED }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_reports_reachable_failed_and_sizes_per_host() {
    let port = media_server().await;
    // A host where nothing listens: a socket bound on 127.0.0.2, never listening, refuses.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed
        .bind("127.0.0.2:0".parse().unwrap())
        .expect("binding 127.0.0.2 (the loopback range): the refusing host of this test");
    let closed = closed.local_addr().unwrap();
    let up = |p: &str| format!("http://127.0.0.1:{port}/{p}");
    let other_name = |p: &str| format!("http://localhost:{port}/{p}");
    let refused = |p: &str| format!("http://{closed}/{p}");
    let c2c = vec![
        vec![image(&up("a.jpg"))],
        vec![video(&up("b.mp4"), &up("c.jpg"))], // c.jpg: a 404, third of its host
        vec![image(&other_name("missing.png"))],
        vec![image(&other_name("a.jpg"))],
        vec![file(&refused("x.pdf")), sound(&refused("y.amr"))],
    ];
    let dir = tempfile::tempdir().unwrap();
    write_export(dir.path(), &c2c, &[]);
    let src = dir.path().to_str().unwrap().to_string();
    let run = |args: Vec<String>| async move {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(&args)
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {text}{err}");
        text
    };
    let args = |more: &[&str]| -> Vec<String> { more.iter().map(|s| s.to_string()).collect() };

    let text = run(args(&["validate", &src, "--probe", "2", "--json"])).await;
    let doc: Value = serde_json::from_str(&text).unwrap();
    let media = &doc["media"];
    assert_eq!(media["probe_per_host"], 2);
    let probe = |name: &str| host(media, name)["probe"].clone();
    let p = probe("127.0.0.1");
    assert_eq!(
        (&p["probed"], &p["reachable"]),
        (&json!(2), &json!(2)),
        "{p}"
    );
    assert_eq!(
        p["sizes"],
        json!({"known": 2, "min": 1000, "max": 2500, "total": 3500})
    );
    assert_eq!(p["failed"], json!([]));
    let p = probe("localhost");
    assert_eq!(
        (&p["probed"], &p["reachable"]),
        (&json!(2), &json!(1)),
        "{p}"
    );
    assert_eq!(
        p["failed"],
        json!([{"url": other_name("missing.png"),
                "reason": {"kind": "status", "status": 404}}])
    );
    assert_eq!(
        p["sizes"],
        json!({"known": 1, "min": 1000, "max": 1000, "total": 1000})
    );
    let p = probe("127.0.0.2");
    assert_eq!(
        (&p["probed"], &p["reachable"]),
        (&json!(2), &json!(0)),
        "{p}"
    );
    let kinds: Vec<&Value> = p["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["reason"]["kind"])
        .collect();
    assert_eq!(kinds, [&json!("refused"), &json!("refused")], "{p}");

    let text = run(args(&["plan", "--source", &src, "--probe", "2"])).await;
    assert!(
        text.contains("probe: HEAD to up to 2 URLs per host, 10 s timeout"),
        "{text}"
    );
    // The probe's row of the host (the inventory's comes first).
    let line = text.lines().rfind(|l| l.starts_with("127.0.0.1")).unwrap();
    assert!(line.ends_with("1000 B / 2.4 KiB / 3.4 KiB"), "{line}");
    assert!(
        text.contains(&format!(
            "  {}: HTTP 404 Not Found",
            other_name("missing.png")
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("  {}: connection refused", refused("x.pdf"))),
        "{text}"
    );
}
