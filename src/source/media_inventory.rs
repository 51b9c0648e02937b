//! The media an export's messages reference, per host: references per element type, distinct
//! URLs, URLs that look signed or expiring, and a few sample URLs (for `--probe` and for the
//! operator). Filled record by record while validation reads the export, like the custom-key
//! inventory; `validate` and `plan --source` show it.
//!
//! URLs that are not absolute `http(s)` are counted under [`NOT_ABSOLUTE`]: they can be neither
//! probed nor rehosted.

use crate::model::media::{host_of, signed_marker, MediaElem, MediaRef};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// The row under which URLs that are not absolute `http(s)` are counted (relative paths,
/// other schemes).
pub(crate) const NOT_ABSOLUTE: &str = "(not http/https)";

/// Distinct sample URLs kept per host, in the order first seen: the most `--probe N` asks for.
pub(crate) const SAMPLES_KEPT: usize = 10;

/// Sample URLs shown per host (text and JSON).
pub(crate) const SAMPLES_SHOWN: usize = 3;

/// Every message's media, per host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MediaInventory {
    /// Absolute `http(s)` URLs, by their lower-cased host.
    hosts: HashMap<String, HostMedia>,
    /// URLs that are not absolute `http(s)`.
    not_absolute: HostMedia,
}

/// The media URLs of one host.
///
/// Distinct URLs are counted by a set of the 64-bit xxh3 hashes of the URLs, not the URLs
/// themselves: each distinct URL costs 8 bytes and the set's control byte, at a load between
/// 7/16 and 7/8, so 10 to 21 bytes (up to 31 for the moment it grows, old table beside new):
/// 10 million distinct URLs take 100 to 210 MB. Two URLs of one host with the same hash (about 1 in 370 000
/// for 10 million URLs) would count once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct HostMedia {
    /// References per element type, in [`MediaElem::ALL`] order.
    references: [u64; 5],
    /// The hashes of the distinct URLs.
    urls: HashSet<u64, BuildHasherDefault<Prehashed>>,
    /// Distinct URLs that look signed or expiring, by the query parameter that says so.
    signed: BTreeMap<&'static str, u64>,
    /// The first [`SAMPLES_KEPT`] distinct URLs.
    samples: Vec<String>,
}

impl MediaInventory {
    /// Counts the media URLs of one message.
    pub(crate) fn add(&mut self, refs: &[MediaRef<'_>]) {
        for r in refs {
            self.add_one(r.elem, r.url);
        }
    }

    /// Counts one media URL.
    fn add_one(&mut self, elem: MediaElem, url: &str) {
        let host = match host_of(url) {
            Some(host) => self.hosts.entry(host).or_default(),
            None => &mut self.not_absolute,
        };
        host.references[elem as usize] += 1;
        if !host.urls.insert(xxhash_rust::xxh3::xxh3_64(url.as_bytes())) {
            return;
        }
        if let Some(marker) = signed_marker(url) {
            *host.signed.entry(marker).or_default() += 1;
        }
        if host.samples.len() < SAMPLES_KEPT {
            host.samples.push(url.to_string());
        }
    }

    /// The figures to show: hosts by references, most first (then by name); URLs that are not
    /// absolute last.
    pub(crate) fn summary(&self) -> MediaSummary {
        let mut hosts: Vec<HostSummary> = self
            .hosts
            .iter()
            .map(|(name, h)| h.summary(name, true))
            .collect();
        hosts.sort_by(|a, b| {
            b.references
                .cmp(&a.references)
                .then_with(|| a.host.cmp(&b.host))
        });
        if !self.not_absolute.urls.is_empty() {
            hosts.push(self.not_absolute.summary(NOT_ABSOLUTE, false));
        }
        MediaSummary {
            references: hosts.iter().map(|h| h.references).sum(),
            distinct_urls: hosts.iter().map(|h| h.distinct_urls).sum(),
            signed_urls: hosts.iter().map(|h| h.signed_urls).sum(),
            hosts,
        }
    }

    /// Up to `n` sample URLs (full, as exported) of each host that can be probed, hosts by
    /// references, most first.
    pub(crate) fn probe_targets(&self, n: usize) -> Vec<(String, Vec<String>)> {
        let mut hosts: Vec<(&String, &HostMedia)> = self.hosts.iter().collect();
        hosts.sort_by(|a, b| b.1.total().cmp(&a.1.total()).then_with(|| a.0.cmp(b.0)));
        hosts
            .into_iter()
            .map(|(name, h)| (name.clone(), h.samples.iter().take(n).cloned().collect()))
            .collect()
    }
}

impl HostMedia {
    fn total(&self) -> u64 {
        self.references.iter().sum()
    }

    fn summary(&self, host: &str, absolute: bool) -> HostSummary {
        let r = &self.references;
        HostSummary {
            host: host.to_string(),
            absolute,
            references: self.total(),
            by_type: ByType {
                image: r[MediaElem::Image as usize],
                file: r[MediaElem::File as usize],
                sound: r[MediaElem::Sound as usize],
                video: r[MediaElem::Video as usize],
                video_thumb: r[MediaElem::VideoThumb as usize],
            },
            distinct_urls: self.urls.len() as u64,
            signed_urls: self.signed.values().sum(),
            signed_markers: self.signed.clone(),
            samples: self
                .samples
                .iter()
                .take(SAMPLES_SHOWN)
                .map(|u| shown_url(u))
                .collect(),
        }
    }
}

/// An export's media, as `validate` and `plan` show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct MediaSummary {
    /// Media references over all messages.
    pub(crate) references: u64,
    /// Distinct URLs over all hosts.
    pub(crate) distinct_urls: u64,
    /// Distinct URLs that look signed or expiring.
    pub(crate) signed_urls: u64,
    /// One row per host, most referenced first; URLs that are not absolute last.
    pub(crate) hosts: Vec<HostSummary>,
}

