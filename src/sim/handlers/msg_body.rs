//! `MsgBody` as the service checks it (§3.10): an array of known elements with the fields a
//! REST sender must fill, at most one custom element, and within the size limit.

use crate::sim::body::{ApiError, ApiResult};
use serde_json::Value;

/// Codes a message API answers for a bad body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyCodes {
    /// Not an array.
    pub(crate) not_array: i64,
    /// Empty, unknown element, missing field.
    pub(crate) invalid: i64,
    /// Over the size limit.
    pub(crate) too_long: i64,
}

fn has_str(c: &serde_json::Map<String, Value>, f: &str) -> bool {
    c.get(f).is_some_and(Value::is_string)
}

fn has_num(c: &serde_json::Map<String, Value>, f: &str) -> bool {
    c.get(f).is_some_and(Value::is_number)
}

fn flag_is_2(c: &serde_json::Map<String, Value>, f: &str) -> bool {
    c.get(f).and_then(Value::as_u64) == Some(2)
}

fn element_problem(elem: &Value) -> Option<String> {
    let Some(obj) = elem.as_object() else {
        return Some("an element is not an object".into());
    };
    let Some(kind) = obj.get("MsgType").and_then(Value::as_str) else {
        return Some("an element has no MsgType".into());
    };
    let Some(c) = obj.get("MsgContent").and_then(Value::as_object) else {
        return Some(format!("{kind} has no MsgContent object"));
    };
    let ok = match kind {
        "TIMTextElem" => has_str(c, "Text"),
        "TIMLocationElem" => {
            has_str(c, "Desc") && has_num(c, "Latitude") && has_num(c, "Longitude")
        }
        "TIMFaceElem" => has_num(c, "Index"),
        "TIMCustomElem" => true,
        "TIMSoundElem" => has_str(c, "Url") && has_str(c, "UUID") && flag_is_2(c, "Download_Flag"),
        "TIMFileElem" => has_str(c, "Url") && has_str(c, "UUID") && flag_is_2(c, "Download_Flag"),
        "TIMImageElem" => {
            has_str(c, "UUID")
                && c.get("ImageInfoArray")
                    .and_then(Value::as_array)
                    .is_some_and(|a| {
                        !a.is_empty()
                            && a.iter().all(|i| {
                                i.as_object().is_some_and(|i| {
                                    has_str(i, "URL") && has_num(i, "Width") && has_num(i, "Height")
                                })
                            })
                    })
        }
        "TIMVideoFileElem" => {
            has_str(c, "VideoUrl")
                && has_str(c, "VideoUUID")
                && flag_is_2(c, "VideoDownloadFlag")
                && has_str(c, "ThumbUrl")
                && has_str(c, "ThumbUUID")
                && flag_is_2(c, "ThumbDownloadFlag")
        }
        other => return Some(format!("unknown MsgType {other:?}")),
    };
    (!ok).then(|| format!("{kind} lacks a required field"))
}

/// Checks `MsgBody` (and counts `CloudCustomData` toward the size, as the model does).
pub(crate) fn check_msg_body<'a>(
    value: Option<&'a Value>,
    custom: Option<&str>,
    max_bytes: usize,
    codes: BodyCodes,
) -> ApiResult<&'a Value> {
    let Some(value) = value else {
        return Err(ApiError::new(codes.not_array, "MsgBody is missing"));
    };
    let Some(elems) = value.as_array() else {
        return Err(ApiError::new(codes.not_array, "MsgBody is not an array"));
    };
    if elems.is_empty() {
        return Err(ApiError::new(codes.invalid, "MsgBody is empty"));
    }
    if let Some(problem) = elems.iter().find_map(element_problem) {
        return Err(ApiError::new(codes.invalid, problem));
    }
    let customs = elems
        .iter()
        .filter(|e| e.get("MsgType").and_then(Value::as_str) == Some("TIMCustomElem"))
        .count();
    if customs > 1 {
        return Err(ApiError::new(codes.invalid, "more than one TIMCustomElem"));
    }
    let size = serde_json::to_vec(value).map_or(0, |v| v.len()) + custom.map_or(0, str::len);
    if size > max_bytes {
        return Err(ApiError::new(
            codes.too_long,
            format!("message is {size} bytes, over {max_bytes}"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CODES: BodyCodes = BodyCodes {
        not_array: 90007,
        invalid: 90002,
        too_long: 93000,
    };

    #[test]
    fn good_and_bad_bodies() {
        let text = json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}]);
        assert!(check_msg_body(Some(&text), None, 12288, CODES).is_ok());
        let code = |v: Value| {
            check_msg_body(Some(&v), None, 12288, CODES)
                .unwrap_err()
                .code
        };
        assert_eq!(code(json!({"MsgType": "TIMTextElem"})), 90007);
        assert_eq!(code(json!([])), 90002);
        assert_eq!(
            code(json!([{"MsgType": "TIMWhatever", "MsgContent": {}}])),
            90002
        );
        assert_eq!(
            code(
                json!([{"MsgType": "TIMSoundElem", "MsgContent": {"Url": "u", "UUID": "x", "Download_Flag": 1}}])
            ),
            90002
        );
        let two = json!({"MsgType": "TIMCustomElem", "MsgContent": {"Data": "x"}});
        assert_eq!(code(json!([two.clone(), two])), 90002);
        assert_eq!(
            code(json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x".repeat(13000)}}])),
            93000
        );
        assert_eq!(
            check_msg_body(None, None, 1, CODES).unwrap_err().code,
            90007
        );
    }
}
