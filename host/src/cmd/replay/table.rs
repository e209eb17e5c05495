//! The per-stream table `resetwatch replay` prints on stderr at the end:
//! one row per (source, account, stream) with reset pairs, from the core's
//! [`Summary`].

use std::io::Write;

use resetwatch::clock::Micros;
use resetwatch::Summary;
use resetwatch_host::text::seconds_with_zone;

/// The per-stream table on stderr.
pub fn print_summary(summary: &Summary, offset: Micros, totals: &str) {
    let rows = summary.rows();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "replayed {totals}");
    if rows.is_empty() {
        let _ = writeln!(err, "no reset pairs");
        return;
    }
    let time = |t: Micros| seconds_with_zone(t, offset);
    let header = ["SOURCE", "STREAM", "PAIRS", "FIRST SEEN", "LAST SEEN", "PEAK/WINDOW", "SEVERITY", "CAUSE"];
    let table: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.source.clone(),
                format!("{} > {}", r.account, r.stream),
                r.pairs.to_string(),
                time(r.first_seen),
                time(r.last_seen),
                r.peak_in_window.to_string(),
                match r.severity {
                    Some(s) if r.firing => format!("{} (firing)", s.as_str()),
                    Some(s) => format!("{} (resolved)", s.as_str()),
                    None => "-".to_string(),
                },
                r.last_cause.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let numeric = [false, false, true, false, false, true, false, false];
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else if numeric[i] {
                s.push_str(&format!("{}{}  ", " ".repeat(pad), cell));
            } else {
                s.push_str(&format!("{}{}  ", cell, " ".repeat(pad)));
            }
        }
        s
    };
    let _ = writeln!(err, "{}", line(&header.map(String::from)));
    for row in &table {
        let _ = writeln!(err, "{}", line(row));
    }
}
