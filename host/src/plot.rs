//! The picture `resetwatch replay --plot FILE.svg` draws: one lane per
//! (source, account, stream) with reset pairs, time across. In each lane:
//!
//! - the number of reset pairs in the sliding window over time (a step
//!   line, from the pair times), and a dot per reset pair at the count the
//!   detector gave it (hover: its time and cause);
//! - the `warning_pairs` and `critical_pairs` thresholds as dashed lines;
//! - the alert's spans as shaded bands: amber while `warning`, red once
//!   `critical`, from the pair that fired it to the record at which it was
//!   `resolved`, or to the right edge, marked "firing at end of input".
//!
//! Elements carry classes (`lane`, `lane-title`, `pair`, `threshold`,
//! `alert-span`) so the picture can be checked and restyled.

use std::collections::BTreeMap;

use resetwatch::clock::{rfc3339, Micros, SECOND};
use resetwatch::{Alert, ResetPair, Severity, Status};
use svg::node::element::path::Data;
use svg::node::element::{Circle, Group, Line, Path, Rectangle, Style, Text, Title};
use svg::Document;

use crate::text::plural;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 24.0;
const HEADER: f64 = 64.0;
const LANE_TITLE: f64 = 26.0;
const LANE_PLOT: f64 = 120.0;
const LANE_AXIS: f64 = 34.0;
const LANE: f64 = LANE_TITLE + LANE_PLOT + LANE_AXIS;

const WARNING: &str = "#e8a317";
const CRITICAL: &str = "#d62728";
const LINE: &str = "#1f5fa8";

