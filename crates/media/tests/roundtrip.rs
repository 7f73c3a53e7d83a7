//! Encode -> CVPM -> rewrap, checked with an independent decoder (ffprobe / ffmpeg), on the sample
//! clip and on synthetic inputs the encoder was not tuned on.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::{fast, synth, synth_with_audio};
use media::format::Stream;
use media::{encode, probe, EncodeConfig};
use std::path::Path;
use std::process::Command;

fn check(input: &Path, cfg: &EncodeConfig, want_video: bool, want_audio: bool) -> media::Report {
    let (stream, report) = encode(input, cfg).unwrap();
    let bytes = stream.encode();
    assert_eq!(Stream::decode(&bytes).unwrap(), stream, "CVPM round-trips");
    assert_eq!(report.bytes, bytes.len() as u64);
    let dir = tempfile::tempdir().unwrap();
    let webm = dir.path().join("out.webm");
    media::rewrap::to_webm(&stream, &webm).unwrap();
    let p = probe(&webm).unwrap();
    assert_eq!(p.video.is_some(), want_video, "{:?}", p.codecs);
    assert_eq!(p.audio, want_audio, "{:?}", p.codecs);
    if want_video {
        assert!(p.codecs.contains(&"av1".to_string()), "{:?}", p.codecs);
        // An independent decoder decodes every frame.
        let out = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-i",
                webm.to_str().unwrap(),
                "-f",
                "null",
                "-",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if want_audio {
        assert!(p.codecs.contains(&"opus".to_string()), "{:?}", p.codecs);
    }
    assert!(
        (p.duration - report.seconds).abs() < 0.6,
        "duration {} vs {}",
        p.duration,
        report.seconds
    );
    report
}

#[test]
fn sample_clip_and_synthetic_inputs_round_trip() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/bigbuckbunny.mp4");
    let r = check(&clip, &fast(), true, true);
    println!("bigbuckbunny 3 s: {} bytes, {:.1} kbit/s", r.bytes, r.kbps);
    let testsrc = synth_with_audio(dir.path(), "t.mp4");
    check(&testsrc, &fast(), true, true);
    let portrait = synth(
        dir.path(),
        "p.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=180x320:rate=10",
            "-t",
            "2",
        ],
    );
    let r = check(&portrait, &fast(), true, false);
    assert!(
        r.height > r.width,
        "portrait stays portrait: {}x{}",
        r.width,
        r.height
    );
    let audio_only = synth(
        dir.path(),
        "a.ogg",
        &["-f", "lavfi", "-i", "sine=frequency=300:duration=2"],
    );
    check(&audio_only, &fast(), false, true);
    let mut no_audio = fast();
    no_audio.audio_kbps = None;
    check(&testsrc, &no_audio, true, false);
}

#[test]
fn a_byte_budget_is_hit_within_five_percent() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = synth(
        dir.path(),
        "b.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=4",
        ],
    );
    let cfg = EncodeConfig {
        budget_bytes: Some(6_000),
        audio_kbps: None,
        ..fast()
    };
    let (_, r) = encode(&src, &cfg).unwrap();
    assert!(
        r.bytes <= 6_000 && r.bytes >= 5_700,
        "{} bytes for a 6,000-byte budget ({} passes)",
        r.bytes,
        r.attempts
    );
}

#[test]
fn bad_input_gets_clear_errors() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, b"this is not a video").unwrap();
    let err = encode(&junk, &fast()).unwrap_err().to_string();
    assert!(err.contains("not a media file"), "{err}");
    let err = encode(
        &junk,
        &EncodeConfig {
            width: Some(15),
            ..fast()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("valid range"), "{err}");
    let src = synth(
        dir.path(),
        "c.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=2",
        ],
    );
    let err = encode(
        &src,
        &EncodeConfig {
            budget_bytes: Some(200),
            audio_kbps: None,
            ..fast()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("smallest stream"), "{err}");
    assert!(Stream::decode(b"CVPM\x01\x00").is_err(), "truncated header");
    assert!(Stream::decode(b"NOPE\x01").is_err());
}
