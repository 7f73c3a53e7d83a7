//! The media benchmark (scripts/bench-media.sh runs it): for each clip and rate, our encoder
//! (`media::encode`, size and frame rate chosen by measurement, libaom two-pass, CVPM) against two
//! baselines at the same byte count, all measured by the same PSNR/SSIM code
//! (`media::quality`: decoded video upscaled to the source's grid), and VMAF (model v0.6.1) on
//! the same grid when a `vmaf` tool is found (`media::quality::vmaf_tool`); "-" and a note above
//! the table when it is not.
//!
//! Baselines, each given the byte count our stream reached (rate searched as the encoder's budget search does, at most 6 encodes,
//! stopping early at the encoder's floor; the largest file not above it is kept; if none fits, the
//! smallest is shown and marked "cannot reach"):
//! - x264: `ffmpeg -c:v libx264 -b:v R` in MP4 (what a user does by hand);
//! - aom1: `ffmpeg -c:v libaom-av1 -b:v R -cpu-used C` one pass in WebM;
//!
//! each twice: at the source's size and rate, and at the size and frame rate ours chose
//! (`-vf fps=F,scale=W:H`, the filter our encoder applies), so the choice and the codec are
//! measured apart.
//!
//! Video only (the clips' audio is left out of every side). Encode fps: output frames per
//! wall-clock second; ours counts the whole `encode` call (candidate probes, budget search),
//! a baseline counts the one command that made the row.
//!
//! Usage: `bench_media CPU_USED SECONDS CLIP KBPS...`
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark stops loudly on the first unexpected error"
)]

use media::{encode, probe, quality, EncodeConfig};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Row {
    bytes: u64,
    psnr: f64,
    ssim: f64,
    vmaf: Option<f64>,
    fps: f64,
    fits: bool,
    note: String,
}

/// What every baseline of one row is given: the clip, its span, and the byte count to reach.
struct Target<'a> {
    src: &'a Path,
    dir: &'a Path,
    seconds: f64,
    bytes: u64,
}

