//! `examples/helm/fluent-bit-values.yaml`, the values for the official
//! `fluent/fluent-bit` Helm chart, rendered the way chart 0.58.1 renders
//! them and run in real Fluent Bit (5.1.1, the chart's appVersion and the
//! values' `image.tag`) on a Kubernetes-shaped log tree.
//!
//! No Helm and no cluster here. The renderer follows the text of the
//! chart's `templates/configmap.yaml` at tag `fluent-bit-0.58.1`, which
//! makes `fluent-bit.conf` as
//!
//! ```text
//!   fluent-bit.conf: |
//!     {{- (tpl .Values.config.service $)  | nindent 4 }}
//!     {{- (tpl .Values.config.inputs $)  | nindent 4 }}
//!     ...filters, outputs
//! ```
//!
//! and each `config.extraFiles` entry as `{{ $key }}: |` with its value
//! `tpl`'d and `nindent 4`ed the same way. `tpl` is given only what the
//! values use, `{{ .Values.<key> }}`; anything else fails the test. The pod
//! is stood in for by a temporary root: the chart's mounts
//! (`/fluent-bit/etc/conf` from its ConfigMap, the module's ConfigMap at
//! `/fluent-bit/resetwatch`, the `hostPath`s `/var/log` and
//! `/var/lib/fluent-bit/resetwatch`) are directories under it. The API
//! server is stood in for by the `kubernetes` filter's own
//! `Kube_Meta_Preload_Cache_Dir`, one `<namespace>_<pod>.meta` file (the
//! pod as the API returns it) per pod. Both Alertmanager peers are loopback
//! receivers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use yaml_rust2::{Yaml, YamlLoader};

use super::pod_logs::{self, append_cri, container_log_path, corpus, pod_uid, NAMESPACE, PODS};
use super::receiver::AlertReceiver;
use crate::support::real_host::{self, FLUENT_BIT};
use crate::support::serve_process::Serve;

/// The values' directories inside the pod, which the test puts under its root.
const POD_PATHS: [&str; 3] = ["/fluent-bit/", "/var/log/", "/var/lib/fluent-bit/"];

/// Kubernetes' limit on a ConfigMap (its data and binaryData together).
const CONFIGMAP_LIMIT: usize = 1 << 20;

fn values() -> Yaml {
    let p = real_host::root().join("examples/helm/fluent-bit-values.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display())).remove(0)
}

/// Helm's `tpl` for what these values use: `{{ .Values.<key> }}`.
fn tpl(text: &str, values: &Yaml) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find("}}").expect("an unclosed {{") + at;
        let action = rest[at + 2..end].trim();
        let key =
            action.strip_prefix(".Values.").unwrap_or_else(|| panic!("the renderer knows only .Values.<key>, not {action}"));
        let value = &values[key];
        match value {
            Yaml::Integer(n) => out.push_str(&n.to_string()),
            Yaml::String(s) => out.push_str(s),
            other => panic!("{key} is not set in the values (the chart's default would apply): {other:?}"),
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Sprig's `nindent 4`: a newline, then every line indented.
fn nindent4(text: &str) -> String {
    format!("\n    {}", text.replace('\n', "\n    "))
}

/// The content of a YAML literal block (`key: |`) indented by 4, as
/// Kubernetes reads the ConfigMap: the indentation removed, whitespace-only
/// lines empty, one final newline kept (the default "clip").
fn literal_block(indented: &str) -> String {
    let lines: Vec<&str> = indented.strip_prefix('\n').unwrap_or(indented).split('\n').collect();
    let mut out: Vec<&str> =
        lines.iter().map(|l| if l.trim().is_empty() { "" } else { l.strip_prefix("    ").expect("indented by 4") }).collect();
    while out.last() == Some(&"") {
        out.pop();
    }
    format!("{}\n", out.join("\n"))
}

/// `fluent-bit.conf` and the extra files, as the chart's ConfigMap holds them.
fn render(values: &Yaml) -> (String, Vec<(String, String)>) {
    let config = &values["config"];
    let part = |k: &str| tpl(config[k].as_str().unwrap_or_else(|| panic!("config.{k} in the values")), values);
    let conf = ["service", "inputs", "filters", "outputs"].iter().map(|k| nindent4(&part(k))).collect::<String>();
    let extra = config["extraFiles"]
        .as_hash()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), literal_block(&nindent4(&tpl(v.as_str().unwrap(), values)))))
        .collect();
    (literal_block(&conf), extra)
}

/// The pod's absolute paths moved under `root` (each where it begins a
/// value: after a space, a comma or a quote).
fn under_root(text: &str, root: &Path) -> String {
    let root = root.display().to_string();
    let mut out = String::new();
    for (i, c) in text.char_indices() {
        let starts = matches!(text[..i].chars().last(), Some(' ' | ',' | '"'));
        if starts && POD_PATHS.iter().any(|p| text[i..].starts_with(p)) {
            out.push_str(&root);
        }
        out.push(c);
    }
    out
}

