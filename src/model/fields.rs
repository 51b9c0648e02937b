//! Typed extraction of fields from one JSON object, collecting every problem instead of
//! stopping at the first, so a report can say all that is wrong with a record at once.

use super::problem::{FieldProblem, Rule};
use serde_json::{Map, Value};

/// The JSON type of a value, as a person would name it.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string enumeration of the export format.
pub(crate) trait ExportEnum: Sized + Copy + 'static {
    /// Every accepted spelling, in the order the docs list them.
    const VALUES: &'static [(&'static str, Self)];

    /// The value for a spelling.
    fn parse(s: &str) -> Option<Self> {
        Self::VALUES.iter().find(|(k, _)| *k == s).map(|(_, v)| *v)
    }
}

/// The fields of one JSON object, taken out one by one.
pub struct Fields<'p> {
    map: Map<String, Value>,
    prefix: String,
    problems: &'p mut Vec<FieldProblem>,
    nested_unknown: Vec<String>,
}

impl<'p> Fields<'p> {
    /// Fields of `map`; problems are named `prefix` + field name.
    pub(crate) fn new(
        map: Map<String, Value>,
        prefix: &str,
        problems: &'p mut Vec<FieldProblem>,
    ) -> Self {
        Self {
            map,
            prefix: prefix.to_string(),
            problems,
            nested_unknown: Vec::new(),
        }
    }

    /// The fields of an object nested in this one (an element of `body`), reporting into the
    /// same problem list.
    pub(crate) fn nested(&mut self, map: Map<String, Value>, prefix: &str) -> Fields<'_> {
        Fields::new(map, prefix, self.problems)
    }

    /// Keeps the unknown field names of a nested object, to report with this one's.
    pub(crate) fn add_nested_unknown(&mut self, names: Vec<String>) {
        self.nested_unknown.extend(names);
    }

    /// The number of problems recorded so far (for this record).
    pub(crate) fn problem_count(&self) -> usize {
        self.problems.len()
    }

    /// The full path of a field, for problem reports.
    pub(crate) fn path(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    /// Records a problem with a field of this object.
    pub(crate) fn problem(&mut self, rule: Rule, name: &str, reason: impl Into<String>) {
        let field = self.path(name);
        self.problems.push(FieldProblem::new(rule, field, reason));
    }

    /// Removes a field; `null` counts as absent.
    pub(crate) fn take(&mut self, name: &str) -> Option<Value> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    /// `read` of a field that must be there: a missing-field problem when it is absent or
    /// `null`.
    fn required<T>(&mut self, name: &str, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        if !self.present(name) {
            self.missing(name);
            return None;
        }
        read(self)
    }

    /// True when the field is there and not `null`.
    fn present(&self, name: &str) -> bool {
        matches!(self.map.get(name), Some(v) if !v.is_null())
    }

    fn missing(&mut self, name: &str) {
        self.problem(Rule::MissingField, name, "required field is missing");
    }

    fn wrong_type(&mut self, name: &str, expected: &str, got: &Value) {
        let reason = format!("expected {expected}, got {}", json_kind(got));
        self.problem(Rule::WrongType, name, reason);
    }

    /// An optional string of `min..=max` UTF-8 bytes.
    pub(crate) fn opt_str(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        let v = self.take(name)?;
        let Value::String(s) = v else {
            self.wrong_type(name, "a string", &v);
            return None;
        };
        if s.len() < min || s.len() > max {
            let reason = if s.len() < min && min == 1 {
                "must not be empty".to_string()
            } else {
                format!("{} bytes, allowed {min}..={max}", s.len())
            };
            self.problem(Rule::BadLength, name, reason);
            return None;
        }
        Some(s)
    }

    /// A required string of `min..=max` UTF-8 bytes.
    pub(crate) fn req_str(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        self.required(name, |f| f.opt_str(name, min, max))
    }

    /// An optional integer that fits in an `i64`.
    pub(crate) fn opt_int(&mut self, name: &str) -> Option<i64> {
        let v = self.take(name)?;
        match &v {
            Value::Number(n) if n.is_i64() => n.as_i64(),
            Value::Number(n) if n.is_u64() => {
                self.problem(Rule::InvalidValue, name, format!("{n} is out of range"));
                None
            }
            _ => {
                self.wrong_type(name, "an integer", &v);
                None
            }
        }
    }

    /// A required integer that fits in an `i64`.
    pub(crate) fn req_int(&mut self, name: &str) -> Option<i64> {
        self.required(name, |f| f.opt_int(name))
    }

    /// An optional integer in `0..=u32::MAX`.
    pub(crate) fn opt_u32(&mut self, name: &str) -> Option<u32> {
        let n = self.opt_int(name)?;
        match u32::try_from(n) {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(
                    Rule::InvalidValue,
                    name,
                    format!("{n} is not in 0..=4294967295"),
                );
                None
            }
        }
    }

    /// A required integer in `0..=u32::MAX`.
    pub(crate) fn req_u32(&mut self, name: &str) -> Option<u32> {
        self.required(name, |f| f.opt_u32(name))
    }

    /// A required integer in `0..=u64::MAX` (byte sizes).
    pub(crate) fn req_u64(&mut self, name: &str) -> Option<u64> {
        let Some(v) = self.take(name) else {
            self.missing(name);
            return None;
        };
        match &v {
            Value::Number(n) if n.is_u64() => n.as_u64(),
            Value::Number(n) if n.is_i64() => {
                self.problem(Rule::InvalidValue, name, format!("{n} is negative"));
                None
            }
            _ => {
                self.wrong_type(name, "an integer", &v);
                None
            }
        }
    }

    /// A required number (integer or fractional).
    pub(crate) fn req_f64(&mut self, name: &str) -> Option<f64> {
        let Some(v) = self.take(name) else {
            self.missing(name);
            return None;
        };
        match v.as_f64() {
            Some(x) => Some(x),
            None => {
                self.wrong_type(name, "a number", &v);
                None
            }
        }
    }

    /// An optional enumeration value.
    pub(crate) fn opt_enum<E: ExportEnum>(&mut self, name: &str) -> Option<E> {
        let s = self.opt_str(name, 0, usize::MAX)?;
        let parsed = E::parse(&s);
        if parsed.is_none() {
            let allowed: Vec<&str> = E::VALUES.iter().map(|(k, _)| *k).collect();
            let reason = format!("unknown value {s:?}; allowed: {}", allowed.join(", "));
            self.problem(Rule::UnknownEnum, name, reason);
        }
        parsed
    }

    /// A required enumeration value.
    pub(crate) fn req_enum<E: ExportEnum>(&mut self, name: &str) -> Option<E> {
        self.required(name, |f| f.opt_enum(name))
    }

    /// An optional JSON object.
    pub(crate) fn opt_object(&mut self, name: &str) -> Option<Map<String, Value>> {
        match self.take(name)? {
            Value::Object(m) => Some(m),
            v => {
                self.wrong_type(name, "an object", &v);
                None
            }
        }
    }

    /// An optional JSON array.
    pub(crate) fn opt_array(&mut self, name: &str) -> Option<Vec<Value>> {
        match self.take(name)? {
            Value::Array(a) => Some(a),
            v => {
                self.wrong_type(name, "an array", &v);
                None
            }
        }
    }

    /// A required JSON array.
    pub(crate) fn req_array(&mut self, name: &str) -> Option<Vec<Value>> {
        self.required(name, |f| f.opt_array(name))
    }

    /// The names of fields nobody took: unknown to the format.
    pub(crate) fn unknown(self) -> Vec<String> {
        let mut names: Vec<String> = self.map.into_iter().map(|(k, _)| k).collect();
        names.extend(self.nested_unknown);
        names
    }
}

