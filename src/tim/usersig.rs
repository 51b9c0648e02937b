//! UserSig (TLSSigAPIv2): generate and verify exactly as Tencent's official libraries do.
//!
//! `sig = base64(HMAC-SHA256(key, content))` over
//! `TLS.identifier:{id}\nTLS.sdkappid:{app}\nTLS.time:{t}\nTLS.expire:{e}\n`; the token is the
//! JSON document carrying those fields and `sig`, zlib-compressed, base64 with `+/=` replaced
//! by `*-_`. Verification uses only the parsed fields, so tokens from any official library
//! verify here, whatever their JSON layout or compression level.

use super::secret::{SecretKey, UserSig};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::io::{Read, Write};
use thiserror::Error;

/// Default validity of a generated UserSig: 180 days, as the official libraries use.
pub(crate) const DEFAULT_EXPIRE_SECS: u64 = 180 * 86_400;
/// A decoded token larger than this is not a UserSig (guards against zlib bombs).
const MAX_DECODED: u64 = 64 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// The JSON document inside a token.
#[derive(Serialize, Deserialize)]
struct Document {
    #[serde(rename = "TLS.ver")]
    ver: String,
    #[serde(rename = "TLS.identifier")]
    identifier: String,
    #[serde(rename = "TLS.sdkappid")]
    sdkappid: u64,
    #[serde(rename = "TLS.expire")]
    expire: u64,
    #[serde(rename = "TLS.time")]
    time: u64,
    #[serde(
        rename = "TLS.userbuf",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    userbuf: Option<String>,
    #[serde(rename = "TLS.sig")]
    sig: String,
}

/// Why a UserSig was refused, with the code Tencent answers for it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum SigError {
    /// Not base64, not zlib, or not the expected JSON.
    #[error("cannot be decoded: {0}")]
    Undecodable(String),
    /// Issued for another app.
    #[error("issued for sdkappid {found}, not {expected}")]
    WrongApp {
        /// The app in the token.
        found: u64,
        /// The app it was checked against.
        expected: u64,
    },
    /// Issued for another identifier.
    #[error("issued for identifier {found:?}, not {expected:?}")]
    WrongIdentifier {
        /// The identifier in the token.
        found: String,
        /// The identifier it was checked against.
        expected: String,
    },
    /// Past `time + expire`.
    #[error("expired at {} (unix {expired_at})", when(*expired_at))]
    Expired {
        /// When it expired.
        expired_at: u64,
    },
    /// The HMAC does not match: made with another key, or altered.
    #[error("bad signature: not made with this app's secret key, or altered")]
    BadSignature,
}

impl SigError {
    /// The Tencent IM error code for this failure (spec §1.3 / §2.3).
    pub(crate) fn tim_code(&self) -> i64 {
        match self {
            SigError::Undecodable(_) => 70003,
            SigError::WrongApp { .. } => 70014,
            SigError::WrongIdentifier { .. } => 70013,
            SigError::Expired { .. } => 70001,
            SigError::BadSignature => 70009,
        }
    }
}

fn when(unix: u64) -> String {
    crate::timefmt::utc(i64::try_from(unix).unwrap_or(i64::MAX))
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigInfo {
    /// The identifier it was issued for.
    pub(crate) identifier: String,
    /// The app.
    pub(crate) sdkappid: u64,
    /// When it was issued (unix seconds).
    pub(crate) time: u64,
    /// Validity in seconds.
    pub(crate) expire: u64,
}

impl SigInfo {
    /// When it stops being valid (unix seconds).
    pub(crate) fn expires_at(&self) -> u64 {
        self.time.saturating_add(self.expire)
    }
}

fn content(
    identifier: &str,
    sdkappid: u64,
    time: u64,
    expire: u64,
    userbuf: Option<&str>,
) -> String {
    let mut s = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(buf) = userbuf {
        s.push_str(&format!("TLS.userbuf:{buf}\n"));
    }
    s
}

fn mac(key: &SecretKey, content: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key.expose_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(content.as_bytes());
    mac
}

/// The `TLS.sig` field: base64 of the HMAC over the content string.
pub(crate) fn hmac_sig(
    key: &SecretKey,
    identifier: &str,
    sdkappid: u64,
    time: u64,
    expire: u64,
) -> String {
    let tag = mac(key, &content(identifier, sdkappid, time, expire, None)).finalize();
    STANDARD.encode(tag.into_bytes())
}

/// Generates a UserSig for `identifier` of `sdkappid`, issued at `now`, valid `expire` seconds.
pub fn generate(
    key: &SecretKey,
    sdkappid: u64,
    identifier: &str,
    expire: u64,
    now: u64,
) -> UserSig {
    let doc = Document {
        ver: "2.0".into(),
        identifier: identifier.into(),
        sdkappid,
        expire,
        time: now,
        userbuf: None,
        sig: hmac_sig(key, identifier, sdkappid, now, expire),
    };
    // Serializing a struct of strings and integers into memory cannot fail.
    let json = serde_json::to_vec(&doc).unwrap_or_default();
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    let compressed = z
        .write_all(&json)
        .and_then(|()| z.finish())
        .unwrap_or_default(); // writing into a Vec cannot fail
    UserSig::new(to_url_alphabet(&STANDARD.encode(compressed)))
}

fn to_url_alphabet(b64: &str) -> String {
    b64.chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

fn from_url_alphabet(token: &str) -> String {
    token
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect()
}

fn decode(token: &UserSig) -> Result<Document, SigError> {
    let token = token.expose().trim();
    if token.is_empty() {
        return Err(SigError::Undecodable("empty".into()));
    }
    let compressed = STANDARD
        .decode(from_url_alphabet(token))
        .map_err(|e| SigError::Undecodable(format!("not base64 ({e})")))?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(MAX_DECODED)
        .read_to_end(&mut json)
        .map_err(|e| SigError::Undecodable(format!("not zlib ({e})")))?;
    serde_json::from_slice(&json)
        .map_err(|e| SigError::Undecodable(format!("not a UserSig document ({e})")))
}

/// Checks a token as the server does: app, identifier, expiry (at `now`), then the HMAC.
pub(crate) fn verify(
    key: &SecretKey,
    token: &UserSig,
    sdkappid: u64,
    identifier: &str,
    now: u64,
) -> Result<SigInfo, SigError> {
    let doc = decode(token)?;
    if doc.sdkappid != sdkappid {
        return Err(SigError::WrongApp {
            found: doc.sdkappid,
            expected: sdkappid,
        });
    }
    if doc.identifier != identifier {
        return Err(SigError::WrongIdentifier {
            found: doc.identifier,
            expected: identifier.into(),
        });
    }
    let info = SigInfo {
        identifier: doc.identifier,
        sdkappid: doc.sdkappid,
        time: doc.time,
        expire: doc.expire,
    };
    if now > info.expires_at() {
        return Err(SigError::Expired {
            expired_at: info.expires_at(),
        });
    }
    let expected = STANDARD
        .decode(&doc.sig)
        .map_err(|_| SigError::BadSignature)?;
    let text = content(
        &info.identifier,
        info.sdkappid,
        info.time,
        info.expire,
        doc.userbuf.as_deref(),
    );
    mac(key, &text)
        .verify_slice(&expected)
        .map_err(|_| SigError::BadSignature)?;
    Ok(info)
}

#[cfg(test)]
#[path = "usersig_tests.rs"]
mod tests;
