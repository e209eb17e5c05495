//! The bundled real loop as a Kubernetes node holds it: each nats-server's
//! lines written by the container runtime in the CRI log format
//! (`<time> <stream> <F|P> <line>`), under the paths the kubelet uses, in a
//! temporary tree. Vector's `kubernetes_logs` and Fluent Bit's `tail` +
//! `kubernetes` filter read these paths on a real node.

use std::path::{Path, PathBuf};

/// The loop every test here runs: n1 and n2 reset 13 times each, n3 is healthy.
pub const LOOP: &str = "s05_pair_reset_loop_catchup_no_leader_v2.10.25";

/// The loop's three servers as the pods of a StatefulSet `nats` in
/// namespace `nats`: `n1` is pod `nats-0`, and so on.
pub const PODS: [(&str, &str); 3] = [("n1", "nats-0"), ("n2", "nats-1"), ("n3", "nats-2")];

pub const NAMESPACE: &str = "nats";

/// A pod's uid, as the kubelet puts it in its paths (made up, one per pod).
pub fn pod_uid(pod: &str) -> String {
    let n = pod.rsplit('-').next().unwrap_or("0");
    format!("0c2f6a51-6a7e-4a8e-9b55-3d1e0f2f9a1{n}")
}

/// The corpus lines of one server of the loop, verbatim.
pub fn corpus(node: &str) -> Vec<String> {
    let p = crate::support::real_host::root().join("tests/data/corpus").join(LOOP).join(format!("{node}.log"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).lines().map(String::from).collect()
}

/// `[8368] 2026/11/26 14:17:08.682791 [WRN] ...` -> `2026-11-26T14:17:08.682791Z`:
/// the time the runtime stamps on the line (nats-server writes UTC here).
pub fn line_time(line: &str) -> Option<String> {
    let rest = line.split_once("] ")?.1;
    let (date, rest) = rest.split_once(' ')?;
    let time = rest.split_once(' ')?.0;
    (date.len() == 10 && time.len() == 15).then(|| format!("{}T{}Z", date.replace('/', "-"), time))
}

/// One line as the CRI runtime writes it: RFC 3339 with nanoseconds, the
/// stream, `F` (a full line). nats-server logs to stderr.
pub fn cri_line(line: &str) -> String {
    let time = line_time(line).unwrap_or_else(|| "2026-11-26T14:17:00.000000Z".into());
    format!("{}000Z stderr F {line}", time.trim_end_matches('Z'))
}

/// `/var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log` under `root`
/// (what `kubernetes_logs` reads).
pub fn pod_log_path(root: &Path, pod: &str, container: &str) -> PathBuf {
    root.join(format!("var/log/pods/{NAMESPACE}_{pod}_{}/{container}/0.log", pod_uid(pod)))
}

/// `/var/log/containers/<pod>_<namespace>_<container>-<container id>.log`
/// under `root` (what Fluent Bit's tail reads; the kubelet's symlinks).
pub fn container_log_path(root: &Path, pod: &str, container: &str) -> PathBuf {
    let id = format!("{:0>64}", pod_uid(pod).replace('-', ""));
    root.join(format!("var/log/containers/{pod}_{NAMESPACE}_{container}-{id}.log"))
}

/// Appends `lines` to `path` in the CRI format, creating its directory.
pub fn append_cri(path: &Path, lines: &[String]) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    let mut text = String::new();
    for l in lines {
        text.push_str(&cri_line(l));
        text.push('\n');
    }
    f.write_all(text.as_bytes()).unwrap();
}

/// A fresh temporary directory for one test.
pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("resetwatch-real-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Rewrites `text` by each `(from, to)`, every one of which must occur, so
/// that a change to an example breaks its test instead of going untested.
pub fn rewrite(text: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (from, to) in pairs {
        assert!(out.contains(from), "the example no longer contains {from:?}");
        out = out.replace(from, to);
    }
    out
}
