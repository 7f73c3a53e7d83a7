//! `stream_kbps` (`bitflix encode --kbps`): the whole stream (video, audio and CVPM framing) lands
//! within 5 % of the rate asked for over the clip's duration, on the bundled clip and on a
//! generated one with hard cuts and motion (where libaom's size jumps over the window), at two
//! and three rates; real ffmpeg encodes.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::synth;
use media::{encode, EncodeConfig};
use std::path::{Path, PathBuf};

/// 8 s at 320x240, 25 fps: four scenes cut hard into each other (a moving test pattern, a
/// zooming fractal, a cellular automaton, a noisy
/// picture panned across), no audio. The automaton and the noise are seeded with `seed`: the same
/// seed gives the same clip.
fn cuts_and_motion(dir: &Path, seed: u32) -> PathBuf {
    let graph = format!(
        "testsrc2=s=320x240:r=25:d=2,format=yuv420p[a];\
         mandelbrot=s=320x240:r=25,trim=duration=2,format=yuv420p[b];\
         life=s=320x240:r=25:mold=10:ratio=0.3:seed={seed},trim=duration=2,format=yuv420p[c];\
         smptehdbars=s=960x540:r=25:d=2,noise=alls=20:allf=t:all_seed={seed},\
         crop=320:240:t*150:t*100,format=yuv420p[d];\
         [a][b][c][d]concat=n=4:v=1:a=0[out]"
    );
    synth(
        dir,
        "cuts.mp4",
        &[
            "-filter_complex",
            &graph,
            "-map",
            "[out]",
            "-c:v",
            "libx264",
            "-crf",
            "12",
        ],
    )
}

fn at_rate(kbps: f64, audio: bool) -> EncodeConfig {
    EncodeConfig {
        stream_kbps: Some(kbps),
        audio_kbps: audio.then_some(8.0),
        width: None,
        height: Some(144),
        fps: Some(12),
        cpu_used: 8,
        ..EncodeConfig::default()
    }
}

/// Encode `src` at each rate and check the whole stream's kbit/s against it, within `tolerance`.
fn lands_within(src: &Path, audio: bool, rates: &[f64], tolerance: f64) {
    for &r in rates {
        let (stream, rep) = encode(src, &at_rate(r, audio)).unwrap();
        let bytes = stream.encode().len() as u64;
        assert_eq!(rep.bytes, bytes);
        let kbps = bytes as f64 * 8.0 / 1000.0 / rep.seconds;
        println!(
            "{}: asked {r} kbit/s, got {kbps:.2} ({bytes} bytes over {:.2} s, video {} + audio {}, {} passes)",
            src.display(),
            rep.seconds,
            rep.video_bytes,
            rep.audio_bytes,
            rep.attempts
        );
        assert!((kbps - r).abs() <= r * tolerance, "{kbps} kbit/s for {r}");
        assert!((rep.kbps - kbps).abs() < 1e-9);
        assert_eq!(
            rep.target_bytes,
            Some((r * 1000.0 / 8.0 * rep.seconds) as u64)
        );
        assert_eq!(audio, rep.audio_bytes > 0);
        assert!(!rep.at_ceiling);
    }
}

#[test]
fn the_bundled_clip_lands_on_the_rate() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let clip = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/bigbuckbunny.mp4"
    ));
    lands_within(clip, true, &[16.0, 32.0], 0.05);
}

#[test]
fn a_clip_with_cuts_and_motion_lands_on_the_rate() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // With this seed, at 32 kbit/s libaom's size jumps over the window (29,371 bytes at 12.76
    // kbit/s, 35,373 at 13.55): the search must go on under the steadier rate control (it lands
    // in 8 passes). Other seeds, tried by hand, land in 2 to 11.
    let src = cuts_and_motion(dir.path(), 2);
    lands_within(&src, false, &[32.0, 48.0, 64.0], 0.05);
}
