//! Reading request bodies the way the service does: field by field, each problem answered
//! with the code the spec gives for that field.

use serde_json::{Map, Value};
use std::fmt;

/// A refusal: the code and the `ErrorInfo` to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The code.
    pub(crate) code: i64,
    /// The `ErrorInfo`.
    pub(crate) info: String,
}

impl ApiError {
    /// A refusal with `code`.
    pub(crate) fn new(code: i64, info: impl Into<String>) -> Self {
        Self {
            code,
            info: info.into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.info)
    }
}

/// The largest u32, for fields the spec types as 32-bit unsigned.
pub(crate) const U32: u64 = u32::MAX as u64;

/// A handler's result.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// A JSON object being read.
#[derive(Clone, Copy)]
pub(crate) struct Body<'a>(pub(crate) &'a Map<String, Value>);

impl<'a> Body<'a> {
    /// The raw value of `field`.
    pub(crate) fn get(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field)
    }

    /// True when the field is present (even as null).
    pub(crate) fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// A required string.
    pub(crate) fn str(&self, field: &str, code: i64) -> ApiResult<&'a str> {
        self.opt_str(field, code)?
            .ok_or_else(|| ApiError::new(code, format!("{field} is missing")))
    }

    /// An optional string.
    pub(crate) fn opt_str(&self, field: &str, code: i64) -> ApiResult<Option<&'a str>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::new(code, format!("{field} is not a string"))),
        }
    }

    /// A required unsigned integer that fits in `max`.
    pub(crate) fn uint(&self, field: &str, max: u64, code: i64) -> ApiResult<u64> {
        self.opt_uint(field, max, code)?
            .ok_or_else(|| ApiError::new(code, format!("{field} is missing")))
    }

    /// An optional unsigned integer that fits in `max`.
    pub(crate) fn opt_uint(&self, field: &str, max: u64, code: i64) -> ApiResult<Option<u64>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v <= max => Ok(Some(v)),
                _ => Err(ApiError::new(code, format!("{field} is out of range"))),
            },
            Some(_) => Err(ApiError::new(code, format!("{field} is not an integer"))),
        }
    }

    /// A required signed integer (times).
    pub(crate) fn int(&self, field: &str, code: i64) -> ApiResult<i64> {
        self.opt_int(field, code)?
            .ok_or_else(|| ApiError::new(code, format!("{field} is missing")))
    }

    /// An optional signed integer.
    pub(crate) fn opt_int(&self, field: &str, code: i64) -> ApiResult<Option<i64>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::new(code, format!("{field} is out of range"))),
            Some(_) => Err(ApiError::new(code, format!("{field} is not an integer"))),
        }
    }

    /// A required array.
    pub(crate) fn array(&self, field: &str, code: i64) -> ApiResult<&'a [Value]> {
        self.opt_array(field, code)?
            .ok_or_else(|| ApiError::new(code, format!("{field} is missing")))
    }

    /// An optional array.
    pub(crate) fn opt_array(&self, field: &str, code: i64) -> ApiResult<Option<&'a [Value]>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(_) => Err(ApiError::new(code, format!("{field} is not an array"))),
        }
    }

    /// An optional array of strings.
    pub(crate) fn opt_strings(&self, field: &str, code: i64) -> ApiResult<Option<Vec<&'a str>>> {
        let Some(items) = self.opt_array(field, code)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| ApiError::new(code, format!("{field} holds a non-string")))
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some)
    }

    /// A required array of strings.
    pub(crate) fn strings(&self, field: &str, code: i64) -> ApiResult<Vec<&'a str>> {
        self.opt_strings(field, code)?
            .ok_or_else(|| ApiError::new(code, format!("{field} is missing")))
    }
}

/// An array item that must be an object.
pub(crate) fn object<'a>(value: &'a Value, what: &str, code: i64) -> ApiResult<Body<'a>> {
    value
        .as_object()
        .map(Body)
        .ok_or_else(|| ApiError::new(code, format!("{what} item is not an object")))
}

/// Refuses a string over `max` bytes.
pub(crate) fn max_bytes(field: &str, value: &str, max: usize, code: i64) -> ApiResult<()> {
    if value.len() > max {
        Err(ApiError::new(
            code,
            format!("{field} is {} bytes, over the limit of {max}", value.len()),
        ))
    } else {
        Ok(())
    }
}

/// Refuses an array with more items than the batch limit.
pub(crate) fn batch(field: &str, len: usize, limit: Option<usize>, code: i64) -> ApiResult<()> {
    match limit {
        Some(max) if len > max => Err(ApiError::new(
            code,
            format!("{field} has {len} items, over the limit of {max}"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_problem_gets_the_given_code() {
        let v = json!({"a": "x", "n": 5, "neg": -1, "arr": [1]});
        let b = Body(v.as_object().unwrap());
        assert_eq!(b.str("a", 1).unwrap(), "x");
        assert_eq!(b.str("missing", 7).unwrap_err().code, 7);
        assert_eq!(b.str("n", 8).unwrap_err().code, 8);
        assert_eq!(b.uint("n", 4, 9).unwrap_err().code, 9);
        assert_eq!(b.uint("neg", u64::from(u32::MAX), 9).unwrap_err().code, 9);
        assert_eq!(b.int("neg", 1).unwrap(), -1);
        assert_eq!(b.strings("arr", 3).unwrap_err().code, 3);
        assert!(batch("x", 8, Some(7), 10004).is_err());
        assert!(batch("x", 7, Some(7), 10004).is_ok());
    }
}
