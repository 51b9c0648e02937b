//! What each robot is sent: its URL (DingTalk's carries the signature) and its JSON body.

use super::message::Message;
use super::sign;
use crate::config::alerts::ChannelKind;
use serde_json::{json, Value};

/// One request to a robot, ready to post.
#[derive(Debug)]
pub(crate) struct Request {
    /// Where (with its key: never logged).
    pub(crate) url: String,
    /// The JSON body.
    pub(crate) body: Value,
    /// A bearer token (the webhook channel's secret).
    pub(crate) bearer: Option<String>,
}

/// The request telling `kind` at `url` about `msg`, signed with `secret` where the robot signs,
/// at `now_ms` (milliseconds since the epoch).
pub(crate) fn request(
    kind: ChannelKind,
    url: &str,
    secret: Option<&str>,
    msg: &Message,
    now_ms: i64,
) -> Request {
    let mut url = url.to_string();
    let mut bearer = None;
    let body = match kind {
        ChannelKind::Wecom => json!({
            "msgtype": "markdown",
            "markdown": {"content": msg.markdown()},
        }),
        ChannelKind::Dingtalk => {
            if let Some(secret) = secret {
                url = dingtalk_url(&url, now_ms, &sign::dingtalk(secret, now_ms));
            }
            json!({
                "msgtype": "markdown",
                "markdown": {"title": msg.headline(), "text": msg.markdown()},
            })
        }
        ChannelKind::Feishu => {
            let mut body = json!({"msg_type": "text", "content": {"text": msg.text()}});
            if let (Some(secret), Value::Object(map)) = (secret, &mut body) {
                let secs = now_ms.div_euclid(1000);
                map.insert("timestamp".into(), Value::String(secs.to_string()));
                map.insert("sign".into(), Value::String(sign::feishu(secret, secs)));
            }
            body
        }
        ChannelKind::Slack => json!({"text": msg.text()}),
        ChannelKind::Webhook => {
            bearer = secret.map(str::to_string);
            serde_json::to_value(msg).unwrap_or(Value::Null)
        }
    };
    Request { url, body, bearer }
}

/// `url` with `timestamp` and the URL-encoded `sign` appended to its query.
fn dingtalk_url(url: &str, now_ms: i64, sign: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("timestamp", &now_ms.to_string())
                .append_pair("sign", sign);
            u.into()
        }
        // Not a URL: the post fails and says so (without the URL).
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::message::State;
    use crate::alerts::{Alert, Severity};

    fn msg() -> Message {
        let alert = Alert {
            key: "paused".into(),
            severity: Severity::Critical,
            title: "the run paused".into(),
            body: "error budget: 50 × 20003".into(),
        };
        Message::of("nightly", &alert, State::Firing, 1_732_000_000)
    }

    #[test]
    fn wecom_markdown() {
        let r = request(ChannelKind::Wecom, "http://h/send?key=K", None, &msg(), 0);
        assert_eq!(r.url, "http://h/send?key=K");
        assert_eq!(r.body["msgtype"], "markdown");
        assert!(r.body["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains("the run paused"));
    }

    #[test]
    fn dingtalk_markdown_signed_in_the_query() {
        let ms = 1_732_000_000_123;
        let r = request(
            ChannelKind::Dingtalk,
            "http://h/robot/send?access_token=T",
            Some("S"),
            &msg(),
            ms,
        );
        let u = reqwest::Url::parse(&r.url).unwrap();
        let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert_eq!(q[0], ("access_token".into(), "T".into()));
        assert_eq!(q[1], ("timestamp".into(), ms.to_string()));
        assert_eq!(q[2], ("sign".into(), sign::dingtalk("S", ms)));
        // base64's + / = are percent-encoded in the URL.
        assert!(!r
            .url
            .split("sign=")
            .nth(1)
            .unwrap()
            .contains(['+', '/', '=']));
        assert_eq!(r.body["msgtype"], "markdown");
        assert_eq!(
            r.body["markdown"]["title"],
            "[CRITICAL] FIRING paused: the run paused"
        );
        assert!(r.body["markdown"]["text"].is_string());
        let unsigned = request(
            ChannelKind::Dingtalk,
            "http://h/s?access_token=T",
            None,
            &msg(),
            ms,
        );
        assert_eq!(unsigned.url, "http://h/s?access_token=T");
    }

    #[test]
    fn feishu_text_signed_in_the_body() {
        let r = request(
            ChannelKind::Feishu,
            "http://h/hook/T",
            Some("S"),
            &msg(),
            1_732_000_000_999,
        );
        assert_eq!(r.body["msg_type"], "text");
        assert!(r.body["content"]["text"]
            .as_str()
            .unwrap()
            .contains("the run paused"));
        assert_eq!(r.body["timestamp"], "1732000000");
        assert_eq!(r.body["sign"], sign::feishu("S", 1_732_000_000));
        let unsigned = request(ChannelKind::Feishu, "http://h/hook/T", None, &msg(), 0);
        assert!(unsigned.body.get("sign").is_none());
    }

    #[test]
    fn slack_text_and_webhook_plain_json() {
        let r = request(ChannelKind::Slack, "http://h/services/X", None, &msg(), 0);
        assert_eq!(r.body.as_object().unwrap().len(), 1);
        assert!(r.body["text"]
            .as_str()
            .unwrap()
            .starts_with("[CRITICAL] FIRING"));
        let w = request(ChannelKind::Webhook, "http://h/in", Some("tok"), &msg(), 0);
        assert_eq!(w.bearer.as_deref(), Some("tok"));
        let keys: Vec<&String> = w.body.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 7, "{keys:?}");
        assert_eq!(w.body["run"], "nightly");
        assert_eq!(w.body["key"], "paused");
        assert_eq!(w.body["severity"], "critical");
        assert_eq!(w.body["state"], "firing");
        assert_eq!(w.body["at"], "2024-11-19T07:06:40Z");
    }
}
