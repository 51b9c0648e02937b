//! Reading a robot's answer. The robots answer HTTP 200 even when they refuse a message, with
//! the error in the body: WeCom and DingTalk `errcode` ≠ 0, Feishu `code` ≠ 0; Slack answers
//! `ok`, anything else is a refusal. A plain webhook succeeds with any 2xx. A robot saying it
//! is throttling (HTTP 429, WeCom 45009, DingTalk 130101, Feishu 11232) is left alone a while.

use crate::config::alerts::ChannelKind;
use serde_json::Value;
use std::time::Duration;

/// How long a throttling robot is left alone when it does not say (`Retry-After`).
const BACK_OFF: Duration = Duration::from_secs(60);
/// DingTalk mutes a robot over its limit for ten minutes.
const DINGTALK_BACK_OFF: Duration = Duration::from_secs(600);

/// Why a robot did not take a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// What it said (no URL, no secret).
    pub(crate) why: String,
    /// It throttles: send nothing more for this long.
    pub(crate) back_off: Option<Duration>,
}

impl From<String> for Refusal {
    fn from(why: String) -> Refusal {
        Refusal {
            why,
            back_off: None,
        }
    }
}

/// [`read`], with what a throttling robot asks: `retry_after` is its `Retry-After` header in
/// seconds, if any.
pub(crate) fn judge(
    kind: ChannelKind,
    status: u16,
    retry_after: Option<u64>,
    body: &str,
) -> Result<(), Refusal> {
    let why = match read(kind, status, body) {
        Ok(()) => return Ok(()),
        Err(why) => why,
    };
    let throttled = |code: &str| why.starts_with(code);
    let back_off = if status == 429 {
        Some(retry_after.map_or(BACK_OFF, Duration::from_secs))
    } else if throttled("errcode 45009") || throttled("code 11232") {
        Some(BACK_OFF)
    } else if throttled("errcode 130101") {
        Some(DINGTALK_BACK_OFF)
    } else {
        None
    };
    Err(Refusal { why, back_off })
}

/// Most bytes of an answer quoted in a failure.
const QUOTE: usize = 200;

/// `Ok` if the robot took the message, else why not (no URL, no secret: only the answer).
fn read(kind: ChannelKind, status: u16, body: &str) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}: {}", quote(body)));
    }
    match kind {
        ChannelKind::Webhook => Ok(()),
        ChannelKind::Slack if body.trim() == "ok" => Ok(()),
        ChannelKind::Slack => Err(format!("HTTP {status} but not ok: {}", quote(body))),
        ChannelKind::Wecom | ChannelKind::Dingtalk => code(body, &["errcode"], "errmsg"),
        ChannelKind::Feishu => code(body, &["code", "StatusCode"], "msg"),
    }
}

/// `Ok` when the first of `fields` present in the JSON `body` is 0.
fn code(body: &str, fields: &[&str], message: &str) -> Result<(), String> {
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        return Err(format!("an answer that is not JSON: {}", quote(body)));
    };
    let Some((field, value)) = fields.iter().find_map(|f| json.get(*f).map(|v| (*f, v))) else {
        return Err(format!("an answer without {}: {}", fields[0], quote(body)));
    };
    match value.as_i64() {
        Some(0) => Ok(()),
        _ => {
            let why = json
                .get(message)
                .or_else(|| json.get("StatusMessage"))
                .and_then(Value::as_str)
                .unwrap_or("");
            Err(format!("{field} {value}: {}", quote(why)))
        }
    }
}

/// `text` cut to [`QUOTE`] bytes on a character boundary.
fn quote(text: &str) -> String {
    let text = text.trim();
    let mut end = text.len().min(QUOTE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChannelKind::*;

    #[test]
    fn a_200_with_an_error_in_the_body_is_a_failure() {
        assert_eq!(read(Wecom, 200, r#"{"errcode":0,"errmsg":"ok"}"#), Ok(()));
        assert_eq!(
            read(
                Wecom,
                200,
                r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#
            ),
            Err("errcode 45009: api freq out of limit".into())
        );
        assert_eq!(
            read(
                Dingtalk,
                200,
                r#"{"errcode":310000,"errmsg":"sign not match"}"#
            ),
            Err("errcode 310000: sign not match".into())
        );
        assert_eq!(
            read(Feishu, 200, r#"{"code":0,"msg":"success","data":{}}"#),
            Ok(())
        );
        assert_eq!(
            read(Feishu, 200, r#"{"code":19021,"msg":"sign match fail"}"#),
            Err("code 19021: sign match fail".into())
        );
        assert_eq!(
            read(Feishu, 200, r#"{"StatusCode":0,"StatusMessage":"success"}"#),
            Ok(())
        );
        assert_eq!(read(Slack, 200, "ok"), Ok(()));
        assert!(read(Slack, 200, "invalid_payload").is_err());
        assert!(read(Wecom, 200, "<html>").unwrap_err().contains("not JSON"));
        assert!(read(Dingtalk, 200, "{}")
            .unwrap_err()
            .contains("without errcode"));
    }

    #[test]
    fn a_throttling_robot_is_left_alone_a_while() {
        let judged = |k, status, retry, body| judge(k, status, retry, body).unwrap_err().back_off;
        let min = Duration::from_secs(60);
        assert_eq!(
            judged(Slack, 429, Some(7), "rate_limited"),
            Some(Duration::from_secs(7))
        );
        assert_eq!(judged(Webhook, 429, None, ""), Some(min));
        assert_eq!(
            judged(Wecom, 200, None, r#"{"errcode":45009,"errmsg":"freq"}"#),
            Some(min)
        );
        assert_eq!(
            judged(
                Dingtalk,
                200,
                None,
                r#"{"errcode":130101,"errmsg":"send too fast"}"#
            ),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            judged(Feishu, 200, None, r#"{"code":11232,"msg":"frequency"}"#),
            Some(min)
        );
        assert_eq!(
            judged(Wecom, 200, None, r#"{"errcode":93000,"errmsg":"bad"}"#),
            None
        );
        assert_eq!(judge(Slack, 200, None, "ok"), Ok(()));
    }

    #[test]
    fn http_errors_are_failures_for_every_kind() {
        for k in ChannelKind::ALL {
            assert_eq!(
                read(k, 429, "rate_limited"),
                Err("HTTP 429: rate_limited".into())
            );
        }
        assert_eq!(read(Webhook, 204, ""), Ok(()));
        assert_eq!(quote(&"é".repeat(150)).len(), 200);
    }
}
