//! Media references in message bodies: which elements carry a URL, the host it points at,
//! whether it is signed or expiring, and how a body's URLs are rewritten to rehosted copies
//! (or to a placeholder when the object could not be copied).

use super::element::Element;
use serde::Serialize;

/// The kind of media a URL belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaElem {
    /// An image (`TIMImageElem`).
    Image,
    /// A file (`TIMFileElem`).
    File,
    /// A voice message (`TIMSoundElem`).
    Sound,
    /// A video (`TIMVideoFileElem`'s video).
    Video,
    /// A video's thumbnail (`TIMVideoFileElem`'s thumbnail).
    VideoThumb,
}

impl MediaElem {
    /// Every kind, in the order reports list them.
    pub const ALL: [MediaElem; 5] = [
        MediaElem::Image,
        MediaElem::File,
        MediaElem::Sound,
        MediaElem::Video,
        MediaElem::VideoThumb,
    ];

    /// The name shown and stored.
    pub fn name(self) -> &'static str {
        match self {
            MediaElem::Image => "image",
            MediaElem::File => "file",
            MediaElem::Sound => "sound",
            MediaElem::Video => "video",
            MediaElem::VideoThumb => "video_thumb",
        }
    }

    /// The kind named `name` (as stored).
    pub fn from_name(name: &str) -> Option<MediaElem> {
        MediaElem::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// One URL of a message body and the element it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRef<'a> {
    /// What the URL is.
    pub elem: MediaElem,
    /// The URL, as exported.
    pub url: &'a str,
    /// The size the export gives the object, if any (what an ETA can go by).
    pub size_hint: Option<u64>,
}

/// The media URLs of a message body, in element order (a video gives its video, then its
/// thumbnail). Empty URLs are left out: there is nothing to fetch.
pub(crate) fn media_refs(body: &[Element]) -> Vec<MediaRef<'_>> {
    let mut refs = Vec::new();
    for element in body {
        let urls: [(MediaElem, &String, Option<u64>); 2] = match element {
            Element::Image { url, size, .. } => [
                (MediaElem::Image, url, *size),
                (MediaElem::Image, &EMPTY, None),
            ],
            Element::File { url, size, .. } => [
                (MediaElem::File, url, Some(*size)),
                (MediaElem::File, &EMPTY, None),
            ],
            Element::Sound { url, size, .. } => [
                (MediaElem::Sound, url, Some(*size)),
                (MediaElem::Sound, &EMPTY, None),
            ],
            Element::Video {
                url,
                size,
                thumb_url,
                ..
            } => [
                (MediaElem::Video, url, Some(*size)),
                (MediaElem::VideoThumb, thumb_url, None),
            ],
            _ => continue,
        };
        refs.extend(urls.into_iter().filter(|(_, url, _)| !url.is_empty()).map(
            |(elem, url, size_hint)| MediaRef {
                elem,
                url,
                size_hint,
            },
        ));
    }
    refs
}

/// No URL: the second slot of the elements that have one.
static EMPTY: String = String::new();

/// The host of an absolute `http(s)` URL, lower-cased, without user info or port; `None` for
/// anything else (a relative path, another scheme).
pub fn host_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Which hosts a `[[media.host]]` rule covers: one host, a domain's subdomains (`*.example.com`,
/// not `example.com` itself) or every host (`*`). Hosts compare lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(String);

impl HostPattern {
    /// Every host.
    pub fn any() -> HostPattern {
        HostPattern("*".into())
    }

    /// Reads a pattern; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let text = text.trim().to_ascii_lowercase();
        let host = text.strip_prefix("*.").unwrap_or(&text);
        // No port: hosts compare without theirs (see `host_of`).
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
        if text == "*" || (!host.is_empty() && host.chars().all(ok_char)) {
            Ok(HostPattern(text))
        } else {
            Err(format!(
                "\"{text}\" is not a host pattern: write a host (cdn.example.com), its \
                 subdomains (*.example.com) or * for every host"
            ))
        }
    }

    /// True when `host` (lower-case, as [`host_of`] gives it) is covered.
    pub fn matches(&self, host: &str) -> bool {
        match self.0.strip_prefix('*') {
            Some("") => true,
            Some(suffix) => host.len() > suffix.len() && host.ends_with(suffix),
            None => self.0 == host,
        }
    }

    /// The pattern as written (lower-cased).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for HostPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Query parameters that make a URL signed or expiring (S3 presigned, COS, OSS, CDN tokens):
