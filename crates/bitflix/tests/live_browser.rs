//! A live stream in Chromium, end to end in processes (`testkit::live`): `bitflix live` on the
//! test pattern through the Core backend, `bitflix serve` reading the devnet over ZMQ and a
//! second gateway over Esplora (polling). A page opened as the stream starts plays at the live
//! edge while it is produced and goes on forward through a reorg (the devnet's `reorg` RPC) in the
//! middle of the stream; a viewer who joins 30 s in is playing within 3 s; when the stream
//! ends, the `end` record turns both pages into the recording, which plays from the start; the
//! Esplora gateway saw the chunks while the stream was live and ends with the same ones.
//!
//! `glass_to_glass` (ignored; `scripts/bench-glass.sh`, BENCHMARKS.md "Live") streams
//! `lavfi:clock`, reads the capture time off every frame Chromium presents and reports the
//! latency with its breakdown (`glass/mod.rs`).
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod glass;

use serde_json::Value;
use std::time::{Duration, Instant};
use testkit::browser::{Browser, Page};
use testkit::live::{get_json, live_id, LiveRig};

/// What the player shows, for assertions and failure messages.
const STATE: &str = "(() => { const v = document.getElementById('v'); const b = []; for (let i = 0; i < v.buffered.length; i++) b.push([v.buffered.start(i), v.buffered.end(i)]); return { t: v.currentTime, paused: v.paused, ready: v.readyState, width: v.videoWidth, buffered: b, duration: v.duration, live: v.dataset.live || null, delay_ms: v.dataset.delayMs ? Number(v.dataset.delayMs) : null, recording: v.dataset.recording || null, status: document.getElementById('status').textContent, error: v.dataset.error || null }; })()";

/// Playing: frames decoded, the playhead moving (time since navigation start, ms, when so).
const PLAYING: &str = "(() => { const v = document.getElementById('v'); return v && v.dataset.live === '1' && v.videoWidth > 0 && !v.paused && v.readyState >= 3 && v.currentTime > 0 ? performance.now() : false; })()";

fn state(p: &mut Page) -> Value {
    p.eval(STATE).unwrap_or(Value::Null)
}

/// The live manifest of `id` at gateway `url`.
fn manifest(url: &str, id: &str) -> Option<Value> {
    get_json(&format!("{url}/api/content/{id}/live"))
}

fn edge_ms(url: &str, id: &str) -> u64 {
    manifest(url, id).map_or(0, |m| m["edge_ms"].as_u64().unwrap_or(0))
}

