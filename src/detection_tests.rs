//! The detection rules of `docs/detection.md` for the logs operators really
//! have (issue 14): time that goes back, lines without a time of their own,
//! the disk-full end state and slow leaks. One table: each row a sentence,
//! the lines it feeds (real formats: s05 n1.log, nats-server issue 2356,
//! `docs/design/nats-server.md`), and every alert it must raise, in order.

use crate::alert::{Alert, Notice};
use crate::config::Config;
use crate::filter::Filter;
use crate::text::clock::{self, Micros, SECOND};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/corpus");
const S05: &str = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";

/// s05 n1.log's loop lines, their time left out (`{t}`).
const APPLY: &str = "[WRN] Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'";
const RESET: &str = "[WRN] Resetting stream cluster state for '$G > ORDERS'";
/// docs/design/nats-server.md: the decline forms.
const DECLINED_2_10: &str = "[WRN] Will not reset stream, server resources exceeded";
const DECLINED_2_11: &str = "[WRN] Will not reset stream '$G > ORDERS', server resources exceeded";

/// One line to feed: source, host time (`None`: the line's own time, as
/// tail's parser would stamp it, never before the previous host time),
/// and the text.
type Fed = (&'static str, Option<Micros>, String);

/// 2026-10-25 02:40:00 local (the EU fall-back night; `line_utc_offset` 0,
/// so printed and UTC times agree until the clock falls back).
fn base() -> Micros {
    clock::parse_rfc3339(b"2026-10-25T02:40:00Z").map_or(0, |(t, _)| t)
}

/// nats-server's own prefix at `secs` after [`base`] (pid 8368 as in s05).
fn at(secs: f64, rest: &str) -> String {
    let t = base() + (secs * SECOND as f64) as Micros;
    format!("[8368] {} {rest}", crate::fuzzing::nats_stamp(t))
}

/// A loop turn (cause, and its reset 0.7 ms later, as in s05) at `secs`.
fn turn(secs: f64) -> Vec<String> {
    vec![at(secs, APPLY), at(secs + 0.0007, RESET)]
}

fn on(src: &'static str, lines: impl IntoIterator<Item = String>) -> Vec<Fed> {
    lines.into_iter().map(|l| (src, None, l)).collect()
}

fn turns(from: f64, every: f64, n: usize) -> Vec<String> {
    (0..n).flat_map(|i| turn(from + i as f64 * every)).collect()
}

fn corpus(node: &str) -> Vec<String> {
    std::fs::read_to_string(format!("{CORPUS}/{S05}/{node}.log")).map_or(Vec::new(), |t| t.lines().map(str::to_string).collect())
}

/// s05 n1.log with its loop going on for 25 more turns after the file's
/// last line: 80 event lines, more than the 64 a source remembers.
fn long_n1() -> Vec<String> {
    let end = clock::parse_rfc3339(b"2026-11-26T14:19:00Z").map_or(0, |(t, _)| t) - base();
    let mut lines = corpus("n1");
    lines.extend(turns(end as f64 / SECOND as f64, 5.0, 25));
    lines
}

/// Feeds every line and returns the loop alerts, with the filter.
fn run(cfg: Config, fed: &[Fed]) -> (Vec<Alert>, Filter) {
    let mut f = Filter::new(cfg);
    let mut alerts = Vec::new();
    let mut host = Micros::MIN;
    for (src, given, text) in fed {
        let own = crate::input::line::split(text.as_bytes()).time(0, host.max(0));
        host = given.or(own).unwrap_or(host).max(host);
        f.ingest_line(src, host, text.as_bytes());
        alerts.extend(std::iter::from_fn(|| f.next_alert()).filter_map(Notice::into_loop));
    }
    (alerts, f)
}

/// An alert in one line: `status severity rule pairs=N declined=N`.
fn brief(a: &Alert) -> String {
    format!(
        "{} {} {} pairs={} declined={}",
        a.status.as_str(),
        a.severity.as_str(),
        a.rule.as_str(),
        a.pairs_total,
        a.declined_resets_total
    )
}

struct Case {
    name: &'static str,
    cfg: Config,
    fed: Vec<Fed>,
    want: Vec<&'static str>,
}

fn case(name: &'static str, fed: Vec<Fed>, want: &[&'static str]) -> Case {
    Case { name, cfg: Config::default(), fed, want: want.to_vec() }
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    let mut fed = Vec::new();

    // ---------------------------------------------- 1. time goes back
    // 70 event lines up to 02:59:50, then the clock falls back an hour and
    // a loop starts at 02:10 (printed) in the repeated hour.
    fed.extend(on(
        "n1",
        (0..70).map(|i| at(i as f64 * 17.0, "[WRN] Error applying entries to '$G > EVENTS': insufficient resources")),
    ));
    fed.extend(on("n1", turns(-1800.0, 5.0, 3)));
    v.push(case(
        "A loop that starts in the hour a daylight-saving fall-back repeats is seen, though its lines are older than all 64 remembered",
        std::mem::take(&mut fed),
        &["firing warning window pairs=3 declined=0"],
    ));

    // 5 turns before the fall-back and 5 after: one window holds all 10.
    fed.extend(on("n1", turns(1175.0, 5.0, 5)));
    fed.extend(on("n1", turns(1175.0 + 25.0 - 3600.0, 5.0, 5)));
    v.push(case(
        "A loop in progress across a fall-back keeps its window count, by arrival order and the time differences on each side",
        std::mem::take(&mut fed),
        &["firing warning window pairs=3 declined=0", "firing critical window pairs=10 declined=0"],
    ));

    // An NTP step back of 30 s between a cause and its reset.
    fed.push(("n1", None, at(0.0, APPLY)));
    fed.push(("n1", None, at(-30.0 + 0.0007, RESET)));
    fed.extend(on("n1", turns(-25.0, 5.0, 2)));
    v.push(case(
        "An NTP step back between a cause and its reset still pairs them: the gap is measured on the arrival timeline",
        std::mem::take(&mut fed),
        &["firing warning window pairs=3 declined=0"],
    ));

    // A step forward of 20 minutes looks like 20 minutes passing.
    fed.extend(on("n1", turns(0.0, 5.0, 3)));
    fed.extend(on("n1", turns(1210.0, 5.0, 1)));
    v.push(case(
        "An NTP step forward longer than quiet_seconds is time passing: the alert resolves, and the next pair starts afresh",
        std::mem::take(&mut fed),
        &["firing warning window pairs=3 declined=0", "resolved warning window pairs=3 declined=0"],
    ));

    // The same two turns twice.
    fed.extend(on("n1", turns(0.0, 5.0, 2)));
    fed.extend(on("n1", turns(0.0, 5.0, 2)));
    v.push(case("The same line twice (same source, time and text) counts once", std::mem::take(&mut fed), &[]));

    // s05 n1.log and 25 more turns, then the whole file again from its
    // head: 80 event lines, more than the 64 remembered.
    fed.extend(on("n1", long_n1()));
    fed.extend(on("n1", long_n1()));
    v.push(case(
        "A file read again from its head is recognised as a re-read beyond the 64 lines remembered: no second episode, no extra pairs",
        std::mem::take(&mut fed),
        &[
            "firing warning window pairs=3 declined=0",
            "firing critical window pairs=10 declined=0",
            "firing critical window pairs=14 declined=0",
            "firing critical window pairs=26 declined=0",
            "firing critical window pairs=38 declined=0",
        ],
    ));

    // After the re-read, new lines 20 minutes on are news again.
    fed.extend(on("n1", corpus("n1")));
    fed.extend(on("n1", corpus("n1")));
    let after = clock::parse_rfc3339(b"2026-11-26T14:40:00Z").map_or(0, |(t, _)| t) - base();
    fed.extend(on("n1", turns(after as f64 / SECOND as f64, 5.0, 3)));
    v.push(case(
        "Lines newer than a re-read's count again: the old episode resolves by the source's clock and a new one fires",
        std::mem::take(&mut fed),
        &[
            "firing warning window pairs=3 declined=0",
            "firing critical window pairs=10 declined=0",
            "resolved critical window pairs=13 declined=0",
            "firing warning window pairs=3 declined=0",
        ],
    ));

    // ------------------------------- 2. lines without a time of their own
    // `logtime: false` (docs/design/nats-server.md `[37] [WRN] ...`), all at one host time.
    let host = Some(base());
    for _ in 0..3 {
        fed.push(("n1", host, "[37] [WRN] Error applying entries to '$G > ORDERS': last sequence mismatch".to_string()));
        fed.push(("n1", host, "[37] [WRN] Resetting stream cluster state for '$G > ORDERS'".to_string()));
    }
    v.push(case(
        "Identical logtime:false lines at one host time all count: no repeat is dropped on time alone",
        std::mem::take(&mut fed),
        &["firing warning window pairs=3 declined=0"],
    ));

    // nats-server issue 2356: older servers print whole seconds.
    for _ in 0..3 {
        fed.push((
            "n1",
            None,
            "[715] 2022/01/21 13:27:25 [WRN] Error applying entries to 'USERS > alpine-async': last sequence mismatch"
                .to_string(),
        ));
        fed.push((
            "n1",
            None,
            "[715] 2022/01/21 13:27:25 [WRN] Resetting stream cluster state for 'USERS > alpine-async'".to_string(),
        ));
    }
    v.push(case(
        "Lines stamped to the whole second (nats-server issue 2356) are not collapsed: the stamp cannot tell them apart",
        std::mem::take(&mut fed),
        &["firing warning window pairs=3 declined=0"],
    ));

    // Local syslog (docs/design/nats-server.md): RFC 3164 stamps, whole seconds.
    for _ in 0..3 {
        fed.push((
            "n1",
            None,
            "<28>Feb  4 09:00:01 nats-server[715]: Error applying entries to '$G > ORDERS': stream store EOF".to_string(),
        ));
        fed.push((
            "n1",
            None,
            "<28>Feb  4 09:00:01 nats-server[715]: Resetting stream cluster state for '$G > ORDERS'".to_string(),
        ));
    }
    v.push(case(
        "Syslog lines sharing one RFC 3164 second all count",
        std::mem::take(&mut fed),
        &["firing warning window pairs=3 declined=0"],
    ));

    // A CRI line (docs/design/nats-server.md) carries its own nanosecond time: a
    // second copy of it is a repeat.
    let cri = |i: u32, msg: &str| format!("2025-06-11T09:45:4{i}.671167074+01:00 stderr F [223] [WRN] {msg}");
    for _ in 0..2 {
        for i in 0..3 {
            fed.push(("n1", None, cri(i, "Error applying entries to '$G > ORDERS': last sequence mismatch")));
            fed.push((
                "n1",
                None,
                cri(i, "Resetting stream cluster state for '$G > ORDERS'").replace(".671167074", ".672167074"),
            ));
        }
    }
    v.push(case(
        "A CRI line's own nanosecond time tells lines apart, so the same CRI lines read twice count once",
        std::mem::take(&mut fed),
        &["firing warning window pairs=3 declined=0"],
    ));

    // --------------------------------------- 3. the disk-full end state
    // Warning at pair 3, then a nameless decline after each apply error,
    // every 20 s for 15 minutes, then a line 601 s after the last.
    fed.extend(on("n1", turns(0.0, 5.0, 3)));
    for i in 0..45 {
        let s = 30.0 + i as f64 * 20.0;
        fed.push(("n1", None, at(s, APPLY)));
        fed.push(("n1", None, at(s + 0.0001, DECLINED_2_10)));
    }
    fed.push(("n1", None, at(910.0 + 601.0, "[WRN] Resetting stream cluster state for '$G > OTHER'")));
    let mut want = vec!["firing warning window pairs=3 declined=0"];
    // critical at the first decline, then re-sent every 60 s (870 s is the last)
    let resent: [&str; 15] = [
        "firing critical window pairs=3 declined=1",
        "firing critical window pairs=3 declined=4",
        "firing critical window pairs=3 declined=7",
        "firing critical window pairs=3 declined=10",
        "firing critical window pairs=3 declined=13",
        "firing critical window pairs=3 declined=16",
        "firing critical window pairs=3 declined=19",
        "firing critical window pairs=3 declined=22",
        "firing critical window pairs=3 declined=25",
        "firing critical window pairs=3 declined=28",
        "firing critical window pairs=3 declined=31",
        "firing critical window pairs=3 declined=34",
        "firing critical window pairs=3 declined=37",
        "firing critical window pairs=3 declined=40",
        "firing critical window pairs=3 declined=43",
    ];
    want.extend(resent);
    want.push("resolved critical window pairs=3 declined=45");
    v.push(Case {
        name: "Nameless 2.10 declines keep the alert open and critical, re-sent every repeat_seconds, until quiet_seconds pass without one",
        cfg: Config::default(),
        fed: std::mem::take(&mut fed),
        want,
    });

    for (name, line) in [
        ("The 2.11.6+ decline names its stream and is the disk-full state", DECLINED_2_11),
        (
            "`stream '...' errored, account resources exceeded` (2.9-2.11.5) is the disk-full state",
            "[WRN] stream '$G > ORDERS' errored, account resources exceeded",
        ),
        (
            "`Stream '...' errored, account resources exceeded` (2.11.6+) is the disk-full state",
            "[WRN] Stream '$G > ORDERS' errored, account resources exceeded",
        ),
    ] {
        fed.extend(on("n1", turns(0.0, 5.0, 3)));
        fed.push(("n1", None, at(20.0, APPLY)));
        fed.push(("n1", None, at(20.0001, line)));
        v.push(case(
            name,
            std::mem::take(&mut fed),
            &["firing warning window pairs=3 declined=0", "firing critical window pairs=3 declined=1"],
        ));
    }

    for (name, line) in [
        (
            "`..., stream is closed` is a stream going away, not the disk-full state",
            "[WRN] Will not reset stream '$G > ORDERS', stream is closed",
        ),
        (
            "`..., JetStream shutting down` is a server going away, not the disk-full state",
            "[DBG] Will not reset stream '$G > ORDERS', JetStream shutting down",
        ),
    ] {
        fed.extend(on("n1", turns(0.0, 5.0, 3)));
        fed.push(("n1", None, at(20.0, APPLY)));
        fed.push(("n1", None, at(20.0001, line)));
        fed.push(("n1", None, at(611.0, "[WRN] Resetting stream cluster state for '$G > OTHER'")));
        v.push(case(
            name,
            std::mem::take(&mut fed),
            &["firing warning window pairs=3 declined=0", "resolved warning window pairs=3 declined=0"],
        ));
    }

    // Apply errors every 30 s that no reset answers (the decline at DBG
    // level, not logged), for 10 minutes.
    fed.extend(on("n1", turns(0.0, 5.0, 3)));
    for i in 0..21 {
        fed.push(("n1", None, at(40.0 + i as f64 * 30.0, APPLY)));
    }
    fed.push(("n1", None, at(640.0 + 601.0, "[WRN] Resetting stream cluster state for '$G > OTHER'")));
    v.push(case(
        "Apply errors with a reset cause that no reset answers keep the alert open and critical until quiet_seconds after the last",
        std::mem::take(&mut fed),
        &[
            "firing warning window pairs=3 declined=0",
            "firing critical window pairs=3 declined=1",
            "firing critical window pairs=3 declined=3",
            "firing critical window pairs=3 declined=5",
            "firing critical window pairs=3 declined=7",
            "firing critical window pairs=3 declined=9",
            "firing critical window pairs=3 declined=11",
            "firing critical window pairs=3 declined=13",
            "firing critical window pairs=3 declined=15",
            "firing critical window pairs=3 declined=17",
            "firing critical window pairs=3 declined=19",
            // the last apply error's silence is judged by the host clock
            "resolved critical window pairs=3 declined=20",
        ],
    ));

    fed.extend(on("n1", (0..5).flat_map(|i| [at(i as f64 * 30.0, APPLY), at(i as f64 * 30.0 + 0.0001, DECLINED_2_10)])));
    v.push(case(
        "Declines alone, with no reset pair, raise nothing: they keep an episode, they do not start one",
        std::mem::take(&mut fed),
        &[],
    ));

    // ------------------------------------------------- 4. slow leaks
    let banner = |version: &str| at(-5.0, &format!("[INF]   Version:  {version}"));
    fed.push(("n1", None, banner("2.10.25")));
    fed.extend(on("n1", turns(0.0, 240.0, 4)));
    v.push(case(
        "Three leaking resets 4 minutes apart on 2.10.25 raise the leak rule, though no window ever holds 3",
        std::mem::take(&mut fed),
        &["firing warning leak pairs=3 declined=0", "firing warning leak pairs=4 declined=0"],
    ));

    fed.extend(on("n1", turns(0.0, 240.0, 3)));
    v.push(case(
        "With the version unknown (no banner, none configured) the leak rule applies",
        std::mem::take(&mut fed),
        &["firing warning leak pairs=3 declined=0"],
    ));

    fed.push(("n1", None, banner("2.10.26")));
    fed.extend(on("n1", turns(0.0, 240.0, 6)));
    v.push(case("On a fixed release (2.10.26) the leak rule does not apply", std::mem::take(&mut fed), &[]));

    fed.extend(on("n1", turns(0.0, 660.0, 5)));
    v.push(case("Pairs more than quiet_seconds apart each start a new episode: no leak alert", std::mem::take(&mut fed), &[]));

    for i in 0..4 {
        fed.push(("n1", None, at(i as f64 * 240.0, "[WRN] Error applying entries to '$G > ORDERS': first sequence mismatch")));
        fed.push(("n1", None, at(i as f64 * 240.0 + 0.0007, RESET)));
    }
    v.push(case(
        "Resets for `first sequence mismatch` delete the stream first and leak nothing: no leak alert",
        std::mem::take(&mut fed),
        &[],
    ));

    fed.extend(on("n1", turns(0.0, 240.0, 5)));
    v.push(Case {
        name: "leak_pairs sets how many leaking resets the leak rule waits for",
        cfg: Config { leak_pairs: 5, ..Config::default() },
        fed: std::mem::take(&mut fed),
        want: vec!["firing warning leak pairs=5 declined=0"],
    });

    fed.extend(on("n1", turns(0.0, 240.0, 3)));
    fed.extend(on("n1", turns(720.0, 5.0, 10)));
    v.push(case(
        "A leak alert keeps its rule when the window later makes it critical",
        std::mem::take(&mut fed),
        &[
            "firing warning leak pairs=3 declined=0",
            "firing warning leak pairs=4 declined=0",
            "firing critical leak pairs=12 declined=0",
        ],
    ));
    v
}