const STYLE: &str = "
text { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; fill: #24292f; }
.title { font-size: 17px; font-weight: 600; }
.subtitle, .axis { font-size: 11px; fill: #57606a; }
.lane-title { font-size: 13px; font-weight: 600; }
.lane-note { font-size: 12px; fill: #57606a; font-weight: 400; }
.threshold-label { font-size: 10px; }
.span-label { font-size: 10px; font-style: italic; }
";

/// One alert span: `start` to `end` (`None`: still firing at the end of
/// input), critical from `critical_from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: Micros,
    pub critical_from: Option<Micros>,
    pub end: Option<Micros>,
}

/// One (source, account, stream).
#[derive(Clone, Debug, Default)]
pub struct Lane {
    pub source: String,
    pub account: String,
    pub stream: String,
    /// (time, pairs in window per the detector, cause), in time order.
    pub pairs: Vec<(Micros, u64, String)>,
    pub spans: Vec<Span>,
    pub server_version: Option<String>,
    pub known_leak: Option<bool>,
    pub severity: Option<Severity>,
}

/// Collects pairs and alerts during a replay; [`Timeline::svg`] draws them.
#[derive(Clone, Debug)]
pub struct Timeline {
    lanes: BTreeMap<(String, String, String), Lane>,
    /// Window and thresholds, from the configuration.
    pub window: Micros,
    pub warning_pairs: u32,
    pub critical_pairs: u32,
    /// The zone times are printed in (`line_utc_offset`).
    pub offset: Micros,
}

impl Timeline {
    /// An empty timeline for this configuration.
    pub fn new(cfg: &resetwatch::Config) -> Self {
        Timeline {
            lanes: BTreeMap::new(),
            window: cfg.window,
            warning_pairs: cfg.warning_pairs,
            critical_pairs: cfg.critical_pairs,
            offset: cfg.line_utc_offset,
        }
    }

    fn lane(&mut self, source: &str, account: &str, stream: &str) -> &mut Lane {
        self.lanes.entry((source.into(), account.into(), stream.into())).or_insert_with(|| Lane {
            source: source.into(),
            account: account.into(),
            stream: stream.into(),
            ..Lane::default()
        })
    }

    /// One reset pair.
    pub fn add_pair(&mut self, p: &ResetPair) {
        self.lane(&p.source, &p.account, &p.stream).pairs.push((p.time, p.in_window, p.cause.clone()));
    }

    /// One alert, emitted when the replay was at time `now`.
    pub fn add_alert(&mut self, a: &Alert, now: Micros) {
        let lane = self.lane(&a.source, &a.account, &a.stream);
        lane.server_version = a.server_version.clone().or(lane.server_version.take());
        lane.known_leak = a.known_leak.or(lane.known_leak);
        lane.severity = lane.severity.max(Some(a.severity));
        let open = lane.spans.last_mut().filter(|s| s.end.is_none());
        match (a.status, open) {
            (Status::Firing, None) => lane.spans.push(Span {
                start: a.last_seen,
                critical_from: (a.severity == Severity::Critical).then_some(a.last_seen),
                end: None,
            }),
            (Status::Firing, Some(span)) => {
                if a.severity == Severity::Critical && span.critical_from.is_none() {
                    span.critical_from = Some(a.last_seen);
                }
            }
            (Status::Resolved, Some(span)) => span.end = Some(now.max(span.start)),
            (Status::Resolved, None) => {}
        }
    }

    /// The lanes, by source, account and stream.
    pub fn lanes(&self) -> impl Iterator<Item = &Lane> {
        self.lanes.values()
    }

    /// The picture, over `from..to` (the replay's first and last times),
    /// headed by `title` and `subtitle`.
    pub fn svg(&self, from: Micros, to: Micros, title: &str, subtitle: &str) -> String {
        let lanes: Vec<&Lane> = self.lanes.values().filter(|l| !l.pairs.is_empty() || !l.spans.is_empty()).collect();
        let (from, to) = (from.min(to), to.max(from.saturating_add(SECOND)));
        let height = HEADER + LANE * lanes.len().max(1) as f64 + 8.0;
        let mut doc = Document::new()
            .set("width", WIDTH)
            .set("height", height)
            .set("viewBox", (0, 0, WIDTH, height))
            .add(Style::new(STYLE))
            .add(Rectangle::new().set("width", "100%").set("height", "100%").set("fill", "#ffffff"))
            .add(Text::new(title).set("class", "title").set("x", LEFT).set("y", 26))
            .add(Text::new(subtitle).set("class", "subtitle").set("x", LEFT).set("y", 46));
        doc = doc.add(legend(WIDTH - RIGHT, 46.0));
        if lanes.is_empty() {
            doc = doc.add(Text::new("no reset pairs").set("class", "lane-title").set("x", LEFT).set("y", HEADER + 40.0));
        }
        let x = Scale { from, to, left: LEFT, right: WIDTH - RIGHT };
        for (i, lane) in lanes.iter().enumerate() {
            doc = doc.add(self.lane_group(lane, &x, HEADER + LANE * i as f64));
        }
        doc.to_string()
    }

    /// One lane, drawn back to front: title, alert spans, frame and
    /// thresholds, the pairs in the window, the time axis.
    fn lane_group(&self, lane: &Lane, x: &Scale, top: f64) -> Group {
        let peak = lane.pairs.iter().map(|p| p.1).max().unwrap_or(0);
        let counts = window_counts(&lane.pairs, self.window);
        let ymax = (self.critical_pairs as u64).max(peak).max(counts.iter().map(|c| c.1).max().unwrap_or(0)).max(1) as f64 * 1.15;
        let at = LaneBox { top, plot_top: top + LANE_TITLE, plot_bottom: top + LANE_TITLE + LANE_PLOT, ymax };
        let g = Group::new().set("class", "lane");
        let g = self.lane_title(g, lane, peak, &at);
        let g = self.alert_spans(g, lane, x, &at);
        let g = self.frame_and_thresholds(g, x, &at);
        let g = self.pairs_in_window(g, lane, &counts, x, &at);
        self.time_axis(g, x, &at)
    }

    /// Title: where, what, how bad.
    fn lane_title(&self, mut g: Group, lane: &Lane, peak: u64, at: &LaneBox) -> Group {
        let firing_at_end = lane.spans.last().is_some_and(|s| s.end.is_none());
        let mut note =
            format!("{} pair{}, peak {} in {} s", lane.pairs.len(), plural(lane.pairs.len() as u64), peak, self.window / SECOND);
        if let Some(v) = &lane.server_version {
            note.push_str(&format!(" · nats-server {v}"));
            if lane.known_leak == Some(true) {
                note.push_str(" (leaks max_bytes per reset)");
            }
        }
        match lane.severity {
            Some(s) if firing_at_end => note.push_str(&format!(" · {}, firing at end of input", s.as_str())),
            Some(s) => note.push_str(&format!(" · {}, resolved", s.as_str())),
            None => note.push_str(" · no alert"),
        }
        g = g.add(
            Text::new(format!("{} · {} > {}", lane.source, lane.account, lane.stream))
                .set("class", "lane-title")
                .set("x", LEFT)
                .set("y", at.top + 17.0),
        );
        g.add(Text::new(note).set("class", "lane-note").set("x", WIDTH - RIGHT).set("y", at.top + 17.0).set("text-anchor", "end"))
    }

    /// Alert spans, behind everything else: amber while `warning`, red
    /// once `critical`, labelled with how they ended.
    fn alert_spans(&self, mut g: Group, lane: &Lane, x: &Scale, at: &LaneBox) -> Group {
        let plot_top = at.plot_top;
        for span in &lane.spans {
            let end = span.end.unwrap_or(x.to);
            let crit = span.critical_from.map(|c| c.clamp(span.start, end));
            let warn_end = crit.unwrap_or(end);
            for (a, b, colour, label) in
                [(span.start, warn_end, WARNING, "warning"), (crit.unwrap_or(end), end, CRITICAL, "critical")]
            {
                if b > a {
                    g = g.add(
                        Rectangle::new()
                            .set("class", format!("alert-span {label}"))
                            .set("x", x.at(a))
                            .set("y", plot_top)
                            .set("width", r1(x.at(b) - x.at(a)).max(1.0))
                            .set("height", LANE_PLOT)
                            .set("fill", colour)
                            .set("fill-opacity", 0.16)
                            .add(Title::new(format!("{label} from {}", x.label_full(a, self.offset)))),
                    );
                }
            }
            let (text, at, anchor) = match span.end {
                None => ("firing at end of input \u{2192}", x.at(end) - 4.0, "end"),
                Some(_) => ("resolved", x.at(end) + 4.0, "start"),
            };
            g = g.add(
                Text::new(text)
                    .set("class", "span-label")
                    .set("x", at)
                    .set("y", plot_top + 12.0)
                    .set("text-anchor", anchor)
                    .set("style", format!("fill:{CRITICAL}")),
            );
        }
        g
    }

    /// Frame and the `warning_pairs` / `critical_pairs` thresholds.
    fn frame_and_thresholds(&self, mut g: Group, x: &Scale, at: &LaneBox) -> Group {
        g = g.add(
            Rectangle::new()
                .set("x", x.left)
                .set("y", at.plot_top)
                .set("width", x.right - x.left)
                .set("height", LANE_PLOT)
                .set("fill", "none")
                .set("stroke", "#d0d7de"),
        );
        for (n, colour, label) in [(self.warning_pairs, WARNING, "warning"), (self.critical_pairs, CRITICAL, "critical")] {
            let yy = r1(at.y(n as f64));
            g = g.add(
                Line::new()
                    .set("class", format!("threshold {label}"))
                    .set("x1", x.left)
                    .set("x2", x.right)
                    .set("y1", yy)
                    .set("y2", yy)
                    .set("stroke", colour)
                    .set("stroke-width", 1.2)
                    .set("stroke-dasharray", "6 4"),
            );
            g = g.add(
                Text::new(format!("{label} {n}"))
                    .set("class", "threshold-label")
                    .set("x", x.left - 4.0)
                    .set("y", yy + 3.0)
                    .set("text-anchor", "end")
                    .set("style", format!("fill:{colour}")),
            );
        }
        g.add(Text::new("0").set("class", "axis").set("x", x.left - 4.0).set("y", at.plot_bottom + 3.0).set("text-anchor", "end"))
    }

    /// Pairs in the window over time (a step line), and a dot per pair at
    /// the count the detector gave it.
    fn pairs_in_window(&self, mut g: Group, lane: &Lane, counts: &[(Micros, u64)], x: &Scale, at: &LaneBox) -> Group {
        let mut data = Data::new().move_to((x.left, r1(at.y(0.0))));
        for &(t, n) in counts {
            if t > x.to {
                break;
            }
            data = data.horizontal_line_to(x.at(t)).vertical_line_to(r1(at.y(n as f64)));
        }
        data = data.horizontal_line_to(x.right);
        g = g.add(
            Path::new().set("class", "in-window").set("d", data).set("fill", "none").set("stroke", LINE).set("stroke-width", 1.5),
        );
        for (t, n, cause) in &lane.pairs {
            g = g.add(
                Circle::new()
                    .set("class", "pair")
                    .set("cx", x.at(*t))
                    .set("cy", r1(at.y(*n as f64)))
                    .set("r", 3.2)
                    .set("fill", LINE)
                    .add(Title::new(format!("{}  pair {} in window: {}", x.label_full(*t, self.offset), n, cause))),
            );
        }
        g
    }

    /// Time axis: ticks at round local times.
    fn time_axis(&self, mut g: Group, x: &Scale, at: &LaneBox) -> Group {
        let plot_bottom = at.plot_bottom;
        for t in x.ticks(self.offset) {
            let xx = x.at(t);
            g = g.add(
                Line::new()
                    .set("x1", xx)
                    .set("x2", xx)
                    .set("y1", plot_bottom)
                    .set("y2", plot_bottom + 4.0)
                    .set("stroke", "#8c959f"),
            );
            g = g.add(
                Text::new(x.label(t, self.offset))
                    .set("class", "axis")
                    .set("x", xx)
                    .set("y", plot_bottom + 16.0)
                    .set("text-anchor", "middle"),
            );
        }
        g
    }
}

/// Where one lane is drawn: its top, its plot area, and the count at the
/// plot's top edge.
struct LaneBox {
    top: f64,
    plot_top: f64,
    plot_bottom: f64,
    ymax: f64,
}

impl LaneBox {
    /// A count to y.
    fn y(&self, n: f64) -> f64 {
        self.plot_bottom - n / self.ymax * LANE_PLOT
    }
}

/// What the marks mean, right-aligned at (`right`, `y`).
fn legend(right: f64, y: f64) -> Group {
    let mut g = Group::new().set("class", "legend");
    let items: [(&str, &str, &str); 4] = [
        ("dot", LINE, "reset pair"),
        ("line", LINE, "pairs in window"),
        ("box", WARNING, "warning"),
        ("box", CRITICAL, "critical"),
    ];
    let mut x = right;
    for (mark, colour, label) in items.iter().rev() {
        // About 6 px per character at 11 px.
        x -= 6.0 * label.len() as f64;
        g = g.add(Text::new(*label).set("class", "subtitle").set("x", r1(x)).set("y", y));
        x -= 16.0;
        g = match *mark {
            "dot" => g.add(Circle::new().set("cx", r1(x + 6.0)).set("cy", y - 4.0).set("r", 3.2).set("fill", *colour)),
            "line" => g.add(
                Line::new()
                    .set("x1", r1(x))
                    .set("x2", r1(x + 12.0))
                    .set("y1", y - 4.0)
                    .set("y2", y - 4.0)
                    .set("stroke", *colour)
                    .set("stroke-width", 1.5),
            ),
            _ => g.add(
                Rectangle::new()
                    .set("x", r1(x + 1.0))
                    .set("y", y - 10.0)
                    .set("width", 11)
                    .set("height", 11)
                    .set("fill", *colour)
                    .set("fill-opacity", 0.3),
            ),
        };
        x -= 12.0;
    }
    g
}

/// Pairs in the window `(t - window, t]` as a step function: (time, count
/// from then on), from the pair times.
fn window_counts(pairs: &[(Micros, u64, String)], window: Micros) -> Vec<(Micros, u64)> {
    let mut edges: Vec<(Micros, i64)> = Vec::with_capacity(pairs.len() * 2);
    for (t, _, _) in pairs {
        edges.push((*t, 1));
        edges.push((t.saturating_add(window), -1));
    }
    edges.sort();
    let mut out: Vec<(Micros, u64)> = Vec::new();
    let mut n: i64 = 0;
    for (t, d) in edges {
        n += d;
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 = n.max(0) as u64,
            _ => out.push((t, n.max(0) as u64)),
        }
    }
    out
}

/// One decimal is plenty for a picture.
fn r1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Time to x.
struct Scale {
    from: Micros,
    to: Micros,
    left: f64,
    right: f64,
}

impl Scale {
    fn at(&self, t: Micros) -> f64 {
        let f = (t.clamp(self.from, self.to) - self.from) as f64 / (self.to - self.from) as f64;
        r1(self.left + f * (self.right - self.left))
    }

    fn step(&self) -> Micros {
        const STEPS: [i64; 20] =
            [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172_800, 604_800];
        let span = self.to - self.from;
        STEPS.iter().map(|s| s * SECOND).find(|s| span / s <= 8).unwrap_or(604_800 * SECOND * (span / (604_800 * SECOND * 8) + 1))
    }

    /// Tick times, at round local times.
    fn ticks(&self, offset: Micros) -> Vec<Micros> {
        let step = self.step();
        let first = (self.from + offset).div_euclid(step) * step + step - offset;
        let first = if first - step >= self.from { first - step } else { first };
        (0..).map(|i| first + i * step).take_while(|&t| t <= self.to).collect()
    }

    fn label(&self, t: Micros, offset: Micros) -> String {
        let s = rfc3339(t, offset);
        let step = self.step();
        if self.to - self.from >= 86_400 * SECOND {
            format!("{} {}", &s[5..10], &s[11..16])
        } else if step >= 60 * SECOND {
            s[11..16].to_string()
        } else {
            s[11..19].to_string()
        }
    }

    fn label_full(&self, t: Micros, offset: Micros) -> String {
        let s = rfc3339(t, offset);
        format!("{} {}", &s[..10], &s[11..19])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_count_rises_with_pairs_and_falls_as_they_age_out() {
        let p = |t: i64| (t * SECOND, 0, String::new());
        let c = window_counts(&[p(0), p(5), p(5), p(400)], 300 * SECOND);
        let c: Vec<(i64, u64)> = c.into_iter().map(|(t, n)| (t / SECOND, n)).collect();
        assert_eq!(c, [(0, 1), (5, 3), (300, 2), (305, 0), (400, 1), (700, 0)]);
    }

    #[test]
    fn ticks_fall_on_round_times() {
        let s = Scale { from: 1_795_702_623 * SECOND, to: 1_795_702_724 * SECOND, left: 0.0, right: 100.0 };
        assert_eq!(s.step(), 15 * SECOND);
        let labels: Vec<String> = s.ticks(0).into_iter().map(|t| s.label(t, 0)).collect();
        assert_eq!(labels.first().map(String::as_str), Some("14:17:15"));
        assert!(labels.len() <= 8, "{labels:?}");
    }

    #[test]
    fn spans_follow_the_alerts() {
        let mut tl = Timeline::new(&resetwatch::Config::default());
        let mut a = Alert {
            status: Status::Firing,
            severity: Severity::Warning,
            rule: resetwatch::Rule::Window,
            source: "n1".into(),
            server_name: None,
            server_id: None,
            server_version: None,
            known_leak: None,
            account: "$G".into(),
            stream: "S".into(),
            pairs_in_window: 3,
            window: 300 * SECOND,
            pairs_total: 3,
            leaking_resets_total: 3,
            declined_resets_total: 0,
            last_cause: None,
            first_seen: 0,
            last_seen: 10,
            offset: 0,
            max_bytes: None,
            estimated_leaked_bytes: None,
        };
        tl.add_alert(&a, 10);
        a.severity = Severity::Critical;
        a.last_seen = 20;
        tl.add_alert(&a, 20);
        a.status = Status::Resolved;
        tl.add_alert(&a, 700);
        let lane = tl.lanes().next().unwrap();
        assert_eq!(lane.spans, [Span { start: 10, critical_from: Some(20), end: Some(700) }]);
    }
}
