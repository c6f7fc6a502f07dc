//! Structural rules checked on the source text.

use std::path::Path;

fn sources() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "rs") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read_to_string(&p).unwrap()));
        }
    }
    assert!(out.len() > 5, "found the sources");
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

/// Spelled in two pieces so that this file's own text is not an unsafe block to line scanners.
const UNSAFE_BLOCK: &str = concat!("unsafe", " {");

/// `unsafe` lives only in named modules, and every block carries a SAFETY comment.
#[test]
fn unsafe_is_confined_and_justified() {
    for (name, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap();
            if code.contains(UNSAFE_BLOCK) || code.contains("unsafe impl") {
                assert_eq!(
                    name,
                    "shard_array.rs",
                    "{name}:{}: unsafe outside shard_array",
                    i + 1
                );
                let window = &lines[i.saturating_sub(4)..=i];
                assert!(
                    window.iter().any(|l| l.contains("SAFETY:")) || line.contains("SAFETY"),
                    "{name}:{}: unsafe without a SAFETY comment",
                    i + 1
                );
            }
        }
    }
}
