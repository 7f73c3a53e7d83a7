//! Encoding any input ffmpeg reads into a CVPM stream at a target rate or byte budget.
//!
//! Video: libaom-av1 two-pass at the chosen size and frame rate. Audio: libopus, mono, 60 ms
//! frames. The raw temporal units and packets are taken out of ffmpeg's IVF and Ogg output; no
//! container goes on chain. With a byte budget the video rate is searched (rate control
//! overshoots at these rates) until the stream lands within 5 % under the budget.

use crate::ffmpeg::{probe, run, MediaError};
use crate::format::{Audio, Packet, Stream, Video};
use crate::{ivf, ogg, opus};
use serde::Serialize;
use std::path::Path;

/// What to encode. Validate with [`EncodeConfig::check`] before spending minutes encoding.
#[derive(Debug, Clone)]
pub struct EncodeConfig {
    /// Video bit rate in kbit/s (ignored when `budget_bytes` is set).
    pub video_kbps: f64,
    /// Opus bit rate in kbit/s; `None`: no audio.
    pub audio_kbps: Option<f64>,
    /// Output width (height keeps the aspect ratio, even).
    pub width: u32,
    /// Output frame rate.
    pub fps: u32,
    /// Total stream size to hit, in bytes (video rate searched).
    pub budget_bytes: Option<u64>,
    /// libaom speed (0 best ... 8 fastest).
    pub cpu_used: u8,
    /// Encode at most this many seconds of the input.
    pub max_seconds: Option<f64>,
}

impl Default for EncodeConfig {
    fn default() -> Self {
        EncodeConfig {
            video_kbps: 12.0,
            audio_kbps: Some(8.0),
            width: 320,
            fps: 12,
            budget_bytes: None,
            cpu_used: 6,
            max_seconds: None,
        }
    }
}

impl EncodeConfig {
    /// Check every value up front; errors name the valid range.
    pub fn check(&self) -> Result<(), MediaError> {
        let bad = |field, value: String, range| {
            Err(MediaError::Config {
                field,
                value,
                range,
            })
        };
        if !(1.0..=20_000.0).contains(&self.video_kbps) {
            return bad("video kbit/s", self.video_kbps.to_string(), "1..=20000");
        }
        if let Some(a) = self.audio_kbps {
            if !(6.0..=256.0).contains(&a) {
                return bad("audio kbit/s", a.to_string(), "6..=256 (Opus)");
            }
        }
        if !(16..=3840).contains(&self.width) || !self.width.is_multiple_of(2) {
            return bad(
                "width",
                self.width.to_string(),
                "an even number in 16..=3840",
            );
        }
        if !(1..=60).contains(&self.fps) {
            return bad("fps", self.fps.to_string(), "1..=60");
        }
        if self.cpu_used > 8 {
            return bad("cpu-used", self.cpu_used.to_string(), "0..=8");
        }
        if let Some(b) = self.budget_bytes {
            if b < 200 {
                return bad("budget", format!("{b} bytes"), "at least 200 bytes");
            }
        }
        Ok(())
    }
}

/// What came out.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Stream bytes (what goes on chain).
    pub bytes: u64,
    /// Duration encoded, seconds.
    pub seconds: f64,
    /// Resulting kbit/s.
    pub kbps: f64,
    /// Width x height and fps chosen.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Frame rate.
    pub fps: u32,
    /// Video kbit/s given to the encoder in the final pass.
    pub video_kbps: f64,
    /// Encoder passes run (the budget search).
    pub attempts: u32,
}

fn s(p: &Path) -> Result<&str, MediaError> {
    p.to_str()
        .ok_or_else(|| MediaError::Input("path is not utf-8".into()))
}

