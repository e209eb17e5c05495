//! The documentation link check, run by `cargo test -p xtask` (and so by
//! `cargo test --workspace`): every relative link and `#anchor` in
//! `README.md`, `CONTRIBUTING.md`, `BENCHMARKS.md` and `docs/**/*.md`, and
//! every citation of one of these pages in the code's comments, must name
//! a file (and a heading, by GitHub's anchor rule) in the repository.
//! Docs move and headings get renamed; a citation that no longer resolves
//! sends a reader nowhere, so it fails here instead.
//!
//! It also checks that the README links every page under `docs/`.
//!
//! Standard library only, like the rest of the xtask. The Markdown it reads
//! is the subset this repository writes: ATX headings, inline links and
//! images, reference definitions, fenced and inline code (whose contents
//! are not links).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The Markdown files whose links are checked, relative to the root.
const TOP_PAGES: [&str; 3] = ["README.md", "CONTRIBUTING.md", "BENCHMARKS.md"];
const DOCS_DIR: &str = "docs";
/// Where code that cites docs lives; data, dependencies and build output
/// under them are skipped (`SKIPPED_DIRS`).
const CODE_DIRS: [&str; 13] =
    ["src", "wasm", "host", "tests", "xtask", "fuzz", "web", "wit", "examples", "scripts", "tools", "bench", ".ci"];
const SKIPPED_DIRS: [&str; 9] = ["target", "node_modules", "pkg", "data", "seeds", "regressions", "corpus", "artifacts", "dist"];
/// This file: its tests hold deliberately broken citations.
const THIS_FILE: &str = "xtask/src/docs.rs";

/// Files as the check sees them: the repository on disk, or a small
/// in-memory tree in the tests.
trait Tree {
    /// The text of a file, `None` when it is not a readable file.
    fn read(&self, path: &Path) -> Option<String>;
    /// A file or a directory is there.
    fn exists(&self, path: &Path) -> bool;
}

struct Disk<'a>(&'a Path);

impl Tree for Disk<'_> {
    fn read(&self, path: &Path) -> Option<String> {
        fs::read_to_string(self.0.join(path)).ok()
    }
    fn exists(&self, path: &Path) -> bool {
        self.0.join(path).exists()
    }
}

/// A link that does not resolve: where it is written and why it fails.
#[derive(Debug, PartialEq, Eq)]
struct Broken {
    file: PathBuf,
    line: usize,
    target: String,
    why: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {} ({})", self.file.display(), self.line, self.target, self.why)
    }
}

/// GitHub's anchor for a heading: the rendered text lower-cased, every
/// character that is not a letter, a digit, `-`, `_` or a space dropped,
/// and each space turned into `-` (runs of spaces are not merged).
fn anchor(heading: &str) -> String {
    rendered(heading)
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// A heading's text as GitHub renders it, for its anchor: a link or an
/// image counts as its text (backticks and emphasis marks are punctuation,
/// which `anchor` drops anyway).
fn rendered(heading: &str) -> String {
    let mut out = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find("](") {
        let Some(close) = rest[open..].find(')') else { break };
        let before = &rest[..open];
        let text_start = before.rfind('[').unwrap_or(before.len());
        let bang = before[..text_start].ends_with('!');
        out.push_str(&before[..text_start - usize::from(bang)]);
        out.push_str(&before[(text_start + 1).min(before.len())..]);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Lines of a Markdown text with fenced code blanked (kept as empty lines so
/// that line numbers stay right).
fn prose_lines(markdown: &str) -> Vec<&str> {
    let mut fence: Option<(char, usize)> = None;
    markdown
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
            let run = marker.map_or(0, |m| trimmed.chars().take_while(|c| *c == m).count());
            match (fence, marker) {
                (None, Some(m)) if run >= 3 => {
                    fence = Some((m, run));
                    ""
                }
                (Some((m, n)), Some(c)) if c == m && run >= n && trimmed[run..].trim().is_empty() => {
                    fence = None;
                    ""
                }
                (Some(_), _) => "",
                (None, _) => line,
            }
        })
        .collect()
}

/// Every heading's anchor, numbered as GitHub numbers repeats
/// (`tested`, `tested-1`, ...).
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = HashSet::new();
    for line in prose_lines(markdown) {
        let Some(text) = heading_text(line) else { continue };
        let base = anchor(text);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
        *n += 1;
    }
    out
}

/// The text of an ATX heading line (`## Title`, optional closing `#`s).
fn heading_text(line: &str) -> Option<&str> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let line = &line[indent..];
    let hashes = line.len() - line.trim_start_matches('#').len();
    if indent > 3 || !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    let text = rest.trim();
    let unclosed = text.trim_end_matches('#');
    Some(if unclosed.is_empty() || unclosed.ends_with([' ', '\t']) { unclosed.trim_end() } else { text })
}

