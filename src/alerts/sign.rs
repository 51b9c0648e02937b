//! The robots' signatures, as their docs give them (/work/shared/spec/robots.md):
//!
//! - DingTalk: `base64(HMAC-SHA256(key = secret, msg = timestamp_ms + "\n" + secret))`, sent
//!   URL-encoded as the `sign` query parameter beside `timestamp`;
//! - Feishu / Lark: `base64(HMAC-SHA256(key = timestamp_s + "\n" + secret, msg = ""))`, sent as
//!   `sign` in the body beside `timestamp` (a string).

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `base64(HMAC-SHA256(key, msg))`.
fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    // HMAC takes a key of any length: new_from_slice cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(msg);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// DingTalk's `sign` for `timestamp_ms`, before URL encoding.
pub(crate) fn dingtalk(secret: &str, timestamp_ms: i64) -> String {
    hmac_b64(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    )
}

/// Feishu's `sign` for `timestamp_s`.
pub(crate) fn feishu(secret: &str, timestamp_s: i64) -> String {
    hmac_b64(format!("{timestamp_s}\n{secret}").as_bytes(), b"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    /// The documented algorithm written out again, apart from the code under test.
    fn reference(key: &str, msg: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(msg.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn dingtalk_signs_timestamp_newline_secret_keyed_by_the_secret() {
        let secret = "SEC0123456789abcdef";
        let ms = 1_732_000_000_123;
        assert_eq!(
            dingtalk(secret, ms),
            reference(secret, "1732000000123\nSEC0123456789abcdef")
        );
        assert_eq!(dingtalk(secret, ms).len(), 44); // 32 bytes in base64
    }

    #[test]
    fn feishu_signs_an_empty_message_keyed_by_timestamp_newline_secret() {
        let secret = "lark-secret";
        let s = 1_732_000_000;
        assert_eq!(feishu(secret, s), reference("1732000000\nlark-secret", ""));
        // Key and message are not interchangeable: the DingTalk form gives another value.
        assert_ne!(
            feishu(secret, s),
            reference(secret, "1732000000\nlark-secret")
        );
    }
}