/// The pod as the API server returns it, for the preload cache.
fn pod_meta(pod: &str) -> Value {
    let id = format!("{:0>64}", pod_uid(pod).replace('-', ""));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod,
            "namespace": NAMESPACE,
            "uid": pod_uid(pod),
            "labels": {"app.kubernetes.io/name": "nats", "statefulset.kubernetes.io/pod-name": pod}
        },
        "spec": {"nodeName": "node-a", "containers": [{"name": "nats", "image": "nats:2.10.25-alpine"}]},
        "status": {
            "podIP": "10.244.1.17",
            "containerStatuses": [{"name": "nats", "image": "nats:2.10.25-alpine", "containerID": format!("containerd://{id}")}]
        }
    })
}

/// The rendered configuration on the s05 loop in the stand-in pod: each
/// Alertmanager peer receives the 4 alerts in Alertmanager's form (n1 and
/// n2 as `nats/nats-0` and `nats/nats-1`: warning at the 3rd pair,
/// critical at the 10th); nats-2 and a sidecar container none; the state
/// is saved on the hostPath. The module's ConfigMap fits in a ConfigMap.
#[test]
#[ignore = "real-host tier: cargo xtask real-hosts"]
fn the_helm_values_render_a_fluent_bit_that_posts_the_s05_alerts_to_both_peers() {
    let test = "the_helm_values_render_a_fluent_bit_that_posts_the_s05_alerts_to_both_peers";
    let Some(fluent_bit) = real_host::require(FLUENT_BIT, test) else { return };
    let values = values();
    assert_eq!(values["image"]["tag"].as_str(), Some("5.1.1"), "the tag this test runs");
    let root = real_host::root();
    let module = std::fs::read(root.join("dist/resetwatch.wasm")).expect("dist/resetwatch.wasm: run `cargo xtask dist`");
    let shaping = std::fs::read(root.join("examples/fluent-bit/alertmanager/resetwatch.json")).unwrap();
    // kubectl puts a file that is not UTF-8 under binaryData, base64.
    let configmap = module.len().div_ceil(3) * 4 + shaping.len();
    assert!(configmap < CONFIGMAP_LIMIT, "the module's ConfigMap holds {configmap} bytes");

    let pod = pod_logs::tempdir("helm");
    let (conf, extra) = render(&values);
    let receivers = [AlertReceiver::start(), AlertReceiver::start()];
    let metrics = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let mut conf = under_root(&conf, &pod);
    let tag_prefix = format!("kube.{}.var.log.containers.", pod.display().to_string().trim_start_matches('/').replace('/', "."));
    let preload = format!(
        "Name kubernetes\n    Kube_Meta_Preload_Cache_Dir {}\n    Kube_URL http://127.0.0.1:9\n",
        pod.join("meta").display()
    );
    let mut stand_ins = vec![
        ("Kube_Tag_Prefix kube.var.log.containers.".to_string(), format!("Kube_Tag_Prefix {tag_prefix}")),
        ("Name kubernetes\n".to_string(), preload),
        ("HTTP_Listen 0.0.0.0".to_string(), "HTTP_Listen 127.0.0.1".to_string()),
        ("HTTP_Port 2020".to_string(), format!("HTTP_Port {metrics}")),
    ];
    for (i, r) in receivers.iter().enumerate() {
        let port = r.url().rsplit(':').next().unwrap().to_string();
        stand_ins.push((
            format!("Host alertmanager-{i}.alertmanager-operated.monitoring.svc\n    Port 9093"),
            format!("Host 127.0.0.1\n    Port {port}"),
        ));
    }
    let pairs: Vec<(&str, &str)> = stand_ins.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    conf = pod_logs::rewrite(&conf, &pairs);

    let conf_dir = pod.join("fluent-bit/etc/conf");
    let module_dir = pod.join("fluent-bit/resetwatch");
    let state_dir = pod.join("var/lib/fluent-bit/resetwatch");
    for d in [&conf_dir, &module_dir, &state_dir, &pod.join("meta")] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(conf_dir.join("fluent-bit.conf"), &conf).unwrap();
    for (name, text) in &extra {
        std::fs::write(conf_dir.join(name), under_root(text, &pod)).unwrap();
    }
    std::fs::write(module_dir.join("resetwatch.wasm"), &module).unwrap();
    std::fs::write(module_dir.join("resetwatch.json"), &shaping).unwrap();
    // The containers' log files exist when Fluent Bit starts (tail, as the
    // chart's values leave it, starts a file it finds at start at its end);
    // the runtime writes the lines afterwards. A sidecar in nats-0 logs
    // n1's loop again: outside tail's Path.
    let mut logs = Vec::new();
    for (node, name) in PODS {
        std::fs::write(pod.join(format!("meta/{NAMESPACE}_{name}.meta")), pod_meta(name).to_string()).unwrap();
        logs.push((container_log_path(&pod, name, "nats"), corpus(node)));
    }
    logs.push((container_log_path(&pod, "nats-0", "reloader"), corpus("n1")));
    for (file, _) in &logs {
        append_cri(file, &[]);
    }

    // The chart's container: --workdir=/fluent-bit/etc --config=/fluent-bit/etc/conf/fluent-bit.conf
    let mut cmd = Command::new(&fluent_bit);
    cmd.current_dir(pod.join("fluent-bit/etc")).arg("--config").arg(conf_dir.join("fluent-bit.conf"));
    let mut fb = Serve::spawn_unread(cmd);
    fb.read_stdout();
    let watched = || fb.stderr().matches("inotify_fs_add()").count();
    let until = Instant::now() + Duration::from_secs(30);
    while watched() < PODS.len() {
        assert!(Instant::now() < until, "tail does not watch the pods' files:\n{}", fb.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    for (file, lines) in &logs {
        append_cri(file, lines);
    }
    let until = Instant::now() + Duration::from_secs(60);
    while receivers.iter().any(|r| r.alerts().len() < 4) {
        assert!(
            Instant::now() < until,
            "alerts posted: {:?}\n{conf}\n{}",
            receivers.iter().map(|r| r.alerts().len()).collect::<Vec<_>>(),
            fb.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2)); // room for a duplicate to show
    fb.sigterm();
    let st = fb.wait_exit(Duration::from_secs(30));
    assert!(st.success(), "Fluent Bit exited {st}\n{}", fb.stderr());

    let digest = |r: &AlertReceiver| {
        let mut d: Vec<(String, String, String)> = r
            .alerts()
            .iter()
            .map(|a| {
                let l = &a["labels"];
                assert_eq!(l["alertname"], "NatsStreamResetLoop", "{a}");
                assert_eq!((l["account"].as_str(), l["stream"].as_str()), (Some("$G"), Some("ORDERS")), "{a}");
                assert!(a["startsAt"].is_string() && a["endsAt"].is_string(), "{a}");
                let s = |k: &str| l[k].as_str().unwrap_or_default().to_string();
                (s("source"), s("server_name"), s("severity"))
            })
            .collect();
        d.sort();
        d
    };
    let want: Vec<(String, String, String)> = [("nats-0", "n1"), ("nats-1", "n2")]
        .iter()
        .flat_map(|(p, n)| ["critical", "warning"].map(|sev| (format!("nats/{p}"), n.to_string(), sev.to_string())))
        .collect();
    for r in &receivers {
        assert_eq!(digest(r), want, "each peer gets every alert once");
    }
    let state = std::fs::read(state_dir.join("resetwatch.state")).expect("the state on the hostPath");
    assert!(state.starts_with(b"resetwatch-state "));
    assert!(state_dir.join("nats-tail.db").exists(), "tail's DB on the hostPath");
}

/// The renderer on the chart's own shape: parts joined by one empty line,
/// `{{ .Values.x }}` filled in, indentation inside a part kept.
#[test]
fn the_renderer_joins_the_parts_as_the_chart_template_does() {
    let values = YamlLoader::load_from_str(
        "flush: 3\nconfig:\n  service: |\n    [SERVICE]\n        Flush {{ .Values.flush }}\n\n  inputs: |\n    [INPUT]\n        Name dummy\n  filters: \"\"\n  outputs: |\n    [OUTPUT]\n        Name null\n",
    )
    .unwrap()
    .remove(0);
    let (conf, extra) = render(&values);
    assert_eq!(conf, "[SERVICE]\n    Flush 3\n\n[INPUT]\n    Name dummy\n\n\n[OUTPUT]\n    Name null\n");
    assert!(extra.is_empty());
}

/// Paths are moved only where a value begins, so `/var/lib/fluent-bit/...`
/// is not also taken for `/fluent-bit/...`.
#[test]
fn pod_paths_move_under_the_root_where_a_value_begins() {
    let root = PathBuf::from("/tmp/pod");
    assert_eq!(
        under_root("Accessible_Paths /fluent-bit/etc/conf,/var/lib/fluent-bit/resetwatch", &root),
        "Accessible_Paths /tmp/pod/fluent-bit/etc/conf,/tmp/pod/var/lib/fluent-bit/resetwatch"
    );
    assert_eq!(under_root(r#""state_dir": "/var/lib/fluent-bit/x""#, &root), r#""state_dir": "/tmp/pod/var/lib/fluent-bit/x""#);
    assert_eq!(under_root("URI /api/v2/alerts", &root), "URI /api/v2/alerts");
}
