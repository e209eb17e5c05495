//! Real Fluent Bit for the real-host tier: a temporary tree laid out like
//! the repository (so an example's relative paths mean what they mean from
//! the repository root), an example configuration with its paths rewritten
//! and an observing `file` output added, the running process (killed on
//! drop), Fluent Bit's own `file` output read back, and the comparison of a
//! run with a do-nothing filter's run of the same configuration.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::real_host;

/// The bundled real reset loop the examples read.
pub const S05: &str = "tests/data/corpus/s05_pair_reset_loop_catchup_no_leader_v2.10.25";
/// Where the observing output writes, under the tree.
const RECORDS: &str = "out/records";

/// A scratch directory under `target/tmp/real-hosts/`, removed on drop
/// unless the test failed (then its path is printed, to look at).
pub struct Tree {
    pub root: PathBuf,
}

impl Tree {
    pub fn new(name: &str) -> Tree {
        // Tests run side by side and may run the same example: a number
        // keeps their trees apart.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = real_host::root().join("target/tmp/real-hosts").join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("out")).unwrap();
        Tree { root }
    }

    /// A tree with the repository's `tests/` and `dist/` linked in and
    /// `examples/` copied (a module may write beside its configuration).
    pub fn repo_like(name: &str) -> Tree {
        let tree = Tree::new(name);
        tree.link("tests");
        tree.link("dist");
        tree.copy_examples();
        tree
    }

    /// The repository's `examples/`, copied into the tree.
    pub fn copy_examples(&self) {
        copy_dir(&real_host::root().join("examples"), &self.path("examples"));
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// `rel` in the tree is a symbolic link to `rel` in the repository.
    pub fn link(&self, rel: &str) {
        let at = self.path(rel);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(real_host::root().join(rel), &at).unwrap();
    }

    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let at = self.path(rel);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(&at, bytes).unwrap();
        at
    }

    /// The do-nothing filter (`resetwatch_host::fluent_bit::DO_NOTHING_WAT`)
    /// as a file in the tree.
    pub fn do_nothing_module(&self) -> PathBuf {
        self.write("do-nothing.wasm", resetwatch_host::fluent_bit::do_nothing_module().unwrap())
    }

