//! Interactive films: clips encoded by our encoder from generated inputs (solid colours and
//! tones), joined into one stream; each clip's start is a fragment's start, the WebM muxer
//! accepts the joined stream, and an independent decoder (ffmpeg) shows the clips' colours in
//! order, frame by frame, with the audio no longer than the video. Then the bundled clip's
//! stream joined to itself (no ffmpeg), and clips cut from a span of an input.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::{fast, synth};
use media::format::Stream;
use media::interactive::{self, JoinError};
use media::webm;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `seconds` of a solid `colour` at 320x240, 25 fps, with a sine tone of `hz`.
fn colour_clip(dir: &Path, colour: &str, seconds: f64, hz: u32) -> PathBuf {
    synth(
        dir,
        &format!("{colour}.mp4"),
        &[
            "-f",
            "lavfi",
            "-i",
            &format!("color=c={colour}:size=320x240:rate=25:duration={seconds}"),
            "-f",
            "lavfi",
            "-i",
            &format!("sine=frequency={hz}:duration={seconds}"),
            "-pix_fmt",
            "yuv420p",
            "-shortest",
        ],
    )
}

fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let o = Command::new("ffmpeg").args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.trim().is_empty(),
        "{args:?}: {err}"
    );
    o.stdout
}

/// Each decoded video frame's mean colour (scaled to one pixel), in order, no frame dropped or
/// repeated.
fn frame_colours(webm: &Path) -> Vec<[u8; 3]> {
    let p = webm.to_str().unwrap();
    let raw = ffmpeg(&[
        "-v",
        "error",
        "-i",
        p,
        "-map",
        "0:v",
        "-fps_mode",
        "passthrough",
        "-vf",
        "scale=1:1",
        "-pix_fmt",
        "rgb24",
        "-f",
        "rawvideo",
        "-",
    ]);
    raw.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

/// Milliseconds of audio the decoder gives.
fn audio_ms(webm: &Path) -> u64 {
    let p = webm.to_str().unwrap();
    let pcm = ffmpeg(&[
        "-v", "error", "-i", p, "-map", "0:a", "-ac", "1", "-ar", "48000", "-f", "s16le", "-",
    ]);
    pcm.len() as u64 / 2 / 48
}

fn video_frames(s: &Stream) -> u64 {
    s.packets.iter().filter(|p| !p.audio).count() as u64
}

#[test]
fn three_colour_clips_join_into_one_playable_film() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = media::EncodeConfig {
        max_seconds: None,
        ..fast()
    };
    let clips: Vec<(&str, f64, u32, usize)> = vec![
        // colour, seconds, tone, the channel that dominates
        ("red", 1.5, 440, 0),
        ("lime", 2.0, 660, 1),
        ("blue", 1.0, 880, 2),
    ];
    let mut streams = Vec::new();
    for &(colour, secs, hz, _) in &clips {
        let (s, _) = media::encode(&colour_clip(dir.path(), colour, secs, hz), &cfg).unwrap();
        streams.push(s);
    }
    let encoded: Vec<Vec<u8>> = streams.iter().map(Stream::encode).collect();
    let joined = interactive::join(&encoded).unwrap();
    let s = Stream::decode(&joined.stream).unwrap();
    // Each clip starts one frame after the last frame of the clip before (8 fps: 125 ms).
    let frames: Vec<u64> = streams.iter().map(video_frames).collect();
    let mut before = 0;
    for (k, &n) in frames.iter().enumerate() {
        assert_eq!(joined.starts_ms[k], before * 125, "clip {k}");
        before += n;
    }
    // Each start is a fragment's, and the clips' audio starts there.
    let fragments = webm::fragments(&s, true).unwrap();
    let starts: Vec<u64> = fragments.iter().map(|f| f.start_ms).collect();
    for &ms in &joined.starts_ms {
        assert!(starts.contains(&ms), "{ms} ms not in {starts:?}");
    }
    let mut t = 0;
    let audio_starts: Vec<u64> = s
        .packets
        .iter()
        .filter(|p| p.audio)
        .map(|p| {
            let at = t;
            t += p.ts_delta;
            at
        })
        .collect();
    for &ms in &joined.starts_ms {
        assert!(audio_starts.contains(&(ms * 48)), "no audio at {ms} ms");
    }
    // The muxer takes it (one sequence header for all), and ffmpeg decodes it: the colours come
    // in the clips' order, each for its clip's frames.
    let file = dir.path().join("joined.webm");
    std::fs::write(&file, webm::file(&s).unwrap()).unwrap();
    let colours = frame_colours(&file);
    assert_eq!(colours.len() as u64, frames.iter().sum::<u64>());
    let mut at = 0;
    for (k, &(name, _, _, channel)) in clips.iter().enumerate() {
        for (i, c) in colours[at..at + frames[k] as usize].iter().enumerate() {
            let top = (0..3).max_by_key(|&j| c[j]).unwrap();
            assert_eq!(top, channel, "clip {k} ({name}) frame {i}: {c:?}");
            assert!(c[channel] > 150, "clip {k} ({name}) frame {i}: {c:?}");
        }
        at += frames[k] as usize;
    }
    // The audio is cut to the video: never longer, and at most one 60 ms packet short per clip
    // (plus the pre-skip).
    let video_ms = before * 125;
    let heard = audio_ms(&file);
    assert!(
        heard <= video_ms && heard + 3 * 60 + 10 >= video_ms,
        "audio {heard} ms, video {video_ms} ms"
    );
    // The same through the player's shape: init segment and fragments.
    let mut fragmented = webm::init_segment(&s).unwrap();
    for f in &fragments {
        fragmented.extend(webm::fragment(&s, f).unwrap());
    }
    let frag_file = dir.path().join("fragments.webm");
    std::fs::write(&frag_file, fragmented).unwrap();
    assert_eq!(frame_colours(&frag_file), colours);
}