/// The chunks a manifest lists, as (index, leaf).
fn chunks(m: &Value) -> Vec<(u64, String)> {
    m["chunks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["index"].as_u64().unwrap(),
                        c["leaf"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_live_stream_plays_at_its_edge_in_chromium_and_turns_into_its_recording() {
    if !testkit::have_chromium() || !testkit::have_ffmpeg() {
        return;
    }
    let mut rig = LiveRig::start(&testkit::bitflix!(), "5s");
    let core = rig.core();
    let esplora = rig.esplora();
    let gw = rig.serve("viewer", &core);
    let polled = rig.serve("viewer-esplora", &esplora);
    let live = rig.go_live(&[
        "--source",
        "lavfi:testsrc2",
        "--title",
        "Test pattern, live",
        "--feerate",
        "1",
        "--duration",
        "60",
    ]);
    let id = live_id(&gw, Duration::from_secs(120))
        .unwrap_or_else(|| panic!("no live stream listed: {}", rig.live_stderr()));
    let browser = Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut first = browser.open(&format!("{gw}/watch/{id}")).unwrap();
    first
        .wait_for(PLAYING, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}: {}", state(&mut first)));

    // At the live edge while the stream is produced: the playhead within a few chunks of the
    // newest chunk's end, and moving.
    let mut last_t = 0.0;
    for _ in 0..5 {
        std::thread::sleep(Duration::from_secs(2));
        let s = state(&mut first);
        let t = s["t"].as_f64().unwrap();
        let edge = edge_ms(&gw, &id) as f64 / 1000.0;
        assert!(s["live"] == "1" && s["error"].is_null(), "{s}");
        assert!(t > last_t, "the playhead moves: {s}");
        assert!(edge - t < 10.0, "at the live edge ({edge} s): {s}");
        assert!(s["delay_ms"].as_f64().is_some(), "the delay is shown: {s}");
        last_t = t;
    }

    // A reorg in the middle of the stream: the top two blocks, chunks among them, replaced by a
    // longer branch of empty ones; their transactions come back from the mempool. The player goes
    // on forward, never back to replay them.
    let height = rig.rpc("getblockcount", "[]").as_u64().unwrap();
    assert!(rig.rpc("reorg", "[2]").as_array().unwrap().len() == 3);
    assert!(rig.rpc("getblockcount", "[]").as_u64().unwrap() > height);
    for _ in 0..4 {
        std::thread::sleep(Duration::from_secs(1));
        let s = state(&mut first);
        let t = s["t"].as_f64().unwrap();
        assert!(s["live"] == "1" && s["error"].is_null(), "{s}");
        assert!(t > last_t, "forward after the reorg: {s}");
        last_t = t;
    }

    // A viewer joining 30 s in plays within 3 s of opening the page.
    let t = Instant::now();
    while edge_ms(&gw, &id) < 30_000 {
        assert!(t.elapsed() < Duration::from_secs(90), "the stream stalled");
        std::thread::sleep(Duration::from_millis(200));
    }
    let polled_live = manifest(&polled, &id).unwrap_or(Value::Null);
    let mut late = browser.open(&format!("{gw}/watch/{id}")).unwrap();
    let joined_ms = late
        .wait_for(PLAYING, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}: {}", state(&mut late)));
    let joined_ms = joined_ms.as_f64().unwrap();
    let s = state(&mut late);
    assert!(
        joined_ms <= 3000.0,
        "the late viewer plays within 3 s: {joined_ms} ms: {s}"
    );
    assert!(
        s["t"].as_f64().unwrap() >= 24.0,
        "it starts near the edge: {s}"
    );
    assert_eq!(polled_live["open"], true, "{polled_live}");
    assert!(
        chunks(&polled_live).len() >= 10,
        "the Esplora gateway sees the chunks while the stream is live: {polled_live}"
    );

    // The stream ends (its --duration): the `end` record turns the pages into the recording.
    let out = live.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", rig.live_stderr());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ended"], true, "{report}");
    let n = report["chunks"].as_u64().unwrap();
    assert!((28..=31).contains(&n), "{report}");
    for p in [&mut first, &mut late] {
        p.wait_for(
            "(() => { const v = document.getElementById('v'); return v.dataset.recording === '1' && v.duration > 55 && v.duration < 65; })()",
            Duration::from_secs(90),
        )
        .unwrap_or_else(|e| panic!("{e}: {}", state(p)));
    }
    // The recording plays from the start.
    first
        .eval("(() => { const v = document.getElementById('v'); v.currentTime = 0; return v.play().then(() => true); })()")
        .unwrap();
    first
        .wait_for(
            "(() => { const v = document.getElementById('v'); return !v.paused && v.currentTime > 1 && v.currentTime < 30; })()",
            Duration::from_secs(30),
        )
        .unwrap_or_else(|e| panic!("{e}: {}", state(&mut first)));

    // Both gateways end with the same chunks, all of them.
    let t = Instant::now();
    let (a, b) = loop {
        let a = manifest(&gw, &id).unwrap();
        let b = manifest(&polled, &id).unwrap_or(Value::Null);
        if b["recording"] == true || t.elapsed() > Duration::from_secs(60) {
            break (a, b);
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(a["recording"], true, "{a}");
    assert_eq!(b["recording"], true, "{b}");
    assert_eq!(chunks(&a), chunks(&b));
    assert_eq!(chunks(&a).len() as u64, n);
}

#[test]
#[ignore = "a benchmark: scripts/bench-glass.sh runs it (GLASS_SECONDS of stream, 300 by default)"]
fn glass_to_glass() {
    glass::run();
}
