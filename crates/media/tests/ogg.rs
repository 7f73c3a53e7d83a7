//! Ogg pages for packets larger than one page holds, read back by ffmpeg's own demuxer.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use media::{ogg, opus};
use std::process::Command;

/// An Opus-looking packet of `len` bytes (TOC: 60 ms SILK, one frame), the rest a pattern.
fn packet(len: usize) -> Vec<u8> {
    let mut p: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    p[0] = 3 << 3;
    p
}

#[test]
fn ffmpeg_reads_packets_that_span_pages() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let head = opus::opus_head(1, 312, 48_000);
    let tags = opus::opus_tags();
    let (small, big, exact) = (packet(120), packet(70_000), packet(65_025));
    let list: Vec<(&[u8], u64)> = vec![
        (&head, 0),
        (&tags, 0),
        (&small, 2880),
        (&big, 5760),
        (&exact, 8640),
        (&small, 11_520),
    ];
    let bytes = ogg::write(0x6269_7466, &list);
    let back = ogg::packets(&bytes).unwrap();
    assert_eq!(back.len(), list.len());
    for ((got, granule), (want, g)) in back.iter().zip(&list) {
        assert_eq!((got.as_slice(), *granule), (*want, Some(*g)));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.ogg");
    std::fs::write(&path, &bytes).unwrap();
    let sizes = common::packet_sizes(&path);
    assert_eq!(sizes, [120, 70_000, 65_025, 120], "ffprobe's packets");
    let copy = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-c", "copy", "-f", "null", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&copy.stderr);
    assert!(copy.status.success() && err.trim().is_empty(), "{err}");
}
