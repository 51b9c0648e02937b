//! The media section of `cutover validate` and `cutover plan --source`: the export's media
//! references per host and, with `--probe N`, what a HEAD to a few URLs of each host found.

use crate::media::probe::{probe, HostProbe, ProbeOptions};
use crate::source::media_inventory::{HostSummary, MediaInventory, MediaSummary};
use anyhow::Context;
use serde::Serialize;
use std::io::{self, Write};

/// The inventory, probed when `probe` asks for `N` URLs per host.
pub(crate) struct MediaReport {
    summary: MediaSummary,
    probed: Option<(usize, Vec<HostProbe>)>,
    options: ProbeOptions,
}

impl MediaReport {
    /// The report of `inventory`; with `probe = Some(n)`, up to `n` sample URLs of each host
    /// are asked (on a runtime of its own: the commands are synchronous).
    pub(crate) fn new(inventory: &MediaInventory, probe_n: Option<u8>) -> anyhow::Result<Self> {
        let options = ProbeOptions::default();
        let probed = match probe_n {
            Some(n) => {
                let n = usize::from(n);
                let targets = inventory.probe_targets(n);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("starting the runtime of the media probe")?;
                Some((n, runtime.block_on(probe(&targets, options))?))
            }
            None => None,
        };
        Ok(Self {
            summary: inventory.summary(),
            probed,
            options,
        })
    }

    /// The probe of `host`, if it was probed.
    fn probe_of(&self, host: &str) -> Option<&HostProbe> {
        let (_, hosts) = self.probed.as_ref()?;
        hosts.iter().find(|p| p.host == host)
    }

    /// `--json`'s `media` object.
    pub(crate) fn json(&self) -> MediaJson<'_> {
        let s = &self.summary;
        MediaJson {
            references: s.references,
            distinct_urls: s.distinct_urls,
            signed_urls: s.signed_urls,
            probe_per_host: self.probed.as_ref().map(|(n, _)| *n),
            hosts: s
                .hosts
                .iter()
                .map(|h| HostJson {
                    summary: h,
                    probe: self.probe_of(&h.host),
                })
                .collect(),
        }
    }

    /// The text section; nothing when no message references media.
    pub(crate) fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.summary;
        if s.hosts.is_empty() {
            return Ok(());
        }
        let absolute = s.hosts.iter().filter(|h| h.absolute).count();
        writeln!(
            out,
            "\nmedia: {} references, {} distinct URLs on {absolute} host{}",
            s.references,
            s.distinct_urls,
            plural(absolute as u64)
        )?;
        writeln!(
            out,
            "{:<32} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>7}",
            "host", "image", "file", "sound", "video", "thumb", "distinct", "signed"
        )?;
        for h in &s.hosts {
            let t = &h.by_type;
            writeln!(
                out,
                "{:<32} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>7}",
                h.host,
                t.image,
                t.file,
                t.sound,
                t.video,
                t.video_thumb,
                h.distinct_urls,
                h.signed_urls
            )?;
        }
        write_notes(s, out)?;
        if let Some((n, hosts)) = &self.probed {
            self.write_probe(*n, hosts, out)?;
        }
        Ok(())
    }

    fn write_probe(&self, n: usize, hosts: &[HostProbe], out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "\nprobe: HEAD to up to {n} URL{} per host, {} s timeout",
            plural(n as u64),
            self.options.timeout.as_secs()
        )?;
        writeln!(
            out,
            "{:<32} {:>6} {:>9} {:>6}  sizes (smallest / largest / total)",
            "host", "probed", "reachable", "failed"
        )?;
        for p in hosts {
            let sizes = match (p.sizes.min, p.sizes.max) {
                (Some(min), Some(max)) => format!(
                    "{} / {} / {}{}",
                    size_text(min),
                    size_text(max),
                    size_text(p.sizes.total),
                    match p.reachable - p.sizes.known {
                        0 => String::new(),
                        k => format!(" ({k} without a size)"),
                    }
                ),
                _ => "-".to_string(),
            };
            writeln!(
                out,
                "{:<32} {:>6} {:>9} {:>6}  {sizes}",
                p.host,
                p.probed,
                p.reachable,
                p.failed.len()
            )?;
            for f in &p.failed {
                writeln!(out, "  {}: {}", f.url, f.reason)?;
            }
        }
        Ok(())
    }
}

