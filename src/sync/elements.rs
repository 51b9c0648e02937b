//! Tencent `MsgBody` elements (§3.10) back into export-format `body` elements: the inverse of
//! [`crate::model::element::tim_msg_body`], for messages that go from Tencent IM to the old
//! system. An element this module cannot read (an unknown `MsgType`, or a known one missing a
//! field the export requires) is kept as a `custom` element whose `data` is the original
//! element's JSON, so nothing a user sent is ever dropped.

use crate::tim::wire::MsgElement;
use serde_json::{json, Map, Value};

/// The export-format `body` of a Tencent `MsgBody`, element by element and in order.
pub(crate) fn export_body(msg_body: &[MsgElement]) -> Vec<Value> {
    msg_body
        .iter()
        .map(|e| export_element(e).unwrap_or_else(|| kept_as_custom(e)))
        .collect()
}

/// An element the export has no type for, carried whole: `data` is its Tencent JSON.
fn kept_as_custom(e: &MsgElement) -> Value {
    let original = json!({"MsgType": e.MsgType, "MsgContent": e.MsgContent});
    json!({"type": "custom", "data": original.to_string()})
}

/// A string field (absent: `None`; present but not a string: `None` too).
fn text<'a>(c: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    c.get(name).and_then(Value::as_str)
}

