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

/// 4 s of ffmpeg's moving test pattern at 320x240, 25 fps, no audio.
pub fn testsrc(dir: &Path) -> PathBuf {
    synth(
        dir,
        "t.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=4",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

/// The demo clip's quick settings for tests: 3 s at 160 px wide, 8 fps, 16 + 8 kbit/s, fastest.
pub fn fast() -> media::EncodeConfig {
    media::EncodeConfig {
        video_kbps: 16.0,
        audio_kbps: Some(8.0),
        width: Some(160),
        fps: Some(8),
        cpu_used: 8,
        max_seconds: Some(3.0),
        ..media::EncodeConfig::default()
    }
}

/// The size of every packet ffprobe reads from `path`, in order; ffprobe must succeed and print
/// nothing on stderr.
pub fn packet_sizes(path: &Path) -> Vec<usize> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=size",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // A line may end in a comma (side data, such as the first Opus packet's skip samples).
        .filter_map(|l| l.split(',').next()?.trim().parse().ok())
        .collect()
}

/// A synthetic clip with sound: 3 s of `testsrc2` at 320x240, 25 fps, and a 440 Hz sine.
pub fn synth_with_audio(dir: &Path, name: &str) -> PathBuf {
    synth(
        dir,
        name,
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=3",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=3",
            "-shortest",
        ],
    )
}