/// such a URL stops working, so it is never imported as it is.
const SIGNED_PARAMS: [&str; 12] = [
    "expires",
    "x-amz-signature",
    "x-amz-expires",
    "x-amz-credential",
    "signature",
    "sign",
    "token",
    "q-sign-algorithm",
    "q-signature",
    "x-oss-expires",
    "auth_key",
    "x-goog-signature",
];

/// The query parameter that makes `url` look signed or expiring, if any (case-insensitive).
pub fn signed_marker(url: &str) -> Option<&'static str> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or("");
    query.split('&').find_map(|pair| {
        let name = pair.split('=').next().unwrap_or("");
        SIGNED_PARAMS
            .into_iter()
            .find(|p| p.eq_ignore_ascii_case(name))
    })
}

/// `url` without user info (`user:pass@`): a credential, never shown or stored in a reason.
pub fn without_user_info(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// A URL as shown to people (errors, the report, notes): without user info, and a signed or
/// expiring one without its query (its signature is a credential, however short-lived).
pub fn shown_url(url: &str) -> String {
    let url = without_user_info(url);
    match (signed_marker(&url), url.split_once('?')) {
        (Some(_), Some((base, _))) => format!("{base}?…"),
        _ => url,
    }
}

/// What one media URL of a body becomes at import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaFate {
    /// Imported as exported.
    Keep,
    /// Rehosted: the copy's URL, and its content hash as the element's UUID.
    Rehosted {
        /// Where the copy is served.
        url: String,
        /// The content's SHA-256, hex.
        uuid: String,
    },
    /// The object could not be copied and the runbook says so in the message: the element
    /// becomes a text saying what was there.
    Placeholder,
}

/// Rewrites the media URLs of `body` by `fate` (asked once per URL, in [`media_refs`] order).
/// An element with a placeholder URL becomes a text element naming what it was; a video whose
/// thumbnail alone is lost keeps its video and loses the thumbnail.
pub(crate) fn rewrite_media(
    body: &mut [Element],
    mut fate: impl FnMut(MediaElem, &str) -> MediaFate,
) {
    for element in body.iter_mut() {
        let replacement = match element {
            Element::Image { url, uuid, .. } => {
                apply(ask(&mut fate, MediaElem::Image, url), url, uuid)
                    .then(|| placeholder("image", None))
            }
            Element::File {
                url, uuid, name, ..
            } => {
                let name = name.clone();
                apply(ask(&mut fate, MediaElem::File, url), url, uuid)
                    .then(|| placeholder("file", Some(&name)))
            }
            Element::Sound { url, uuid, .. } => {
                apply(ask(&mut fate, MediaElem::Sound, url), url, uuid)
                    .then(|| placeholder("voice message", None))
            }
            Element::Video {
                url,
                uuid,
                thumb_url,
                thumb_uuid,
                ..
            } => {
                let lost = apply(ask(&mut fate, MediaElem::Video, url), url, uuid);
                if apply(
                    fate(MediaElem::VideoThumb, thumb_url),
                    thumb_url,
                    thumb_uuid,
                ) {
                    thumb_url.clear();
                    thumb_uuid.clear();
                }
                lost.then(|| placeholder("video", None))
            }
            _ => None,
        };
        if let Some(text) = replacement {
            *element = Element::Text { text };
        }
    }
}

/// The fate of `url` (an empty URL has nothing to ask about: kept).
fn ask(
    fate: &mut impl FnMut(MediaElem, &str) -> MediaFate,
    elem: MediaElem,
    url: &str,
) -> MediaFate {
    if url.is_empty() {
        return MediaFate::Keep;
    }
    fate(elem, url)
}

/// Applies one fate to a URL and its UUID; true when the element is to become a placeholder.
fn apply(fate: MediaFate, url: &mut String, uuid: &mut String) -> bool {
    match fate {
        MediaFate::Keep => false,
        MediaFate::Rehosted { url: new, uuid: id } => {
            *url = new;
            *uuid = id;
            false
        }
        MediaFate::Placeholder => true,
    }
}