/// Encode `input` to a CVPM stream.
pub fn encode(input: &Path, cfg: &EncodeConfig) -> Result<(Stream, Report), MediaError> {
    cfg.check()?;
    let info = probe(input).map_err(|e| match e {
        MediaError::Tool { message, .. } => MediaError::Input(format!(
            "{} is not a media file ffmpeg can read ({message})",
            input.display()
        )),
        other => other,
    })?;
    let seconds = cfg
        .max_seconds
        .map_or(info.duration, |m| m.min(info.duration));
    if info.video.is_none() && !info.audio {
        return Err(MediaError::Input(format!(
            "{} has no video and no audio",
            input.display()
        )));
    }
    if seconds <= 0.0 {
        return Err(MediaError::Input(format!(
            "{} has zero length",
            input.display()
        )));
    }
    let dir = tempfile::tempdir()?;
    let audio = match (info.audio, cfg.audio_kbps) {
        (true, Some(kbps)) => Some(encode_audio(input, dir.path(), kbps, seconds)?),
        _ => None,
    };
    let audio_bytes: u64 = audio
        .as_ref()
        .map_or(0, |(_, p)| p.iter().map(|x| x.data.len() as u64 + 3).sum());
    let mut video_kbps = match cfg.budget_bytes {
        Some(b) => ((b.saturating_sub(audio_bytes) as f64 * 8.0 / 1000.0 / seconds) * 0.9).max(1.0),
        None => cfg.video_kbps,
    };
    let mut attempts = 0;
    let (video, vpackets) = loop {
        attempts += 1;
        let Some((w, h, _)) = info.video else {
            break (None, Vec::new());
        };
        let out = encode_video(input, dir.path(), cfg, video_kbps, seconds, (w, h))?;
        let size = out.1.iter().map(|p| p.data.len() as u64 + 3).sum::<u64>() + audio_bytes;
        match cfg.budget_bytes {
            Some(b) if (size > b || (size as f64) < b as f64 * 0.95) && attempts < 4 => {
                // Scale the rate by how far off we landed, aiming 2 % under the budget.
                let target = (b as f64 * 0.98 - audio_bytes as f64).max(1.0);
                video_kbps = (video_kbps * target / (size - audio_bytes).max(1) as f64).clamp(1.0, 20_000.0);
            }
            Some(b) if size > b => {
                return Err(MediaError::Input(format!(
                    "the smallest stream this input reaches at {}x{} {} fps is {size} bytes, above the budget of {b} bytes: lower --width or --fps, drop audio, or raise the budget",
                    out.0.width, out.0.height, out.0.fps_num
                )))
            }
            _ => break (Some(out.0), out.1),
        }
    };
    let (audio_params, apackets) = audio.map_or((None, Vec::new()), |(a, p)| (Some(a), p));
    let stream = Stream {
        video,
        audio: audio_params,
        packets: interleave(video, vpackets, apackets),
    };
    let bytes = stream.encode().len() as u64;
    let report = Report {
        bytes,
        seconds,
        kbps: bytes as f64 * 8.0 / 1000.0 / seconds,
        width: video.map_or(0, |v| v.width),
        height: video.map_or(0, |v| v.height),
        fps: video.map_or(0, |v| v.fps_num),
        video_kbps,
        attempts,
    };
    Ok((stream, report))
}

