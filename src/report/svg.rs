//! The report's charts as inline SVG: throughput over time and per-entity bars. Plain shapes
//! and text only (no scripts, no external references), every text escaped.

use super::data::{EntityRow, Interval, Throughput};
use super::text::{duration, html, rate};
use super::throughput::coarsen;
use std::fmt::Write;

/// Points of the throughput chart at most (longer imports are drawn in merged intervals).
const MAX_STEPS: usize = 300;

/// A colour for each kind, in staging order, and for the total.
pub(crate) const KIND_COLOURS: [(&str, &str); 7] = [
    ("accounts", "#4e79a7"),
    ("profiles", "#76b7b2"),
    ("friends", "#59a14f"),
    ("c2c_messages", "#f28e2b"),
    ("groups", "#b07aa1"),
    ("group_members", "#9c755f"),
    ("group_messages", "#e15759"),
];
/// The total's colour.
pub(crate) const TOTAL_COLOUR: &str = "#222222";

/// The four bars of the entity chart: label, colour.
pub(crate) const BARS: [(&str, &str); 4] = [
    ("imported", "#4e79a7"),
    ("verified", "#59a14f"),
    ("mismatched", "#f28e2b"),
    ("failed", "#e15759"),
];

/// A round number at or above `x` (1, 2, 2.5 or 5 × a power of ten), for an axis's top.
fn nice_ceiling(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v >= x)
        .unwrap_or(10.0 * p)
}

/// A round number of seconds between x-axis ticks, for about six ticks over `span` seconds.
fn time_step(span: i64) -> i64 {
    const STEPS: [i64; 16] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600,
    ];
    STEPS
        .into_iter()
        .find(|s| span / s <= 6)
        .unwrap_or(43_200 * (span / 43_200 / 6 + 1))
}

/// Formats a coordinate with one decimal.
fn c(x: f64) -> String {
    format!("{x:.1}")
}

/// The throughput chart: items settled per second over time, the total and each kind.
pub(crate) fn throughput(t: &Throughput) -> String {
    let Frame {
        w,
        h,
        left,
        right,
        top,
        bottom,
    } = FRAME;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="items per second over time">"#
    );
    let steps = coarsen(&t.intervals, MAX_STEPS);
    let (Some(first), Some(last)) = (steps.first(), steps.last()) else {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle" class="muted">no throughput samples in the store</text></svg>"#,
            w / 2.0,
            h / 2.0
        );
        return s;
    };
    let (t0, t1) = (first.from, last.to.max(first.from + 1));
    let peak = steps.iter().map(|i| i.items_per_sec).fold(0.0, f64::max);
    let ymax = nice_ceiling(peak);
    let x = |t: i64| left + (t - t0) as f64 / (t1 - t0) as f64 * (w - left - right);
    let y = |v: f64| top + (1.0 - v / ymax) * (h - top - bottom);
    grid(&mut s, ymax, &y);
    time_axis(&mut s, (t0, t1), &x, &y);
    lines(&mut s, &steps, &x, &y);
    let _ = write!(
        s,
        r#"<line x1="{l}" x2="{l}" y1="{}" y2="{}" class="axis"/><line x1="{l}" x2="{}" y1="{b}" y2="{b}" class="axis"/></svg>"#,
        c(top),
        c(y(0.0)),
        c(w - right),
        l = c(left),
        b = c(y(0.0))
    );
    s
}

/// The throughput chart's size and margins.
struct Frame {
    w: f64,
    h: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

const FRAME: Frame = Frame {
    w: 760.0,
    h: 280.0,
    left: 56.0,
    right: 16.0,
    top: 14.0,
    bottom: 40.0,
};

/// The grid and the y axis: five lines from 0 to `ymax`, labelled.
fn grid(s: &mut String, ymax: f64, y: &dyn Fn(f64) -> f64) {
    let Frame { w, left, right, .. } = FRAME;
    for i in 0..=4 {
        let v = ymax * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r#"<line x1="{}" x2="{}" y1="{yy}" y2="{yy}" class="grid"/><text x="{}" y="{}" text-anchor="end" class="tick">{}</text>"#,
            c(left),
            c(w - right),
            c(left - 6.0),
            c(y(v) + 4.0),
            rate(v),
            yy = c(y(v))
        );
    }
}

