//! Comparing what the export says with what the target shows, field by field.

use crate::store::verify::{ItemResult, Outcome};
use crate::store::Kind;
use crate::tim::wire::MsgElement;
use serde_json::Value;

/// A result for item `id` of `kind`.
pub(crate) fn result(
    kind: Kind,
    id: i64,
    outcome: Outcome,
    detail: impl Into<String>,
) -> ItemResult {
    ItemResult {
        kind,
        id,
        outcome,
        detail: detail.into(),
    }
}

/// Verified when `diffs` is empty, else differs with every difference named.
pub(crate) fn verdict(kind: Kind, id: i64, diffs: &[String]) -> ItemResult {
    if diffs.is_empty() {
        result(kind, id, Outcome::Verified, "")
    } else {
        result(kind, id, Outcome::Differs, diffs.join("; "))
    }
}

/// A short, quoted rendering of a value for a detail line (long values are cut).
fn show(v: &Value) -> String {
    let s = match v {
        Value::Null => "nothing".to_string(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Adds `field: expected X, found Y` to `diffs` when an expected value is not what was found.
/// Nothing is expected of a field the export leaves out.
pub(crate) fn check(
    diffs: &mut Vec<String>,
    field: &str,
    expected: Option<Value>,
    found: Option<Value>,
) {
    let Some(expected) = expected else { return };
    let found = found.unwrap_or(Value::Null);
    if !same_value(&expected, &found) {
        diffs.push(format!(
            "{field}: expected {}, found {}",
            show(&expected),
            show(&found)
        ));
    }
}

/// Equal as JSON, where a number and its decimal string count as the same (some read APIs
/// answer numbers as strings).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.to_string() == *s
        }
        _ => a == b,
    }
}

/// The content hash of a message: its `MsgBody` as canonical JSON (keys sorted) and its
/// custom data.
pub(crate) fn content_hash(body: &[MsgElement], custom: Option<&str>) -> u64 {
    let mut bytes =
        serde_json::to_vec(&serde_json::to_value(body).unwrap_or(Value::Null)).unwrap_or_default();
    bytes.push(0);
    bytes.extend_from_slice(custom.unwrap_or("").as_bytes());
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// `MsgBody: content hash expected …, found …` when the two differ.
pub(crate) fn body_diff(
    expected: (&[MsgElement], Option<&str>),
    found: (&[MsgElement], Option<&str>),
) -> Option<String> {
    let (want, got) = (
        content_hash(expected.0, expected.1),
        content_hash(found.0, found.1),
    );
    (want != got).then(|| format!("MsgBody: content hash expected {want:016x}, found {got:016x}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_named_and_absent_expectations_ignored() {
        let mut d = Vec::new();
        check(&mut d, "Name", Some(json!("a")), Some(json!("a")));
        check(&mut d, "Introduction", None, Some(json!("x")));
        check(&mut d, "MaxMemberNum", Some(json!(200)), Some(json!("200")));
        assert!(d.is_empty());
        check(&mut d, "Name", Some(json!("Team")), Some(json!("Renamed")));
        check(&mut d, "FaceUrl", Some(json!("u")), None);
        assert_eq!(
            d,
            [
                r#"Name: expected "Team", found "Renamed""#,
                r#"FaceUrl: expected "u", found nothing"#
            ]
        );
        assert_eq!(verdict(Kind::Group, 1, &d).outcome, Outcome::Differs);
        assert_eq!(verdict(Kind::Group, 1, &[]).outcome, Outcome::Verified);
    }

    #[test]
    fn bodies_compare_by_content_not_key_order() {
        let a: Vec<MsgElement> = serde_json::from_value(
            json!([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi", "X": 1}}]),
        )
        .unwrap();
        let b: Vec<MsgElement> = serde_json::from_value(
            json!([{"MsgContent": {"X": 1, "Text": "hi"}, "MsgType": "TIMTextElem"}]),
        )
        .unwrap();
        assert_eq!(body_diff((&a, None), (&b, None)), None);
        assert!(body_diff((&a, Some("c")), (&b, None)).is_some());
        assert!(body_diff((&a, None), (&[MsgElement::text("hi")], None)).is_some());
    }
}
