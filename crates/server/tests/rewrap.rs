//! The rewrap cache under load: 50 parallel requests for one uncached film run ffmpeg once; a
//! request dropped mid-rewrap kills ffmpeg; a film that does not rewrap is not tried again at once.
//! One test function: it counts this process's ffmpeg children.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::http::StatusCode;
use common::get;
use media::format::{Audio, Packet, Stream};
use media::AudioCodec;
use server::{RewrapLimits, Rewrapper};
use std::time::{Duration, Instant};

/// A real CVPM film that takes ffmpeg a few seconds to rewrap: minutes of Codec 2 speech, which
/// it transcodes to Opus.
fn slow_film() -> Vec<u8> {
    let mut x = 0x9e37_79b9_u32;
    let packets = (0..1_000)
        .map(|_| Packet {
            audio: true,
            keyframe: true,
            ts_delta: 10 * AudioCodec::CODEC2_FRAME_SAMPLES_48K,
            data: (0..10 * AudioCodec::CODEC2_1200_FRAME_BYTES)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect(),
        })
        .collect();
    Stream {
        video: None,
        audio: Some(Audio {
            sample_rate: 8000,
            channels: 1,
            pre_skip: 0,
            codec: AudioCodec::Codec2_1200,
        }),
        packets,
    }
    .encode()
}

/// This process's ffmpeg children that have not been reaped.
fn ffmpeg_children() -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let ppid = rest.split(' ').nth(1);
        if head.ends_with("(ffmpeg") && ppid == Some(me.as_str()) {
            found.push(e.file_name().to_string_lossy().parse().unwrap());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewraps_are_bounded_shared_cancelled_and_failures_remembered() {
    let chain = common::chain();
    let film = chain.publish(51, &slow_film(), "video/x-cvpm", true);
    let broken = chain.publish(52, b"CVPM\x01 not a stream", "video/x-cvpm", true);
    let catalog = chain.catalog();
    let uri = format!("/api/content/{film}/file");

    // A request dropped mid-rewrap: ffmpeg is killed, and nothing is cached.
    let rewrap = Rewrapper::new(RewrapLimits::default());
    let app = server::app_with(catalog.clone(), server::View::default(), rewrap.clone());
    let spawn =
        |app: axum::Router, uri: String| tokio::spawn(async move { get(app, &uri, &[]).await });
    let request = spawn(app.clone(), uri.clone());
    let start = Instant::now();
    let pids = loop {
        let pids = ffmpeg_children();
        if !pids.is_empty() {
            break pids;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "ffmpeg started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(!request.is_finished(), "the rewrap is still running");
    request.abort();
    let _ = request.await;
    let start = Instant::now();
    while !ffmpeg_children().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "ffmpeg {pids:?} still runs after its only request left"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rewrap.runs(), 1);

    // 50 parallel requests for the uncached film: one ffmpeg run, one answer for all.
    let tasks: Vec<_> = (0..50).map(|_| spawn(app.clone(), uri.clone())).collect();
    let mut bodies = Vec::new();
    for t in tasks {
        let (s, h, body) = t.await.unwrap();
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h["content-type"], "video/webm");
        bodies.push(body);
    }
    assert_eq!(
        rewrap.runs(),
        2,
        "one run for 50 requests (after the cancelled one)"
    );
    assert!(bodies.iter().all(|b| b == &bodies[0]) && bodies[0].starts_with(b"\x1a\x45\xdf\xa3"));
    let (s, _, _) = get(app.clone(), &uri, &[]).await;
    assert_eq!(
        (s, rewrap.runs()),
        (StatusCode::OK, 2),
        "then served from the cache"
    );

    // A film that does not rewrap fails, and is not tried again for a while.
    let bad = format!("/api/content/{broken}/file");
    for _ in 0..3 {
        let (s, _, _) = get(app.clone(), &bad, &[]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(rewrap.runs(), 3, "the failure is remembered");
}
