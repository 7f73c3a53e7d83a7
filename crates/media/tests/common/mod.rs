//! What the media tests share: synthetic inputs made with ffmpeg (whether it is here is
//! `testkit::have_ffmpeg`, the one rule for external tools).
#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "each test file uses a part; a test fails loudly on the first unexpected error"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `ffmpeg -y -v error ARGS DIR/NAME`: a synthetic input (lavfi sources and their options).
pub fn synth(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut all = vec!["-y", "-v", "error"];
    all.extend(args);
    all.push(out.to_str().unwrap());
    assert!(Command::new("ffmpeg")
        .args(&all)
        .status()
        .unwrap()
        .success());
    out
}
