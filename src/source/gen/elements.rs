//! Message elements of every type, and message bodies mixing them like real chats do.

use super::content::{pick, text};
use crate::model::element::{Element, ImageFormat, ELEMENT_TYPES};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const FILE_NAMES: &[&str] = &[
    "报告.pdf",
    "photo_archive.zip",
    "meeting-notes.docx",
    "预算表.xlsx",
    "slides.pptx",
];

const PLACES: &[(&str, i64, i64)] = &[
    ("北京市朝阳区望京SOHO", 39_996_000, 116_480_000),
    ("上海市浦东新区陆家嘴", 31_239_000, 121_499_000),
    ("深圳市南山区腾讯滨海大厦", 22_522_000, 113_935_000),
    ("Marina Bay Sands, Singapore", 1_283_000, 103_860_000),
    ("Golden Gate Park, San Francisco", 37_769_000, -122_486_000),
];

/// 32 hex digits, like the UUIDs media servers hand out.
pub(crate) fn uuid(rng: &mut ChaCha8Rng) -> String {
    format!("{:032x}", rng.gen::<u128>())
}

fn url(kind: &str, uuid: &str, ext: &str) -> String {
    format!("https://cdn.example-im.com/{kind}/{uuid}.{ext}")
}

/// One element of the given type (an index into [`ELEMENT_TYPES`]). One arm per element type:
/// longer than a function should be, but the table reads best whole.
pub(crate) fn element(rng: &mut ChaCha8Rng, kind: usize) -> Element {
    match ELEMENT_TYPES.get(kind).copied().unwrap_or("text") {
        "image" => {
            let id = uuid(rng);
            let (format, ext) = match rng.gen_range(0..10) {
                0..=5 => (ImageFormat::Jpg, "jpg"),
                6..=7 => (ImageFormat::Png, "png"),
                8 => (ImageFormat::Gif, "gif"),
                _ => (ImageFormat::Other, "webp"),
            };
            Element::Image {
                url: url("img", &id, ext),
                uuid: id,
                width: rng.gen_range(200..=4000),
                height: rng.gen_range(200..=4000),
                size: rng.gen_bool(0.8).then(|| rng.gen_range(10_000..5_000_000)),
                format: rng.gen_bool(0.9).then_some(format),
            }
        }
        "file" => {
            let id = uuid(rng);
            Element::File {
                url: url("file", &id, "bin"),
                uuid: id,
                name: pick(rng, FILE_NAMES).to_string(),
                size: rng.gen_range(1_000..200_000_000),
            }
        }
        "sound" => {
            let id = uuid(rng);
            let seconds = rng.gen_range(1..=60);
            Element::Sound {
                url: url("voice", &id, "amr"),
                uuid: id,
                size: u64::from(seconds) * 1_600,
                seconds,
            }
        }
        "video" => {
            let (id, thumb) = (uuid(rng), uuid(rng));
            let seconds = rng.gen_range(1..=300);
            Element::Video {
                url: url("video", &id, "mp4"),
                uuid: id,
                size: u64::from(seconds) * 250_000,
                seconds,
                format: "mp4".into(),
                thumb_url: url("thumb", &thumb, "jpg"),
                thumb_uuid: thumb,
                thumb_width: 320,
                thumb_height: 180,
            }
        }
        "location" => {
            let (desc, lat, lon) = PLACES[rng.gen_range(0..PLACES.len())];
            // Micro-degrees, jittered, divided once: exact and the same on every platform.
            let jitter = rng.gen_range(-500..=500);
            Element::Location {
                desc: desc.to_string(),
                latitude: (lat + jitter) as f64 / 1e6,
                longitude: (lon - jitter) as f64 / 1e6,
            }
        }
        "face" => Element::Face {
            index: rng.gen_range(0..200),
            data: rng
                .gen_bool(0.3)
                .then(|| format!("[face{}]", rng.gen_range(0..50))),
        },
        "custom" => {
            let order = rng.gen_range(100_000..1_000_000);
            let cents = rng.gen_range(100..1_000_000);
            Element::Custom {
                data: format!(
                    r#"{{"kind":"order","order_id":{order},"amount":"{}.{:02}"}}"#,
                    cents / 100,
                    cents % 100
                ),
                desc: Some("订单消息".into()),
                ext: rng.gen_bool(0.5).then(|| "order".to_string()),
                sound: None,
            }
        }
        _ => Element::Text { text: text(rng) },
    }
}

/// A message body. `forced` picks the first element's type (an index into
/// [`ELEMENT_TYPES`]); otherwise mostly text, then image, face, sound, file, video,
/// location and custom. Sometimes a second, non-custom element follows.
pub(crate) fn body(rng: &mut ChaCha8Rng, forced: Option<usize>) -> Vec<Element> {
    let kind = forced.unwrap_or_else(|| match rng.gen_range(0..1000) {
        0..=799 => 0,
        800..=859 => 1,
        860..=899 => 6,
        900..=929 => 3,
        930..=949 => 2,
        950..=969 => 4,
        970..=984 => 5,
        _ => 7,
    });
    let mut body = vec![element(rng, kind)];
    if rng.gen_ratio(1, 20) {
        // text + image, or text + sticker
        let second = if kind == 0 {
            1 + 5 * rng.gen_range(0..2)
        } else {
            0
        };
        body.push(element(rng, second));
    }
    body
}

/// Occasional `custom_data` on a message (becomes `CloudCustomData`).
pub(crate) fn custom_data(rng: &mut ChaCha8Rng) -> Option<String> {
    rng.gen_ratio(3, 100).then(|| {
        let client = ["ios", "android", "web"][rng.gen_range(0..3)];
        format!(
            r#"{{"client":"{client}","ver":"5.{}.{}"}}"#,
            rng.gen_range(0..9),
            rng.gen_range(0..20)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::limits::MESSAGE_ENCODED_MAX;
    use rand::SeedableRng;

    #[test]
    fn bodies_have_the_forced_type_one_custom_at_most_and_fit() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..2000 {
            for (kind, name) in ELEMENT_TYPES.iter().enumerate() {
                let b = body(&mut rng, Some(kind));
                assert_eq!(b[0].type_name(), *name);
                let customs = b.iter().filter(|e| e.type_name() == "custom").count();
                assert!(customs <= 1);
                let size = crate::model::element::encoded_size(&b, None);
                assert!(size < MESSAGE_ENCODED_MAX / 2, "{size}");
            }
        }
    }
}