    /// What the observing output wrote. A tag made from a path in the
    /// tree (tail's `*`) names the tree as `TREE`, so that two trees' runs
    /// compare.
    pub fn records(&self) -> Vec<Record> {
        let dotted = self.root.display().to_string().trim_start_matches('/').replace('/', ".");
        let mut records = read_records(&self.path(RECORDS));
        for r in &mut records {
            r.tag = r.tag.replace(&dotted, "TREE");
        }
        records
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for a look: {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A Fluent Bit configuration (classic or YAML) as text.
#[derive(Clone)]
pub struct Config {
    pub text: String,
    yaml: bool,
    /// Where in the tree it is written: an example beside its original
    /// (Fluent Bit resolves `Parsers_File` against the configuration's
    /// directory), under a name that keeps the extension (`.yaml` is how
    /// Fluent Bit tells YAML).
    rel: String,
}

impl Config {
    /// `examples/fluent-bit/<name>`, as written.
    pub fn example(name: &str) -> Config {
        let path = real_host::root().join("examples/fluent-bit").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Config { text, yaml: name.ends_with(".yaml"), rel: format!("examples/fluent-bit/observed-{name}") }
    }

    pub fn classic(text: &str) -> Config {
        Config { text: text.to_string(), yaml: false, rel: "fluent-bit.conf".to_string() }
    }

    /// Every `from` replaced by `to`; `from` must occur, so that a changed
    /// example fails here rather than running with the old path.
    pub fn replace(mut self, from: &str, to: &str) -> Config {
        assert!(self.text.contains(from), "the configuration no longer says `{from}`:\n{}", self.text);
        self.text = self.text.replace(from, to);
        self
    }

    /// The value of every `Wasm_Path` (whatever it was) becomes `module`.
    pub fn module(mut self, module: &str) -> Config {
        let key = if self.yaml { "wasm_path:" } else { "Wasm_Path" };
        let mut found = false;
        let lines: Vec<String> = self
            .text
            .lines()
            .map(|l| match l.find(key) {
                Some(at) if !l.trim_start().starts_with('#') => {
                    found = true;
                    let pad = if self.yaml { " " } else { "         " };
                    format!("{}{key}{pad}{module}", &l[..at])
                }
                _ => l.to_string(),
            })
            .collect();
        assert!(found, "no {key} in the configuration");
        self.text = lines.join("\n") + "\n";
        self
    }

    /// The do-nothing baseline of this configuration: every wasm filter
    /// runs the do-nothing module on a 16M heap (it has no allocator, and
    /// a record it loses would not be a baseline).
    pub fn do_nothing(self, tree: &Tree) -> Config {
        let module = tree.do_nothing_module();
        let mut c = self.module(&module.display().to_string());
        let (key, heap) = if c.yaml { ("wasm_path:", "wasm_heap_size: 16M") } else { ("Wasm_Path", "Wasm_Heap_Size    16M") };
        let lines: Vec<String> = c
            .text
            .lines()
            .filter(|l| !l.trim_start().to_ascii_lowercase().starts_with("wasm_heap_size"))
            .flat_map(|l| match l.find(key) {
                Some(at) => vec![l.to_string(), format!("{}{heap}", &l[..at])],
                None => vec![l.to_string()],
            })
            .collect();
        c.text = lines.join("\n") + "\n";
        c
    }

    /// Adds an output that writes every record (all tags) to the tree in
    /// Fluent Bit's `file` format, `tag: [time, {record}]`: the test's view
    /// of what the pipeline passed on, beside the configuration's own outputs.
    pub fn observed(mut self, tree: &Tree) -> Config {
        let dir = tree.path("out");
        if self.yaml {
            // The examples end with `pipeline.outputs`: add one more item.
            let outputs = self.text.rfind("\n  outputs:").expect("a YAML example with outputs");
            assert!(
                ["\n  inputs:", "\n  filters:"].iter().all(|s| self.text.rfind(s).is_none_or(|at| at < outputs)),
                "outputs is not the last section of the YAML configuration"
            );
            self.text += &format!("\n    - name: file\n      match: '*'\n      path: {}\n      file: records\n", dir.display());
        } else {
            self.text +=
                &format!("\n[OUTPUT]\n    Name   file\n    Match  *\n    Path   {}\n    File   records\n", dir.display());
        }
        self
    }

    /// Writes the configuration into the tree.
    pub fn write(&self, tree: &Tree) -> PathBuf {
        tree.write(&self.rel, &self.text)
    }
}

/// A running Fluent Bit; killed (by its pid) on drop.
pub struct FluentBit {
    child: Option<Child>,
    stdout: PathBuf,
    stderr: PathBuf,
    /// The opens of the module's first preopened directory, when that is a
    /// directory of its own tree (not a link shared with other tests).
    preopens: Option<Opens>,
}

/// Counts the times a directory itself is opened (inotify `IN_OPEN`, not
/// its files'): WAMR opens each of the filter's `Accessible_Paths` for
/// every instance it makes of the module, which 4.0.2 does for every chunk
/// (the module's file it reads once).
pub struct Opens {
    fd: i32,
    seen: std::cell::Cell<usize>,
}

impl Opens {
    pub fn watch(path: &Path) -> Opens {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: inotify on a descriptor this value owns and a NUL-terminated path.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0, "inotify_init1: {}", std::io::Error::last_os_error());
        // SAFETY: as above.
        let wd = unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_OPEN) };
        assert!(wd >= 0, "inotify on {}: {}", path.display(), std::io::Error::last_os_error());
        Opens { fd, seen: std::cell::Cell::new(0) }
    }

    /// Opens so far.
    pub fn count(&self) -> usize {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reads into `buf`, at most its length.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return self.seen.get();
            }
            // Events are `struct inotify_event` (16 bytes) and a name of
            // `len` bytes: none for the watched directory itself, the
            // file's name for a file in it.
            let mut at = 0;
            while at + 16 <= n as usize {
                let mask = u32::from_ne_bytes(buf[at + 4..at + 8].try_into().unwrap());
                let len = u32::from_ne_bytes(buf[at + 12..at + 16].try_into().unwrap()) as usize;
                if mask & libc::IN_OPEN != 0 && len == 0 {
                    self.seen.set(self.seen.get() + 1);
                }
                at += 16 + len;
            }
        }
    }
}