/// True when `s` is 1..=`max` bytes of English letters only.
pub(crate) fn is_letters_key(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields_of(v: Value, problems: &mut Vec<FieldProblem>) -> Fields<'_> {
        let Value::Object(m) = v else {
            panic!("not an object")
        };
        Fields::new(m, "", problems)
    }

    #[test]
    fn required_string_missing_wrong_type_and_length() {
        let mut p = Vec::new();
        let mut f = fields_of(json!({"a": 1, "b": "", "c": "xyz", "d": null}), &mut p);
        assert_eq!(f.req_str("a", 1, 5), None);
        assert_eq!(f.req_str("b", 1, 5), None);
        assert_eq!(f.req_str("c", 1, 2), None);
        assert_eq!(f.req_str("d", 1, 5), None);
        assert_eq!(f.req_str("e", 1, 5), None);
        let rules: Vec<Rule> = p.iter().map(|x| x.rule).collect();
        assert_eq!(
            rules,
            [
                Rule::WrongType,
                Rule::BadLength,
                Rule::BadLength,
                Rule::MissingField,
                Rule::MissingField
            ]
        );
        assert_eq!(p[1].reason, "must not be empty");
    }

    #[test]
    fn integers_reject_fractions_strings_and_out_of_range() {
        let mut p = Vec::new();
        let mut f = fields_of(
            json!({"a": 1.5, "b": "7", "c": 18446744073709551615u64, "d": -1, "e": 7}),
            &mut p,
        );
        assert_eq!(f.opt_int("a"), None);
        assert_eq!(f.opt_int("b"), None);
        assert_eq!(f.opt_int("c"), None);
        assert_eq!(f.opt_u32("d"), None);
        assert_eq!(f.opt_u32("e"), Some(7));
        let rules: Vec<Rule> = p.iter().map(|x| x.rule).collect();
        assert_eq!(
            rules,
            [
                Rule::WrongType,
                Rule::WrongType,
                Rule::InvalidValue,
                Rule::InvalidValue
            ]
        );
    }

    #[test]
    fn unknown_fields_are_what_is_left() {
        let mut p = Vec::new();
        let mut f = fields_of(json!({"id": "x", "extra": 1}), &mut p);
        f.req_str("id", 1, 10);
        assert_eq!(f.unknown(), vec!["extra".to_string()]);
        assert!(p.is_empty());
    }

    #[test]
    fn letters_key() {
        assert!(is_letters_key("Hobby", 8));
        assert!(!is_letters_key("Hobby1", 8));
        assert!(!is_letters_key("", 8));
        assert!(!is_letters_key("abcdefghi", 8));
    }
}
