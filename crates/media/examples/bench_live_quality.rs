//! The two live encoders at equal bytes (BENCHMARKS.md "Live"): `bitflix live`'s settings (256x144
//! at 10 fps, 2 s chunks, 24 kbit/s asked with 6 of Opus) on a real clip, accelerated, with
//! libaom-av1 real time and SVT-AV1 low delay; then libaom again with its rate scaled so its
//! bytes match SVT-AV1's, since the two keep to the asked rate differently. Each is measured
//! against the source (PSNR, SSIM; VMAF when Netflix's tool is found): bytes, kbit/s reached,
//! wall time. The clip is looped (stream copy) to SECONDS (default 60), the reference as well.
//! `cargo run -p media --example bench_live_quality -- CLIP [SECONDS]` (ffmpeg does the work).

use media::live::{Continue, LiveCodec, LiveConfig, LiveEncoder, Source};
use std::path::{Path, PathBuf};
use std::time::Instant;

struct Run {
    name: String,
    bytes: usize,
    kbps: f64,
    wall_s: f64,
    psnr: f64,
    ssim: f64,
    vmaf: Option<f64>,
}

fn encode(clip: &Path, secs: f64, codec: LiveCodec, kbps: f64) -> Result<(Vec<u8>, f64), String> {
    let cfg = LiveConfig {
        source: Source::File(clip.to_path_buf()),
        codec,
        kbps,
        realtime: false,
        max_seconds: Some(secs),
        ..LiveConfig::default()
    };
    let t = Instant::now();
    let mut enc = LiveEncoder::start(&cfg, Continue::default()).map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    while let Some(c) = enc.next_chunk(&|| false).map_err(|e| e.to_string())? {
        all.extend_from_slice(&c.bytes);
    }
    Ok((all, t.elapsed().as_secs_f64()))
}

fn measure(clip: &Path, secs: f64, name: &str, bytes: Vec<u8>, wall_s: f64) -> Result<Run, String> {
    let stream = media::format::Stream::decode(&bytes).map_err(|e| e.to_string())?;
    let q = media::quality::measure(clip, &stream, secs).map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ivf = dir.path().join("v.ivf");
    let data =
        media::ivf::of_stream(&stream, media::ivf::Start::Zero).map_err(|e| e.to_string())?;
    std::fs::write(&ivf, data).map_err(|e| e.to_string())?;
    let vmaf = media::quality::vmaf(clip, &ivf, secs).map_err(|e| e.to_string())?;
    Ok(Run {
        name: name.to_owned(),
        kbps: bytes.len() as f64 * 8.0 / secs / 1000.0,
        bytes: bytes.len(),
        wall_s,
        psnr: q.psnr,
        ssim: q.ssim,
        vmaf,
    })
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let clip = PathBuf::from(
        args.next()
            .ok_or("usage: bench_live_quality CLIP [SECONDS]")?,
    );
    let secs: f64 = args
        .next()
        .map_or(Ok(60.0), |s| s.parse())
        .map_err(|e| format!("SECONDS: {e}"))?;
    // The clip looped to the length asked (stream copy): the source and the reference.
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let looped = dir.path().join("source.mkv");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-stream_loop", "-1", "-i"])
        .arg(&clip)
        .args(["-t", &secs.to_string(), "-c", "copy"])
        .arg(&looped)
        .status()
        .map_err(|e| format!("ffmpeg: {e}"))?;
    if !ok.success() {
        return Err(format!("ffmpeg could not loop {}", clip.display()));
    }
    let shown = clip.display().to_string();
    let clip = looped;
    let asked = 24.0;
    let (aom, aom_s) = encode(&clip, secs, LiveCodec::Aom, asked)?;
    let (svt, svt_s) = encode(&clip, secs, LiveCodec::Svt, asked)?;
    // libaom's video share scaled so the whole stream's bytes match SVT-AV1's (audio unchanged).
    let audio = 6.0;
    let scale = (svt.len() as f64 / aom.len() as f64).clamp(0.2, 5.0);
    let matched_kbps = audio + (asked - audio) * scale;
    let (aom2, aom2_s) = encode(&clip, secs, LiveCodec::Aom, matched_kbps)?;
    let runs = [
        measure(&clip, secs, "libaom, 24 asked", aom, aom_s)?,
        measure(&clip, secs, "SVT-AV1, 24 asked", svt, svt_s)?,
        measure(
            &clip,
            secs,
            &format!("libaom, {matched_kbps:.1} asked (SVT-AV1's bytes)"),
            aom2,
            aom2_s,
        )?,
    ];
    println!("{secs} s of {shown} (looped), 256x144 at 10 fps, 2 s chunks, accelerated");
    println!("| encoder | bytes | kbit/s | PSNR (dB) | SSIM | VMAF | wall (s) |");
    println!("|---|---|---|---|---|---|---|");
    for r in &runs {
        println!(
            "| {} | {} | {:.1} | {:.2} | {:.4} | {} | {:.1} |",
            r.name,
            r.bytes,
            r.kbps,
            r.psnr,
            r.ssim,
            r.vmaf.map_or("-".to_owned(), |v| format!("{v:.1}")),
            r.wall_s
        );
    }
    let (svt, aom2) = (&runs[1], &runs[2]);
    println!(
        "SVT-AV1 against libaom at matched bytes ({:.3} of its bytes): PSNR {:+.2} dB, SSIM {:+.4}, wall {:.2}x",
        svt.bytes as f64 / aom2.bytes as f64,
        svt.psnr - aom2.psnr,
        svt.ssim - aom2.ssim,
        svt.wall_s / aom2.wall_s
    );
    Ok(())
}
