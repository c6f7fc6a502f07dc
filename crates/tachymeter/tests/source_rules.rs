//! Structural rules checked on the source text, where no lint can do the job.
//!
//! The `sync` shim re-exports `std`'s atomics, so clippy's `disallowed-types` (which resolves a
//! path to its definition) would flag the shim's own re-exports everywhere: the rule "only
//! `sync.rs` names `std::sync::atomic`" is about the path written, so it is checked on the text.
//! The unsafe rules are lints instead: the crate is `#![deny(unsafe_code)]` with two
//! `#[allow(unsafe_code)]` modules (`shard_array`, `zeroed`), and the workspace denies
//! `clippy::undocumented_unsafe_blocks` and `unsafe_op_in_unsafe_fn`.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p: PathBuf = entry.unwrap().path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
            let name = p.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

/// Every `.rs` file under `src/`, with its path relative to `src/`.
fn sources() -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    assert!(
        out.iter().any(|(n, _)| n.starts_with("kind/counter/")),
        "found the sources in nested subdirectories too"
    );
    out
}

/// Every module but `sync.rs` goes through the shim, so the same code builds under loom.
#[test]
fn sync_shim_is_the_only_door() {
    let forbidden = [
        "std::sync::atomic",
        "loom::",
        "std::thread_local",
        "std::cell::UnsafeCell",
        "arc_swap",
    ];
    for (name, text) in sources() {
        if name == "sync.rs" {
            continue;
        }
        for f in forbidden {
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap();
                assert!(
                    !code.contains(f),
                    "{name}:{}: names `{f}` outside the sync shim",
                    i + 1
                );
            }
        }
        if text.contains("thread_local! {") {
            assert!(
                text.contains("use crate::sync::thread_local;"),
                "{name}: thread_local! must come from the sync shim"
            );
        }
    }
}
