//! Message elements (`body[i]`) from JSON, with the element rules of the export format.

use super::element::{Element, ImageFormat, ELEMENT_TYPES};
use super::fields::{json_kind, Fields};
use super::problem::Rule;
use serde_json::Value;

/// URLs, UUIDs and names inside elements: generous, the message size limit bounds them anyway.
const ELEMENT_STRING_MAX: usize = usize::MAX;

/// Parses every element of a non-empty `body`; `None` when any is bad.
pub(crate) fn elements(f: &mut Fields<'_>, values: Vec<Value>) -> Option<Vec<Element>> {
    let before = f.problem_count();
    let mut out = Vec::with_capacity(values.len());
    let mut customs = 0;
    for (i, v) in values.into_iter().enumerate() {
        let path = format!("body[{i}]");
        let Value::Object(map) = v else {
            let why = format!("expected an object, got {}", json_kind(&v));
            f.problem(Rule::WrongType, &path, why);
            continue;
        };
        let prefix = format!("{path}.");
        let mut ef = f.nested(map, &prefix);
        let element = element(&mut ef);
        let unknown: Vec<String> = ef
            .unknown()
            .into_iter()
            .map(|k| format!("body[].{k}"))
            .collect();
        f.add_nested_unknown(unknown);
        if let Some(e) = element {
            if matches!(e, Element::Custom { .. }) {
                customs += 1;
                if customs == 2 {
                    f.problem(
                        Rule::BadElement,
                        &path,
                        "a second custom element (one allowed)",
                    );
                }
            }
            out.push(e);
        }
    }
    (f.problem_count() == before).then_some(out)
}

fn element(f: &mut Fields<'_>) -> Option<Element> {
    let kind = f.req_str("type", 0, usize::MAX)?;
    let opt = |f: &mut Fields<'_>, name| f.opt_str(name, 0, ELEMENT_STRING_MAX);
    let element = match kind.as_str() {
        "text" => {
            let text = f.req_str("text", 0, ELEMENT_STRING_MAX);
            Element::Text { text: text? }
        }
        "image" => image(f)?,
        "file" => {
            let (url, uuid, name) = (req(f, "url"), req(f, "uuid"), req(f, "name"));
            let size = f.req_u64("size");
            Element::File {
                url: url?,
                uuid: uuid?,
                name: name?,
                size: size?,
            }
        }
        "sound" => {
            let (url, uuid) = (req(f, "url"), req(f, "uuid"));
            let (size, seconds) = (f.req_u64("size"), f.req_u32("seconds"));
            Element::Sound {
                url: url?,
                uuid: uuid?,
                size: size?,
                seconds: seconds?,
            }
        }
        "video" => video(f)?,
        "location" => location(f)?,
        "face" => {
            let index = f.req_int("index");
            let data = opt(f, "data");
            Element::Face {
                index: index?,
                data,
            }
        }
        "custom" => {
            let data = f.req_str("data", 0, ELEMENT_STRING_MAX);
            let (desc, ext, sound) = (opt(f, "desc"), opt(f, "ext"), opt(f, "sound"));
            Element::Custom {
                data: data?,
                desc,
                ext,
                sound,
            }
        }
        other => {
            let why = format!(
                "unknown element type {:?}; allowed: {}",
                super::parse::display_id(other),
                ELEMENT_TYPES.join(", ")
            );
            f.problem(Rule::BadElement, "type", why);
            return None;
        }
    };
    Some(element)
}

/// A required string of an element, not empty. Each element's fields are all read before any
/// is required, so that every problem of the element is reported.
fn req(f: &mut Fields<'_>, name: &str) -> Option<String> {
    f.req_str(name, 1, ELEMENT_STRING_MAX)
}

/// An `image` element.
fn image(f: &mut Fields<'_>) -> Option<Element> {
    let (url, uuid) = (req(f, "url"), req(f, "uuid"));
    let (width, height) = (f.req_u32("width"), f.req_u32("height"));
    let size = f.opt_u32("size").map(u64::from);
    let format = f.opt_enum::<ImageFormat>("format");
    Some(Element::Image {
        url: url?,
        uuid: uuid?,
        width: width?,
        height: height?,
        size,
        format,
    })
}

/// A `video` element, with its thumbnail.
fn video(f: &mut Fields<'_>) -> Option<Element> {
    let (url, uuid) = (req(f, "url"), req(f, "uuid"));
    let (size, seconds) = (f.req_u64("size"), f.req_u32("seconds"));
    let format = req(f, "format");
    let (thumb_url, thumb_uuid) = (req(f, "thumb_url"), req(f, "thumb_uuid"));
    let (thumb_width, thumb_height) = (f.req_u32("thumb_width"), f.req_u32("thumb_height"));
    Some(Element::Video {
        url: url?,
        uuid: uuid?,
        size: size?,
        seconds: seconds?,
        format: format?,
        thumb_url: thumb_url?,
        thumb_uuid: thumb_uuid?,
        thumb_width: thumb_width?,
        thumb_height: thumb_height?,
    })
}

/// A `location` element: a description and coordinates within range.
fn location(f: &mut Fields<'_>) -> Option<Element> {
    let desc = f.req_str("desc", 0, ELEMENT_STRING_MAX);
    let latitude = f.req_f64("latitude");
    let longitude = f.req_f64("longitude");
    if latitude.is_some_and(|v| !(-90.0..=90.0).contains(&v)) {
        f.problem(Rule::InvalidValue, "latitude", "must be within -90..=90");
    }
    if longitude.is_some_and(|v| !(-180.0..=180.0).contains(&v)) {
        f.problem(Rule::InvalidValue, "longitude", "must be within -180..=180");
    }
    Some(Element::Location {
        desc: desc?,
        latitude: latitude?,
        longitude: longitude?,
    })
}
