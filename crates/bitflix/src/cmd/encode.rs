//! `bitflix encode`: any media file to a CVPM stream at a rate or a byte budget, with its size,
//! rate, quality against the source (PSNR, SSIM, and VMAF when a `vmaf` tool is found) and speed.

use crate::poster::{Chosen, PosterOut};
use anyhow::{bail, Context};
use bitcoin::FeeRate;
use clap::{Args, ValueEnum};
use cvp::{Carrier, ContentInfo};
use media::{encode, AudioCodec, EncodeConfig, Report};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;
use wallet::estimate::Estimate;

/// The audio codec on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AudioArg {
    /// Opus, mono, 60 ms frames, at --audio-kbps.
    Opus,
    /// Codec 2 at 1200 bit/s, 8 kHz mono speech (about 9 KB a minute); Opus again on extract.
    #[value(name = "codec2-1200")]
    Codec2_1200,
    /// No audio.
    None,
}

/// Encode a media file into the compact on-chain stream (AV1 + Opus or codec2, no container).
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// Any file ffmpeg reads.
    input: PathBuf,
    /// The CVPM stream to write.
    #[arg(short, long)]
    output: PathBuf,
    /// The whole stream's kbit/s: video, audio and the stream's framing over the duration encoded
    /// (a byte budget of KBPS x seconds / 8, the video rate searched to land within 5 % under it).
    /// Ignored with --budget-bytes or --budget-sats.
    #[arg(long, default_value_t = 20.0)]
    kbps: f64,
    /// Hit this total size in bytes instead (the video rate is searched).
    #[arg(long, conflicts_with = "budget_sats")]
    budget_bytes: Option<u64>,
    /// Spend at most this many sats publishing the result (fees at --feerate with --carrier):
    /// the byte budget becomes the largest stream whose publish costs no more.
    #[arg(long)]
    budget_sats: Option<u64>,
    /// Fee rate in sat/vB for --budget-sats and for the publishing cost reported.
    #[arg(long, default_value_t = 1.0)]
    feerate: f64,
    /// Carrier for --budget-sats and for the publishing cost reported: op-return-80, op-return or
    /// envelope.
    #[arg(long, default_value = "envelope")]
    carrier: Carrier,
    /// The audio codec.
    #[arg(long, value_enum, default_value = "opus")]
    audio: AudioArg,
    /// Opus kbit/s.
    #[arg(long, default_value_t = 8.0)]
    audio_kbps: f64,
    /// No audio (same as --audio none).
    #[arg(long)]
    no_audio: bool,
    /// Force the output width (height follows the aspect ratio unless --height is given too).
    /// Without --width/--height the size is chosen by measurement.
    #[arg(long)]
    width: Option<u32>,
    /// Force the output height (width follows the aspect ratio unless --width is given too).
    #[arg(long)]
    height: Option<u32>,
    /// Force the output frame rate; without it 6, 12 and the native rate are tried.
    #[arg(long)]
    fps: Option<u32>,
    /// Seconds of the input each candidate size and rate is tried on.
    #[arg(long, default_value_t = 3.0)]
    probe_seconds: f64,
    /// Encode only the first SECONDS of the input.
    #[arg(long)]
    max_seconds: Option<f64>,
    /// At most SECONDS between keyframes: where playback can start or seek, and how far behind
    /// a film still arriving plays (each keyframe costs bytes).
    #[arg(long, value_name = "SECONDS", default_value_t = media::encode::DEFAULT_KEYFRAME_SECONDS)]
    keyframe_every: f64,
    /// libaom speed, 0 (best) to 8 (fastest).
    #[arg(long, default_value_t = 4)]
    cpu_used: u8,
    /// Skip the PSNR/SSIM (and VMAF) measurement against the source.
    #[arg(long)]
    no_measure: bool,
    /// The poster, written beside the output (OUTPUT with the extension `.poster.webp`) where
    /// `bitflix publish --poster auto` finds it; its cost counts in --budget-sats.
    #[command(flatten)]
    poster: crate::poster::PosterArgs,
}

/// The encode's result.
#[derive(Debug, Serialize)]
pub struct EncodeOut {
    /// Where the stream is.
    pub output: PathBuf,
    /// What came out.
    #[serde(flatten)]
    pub report: Report,
    /// What publishing it would cost (`bitflix estimate` for this size, carrier and fee rate), its
    /// poster included.
    pub publish: Estimate,
    /// The poster and what it adds to the publish.
    pub poster: PosterOut,
}

