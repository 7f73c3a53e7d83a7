//! `lavfi:clock` through the live encoder at `bitflix live`'s rate (24 kbit/s, 256x144, 10 fps),
//! in real time: each frame, decoded by ffmpeg's own AV1 decoder (not ours), still carries a
//! readable capture time; the times advance with the frames and lie just before the chunk was
//! closed, so a latency read from them is honest.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use media::live::{clock, Continue, LiveConfig, LiveEncoder, Source};
use std::time::{SystemTime, UNIX_EPOCH};

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn the_clock_pattern_reads_back_from_every_decoded_frame() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let cfg = LiveConfig {
        source: Source::Clock,
        max_seconds: Some(6.0),
        ..LiveConfig::default()
    };
    let (w, h) = (cfg.width, cfg.height);
    let started = unix_ms();
    let mut enc = LiveEncoder::start(&cfg, Continue::default()).unwrap();
    let mut chunks = Vec::new();
    while let Some(c) = enc.next_chunk(&|| false).unwrap() {
        chunks.push((c, unix_ms()));
    }
    assert!(chunks.len() >= 2, "{} chunks", chunks.len());
    let all: Vec<u8> = chunks.iter().flat_map(|(c, _)| c.bytes.clone()).collect();
    let stream = media::format::Stream::decode(&all).unwrap();
    let dir = testkit::tempdir();
    let ivf = dir.path().join("v.ivf");
    std::fs::write(
        &ivf,
        media::ivf::of_stream(&stream, media::ivf::Start::Zero).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-c:v", "libdav1d", "-i"])
        .arg(&ivf)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = (w * h) as usize;
    let frames: Vec<&[u8]> = out.stdout.chunks_exact(size).collect();
    assert!(frames.len() >= 40, "{} frames", frames.len());
    let done = chunks.last().unwrap().1;
    let mut times = Vec::new();
    for f in &frames {
        let code = clock::read(|x, y| f[(y * w + x) as usize], w, h);
        times.push(code.map(|c| clock::captured_at(c, done)));
    }
    let read: Vec<u64> = times.iter().flatten().copied().collect();
    assert!(
        read.len() * 100 >= frames.len() * 95,
        "{} of {} frames readable",
        read.len(),
        frames.len()
    );
    // Captured while the encoder ran, in order, about a frame apart.
    for t in &read {
        assert!(
            *t + 1_000 >= started && *t <= done,
            "{t} outside {started}..{done}"
        );
    }
    for pair in read.windows(2) {
        assert!(pair[1] >= pair[0], "times go back: {pair:?}");
    }
    let span = read.last().unwrap() - read.first().unwrap();
    let expect = (read.len() as u64 - 1) * 100;
    assert!(
        span.abs_diff(expect) <= 1_000,
        "{span} ms over {} frames",
        read.len()
    );
}
