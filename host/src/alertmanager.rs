//! Delivery of alerts to Prometheus Alertmanager (`POST <url>/api/v2/alerts`)
//! for the native commands (`resetwatch replay`, `resetwatch serve`).
//!
//! [`Notifier::send`] never blocks the log path: it reshapes the alert (the
//! core's [`resetwatch::alertmanager`], the same code as the Fluent Bit
//! build's second instance) and puts it on every peer's queue. Alertmanager
//! in HA wants every alert posted to every peer (the peers gossip silences
//! and the notification log, not alerts), so each peer has a bounded queue
//! and a thread of its own: a dead or slow peer holds up no other. When a
//! queue is full its oldest alert is dropped and counted. Each thread posts
//! its queue in batches (a JSON array, as Alertmanager takes it) and
//! retries a batch that failed to arrive with exponential backoff.
//! [`Notifier::finish`] flushes what is left until a deadline, reports on
//! stderr what could not be delivered, and returns the counts per peer.
//!
//! A loop that rises from `warning` to `critical` becomes a new alert in
//! Alertmanager (severity is a label), so when the critical one is sent the
//! warning one is sent once more as resolved: the episode is one active
//! alert, whatever its severity, and resolving it leaves nothing behind.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use resetwatch::Config;
use serde_json::Value;

/// Alerts waiting to be posted; past this the oldest are dropped.
pub const QUEUE: usize = 10_000;
/// Most alerts in one POST.
pub const BATCH: usize = 100;
/// Tries per alert before it is given up on.
pub const ATTEMPTS: u32 = 6;
/// The first wait after a failed try; each further wait doubles (0.5 s, 1 s,
/// 2 s, 4 s, 8 s: about 15 s in all).
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// One POST, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What happened to the alerts handed to a [`Notifier`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Alertmanager objects accepted (HTTP 200).
    pub delivered: u64,
    /// Dropped from the full queue before they were tried.
    pub dropped: u64,
    /// Given up on after [`ATTEMPTS`] tries, or left when the deadline of
    /// [`Notifier::finish`] passed.
    pub failed: u64,
    /// Refused by Alertmanager (HTTP 4xx: retrying cannot help).
    pub rejected: u64,
    /// Alerts resetwatch could not reshape (not an alert object).
    pub unreadable: u64,
    /// Not posted because, while the peer was failing, a later state of the
    /// same alert (same labels) was queued: a peer that comes back gets the
    /// present, not the history, which it would notify again.
    pub superseded: u64,
    /// The last error, for the report.
    pub last_error: Option<String>,
}

impl Delivery {
    /// Alerts that did not reach Alertmanager.
    pub fn undelivered(&self) -> u64 {
        self.dropped + self.failed + self.rejected + self.unreadable
    }
}

/// One alert waiting for one peer.
#[derive(Clone, Debug)]
struct Queued {
    /// Its labels (Alertmanager's identity of an alert), as JSON.
    key: String,
    /// Its Alertmanager form.
    body: String,
    /// Failed tries so far.
    tries: u32,
}

struct State {
    queue: VecDeque<Queued>,
    delivery: Delivery,
    /// Set by `finish`: post what is left, stop retrying at this instant.
    deadline: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not stop delivery: the counters stay usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One Alertmanager peer: its queue, its counters, its delivery thread.
struct Peer {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    url: String,
}

impl Peer {
    fn start(url: String) -> Result<Peer> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State { queue: VecDeque::new(), delivery: Delivery::default(), deadline: None }),
            wake: Condvar::new(),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            let url = url.clone();
            std::thread::Builder::new().name("alertmanager".into()).spawn(move || deliver(&shared, &url))?
        };
        Ok(Peer { shared, worker: Some(worker), url })
    }

    fn enqueue(&self, alerts: &[Queued]) {
        let mut st = self.shared.lock();
        for a in alerts {
            if st.queue.len() >= QUEUE {
                st.queue.pop_front();
                st.delivery.dropped += 1;
            }
            st.queue.push_back(a.clone());
        }
        drop(st);
        self.shared.wake.notify_one();
    }

    /// Tells the thread to stop trying at `at` (it stops sooner when its
    /// queue is empty).
    fn stop_at(&self, at: Instant) {
        self.shared.lock().deadline = Some(at);
        self.shared.wake.notify_all();
    }

    fn join(&mut self) {
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Peer {
    /// Without `finish`, the thread is told to stop at once (nothing waits
    /// for the network on the way out).
    fn drop(&mut self) {
        if self.worker.is_some() {
            self.stop_at(Instant::now());
            self.join();
        }
    }
}

/// What one peer got, as [`Notifier::finish`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerDelivery {
    /// The peer's `.../api/v2/alerts`.
    pub url: String,
    pub delivery: Delivery,
}