/// Signed URLs and URLs that are not absolute: what they mean and what to do.
fn write_notes(s: &MediaSummary, out: &mut dyn Write) -> io::Result<()> {
    let signed: Vec<String> = s
        .hosts
        .iter()
        .filter(|h| h.signed_urls > 0)
        .map(|h| {
            let markers: Vec<String> = h
                .signed_markers
                .iter()
                .map(|(m, n)| format!("{m} {n}"))
                .collect();
            format!("{} {} ({})", h.host, h.signed_urls, markers.join(", "))
        })
        .collect();
    if !signed.is_empty() {
        writeln!(
            out,
            "signed or expiring URLs: {}: these stop working when they expire: rehost them \
             with [media] before the import (never import a signed URL)",
            signed.join("; ")
        )?;
    }
    if let Some(h) = s.hosts.iter().find(|h| !h.absolute) {
        let (verb, pronoun) = match h.distinct_urls {
            1 => (" is", "it"),
            _ => ("s are", "they"),
        };
        writeln!(
            out,
            "{} URL{verb} not absolute http(s) (e.g. {}): {pronoun} can be neither probed nor \
             rehosted, and Tencent's clients cannot download {}",
            h.distinct_urls,
            example(h),
            if pronoun == "it" { "it" } else { "them" }
        )?;
    }
    Ok(())
}

/// The first sample of a host (shown already), quoted.
fn example(h: &HostSummary) -> String {
    h.samples
        .first()
        .map_or_else(String::new, |u| format!("{u:?}"))
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `512 B`, `1.5 KiB`, `3.2 MiB`, `1.1 GiB`.
fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `--json`'s `media`: the totals, and per host its figures and, probed, the probe's.
#[derive(Serialize)]
pub(crate) struct MediaJson<'a> {
    references: u64,
    distinct_urls: u64,
    signed_urls: u64,
    /// With `--probe N`: N.
    probe_per_host: Option<usize>,
    hosts: Vec<HostJson<'a>>,
}

#[derive(Serialize)]
struct HostJson<'a> {
    #[serde(flatten)]
    summary: &'a HostSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    probe: Option<&'a HostProbe>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::media::{MediaElem, MediaRef};

    fn report() -> MediaReport {
        let mut inv = MediaInventory::default();
        inv.add(&[
            MediaRef {
                elem: MediaElem::Image,
                url: "https://cdn.a/1.jpg",
                size_hint: None,
            },
            MediaRef {
                elem: MediaElem::Sound,
                url: "https://s3.b/x.amr?X-Amz-Signature=ab",
                size_hint: None,
            },
            MediaRef {
                elem: MediaElem::File,
                url: "files/f.pdf",
                size_hint: None,
            },
        ]);
        MediaReport::new(&inv, None).unwrap()
    }

    #[test]
    fn the_text_has_a_row_per_host_and_says_what_to_do() {
        let mut out = Vec::new();
        report().write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("media: 3 references, 3 distinct URLs on 2 hosts"),
            "{text}"
        );
        assert!(text.contains("s3.b 1 (x-amz-signature 1)"), "{text}");
        assert!(text.contains("rehost them with [media]"), "{text}");
        assert!(text.contains("1 URL is not absolute http(s) (e.g. \"files/f.pdf\")"));
        assert!(!text.contains("probe:"), "{text}");
    }

    #[test]
    fn no_media_prints_nothing() {
        let mut out = Vec::new();
        let empty = MediaReport::new(&MediaInventory::default(), None).unwrap();
        empty.write(&mut out).unwrap();
        assert!(out.is_empty());
        let json = serde_json::to_value(empty.json()).unwrap();
        assert_eq!(json["references"], 0);
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size_text(1000), "1000 B");
        assert_eq!(size_text(1536), "1.5 KiB");
        assert_eq!(size_text(3 << 20), "3.0 MiB");
    }

    #[test]
    fn probe_asks_for_no_more_than_the_inventory_keeps() {
        use clap::Parser;
        let parse =
            |n: &str| crate::cli::Cli::try_parse_from(["cutover", "validate", "d", "--probe", n]);
        let most = crate::source::media_inventory::SAMPLES_KEPT.to_string();
        assert!(parse(&most).is_ok());
        assert!(parse("11").is_err() && parse("0").is_err());
    }
}
