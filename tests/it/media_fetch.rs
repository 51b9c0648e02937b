//! Fetching a media object from the old system (`cutover::media::fetch`): the bytes land in a
//! temporary file with their SHA-256; a 404, an object over the size limit (announced or
//! not), a server that never answers and a port nobody listens on are failures with a reason
//! for the operator and the right word on retrying.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure is the test's

use crate::s3_rig::{content, sha256_hex};
use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use cutover::media::fetch::{fetch_to_file, FetchFailure};
use std::time::Duration;

const LEN: usize = 200_000;

/// The old system's media server on 127.0.0.1; returns its base URL.
async fn old_server() -> String {
    let app = Router::new()
        .route(
            "/image.png",
            get(|| async { ([(header::CONTENT_TYPE, "image/png")], content(7, LEN)) }),
        )
        .route(
            "/unannounced",
            get(|| async {
                let chunks = (0..20).map(|i| Ok::<_, std::io::Error>(content(i, 10_000)));
                Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route(
            "/never",
            get(|| async {
                std::future::pending::<()>().await;
                StatusCode::OK.into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_bytes_land_in_a_file_with_their_hash() {
    let base = old_server().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{base}/image.png?sign=abc");
    let got = fetch_to_file(&client(), &url, dir.path(), LEN as u64)
        .await
        .unwrap();
    let bytes = content(7, LEN);
    assert_eq!(got.size, LEN as u64);
    assert_eq!(got.sha256_hex, sha256_hex(&bytes));
    assert_eq!(got.content_type.as_deref(), Some("image/png"));
    assert!(got.path.path().starts_with(dir.path()));
    assert!(std::fs::read(got.path.path()).unwrap() == bytes);
    // Unannounced length: streamed all the same.
    let got = fetch_to_file(
        &client(),
        &format!("{base}/unannounced"),
        dir.path(),
        LEN as u64,
    )
    .await
    .unwrap();
    assert_eq!(got.size, 200_000);
    let path = got.path.path().to_path_buf();
    drop(got);
    assert!(!path.exists(), "the temporary file goes with the result");
}

#[tokio::test]
async fn failures_say_why_and_whether_a_retry_can_help() {
    let base = old_server().await;
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let cases = [
        (
            format!("{base}/missing.jpg?token=s3cr3t"),
            FetchFailure::Status(404),
            false,
        ),
        (
            format!("{base}/image.png"),
            FetchFailure::TooLarge {
                limit: LEN as u64 - 1,
                announced: Some(LEN as u64),
            },
            false,
        ),
        (
            format!("{base}/unannounced"),
            FetchFailure::TooLarge {
                limit: LEN as u64 - 1,
                announced: None,
            },
            false,
        ),
        (format!("{base}/never"), FetchFailure::Timeout, true),
        (
            format!("http://{closed}/a.jpg"),
            FetchFailure::Refused,
            true,
        ),
    ];
    for (url, failure, retry) in cases {
        let e = fetch_to_file(&client(), &url, dir.path(), LEN as u64 - 1)
            .await
            .unwrap_err();
        assert_eq!(e.failure, failure, "{url}: {e}");
        assert_eq!(e.retry_can_help(), retry, "{e}");
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file is left behind"
    );
}
