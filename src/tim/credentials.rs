//! The admin UserSig the client signs every request with: made once, reused, and renewed well
//! before it expires (at half its validity), or at once after the server says it expired.

use super::secret::{SecretKey, UserSig};
use super::usersig;
use std::sync::{Arc, Mutex};

/// A source of unix seconds (a fixed one in tests).
pub(crate) type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub(crate) fn system_clock() -> Clock {
    Arc::new(|| u64::try_from(crate::timefmt::now_secs()).unwrap_or(0))
}

/// How long a generated admin UserSig is valid by default: one day (the docs recommend at
/// least 24 hours).
pub(crate) const DEFAULT_SIG_VALIDITY_SECS: u64 = 86_400;

struct Cached {
    sig: UserSig,
    issued_at: u64,
    renew_at: u64,
}

/// Makes and caches the UserSig of one admin identifier.
pub(crate) struct Credentials {
    key: SecretKey,
    sdkappid: u64,
    identifier: String,
    validity: u64,
    clock: Clock,
    cached: Mutex<Option<Cached>>,
}

impl Credentials {
    /// Credentials for `identifier` of `sdkappid`, signing with `key`.
    pub(crate) fn new(
        key: SecretKey,
        sdkappid: u64,
        identifier: &str,
        validity: u64,
        clock: Clock,
    ) -> Self {
        Self {
            key,
            sdkappid,
            identifier: identifier.to_string(),
            validity: validity.max(60),
            clock,
            cached: Mutex::new(None),
        }
    }

    /// The SDKAppID.
    pub(crate) fn sdkappid(&self) -> u64 {
        self.sdkappid
    }

    /// The admin identifier.
    pub(crate) fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The current UserSig, renewed when half its validity has passed.
    pub(crate) fn usersig(&self) -> UserSig {
        let now = (self.clock)();
        // A poisoned lock only means another thread panicked mid-renewal; the cache is then
        // simply rebuilt.
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        match cached.as_ref() {
            Some(c) if now < c.renew_at && now >= c.issued_at => c.sig.clone(),
            _ => {
                let sig = usersig::generate(
                    &self.key,
                    self.sdkappid,
                    &self.identifier,
                    self.validity,
                    now,
                );
                *cached = Some(Cached {
                    sig: sig.clone(),
                    issued_at: now,
                    renew_at: now + self.validity / 2,
                });
                sig
            }
        }
    }

    /// Forgets the cached UserSig (after the server answered 70001, expired).
    pub(crate) fn invalidate(&self) {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("sdkappid", &self.sdkappid)
            .field("identifier", &self.identifier)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn fake_clock(start: u64) -> (Arc<AtomicU64>, Clock) {
        let t = Arc::new(AtomicU64::new(start));
        let t2 = Arc::clone(&t);
        (t, Arc::new(move || t2.load(Ordering::SeqCst)))
    }

    #[test]
    fn reused_until_half_its_life_then_renewed() {
        let (t, clock) = fake_clock(1_700_000_000);
        let key = SecretKey::new("k");
        let creds = Credentials::new(key.clone(), 1400000000, "admin", 86_400, clock);
        let first = creds.usersig();
        t.fetch_add(43_199, Ordering::SeqCst);
        assert_eq!(creds.usersig(), first);
        t.fetch_add(1, Ordering::SeqCst);
        let second = creds.usersig();
        assert_ne!(second, first);
        let info =
            usersig::verify(&key, &second, 1400000000, "admin", t.load(Ordering::SeqCst)).unwrap();
        assert_eq!(info.time, 1_700_043_200);
    }

    #[test]
    fn invalidate_forces_a_new_one() {
        let (t, clock) = fake_clock(1_700_000_000);
        let creds = Credentials::new(SecretKey::new("k"), 1, "admin", 86_400, clock);
        let first = creds.usersig();
        t.fetch_add(1, Ordering::SeqCst);
        creds.invalidate();
        assert_ne!(creds.usersig(), first);
    }

    #[test]
    fn debug_hides_the_key() {
        let (_, clock) = fake_clock(0);
        let creds = Credentials::new(SecretKey::new("supersecret"), 1, "admin", 86_400, clock);
        let shown = format!("{creds:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
    }
}
