//! `bitflix encode`: any media file to a CVPM stream at a rate or a byte budget.

use anyhow::Context;
use clap::Args;
use media::{encode, EncodeConfig, Report};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Encode a media file into the compact on-chain stream (AV1 + Opus, no container).
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// Any file ffmpeg reads.
    input: PathBuf,
    /// The CVPM stream to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Video kbit/s (ignored with --budget-bytes).
    #[arg(long, default_value_t = 12.0)]
    kbps: f64,
    /// Hit this total size in bytes instead (the video rate is searched).
    #[arg(long)]
    budget_bytes: Option<u64>,
    /// Opus kbit/s.
    #[arg(long, default_value_t = 8.0)]
    audio_kbps: f64,
    /// No audio.
    #[arg(long)]
    no_audio: bool,
    /// Output width (height follows the aspect ratio).
    #[arg(long, default_value_t = 320)]
    width: u32,
    /// Output frame rate (at these rates, 12 beats the native rate; 6 below about 8 kbit/s).
    #[arg(long, default_value_t = 12)]
    fps: u32,
    /// libaom speed, 0 (best) to 8 (fastest).
    #[arg(long, default_value_t = 4)]
    cpu_used: u8,
}

/// The encode's result.
#[derive(Debug, Serialize)]
pub struct EncodeOut {
    /// Where the stream is.
    pub output: PathBuf,
    /// What came out.
    #[serde(flatten)]
    pub report: Report,
}

impl fmt::Display for EncodeOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        write!(
            f,
            "{}: {} bytes, {:.1} s, {:.2} kbit/s, {}x{} at {} fps ({} encoder pass(es))",
            self.output.display(),
            r.bytes,
            r.seconds,
            r.kbps,
            r.width,
            r.height,
            r.fps,
            r.attempts
        )
    }
}

pub fn run(args: EncodeArgs) -> anyhow::Result<EncodeOut> {
    let cfg = EncodeConfig {
        video_kbps: args.kbps,
        audio_kbps: (!args.no_audio).then_some(args.audio_kbps),
        width: args.width,
        fps: args.fps,
        budget_bytes: args.budget_bytes,
        cpu_used: args.cpu_used,
        max_seconds: None,
    };
    let (stream, report) = encode(&args.input, &cfg)?;
    // Written to a temporary name and renamed: a killed encode never leaves a complete-looking file.
    let part = args.output.with_extension("part");
    std::fs::write(&part, stream.encode())
        .with_context(|| format!("writing {}", part.display()))?;
    std::fs::rename(&part, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    Ok(EncodeOut {
        output: args.output,
        report,
    })
}