/// The media of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct HostSummary {
    /// The host, lower-cased, without port; [`NOT_ABSOLUTE`] for the URLs that have none.
    pub(crate) host: String,
    /// False for the [`NOT_ABSOLUTE`] row: those URLs can be neither probed nor rehosted.
    pub(crate) absolute: bool,
    /// References over all element types.
    pub(crate) references: u64,
    /// References per element type.
    pub(crate) by_type: ByType,
    /// Distinct URLs.
    pub(crate) distinct_urls: u64,
    /// Distinct URLs that look signed or expiring.
    pub(crate) signed_urls: u64,
    /// Those, by the query parameter that made them look so (lower-cased).
    pub(crate) signed_markers: BTreeMap<&'static str, u64>,
    /// Up to [`SAMPLES_SHOWN`] URLs, first seen first; a signed one without its query.
    pub(crate) samples: Vec<String>,
}

/// References per element type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct ByType {
    /// Images.
    pub(crate) image: u64,
    /// Files.
    pub(crate) file: u64,
    /// Voice messages.
    pub(crate) sound: u64,
    /// Videos.
    pub(crate) video: u64,
    /// Videos' thumbnails.
    pub(crate) video_thumb: u64,
}

/// A URL as shown: a signed or expiring one loses its query (its signature is a credential,
/// however short-lived), the rest is shown as exported.
pub(crate) fn shown_url(url: &str) -> String {
    crate::model::media::shown_url(url)
}

/// The hasher of a set of hashes: xxh3 has mixed them already, so a key is its own hash.
#[derive(Debug, Default, Clone, Copy)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory(urls: &[(MediaElem, &str)]) -> MediaInventory {
        let mut inv = MediaInventory::default();
        let refs: Vec<MediaRef<'_>> = urls
            .iter()
            .map(|&(elem, url)| MediaRef {
                elem,
                url,
                size_hint: None,
            })
            .collect();
        inv.add(&refs);
        inv
    }

    #[test]
    fn counts_references_distinct_and_signed_urls_per_host() {
        use MediaElem::*;
        let inv = inventory(&[
            (Image, "https://cdn.a/1.jpg"),
            (Image, "https://cdn.a/1.jpg"),
            (File, "https://CDN.a:8443/f.pdf"),
            (Video, "https://cdn.a/v.mp4"),
            (VideoThumb, "https://cdn.a/v.jpg"),
            (
                Sound,
                "https://s3.b/x.amr?X-Amz-Signature=ab&X-Amz-Expires=9",
            ),
            (
                Sound,
                "https://s3.b/x.amr?X-Amz-Signature=ab&X-Amz-Expires=9",
            ),
            (Image, "/static/2.png"),
        ]);
        let s = inv.summary();
        assert_eq!((s.references, s.distinct_urls, s.signed_urls), (8, 6, 1));
        let hosts: Vec<(&str, u64, u64, bool)> = s
            .hosts
            .iter()
            .map(|h| (h.host.as_str(), h.references, h.distinct_urls, h.absolute))
            .collect();
        assert_eq!(
            hosts,
            [
                ("cdn.a", 5, 4, true),
                ("s3.b", 2, 1, true),
                (NOT_ABSOLUTE, 1, 1, false)
            ]
        );
        let a = &s.hosts[0].by_type;
        assert_eq!(
            (a.image, a.file, a.sound, a.video, a.video_thumb),
            (2, 1, 0, 1, 1)
        );
        let b = &s.hosts[1];
        assert_eq!(b.signed_markers, BTreeMap::from([("x-amz-signature", 1)]));
        assert_eq!(b.samples, ["https://s3.b/x.amr?…"]);
        assert_eq!(s.hosts[2].samples, ["/static/2.png"]);
    }

    #[test]
    fn samples_are_distinct_first_seen_and_bounded() {
        let urls: Vec<String> = (0..25).map(|i| format!("http://h/{}", i % 15)).collect();
        let pairs: Vec<(MediaElem, &str)> =
            urls.iter().map(|u| (MediaElem::File, u.as_str())).collect();
        let inv = inventory(&pairs);
        let s = inv.summary();
        assert_eq!(
            s.hosts[0].samples,
            ["http://h/0", "http://h/1", "http://h/2"]
        );
        assert_eq!(s.hosts[0].distinct_urls, 15);
        let targets = inv.probe_targets(4);
        assert_eq!(
            targets,
            [(
                "h".to_string(),
                vec![
                    "http://h/0".to_string(),
                    "http://h/1".into(),
                    "http://h/2".into(),
                    "http://h/3".into()
                ]
            )]
        );
        assert_eq!(inv.probe_targets(99)[0].1.len(), SAMPLES_KEPT);
    }

    #[test]
    fn relative_urls_are_never_probe_targets() {
        assert!(MediaInventory::default().summary().hosts.is_empty());
        let inv = inventory(&[(MediaElem::Image, "files/a.png")]);
        assert_eq!(inv.summary().hosts.len(), 1);
        assert!(inv.probe_targets(3).is_empty());
    }

    #[test]
    fn hosts_tie_on_references_by_name() {
        let inv = inventory(&[
            (MediaElem::Image, "https://b/1"),
            (MediaElem::Image, "https://a/1"),
        ]);
        let names: Vec<String> = inv.summary().hosts.into_iter().map(|h| h.host).collect();
        assert_eq!(names, ["a", "b"]);
        let targets: Vec<String> = inv.probe_targets(1).into_iter().map(|t| t.0).collect();
        assert_eq!(targets, ["a", "b"]);
    }
}
