//! PSNR/SSIM measurement, the size and rate chosen by measurement, and codec2 audio: real ffmpeg
//! encodes of synthetic inputs, checked against independent expectations.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::{synth, testsrc};
use media::format::{AudioCodec, Stream};
use media::{encode, probe, quality, EncodeConfig};
use std::process::Command;

fn fixed(kbps: f64) -> EncodeConfig {
    EncodeConfig {
        video_kbps: kbps,
        audio_kbps: None,
        width: Some(320),
        fps: Some(25),
        cpu_used: 8,
        measure: true,
        ..EncodeConfig::default()
    }
}

#[test]
fn psnr_and_ssim_are_sane_and_rise_with_the_rate() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = testsrc(dir.path());
    // The measurement itself: a file against itself is near perfect, against other content poor.
    let same = quality::compare(&src, &src, 4.0).unwrap();
    assert!(same.psnr > 60.0 && same.ssim > 0.999, "identical: {same:?}");
    let other = synth(
        dir.path(),
        "m.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=size=320x240:rate=25",
            "-t",
            "4",
        ],
    );
    let far = quality::compare(&src, &other, 4.0).unwrap();
    assert!(far.psnr < 15.0 && far.ssim < 0.5, "unrelated: {far:?}");

    let (_, lo) = encode(&src, &fixed(8.0)).unwrap();
    let (_, hi) = encode(&src, &fixed(32.0)).unwrap();
    let (lp, ls) = (lo.psnr.unwrap(), lo.ssim.unwrap());
    let (hp, hs) = (hi.psnr.unwrap(), hi.ssim.unwrap());
    println!(
        "testsrc2 320x240 25 fps: 8 kbit/s -> {} bytes, PSNR {lp:.2}, SSIM {ls:.4}; 32 kbit/s -> {} bytes, PSNR {hp:.2}, SSIM {hs:.4}",
        lo.bytes, hi.bytes
    );
    for (p, s) in [(lp, ls), (hp, hs)] {
        assert!((10.0..50.0).contains(&p), "PSNR {p}");
        assert!((0.2..1.0).contains(&s), "SSIM {s}");
    }
    // 8 kbit/s is below what 320x240 at 25 fps can reach (its floor is near 24): still smaller.
    assert!(hi.bytes > lo.bytes, "{} vs {}", hi.bytes, lo.bytes);
    assert!(hp > lp + 1.0, "PSNR 32 kbit/s {hp} vs 8 kbit/s {lp}");
    assert!(hs > ls, "SSIM 32 kbit/s {hs} vs 8 kbit/s {ls}");
    assert!(hi.encode_fps > 0.0 && hi.encode_seconds > 0.0);
}

#[test]
fn size_and_rate_are_chosen_by_measurement_unless_forced() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = testsrc(dir.path());
    let cfg = EncodeConfig {
        video_kbps: 12.0,
        audio_kbps: None,
        width: None,
        height: None,
        fps: None,
        cpu_used: 8,
        probe_seconds: 2.0,
        measure: true,
        ..EncodeConfig::default()
    };
    let (stream, r) = encode(&src, &cfg).unwrap();
    for c in &r.candidates {
        println!("{c:?}");
    }
    println!("chosen {}x{} {} fps", r.width, r.height, r.fps);
    assert!(r.chosen);
    // Short sides 144, 180, 240 (360 is above the source) x 6, 12, 25 fps.
    assert_eq!(r.candidates.len(), 9, "{:?}", r.candidates);
    let heights: Vec<u32> = r.candidates.iter().map(|c| c.height).collect();
    assert!(heights.contains(&144) && heights.contains(&240) && !heights.contains(&360));
    let target = 12.0;
    let score = |p: f64, s: f64| p - 10.0 * (1.0 - s).log10();
    let mut best: Option<(f64, u32, u32)> = None;
    for c in &r.candidates {
        assert_eq!(c.skipped, c.kbps > target * 1.1, "{c:?}");
        assert_eq!(c.psnr.is_some(), !c.skipped);
        if let (Some(p), Some(s)) = (c.psnr, c.ssim) {
            if best.is_none_or(|b| score(p, s) > b.0) {
                best = Some((score(p, s), c.height, c.fps));
            }
        }
    }
    let best = best.expect("at least one candidate fits 12 kbit/s");
    assert_eq!((r.height, r.fps), (best.1, best.2), "{:?}", r.candidates);
    assert_eq!(stream.video.unwrap().height, r.height);
    assert!(r.psnr.is_some());

    // Forced: nothing is tried.
    let forced = EncodeConfig {
        height: Some(144),
        fps: Some(6),
        measure: false,
        ..cfg
    };
    let (_, f) = encode(&src, &forced).unwrap();
    assert!(!f.chosen && f.candidates.is_empty());
    assert_eq!((f.height, f.fps), (144, 6));
    assert_eq!(f.width, 192, "4:3 kept");
    assert!(f.psnr.is_none());
}

#[test]
fn codec2_audio_is_stored_as_cvpm_v2_and_plays_as_opus() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = synth(
        dir.path(),
        "s.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=4",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=4",
            "-shortest",
        ],
    );
    let cfg = EncodeConfig {
        audio_codec: AudioCodec::Codec2_1200,
        audio_kbps: Some(1.2),
        ..fixed(8.0)
    };
    let (stream, r) = encode(&src, &cfg).unwrap();
    let bytes = stream.encode();
    assert_eq!(bytes[4], 2, "codec2 streams are CVPM v2");
    assert_eq!(Stream::decode(&bytes).unwrap(), stream);
    let a = stream.audio.unwrap();
    assert_eq!(
        (a.codec, a.sample_rate, a.channels),
        (AudioCodec::Codec2_1200, 8000, 1)
    );
    // 1200 bit/s for 4 s is 600 bytes, plus 3 bytes per 400 ms packet.
    assert!(
        (600..=700).contains(&r.audio_bytes),
        "{} audio bytes",
        r.audio_bytes
    );
    assert_eq!(r.audio_codec, Some(AudioCodec::Codec2_1200));
    for container in ["webm", "mp4"] {
        let out = dir.path().join(format!("out.{container}"));
        media::rewrap::to_file(&stream, &out, media::rewrap::Container::for_path(&out)).unwrap();
        let p = probe(&out).unwrap();
        assert_eq!(p.codecs, vec!["av1", "opus"], "{container}");
        assert!(
            (p.duration - 4.0).abs() < 0.3,
            "{container}: {}",
            p.duration
        );
        let dec = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-i",
                out.to_str().unwrap(),
                "-f",
                "null",
                "-",
            ])
            .output()
            .unwrap();
        assert!(dec.status.success() && dec.stderr.is_empty(), "{container}");
    }
    // The tone survives codec2 and Opus: the decoded audio is loud, not silence.
    let out = dir.path().join("out.webm");
    let vol = Command::new("ffmpeg")
        .args([
            "-i",
            out.to_str().unwrap(),
            "-af",
            "volumedetect",
            "-vn",
            "-f",
            "null",
            "-",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&vol.stderr);
    let mean: f64 = log
        .lines()
        .find_map(|l| l.split("mean_volume: ").nth(1))
        .and_then(|v| v.trim_end_matches(" dB").parse().ok())
        .unwrap();
    assert!(mean > -40.0, "mean volume {mean} dB");
}
