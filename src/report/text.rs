//! Small text helpers shared by the renderers: escaping untrusted text for HTML and Markdown,
//! times and durations, and shortening long messages for tables.

/// Escapes text for HTML (and SVG) element content and quoted attribute values.
pub(crate) fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes text safe for one cell of a Markdown table: on one line, with the characters that
/// would end the cell, start markup or inline HTML backslash-escaped.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '|' | '<' | '>' | '*' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `s`, with `…` when cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// The same-second sentence of the report, when any group message was shifted or refused.
pub(crate) fn same_second(s: &crate::store::order::Shifts) -> Option<String> {
    let mut parts = Vec::new();
    if s.shifted > 0 {
        parts.push(format!(
            "{} group messages shared a second with the message before them in their group and \
             were sent up to {} s later, in the export's order (same_second = shift; the store \
             keeps both times).",
            s.shifted, s.largest_secs
        ));
    }
    if s.refused > 0 {
        parts.push(format!(
            "{} group messages were refused at staging for sharing a second with the message \
             before them (same_second = refuse).",
            s.refused
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The sentence on messages skipped at staging for `[import] history_since`, if any.
pub(crate) fn history_skips(rows: &[super::data::HistorySkipRow]) -> Option<String> {
    let parts: Vec<String> = rows
        .iter()
        .map(|h| format!("{} {} ({})", h.items, h.stage, h.reason))
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "Skipped at staging, never sent (counted in skipped): {}.",
            parts.join(", ")
        )
    })
}

/// A unix time as UTC, or `-`.
pub(crate) fn time(t: Option<i64>) -> String {
    t.map_or_else(|| "-".to_string(), crate::timefmt::utc)
}

pub(crate) use crate::timefmt::duration;

/// How long from `start` to `end`, when both are known.
pub(crate) fn took(start: Option<i64>, end: Option<i64>) -> String {
    match (start, end) {
        (Some(a), Some(b)) if b >= a => duration(b - a),
        _ => "-".to_string(),
    }
}

/// A rate with at most one decimal (`12.5`, `300`).
pub(crate) fn rate(x: f64) -> String {
    if x >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// `-` for an empty string.
pub(crate) fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// `Pass started …, ended …; sample 1, roaming period no limit.` (plain text: escape it for
/// the format it goes into).
pub(crate) fn pass_sentence(v: &super::data::Verification) -> String {
    format!(
        "Pass started {}, ended {}; sample {}, roaming period {}.",
        time(v.started_at),
        time(v.ended_at),
        v.sample.unwrap_or(1.0),
        match v.roaming_days {
            Some(d) if d > 0 => format!("{d} days"),
            _ => "no limit".to_string(),
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(
            html("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(md("a|b\n<i>`c`"), "a\\|b \\<i\\>\\`c\\`");
        assert_eq!(shorten("héllo wörld", 5), "héllo…");
        assert_eq!(shorten("short", 5), "short");
        assert_eq!(duration(3723), "1h02m03s");
        assert_eq!(duration(125), "2m05s");
        assert_eq!(took(Some(10), None), "-");
        assert_eq!(rate(12.34), "12.3");
        assert_eq!(rate(300.4), "300");
    }
}