/// The x axis: elapsed time from `t0` at round steps, and its caption.
fn time_axis(s: &mut String, (t0, t1): (i64, i64), x: &dyn Fn(i64) -> f64, y: &dyn Fn(f64) -> f64) {
    let Frame {
        w,
        h,
        left,
        right,
        bottom,
        ..
    } = FRAME;
    let step = time_step(t1 - t0);
    for at in (t0..=t1).step_by(step as usize) {
        let _ = write!(
            s,
            r#"<line x1="{xx}" x2="{xx}" y1="{}" y2="{}" class="axis"/><text x="{xx}" y="{}" text-anchor="middle" class="tick">+{}</text>"#,
            c(y(0.0)),
            c(y(0.0) + 4.0),
            c(h - bottom + 16.0),
            html(&duration(at - t0)),
            xx = c(x(at))
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle" class="tick">elapsed since {}</text>"#,
        c(left + (w - left - right) / 2.0),
        c(h - 4.0),
        html(&crate::timefmt::utc(t0))
    );
}

/// The total as a filled step area, then one step line per kind, then the total's line on top.
fn lines(s: &mut String, steps: &[Interval], x: &dyn Fn(i64) -> f64, y: &dyn Fn(f64) -> f64) {
    let total = step_path(steps, x, y, |i| i.items_per_sec);
    let start = steps.first().map_or(0, |i| i.from);
    let _ = write!(
        s,
        r#"<path d="{total} V {base} H {start} Z" fill="{TOTAL_COLOUR}" fill-opacity="0.08" stroke="none"/>"#,
        base = c(y(0.0)),
        start = c(x(start))
    );
    for (kind, colour) in KIND_COLOURS {
        if steps.iter().any(|i| i.by_kind.contains_key(kind)) {
            let d = step_path(steps, x, y, |i| i.by_kind.get(kind).copied().unwrap_or(0.0));
            let _ = write!(
                s,
                r#"<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.5"><title>{}</title></path>"#,
                html(kind)
            );
        }
    }
    let _ = write!(
        s,
        r#"<path d="{total}" fill="none" stroke="{TOTAL_COLOUR}" stroke-width="2.5"><title>total</title></path>"#
    );
}

/// `M … H … V …`: a step line through each interval's value.
fn step_path(
    steps: &[Interval],
    x: &dyn Fn(i64) -> f64,
    y: &dyn Fn(f64) -> f64,
    value: impl Fn(&Interval) -> f64,
) -> String {
    let mut d = String::new();
    for (n, i) in steps.iter().enumerate() {
        let yy = c(y(value(i)));
        if n == 0 {
            let _ = write!(d, "M {} {yy}", c(x(i.from)));
        } else {
            let _ = write!(d, " V {yy}");
        }
        let _ = write!(d, " H {}", c(x(i.to)));
    }
    d
}

/// The entity chart: per kind, bars of imported, verified, mismatched and failed items over a
/// faint track as long as the kind's source records.
pub(crate) fn entities(rows: &[EntityRow]) -> String {
    let w = 760.0;
    let (label_w, value_w, bar_h, gap, row_gap) = (120.0, 56.0, 9.0, 2.0, 14.0);
    let row_h = BARS.len() as f64 * (bar_h + gap) - gap + row_gap;
    let h = rows.len() as f64 * row_h + 8.0;
    let max = rows
        .iter()
        .map(|r| r.source.max(r.imported + r.extra))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let span = w - label_w - value_w;
    let len = |n: u64| n as f64 / max * span;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="items per entity kind">"#
    );
    for (n, r) in rows.iter().enumerate() {
        let y0 = 4.0 + n as f64 * row_h;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end" class="label">{}</text><rect x="{label_w}" y="{}" width="{}" height="{}" class="track"><title>{} source records</title></rect>"#,
            c(label_w - 8.0),
            c(y0 + (row_h - row_gap) / 2.0 + 4.0),
            html(&r.stage),
            c(y0 - 1.0),
            c(len(r.source)),
            c(row_h - row_gap + 2.0),
            r.source
        );
        let values = [r.imported, r.verified, r.mismatched, r.failed];
        for (b, ((what, colour), value)) in BARS.iter().zip(values).enumerate() {
            let yb = y0 + b as f64 * (bar_h + gap);
            let _ = write!(
                s,
                r#"<rect x="{label_w}" y="{}" width="{}" height="{bar_h}" fill="{colour}"><title>{} {what}: {value}</title></rect>"#,
                c(yb),
                c(len(value)),
                html(&r.stage),
            );
            // Zeros are left unlabelled (the table below has every count): four stacked "0"s
            // would only hide the bars that are there.
            if value > 0 {
                let _ = write!(
                    s,
                    r#"<text x="{}" y="{}" class="value">{value}</text>"#,
                    c(label_w + len(value) + 4.0),
                    c(yb + bar_h - 1.0)
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(2.2), 2.5);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
        assert_eq!(time_step(5), 1);
        assert_eq!(time_step(45), 10);
        assert_eq!(time_step(3600), 600);
        assert_eq!(time_step(86_400), 21_600);
        assert_eq!(time_step(864_000), 172_800);
    }

    #[test]
    fn charts_are_svg_with_a_line_per_active_kind() {
        let r = fixture::report();
        let t = throughput(&r.throughput);
        assert!(t.starts_with("<svg") && t.ends_with("</svg>"));
        assert!(t.contains("<title>c2c_messages</title>"));
        assert!(t.contains("<title>total</title>"));
        assert!(
            !t.contains("<title>friends</title>"),
            "friends settled nothing"
        );
        let e = entities(&r.entities);
        assert!(e.starts_with("<svg") && e.ends_with("</svg>"));
        assert!(e.contains("friends failed: 5"));
        let empty = throughput(&Throughput::default());
        assert!(empty.contains("no throughput samples"));
    }
}
