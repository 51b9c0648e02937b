//! One message to a robot: an alert that fires, repeats or resolves, or a digest folding
//! several into one. The webhook channel sends it as it is (`{run, key, severity, state,
//! title, body, at}`); the robots get its text.

use super::{Alert, Severity};
use serde::Serialize;

/// Most alerts a digest lists one by one (the rest are counted).
const DIGEST_LINES: usize = 20;
/// Most bytes of text a robot is sent (WeCom takes 4096 of markdown, Feishu 20 KB of body).
const MAX_TEXT: usize = 3500;

/// What a message says of its alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum State {
    /// It started, or still holds (a repeat).
    Firing,
    /// It no longer holds.
    Resolved,
    /// Several messages folded into one.
    Digest,
}

/// One message, as the webhook channel sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Message {
    /// The run's name.
    pub(crate) run: String,
    /// The alert's key (`digest` for a digest).
    pub(crate) key: String,
    /// How bad.
    pub(crate) severity: Severity,
    /// Firing, resolved or digest.
    pub(crate) state: State,
    /// One line.
    pub(crate) title: String,
    /// The rest: the step, the numbers, the command to look closer.
    pub(crate) body: String,
    /// When it was written (RFC 3339, UTC).
    pub(crate) at: String,
}

/// `2024-11-19T07:06:40Z` for unix seconds.
pub(crate) fn rfc3339(secs: i64) -> String {
    let text = crate::timefmt::utc(secs); // "2024-11-19 07:06:40 UTC"
    match (text.get(..10), text.get(11..19)) {
        (Some(date), Some(time)) => format!("{date}T{time}Z"),
        _ => text,
    }
}

impl Message {
    /// `alert` in `state` for run `run`, written at `at` (unix seconds).
    pub(crate) fn of(run: &str, alert: &Alert, state: State, at: i64) -> Message {
        Message {
            run: run.to_string(),
            key: alert.key.clone(),
            severity: alert.severity,
            state,
            title: alert.title.clone(),
            body: alert.body.clone(),
            at: rfc3339(at),
        }
    }

    /// One message folding `messages` (at least one), `why` they were folded.
    pub(crate) fn digest(messages: &[Message], why: &str) -> Message {
        let severity = messages
            .iter()
            .map(|m| m.severity)
            .max_by_key(|s| s.rank())
            .unwrap_or(Severity::Info);
        let mut body = format!("{} messages folded into this one ({why}):", messages.len());
        for m in messages.iter().take(DIGEST_LINES) {
            body.push_str(&format!("\n- {} {}: {}", m.state_word(), m.key, m.title));
        }
        if messages.len() > DIGEST_LINES {
            body.push_str(&format!("\n- … and {} more", messages.len() - DIGEST_LINES));
        }
        Message {
            run: messages.first().map(|m| m.run.clone()).unwrap_or_default(),
            key: "digest".into(),
            severity,
            state: State::Digest,
            title: format!("{} alerts", messages.len()),
            body,
            at: messages.last().map(|m| m.at.clone()).unwrap_or_default(),
        }
    }

    /// `FIRING`, `RESOLVED` or `DIGEST`.
    fn state_word(&self) -> &'static str {
        match self.state {
            State::Firing => "FIRING",
            State::Resolved => "RESOLVED",
            State::Digest => "DIGEST",
        }
    }

    /// The first line: `[CRITICAL] FIRING paused: the run paused`.
    pub(crate) fn headline(&self) -> String {
        format!(
            "[{}] {} {}: {}",
            self.severity.name().to_uppercase(),
            self.state_word(),
            self.key,
            self.title
        )
    }

    /// Plain text: the headline, the body, the run and the time (cut to the robots' size).
    pub(crate) fn text(&self) -> String {
        cut(format!(
            "{}\n{}\nrun {} · {}",
            self.headline(),
            self.body,
            self.run,
            self.at
        ))
    }

    /// Markdown: the headline in bold, the body, the run and the time.
    pub(crate) fn markdown(&self) -> String {
        cut(format!(
            "**{}**\n\n{}\n\n> run {} · {}",
            self.headline(),
            self.body,
            self.run,
            self.at
        ))
    }
}

/// `text` cut to [`MAX_TEXT`] bytes on a character boundary, saying so.
fn cut(mut text: String) -> String {
    if text.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("\n… (cut)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(key: &str, severity: Severity) -> Alert {
        Alert {
            key: key.into(),
            severity,
            title: format!("{key} title"),
            body: "step import · 12 failed · cutover errors --store run.db".into(),
        }
    }

    #[test]
    fn a_message_says_state_run_and_time() {
        let m = Message::of(
            "nightly",
            &alert("paused", Severity::Critical),
            State::Firing,
            1_732_000_000,
        );
        assert_eq!(m.at, "2024-11-19T07:06:40Z");
        assert_eq!(m.headline(), "[CRITICAL] FIRING paused: paused title");
        assert!(m.text().ends_with("run nightly · 2024-11-19T07:06:40Z"));
        assert!(m.markdown().starts_with("**[CRITICAL] FIRING paused"));
    }

    #[test]
    fn a_digest_counts_what_it_folds_and_keeps_the_worst_severity() {
        let ms: Vec<Message> = (0..25)
            .map(|i| {
                let s = if i == 7 {
                    Severity::Critical
                } else {
                    Severity::Info
                };
                Message::of("r", &alert(&format!("k{i}"), s), State::Firing, 0)
            })
            .collect();
        let d = Message::digest(&ms, "rate limit");
        assert_eq!(d.state, State::Digest);
        assert_eq!(d.severity, Severity::Critical);
        assert_eq!(d.title, "25 alerts");
        assert!(d
            .body
            .starts_with("25 messages folded into this one (rate limit):"));
        assert!(d.body.contains("- FIRING k19: k19 title"));
        assert!(d.body.ends_with("- … and 5 more"), "{}", d.body);
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let mut a = alert("x", Severity::Warning);
        a.body = "迁".repeat(3000);
        let t = Message::of("r", &a, State::Firing, 0).text();
        assert!(t.len() <= MAX_TEXT + 20);
        assert!(t.ends_with("… (cut)"));
    }
}