fn encode_video(
    input: &Path,
    dir: &Path,
    cfg: &EncodeConfig,
    kbps: f64,
    seconds: f64,
    (w, _h): (u32, u32),
) -> Result<(Video, Vec<Packet>), MediaError> {
    let width = cfg.width.min(w.max(16) & !1);
    let vf = format!("fps={},scale={width}:-2", cfg.fps);
    let rate = format!("{kbps:.2}k");
    let log = dir.join("pass");
    let ivf_path = dir.join("v.ivf");
    let (inp, logp, out) = (s(input)?, s(&log)?, s(&ivf_path)?);
    let t = format!("{seconds:.3}");
    let cpu = cfg.cpu_used.to_string();
    let common = [
        "-y",
        "-v",
        "error",
        "-i",
        inp,
        "-t",
        &t,
        "-an",
        "-vf",
        &vf,
        "-c:v",
        "libaom-av1",
        "-b:v",
        &rate,
        "-cpu-used",
        &cpu,
        "-row-mt",
        "1",
        "-passlogfile",
        logp,
    ];
    let mut p1: Vec<&str> = common.to_vec();
    p1.extend(["-pass", "1", "-f", "null", "/dev/null"]);
    run("ffmpeg", &p1)?;
    let mut p2: Vec<&str> = common.to_vec();
    p2.extend(["-pass", "2", "-f", "ivf", out]);
    run("ffmpeg", &p2)?;
    let f = ivf::parse(&std::fs::read(&ivf_path)?)?;
    let video = Video {
        width: u32::from(f.width),
        height: u32::from(f.height),
        fps_num: cfg.fps,
        fps_den: 1,
    };
    let mut last = None;
    let packets = f
        .frames
        .into_iter()
        .map(|(pts, data)| {
            let delta = last.map_or(pts, |l: u64| pts.saturating_sub(l));
            last = Some(pts);
            // An AV1 temporal unit starting with a sequence header OBU (type 1) is a keyframe.
            let keyframe = data.get(2).is_some_and(|b| (b >> 3) & 0xf == 1)
                || data.first().is_some_and(|b| (b >> 3) & 0xf == 1);
            Packet {
                audio: false,
                keyframe,
                ts_delta: delta,
                data,
            }
        })
        .collect();
    Ok((video, packets))
}

fn encode_audio(
    input: &Path,
    dir: &Path,
    kbps: f64,
    seconds: f64,
) -> Result<(Audio, Vec<Packet>), MediaError> {
    let ogg_path = dir.join("a.ogg");
    let rate = format!("{kbps:.1}k");
    let t = format!("{seconds:.3}");
    run(
        "ffmpeg",
        &[
            "-y",
            "-v",
            "error",
            "-i",
            s(input)?,
            "-t",
            &t,
            "-vn",
            "-ac",
            "1",
            "-c:a",
            "libopus",
            "-b:a",
            &rate,
            "-frame_duration",
            "60",
            "-application",
            "audio",
            "-f",
            "ogg",
            s(&ogg_path)?,
        ],
    )?;
    let pkts = ogg::packets(&std::fs::read(&ogg_path)?)?;
    let head = pkts
        .first()
        .map(|p| p.0.clone())
        .filter(|h| h.starts_with(b"OpusHead") && h.len() >= 19)
        .ok_or(crate::format::FormatError::BadMagic)?;
    let audio = Audio {
        channels: head[9],
        pre_skip: u16::from_le_bytes([head[10], head[11]]),
        sample_rate: u32::from_le_bytes([head[12], head[13], head[14], head[15]]),
    };
    let packets = pkts
        .into_iter()
        .skip(2)
        .map(|(data, _)| Packet {
            audio: true,
            keyframe: true,
            ts_delta: opus::packet_samples(&data).unwrap_or(2880),
            data,
        })
        .collect();
    Ok((audio, packets))
}

/// Merge the two streams by presentation time (video frames and audio samples to milliseconds).
fn interleave(video: Option<Video>, v: Vec<Packet>, a: Vec<Packet>) -> Vec<Packet> {
    let fps = video.map_or(1.0, |v| f64::from(v.fps_num) / f64::from(v.fps_den.max(1)));
    let mut out = Vec::with_capacity(v.len() + a.len());
    let (mut vi, mut ai) = (v.into_iter().peekable(), a.into_iter().peekable());
    let (mut vt, mut at) = (0u64, 0u64); // video frames, audio samples
    loop {
        let next_v = vi.peek().map(|p| (vt + p.ts_delta) as f64 / fps);
        let next_a = ai.peek().map(|_| at as f64 / 48_000.0);
        let take_video = match (next_v, next_a) {
            (Some(tv), Some(ta)) => tv <= ta,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_video {
            if let Some(p) = vi.next() {
                vt += p.ts_delta;
                out.push(p);
            }
        } else if let Some(p) = ai.next() {
            at += p.ts_delta;
            out.push(p);
        }
    }
    out
}
