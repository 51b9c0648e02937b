//! Every time shown to a person: unix seconds as a UTC date-time (no time-zone database
//! needed), RFC 3339 parsing, and durations such as an ETA; and the one reading of the system
//! clock as unix seconds ([`now_secs`]) or milliseconds ([`now_ms`]).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in seconds since the unix epoch (the store's time unit); 0 if the system clock reads
/// before 1970.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Now, in milliseconds since the unix epoch (sync events' time unit); 0 if the system clock
/// reads before 1970.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `2024-11-19 07:06:40 UTC` for a unix time in seconds.
///
/// ```
/// assert_eq!(cutover::timefmt::utc(1_732_000_000), "2024-11-19 07:06:40 UTC");
/// ```
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A duration as `1m05s` or `2h01m`; `unknown` when there is none.
///
/// ```
/// assert_eq!(cutover::timefmt::eta_text(Some(65.4)), "1m05s");
/// assert_eq!(cutover::timefmt::eta_text(Some(7260.0)), "2h01m");
/// assert_eq!(cutover::timefmt::eta_text(None), "unknown");
/// ```
pub fn eta_text(secs: Option<f64>) -> String {
    match secs {
        Some(s) if s.is_finite() => {
            let s = s.round() as u64;
            if s >= 3600 {
                format!("{}h{:02}m", s / 3600, s / 60 % 60)
            } else {
                format!("{}m{:02}s", s / 60, s % 60)
            }
        }
        _ => "unknown".into(),
    }
}

/// `1h02m03s`, `2m05s`, `7s` for a number of seconds.
pub(crate) fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// An elapsed time as a clock: `01:02:03`.
///
/// ```
/// assert_eq!(cutover::timefmt::clock(3723), "01:02:03");
/// ```
pub fn clock(secs: u64) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01 (the inverse of `civil_from_days`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of an RFC 3339 time (`2026-11-30T03:00:00Z`, `2026-11-30T11:00:00+08:00`;
/// a space may stand for the `T`); `None` when it is not one.
///
/// ```
/// assert_eq!(cutover::timefmt::parse_rfc3339("2024-11-19T07:06:40Z"), Some(1_732_000_000));
/// assert_eq!(cutover::timefmt::parse_rfc3339("2024-11-19 15:06:40+08:00"), Some(1_732_000_000));
/// assert_eq!(cutover::timefmt::parse_rfc3339("tomorrow"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = std::str::from_utf8(b.get(r)?).ok()?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from((a - b'0') * 10 + (b - b'0')))
            };
            let secs = two(*h1, *h2)? * 3600 + two(*m1, *m2)? * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// Unix seconds of a UTC date `2026-11-01` (its midnight), or of an RFC 3339 time; `None` when
/// it is neither (a day the month does not have included).
///
/// ```
/// assert_eq!(cutover::timefmt::parse_date_or_time("2026-11-01"), Some(1_793_491_200));
/// assert_eq!(cutover::timefmt::parse_date_or_time("2026-11-01T08:00:00+08:00"), Some(1_793_491_200));
/// assert_eq!(cutover::timefmt::parse_date_or_time("2026-02-30"), None);
/// ```
pub fn parse_date_or_time(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    if b.len() != 10 {
        return parse_rfc3339(text);
    }
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let days = days_from_civil(y, m, d);
    // Out-of-range parts (month 13, February 30) do not come back unchanged.
    (civil_from_days(days) == (y, m, d)).then_some(days * 86_400)
}

/// `2026-11-01` for a UTC midnight, else the full [`utc`] time.
///
/// ```
/// assert_eq!(cutover::timefmt::date_or_time(1_793_491_200), "2026-11-01");
/// assert_eq!(cutover::timefmt::date_or_time(1_793_491_201), "2026-11-01 00:00:01 UTC");
/// ```
pub fn date_or_time(secs: i64) -> String {
    let full = utc(secs);
    if secs.rem_euclid(86_400) == 0 {
        // `utc` is ASCII and starts with the 10-byte `YYYY-MM-DD`: the slice is in bounds.
        full[..10].to_string()
    } else {
        full
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_clock_reads_unix_time_in_both_units() {
        let (secs, ms) = (super::now_secs(), super::now_ms());
        // After 2024, and the two readings within a second of each other.
        assert!(secs > 1_700_000_000, "{secs}");
        assert!((ms / 1000 - secs).abs() <= 1, "{ms} {secs}");
    }

    #[test]
    fn parsing_inverts_formatting() {
        for t in [0, 951_782_400, 1_732_000_000, 1_795_990_434] {
            let text = super::utc(t).replace(" UTC", "Z").replace(' ', "T");
            assert_eq!(super::parse_rfc3339(&text), Some(t), "{text}");
        }
        assert_eq!(super::parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(
            super::parse_rfc3339("2024-11-19T07:06:40"),
            None,
            "an offset is required"
        );
    }

    #[test]
    fn known_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(1_732_000_000), "2024-11-19 07:06:40 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn dates_are_utc_midnights_and_impossible_days_are_refused() {
        use super::parse_date_or_time as p;
        assert_eq!(p("2026-11-01"), Some(1_793_491_200));
        assert_eq!(p(" 2024-02-29 "), Some(1_709_164_800));
        assert_eq!(p("2026-11-01T00:00:00Z"), Some(1_793_491_200));
        for bad in [
            "2025-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-11-31",
            "2026/11/01",
            "26-11-01",
            "roaming",
            "",
            "2026-11-01T00:00:00",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }
}
