//! An interactive film in Chromium (docs/cvp.md, "Interactive films"): three clips of distinct
//! colours (red, then green or blue), joined into one stream and published on the devnet with
//! their clip table and a decision after the red clip. Clicking "Blue" plays the blue clip (seen
//! in the picture); letting the countdown run out plays the default, green; pressing 2 on the
//! keyboard chooses the second option; the switch is measured from presented frames: no black
//! frame, and no frame gap beyond 200 ms over the frame interval. Back and Restart replay the
//! decision. Needs ffmpeg and Debian's chromium (scripts/setup.sh).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::{chain, film_info};
use cvp::{Branch, BranchOption, ClipEntry, Clips, Record};
use std::time::Duration;
use testkit::browser::{Browser, Page};
use testkit::have_chromium;

const WAIT: Duration = Duration::from_secs(60);
/// The clips' frame rate: a frame every 83 ms.
const FPS: u32 = 12;
/// A switch may hold a frame this much longer than the frame interval, at most.
const STALL_MS: f64 = 200.0;

/// What the player did, for a failure's message.
const STATE: &str = "JSON.stringify(Object.assign(window.bitflixStory ? window.bitflixStory() : {}, { t: document.getElementById('v').currentTime, status: document.getElementById('status').textContent }))";

/// A 3 s clip of one colour, encoded by the project's encoder at fixed settings (all clips of a
/// film share them, so their keyframes carry the same sequence header).
fn clip(dir: &std::path::Path, colour: &str) -> Vec<u8> {
    let src = dir.join(format!("{colour}.mkv"));
    let ok = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("color=c={colour}:s=160x96:r={FPS}:d=3"))
        .args(["-c:v", "ffv1"])
        .arg(&src)
        .status()
        .unwrap();
    assert!(ok.success(), "ffmpeg made the {colour} clip");
    let cfg = media::encode::EncodeConfig {
        cpu_used: 8,
        width: Some(160),
        height: Some(96),
        fps: Some(FPS),
        video_kbps: 40.0,
        measure: false,
        ..Default::default()
    };
    media::encode::encode(&src, &cfg).unwrap().0.encode()
}

/// The film's stream and its lineage records: red (clip 0), green (1), blue (2); after red a
/// decision "Which colour?" between Green (the default) and Blue, with `timeout_ms`.
fn film(timeout_ms: u32) -> Option<(Vec<u8>, Vec<Record>)> {
    if !have_chromium() || !testkit::have_ffmpeg() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let clips: Vec<Vec<u8>> = ["red", "green", "blue"]
        .iter()
        .map(|c| clip(dir.path(), c))
        .collect();
    let joined = media::interactive::join(&clips).unwrap();
    let names = ["Red", "Green", "Blue"];
    let table = Record::Clips(Clips {
        clip_count: 3,
        first_clip: 0,
        clips: joined
            .starts_ms
            .iter()
            .zip(names)
            .map(|(s, n)| ClipEntry {
                start_ms: *s,
                name: n.into(),
            })
            .collect(),
    });
    let branch = Record::Branch(Branch {
        id: 1,
        at_segment: 0,
        timeout_ms,
        default_option: 0,
        prompt: "Which colour?".into(),
        options: vec![
            BranchOption {
                next_segment: 1,
                label: "Green".into(),
            },
            BranchOption {
                next_segment: 2,
                label: "Blue".into(),
            },
        ],
    });
    Some((joined.stream, vec![table, branch]))
}

fn open(timeout_ms: u32) -> Option<(common::Chain, Browser, Page)> {
    let (stream, records) = film(timeout_ms)?;
    let c = chain();
    let mut info = film_info("Colours", None);
    info.records = records;
    let id = c.publish_info(7, &stream, info, true);
    let addr = common::serve(server::app(c.catalog()), httpd::Limits::default());
    let browser = Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut page = browser.open(&format!("http://{addr}/watch/{id}")).unwrap();
    let playing = page.wait_for(
        "!!window.bitflixStory && document.getElementById('v').currentTime > 0.2",
        WAIT,
    );
    let state = page.eval(STATE).unwrap();
    assert!(playing.is_ok(), "the red clip plays: {state}");
    Some((c, browser, page))
}