/// `text` with inline code spans blanked (a run of backticks up to the next
/// run of the same length).
fn without_code_spans(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            let next = text[i..].find('`').map_or(text.len(), |n| i + n);
            out.push_str(&text[i..next]);
            i = next;
            continue;
        }
        let run = bytes[i..].iter().take_while(|b| **b == b'`').count();
        let delimiter = &text[i..i + run];
        let after = i + run;
        let close = text[after..]
            .match_indices(delimiter)
            .map(|(at, _)| after + at)
            .find(|&at| bytes.get(at + run) != Some(&b'`') && bytes[at - 1] != b'`');
        match close {
            Some(at) => {
                // Keep newlines so line numbers stay right.
                out.extend(text[i..at + run].chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
                i = at + run;
            }
            None => {
                out.push_str(delimiter);
                i = after;
            }
        }
    }
    out
}

/// Every link target of a Markdown text with its line: inline links and
/// images (`[text](target "title")`, `![alt](target)`) and reference
/// definitions (`[label]: target`), outside code.
fn links(markdown: &str) -> Vec<(usize, String)> {
    // Code spans end at a blank line, as CommonMark's do at a paragraph's end.
    let prose = prose_lines(markdown).join("\n").split("\n\n").map(without_code_spans).collect::<Vec<_>>().join("\n\n");
    let mut out = Vec::new();
    for (number, line) in prose.lines().enumerate() {
        let trimmed = line.trim_start();
        if let (Some(rest), true) = (trimmed.strip_prefix('['), line.len() - trimmed.len() <= 3) {
            if let Some(target) = rest.find(']').and_then(|end| rest[end + 1..].strip_prefix(':')) {
                if let Some(target) = target.split_whitespace().next() {
                    out.push((number + 1, target.trim_matches(['<', '>']).to_string()));
                }
            }
        }
    }
    let bytes = prose.as_bytes();
    for (at, _) in prose.match_indices("](") {
        let start = at + 2;
        let mut depth = 0usize;
        let mut end = None;
        for (i, &b) in bytes.iter().enumerate().skip(start) {
            match b {
                b'(' => depth += 1,
                b')' if depth == 0 => {
                    end = Some(i);
                    break;
                }
                b')' => depth -= 1,
                b'\n' => break,
                _ => {}
            }
        }
        let Some(end) = end else { continue };
        let inside = prose[start..end].trim();
        let target = match inside.strip_prefix('<') {
            Some(quoted) => quoted.split('>').next().unwrap_or(""),
            None => inside.split_whitespace().next().unwrap_or(""),
        };
        let line = prose[..at].matches('\n').count() + 1;
        out.push((line, target.to_string()));
    }
    out.sort();
    out
}

/// A target with a scheme (`https:`, `mailto:`) is not a file in the
/// repository and is not checked here.
fn is_external(target: &str) -> bool {
    let Some((scheme, _)) = target.split_once(':') else { return false };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
}

/// `%20` and the like, as a browser decodes a link's path.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `base/target` with `.` and `..` resolved; `None` when it leaves the root.
fn joined(base: &Path, target: &str) -> Option<PathBuf> {
    let path = base.join(target);
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// Checks one link written in `file` (relative to the root). `anchors_of`
/// caches each page's anchors.
fn check_target(
    tree: &dyn Tree,
    file: &Path,
    target: &str,
    anchors_of: &mut BTreeMap<PathBuf, Option<HashSet<String>>>,
) -> Result<(), String> {
    let (path, fragment) = match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    };
    let resolved = if path.is_empty() {
        file.to_path_buf()
    } else {
        let base = file.parent().unwrap_or(Path::new(""));
        joined(base, &percent_decoded(path)).ok_or("leaves the repository")?
    };
    if !tree.exists(&resolved) {
        return Err(format!("no file {}", resolved.display()));
    }
    let Some(fragment) = fragment else { return Ok(()) };
    // Anchors are checked in Markdown pages only (a `#L10` into code is GitHub's own).
    if resolved.extension().and_then(|e| e.to_str()) != Some("md") {
        return Ok(());
    }
    let page = anchors_of.entry(resolved.clone()).or_insert_with(|| tree.read(&resolved).map(|text| anchors(&text)));
    match page {
        Some(known) if known.contains(&percent_decoded(fragment)) => Ok(()),
        Some(_) => Err(format!("no heading #{fragment} in {}", resolved.display())),
        None => Err(format!("{} cannot be read", resolved.display())),
    }
}

