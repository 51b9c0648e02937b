//! `[media]`: which hosts' media is copied into a bucket the new system keeps (rehosted) and
//! which is imported as exported (kept), the bucket, and what a message carries when its media
//! could not be copied. Credentials come from the environment only (see [`BUCKET_KEY_ENV`]).

use crate::model::media::HostPattern;
use serde::{Deserialize, Serialize};

/// The environment variable that holds the bucket's access key id (AWS_ACCESS_KEY_ID too).
pub const BUCKET_KEY_ENV: &str = "CUTOVER_S3_ACCESS_KEY_ID";

/// Objects larger than this fail as over the size limit unless `[media] max_object_mb` says.
const DEFAULT_MAX_OBJECT_MB: u64 = 2048;
/// Objects fetched at once from one host unless `[media] per_host_concurrency` says.
const DEFAULT_PER_HOST_CONCURRENCY: usize = 4;
/// Requests per second to one host unless `[media] per_host_rate` says.
const DEFAULT_PER_HOST_RATE: u32 = 20;

/// `[media]` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MediaSection {
    /// `keep_url` (default) or `placeholder`.
    pub(crate) on_unreachable: Option<String>,
    /// The largest object copied, in MiB (default 2048).
    pub(crate) max_object_mb: Option<u64>,
    /// Objects fetched at once from one host (default 4).
    pub(crate) per_host_concurrency: Option<usize>,
    /// Requests per second to one host (default 20).
    pub(crate) per_host_rate: Option<u32>,
    /// The share (0 to 1) of rehosted objects the verification downloads and hashes again
    /// (every one is checked by HEAD; default 0.01).
    pub(crate) verify_download: Option<f64>,
    /// `[media.bucket]`: where rehosted objects go.
    pub(crate) bucket: Option<BucketSection>,
    /// `[[media.host]]`: one rule per host pattern, first match wins.
    pub(crate) host: Vec<HostSection>,
}

/// `[media.bucket]` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct BucketSection {
    /// The S3 endpoint (`https://cos.ap-guangzhou.myqcloud.com`).
    pub(crate) endpoint: Option<String>,
    /// The region (`ap-guangzhou`).
    pub(crate) region: Option<String>,
    /// The bucket name.
    pub(crate) bucket: Option<String>,
    /// The key prefix (`im-history/`).
    pub(crate) prefix: Option<String>,
    /// The base URL that serves the objects to the app's clients.
    pub(crate) public_base: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`) instead of virtual-host style.
    pub(crate) path_style: Option<bool>,
}

/// `[[media.host]]` as written.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct HostSection {
    /// `cdn.example.com`, `*.example.com` or `*`.
    pub(crate) pattern: String,
    /// `keep` (default) or `rehost`.
    pub(crate) action: Option<String>,
    /// Fetch this host's URLs through another origin (`http://10.0.0.5:8080`): the URL's path
    /// and query are kept, its scheme, host and port replaced.
    pub(crate) fetch_from: Option<String>,
}

/// What happens to one host's media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaAction {
    /// Imported as exported.
    Keep,
    /// Copied into the bucket; the messages carry the copy's URL.
    Rehost,
}

/// What a message carries when its media could not be copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnUnreachable {
    /// The URL as exported (a signed or expiring URL still becomes a placeholder).
    KeepUrl,
    /// A text element saying what was there.
    Placeholder,
}

impl OnUnreachable {
    /// The name written in the runbook and stored.
    pub fn name(self) -> &'static str {
        match self {
            OnUnreachable::KeepUrl => "keep_url",
            OnUnreachable::Placeholder => "placeholder",
        }
    }

    /// The policy named `name`.
    pub fn from_name(name: &str) -> Option<OnUnreachable> {
        [OnUnreachable::KeepUrl, OnUnreachable::Placeholder]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// One host rule, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostRule {
    /// Which hosts.
    pub pattern: HostPattern,
    /// What happens to their media.
    pub action: MediaAction,
    /// The origin their URLs are fetched through, if not their own.
    pub fetch_from: Option<String>,
    /// The rule was written (a host no rule names is kept by default).
    pub explicit: bool,
}

/// The bucket rehosted media goes to (no credentials: those are read from the environment
/// when the bucket is opened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketSettings {
    /// The S3 endpoint.
    pub endpoint: String,
    /// The region.
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix ('' or ending in `/`).
    pub prefix: String,
    /// The base URL that serves the objects (no trailing `/`).
    pub public_base: String,
    /// Path-style requests.
    pub path_style: bool,
}