#[test]
fn clips_of_other_settings_are_refused_naming_the_clip() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = colour_clip(dir.path(), "red", 1.0, 440);
    let (a, _) = media::encode(&input, &fast()).unwrap();
    let (b, _) = media::encode(
        &input,
        &media::EncodeConfig {
            width: Some(192),
            ..fast()
        },
    )
    .unwrap();
    let e = interactive::join(&[a.encode(), a.encode(), b.encode()]).unwrap_err();
    assert!(matches!(e, JoinError::Parameters { clip: 2, .. }), "{e}");
    assert!(e.to_string().contains("clip 2"), "{e}");
}

#[test]
fn a_span_of_an_input_is_cut_to_a_clip() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = colour_clip(dir.path(), "red", 3.0, 440);
    let cut = dir.path().join("cut.mkv");
    interactive::cut(&input, 1.0, Some(1.5), &cut).unwrap();
    let p = media::probe(&cut).unwrap();
    assert!((p.duration - 1.5).abs() < 0.1, "{}", p.duration);
    assert!(p.video.is_some() && p.audio, "{:?}", p.codecs);
    assert!(interactive::cut(&input, -1.0, None, &cut).is_err());
}

/// The bundled clip's stream (one keyframe, Opus) twice: two clips, the second at the first's
/// video end, and the joined stream muxes.
#[test]
fn the_bundled_stream_joins_to_itself() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let b = std::fs::read(root.join("fuzz/seeds/media_format/bbb.cvpm")).unwrap();
    let s = Stream::decode(&b).unwrap();
    let v = s.video.unwrap();
    let j = interactive::join(&[b.clone(), b]).unwrap();
    let frames = video_frames(&s);
    assert_eq!(
        j.starts_ms,
        [
            0,
            frames * 1000 * u64::from(v.fps_den) / u64::from(v.fps_num)
        ]
    );
    let joined = Stream::decode(&j.stream).unwrap();
    assert_eq!(video_frames(&joined), 2 * frames);
    let starts: Vec<u64> = webm::fragments(&joined, true)
        .unwrap()
        .iter()
        .map(|f| f.start_ms)
        .collect();
    assert_eq!(starts, j.starts_ms);
    webm::file(&joined).unwrap();
}
