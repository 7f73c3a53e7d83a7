//! The live encoder on ffmpeg's test pattern, accelerated, with each AV1 encoder: chunks come one
//! by one, each starts with a keyframe, their timestamps advance by the chunk length, the chunks
//! in order are one CVPM stream with video and audio, near the rate asked. And on a network
//! ingest in real time, a second ffmpeg sending as OBS would (`testkit::send_test_pattern`): over
//! SRT until the sender stops, over RTMP until the encoder's duration; a listener with no sender
//! waits until it is stopped.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use media::format::Stream;
use media::live::{Continue, LiveCodec, LiveConfig, LiveEncoder, MediaChunk, Source};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
    let chunks = all_chunks(&mut enc, Duration::from_secs(120));
    assert!(chunks.len() >= 5, "{} chunks", chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        let want = i as u64 * 2000;
        assert!(
            c.start_ms.abs_diff(want) <= 150,
            "chunk {i} at {} ms",
            c.start_ms
        );
    }
    let all = each_chunk_decodes(&chunks, enc.header().unwrap(), 2000);
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
    // A restarted encoder continues the timeline.
    let from = Continue::of_stream(&all).unwrap();
    assert!(from.video_frames >= 90, "{} frames", from.video_frames);
}

#[test]
fn a_file_is_chunked_at_its_own_pace() {
    if !testkit::have_ffmpeg() {
        return;
    }
    // The bundled clip: 5.3 s of 720p H.264 with 6-channel AAC, played as it would be watched.
    let clip =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/bigbuckbunny.mp4");
    let cfg = LiveConfig {
        source: media::live::Source::File(clip),
        ..LiveConfig::default()
    };
    let t0 = Instant::now();
    let mut enc = LiveEncoder::start(&cfg, Continue::default()).unwrap();
    let chunks = all_chunks(&mut enc, Duration::from_secs(30));
    assert!(
        t0.elapsed() >= Duration::from_secs(4),
        "read at its own pace, not as fast as it decodes: {:?}",
        t0.elapsed()
    );
    assert_chunks(&chunks, 3);
    each_chunk_decodes(&chunks, enc.header().unwrap(), 2000);
}

#[test]
fn an_srt_ingest_is_chunked_until_its_sender_stops() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let port = testkit::free_port();
    let mut enc = LiveEncoder::start(
        &ingest(format!("srt://127.0.0.1:{port}?mode=listener"), None),
        Continue::default(),
    )
    .unwrap();
    let sender = send(format!("srt://127.0.0.1:{port}?mode=caller"), 9.0);
    let chunks = all_chunks(&mut enc, Duration::from_secs(20));
    let sent = sender.join().unwrap();
    assert!(sent.clean, "the sender failed: {}", sent.stderr);
    // 9 s in 2 s chunks: four whole ones and a last of 1 s.
    assert_chunks(&chunks, 5);
    each_chunk_decodes(&chunks, enc.header().unwrap(), 2000);
}

#[test]
fn an_rtmp_ingest_is_chunked_until_the_encoders_duration() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let port = testkit::free_port();
    let mut enc = LiveEncoder::start(
        &ingest(format!("rtmp://127.0.0.1:{port}/live/test"), Some(8.0)),
        Continue::default(),
    )
    .unwrap();
    let sender = send(format!("rtmp://127.0.0.1:{port}/live/test"), 30.0);
    let chunks = all_chunks(&mut enc, Duration::from_secs(20));
    let sent = sender.join().unwrap();
    // The listener closed the connection at its duration, long before the sender was done.
    assert!(
        !sent.clean && sent.ran < Duration::from_secs(20),
        "the sender ran {:?}",
        sent.ran
    );
    assert_chunks(&chunks, 4);
    each_chunk_decodes(&chunks, enc.header().unwrap(), 2000);
}

#[test]
fn an_ingest_without_a_sender_waits_until_stopped() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let port = testkit::free_port();
    let mut enc = LiveEncoder::start(
        &ingest(format!("rtmp://127.0.0.1:{port}/live/test"), Some(5.0)),
        Continue::default(),
    )
    .unwrap();
    let t0 = Instant::now();
    let got = enc
        .next_chunk(&|| t0.elapsed() > Duration::from_secs(1))
        .unwrap();
    assert!(got.is_none());
    let waited = t0.elapsed();
    assert!(
        (Duration::from_secs(1)..Duration::from_secs(3)).contains(&waited),
        "waited {waited:?} for a sender, stopped after 1 s"
    );
}

/// The ingest's settings: the encoder listens on `url`, 128x72 at 10 fps in 2 s chunks.
fn ingest(url: String, max_seconds: Option<f64>) -> LiveConfig {
    LiveConfig {
        source: Source::Url(url),
        width: 128,
        height: 72,
        max_seconds,
        ..LiveConfig::default()
    }
}

/// A sender in its own thread, retried until the listener is up (5 s at most).
fn send(url: String, seconds: f64) -> JoinHandle<testkit::Sent> {
    std::thread::spawn(move || testkit::send_test_pattern(&url, seconds, Duration::from_secs(5)))
}

/// Every chunk the encoder gives until its source ends, which must be within `limit`.
fn all_chunks(enc: &mut LiveEncoder, limit: Duration) -> Vec<MediaChunk> {
    let t0 = Instant::now();
    let late = || t0.elapsed() > limit;
    let mut chunks = Vec::new();
    while let Some(c) = enc.next_chunk(&late).unwrap() {
        chunks.push(c);
    }
    assert!(!late(), "the source did not end within {limit:?}");
    chunks
}

fn assert_chunks(chunks: &[MediaChunk], want: usize) {
    let starts: Vec<u64> = chunks.iter().map(|c| c.start_ms).collect();
    eprintln!("{} chunks, starting at {starts:?} ms", chunks.len());
    assert!(
        chunks.len().abs_diff(want) <= 1,
        "{} chunks for {want}, starting at {starts:?} ms",
        chunks.len()
    );
}

/// Each chunk is CVPM that decodes (the later ones after the stream's `header`), its video starting
/// with a keyframe and with sound (the last may have none: ffmpeg may close its video alone), each
/// starting `chunk_ms` after the one before; the chunks in order are one stream, returned.
fn each_chunk_decodes(chunks: &[MediaChunk], header: &[u8], chunk_ms: u64) -> Vec<u8> {
    assert!(!chunks.is_empty());
    for (i, c) in chunks.iter().enumerate() {
        let bytes = if i == 0 {
            c.bytes.clone()
        } else {
            [header, &c.bytes].concat()
        };
        let s = Stream::decode(&bytes).unwrap_or_else(|e| panic!("chunk {i}: {e}"));
        assert!(
            s.video.is_some() && s.audio.is_some(),
            "chunk {i}: {:?}, {:?}",
            s.video,
            s.audio
        );
        let first = s.packets.iter().find(|p| !p.audio);
        assert!(
            first.is_some_and(|p| p.keyframe),
            "chunk {i} starts with a keyframe"
        );
        let last = i + 1 == chunks.len();
        assert!(
            last || s.packets.iter().any(|p| p.audio),
            "chunk {i} has sound"
        );
        if i > 0 {
            let step = c.start_ms.saturating_sub(chunks[i - 1].start_ms);
            assert!(
                step.abs_diff(chunk_ms) <= 200,
                "chunk {i} starts {step} ms after the one before"
            );
        }
    }
    let all: Vec<u8> = chunks.iter().flat_map(|c| c.bytes.clone()).collect();
    let s = Stream::decode(&all).unwrap();
    assert!(s.video.is_some() && s.packets.iter().any(|p| p.audio));
    all
}