/// The text that stands for media that could not be copied.
fn placeholder(what: &str, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("[{what} no longer available: {name}]"),
        None => format!("[{what} no longer available]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(url: &str, thumb: &str) -> Element {
        Element::Video {
            url: url.into(),
            uuid: "v".into(),
            size: 9,
            seconds: 3,
            format: "mp4".into(),
            thumb_url: thumb.into(),
            thumb_uuid: "t".into(),
            thumb_width: 1,
            thumb_height: 1,
        }
    }

    fn file(url: &str) -> Element {
        Element::File {
            url: url.into(),
            uuid: "f".into(),
            name: "a.pdf".into(),
            size: 1,
        }
    }

    #[test]
    fn refs_list_every_media_url_in_order() {
        let body = vec![
            Element::Text { text: "x".into() },
            file("https://a/f"),
            video("https://a/v", "https://a/t"),
            video("https://a/v2", ""),
        ];
        let refs: Vec<(MediaElem, &str)> = media_refs(&body)
            .into_iter()
            .map(|r| (r.elem, r.url))
            .collect();
        assert_eq!(
            refs,
            [
                (MediaElem::File, "https://a/f"),
                (MediaElem::Video, "https://a/v"),
                (MediaElem::VideoThumb, "https://a/t"),
                (MediaElem::Video, "https://a/v2"),
            ]
        );
    }

    #[test]
    fn hosts_are_lower_case_without_port_or_user() {
        assert_eq!(
            host_of("https://CDN.Example.com:8443/a?b").as_deref(),
            Some("cdn.example.com")
        );
        assert_eq!(
            host_of("http://u:p@h.example/x").as_deref(),
            Some("h.example")
        );
        assert_eq!(host_of("http://[::1]:80/x").as_deref(), Some("::1"));
        assert_eq!(host_of("ftp://h/x"), None);
        assert_eq!(host_of("/relative"), None);
    }

    #[test]
    fn host_patterns_cover_a_host_its_subdomains_or_all() {
        let sub = HostPattern::parse("*.Old.example").unwrap();
        assert!(sub.matches("img.old.example"));
        assert!(!sub.matches("old.example"));
        assert!(!sub.matches("xold.example"));
        assert!(HostPattern::parse("cdn.x").unwrap().matches("cdn.x"));
        assert!(!HostPattern::parse("cdn.x").unwrap().matches("a.cdn.x"));
        assert!(HostPattern::any().matches("anything"));
        assert!(HostPattern::parse("a b").is_err());
        assert!(
            HostPattern::parse("cdn.x:8080").is_err(),
            "ports never match"
        );
        assert!(HostPattern::parse("").is_err());
    }

    #[test]
    fn shown_urls_lose_credentials_and_signatures() {
        assert_eq!(
            shown_url("https://u:p@h.example/a.jpg?w=1"),
            "https://h.example/a.jpg?w=1"
        );
        assert_eq!(
            shown_url("https://h/a.jpg?X-Amz-Signature=s&x=1"),
            "https://h/a.jpg?…"
        );
        assert_eq!(without_user_info("https://h/a@b.jpg"), "https://h/a@b.jpg");
        assert_eq!(without_user_info("relative/a.jpg"), "relative/a.jpg");
    }

    #[test]
    fn signed_urls_are_recognised_by_their_parameters() {
        assert_eq!(
            signed_marker("https://b.s3/x?X-Amz-Signature=ab&X-Amz-Expires=60"),
            Some("x-amz-signature")
        );
        assert_eq!(
            signed_marker("https://c/x?q-sign-algorithm=sha1"),
            Some("q-sign-algorithm")
        );
        assert_eq!(signed_marker("https://c/x?w=100&h=20"), None);
        assert_eq!(signed_marker("https://c/x#token=1"), None);
        assert_eq!(signed_marker("https://c/sign/x"), None);
    }

    #[test]
    fn rewrite_rehosts_keeps_and_replaces() {
        let mut body = vec![
            file("https://old/f"),
            video("https://old/v", "https://old/t"),
            file("https://old/gone"),
        ];
        rewrite_media(&mut body, |elem, url| match url {
            "https://old/f" => MediaFate::Rehosted {
                url: "https://new/abc".into(),
                uuid: "abc".into(),
            },
            "https://old/t" => MediaFate::Placeholder,
            "https://old/gone" => MediaFate::Placeholder,
            _ => {
                assert_eq!(elem, MediaElem::Video);
                MediaFate::Keep
            }
        });
        assert_eq!(
            body[0],
            Element::File {
                url: "https://new/abc".into(),
                uuid: "abc".into(),
                name: "a.pdf".into(),
                size: 1,
            }
        );
        let Element::Video { url, thumb_url, .. } = &body[1] else {
            panic!("still a video: {:?}", body[1]);
        };
        assert_eq!((url.as_str(), thumb_url.as_str()), ("https://old/v", ""));
        assert_eq!(
            body[2],
            Element::Text {
                text: "[file no longer available: a.pdf]".into()
            }
        );
    }
}