/// Posts alerts to one Alertmanager, or to every peer of an HA cluster,
/// each from a thread of its own.
pub struct Notifier {
    peers: Vec<Peer>,
    cfg: Config,
    /// Per alert, without its severity: the warning form last sent, so that
    /// a rise to critical can resolve it.
    warnings: Mutex<HashMap<String, Value>>,
}

/// `<base>/api/v2/alerts`: the base may be given with or without a trailing
/// slash, or already end in the API path.
pub fn alerts_url(base: &str) -> Result<String> {
    let base = base.trim_end_matches('/');
    if base.starts_with("https://") {
        bail!("{base}: https is not built in; reach Alertmanager over http (e.g. a sidecar or in-cluster service)");
    }
    if !base.starts_with("http://") || base.len() <= "http://".len() {
        bail!("{base}: the Alertmanager URL must start with http:// (e.g. http://127.0.0.1:9093)");
    }
    Ok(if base.ends_with("/api/v2/alerts") { base.to_string() } else { format!("{base}/api/v2/alerts") })
}

/// Every `--alertmanager` URL checked ([`alerts_url`]) and made an
/// `.../api/v2/alerts`, each peer once: what [`Notifier::start`] starts,
/// and what a command checks before it starts anything.
pub fn peer_urls(base_urls: &[String]) -> Result<Vec<String>> {
    if base_urls.is_empty() {
        bail!("no Alertmanager URL given");
    }
    let mut urls: Vec<String> = Vec::new();
    for base in base_urls {
        let url = alerts_url(base)?;
        if urls.contains(&url) {
            bail!("{url}: --alertmanager given twice for the same peer");
        }
        urls.push(url);
    }
    Ok(urls)
}

/// The closing report's part about Alertmanager: `alertmanager: 8 of 8
/// alerts delivered to URL`, and for each further peer `, 8 of 8 to URL`.
pub fn report(peers: &[PeerDelivery]) -> String {
    let mut s = String::from("alertmanager: ");
    for (i, p) in peers.iter().enumerate() {
        let d = &p.delivery;
        let total = d.delivered + d.undelivered() + d.superseded;
        if i == 0 {
            s.push_str(&format!("{} of {total} alerts delivered to {}", d.delivered, p.url));
        } else {
            s.push_str(&format!(", {} of {total} to {}", d.delivered, p.url));
        }
        if d.superseded > 0 {
            s.push_str(&format!(" ({} replaced by a later state while it failed)", d.superseded));
        }
    }
    s
}

impl Notifier {
    /// Starts one delivery thread per Alertmanager peer in `base_urls`
    /// (`http://host:9093`; every peer of an HA cluster, never a load
    /// balancer in front of them). `cfg` is the detector's configuration:
    /// the alerts' `endsAt` follow its quiet and repeat periods.
    pub fn start(base_urls: &[String], cfg: &Config) -> Result<Notifier> {
        let urls = peer_urls(base_urls)?;
        let peers = urls.into_iter().map(Peer::start).collect::<Result<Vec<_>>>()?;
        Ok(Notifier { peers, cfg: cfg.clone(), warnings: Mutex::new(HashMap::new()) })
    }

    /// Where alerts go, one URL per peer.
    pub fn urls(&self) -> Vec<&str> {
        self.peers.iter().map(|p| p.url.as_str()).collect()
    }

