//! The layout's rules, checked on the source tree (`cargo test -p xtask`):
//! the modules of each crate import each other without a cycle, file by
//! file and folder by folder, and the filter's `unsafe` is all in `wasm/`.
//!
//! Imports are read as text: every `crate::a::b` and `super::` path outside
//! comments, unit-test modules (`#[cfg(test)] mod ...`, to the end of the
//! file, where this project keeps them) and test-only files. Unit tests may
//! drive a low module through a high one (`Filter`), as `cargo modules`
//! leaves them out without `--cfg-test`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A crate's modules by path (`["input", "line"]`; the root is `[]`), each
/// with the modules its code names.
type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

/// Files compiled only for tests or fuzzing: not part of the graph.
const TEST_ONLY: [&str; 3] = ["fuzzing.rs", "proptests.rs", "detection_tests.rs"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src/input/line.rs` -> `["input", "line"]`; `mod.rs`, `lib.rs` and
/// `main.rs` name their folder.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("a file under src");
    let mut parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// The code of a file without comments and without its unit-test module.
fn code_of(text: &str) -> String {
    let cut = text.find("#[cfg(test)]\nmod ").or_else(|| text.find("#[cfg(test)]\npub(crate) mod ")).unwrap_or(text.len());
    text[..cut]
        .lines()
        .map(|l| match l.find("//") {
            // `//` inside a string ("http://...") is rare in paths; cut anyway.
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::...` path in `code`, `crate::{a::b, c}` groups expanded.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `resetwatch_crate::`, not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.push(path_words(item.trim()));
            }
        } else {
            out.push(path_words(rest));
        }
    }
    out
}

/// `a::b::C<...>` -> `["a", "b", "C"]`.
fn path_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut s = s;
    loop {
        let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
        if end == 0 {
            break;
        }
        words.push(s[..end].to_string());
        match s[end..].strip_prefix("::") {
            Some(next) => s = next,
            None => break,
        }
    }
    words
}

/// The root's `pub use a::b::{X, Y};` lines: `X` -> `["a", "b"]`.
fn reexports(root_code: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for stmt in root_code.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else { continue };
        let (path, items) = match rest.find("::{") {
            Some(i) => (&rest[..i], rest[i + 3..].trim_end_matches('}').to_string()),
            None => match rest.rfind("::") {
                Some(i) => (&rest[..i], rest[i + 2..].to_string()),
                None => continue,
            },
        };
        let module = path_words(path);
        for item in items.split(',') {
            let name = item.trim();
            let name = name.rsplit(" as ").next().unwrap_or(name).trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.clone());
            }
        }
    }
    out
}

/// The crate under `src` as a module graph.
fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.retain(|f| !TEST_ONLY.iter().any(|t| f.ends_with(t)) && !f.starts_with(src.join("bin")));
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    let root_code = ["lib.rs", "main.rs"]
        .iter()
        .filter_map(|r| fs::read_to_string(src.join(r)).ok())
        .map(|t| code_of(&t))
        .collect::<String>();
    let roots = reexports(&root_code);
    let mut g = Graph::new();
    for f in &files {
        let me = module_of(src, f);
        let code = code_of(&fs::read_to_string(f).expect("readable source"));
        let mut named = BTreeSet::new();
        let mut paths = crate_paths(&code);
        // `super::x` from `a/b.rs` is `crate::a::x`.
        for (i, _) in code.match_indices("super::") {
            if code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let parent = &me[..me.len().saturating_sub(1)];
            let mut p: Vec<String> = parent.to_vec();
            p.extend(path_words(&code[i + "super::".len()..]));
            paths.push(p);
        }
        for p in paths {
            // The longest prefix that is a module; a root item counts as
            // the module it is re-exported from.
            let target = (1..=p.len()).rev().map(|n| p[..n].to_vec()).find(|m| modules.contains(m));
            let target = match target {
                Some(t) => t,
                None => match p.first().and_then(|w| roots.get(w)) {
                    Some(m) => m.clone(),
                    None => continue,
                },
            };
            if target != me && !me.starts_with(&target) {
                named.insert(target);
            }
        }
        g.insert(me, named);
    }
    g
}

/// The same graph with each module replaced by its top folder (or file).
fn folders(g: &Graph) -> Graph {
    let top = |m: &Vec<String>| m.first().cloned().into_iter().collect::<Vec<_>>();
    let mut out = Graph::new();
    for (m, named) in g {
        let entry = out.entry(top(m)).or_default();
        for n in named {
            if top(n) != top(m) && !top(m).is_empty() {
                entry.insert(top(n));
            }
        }
    }
    out
}

/// One cycle of `g`, as the modules along it, if there is any.
fn cycle(g: &Graph) -> Option<Vec<Vec<String>>> {
    fn visit(
        g: &Graph,
        m: &Vec<String>,
        path: &mut Vec<Vec<String>>,
        done: &mut BTreeSet<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut c = path[i..].to_vec();
            c.push(m.clone());
            return Some(c);
        }
        if !done.insert(m.clone()) {
            return None;
        }
        path.push(m.clone());
        for n in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(g, n, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    g.keys().find_map(|m| visit(g, m, &mut Vec::new(), &mut done))
}

fn shown(c: &[Vec<String>]) -> String {
    c.iter().map(|m| if m.is_empty() { "crate".to_string() } else { m.join("::") }).collect::<Vec<_>>().join(" -> ")
}

fn root() -> PathBuf {
    crate::root()
}

fn check_acyclic(src: &str) {
    let g = graph(&root().join(src));
    assert!(g.len() > 3, "{src}: too few modules found ({}) to mean anything", g.len());
    if let Some(c) = cycle(&g) {
        panic!("{src}: modules import each other in a cycle: {}", shown(&c));
    }
    if let Some(c) = cycle(&folders(&g)) {
        panic!("{src}: folders import each other in a cycle: {}", shown(&c));
    }
}

#[test]
fn the_cores_modules_and_folders_import_each_other_without_a_cycle() {
    check_acyclic("src");
}

#[test]
fn the_hosts_modules_and_folders_import_each_other_without_a_cycle() {
    check_acyclic("host/src");
}

#[test]
fn the_shells_modules_import_each_other_without_a_cycle() {
    check_acyclic("wasm/src");
}

#[test]
fn the_core_holds_no_unsafe_and_the_shells_hold_it_all() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for f in &files {
        let code = code_of(&fs::read_to_string(f).unwrap());
        let found = ["unsafe {", "unsafe fn", "unsafe impl", "unsafe extern", "unsafe trait"].iter().find(|u| code.contains(*u));
        assert!(found.is_none(), "{}: `{}` outside wasm/", f.display(), found.unwrap());
    }
    let lib = fs::read_to_string(root().join("src/lib.rs")).unwrap();
    assert!(lib.contains("#![forbid(unsafe_code)]"), "src/lib.rs must forbid unsafe code");
    let mut shells = Vec::new();
    rust_files(&root().join("wasm/src"), &mut shells);
    let with_unsafe = shells.iter().filter(|f| fs::read_to_string(f).unwrap().contains("unsafe {")).count();
    assert!(with_unsafe > 0, "wasm/src holds no unsafe: has the Fluent Bit export moved?");
}

#[test]
fn a_cycle_is_found_file_by_file_and_folder_by_folder() {
    let m = |s: &str| s.split("::").filter(|w| !w.is_empty()).map(String::from).collect::<Vec<_>>();
    let mut g = Graph::new();
    g.insert(m("a::x"), [m("b::y")].into());
    g.insert(m("b::y"), BTreeSet::new());
    g.insert(m("b::z"), [m("a::w")].into());
    g.insert(m("a::w"), BTreeSet::new());
    assert_eq!(cycle(&g), None, "no file cycle");
    assert_eq!(cycle(&folders(&g)).map(|c| shown(&c)), Some("a -> b -> a".to_string()));
    g.insert(m("a::w"), [m("a::x")].into());
    g.insert(m("b::y"), [m("b::z")].into());
    assert!(cycle(&g).is_some(), "a::x -> b::y -> b::z -> a::w -> a::x");
}

#[test]
fn paths_are_read_from_uses_groups_and_super() {
    let code = code_of(
        "use crate::input::line::{self, Line};\nuse crate::{text::json, config};\n// crate::gone::x\nfn f() { crate::alert::example(); }\n#[cfg(test)]\nmod tests { use crate::filter::Filter; }",
    );
    let got: Vec<String> = crate_paths(&code).iter().map(|p| p.join("::")).collect();
    assert_eq!(got, ["input::line", "text::json", "config", "alert::example"]);
    let roots = reexports("pub use filter::{Filter, Seen};\npub use alert::storage::StorageAlert;\npub use input::{jsz, line};");
    assert_eq!(roots["Seen"], ["filter"]);
    assert_eq!(roots["StorageAlert"], ["alert", "storage"]);
    assert_eq!(roots["jsz"], ["input"]);
}
