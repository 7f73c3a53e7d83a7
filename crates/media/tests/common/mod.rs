//! What the media tests share: whether ffmpeg is installed, and synthetic inputs made with it.
#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "each test file uses a part; a test fails loudly on the first unexpected error"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether ffmpeg runs; prints why a test is skipped when it does not.
pub fn have_ffmpeg() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("skipped: ffmpeg not installed (scripts/setup.sh installs it)");
    }
    ok
}

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