#[test]
fn every_case_raises_exactly_its_alerts() {
    let all = cases();
    assert!(all.len() >= 15, "{} cases", all.len());
    let mut failed = Vec::new();
    for c in &all {
        let (alerts, _) = run(c.cfg.clone(), &c.fed);
        let got: Vec<String> = alerts.iter().map(brief).collect();
        if got != c.want {
            failed.push(format!("{}\n  want {:?}\n  got  {:?}", c.name, c.want, got));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn a_step_back_keeps_last_seen_at_or_after_first_seen() {
    // 5 turns, the fall-back, 5 more: first_seen is the first cause as
    // printed; last_seen runs on by the arrival timeline.
    let mut fed = on("n1", turns(1175.0, 5.0, 5));
    fed.extend(on("n1", turns(1175.0 + 25.0 - 3600.0, 5.0, 5)));
    let (alerts, _) = run(Config::default(), &fed);
    let last = alerts.last().expect("critical at pair 10");
    assert_eq!(clock::rfc3339(last.first_seen, 0), "2026-10-25T02:59:35.000000Z");
    // 8 turns of 5 s after the first (the step itself takes no time), and
    // two resets of 0.7 ms: the one before the step and the last.
    assert_eq!(clock::rfc3339(last.last_seen, 0), "2026-10-25T03:00:15.001400Z");
    assert!(last.last_seen >= last.first_seen);
}

#[test]
fn a_re_read_is_counted_as_duplicates_not_pairs() {
    let mut fed = on("n1", long_n1());
    let (_, once) = run(Config::default(), &fed);
    fed.extend(on("n1", long_n1()));
    let (_, twice) = run(Config::default(), &fed);
    let (a, b) = (&once.tracker().stats, &twice.tracker().stats);
    assert_eq!((b.pairs, b.events - a.events), (a.pairs, b.duplicates));
    assert!(a.events > 64, "the file has more event lines than the 64 remembered ({})", a.events);
}

#[test]
fn the_leak_alert_says_when_the_version_is_unknown() {
    let (alerts, _) = run(Config::default(), &on("n1", turns(0.0, 240.0, 3)));
    let a = &alerts[0];
    assert_eq!(a.known_leak, None);
    assert!(a.summary().contains("version is unknown"), "{}", a.summary());
    let v: serde_json::Value = serde_json::from_str(&a.to_json()).expect("alert JSON");
    assert_eq!(v["rule"], "leak");
}

#[test]
fn the_corpus_loop_names_the_window_rule_and_the_quiet_runs_raise_nothing() {
    let mut fed = on("n1", corpus("n1"));
    fed.extend(on("n2", corpus("n2")));
    let (alerts, _) = run(Config::default(), &fed);
    assert!(alerts.len() >= 4 && alerts.iter().all(|a| a.rule == crate::alert::Rule::Window));
    for scenario in [
        "s01_healthy_rolling_restart_v2.10.25",
        "s03_kill9_heavy_publish_v2.10.25",
        "s02_follower_mismatch_single_reset_v2.10.25",
        "s02_follower_mismatch_single_reset_v2.10.26_control",
    ] {
        for node in ["n1", "n2", "n3"] {
            let text = std::fs::read_to_string(format!("{CORPUS}/{scenario}/{node}.log")).expect("corpus log");
            let (alerts, _) = run(Config::default(), &on("n", text.lines().map(str::to_string)));
            assert!(alerts.is_empty(), "{scenario}/{node}: {:?}", alerts.iter().map(brief).collect::<Vec<_>>());
        }
    }
}