/// Every broken link in `pages` (Markdown files, relative to the root).
fn broken_links(tree: &dyn Tree, pages: &[PathBuf]) -> Vec<Broken> {
    let mut anchors_of = BTreeMap::new();
    let mut broken = Vec::new();
    for page in pages {
        let Some(text) = tree.read(page) else {
            broken.push(Broken { file: page.clone(), line: 0, target: String::new(), why: "cannot be read".into() });
            continue;
        };
        for (line, target) in links(&text) {
            if target.is_empty() || is_external(&target) {
                continue;
            }
            if let Err(why) = check_target(tree, page, &target, &mut anchors_of) {
                broken.push(Broken { file: page.clone(), line, target, why });
            }
        }
    }
    broken
}

/// Citations of pages in a source file's text, with their lines:
/// `docs/<path>.md` or a top-level page (`CONTRIBUTING.md`), optionally
/// with `#anchor`, as comments write them (relative to the repository root).
fn docs_citations(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let starts = |line: &str| {
        let mut at: Vec<usize> = line.match_indices("docs/").map(|(i, _)| i).collect();
        for page in TOP_PAGES {
            at.extend(line.match_indices(page).map(|(i, _)| i));
        }
        at.sort_unstable();
        at
    };
    for (number, line) in text.lines().enumerate() {
        for at in starts(line) {
            let before = line[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || "/._-".contains(c)) {
                continue;
            }
            let cited: String = line[at..].chars().take_while(|c| c.is_alphanumeric() || "/._-#".contains(*c)).collect();
            let cited = cited.trim_end_matches(['.', '#']);
            let path_end = cited.find('#').unwrap_or(cited.len());
            if cited[..path_end].ends_with(".md") {
                out.push((number + 1, cited.to_string()));
            }
        }
    }
    out
}

/// Every broken citation of a page in `sources` (relative to the root).
fn broken_citations(tree: &dyn Tree, sources: &[PathBuf]) -> Vec<Broken> {
    let mut anchors_of = BTreeMap::new();
    let mut broken = Vec::new();
    for source in sources {
        let Some(text) = tree.read(source) else { continue };
        for (line, cited) in docs_citations(&text) {
            // A citation is relative to the root, as if written in a page there.
            if let Err(why) = check_target(tree, Path::new("CITATION"), &cited, &mut anchors_of) {
                broken.push(Broken { file: source.clone(), line, target: cited, why });
            }
        }
    }
    broken
}

/// Files under `dir` (relative to `root`), recursively, skipping
/// `SKIPPED_DIRS`, sorted; only those `keep` accepts.
fn files_under(root: &Path, dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(root.join(dir)) else { return out };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let relative = dir.join(&name);
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if !SKIPPED_DIRS.iter().any(|s| name == *s) && !name.to_string_lossy().starts_with('.') {
                out.extend(files_under(root, &relative, keep));
            }
        } else if kind.is_file() && keep(&relative) {
            out.push(relative);
        }
    }
    out.sort();
    out
}

/// The pages the check covers: the top-level pages and `docs/**/*.md`.
fn documentation_pages(root: &Path) -> Vec<PathBuf> {
    let is_markdown = |p: &Path| p.extension().is_some_and(|e| e == "md");
    let mut pages: Vec<PathBuf> = TOP_PAGES.iter().map(PathBuf::from).collect();
    pages.extend(files_under(root, Path::new(DOCS_DIR), &is_markdown));
    pages
}

/// The text files of the code that may cite docs (not Markdown: pages are
/// checked as pages).
fn code_files(root: &Path) -> Vec<PathBuf> {
    let is_code = |p: &Path| !p.extension().is_some_and(|e| e == "md" || e == "png" || e == "svg" || e == "wasm");
    let is_code = |p: &Path| is_code(p) && p != Path::new(THIS_FILE);
    CODE_DIRS.iter().flat_map(|dir| files_under(root, Path::new(dir), &is_code)).collect()
}

