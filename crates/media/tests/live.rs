//! The live encoder on ffmpeg's test pattern, accelerated, with each AV1 encoder: chunks come one
//! by one, each starts with a keyframe, their timestamps advance by the chunk length, the chunks
//! in order are one CVPM stream with video and audio, near the rate asked.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use media::live::{Continue, LiveCodec, LiveConfig, LiveEncoder};

#[test]
fn test_pattern_chunks_make_one_stream_with_libaom() {
    chunks_make_one_stream(LiveCodec::Aom);
}

#[test]
fn test_pattern_chunks_make_one_stream_with_svt_av1() {
    chunks_make_one_stream(LiveCodec::Svt);
}

fn chunks_make_one_stream(codec: LiveCodec) {
    if !testkit::have_ffmpeg() {
        return;
    }
    let cfg = LiveConfig {
        codec,
        chunk_ms: 2000,
        width: 128,
        height: 72,
        realtime: false,
        max_seconds: Some(10.0),
        ..LiveConfig::default()
    };
    let mut enc = LiveEncoder::start(&cfg, Continue::default()).unwrap();
    let mut chunks = Vec::new();
    while let Some(c) = enc.next_chunk(&|| false).unwrap() {
        chunks.push(c);
    }
    assert!(chunks.len() >= 5, "{} chunks", chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        let want = i as u64 * 2000;
        assert!(
            c.start_ms.abs_diff(want) <= 150,
            "chunk {i} at {} ms",
            c.start_ms
        );
    }
    let all: Vec<u8> = chunks.iter().flat_map(|c| c.bytes.clone()).collect();
    // 10 s at 24 kbit/s is 30,000 bytes; a real-time encoder keeps to it loosely (no second pass).
    let kbps = all.len() as f64 * 8.0 / 10.0 / 1000.0;
    eprintln!(
        "{codec:?}: {} chunks, {} bytes, {kbps:.1} kbit/s",
        chunks.len(),
        all.len()
    );
    assert!(
        (12.0..=36.0).contains(&kbps),
        "{codec:?}: {kbps:.1} kbit/s for 24"
    );
    let s = media::format::Stream::decode(&all).unwrap();
    assert!(s.audio.is_some() && s.video.is_some());
    // Every chunk's first video packet is a keyframe.
    let mut at = 0;
    for c in &chunks {
        let prefix = &all[..at + c.bytes.len()];
        let before =
            media::format::Stream::decode(&all[..at.max(1)]).map_or(0, |s| s.packets.len());
        let upto = media::format::Stream::decode(prefix).unwrap();
        let first_video = upto.packets[if at == 0 { 0 } else { before }..]
            .iter()
            .find(|p| !p.audio)
            .unwrap();
        assert!(first_video.keyframe);
        at += c.bytes.len();
    }
    // A restarted encoder continues the timeline.
    let from = Continue::of_stream(&all).unwrap();
    assert!(from.video_frames >= 90, "{} frames", from.video_frames);
}
