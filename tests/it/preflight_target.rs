//! The preflight against a target it cannot use as configured: a certificate this machine
//! does not trust, a host name that does not resolve, a proxy answering 401/403, a relay admin
//! that is not an app admin. Each fails at once (one connection, no retry) and says what to do.
#![allow(clippy::unwrap_used)] // a panic in a test helper is a test failure

use crate::common;
use common::engine::{app_config, runbook, sample_data};
use cutover::config::{parse_file, resolve, Flags, Runbook};
use cutover::runbook::runner::{RunOptions, Runner};
use cutover::runbook::target_checks::check;
use cutover::tim::api::Api;
use cutover::tim::errors::ErrorClass;
use cutover::tim::{Applied, CallError, ClientConfig, SecretKey, Target, TimClient};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What "at once" means: far below the 14 s the preflight's retries of a transient failure
/// take, with room for a loaded machine.
const AT_ONCE: Duration = Duration::from_secs(5);

/// A self-signed certificate for 127.0.0.1 and localhost (a CA certificate when `ca`): its
/// PEM and its key's PKCS#8 DER.
fn self_signed(ca: bool) -> (String, Vec<u8>) {
    let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    let mut params = rcgen::CertificateParams::new(names).unwrap();
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_der())
}

/// A TLS listener on 127.0.0.1 presenting `cert` (PEM) with `key`, counting the connections
/// it accepts; each is passed on to `forward` when given, else left once the handshake ends
/// (the client refuses the certificate, so it never gets to speak HTTP).
async fn tls_listener(
    cert: &str,
    key: Vec<u8>,
    forward: Option<SocketAddr>,
) -> (String, Arc<AtomicUsize>) {
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![der],
            rustls::pki_types::PrivatePkcs8KeyDer::from(key).into(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Some(to) = forward {
                    let mut plain = tokio::net::TcpStream::connect(to).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    (format!("https://{addr}"), accepted)
}

/// A TLS target with a fresh self-signed certificate (a CA certificate when `ca`).
async fn tls_target(ca: bool) -> (String, Arc<AtomicUsize>) {
    let (cert, key) = self_signed(ca);
    tls_listener(&cert, key, None).await
}

/// A proxy in the way that answers every request with `status`, counting them.
async fn refusing_proxy(status: u16) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&hits);
    let app = axum::Router::new().fallback(move || {
        let count = Arc::clone(&count);
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            axum::http::StatusCode::from_u16(status).unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), hits)
}

/// The runbook of a run of the sample data into `url`, with `extra` TOML.
fn runbook_at(url: &str, store: &Path, extra: &str) -> Runbook {
    let flags = Flags {
        source: Some(sample_data()),
        store: Some(store.to_path_buf()),
        target_url: Some(url.into()),
        sdkappid: Some(common::SDKAPPID),
        admin: Some(common::ADMIN.into()),
    };
    let file = parse_file(&common::engine::with_app_keys(extra), "test").unwrap();
    resolve(&file, &flags, Some(SecretKey::new(common::KEY))).unwrap()
}

/// Runs the preflight of the sample data against `url`: its error and how long it took.
async fn preflight_against(url: &str) -> (String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let rb = runbook_at(url, &dir.path().join("run.db"), "");
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let started = Instant::now();
    let e = runner.preflight().await.unwrap_err().to_string();
    (e, started.elapsed())
}

fn client_of(url: &str) -> TimClient {
    let config = ClientConfig::new(
        Target::parse(url).unwrap(),
        common::SDKAPPID,
        common::ADMIN,
        SecretKey::new(common::KEY),
    );
    TimClient::new(config).unwrap()
}