/// The pages under `docs/` that `README.md` does not link to (the quick
/// links are how a newcomer finds every page).
fn pages_missing_from_readme(tree: &dyn Tree, pages: &[PathBuf]) -> Vec<PathBuf> {
    let readme = tree.read(Path::new("README.md")).unwrap_or_default();
    let linked: HashSet<PathBuf> = links(&readme)
        .into_iter()
        .filter_map(|(_, target)| joined(Path::new(""), &percent_decoded(target.split('#').next().unwrap_or(""))))
        .collect();
    pages.iter().filter(|p| p.starts_with(DOCS_DIR) && !linked.contains(*p)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small repository in memory: paths and their texts (directories are
    /// implied by the paths).
    struct Memory(BTreeMap<PathBuf, &'static str>);

    impl Memory {
        fn new(files: &[(&str, &'static str)]) -> Memory {
            Memory(files.iter().map(|(p, t)| (PathBuf::from(p), *t)).collect())
        }
    }

    impl Tree for Memory {
        fn read(&self, path: &Path) -> Option<String> {
            self.0.get(path).map(|t| t.to_string())
        }
        fn exists(&self, path: &Path) -> bool {
            path.as_os_str().is_empty() || self.0.keys().any(|p| p.starts_with(path))
        }
    }

    fn report(broken: &[Broken]) -> String {
        broken.iter().map(|b| format!("\n  {b}")).collect()
    }

    #[test]
    fn every_relative_link_in_the_documentation_resolves() {
        let root = crate::root();
        let pages = documentation_pages(&root);
        assert!(pages.len() > TOP_PAGES.len(), "no pages found under docs/");
        let broken = broken_links(&Disk(&root), &pages);
        assert!(broken.is_empty(), "broken links in the documentation:{}", report(&broken));
    }

    #[test]
    fn the_readme_links_every_docs_page() {
        let root = crate::root();
        let missing = pages_missing_from_readme(&Disk(&root), &documentation_pages(&root));
        assert!(missing.is_empty(), "pages README.md's documentation quick links do not list: {missing:?}");
    }

    #[test]
    fn a_docs_page_the_readme_does_not_link_is_named() {
        let tree = Memory::new(&[
            ("README.md", "[Guide](docs/guide.md#top) and [design](docs/design/a.md)"),
            ("docs/guide.md", "# Top"),
            ("docs/design/a.md", ""),
            ("docs/orphan.md", ""),
        ]);
        let pages = ["README.md", "docs/design/a.md", "docs/guide.md", "docs/orphan.md"].map(PathBuf::from);
        assert_eq!(pages_missing_from_readme(&tree, &pages), [PathBuf::from("docs/orphan.md")]);
    }

    #[test]
    fn every_docs_page_the_code_cites_exists_with_its_heading() {
        let root = crate::root();
        let sources = code_files(&root);
        assert!(sources.iter().any(|p| p.ends_with("alert/mod.rs")), "the core's sources were not found");
        let broken = broken_citations(&Disk(&root), &sources);
        assert!(broken.is_empty(), "citations of docs that do not resolve:{}", report(&broken));
    }

    #[test]
    fn anchors_follow_githubs_rule() {
        let table = [
            ("How it decides", "how-it-decides"),
            ("Versions and `known_leak`", "versions-and-known_leak"),
            ("/jsz snapshots: reserved storage", "jsz-snapshots-reserved-storage"),
            ("/jsz snapshots: `exec` and `curl`", "jsz-snapshots-exec-and-curl"),
            ("`cargo xtask test`", "cargo-xtask-test"),
            ("Fluent Bit `filter_wasm`", "fluent-bit-filter_wasm"),
            ("The 6455 mechanism", "the-6455-mechanism"),
            ("Reset-loop alert fields", "reset-loop-alert-fields"),
            ("R3 -> R1 -> R3", "r3---r1---r3"),
            ("C++ & Rust", "c--rust"),
            ("two  spaces", "two--spaces"),
            ("  padded  ", "padded"),
            ("Ünïcödé Straße", "ünïcödé-straße"),
            ("A [link](other.md#x) in a heading", "a-link-in-a-heading"),
            ("C# notes", "c-notes"),
            ("What's new? (2.10.26)", "whats-new-21026"),
        ];
        for (heading, expected) in table {
            assert_eq!(anchor(heading), expected, "heading {heading:?}");
        }
    }

    #[test]
    fn headings_are_read_as_github_reads_them() {
        let page = "# Title\n## Tested\ntext\n## Tested\n### Tested ##\n####### not a heading\n#hashtag\n    # indented code\n```\n## in a fence\n```\n  ~~~~\n## in another fence\n~~~~\n## After #\n## C# notes";
        let mut found: Vec<String> = anchors(page).into_iter().collect();
        found.sort();
        assert_eq!(found, ["after", "c-notes", "tested", "tested-1", "tested-2", "title"]);
    }

    #[test]
    fn links_outside_code_are_found_with_their_lines() {
        let page = "See [a](a.md) and ![b](img/b.png \"title\").\n`[not](code.md)` and ``[nor](this.md)``\n```\n[fenced](no.md)\n```\n[ref]: ref.md\n[![badge](badge.svg)](<with space.md>)\n[c](https://example.com) [d](#here)";
        let found = links(page);
        let found: Vec<(usize, &str)> = found.iter().map(|(l, t)| (*l, t.as_str())).collect();
        assert_eq!(
            found,
            [
                (1, "a.md"),
                (1, "img/b.png"),
                (6, "ref.md"),
                (7, "badge.svg"),
                (7, "with space.md"),
                (8, "#here"),
                (8, "https://example.com")
            ]
        );
    }

    #[test]
    fn a_broken_link_or_anchor_fails_the_check() {
        let tree = Memory::new(&[
            ("README.md", "# Top\n[guide](guide/a.md#first) [gone](guide/gone.md) [bad anchor](guide/a.md#nowhere)\n[up and out](../outside.md) [web](https://example.com) [self](#top) [self bad](#bottom)\n`[in code](missing.md)`"),
            ("guide/a.md", "## First\n[back](../README.md#top) [picture](pic.svg) [no picture](gone.svg) [dir](.)"),
            ("guide/pic.svg", "<svg/>"),
        ]);
        let pages = [PathBuf::from("README.md"), PathBuf::from("guide/a.md")];
        let found: Vec<(String, usize, String)> =
            broken_links(&tree, &pages).into_iter().map(|b| (b.file.display().to_string(), b.line, b.target)).collect();
        let expected = [
            ("README.md", 2, "guide/a.md#nowhere"),
            ("README.md", 2, "guide/gone.md"),
            ("README.md", 3, "#bottom"),
            ("README.md", 3, "../outside.md"),
            ("guide/a.md", 2, "gone.svg"),
        ];
        let expected: Vec<(String, usize, String)> =
            expected.iter().map(|(f, l, t)| (f.to_string(), *l, t.to_string())).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn a_citation_in_the_code_of_a_missing_page_or_heading_fails_the_check() {
        let tree = Memory::new(&[
            ("docs/alerts.md", "# Alerts\n## Reset-loop alert fields"),
            ("README.md", "# Top"),
            (
                "src/alert.rs",
                "//! Fields: docs/alerts.md#reset-loop-alert-fields.\n// see docs/alerts.md, and docs/gone.md\n// docs/alerts.md#no-such-heading\nlet url = \"https://example.com/docs/other.md\";\n// README.md#top, (README.md#bottom), tests/data/README.md",
            ),
        ]);
        let found: Vec<(usize, String)> =
            broken_citations(&tree, &[PathBuf::from("src/alert.rs")]).into_iter().map(|b| (b.line, b.target)).collect();
        let expected = [(2, "docs/gone.md"), (3, "docs/alerts.md#no-such-heading"), (5, "README.md#bottom")];
        assert_eq!(found, expected.map(|(l, t)| (l, t.to_string())));
    }

    #[test]
    fn paths_are_resolved_inside_the_repository_only() {
        assert_eq!(joined(Path::new("docs/design"), "../alerts.md"), Some(PathBuf::from("docs/alerts.md")));
        assert_eq!(joined(Path::new("docs"), "./tools.md"), Some(PathBuf::from("docs/tools.md")));
        assert_eq!(joined(Path::new(""), "../x.md"), None);
        assert_eq!(percent_decoded("with%20space.md"), "with space.md");
        assert!(is_external("https://github.com/nats-io/nats-server"));
        assert!(is_external("mailto:someone@example.com"));
        assert!(!is_external("docs/alerts.md#a:b"));
    }
}
