//! Checks on the top-level README that a reader relies on: it stays short (≤ 250 lines; long
//! material lives in the `docs` modules), every relative link in it (and in the other READMEs
//! it sends readers to) names a file that exists, and its test command is the one CI runs.
//! The README's Rust code blocks are compiled and run as doc tests (`tachymeter::docs::Readme`).

use std::path::{Path, PathBuf};

const MAX_README_LINES: usize = 250;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The targets of the inline links `[text](target)` outside fenced code blocks.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    targets
}

/// The relative links of `markdown` (a file in `dir`) whose file does not exist.
fn broken_links(markdown: &str, dir: &Path) -> Vec<String> {
    link_targets(markdown)
        .into_iter()
        .filter(|t| {
            !(t.starts_with("http://")
                || t.starts_with("https://")
                || t.starts_with("mailto:")
                || t.starts_with('#'))
        })
        .filter(|t| {
            let file = t.split('#').next().unwrap_or_default();
            file.is_empty() || !dir.join(file).exists()
        })
        .collect()
}

#[test]
fn readme_is_at_most_250_lines() {
    let lines = read(&root().join("README.md")).lines().count();
    assert!(
        lines <= MAX_README_LINES,
        "README.md has {lines} lines (at most {MAX_README_LINES}): move long material into a \
         docs module (crates/*/src/docs/*.md)"
    );
}

#[test]
fn readme_links_resolve() {
    let root = root();
    let readme = read(&root.join("README.md"));
    assert!(
        link_targets(&readme).len() >= 10,
        "the link parser found too few links in README.md: {:?}",
        link_targets(&readme)
    );
    let broken = broken_links(&readme, &root);
    assert!(
        broken.is_empty(),
        "README.md links to missing files: {broken:?}"
    );
    // The READMEs it sends readers to.
    for other in ["benches/README.md", "crates/tachymeter-cli/README.md"] {
        let path = root.join(other);
        let broken = broken_links(&read(&path), path.parent().unwrap());
        assert!(
            broken.is_empty(),
            "{other} links to missing files: {broken:?}"
        );
    }
}

#[test]
fn link_check_reports_missing_files() {
    let root = root();
    let md = "[ok](README.md) [web](https://example.invalid/x) [anchor](#guarantees)\n\
              [gone](no/such/file.md) [frag](README.md#what) [gone too](missing.md#x)\n\
              ```sh\n[in code](not/checked.md)\n```\n";
    assert_eq!(broken_links(md, &root), ["no/such/file.md", "missing.md#x"]);
}

#[test]
fn readme_test_command_is_the_ci_command() {
    let root = root();
    let script = read(&root.join(".ci/test.sh"));
    let command = script
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with("cargo "))
        .expect(".ci/test.sh runs a cargo command");
    let readme = read(&root.join("README.md"));
    let given = readme.lines().any(|l| {
        l.trim_start()
            .strip_prefix(command)
            .map(str::trim_start)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('#'))
    });
    assert!(
        given,
        "README.md does not give .ci/test.sh's command `{command}` on a line of its own"
    );
}
