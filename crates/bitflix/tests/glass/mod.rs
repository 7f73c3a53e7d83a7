//! Glass-to-glass latency of a live stream (BENCHMARKS.md "Live"): `bitflix live --source
//! lavfi:clock` burns the capture time into every frame (`media::live::clock`); headless
//! Chromium reads it back from each frame it presents (`requestVideoFrameCallback` and a canvas)
//! and the latency is the presentation time less the capture time, one clock for both. Per
//! chunk, the stages: capture and encode (ffmpeg closes a chunk's files once its last frame is in,
//! so this holds the chunk's length), broadcast (`--timings`), mempool to gateway (the index's
//! arrival time), gateway to player (the event that announced the chunk), fetch and append, and
//! the player's buffer (until its first frame is shown). GLASS_SECONDS (default 300) of stream,
//! in chunks of GLASS_CHUNK (default 2s), a block every GLASS_BLOCK_EVERY (default 30s); the
//! figures go to stdout and target/artifacts/glass-CHUNK.json.

use super::{manifest, state, PLAYING};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use testkit::browser::Browser;
use testkit::live::{live_id, LiveRig};

/// Collect `[media ms, shown Unix ms, Gray code or null]` for each frame presented while live.
const COLLECT: &str = r#"(() => {
  const v = document.getElementById('v');
  const c = document.createElement('canvas');
  const frames = [];
  window.glassFrames = frames;
  const read = (d, w, bw, bh) => {
    const lum = (x, y) => { const i = (y * w + x) * 4; return 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]; };
    let g = 0;
    for (let b = 0; b < 16; b++) {
      const x = b * bw + (bw >> 1);
      const one = lum(x, bh >> 1) >= 128;
      const other = lum(x, bh + (bh >> 1)) >= 128;
      if (one === other) return null;
      g = g * 2 + (one ? 1 : 0);
    }
    return g;
  };
  const step = (now, md) => {
    if (v.dataset.live !== '1') return;
    const w = v.videoWidth, h = v.videoHeight;
    if (w && h) {
      const bw = Math.max(1, Math.floor(w / 16)), bh = Math.max(1, Math.floor(h / 9));
      if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
      const x = c.getContext('2d', { willReadFrequently: true });
      x.drawImage(v, 0, 0, w, h);
      const d = x.getImageData(0, 0, w, 2 * bh).data;
      frames.push([md.mediaTime * 1000, performance.timeOrigin + md.expectedDisplayTime, read(d, w, bw, bh)]);
      if (frames.length > 50000) frames.shift();
    }
    v.requestVideoFrameCallback(step);
  };
  v.requestVideoFrameCallback(step);
  return true;
})()"#;

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

pub fn run() {
    if !testkit::have_chromium() || !testkit::have_ffmpeg() {
        return;
    }
    let secs = env_or("GLASS_SECONDS", "300");
    let block_every = env_or("GLASS_BLOCK_EVERY", "30s");
    let mut rig = LiveRig::start(&testkit::bitflix!(), &block_every);
    let core = rig.core();
    let gw = rig.serve("viewer", &core);
    let timings = rig.path("timings.jsonl");
    let chunk = env_or("GLASS_CHUNK", "2s");
    let live = rig.go_live(&[
        "--chunk",
        &chunk,
        "--source",
        "lavfi:clock",
        "--title",
        "Clock",
        "--feerate",
        "1",
        "--duration",
        &secs,
        "--timings",
        timings.to_str().unwrap(),
    ]);
    let id = live_id(&gw, Duration::from_secs(120))
        .unwrap_or_else(|| panic!("no live stream listed: {}", rig.live_stderr()));
    let browser = Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut page = browser.open(&format!("{gw}/watch/{id}")).unwrap();
    page.wait_for(PLAYING, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}: {}", state(&mut page)));
    page.eval(COLLECT).unwrap();
    let out = live.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", rig.live_stderr());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let frames = page.eval("window.glassFrames").unwrap();
    let times = page.eval("window.bitflixLiveTimes()").unwrap();
    let m = manifest(&gw, &id).unwrap();
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    let _ = page.screenshot(&shots.join("glass.png"));
    let lines: Vec<Value> = std::fs::read_to_string(&timings)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let figures = analyse(&frames, &times, &m, &lines);
    println!("{}", serde_json::to_string_pretty(&figures).unwrap());
    let all = json!({ "figures": figures, "report": report, "seconds": secs, "chunk": chunk, "block_every": block_every });
    std::fs::write(
        shots.join(format!("glass-{chunk}.json")),
        serde_json::to_string_pretty(&all).unwrap(),
    )
    .unwrap();
}

