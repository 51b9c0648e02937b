//! Message elements (`body`) and their encoding as Tencent `MsgBody` elements.

use super::fields::ExportEnum;
use serde::Serialize;
use std::io;

/// Image format of an `image` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ImageFormat {
    /// `jpg`
    Jpg,
    /// `gif`
    Gif,
    /// `png`
    Png,
    /// `bmp`
    Bmp,
    /// `other`
    Other,
}

impl ExportEnum for ImageFormat {
    const VALUES: &'static [(&'static str, Self)] = &[
        ("jpg", ImageFormat::Jpg),
        ("gif", ImageFormat::Gif),
        ("png", ImageFormat::Png),
        ("bmp", ImageFormat::Bmp),
        ("other", ImageFormat::Other),
    ];
}

impl ImageFormat {
    /// Tencent's `ImageFormat` number.
    pub(crate) fn tim_code(self) -> u32 {
        match self {
            ImageFormat::Jpg => 1,
            ImageFormat::Gif => 2,
            ImageFormat::Png => 3,
            ImageFormat::Bmp => 4,
            ImageFormat::Other => 255,
        }
    }
}

/// One message element, as the export writes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)]
pub(crate) enum Element {
    /// Plain text.
    Text { text: String },
    /// An image hosted by the old system's CDN.
    Image {
        url: String,
        uuid: String,
        width: u32,
        height: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        format: Option<ImageFormat>,
    },
    /// A file.
    File {
        url: String,
        uuid: String,
        name: String,
        size: u64,
    },
    /// A voice message.
    Sound {
        url: String,
        uuid: String,
        size: u64,
        seconds: u32,
    },
    /// A video with its thumbnail.
    Video {
        url: String,
        uuid: String,
        size: u64,
        seconds: u32,
        format: String,
        thumb_url: String,
        thumb_uuid: String,
        thumb_width: u32,
        thumb_height: u32,
    },
    /// A location.
    Location {
        desc: String,
        latitude: f64,
        longitude: f64,
    },
    /// A sticker or emoji by index.
    Face {
        index: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    /// App-defined content.
    Custom {
        data: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        desc: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ext: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        sound: Option<String>,
    },
}

/// The element type names of the export, in the order of the docs.
pub(crate) const ELEMENT_TYPES: [&str; 8] = [
    "text", "image", "file", "sound", "video", "location", "face", "custom",
];

/// Tencent's "file is downloadable by URL" flag, required on media elements sent by REST.
const DOWNLOAD_BY_URL: u32 = 2;

/// One image size in `ImageInfoArray`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TimImageInfo<'a> {
    #[serde(rename = "Type")]
    kind: u32,
    size: u64,
    width: u32,
    height: u32,
    #[serde(rename = "URL")]
    url: &'a str,
}