/// Wait until clip `n` plays well past the switch, then check the picture and the switch.
fn plays_clip(page: &mut Page, n: u32, rgb: [u8; 3]) {
    let got = page.wait_for(
        &format!("(() => {{ const s = window.bitflixStory(); return s.clip === {n} && document.getElementById('v').currentTime > 4.0; }})()"),
        WAIT,
    );
    let state = page.eval(STATE).unwrap();
    assert!(got.is_ok(), "clip {n} plays after the red one: {state}");
    let s = page.eval("window.bitflixStory()").unwrap();
    let seen: Vec<i64> = s["rgb"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    for (i, want) in rgb.iter().enumerate() {
        assert!(
            (seen[i] - i64::from(*want)).abs() < 60,
            "the picture is clip {n}'s colour {rgb:?}: {seen:?} ({state})"
        );
    }
    assert_eq!(s["black_frames"], 0, "no black frame: {state}");
    let switch = s["switches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["clip"] == n)
        .unwrap_or_else(|| panic!("the switch to clip {n} was seen: {state}"));
    let gap = switch["gap_ms"].as_f64().unwrap();
    let frame = 1000.0 / f64::from(FPS);
    println!("switch to clip {n}: frame gap {gap:.0} ms (frame interval {frame:.0} ms)");
    assert!(
        gap - frame < STALL_MS,
        "the switch held a frame {gap:.0} ms, over {STALL_MS} ms beyond the {frame:.0} ms interval: {state}"
    );
}

/// A real click (mouse events at the button's centre) on option `i`.
fn click_option(page: &mut Page, i: u32) {
    let at = page
        .wait_for(
            &format!("(() => {{ const b = document.querySelector('#options button[data-option=\"{i}\"]'); if (!b || document.getElementById('decision').hidden) return false; const r = b.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"),
            WAIT,
        )
        .unwrap();
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    for kind in ["mousePressed", "mouseReleased"] {
        page.call(
            "Input.dispatchMouseEvent",
            serde_json::json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
        )
        .unwrap();
    }
}

#[test]
fn clicking_blue_plays_the_blue_clip_seamlessly() {
    let Some((_c, _b, mut page)) = open(2000) else {
        return;
    };
    click_option(&mut page, 1);
    plays_clip(&mut page, 2, [0, 0, 255]);
    let s = page.eval("window.bitflixStory()").unwrap();
    assert_eq!(s["path"], serde_json::json!([{ "branch": 1, "option": 1 }]));
    let path = page
        .eval("document.getElementById('path').textContent")
        .unwrap();
    assert!(
        path.as_str().unwrap().contains("Red \u{2192} Blue"),
        "the path so far is shown: {path}"
    );
}

#[test]
fn the_countdown_takes_the_default_and_back_and_the_keyboard_choose_again() {
    let Some((_c, _b, mut page)) = open(1500) else {
        return;
    };
    page.wait_for(
        "window.bitflixStory().decision === 1 && document.getElementById('countdown').textContent.endsWith(' s')",
        WAIT,
    )
    .unwrap();
    // Nobody chooses: green, the default.
    plays_clip(&mut page, 1, [0, 128, 0]);
    let s = page.eval("window.bitflixStory()").unwrap();
    assert_eq!(s["path"], serde_json::json!([{ "branch": 1, "option": 0 }]));
    // Back: the red clip again, and its decision; the key 2 chooses Blue.
    page.eval("document.getElementById('back').click()")
        .unwrap();
    page.wait_for(
        "window.bitflixStory().clip === 0 && window.bitflixStory().path.length === 0 && window.bitflixStory().decision === 1",
        WAIT,
    )
    .unwrap();
    for kind in ["keyDown", "keyUp"] {
        page.call(
            "Input.dispatchKeyEvent",
            serde_json::json!({ "type": kind, "key": "2", "code": "Digit2", "text": "2" }),
        )
        .unwrap();
    }
    let blue = page.wait_for(
        "(() => { const s = window.bitflixStory(); return s.clip === 2 && s.rgb && s.rgb[2] > 190; })()",
        WAIT,
    );
    let state = page.eval(STATE).unwrap();
    assert!(blue.is_ok(), "after Back, the key 2 plays Blue: {state}");
    // Restart: the red clip from the beginning, the path empty.
    page.eval("document.getElementById('restart').click()")
        .unwrap();
    page.wait_for(
        "(() => { const s = window.bitflixStory(); return s.clip === 0 && s.path.length === 0 && s.rgb && s.rgb[0] > 190; })()",
        WAIT,
    )
    .unwrap();
}

#[test]
fn seeking_inside_a_clip_stays_in_that_clip() {
    let Some((_c, _b, mut page)) = open(2000) else {
        return;
    };
    click_option(&mut page, 1);
    page.wait_for(
        "window.bitflixStory().clip === 2 && document.getElementById('clip-time').textContent.includes('Blue')",
        WAIT,
    )
    .unwrap();
    // The scrubber spans the blue clip alone: dragging it to its start stays in blue.
    let range = page
        .eval("[Number(document.getElementById('scrub').max), document.getElementById('clip-time').textContent]")
        .unwrap();
    let max = range[0].as_f64().unwrap();
    assert!(
        (max - 3.0).abs() < 0.3,
        "the scrubber covers the 3 s clip: {range}"
    );
    assert!(range[1].as_str().unwrap().contains("Blue"), "{range}");
    page.eval("(() => { const r = document.getElementById('scrub'); r.value = '0.2'; r.dispatchEvent(new Event('input')); })()").unwrap();
    let back = page.wait_for(
        "(() => { const v = document.getElementById('v'); const s = window.bitflixStory(); return s.clip === 2 && v.currentTime < 3.8 && v.currentTime >= 3.0 && !v.seeking; })()",
        WAIT,
    );
    let state = page.eval(STATE).unwrap();
    assert!(
        back.is_ok(),
        "the seek lands at the blue clip's start: {state}"
    );
}

/// The switch benchmark (`scripts/bench-story.sh`, BENCHMARKS.md "Interactive films"): twenty
/// decisions, alternating Green and Blue, each followed by Back. For each switch, the wall-clock
/// gap between the last frame of the red clip and the first of the chosen one, against the
/// baseline of the same run: the gaps between frames inside the clips.
#[test]
#[ignore = "a benchmark: scripts/bench-story.sh"]
fn switch_stall_benchmark() {
    let Some((_c, _b, mut page)) = open(1000) else {
        return;
    };
    let rounds = 20;
    for i in 0..rounds {
        let option = i % 2;
        click_option(&mut page, option);
        let next = option + 1;
        page.wait_for(
            &format!("(() => {{ const s = window.bitflixStory(); return s.clip === {next} && s.switches.filter((w) => w.clip === {next}).length > {}; }})()", i / 2),
            WAIT,
        )
        .unwrap();
        page.eval("document.getElementById('back').click()")
            .unwrap();
        page.wait_for("window.bitflixStory().clip === 0", WAIT)
            .unwrap();
    }
    let s = page.eval("window.bitflixStory()").unwrap();
    let mut sw: Vec<f64> = s["switches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["gap_ms"].as_f64().unwrap())
        .collect();
    let mut frames: Vec<f64> = s["frame_gaps_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_f64().unwrap())
        .collect();
    sw.sort_by(f64::total_cmp);
    frames.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    println!(
        "switches: {} | gap p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms | frames inside clips: {} | gap p50 {:.0} ms, p95 {:.0} ms | switch p50 / frame p50 = {:.2} | black frames {}",
        sw.len(),
        q(&sw, 0.5),
        q(&sw, 0.95),
        sw[sw.len() - 1],
        frames.len(),
        q(&frames, 0.5),
        q(&frames, 0.95),
        q(&sw, 0.5) / q(&frames, 0.5),
        s["black_frames"]
    );
}