/// `[media]`, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MediaPolicy {
    /// The host rules, first match wins; a host none matches is kept.
    pub rules: Vec<HostRule>,
    /// The bucket (required when a rule rehosts).
    pub bucket: Option<BucketSettings>,
    /// What a message carries when its media could not be copied.
    pub on_unreachable: OnUnreachable,
    /// The largest object copied, in bytes.
    pub max_object_bytes: u64,
    /// Objects fetched at once from one host.
    pub per_host_concurrency: usize,
    /// Requests per second to one host.
    pub per_host_rate: u32,
    /// The share of rehosted objects downloaded again and hashed by verification.
    pub verify_download: f64,
}

impl Default for MediaPolicy {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            bucket: None,
            on_unreachable: OnUnreachable::KeepUrl,
            max_object_bytes: DEFAULT_MAX_OBJECT_MB << 20,
            per_host_concurrency: DEFAULT_PER_HOST_CONCURRENCY,
            per_host_rate: DEFAULT_PER_HOST_RATE,
            // A HEAD proves the size and the hash cutover recorded, not the bytes: a share
            // is read back whole and hashed.
            verify_download: 0.01,
        }
    }
}

impl MediaPolicy {
    /// The rule for `host` (a host no rule names is kept, by an implicit rule).
    pub fn rule_for(&self, host: &str) -> HostRule {
        self.rules
            .iter()
            .find(|r| r.pattern.matches(host))
            .cloned()
            .unwrap_or(HostRule {
                pattern: HostPattern::parse("*").unwrap_or_else(|_| HostPattern::any()),
                action: MediaAction::Keep,
                fetch_from: None,
                explicit: false,
            })
    }

    /// True when some rule rehosts.
    pub fn rehosts(&self) -> bool {
        self.rules.iter().any(|r| r.action == MediaAction::Rehost)
    }
}

/// Resolves `[media]`, adding what is wrong to `problems`.
pub(super) fn media_policy(section: &MediaSection, problems: &mut Vec<String>) -> MediaPolicy {
    let defaults = MediaPolicy::default();
    let on_unreachable = match section.on_unreachable.as_deref() {
        None => defaults.on_unreachable,
        Some(name) => OnUnreachable::from_name(name).unwrap_or_else(|| {
            problems.push(format!(
                "[media] on_unreachable = \"{name}\": use \"keep_url\" or \"placeholder\""
            ));
            defaults.on_unreachable
        }),
    };
    let rules: Vec<HostRule> = section
        .host
        .iter()
        .enumerate()
        .filter_map(|(i, h)| host_rule(i, h, problems))
        .collect();
    let bucket = section.bucket.as_ref().and_then(|b| bucket(b, problems));
    if bucket.is_none()
        && section.bucket.is_none()
        && rules.iter().any(|r| r.action == MediaAction::Rehost)
    {
        problems.push(
            "[media] a [[media.host]] rule rehosts, but there is no [media.bucket] to copy into"
                .into(),
        );
    }
    let per_host_concurrency = section
        .per_host_concurrency
        .unwrap_or(defaults.per_host_concurrency);
    if per_host_concurrency == 0 {
        problems.push("[media] per_host_concurrency must be at least 1".into());
    }
    let per_host_rate = section.per_host_rate.unwrap_or(defaults.per_host_rate);
    if per_host_rate == 0 {
        problems.push("[media] per_host_rate must be at least 1".into());
    }
    let max_object_mb = section.max_object_mb.unwrap_or(DEFAULT_MAX_OBJECT_MB);
    if max_object_mb == 0 {
        problems.push("[media] max_object_mb must be at least 1".into());
    }
    let verify_download = section.verify_download.unwrap_or(defaults.verify_download);
    if !(0.0..=1.0).contains(&verify_download) {
        problems.push(format!(
            "[media] verify_download must be between 0 and 1 (got {verify_download})"
        ));
    }
    MediaPolicy {
        rules,
        bucket,
        on_unreachable,
        max_object_bytes: max_object_mb << 20,
        per_host_concurrency: per_host_concurrency.max(1),
        per_host_rate: per_host_rate.max(1),
        verify_download,
    }
}