impl Drop for Opens {
    fn drop(&mut self) {
        // SAFETY: the descriptor `watch` made, closed once.
        unsafe { libc::close(self.fd) };
    }
}

/// The first `Accessible_Paths` (classic) or `accessible_paths` (YAML)
/// directory the configuration at `config` names, resolved against `cwd`
/// as Fluent Bit resolves it.
fn preopened_dir(config: &Path, cwd: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(config).ok()?;
    text.lines().find_map(|l| {
        let l = l.trim_start();
        let rest = l.strip_prefix("Accessible_Paths").or_else(|| l.strip_prefix("accessible_paths:"))?;
        Some(cwd.join(rest.split([',', ' ']).find(|p| !p.is_empty())?))
    })
}

impl FluentBit {
    /// `program -c config`, in `cwd` (where relative paths are resolved:
    /// Fluent Bit resolves `Wasm_Path` and tail's `Path` against its working
    /// directory, not the configuration's). Its stdout and stderr go to
    /// files named after the configuration.
    pub fn start(program: &Path, config: &Path, cwd: &Path) -> FluentBit {
        let stem = config.file_name().unwrap().to_string_lossy().to_string();
        let stdout = cwd.join(format!("{stem}.stdout"));
        let stderr = cwd.join(format!("{stem}.stderr"));
        let mut child = Command::new(program);
        child
            .arg("-c")
            .arg(config)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
        // Watched before the start, so that the first instance counts; only
        // a directory that is the tree's own (a link's opens are every test's).
        let preopens = preopened_dir(config, cwd)
            .filter(|d| std::fs::symlink_metadata(d).is_ok_and(|md| md.is_dir()))
            .map(|d| Opens::watch(&d));
        let child = child.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        FluentBit { child: Some(child), stdout, stderr, preopens }
    }

    /// Waits for Fluent Bit to exit on its own (`Exit_On_Eof`,
    /// `Exit_After_Oneshot`), at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let t = Instant::now();
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(t.elapsed() < limit, "Fluent Bit still running after {limit:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, as a service manager stops it (it flushes first), then wait.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait(Duration::from_secs(30))
    }

    /// SIGKILL: no flush, no clean-up, as a crash or an OOM kill.
    pub fn kill9(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.take().map(|mut c| c.wait());
    }

    fn signal(&self, signal: i32) {
        let pid = self.child.as_ref().expect("running").id() as i32;
        // SAFETY: kill(2) on the pid of a child we have not reaped yet.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {pid}");
    }

    /// Fluent Bit's log: 5.1.1 logs on stdout, 4.0.2 on stderr, WAMR and
    /// the guest (resetwatch's reports) write to either.
    pub fn log(&self) -> String {
        self.stdout() + &self.stderr()
    }

    /// Fluent Bit's `stdout` outputs (and 5.1.1's log).
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.stdout).unwrap_or_default()).into_owned()
    }

    /// The guest's stderr (and 4.0.2's log).
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.stderr).unwrap_or_default()).into_owned()
    }

    /// How many times Fluent Bit instantiated the module: the opens of its
    /// first preopened directory (see [`Opens`]), the tree's own.
    pub fn instantiations(&self) -> usize {
        self.preopens.as_ref().expect("the filter's Accessible_Paths is a directory of the tree").count()
    }
}

impl Drop for FluentBit {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The program, or `None` after reporting `test` skipped.
pub fn fluent_bit(test: &str) -> Option<PathBuf> {
    real_host::require(real_host::FLUENT_BIT, test)
}

/// Runs `config` (written into `tree`) with `program` until it exits on its own.
pub fn run_to_end(program: &Path, tree: &Tree, config: &Config) -> FluentBit {
    let path = config.write(tree);
    let mut fb = FluentBit::start(program, &path, &tree.root);
    let status = fb.wait(Duration::from_secs(60));
    assert!(status.success(), "Fluent Bit exited with {status}:\n{}", fb.log());
    fb
}

/// Runs `config` until its output holds records and none more come for
/// two flush intervals, then stops it (SIGTERM, which flushes). For a
/// configuration without `Exit_On_Eof`: with it, Fluent Bit 5.1.1 may exit
/// before `rewrite_tag` has emitted its last copies (seen in about one run
/// in three with 1 KiB chunks, with this session's modules and the
/// morning's alike).
pub fn run_until_quiet(program: &Path, tree: &Tree, config: &Config) -> FluentBit {
    let path = config.write(tree);
    let mut fb = FluentBit::start(program, &path, &tree.root);
    wait_quiet(tree, 1, Duration::from_secs(60));
    let status = fb.stop();
    assert!(status.success(), "Fluent Bit exited with {status}:\n{}", fb.log());
    fb
}

/// One record of Fluent Bit's `file` output: `tag: [time, {record}]`. The
/// time is left out (tail stamps the time it read the line, which differs
/// between runs); the record is Fluent Bit's JSON text, byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Record {
    pub tag: String,
    pub body: String,
}

