//! Where the REST API lives: a regional domain of §1.1 by name, or any base URL.

use std::fmt;
use thiserror::Error;

/// The regional domains (§1.1), by the names an operator would type.
pub(crate) const REGIONS: &[(&str, &str)] = &[
    ("china", "console.tim.qq.com"),
    ("singapore", "adminapisgp.im.qcloud.com"),
    ("seoul", "adminapikr.im.qcloud.com"),
    ("tokyo", "adminapijpn.im.qcloud.com"),
    ("frankfurt", "adminapiger.im.qcloud.com"),
    ("mumbai", "adminapiind.im.qcloud.com"),
    ("silicon-valley", "adminapiusa.im.qcloud.com"),
    ("jakarta", "adminapiidn.im.qcloud.com"),
    ("riyadh", "adminapiksa.im.qcloud.com"),
];

/// A base URL to which `/v4/{service}/{command}` is appended.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    base: String,
}

/// Why a target could not be understood.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TargetError {
    /// Neither a region name nor an http(s) URL.
    #[error("unknown target {0:?}: give a region ({regions}) or a URL like https://host[:port]", regions = region_names())]
    Unknown(String),
    /// A URL with a query string or fragment, which would corrupt the request URL.
    #[error("target URL {0:?} must not carry a query string or fragment")]
    HasQuery(String),
}

fn region_names() -> String {
    REGIONS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Target {
    /// Parses a region name (case-insensitive) or an `http://` / `https://` URL.
    pub fn parse(text: &str) -> Result<Self, TargetError> {
        let text = text.trim();
        if let Some((_, domain)) = REGIONS
            .iter()
            .find(|(name, domain)| name.eq_ignore_ascii_case(text) || *domain == text)
        {
            return Ok(Self {
                base: format!("https://{domain}"),
            });
        }
        let lower = text.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Err(TargetError::Unknown(text.into()));
        }
        if text.contains('?') || text.contains('#') {
            return Err(TargetError::HasQuery(text.into()));
        }
        let rest = &text[text.find("://").map_or(0, |i| i + 3)..];
        if rest.trim_end_matches('/').is_empty() {
            return Err(TargetError::Unknown(text.into()));
        }
        Ok(Self {
            base: text.trim_end_matches('/').to_string(),
        })
    }

    /// The base URL, without a trailing slash.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// True for plain HTTP (the real service is HTTPS only; plain HTTP is for the simulator).
    #[cfg(test)]
    pub(crate) fn is_plain_http(&self) -> bool {
        self.base.to_ascii_lowercase().starts_with("http://")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_by_name_or_domain() {
        assert_eq!(
            Target::parse("Singapore").unwrap().base(),
            "https://adminapisgp.im.qcloud.com"
        );
        assert_eq!(
            Target::parse("console.tim.qq.com").unwrap().base(),
            "https://console.tim.qq.com"
        );
    }

    #[test]
    fn urls_lose_their_trailing_slash() {
        let t = Target::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(t.base(), "http://127.0.0.1:8080");
        assert!(t.is_plain_http());
    }

    #[test]
    fn nonsense_is_refused_with_the_choices() {
        let e = Target::parse("mars").unwrap_err();
        assert!(e.to_string().contains("singapore"), "{e}");
        assert!(matches!(
            Target::parse("https://x/?a=1"),
            Err(TargetError::HasQuery(_))
        ));
        assert!(Target::parse("https://").is_err());
    }
}