async fn account_check(url: &str) -> CallError {
    use cutover::tim::wire::account::{AccountCheck, CheckItem};
    let check = AccountCheck {
        CheckItem: vec![CheckItem {
            UserID: common::ADMIN.into(),
        }],
    };
    client_of(url).call(&check).await.unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_fails_the_preflight_at_once_saying_how_to_trust_it() {
    let (url, accepted) = tls_target(false).await;
    let e = account_check(&url).await;
    assert!(matches!(e, CallError::Unreachable { .. }), "{e:?}");
    assert_eq!((e.class(), e.applied()), (ErrorClass::Fatal, Applied::No));
    let (refused, took) = preflight_against(&url).await;
    assert!(took < AT_ONCE, "took {took:?}: {refused}");
    assert!(refused.contains("not trusted by this machine"), "{refused}");
    assert!(refused.contains("SSL_CERT_FILE="), "{refused}");
    assert!(refused.contains("retrying does not help"), "{refused}");
    assert!(!refused.contains("usersig"), "the URL stays out: {refused}");
    // One connection for the client's call, one for the preflight's: no retry.
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_certificate_served_as_the_servers_own_is_named() {
    let (url, accepted) = tls_target(true).await;
    let (refused, took) = preflight_against(&url).await;
    assert!(took < AT_ONCE, "took {took:?}: {refused}");
    assert!(refused.contains("CA certificate as its own"), "{refused}");
    assert!(refused.contains("SSL_CERT_FILE="), "{refused}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_that_does_not_resolve_fails_the_preflight_at_once() {
    // `.invalid` is reserved never to resolve (RFC 2606).
    let url = "https://cutover-target.invalid";
    let e = account_check(url).await;
    assert!(matches!(e, CallError::Unreachable { .. }), "{e:?}");
    let (refused, took) = preflight_against(url).await;
    assert!(took < AT_ONCE, "took {took:?}: {refused}");
    assert!(refused.contains("does not resolve"), "{refused}");
    assert!(refused.contains("[target] url"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_answering_401_or_403_fails_the_preflight_at_once() {
    for status in [401, 403] {
        let (url, hits) = refusing_proxy(status).await;
        let (refused, took) = preflight_against(&url).await;
        assert!(took < AT_ONCE, "took {took:?}: {refused}");
        assert!(
            refused.contains(&format!("HTTP status {status}")),
            "{refused}"
        );
        assert!(refused.contains("proxy"), "{refused}");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "{status}: asked once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_admin_that_is_not_an_app_admin_fails_the_preflight() {
    let sim = common::sim(app_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("run.db");
    let sync = |relay: &str| {
        format!(
            "[sync]\nlisten = \"127.0.0.1:0\"\nold_webhook = \"http://127.0.0.1:1/\"\nrelay_admin = \"{relay}\"\n"
        )
    };
    let rb = runbook(&sim, &sample_data(), &store, &sync("not_an_admin"));
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let refused = runner.preflight().await.unwrap_err().to_string();
    assert!(refused.contains("relay_admin not_an_admin"), "{refused}");
    assert!(
        refused.contains("70403") || refused.contains("admin"),
        "{refused}"
    );
    let rb = runbook(&sim, &sample_data(), &store, &sync("sync_relay"));
    let runner = Runner::new(rb, RunOptions::default()).unwrap();
    let pre = runner.preflight().await.unwrap();
    assert!(
        pre.target.contains("relay admin sync_relay ok"),
        "{}",
        pre.target
    );
    assert!(
        pre.target.contains("not checkable before the stop"),
        "{}",
        pre.target
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_profile_tag_the_target_lacks_fails_the_checks_naming_it() {
    // The simulated console created Hobby and Vip, not Pet.
    let sim = common::sim(app_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let rb = runbook(&sim, &sample_data(), &dir.path().join("run.db"), "");
    let client = common::client(&sim);
    let keys = ["Hobby".to_string(), "Pet".to_string()];
    let e = check(&client, &rb, &keys).await.unwrap_err().to_string();
    assert!(e.contains("Tag_Profile_Custom_Pet"), "{e}");
    assert!(!e.contains("Tag_Profile_Custom_Hobby"), "{e}");
    assert!(e.contains("40009") && e.contains("console"), "{e}");
    let note = check(&client, &rb, &keys[..1]).await.unwrap().note();
    assert!(note.contains("credentials of administrator ok"), "{note}");
    assert!(
        note.contains("profile tags Tag_Profile_Custom_Hobby ok"),
        "{note}"
    );
    assert!(note.contains("not checkable before the stop"), "{note}");
    let none = check(&client, &rb, &[]).await.unwrap().note();
    assert!(!none.contains("profile tags"), "{none}");
    // Read calls only: account_check and portrait_get, nothing written.
    let apis: Vec<Api> = sim.sim().counts().keys().map(|(api, _)| *api).collect();
    assert!(
        apis.iter()
            .all(|a| matches!(a, Api::AccountCheck | Api::PortraitGet)),
        "{apis:?}"
    );
    assert_eq!(sim.sim().count(Api::PortraitGet, 40009), 1);
}

/// Where the child process of the next test finds the certificate's key.
const KEY_FILE_VAR: &str = "CUTOVER_TEST_TLS_KEY";

#[test]
fn trusting_the_certificate_as_the_message_says_lets_the_preflight_through() {
    // SSL_CERT_FILE is read by every client the process builds: a process of its own.
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = match std::env::var(KEY_FILE_VAR) {
        Ok(key) => (std::env::var("SSL_CERT_FILE").unwrap(), key),
        Err(_) => {
            let (cert, key) = self_signed(false);
            let (c, k) = (dir.path().join("cert.pem"), dir.path().join("key.der"));
            std::fs::write(&c, cert).unwrap();
            std::fs::write(&k, key).unwrap();
            let text = |p: &Path| p.to_str().unwrap().to_string();
            (text(&c), text(&k))
        }
    };
    let name = "trusting_the_certificate_as_the_message_says_lets_the_preflight_through";
    let vars = [
        ("SSL_CERT_FILE", cert_file.as_str()),
        (KEY_FILE_VAR, key_file.as_str()),
    ];
    if !common::alone::in_own_process(module_path!(), name, &vars) {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sim = common::sim(app_config()).await;
        let to: SocketAddr = sim.url().trim_start_matches("http://").parse().unwrap();
        let cert = std::fs::read_to_string(&cert_file).unwrap();
        let (url, _) = tls_listener(&cert, std::fs::read(&key_file).unwrap(), Some(to)).await;
        let store = dir.path().join("run.db");
        let runner = Runner::new(runbook_at(&url, &store, ""), RunOptions::default()).unwrap();
        let pre = runner.preflight().await.unwrap();
        assert!(
            pre.target.contains("credentials of administrator ok"),
            "{}",
            pre.target
        );
    });
}