    /// Queues one alert (its JSON object, as in docs/alerts.md: the
    /// component's `json`, or `Alert::to_json`) for every peer. Never waits
    /// for the network.
    pub fn send(&self, alert_json: &str) {
        let am = match resetwatch::from_alert_json(alert_json.as_bytes(), &self.cfg) {
            Ok(am) => am,
            Err(e) => {
                // Every peer misses it: each one's report counts it.
                for p in &self.peers {
                    let mut st = p.shared.lock();
                    st.delivery.unreadable += 1;
                    st.delivery.last_error = Some(format!("cannot reshape an alert: {e}"));
                }
                return;
            }
        };
        let superseded = self.supersede(alert_json, &am);
        let alerts: Vec<Queued> = superseded
            .into_iter()
            .chain([am])
            .map(|body| {
                let key = serde_json::from_str::<Value>(&body).map_or_else(|_| body.clone(), |v| v["labels"].to_string());
                Queued { key, body, tries: 0 }
            })
            .collect();
        for p in &self.peers {
            p.enqueue(&alerts);
        }
    }

    /// The warning alert a critical one replaces, once more as resolved,
    /// ending when the loop rose: the critical alert's `last_seen`.
    fn supersede(&self, alert_json: &str, am: &str) -> Option<String> {
        let mut v: Value = serde_json::from_str(am).ok()?;
        let labels = v.get_mut("labels")?.as_object_mut()?;
        let severity = labels.remove("severity")?;
        let key = Value::Object(labels.clone()).to_string();
        let mut warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if severity == "warning" {
            warnings.insert(key, serde_json::from_str(am).ok()?);
            return None;
        }
        let mut warning = warnings.remove(&key)?;
        let alert: Value = serde_json::from_str(alert_json).ok()?;
        let rose = alert.get("last_seen")?.as_str()?;
        let rose = resetwatch::clock::parse_rfc3339(rose.as_bytes())?.0;
        let starts = resetwatch::clock::parse_rfc3339(warning.get("startsAt")?.as_str()?.as_bytes())?.0;
        warning["endsAt"] = Value::from(resetwatch::clock::rfc3339(rose.max(starts), 0));
        Some(warning.to_string())
    }

    /// Alerts queued and not yet posted, all peers together.
    pub fn pending(&self) -> usize {
        self.peers.iter().map(|p| p.shared.lock().queue.len()).sum()
    }

    /// Posts what is left, for at most `deadline` (all peers at once, so a
    /// dead one costs the deadline once), stops the threads and reports on
    /// stderr what could not be delivered (nothing when all was).
    pub fn finish(mut self, deadline: Duration) -> Vec<PeerDelivery> {
        let at = Instant::now() + deadline;
        for p in &self.peers {
            p.stop_at(at);
        }
        let mut out = Vec::new();
        for p in &mut self.peers {
            p.join();
            let d = p.shared.lock().delivery.clone();
            if d.undelivered() > 0 {
                eprintln!(
                    "alertmanager: {} of {} alerts not delivered to {} ({} dropped from a full queue, {} failed after retries or at the deadline, {} refused, {} unreadable){}",
                    d.undelivered(),
                    d.undelivered() + d.delivered,
                    p.url,
                    d.dropped,
                    d.failed,
                    d.rejected,
                    d.unreadable,
                    d.last_error.as_deref().map(|e| format!("; last error: {e}")).unwrap_or_default()
                );
            }
            out.push(PeerDelivery { url: p.url.clone(), delivery: d });
        }
        out
    }
}

enum Posted {
    Ok,
    /// Worth another try (no connection, 5xx, 429).
    Retry(String),
    /// Alertmanager refused the batch (4xx): another try would be refused too.
    Refused(String),
}

fn post(agent: &ureq::Agent, url: &str, body: &str) -> Posted {
    match agent.post(url).header("Content-Type", "application/json").send(body) {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            if status == 200 {
                return Posted::Ok;
            }
            let text = resp.body_mut().read_to_string().unwrap_or_default();
            let why = format!("HTTP {status}: {}", text.trim());
            if status == 429 || status >= 500 {
                Posted::Retry(why)
            } else {
                Posted::Refused(why)
            }
        }
        Err(e) => Posted::Retry(e.to_string()),
    }
}