fn baseline(
    name: &str,
    at: &Target,
    frames: f64,
    vf: Option<&str>,
    args: &dyn Fn(&str) -> Vec<String>,
) -> Row {
    let Target {
        src,
        dir,
        seconds,
        bytes: target,
    } = *at;
    let ext = if name == "x264" { "mp4" } else { "webm" };
    let mut rate = (target as f64 * 8.0 / 1000.0 / seconds * 0.9).max(1.0);
    let mut best: Option<(u64, PathBuf, f64)> = None; // largest that fits
    let mut smallest: Option<(u64, PathBuf, f64)> = None;
    let mut last: Option<u64> = None;
    let mut bracket = media::encode::RateBracket::default();
    for i in 0..6 {
        let out = dir.join(format!("{name}-{}-{i}.{ext}", vf.is_some()));
        let t = format!("{seconds:.3}");
        let r = format!("{rate:.2}k");
        let mut argv: Vec<String> = [
            "-y",
            "-v",
            "error",
            "-i",
            src.to_str().unwrap(),
            "-t",
            &t,
            "-an",
        ]
        .map(String::from)
        .to_vec();
        if let Some(vf) = vf {
            argv.extend(["-vf".to_string(), vf.to_string()]);
        }
        argv.extend(args(&r));
        argv.push(out.to_str().unwrap().to_string());
        let start = Instant::now();
        let ok = Command::new("ffmpeg")
            .args(&argv)
            .status()
            .unwrap()
            .success();
        assert!(ok, "ffmpeg {argv:?}");
        let secs = start.elapsed().as_secs_f64();
        let size = std::fs::metadata(&out).unwrap().len();
        if size <= target && best.as_ref().is_none_or(|b| size > b.0) {
            best = Some((size, out.clone(), secs));
        }
        if smallest.as_ref().is_none_or(|b| size < b.0) {
            smallest = Some((size, out.clone(), secs));
        }
        if size <= target && size as f64 >= target as f64 * 0.93 {
            break;
        }
        // Still over after a lower rate shrank it by less than 5 %: the encoder's floor.
        if size > target && last.is_some_and(|l| l > target && size as f64 > l as f64 * 0.95) {
            break;
        }
        last = Some(size);
        // The same bracketed proportional step as the encoder's own budget search.
        let next = bracket.next(rate, size, target as f64 * 0.97, size <= target);
        rate = next.max(1.0); // x264 takes whole kbit/s, and refuses 0
    }
    let fits = best.is_some();
    let (bytes, file, secs) = best.or(smallest).unwrap();
    let q = quality::compare(src, &file, seconds).unwrap();
    Row {
        bytes,
        psnr: q.psnr,
        ssim: q.ssim,
        vmaf: quality::vmaf(src, &file, seconds).unwrap(),
        fps: frames / secs,
        fits,
        note: String::new(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: bench_media CPU_USED SECONDS CLIP KBPS...");
        std::process::exit(2);
    }
    let cpu: u8 = args[0].parse().unwrap();
    let max_seconds: f64 = args[1].parse().unwrap();
    let src = PathBuf::from(&args[2]);
    let info = probe(&src).unwrap();
    let (w, h, native) = info.video.unwrap();
    let seconds = info.duration.min(max_seconds);
    let frames_native = (seconds * native).round();
    let name = src.file_name().unwrap().to_string_lossy().to_string();
    let dir = tempfile::tempdir().unwrap();
    let cpu_s = cpu.to_string();
    if quality::vmaf_tool().unwrap().is_none() {
        println!("# VMAF not measured: no vmaf tool (BITFLIX_VMAF, ../shared/vmaf/vmaf or PATH)");
    }
    println!(
        "| clip | kbit/s | encoder | bytes | kbit/s | PSNR dB | SSIM | VMAF | encode fps | size, rate |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for k in &args[3..] {
        let kbps: f64 = k.parse().unwrap();
        let budget = (kbps * 1000.0 / 8.0 * seconds) as u64;
        let cfg = EncodeConfig {
            audio_kbps: None,
            width: None,
            height: None,
            fps: None,
            budget_bytes: Some(budget),
            cpu_used: cpu,
            max_seconds: Some(seconds),
            measure: true,
            ..EncodeConfig::default()
        };
        let (ours, shape) = match encode(&src, &cfg) {
            Ok((_, r)) => (
                Row {
                    bytes: r.bytes,
                    psnr: r.psnr.unwrap(),
                    ssim: r.ssim.unwrap(),
                    vmaf: r.vmaf,
                    fps: r.encode_fps,
                    fits: r.bytes <= budget,
                    note: format!("{}x{} {} fps", r.width, r.height, r.fps),
                },
                (r.width, r.height, r.fps),
            ),
            Err(e) => {
                println!("| {name} | {kbps} | ours | - | - | - | - | - | - | {e} |");
                continue;
            }
        };
        let target = ours.bytes;
        let x264_args = |r: &str| {
            ["-c:v", "libx264", "-b:v", r, "-f", "mp4"]
                .map(String::from)
                .to_vec()
        };
        let aom_args = |r: &str| {
            [
                "-c:v",
                "libaom-av1",
                "-b:v",
                r,
                "-cpu-used",
                &cpu_s,
                "-row-mt",
                "1",
                "-f",
                "webm",
            ]
            .map(String::from)
            .to_vec()
        };
        let at = Target {
            src: &src,
            dir: dir.path(),
            seconds,
            bytes: target,
        };
        let x264 = baseline("x264", &at, frames_native, None, &x264_args);
        let aom = baseline("aom1", &at, frames_native, None, &aom_args);
        // The same size and frame rate as ours, by the same filter our encoder applies.
        let vf = format!("fps={},scale={}:{}", shape.2, shape.0, shape.1);
        let frames_ours = (seconds * f64::from(shape.2)).round();
        let mut x264_ours = baseline("x264", &at, frames_ours, Some(&vf), &x264_args);
        let mut aom_ours = baseline("aom1", &at, frames_ours, Some(&vf), &aom_args);
        x264_ours.note.clone_from(&ours.note);
        aom_ours.note.clone_from(&ours.note);
        let native_note = format!("{w}x{h} {native:.2} fps");
        for (label, row) in [
            ("ours (CVPM)", &ours),
            ("x264 MP4", &x264),
            ("aom 1-pass WebM", &aom),
            ("x264 MP4, our size and rate", &x264_ours),
            ("aom 1-pass WebM, our size and rate", &aom_ours),
        ] {
            let note = if row.note.is_empty() {
                native_note.clone()
            } else {
                row.note.clone()
            };
            println!(
                "| {name} | {kbps} | {label} | {}{} | {:.2} | {:.2} | {:.4} | {} | {:.1} | {note} |",
                row.bytes,
                if row.fits { "" } else { " (cannot reach)" },
                row.bytes as f64 * 8.0 / 1000.0 / seconds,
                row.psnr,
                row.ssim,
                row.vmaf.map_or("-".into(), |v| format!("{v:.2}")),
                row.fps,
            );
        }
    }
}