impl fmt::Display for EncodeOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.report;
        write!(
            f,
            "{}: {} bytes, {:.1} s, {:.2} kbit/s, {}x{} at {} fps ({}), ",
            self.output.display(),
            r.bytes,
            r.seconds,
            r.kbps,
            r.width,
            r.height,
            r.fps,
            if r.chosen {
                format!("chosen among {} candidates", r.candidates.len())
            } else {
                "as given".to_string()
            },
        )?;
        if let Some(t) = r.target_bytes {
            write!(f, "aimed at {t} bytes, ")?;
            if r.at_ceiling {
                write!(f, "smaller because higher rates gave no more bytes, ")?;
            }
        }
        match (r.psnr, r.ssim, r.vmaf) {
            (Some(p), Some(s), Some(v)) => write!(f, "PSNR {p:.2} dB, SSIM {s:.4}, VMAF {v:.1}, ")?,
            (Some(p), Some(s), None) => write!(
                f,
                "PSNR {p:.2} dB, SSIM {s:.4}, VMAF: not measured (no vmaf tool; see \
                 scripts/setup.sh or set {}), ",
                media::quality::VMAF_ENV
            )?,
            _ => write!(f, "quality not measured, ")?,
        }
        write!(
            f,
            "encoded at {:.1} fps in {:.1} s ({} encoder pass(es)); publishing with {}: {} transactions, {} vB, {} sat",
            r.encode_fps,
            r.encode_seconds,
            r.attempts,
            self.publish.carrier,
            self.publish.transactions,
            self.publish.vbytes,
            self.publish.fee_sat
        )?;
        write!(f, "\n{}", self.poster)
    }
}

fn info(poster: &Chosen) -> ContentInfo {
    ContentInfo {
        title: None,
        media_type: "video/x-cvpm".into(),
        duration_ms: None,
        poster: poster.bytes(),
        records: Vec::new(),
    }
}

fn publish_cost(
    len: u64,
    poster: &Chosen,
    carrier: Carrier,
    feerate: FeeRate,
) -> anyhow::Result<(Estimate, PosterOut)> {
    let layout = wallet::Layout::FanOut;
    crate::poster::cost(len, &info(poster), poster, carrier, feerate, layout)
}

/// The largest stream whose publish (described by `info`: its poster and records) costs at most
/// `sats` in fees.
pub(crate) fn bytes_for_sats(
    sats: u64,
    info: &ContentInfo,
    carrier: Carrier,
    feerate: FeeRate,
) -> anyhow::Result<u64> {
    let publish_cost = |len| -> anyhow::Result<Estimate> {
        let layout = wallet::Layout::FanOut;
        Ok(wallet::estimate::estimate(
            len, info, carrier, feerate, layout,
        )?)
    };
    let smallest = publish_cost(1)?.fee_sat;
    if smallest > sats {
        bail!("{sats} sat pays for no stream with {carrier} at this fee rate: the smallest publish costs {smallest} sat");
    }
    // Fees grow with the size: search the largest size within the budget.
    let (mut lo, mut hi) = (1u64, 1u64);
    while publish_cost(hi)?.fee_sat <= sats {
        lo = hi;
        hi *= 2;
        if hi > 64 << 20 {
            bail!("{sats} sat would publish more than 64 MB: give --budget-bytes instead");
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if publish_cost(mid)?.fee_sat <= sats {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

pub fn run(args: EncodeArgs) -> anyhow::Result<EncodeOut> {
    let feerate = super::wallet::feerate_arg(args.feerate)?;
    // The aspect ratio the film will have: forced, or the source's (the encoder keeps it).
    let aspect = args.width.zip(args.height);
    // Made whatever the carrier (the publish may choose another); its cost counts for this one.
    let poster = crate::poster::choose(
        &args.poster,
        &args.input,
        "video/to-encode",
        Carrier::Envelope,
        aspect,
    )?;
    let for_carrier = poster.for_carrier(args.carrier);
    let budget_bytes = match args.budget_sats {
        Some(sats) => Some(bytes_for_sats(
            sats,
            &info(&for_carrier),
            args.carrier,
            feerate,
        )?),
        None => args.budget_bytes,
    };
    let audio = if args.no_audio {
        AudioArg::None
    } else {
        args.audio
    };
    let cfg = EncodeConfig {
        stream_kbps: budget_bytes.is_none().then_some(args.kbps),
        audio_kbps: (audio != AudioArg::None).then_some(args.audio_kbps),
        audio_codec: match audio {
            AudioArg::Codec2_1200 => AudioCodec::Codec2_1200,
            AudioArg::Opus | AudioArg::None => AudioCodec::Opus,
        },
        width: args.width,
        height: args.height,
        fps: args.fps,
        budget_bytes,
        cpu_used: args.cpu_used,
        max_seconds: args.max_seconds,
        probe_seconds: args.probe_seconds,
        measure: !args.no_measure,
        keyframe_seconds: args.keyframe_every,
        ..EncodeConfig::default()
    };
    let (stream, report) = encode(&args.input, &cfg)?;
    // A poster of an earlier encode must never be published with this film: it goes first, the
    // new one is written (durably) once the stream is in place.
    let beside = crate::poster::beside(&args.output);
    if beside.exists() {
        std::fs::remove_file(&beside)
            .with_context(|| format!("removing the old poster {}", beside.display()))?;
    }
    // Written to a temporary name and renamed: a killed encode never leaves a complete-looking file.
    let part = args.output.with_extension("part");
    std::fs::write(&part, stream.encode())
        .with_context(|| format!("writing {}", part.display()))?;
    std::fs::rename(&part, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let (publish, mut poster_out) =
        publish_cost(report.bytes, &for_carrier, args.carrier, feerate)?;
    if let Some(b) = poster.bytes() {
        durable::write(&beside, &b).with_context(|| format!("writing {}", beside.display()))?;
        poster_out.written = Some(beside);
    }
    Ok(EncodeOut {
        output: args.output,
        report,
        publish,
        poster: poster_out,
    })
}