/// One frame presented: its media time, when it was shown, and when it was captured.
struct Frame {
    media_ms: f64,
    shown: f64,
    captured: Option<f64>,
}

fn analyse(frames: &Value, times: &Value, m: &Value, lines: &[Value]) -> Value {
    let frames: Vec<Frame> = frames
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let shown = f[1].as_f64().unwrap();
            let captured = f[2].as_u64().map(|g| {
                let code = media::live::clock::from_gray(g as u16);
                media::live::clock::captured_at(code, shown as u64) as f64
            });
            Frame {
                media_ms: f[0].as_f64().unwrap(),
                shown,
                captured,
            }
        })
        .collect();
    // The first 10 s of playing are the join, not the steady state.
    let start = frames.first().map_or(0.0, |f| f.shown) + 10_000.0;
    let steady: Vec<&Frame> = frames.iter().filter(|f| f.shown >= start).collect();
    let mut lat: Vec<f64> = steady
        .iter()
        .filter_map(|f| f.captured.map(|c| f.shown - c))
        .collect();
    let unreadable = steady.iter().filter(|f| f.captured.is_none()).count();
    // The capture time of media time 0: the median of (captured - media time).
    let mut offsets: Vec<f64> = steady
        .iter()
        .filter_map(|f| f.captured.map(|c| c - f.media_ms))
        .collect();
    let origin = pct(&mut offsets, 0.5);

    let arrived: BTreeMap<u64, f64> = m["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| Some((c["index"].as_u64()?, c["arrived_unix_ms"].as_f64()?)))
        .collect();
    let player: BTreeMap<u64, &Value> = times
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| Some((t["index"].as_u64()?, t)))
        .collect();
    let names = [
        "capture and encode (holds the chunk's length)",
        "broadcast",
        "mempool to gateway",
        "gateway to player",
        "fetch and append",
        "player buffer",
        "first frame of the chunk, glass to glass",
    ];
    let mut stages: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for l in lines {
        let (Some(first), Some(start_ms), Some(len)) = (
            l["first_index"].as_u64(),
            l["start_ms"].as_f64(),
            l["media_ms"].as_f64(),
        ) else {
            continue;
        };
        let shown = steady
            .iter()
            .filter(|f| f.media_ms >= start_ms - 1.0 && f.media_ms < start_ms + len)
            .map(|f| f.shown)
            .reduce(f64::min);
        let p = player.get(&first);
        let stamps = [
            Some(origin + start_ms),
            l["ready_unix_ms"].as_f64(),
            l["accepted_unix_ms"].as_f64(),
            arrived.get(&first).copied(),
            p.and_then(|t| t["announced_unix_ms"].as_f64()),
            p.and_then(|t| t["appended_unix_ms"].as_f64()),
            shown,
        ];
        if stamps.iter().any(Option::is_none) || !origin.is_finite() {
            continue;
        }
        let s: Vec<f64> = stamps.iter().map(|x| x.unwrap_or(0.0)).collect();
        for (stage, w) in stages.iter_mut().zip(s.windows(2)) {
            stage.push(w[1] - w[0]);
        }
        stages[6].push(s[6] - s[0]);
    }
    let chunks = stages[0].len();
    let rows: Vec<Value> = names
        .iter()
        .zip(stages.iter_mut())
        .map(|(n, v)| json!({ "stage": n, "p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95) }))
        .collect();
    let frames_read = lat.len();
    json!({
        "glass_to_glass_ms": { "p50": pct(&mut lat, 0.5), "p95": pct(&mut lat, 0.95), "max": pct(&mut lat, 1.0) },
        "frames": frames_read,
        "frames_unreadable": unreadable,
        "chunks_with_every_stamp": chunks,
        "stages": rows,
    })
}
