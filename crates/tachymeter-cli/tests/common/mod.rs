//! Helpers shared by the CLI's integration tests (each test binary compiles this module and
//! uses what it needs).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command};

/// The `tachymeter` binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tachymeter"))
}

/// A child process, killed and reaped on drop (also when an assertion fails).
pub struct Kill(pub Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty `tachymeter-test-{tag}-{pid}` under the system temp directory.
    pub fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("tachymeter-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