pub fn read_records(path: &Path) -> Vec<Record> {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8(text).expect("Fluent Bit writes UTF-8 JSON");
    // A last line without its newline is still being written.
    let complete = &text[..text.rfind('\n').map_or(0, |at| at + 1)];
    complete
        .lines()
        .map(|line| {
            let (tag, rest) = line.split_once(": [").unwrap_or_else(|| panic!("not file output: {line}"));
            let (_time, body) = rest.split_once(", ").unwrap_or_else(|| panic!("not file output: {line}"));
            let body = body.strip_suffix(']').unwrap_or_else(|| panic!("not file output: {line}"));
            Record { tag: tag.to_string(), body: body.to_string() }
        })
        .collect()
}

/// Waits until `tree`'s observing output holds at least `n` records.
pub fn wait_for_records(tree: &Tree, n: usize, limit: Duration) -> Vec<Record> {
    let t = Instant::now();
    loop {
        let got = tree.records();
        if got.len() >= n {
            return got;
        }
        assert!(t.elapsed() < limit, "{} of {n} records after {limit:?}", got.len());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An alert as it rode on its record, with the record's tag.
#[derive(Clone, Debug)]
pub struct Alert {
    pub tag: String,
    pub alert: Value,
}

/// Compares a run (`got`) with the do-nothing filter's run of the same
/// configuration on the same input (`baseline`), tag by tag in order:
/// - every record is byte-identical to the baseline's, except those that
///   carry an alert, which are the baseline's bytes with one key,
///   `"resetwatch"`, added at the end;
/// - every record that carries an alert has exactly one copy, byte for
///   byte, under `alerts.<stream>` (or `alerts.storage` for a storage alert),
///   and nothing else is under `alerts.*`.
///
/// Returns the alerts in the order they rode, per tag.
pub fn compare_with_do_nothing(got: &[Record], baseline: &[Record]) -> Vec<Alert> {
    assert!(!baseline.is_empty(), "the baseline passed nothing on");
    let by_tag = |records: &[Record]| {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in records {
            m.entry(r.tag.clone()).or_default().push(r.body.clone());
        }
        m
    };
    let (got_tags, base_tags) = (by_tag(got), by_tag(baseline));
    let mut alerts = Vec::new();
    let mut copies_due = Vec::new();
    for (tag, base) in &base_tags {
        assert!(!tag.starts_with("alerts."), "the do-nothing run routed {tag}");
        let mine = got_tags.get(tag).unwrap_or_else(|| panic!("no record under {tag}"));
        assert_eq!(mine.len(), base.len(), "{tag}: {} records, the do-nothing filter passed {}", mine.len(), base.len());
        for (m, b) in mine.iter().zip(base) {
            if m == b {
                continue;
            }
            let head = &b[..b.len() - 1];
            let added = m
                .strip_prefix(head)
                .and_then(|rest| rest.strip_prefix(",\"resetwatch\":"))
                .and_then(|rest| rest.strip_suffix('}'))
                .unwrap_or_else(|| panic!("{tag}: a record changed beyond one added key:\n  do-nothing: {b}\n  resetwatch: {m}"));
            let alert: Value = serde_json::from_str(added).unwrap();
            let to = match alert["stream"].as_str() {
                Some(stream) => format!("alerts.{stream}"),
                None => "alerts.storage".to_string(),
            };
            copies_due.push(Record { tag: to, body: m.clone() });
            alerts.push(Alert { tag: tag.clone(), alert });
        }
    }
    let mut copies: Vec<Record> = got.iter().filter(|r| r.tag.starts_with("alerts.")).cloned().collect();
    assert!(
        got_tags.keys().all(|t| t.starts_with("alerts.") || base_tags.contains_key(t)),
        "tags the do-nothing run did not have: {:?}",
        got_tags.keys().filter(|t| !base_tags.contains_key(*t)).collect::<Vec<_>>()
    );
    copies.sort();
    copies_due.sort();
    assert_eq!(copies, copies_due, "rewrite_tag's copies are not exactly the alert-carrying records");
    alerts
}

/// How a test runs a configuration in its tree: [`run_to_end`], or its own
/// (start, feed the input, wait, stop).
pub type Drive = dyn Fn(&Path, &Tree, &Config) -> FluentBit + Sync;

/// Runs the configuration `make` gives and its do-nothing baseline side by
/// side (separate trees, no shared port) and compares them; returns the
/// alerts and the finished run (its log, its tree).
pub fn run_against_do_nothing(program: &Path, name: &str, make: &(dyn Fn(&Tree) -> Config + Sync), drive: &Drive) -> Run {
    let (mine, base) = std::thread::scope(|s| {
        let base = s.spawn(|| {
            let tree = Tree::repo_like(&format!("{name}-do-nothing"));
            let config = make(&tree).do_nothing(&tree).observed(&tree);
            let _fb = drive(program, &tree, &config);
            tree.records()
        });
        let tree = Tree::repo_like(name);
        let config = make(&tree).observed(&tree);
        let fb = drive(program, &tree, &config);
        ((fb, tree), base.join().unwrap())
    });
    let (fluent_bit, tree) = mine;
    let alerts = compare_with_do_nothing(&tree.records(), &base);
    Run { alerts, fluent_bit, tree }
}

/// A finished run compared with its do-nothing baseline.
pub struct Run {
    pub alerts: Vec<Alert>,
    pub fluent_bit: FluentBit,
    pub tree: Tree,
}

/// Waits until the observing output holds at least `n` records and then no
/// more arrive for two flush intervals.
pub fn wait_quiet(tree: &Tree, n: usize, limit: Duration) -> Vec<Record> {
    let mut got = wait_for_records(tree, n, limit);
    loop {
        std::thread::sleep(Duration::from_millis(2500));
        let again = tree.records();
        if again.len() == got.len() {
            return again;
        }
        got = again;
    }
}

/// The s05 loop's alerts as the examples document them: on n1 and n2 (n3
/// never looped) a `warning` at the third pair, then `critical` at the
/// tenth, each firing for `$G > ORDERS` with the 2.10.25 leak known;
/// `source(node)` is the source the configuration gives each server.
pub fn assert_s05_alerts(alerts: &[Alert], source: impl Fn(&str) -> String) {
    let summary: Vec<(String, String, i64)> = alerts
        .iter()
        .map(|a| {
            (
                a.alert["server_name"].as_str().unwrap_or("?").to_string(),
                a.alert["severity"].as_str().unwrap_or("?").to_string(),
                a.alert["pairs_in_window"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let want: Vec<(String, String, i64)> =
        [("n1", "warning", 3), ("n1", "critical", 10), ("n2", "warning", 3), ("n2", "critical", 10)]
            .iter()
            .map(|(n, s, p)| (n.to_string(), s.to_string(), *p))
            .collect();
    assert_eq!(summary, want, "alerts: {:#?}", alerts);
    for a in alerts {
        let v = &a.alert;
        let node = v["server_name"].as_str().unwrap();
        assert_eq!(v["alert"], "nats_stream_reset_loop", "{v}");
        assert_eq!(v["status"], "firing", "{v}");
        assert_eq!((&v["account"], &v["stream"]), (&Value::from("$G"), &Value::from("ORDERS")), "{v}");
        assert_eq!(v["known_leak"], true, "{v}");
        assert_eq!(v["server_version"], "2.10.25", "{v}");
        assert_eq!(v["source"], source(node), "{v}");
        assert!(v["last_cause"].as_str().unwrap().starts_with("catchup aborted, no leader"), "{v}");
    }
}

/// The source tail's `Tag nats.*` gives a file of the s05 loop, read
/// through the tree's relative path (tail puts the path as found in the tag).
pub fn s05_tail_source(node: &str) -> String {
    format!("nats.{}.{node}.log", S05.replace('/', "."))
}