/// One `[[media.host]]` rule; `None` (with a problem) when it cannot be used.
fn host_rule(index: usize, h: &HostSection, problems: &mut Vec<String>) -> Option<HostRule> {
    let at = format!("[[media.host]] #{} (pattern \"{}\")", index + 1, h.pattern);
    let pattern = match HostPattern::parse(&h.pattern) {
        Ok(p) => p,
        Err(e) => {
            problems.push(format!("{at}: {e}"));
            return None;
        }
    };
    let action = match h.action.as_deref() {
        None | Some("keep") => MediaAction::Keep,
        Some("rehost") => MediaAction::Rehost,
        Some(other) => {
            problems.push(format!(
                "{at}: action = \"{other}\": use \"keep\" or \"rehost\""
            ));
            return None;
        }
    };
    let fetch_from = h
        .fetch_from
        .as_ref()
        .map(|f| f.trim_end_matches('/').to_string());
    if let Some(f) = &fetch_from {
        if !(f.starts_with("http://") || f.starts_with("https://")) {
            problems.push(format!(
                "{at}: fetch_from = \"{f}\" must be an http:// or https:// origin"
            ));
        }
    }
    Some(HostRule {
        pattern,
        action,
        fetch_from,
        explicit: true,
    })
}

/// `[media.bucket]`, every field required but the prefix and the style.
fn bucket(b: &BucketSection, problems: &mut Vec<String>) -> Option<BucketSettings> {
    let mut need = |name: &str, v: &Option<String>| -> Option<String> {
        match v.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => Some(v.to_string()),
            _ => {
                problems.push(format!("[media.bucket] {name} is required"));
                None
            }
        }
    };
    let endpoint = need("endpoint", &b.endpoint);
    let region = need("region", &b.region);
    let bucket = need("bucket", &b.bucket);
    let public_base = need("public_base", &b.public_base);
    for (name, url) in [("endpoint", &endpoint), ("public_base", &public_base)] {
        if let Some(u) = url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                problems.push(format!(
                    "[media.bucket] {name} = \"{u}\" must be an http:// or https:// URL"
                ));
            }
        }
    }
    let mut prefix = b
        .prefix
        .clone()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    Some(BucketSettings {
        endpoint: endpoint?.trim_end_matches('/').to_string(),
        region: region?,
        bucket: bucket?,
        prefix,
        public_base: public_base?.trim_end_matches('/').to_string(),
        path_style: b.path_style.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(toml_text: &str) -> (MediaPolicy, Vec<String>) {
        let section: MediaSection = toml::from_str(toml_text).unwrap();
        let mut problems = Vec::new();
        (media_policy(&section, &mut problems), problems)
    }

    #[test]
    fn rules_match_first_and_default_to_keep() {
        let (p, problems) = resolve(
            "on_unreachable = \"placeholder\"\n\
             [bucket]\nendpoint = \"http://127.0.0.1:9000/\"\nregion = \"r\"\nbucket = \"b\"\n\
             prefix = \"im\"\npublic_base = \"https://cdn.new/\"\n\
             [[host]]\npattern = \"*.old.example\"\naction = \"rehost\"\nfetch_from = \"http://10.0.0.5:80/\"\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(p.on_unreachable, OnUnreachable::Placeholder);
        let bucket = p.bucket.clone().unwrap();
        assert_eq!(bucket.prefix, "im/");
        assert_eq!(bucket.endpoint, "http://127.0.0.1:9000");
        assert_eq!(bucket.public_base, "https://cdn.new");
        let rule = p.rule_for("img.old.example");
        assert_eq!(rule.action, MediaAction::Rehost);
        assert_eq!(rule.fetch_from.as_deref(), Some("http://10.0.0.5:80"));
        assert_eq!(p.rule_for("other.example").action, MediaAction::Keep);
        assert!(!p.rule_for("other.example").explicit);
        assert!(p.rehosts());
    }

    #[test]
    fn every_problem_is_named() {
        let (_, problems) = resolve(
            "on_unreachable = \"drop\"\nper_host_rate = 0\n\
             [[host]]\npattern = \"a b\"\n[[host]]\npattern = \"x.example\"\naction = \"copy\"\n\
             [[host]]\npattern = \"y.example\"\naction = \"rehost\"\n",
        );
        let all = problems.join("\n");
        for needle in [
            "on_unreachable",
            "per_host_rate",
            "#1",
            "action = \"copy\"",
            "no [media.bucket]",
        ] {
            assert!(all.contains(needle), "{needle} missing from {all}");
        }
        let (_, problems) = resolve("[bucket]\nendpoint = \"s3.example\"\n");
        let all = problems.join("\n");
        for needle in [
            "region is required",
            "bucket is required",
            "public_base is required",
            "must be an http",
        ] {
            assert!(all.contains(needle), "{needle} missing from {all}");
        }
    }
}