/// The delivery thread: batches off the queue until `finish` and an empty
/// queue (or its deadline). A batch that fails goes back to the head of the
/// queue, which then keeps only the latest state of each alert; after each
/// failure the thread waits twice as long as after the last (0.5 s up to
/// 8 s), and an alert is given up on after [`ATTEMPTS`] failed tries.
fn deliver(shared: &Shared, url: &str) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(REQUEST_TIMEOUT)).http_status_as_error(false).build().into();
    let mut failures = 0u32;
    loop {
        let batch: Vec<Queued> = {
            let mut st = shared.lock();
            if failures > 0 {
                // Back off; `finish` or drop ends the wait early.
                let until = Instant::now() + FIRST_BACKOFF * 2u32.pow((failures - 1).min(4));
                loop {
                    let now = Instant::now();
                    if now >= until || st.deadline.is_some_and(|d| now >= d) {
                        break;
                    }
                    st = shared.wake.wait_timeout(st, until - now).unwrap_or_else(|e| e.into_inner()).0;
                }
            }
            while st.queue.is_empty() && st.deadline.is_none() {
                st = shared.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            if st.queue.is_empty() {
                return;
            }
            if st.deadline.is_some_and(|d| Instant::now() >= d) {
                let left = st.queue.len() as u64;
                st.queue.clear();
                st.delivery.failed += left;
                st.delivery.last_error.get_or_insert_with(|| "the deadline passed".into());
                return;
            }
            let n = st.queue.len().min(BATCH);
            st.queue.drain(..n).collect()
        };
        let body = format!("[{}]", batch.iter().map(|q| q.body.as_str()).collect::<Vec<_>>().join(","));
        match post(&agent, url, &body) {
            Posted::Ok => {
                failures = 0;
                shared.lock().delivery.delivered += batch.len() as u64;
            }
            Posted::Refused(why) => {
                failures = 0;
                let mut st = shared.lock();
                st.delivery.rejected += batch.len() as u64;
                st.delivery.last_error = Some(why);
            }
            Posted::Retry(why) => {
                failures += 1;
                let mut st = shared.lock();
                st.delivery.last_error = Some(why);
                for mut q in batch.into_iter().rev() {
                    q.tries += 1;
                    if q.tries >= ATTEMPTS {
                        st.delivery.failed += 1;
                    } else {
                        st.queue.push_front(q);
                    }
                }
                let st = &mut *st;
                st.delivery.superseded += keep_latest(&mut st.queue);
            }
        }
    }
}