/// A non-negative integer field, also when Tencent writes it as a float or a numeric string.
fn uint(c: &Map<String, Value>, name: &str) -> Option<u64> {
    match c.get(name)? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A signed integer field (a face `Index`).
fn int(c: &Map<String, Value>, name: &str) -> Option<i64> {
    match c.get(name)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A number field (coordinates).
fn float(c: &Map<String, Value>, name: &str) -> Option<f64> {
    match c.get(name)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Inserts `value` under `name` unless it is empty (Tencent writes `""` for "not set").
fn put_nonempty(out: &mut Map<String, Value>, name: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        out.insert(name.into(), json!(v));
    }
}

/// The export name of Tencent's `ImageFormat` number.
fn image_format(code: u64) -> &'static str {
    match code {
        1 => "jpg",
        2 => "gif",
        3 => "png",
        4 => "bmp",
        _ => "other",
    }
}

/// One element in export shape, or `None` when it cannot be read as one.
fn export_element(e: &MsgElement) -> Option<Value> {
    let c = &e.MsgContent;
    let v = match e.MsgType.as_str() {
        "TIMTextElem" => json!({"type": "text", "text": text(c, "Text")?}),
        "TIMImageElem" => return image(c),
        "TIMFileElem" => json!({"type": "file", "url": text(c, "Url")?, "uuid": text(c, "UUID")?,
            "name": text(c, "FileName")?, "size": uint(c, "FileSize")?}),
        "TIMSoundElem" => json!({"type": "sound", "url": text(c, "Url")?, "uuid": text(c, "UUID")?,
            "size": uint(c, "Size")?, "seconds": uint(c, "Second")?}),
        "TIMVideoFileElem" => json!({"type": "video",
            "url": text(c, "VideoUrl")?, "uuid": text(c, "VideoUUID")?,
            "size": uint(c, "VideoSize")?, "seconds": uint(c, "VideoSecond")?,
            "format": text(c, "VideoFormat").unwrap_or(""),
            "thumb_url": text(c, "ThumbUrl").unwrap_or(""),
            "thumb_uuid": text(c, "ThumbUUID").unwrap_or(""),
            "thumb_width": uint(c, "ThumbWidth").unwrap_or(0),
            "thumb_height": uint(c, "ThumbHeight").unwrap_or(0)}),
        "TIMLocationElem" => json!({"type": "location", "desc": text(c, "Desc").unwrap_or(""),
            "latitude": float(c, "Latitude")?, "longitude": float(c, "Longitude")?}),
        "TIMFaceElem" => {
            let mut out = Map::new();
            out.insert("type".into(), json!("face"));
            out.insert("index".into(), json!(int(c, "Index")?));
            put_nonempty(&mut out, "data", text(c, "Data"));
            Value::Object(out)
        }
        "TIMCustomElem" => {
            let mut out = Map::new();
            out.insert("type".into(), json!("custom"));
            out.insert("data".into(), json!(text(c, "Data").unwrap_or("")));
            put_nonempty(&mut out, "desc", text(c, "Desc"));
            put_nonempty(&mut out, "ext", text(c, "Ext"));
            put_nonempty(&mut out, "sound", text(c, "Sound"));
            Value::Object(out)
        }
        _ => return None,
    };
    Some(v)
}

/// An image: the original (`Type` 1) of `ImageInfoArray`, else its first entry.
fn image(c: &Map<String, Value>) -> Option<Value> {
    let infos = c.get("ImageInfoArray")?.as_array()?;
    let info = infos
        .iter()
        .filter_map(Value::as_object)
        .find(|i| uint(i, "Type") == Some(1))
        .or_else(|| infos.first().and_then(Value::as_object))?;
    let mut out = Map::new();
    out.insert("type".into(), json!("image"));
    out.insert("url".into(), json!(text(info, "URL")?));
    out.insert("uuid".into(), json!(text(c, "UUID")?));
    out.insert("width".into(), json!(uint(info, "Width").unwrap_or(0)));
    out.insert("height".into(), json!(uint(info, "Height").unwrap_or(0)));
    // `tim_msg_body` writes 0 for an unknown size; 0 reads back as "not given".
    if let Some(size) = uint(info, "Size").filter(|s| *s > 0) {
        out.insert("size".into(), json!(size));
    }
    if let Some(code) = uint(c, "ImageFormat") {
        out.insert("format".into(), json!(image_format(code)));
    }
    Some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::element::{tim_msg_body, Element, ImageFormat};

    /// Export → Tencent → export.
    fn round_trip(body: Vec<Element>) -> (Value, Value) {
        let tim = MsgElement::body_from_value(tim_msg_body(&body)).unwrap();
        (
            serde_json::to_value(&body).unwrap(),
            Value::Array(export_body(&tim)),
        )
    }

    #[test]
    fn every_export_element_type_round_trips_through_tencent() {
        let body = vec![
            Element::Text {
                text: "hi 你好".into(),
            },
            Element::Image {
                url: "https://cdn/i.png".into(),
                uuid: "i1".into(),
                width: 640,
                height: 480,
                size: Some(1234),
                format: Some(ImageFormat::Png),
            },
            Element::File {
                url: "https://cdn/f".into(),
                uuid: "f1".into(),
                name: "a.pdf".into(),
                size: 10,
            },
            Element::Sound {
                url: "https://cdn/s".into(),
                uuid: "s1".into(),
                size: 2048,
                seconds: 7,
            },
            Element::Video {
                url: "https://cdn/v".into(),
                uuid: "v1".into(),
                size: 99,
                seconds: 12,
                format: "mp4".into(),
                thumb_url: "https://cdn/t".into(),
                thumb_uuid: "t1".into(),
                thumb_width: 320,
                thumb_height: 240,
            },
            Element::Location {
                desc: "Shenzhen".into(),
                latitude: 22.54,
                longitude: 114.06,
            },
            Element::Face {
                index: 3,
                data: Some("smile".into()),
            },
            Element::Face {
                index: -1,
                data: None,
            },
            Element::Custom {
                data: "{\"k\":1}".into(),
                desc: Some("push".into()),
                ext: None,
                sound: Some("ding.caf".into()),
            },
        ];
        let (want, got) = round_trip(body);
        assert_eq!(got, want);
    }

    #[test]
    fn each_element_type_round_trips_alone() {
        for format in [
            ImageFormat::Jpg,
            ImageFormat::Gif,
            ImageFormat::Bmp,
            ImageFormat::Other,
        ] {
            let (want, got) = round_trip(vec![Element::Image {
                url: "u".into(),
                uuid: "x".into(),
                width: 1,
                height: 2,
                size: None,
                format: Some(format),
            }]);
            assert_eq!(got, want);
        }
        let (want, got) = round_trip(vec![Element::Custom {
            data: "only data".into(),
            desc: None,
            ext: Some("e".into()),
            sound: None,
        }]);
        assert_eq!(got, want);
    }

    #[test]
    fn an_unknown_or_unreadable_element_is_kept_as_custom_with_its_json() {
        let tim = MsgElement::body_from_value(json!([
            {"MsgType": "TIMRelayElem", "MsgContent": {"Title": "chat", "MsgNum": 2}},
            {"MsgType": "TIMTextElem", "MsgContent": {"Txt": "typo"}},
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "ok"}},
        ]))
        .unwrap();
        let out = export_body(&tim);
        assert_eq!(out.len(), 3, "nothing is dropped");
        assert_eq!(out[0]["type"], "custom");
        let kept: Value = serde_json::from_str(out[0]["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            kept,
            json!({"MsgType": "TIMRelayElem", "MsgContent": {"Title": "chat", "MsgNum": 2}})
        );
        assert_eq!(out[1]["type"], "custom");
        assert_eq!(out[2], json!({"type": "text", "text": "ok"}));
    }

    #[test]
    fn tencent_numbers_as_strings_and_the_original_image_size_are_read() {
        let tim = MsgElement::body_from_value(json!([
            {"MsgType": "TIMImageElem", "MsgContent": {"UUID": "u", "ImageFormat": 1,
              "ImageInfoArray": [
                {"Type": 3, "Size": 10, "Width": 10, "Height": 10, "URL": "thumb"},
                {"Type": 1, "Size": "500", "Width": 1000.0, "Height": 800, "URL": "orig"}]}},
            {"MsgType": "TIMSoundElem", "MsgContent": {"Url": "s", "UUID": "v", "Size": "3",
              "Second": 2, "Download_Flag": 2}},
        ]))
        .unwrap();
        let out = export_body(&tim);
        assert_eq!(
            out[0],
            json!({"type": "image", "url": "orig", "uuid": "u", "width": 1000, "height": 800,
                   "size": 500, "format": "jpg"})
        );
        assert_eq!(
            out[1],
            json!({"type": "sound", "url": "s", "uuid": "v", "size": 3, "seconds": 2})
        );
    }
}