/// A Tencent `TIMMsgElement`, borrowed from an [`Element`].
#[derive(Serialize)]
#[serde(tag = "MsgType", content = "MsgContent")]
enum TimElem<'a> {
    #[serde(rename = "TIMTextElem")]
    Text {
        #[serde(rename = "Text")]
        text: &'a str,
    },
    #[serde(rename = "TIMImageElem")]
    Image {
        #[serde(rename = "UUID")]
        uuid: &'a str,
        #[serde(rename = "ImageFormat")]
        format: u32,
        #[serde(rename = "ImageInfoArray")]
        infos: [TimImageInfo<'a>; 3],
    },
    #[serde(rename = "TIMFileElem", rename_all = "PascalCase")]
    File {
        url: &'a str,
        #[serde(rename = "UUID")]
        uuid: &'a str,
        file_size: u64,
        file_name: &'a str,
        #[serde(rename = "Download_Flag")]
        download_flag: u32,
    },
    #[serde(rename = "TIMSoundElem", rename_all = "PascalCase")]
    Sound {
        url: &'a str,
        #[serde(rename = "UUID")]
        uuid: &'a str,
        size: u64,
        second: u32,
        #[serde(rename = "Download_Flag")]
        download_flag: u32,
    },
    #[serde(rename = "TIMVideoFileElem", rename_all = "PascalCase")]
    Video {
        video_url: &'a str,
        #[serde(rename = "VideoUUID")]
        video_uuid: &'a str,
        video_size: u64,
        video_second: u32,
        video_format: &'a str,
        video_download_flag: u32,
        thumb_url: &'a str,
        #[serde(rename = "ThumbUUID")]
        thumb_uuid: &'a str,
        thumb_size: u64,
        thumb_width: u32,
        thumb_height: u32,
        thumb_format: &'a str,
        thumb_download_flag: u32,
    },
    #[serde(rename = "TIMLocationElem", rename_all = "PascalCase")]
    Location {
        desc: &'a str,
        latitude: f64,
        longitude: f64,
    },
    #[serde(rename = "TIMFaceElem", rename_all = "PascalCase")]
    Face { index: i64, data: &'a str },
    #[serde(rename = "TIMCustomElem", rename_all = "PascalCase")]
    Custom {
        data: &'a str,
        desc: &'a str,
        ext: &'a str,
        sound: &'a str,
    },
}

impl Element {
    /// The export's type name of this element.
    #[cfg(test)]
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Element::Text { .. } => "text",
            Element::Image { .. } => "image",
            Element::File { .. } => "file",
            Element::Sound { .. } => "sound",
            Element::Video { .. } => "video",
            Element::Location { .. } => "location",
            Element::Face { .. } => "face",
            Element::Custom { .. } => "custom",
        }
    }

    fn to_tim(&self) -> TimElem<'_> {
        match self {
            Element::Text { text } => TimElem::Text { text },
            Element::Image {
                url,
                uuid,
                width,
                height,
                size,
                format,
            } => {
                // Tencent clients expect original, large and thumbnail; the old system has one
                // URL, so all three point at it and the clients scale it themselves.
                let info = |kind| TimImageInfo {
                    kind,
                    size: size.unwrap_or(0),
                    width: *width,
                    height: *height,
                    url,
                };
                TimElem::Image {
                    uuid,
                    format: format.unwrap_or(ImageFormat::Other).tim_code(),
                    infos: [info(1), info(2), info(3)],
                }
            }
            Element::File {
                url,
                uuid,
                name,
                size,
            } => TimElem::File {
                url,
                uuid,
                file_size: *size,
                file_name: name,
                download_flag: DOWNLOAD_BY_URL,
            },
            Element::Sound {
                url,
                uuid,
                size,
                seconds,
            } => TimElem::Sound {
                url,
                uuid,
                size: *size,
                second: *seconds,
                download_flag: DOWNLOAD_BY_URL,
            },
            Element::Video {
                url,
                uuid,
                size,
                seconds,
                format,
                thumb_url,
                thumb_uuid,
                thumb_width,
                thumb_height,
            } => TimElem::Video {
                video_url: url,
                video_uuid: uuid,
                video_size: *size,
                video_second: *seconds,
                video_format: format,
                video_download_flag: DOWNLOAD_BY_URL,
                thumb_url,
                thumb_uuid,
                thumb_size: 0,
                thumb_width: *thumb_width,
                thumb_height: *thumb_height,
                thumb_format: "",
                thumb_download_flag: DOWNLOAD_BY_URL,
            },
            Element::Location {
                desc,
                latitude,
                longitude,
            } => TimElem::Location {
                desc,
                latitude: *latitude,
                longitude: *longitude,
            },
            Element::Face { index, data } => TimElem::Face {
                index: *index,
                data: data.as_deref().unwrap_or(""),
            },
            Element::Custom {
                data,
                desc,
                ext,
                sound,
            } => TimElem::Custom {
                data,
                desc: desc.as_deref().unwrap_or(""),
                ext: ext.as_deref().unwrap_or(""),
                sound: sound.as_deref().unwrap_or(""),
            },
        }
    }
}

/// Tencent's `MsgBody` for these elements, as JSON.
pub(crate) fn tim_msg_body(body: &[Element]) -> serde_json::Value {
    let elems: Vec<TimElem<'_>> = body.iter().map(Element::to_tim).collect();
    // Serializing plain structs of strings and numbers into a Value cannot fail: every f64
    // that reaches here came from JSON and is therefore finite.
    serde_json::to_value(elems).unwrap_or(serde_json::Value::Null)
}

/// A writer that only counts bytes.
struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The size in bytes of the message once encoded for Tencent: its `MsgBody` JSON plus its
/// `CloudCustomData`.
pub(crate) fn encoded_size(body: &[Element], custom_data: Option<&str>) -> usize {
    let mut counter = ByteCounter(0);
    let elems: Vec<TimElem<'_>> = body.iter().map(Element::to_tim).collect();
    // Writing to a counter never fails, and serialization of these types cannot fail (above).
    let _ = serde_json::to_writer(&mut counter, &elems);
    counter.0 + custom_data.map_or(0, str::len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_encodes_as_tim_text_elem() {
        let body = vec![Element::Text {
            text: "hi 你好".into(),
        }];
        assert_eq!(
            tim_msg_body(&body),
            json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi 你好"}}])
        );
        let expected = serde_json::to_string(&tim_msg_body(&body)).unwrap().len();
        assert_eq!(encoded_size(&body, None), expected);
        assert_eq!(encoded_size(&body, Some("abc")), expected + 3);
    }

    #[test]
    fn media_elements_carry_download_flag_and_uuid() {
        let body = vec![
            Element::File {
                url: "https://x/f".into(),
                uuid: "f1".into(),
                name: "a.pdf".into(),
                size: 10,
            },
            Element::Image {
                url: "https://x/i".into(),
                uuid: "i1".into(),
                width: 4,
                height: 3,
                size: None,
                format: Some(ImageFormat::Png),
            },
        ];
        let v = tim_msg_body(&body);
        assert_eq!(v[0]["MsgType"], "TIMFileElem");
        assert_eq!(v[0]["MsgContent"]["Download_Flag"], 2);
        assert_eq!(v[0]["MsgContent"]["UUID"], "f1");
        assert_eq!(v[1]["MsgContent"]["ImageFormat"], 3);
        assert_eq!(v[1]["MsgContent"]["ImageInfoArray"][2]["Type"], 3);
        assert_eq!(
            v[1]["MsgContent"]["ImageInfoArray"][0]["URL"],
            "https://x/i"
        );
    }

    #[test]
    fn export_shape_round_trips_through_serialize() {
        let e = Element::Face {
            index: 3,
            data: None,
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"type": "face", "index": 3})
        );
    }
}