/// Keeps only the last queued state of each alert (by its labels), in
/// queue order; returns how many were removed.
fn keep_latest(queue: &mut VecDeque<Queued>) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let before = queue.len();
    let mut kept: Vec<Queued> = queue.drain(..).rev().filter(|q| seen.insert(q.key.clone())).collect();
    kept.reverse();
    queue.extend(kept);
    (before - queue.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_path_is_added_once() {
        for (base, want) in [
            ("http://127.0.0.1:9093", "http://127.0.0.1:9093/api/v2/alerts"),
            ("http://am:9093/", "http://am:9093/api/v2/alerts"),
            ("http://am:9093/api/v2/alerts", "http://am:9093/api/v2/alerts"),
            ("http://h/prefix", "http://h/prefix/api/v2/alerts"),
        ] {
            assert_eq!(alerts_url(base).unwrap(), want);
        }
        for bad in ["am:9093", "https://am", "http://", "ftp://am"] {
            assert!(alerts_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nothing_listening_is_reported_not_waited_for() {
        // A port nothing listens on: bind, read the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let n = Notifier::start(&[format!("http://127.0.0.1:{port}")], &Config::default()).unwrap();
        let t = Instant::now();
        for stream in ["S1", "S2", "S3"] {
            n.send(&alert(stream, "14:17:18"));
        }
        n.send("not an alert");
        assert!(t.elapsed() < Duration::from_millis(100), "send waited: {:?}", t.elapsed());
        let d = n.finish(Duration::from_secs(2)).remove(0).delivery;
        assert!(t.elapsed() < Duration::from_secs(5), "finish overran its deadline: {:?}", t.elapsed());
        assert_eq!((d.delivered, d.failed, d.unreadable), (0, 3, 1), "{d:?}");
        assert_eq!(d.undelivered(), 4);
        assert!(d.last_error.is_some());
    }

    /// A firing warning of stream `stream` on n1, last seen at `last` (hh:mm:ss).
    fn alert(stream: &str, last: &str) -> String {
        format!(
            r#"{{"alert":"nats_stream_reset_loop","status":"firing","severity":"warning","account":"$G","stream":"{stream}","source":"n1","first_seen":"2026-11-26T14:17:08Z","last_seen":"2026-11-26T{last}Z"}}"#
        )
    }

    /// A stand-in Alertmanager peer on `addr` that answers every POST with
    /// 200 and keeps the alerts it was given (one JSON array per POST).
    fn peer_on(addr: &str) -> (String, Arc<Mutex<Vec<Value>>>) {
        let server = tiny_http::Server::http(addr).unwrap();
        let url = format!("http://{}", server.server_addr().to_ip().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&got);
        std::thread::spawn(move || {
            for mut req in server.incoming_requests() {
                let mut body = String::new();
                let _ = std::io::Read::read_to_string(req.as_reader(), &mut body);
                keep.lock().unwrap().extend(serde_json::from_str::<Vec<Value>>(&body).unwrap_or_default());
                let _ = req.respond(tiny_http::Response::empty(200));
            }
        });
        (url, got)
    }

    fn live_peer() -> (String, Arc<Mutex<Vec<Value>>>) {
        peer_on("127.0.0.1:0")
    }

    #[test]
    fn a_peer_that_comes_back_gets_the_latest_state_not_the_history() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let n = Notifier::start(&[format!("http://127.0.0.1:{port}")], &Config::default()).unwrap();
        // A firing alert, then its re-send (same labels, later endsAt), while the peer is down.
        n.send(&alert("S", "14:17:18"));
        n.send(&alert("S", "14:18:18"));
        let t = Instant::now();
        while n.peers[0].shared.lock().delivery.superseded < 1 {
            assert!(t.elapsed() < Duration::from_secs(10), "never coalesced: {:?}", n.peers[0].shared.lock().delivery);
            std::thread::sleep(Duration::from_millis(10));
        }
        let (_, got) = peer_on(&format!("127.0.0.1:{port}"));
        let peers = n.finish(Duration::from_secs(10));
        let d = &peers[0].delivery;
        assert_eq!((d.delivered, d.superseded, d.undelivered()), (1, 1, 0), "{d:?}");
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        // endsAt = last_seen + quiet (600 s) + repeat (60 s): the re-send's.
        assert_eq!(got[0]["endsAt"], "2026-11-26T14:29:18.000000Z", "{got:?}");
        assert!(
            report(&peers).ends_with(
                "1 of 2 alerts delivered to http://127.0.0.1:{port}/api/v2/alerts (1 replaced by a later state while it failed)"
                    .replace("{port}", &port.to_string())
                    .as_str()
            ),
            "{}",
            report(&peers)
        );
    }

    #[test]
    fn a_dead_peer_holds_up_no_other() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (live, got) = live_peer();
        let urls = [format!("http://127.0.0.1:{dead}"), live.clone()];
        let n = Notifier::start(&urls, &Config::default()).unwrap();
        assert_eq!(n.urls(), [format!("http://127.0.0.1:{dead}/api/v2/alerts"), format!("{live}/api/v2/alerts")]);
        for i in 0..5 {
            n.send(&alert(&format!("S{i}"), "14:17:18"));
        }
        // The live peer has them all while the dead one is still backing off.
        let t = Instant::now();
        while got.lock().unwrap().len() < 5 {
            assert!(t.elapsed() < Duration::from_secs(10), "the live peer got {} of 5", got.lock().unwrap().len());
            std::thread::sleep(Duration::from_millis(10));
        }
        // ... and the dead one has not given up yet: it is still retrying
        // (about 15 s of backoff), unseen by the live one.
        assert_eq!(n.peers[0].shared.lock().delivery.failed, 0);
        assert_eq!(n.peers[1].shared.lock().delivery.delivered, 5);
        let peers = n.finish(Duration::from_secs(1));
        assert_eq!((peers[0].delivery.delivered, peers[0].delivery.failed), (0, 5), "{peers:?}");
        assert_eq!((peers[1].delivery.delivered, peers[1].delivery.undelivered()), (5, 0), "{peers:?}");
        assert_eq!(
            report(&peers),
            format!(
                "alertmanager: 0 of 5 alerts delivered to http://127.0.0.1:{dead}/api/v2/alerts, 5 of 5 to {live}/api/v2/alerts"
            )
        );
    }

    #[test]
    fn the_same_peer_twice_is_refused() {
        let urls = ["http://am:9093".to_string(), "http://am:9093/".to_string()];
        let e = Notifier::start(&urls, &Config::default()).err().unwrap();
        assert!(e.to_string().contains("given twice"), "{e}");
        assert!(Notifier::start(&[], &Config::default()).is_err());
    }
}
