//! The query string of §1.1 and the UserSig check, with the codes of §2.3's simulator rule.

use super::body::ApiError;
use crate::tim::api::Service;
use crate::tim::secret::{SecretKey, UserSig};
use crate::tim::usersig;

/// The parameters of a request URL that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The admin identifier.
    pub(crate) identifier: String,
}

/// Decodes one `%XX`-encoded query value.
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    // Two hex digits make one byte: h and l are each below 16.
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of `name` (names are case-sensitive, §1.1).
fn param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
}

/// UserSigs already verified: token → (identifier, expiry). A client reuses one token for a
/// day, so verifying it once (inflate + HMAC) instead of per request keeps the simulator fast.
#[derive(Default)]
pub(crate) struct SigCache(std::sync::Mutex<std::collections::HashMap<String, (String, u64)>>);

impl SigCache {
    fn hit(&self, token: &str, identifier: &str, now: u64) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(token)
            .is_some_and(|(id, expires)| id == identifier && now <= *expires)
    }

    fn remember(&self, token: &str, identifier: &str, expires: u64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(token.to_string(), (identifier.to_string(), expires));
    }
}

/// Checks the query string and the UserSig of a request to `service`.
pub(crate) fn check(
    query: &str,
    service: Service,
    sdkappid: u64,
    admins: &[String],
    key: &SecretKey,
    now: u64,
) -> Result<Caller, ApiError> {
    check_cached(
        query,
        service,
        sdkappid,
        admins,
        key,
        now,
        &SigCache::default(),
    )
}

/// [`check`], remembering verified UserSigs in `cache`.
pub(crate) fn check_cached(
    query: &str,
    service: Service,
    sdkappid: u64,
    admins: &[String],
    key: &SecretKey,
    now: u64,
    cache: &SigCache,
) -> Result<Caller, ApiError> {
    let Some(app) = param(query, "sdkappid") else {
        return Err(ApiError::new(60012, "sdkappid is missing from the URL"));
    };
    match app.parse::<u64>() {
        Ok(v) if v == sdkappid => {}
        Ok(_) => {
            return Err(ApiError::new(
                70020,
                "SDKAppID not found in this data center",
            ))
        }
        Err(_) => return Err(ApiError::new(60006, "sdkappid is not a number")),
    }
    let identifier = param(query, "identifier")
        .ok_or_else(|| ApiError::new(60004, "identifier is missing from the URL"))?;
    let sig = param(query, "usersig")
        .ok_or_else(|| ApiError::new(60004, "usersig is missing from the URL"))?;
    if sig.is_empty() {
        return Err(ApiError::new(70002, "usersig is empty"));
    }
    match param(query, "random").map(|r| r.parse::<u32>()) {
        Some(Ok(_)) => {}
        _ => {
            return Err(ApiError::new(
                60002,
                "random must be a 32-bit unsigned integer",
            ))
        }
    }
    if param(query, "contenttype").as_deref() != Some("json") {
        return Err(ApiError::new(60002, "contenttype must be json"));
    }
    if !cache.hit(&sig, &identifier, now) {
        let info = usersig::verify(key, &UserSig::new(sig.clone()), sdkappid, &identifier, now)
            .map_err(|e| ApiError::new(e.tim_code(), e.to_string()))?;
        cache.remember(&sig, &identifier, info.expires_at());
    }
    if !admins.contains(&identifier) {
        return Err(ApiError::new(
            service.not_admin_code(),
            "the identifier is not an app admin",
        ));
    }
    Ok(Caller { identifier })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_100;

    fn key() -> SecretKey {
        SecretKey::new("5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e")
    }

    fn query(app: u64, id: &str, sig: &str) -> String {
        format!("sdkappid={app}&identifier={id}&usersig={sig}&random=99999999&contenttype=json")
    }

    fn code(q: &str) -> i64 {
        check(
            q,
            Service::OpenIm,
            1400000000,
            &["admin".into()],
            &key(),
            NOW,
        )
        .unwrap_err()
        .code
    }

    #[test]
    fn each_failure_has_its_code() {
        let good = usersig::generate(&key(), 1400000000, "admin", 86400, 1_700_000_000);
        let g = good.expose();
        assert!(check(
            &query(1400000000, "admin", g),
            Service::OpenIm,
            1400000000,
            &["admin".into()],
            &key(),
            NOW
        )
        .is_ok());
        assert_eq!(code(&query(1400000001, "admin", g)), 70020);
        assert_eq!(code(&query(1400000000, "other", g)), 70013);
        assert_eq!(code(&query(1400000000, "admin", "garbage")), 70003);
        assert_eq!(code(&query(1400000000, "admin", "")), 70002);
        let other_key = usersig::generate(
            &SecretKey::new("x"),
            1400000000,
            "admin",
            86400,
            1_700_000_000,
        );
        assert_eq!(code(&query(1400000000, "admin", other_key.expose())), 70009);
        let old = usersig::generate(&key(), 1400000000, "admin", 10, 1_600_000_000);
        assert_eq!(code(&query(1400000000, "admin", old.expose())), 70001);
        let wrong_app = usersig::generate(&key(), 1400000001, "admin", 86400, 1_700_000_000);
        assert_eq!(code(&query(1400000000, "admin", wrong_app.expose())), 70014);
        let user = usersig::generate(&key(), 1400000000, "bob", 86400, 1_700_000_000);
        assert_eq!(code(&query(1400000000, "bob", user.expose())), 90009);
        assert_eq!(code(&format!("identifier=admin&usersig={g}")), 60012);
        assert_eq!(
            code(&query(1400000000, "admin", g).replace("contenttype=json", "contenttype=xml")),
            60002
        );
        assert_eq!(
            code(&query(1400000000, "admin", g).replace("random=99999999", "random=-1")),
            60002
        );
        assert_eq!(
            code(&query(1400000000, "admin", g).replace("sdkappid", "SdkAppid")),
            60012
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(decode("a%20b%2a"), "a b*");
        assert_eq!(decode("100%"), "100%");
    }
}
