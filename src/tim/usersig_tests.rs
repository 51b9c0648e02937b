//! The vectors of spec §2.3: the official sample key, sdkappid 1400000000, time 1700000000.

use super::*;

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const APP: u64 = 1_400_000_000;
const T: u64 = 1_700_000_000;
const PYTHON: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpYJkTE1NjRDiJZm5YFFzNPXFmekgG3zKHM1T9D3LzdODi-OKs8vCqpxcAvydnV2SSv2cy03cPcpDnA2SMgu0nUxslWoBHdYzUg__";
const STORED: &str = "eAEBtgBJ-3siVExTLnZlciI6ICIyLjAiLCAiVExTLmlkZW50aWZpZXIiOiAieGlhb2p1biIsICJUTFMuc2RrYXBwaWQiOiAxNDAwMDAwMDAwLCAiVExTLmV4cGlyZSI6IDE1NTUyMDAwLCAiVExTLnRpbWUiOiAxNzAwMDAwMDAwLCAiVExTLnNpZyI6ICJMdkE3ZC9JdzdnU3Nuc2t2VnpCRFBPQ0NEYnVOQ3c0R0h3VEMwYmlwK0I0PSJ9HdYzUg__";
const NODE: &str = "eJyrVgrxCdYrSy1SslIy0jNQ0gHzM1NS80oy0zLBwhWZiflZpXlQqeKU7MSCgswUJStDEwMogMiUZOamKlkZmqOKplYUZBaBxE1NTY3gosWZ6UpWSj5ljuYp*p7l5unBxXnF2WVhVU4uAf7Ozi5JpX7O5SbuHuUhzgZJmQXaTia2SrUAohcx8g__";

fn key() -> SecretKey {
    SecretKey::new(KEY)
}

#[test]
fn hmac_matches_the_spec_vectors() {
    assert_eq!(
        hmac_sig(&key(), "xiaojun", APP, T, 15_552_000),
        "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
    );
    assert_eq!(
        hmac_sig(&key(), "administrator", APP, T, 86_400),
        "yLAe+w7WUeUuqbV9h/TX78u21oTGi+i9Zp1u3PpnY60="
    );
}

#[test]
fn official_python_node_and_stored_tokens_verify() {
    for token in [PYTHON, NODE, STORED] {
        let info = verify(&key(), &UserSig::new(token), APP, "xiaojun", T).unwrap();
        assert_eq!(info.identifier, "xiaojun");
        assert_eq!(info.expires_at(), T + 15_552_000);
    }
}

#[test]
fn generated_tokens_verify_and_use_the_url_alphabet() {
    let sig = generate(&key(), APP, "admin", DEFAULT_EXPIRE_SECS, T);
    assert!(!sig.expose().contains(['+', '/', '=']));
    let info = verify(&key(), &sig, APP, "admin", T + 10).unwrap();
    assert_eq!(info.expire, DEFAULT_EXPIRE_SECS);
}

#[test]
fn each_failure_has_its_code() {
    let sig = UserSig::new(PYTHON);
    let err = |r: Result<SigInfo, SigError>| r.unwrap_err().tim_code();
    assert_eq!(err(verify(&key(), &sig, APP + 1, "xiaojun", T)), 70014);
    assert_eq!(err(verify(&key(), &sig, APP, "someone", T)), 70013);
    assert_eq!(
        err(verify(&key(), &sig, APP, "xiaojun", T + 15_552_001)),
        70001
    );
    assert!(verify(&key(), &sig, APP, "xiaojun", T + 15_552_000).is_ok());
    assert_eq!(
        err(verify(&SecretKey::new("other"), &sig, APP, "xiaojun", T)),
        70009
    );
    assert_eq!(
        err(verify(
            &key(),
            &UserSig::new("not a token!"),
            APP,
            "xiaojun",
            T
        )),
        70003
    );
    assert_eq!(
        err(verify(
            &key(),
            &UserSig::new(&PYTHON[..40]),
            APP,
            "xiaojun",
            T
        )),
        70003
    );
    assert_eq!(
        err(verify(&key(), &UserSig::new(""), APP, "xiaojun", T)),
        70003
    );
}

#[test]
fn a_tampered_document_fails_the_hmac() {
    // Re-sign nothing, but extend the expiry inside the document.
    let doc = Document {
        ver: "2.0".into(),
        identifier: "xiaojun".into(),
        sdkappid: APP,
        expire: 999_999_999,
        time: T,
        userbuf: None,
        sig: "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=".into(),
    };
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    z.write_all(&serde_json::to_vec(&doc).unwrap()).unwrap();
    let token = UserSig::new(to_url_alphabet(&STANDARD.encode(z.finish().unwrap())));
    assert_eq!(
        verify(&key(), &token, APP, "xiaojun", T),
        Err(SigError::BadSignature)
    );
}
