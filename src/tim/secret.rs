//! Secrets that must never be printed: the app secret key and the UserSigs made from it.
//!
//! Both types redact themselves in `Debug` and have no `Display`, so they cannot slip into a
//! log line, an error message or a panic by accident; the raw value is reachable only through
//! an explicitly named method.

use std::fmt;

/// The environment variable that holds the app secret key (never a command-line flag, which
/// other users of the machine can read in the process list).
pub const SECRET_KEY_ENV: &str = "CUTOVER_SECRET_KEY";

/// The app secret key from the Tencent IM console.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// Reads the key from [`SECRET_KEY_ENV`]; `None` when unset or empty.
    pub(crate) fn from_env() -> Option<Self> {
        std::env::var(SECRET_KEY_ENV)
            .ok()
            .filter(|k| !k.trim().is_empty())
            .map(|k| Self(k.trim().to_string()))
    }

    /// The key's bytes, for the HMAC only.
    pub(crate) fn expose_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A UserSig: a bearer credential for one identifier of one app.
#[derive(Clone, PartialEq, Eq)]
pub struct UserSig(String);

impl UserSig {
    /// Wraps a token (for example one given to `usersig --verify`).
    pub(crate) fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for the request URL (or for printing it on request).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserSig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserSig(<redacted, {} chars>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let key = SecretKey::new("5bd2850fff3ecb11");
        let sig = UserSig::new("eJyrVgrxCdYrSy1S");
        let shown = format!("{key:?} {sig:?} {:?}", Some(&key));
        assert!(!shown.contains("5bd2850f"), "{shown}");
        assert!(!shown.contains("eJyr"), "{shown}");
    }
}
