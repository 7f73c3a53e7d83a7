//! Encoding any input ffmpeg reads into a CVPM stream at a target rate or byte budget.
//!
//! Video: libaom-av1 two-pass. The size and frame rate are chosen by measurement unless forced:
//! each candidate (short side 144/180/240/360 lines, capped by the source; 6 fps, 12 fps and the
//! native rate, capped at 30) is encoded on a short excerpt at the target rate and scored by PSNR
//! and SSIM against the source ([`crate::quality`]); a candidate whose excerpt overshoots the rate
//! by more than 10 % cannot reach the budget and is skipped. Audio: libopus mono at 60 ms frames,
//! or codec2 1200 (8 kHz mono). The raw temporal units and packets are taken out of ffmpeg's IVF,
//! Ogg and codec2raw output; no container goes on chain. With a byte budget the video rate is
//! searched (rate control overshoots at these rates) until the stream lands within 5 % under it.

use crate::ffmpeg::{probe, run, MediaError};
use crate::format::{Audio, AudioCodec, Packet, Stream, Video};
use crate::quality::{self, Grid, Quality};
use crate::{ivf, ogg, opus};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// What to encode. Validate with [`EncodeConfig::check`] before spending minutes encoding.
#[derive(Debug, Clone)]
pub struct EncodeConfig {
    /// Video bit rate in kbit/s (ignored when `budget_bytes` is set).
    pub video_kbps: f64,
    /// Opus bit rate in kbit/s; `None`: no audio.
    pub audio_kbps: Option<f64>,
    /// The audio codec (`audio_kbps` applies to Opus; codec2 1200 has its fixed rate).
    pub audio_codec: AudioCodec,
    /// Output width; `None`: follows the height, or chosen by measurement with it.
    pub width: Option<u32>,
    /// Output height; `None`: follows the width, or chosen by measurement with it.
    pub height: Option<u32>,
    /// Output frame rate; `None`: chosen by measurement.
    pub fps: Option<u32>,
    /// Total stream size to hit, in bytes (video rate searched).
    pub budget_bytes: Option<u64>,
    /// libaom speed (0 best ... 8 fastest).
    pub cpu_used: u8,
    /// Encode at most this many seconds of the input.
    pub max_seconds: Option<f64>,
    /// Seconds of the input (from its middle) each candidate size/rate is tried on when choosing.
    pub probe_seconds: f64,
    /// Measure PSNR and SSIM of the result against the source (one more decode).
    pub measure: bool,
}

impl Default for EncodeConfig {
    /// The demo's settings: 320 px wide at 12 fps (nothing chosen), Opus 8 kbit/s, not measured.
    fn default() -> Self {
        EncodeConfig {
            video_kbps: 12.0,
            audio_kbps: Some(8.0),
            audio_codec: AudioCodec::Opus,
            width: Some(320),
            height: None,
            fps: Some(12),
            budget_bytes: None,
            cpu_used: 6,
            max_seconds: None,
            probe_seconds: 3.0,
            measure: false,
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
            if !(6.0..=256.0).contains(&a) && self.audio_codec == AudioCodec::Opus {
                return bad("audio kbit/s", a.to_string(), "6..=256 (Opus)");
            }
        }
        for (field, v) in [("width", self.width), ("height", self.height)] {
            if let Some(v) = v {
                if !(16..=3840).contains(&v) || !v.is_multiple_of(2) {
                    return bad(field, v.to_string(), "an even number in 16..=3840");
                }
            }
        }
        if let Some(fps) = self.fps {
            if !(1..=60).contains(&fps) {
                return bad("fps", fps.to_string(), "1..=60");
            }
        }
        if self.cpu_used > 8 {
            return bad("cpu-used", self.cpu_used.to_string(), "0..=8");
        }
        if let Some(b) = self.budget_bytes {
            if b < 200 {
                return bad("budget", format!("{b} bytes"), "at least 200 bytes");
            }
        }
        if !(0.5..=60.0).contains(&self.probe_seconds) {
            return bad("probe seconds", self.probe_seconds.to_string(), "0.5..=60");
        }
        Ok(())
    }
}

/// One size and rate tried on the probe excerpt.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Frame rate.
    pub fps: u32,
    /// Bytes of the excerpt's video.
    pub bytes: u64,
    /// Its kbit/s.
    pub kbps: f64,
    /// PSNR (dB) and SSIM against the source excerpt; absent when it overshot.
    pub psnr: Option<f64>,
    /// SSIM.
    pub ssim: Option<f64>,
    /// Overshot the target rate by more than 10 % (after one corrected retry): cannot reach the
    /// budget, skipped.
    pub skipped: bool,
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
    /// Whether the size and rate were chosen by measurement (false: forced).
    pub chosen: bool,
    /// Video kbit/s given to the encoder in the final pass.
    pub video_kbps: f64,
    /// Bytes of video and of audio packets (with their framing).
    pub video_bytes: u64,
    /// Audio bytes.
    pub audio_bytes: u64,
    /// The audio codec, if any audio.
    pub audio_codec: Option<AudioCodec>,
    /// Encoder passes run (the budget search).
    pub attempts: u32,
    /// PSNR of the video against the source in dB (see [`crate::quality`]), if measured.
    pub psnr: Option<f64>,
    /// SSIM, if measured.
    pub ssim: Option<f64>,
    /// Wall-clock seconds of the whole encode (probes, audio, search; not the measurement).
    pub encode_seconds: f64,
    /// Output video frames per wall-clock second of the whole encode.
    pub encode_fps: f64,
    /// The candidates tried when choosing (empty when forced).
    pub candidates: Vec<Candidate>,
}

fn s(p: &Path) -> Result<&str, MediaError> {
    p.to_str()
        .ok_or_else(|| MediaError::Input("path is not utf-8".into()))
}

fn packet_bytes(p: &[Packet]) -> u64 {
    p.iter().map(|x| x.data.len() as u64 + 3).sum()
}

/// Where the video goes: a scale expression and a frame rate.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shape {
    scale: (i32, i32),
    fps: u32,
}

impl Shape {
    fn filter(self) -> String {
        format!("fps={},scale={}:{}", self.fps, self.scale.0, self.scale.1)
    }
}

/// The sizes and rates to try for a source of `w`x`h` at `native` fps, given what is forced.
fn candidates(cfg: &EncodeConfig, (w, h, native): (u32, u32, f64)) -> Vec<Shape> {
    let native = (native.round() as u32).clamp(1, 30);
    let mut rates: Vec<u32> = match cfg.fps {
        Some(f) => vec![f],
        None => [6, 12, native]
            .into_iter()
            .filter(|&f| f <= native)
            .collect(),
    };
    rates.dedup();
    let short_src = w.min(h).max(16) & !1;
    let sizes: Vec<(i32, i32)> = match (cfg.width, cfg.height) {
        (Some(cw), Some(ch)) => vec![(cw as i32, ch as i32)],
        (Some(cw), None) => vec![((cw.min(w.max(16) & !1)) as i32, -2)],
        (None, Some(ch)) => vec![(-2, (ch.min(h.max(16) & !1)) as i32)],
        (None, None) => {
            let mut shorts: Vec<u32> = [144, 180, 240, 360]
                .into_iter()
                .filter(|&x| x <= short_src)
                .collect();
            if shorts.is_empty() {
                shorts.push(short_src);
            }
            shorts
                .into_iter()
                .map(|x| {
                    if w >= h {
                        (-2, x as i32)
                    } else {
                        (x as i32, -2)
                    }
                })
                .collect()
        }
    };
    let mut out = Vec::new();
    for &scale in &sizes {
        for &fps in &rates {
            out.push(Shape { scale, fps });
        }
    }
    out
}

/// Encoder passes the budget search may run (each two-pass).
const MAX_ATTEMPTS: u32 = 6;

/// Tried only when every candidate overshoots: fewer frames (3 fps) and fewer lines (a 96-line
/// short side), where the floors are lower.
fn fallback(cfg: &EncodeConfig, src: (u32, u32, f64)) -> Vec<Shape> {
    let regular = candidates(cfg, src);
    let Some(first) = regular.first().copied() else {
        return Vec::new();
    };
    let forced_size = cfg.width.is_some() || cfg.height.is_some();
    let small = if src.0 >= src.1 { (-2, 96) } else { (96, -2) };
    let small_fits = !forced_size && src.0.min(src.1) > 96;
    let mut out = Vec::new();
    match cfg.fps {
        None => {
            if small_fits {
                out.push(Shape {
                    scale: small,
                    fps: 6,
                });
            }
            out.push(Shape { fps: 3, ..first });
            if small_fits {
                out.push(Shape {
                    scale: small,
                    fps: 3,
                });
            }
        }
        Some(fps) if small_fits => out.push(Shape { scale: small, fps }),
        Some(_) => {}
    }
    out
}

/// Encode `input` to a CVPM stream.
pub fn encode(input: &Path, cfg: &EncodeConfig) -> Result<(Stream, Report), MediaError> {
    cfg.check()?;
    let started = Instant::now();
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
        (true, Some(kbps)) => Some(match cfg.audio_codec {
            AudioCodec::Opus => encode_opus(input, dir.path(), kbps, seconds)?,
            AudioCodec::Codec2_1200 => encode_codec2(input, dir.path(), seconds)?,
        }),
        _ => None,
    };
    let audio_bytes = audio.as_ref().map_or(0, |(_, p)| packet_bytes(p));
    let mut video_kbps = match cfg.budget_bytes {
        Some(b) => ((b.saturating_sub(audio_bytes) as f64 * 8.0 / 1000.0 / seconds) * 0.9).max(1.0),
        None => cfg.video_kbps,
    };
    let mut attempts = 0;
    let mut tried = Vec::new();
    let (video, vpackets) = match info.video {
        None => (None, Vec::new()),
        Some(src) => {
            let shapes = candidates(cfg, src);
            let chosen = match shapes.as_slice() {
                [one] => *one,
                _ => {
                    let grid = Grid::of(src);
                    let (best, list) = choose(
                        input,
                        dir.path(),
                        cfg,
                        &shapes,
                        &fallback(cfg, src),
                        video_kbps,
                        seconds,
                        grid,
                    )?;
                    tried = list;
                    best
                }
            };
            // The largest result within the budget so far, and the smallest size seen.
            let mut fit: Option<(u64, Video, Vec<Packet>, f64)> = None;
            let mut smallest = u64::MAX;
            let (mut fitted, mut overshot) = (0.0f64, f64::MAX);
            loop {
                attempts += 1;
                let out = encode_video(
                    input,
                    dir.path(),
                    cfg.cpu_used,
                    chosen,
                    video_kbps,
                    (0.0, seconds),
                )?;
                let size = packet_bytes(&out.1) + audio_bytes;
                smallest = smallest.min(size);
                let Some(b) = cfg.budget_bytes else {
                    break (Some(out.0), out.1);
                };
                if size <= b && fit.as_ref().is_none_or(|f| size > f.0) {
                    fit = Some((size, out.0, out.1, video_kbps));
                }
                if size <= b && size as f64 >= b as f64 * 0.95 || attempts >= MAX_ATTEMPTS {
                    match fit.take() {
                        Some((_, v, p, kbps)) => {
                            video_kbps = kbps;
                            break (Some(v), p);
                        }
                        None => {
                            return Err(MediaError::Input(format!(
                                "the smallest stream this input reached at {}x{} {} fps in {attempts} passes is {smallest} bytes, above the budget of {b} bytes: lower --height or --fps, drop audio, or raise the budget",
                                out.0.width, out.0.height, out.0.fps_num
                            )))
                        }
                    }
                }
                // Scale the rate by how far off we landed, aiming 2 % under the budget; the
                // encoder is not monotonic at these rates, so keep inside the bracket of the
                // highest rate that fitted and the lowest that overshot.
                if size <= b {
                    fitted = fitted.max(video_kbps);
                } else {
                    overshot = overshot.min(video_kbps);
                }
                let target = (b as f64 * 0.98 - audio_bytes as f64).max(1.0);
                let mut next = video_kbps * target / (size - audio_bytes).max(1) as f64;
                if fitted > 0.0 && overshot < f64::MAX && fitted < overshot {
                    if next <= fitted || next >= overshot {
                        next = (fitted * overshot).sqrt();
                    }
                } else if size > b && next >= video_kbps {
                    next = video_kbps * 0.9;
                } else if size <= b && next <= video_kbps {
                    next = video_kbps * 1.1;
                }
                video_kbps = next.clamp(0.5, 20_000.0);
            }
        }
    };
    let video_bytes = packet_bytes(&vpackets);
    let frames = vpackets.len();
    let (audio_params, apackets) = audio.map_or((None, Vec::new()), |(a, p)| (Some(a), p));
    let stream = Stream {
        video,
        audio: audio_params,
        packets: interleave(video, vpackets, apackets),
    };
    let encode_seconds = started.elapsed().as_secs_f64();
    let q = match (cfg.measure, video) {
        (true, Some(_)) => Some(quality::measure_on(
            input,
            &stream,
            (0.0, seconds),
            Grid::of(info.video.unwrap_or_default()),
        )?),
        _ => None,
    };
    let bytes = stream.encode().len() as u64;
    let report = Report {
        bytes,
        seconds,
        kbps: bytes as f64 * 8.0 / 1000.0 / seconds,
        width: video.map_or(0, |v| v.width),
        height: video.map_or(0, |v| v.height),
        fps: video.map_or(0, |v| v.fps_num),
        chosen: !tried.is_empty(),
        video_kbps,
        video_bytes,
        audio_bytes,
        audio_codec: audio_params.map(|a| a.codec),
        attempts,
        psnr: q.map(|q| q.psnr),
        ssim: q.map(|q| q.ssim),
        encode_seconds,
        encode_fps: frames as f64 / encode_seconds.max(1e-9),
        candidates: tried,
    };
    Ok((stream, report))
}

/// Score a measurement: PSNR and SSIM (as dB, -10 log10(1 - SSIM)) count equally.
fn score(q: Quality) -> f64 {
    q.psnr.min(100.0) - 10.0 * (1.0 - q.ssim).max(1e-10).log10()
}

/// Try each shape on the first `probe_seconds` at `kbps` (retried once at a corrected rate when it
/// lands more than 10 % off); the best score among those that do not overshoot by more than 10 % wins (if all overshoot, the smallest, and the budget search says
/// whether it fits).
#[allow(clippy::too_many_arguments, reason = "one private call site")]
fn choose(
    input: &Path,
    dir: &Path,
    cfg: &EncodeConfig,
    shapes: &[Shape],
    fallback: &[Shape],
    kbps: f64,
    seconds: f64,
    grid: Grid,
) -> Result<(Shape, Vec<Candidate>), MediaError> {
    let excerpt = cfg.probe_seconds.min(seconds);
    // From the middle: a film's first seconds are often titles or black.
    let start = ((seconds - excerpt) / 2.0).max(0.0);
    let target = kbps * 1000.0 / 8.0 * excerpt;
    let cpu = cfg.cpu_used.max(6);
    let mut list = Vec::new();
    let mut best: Option<(f64, Shape)> = None;
    let mut smallest: Option<(u64, Shape)> = None;
    let mut queue: Vec<Shape> = shapes.to_vec();
    let mut i = 0;
    while let Some(&shape) = queue.get(i) {
        i += 1;
        // libaom's rate control misses by up to a third on a few seconds at these rates, and not
        // in the same direction for every size: one corrected retry puts the candidates at about
        // the same byte count before their quality is compared.
        let (mut v, mut packets) = encode_video(input, dir, cpu, shape, kbps, (start, excerpt))?;
        let mut bytes = packet_bytes(&packets);
        let off = bytes as f64 / target;
        if !(0.9..=1.1).contains(&off) {
            let again = (kbps / off).clamp(0.5, 20_000.0);
            (v, packets) = encode_video(input, dir, cpu, shape, again, (start, excerpt))?;
            bytes = packet_bytes(&packets);
        }
        let skipped = bytes as f64 > target * 1.10;
        let mut cand = Candidate {
            width: v.width,
            height: v.height,
            fps: v.fps_num,
            bytes,
            kbps: bytes as f64 * 8.0 / 1000.0 / excerpt,
            psnr: None,
            ssim: None,
            skipped,
        };
        if smallest.is_none_or(|(b, _)| bytes < b) {
            smallest = Some((bytes, shape));
        }
        if !skipped {
            let stream = Stream {
                video: Some(v),
                audio: None,
                packets,
            };
            let q = quality::measure_on(input, &stream, (start, excerpt), grid)?;
            cand.psnr = Some(q.psnr);
            cand.ssim = Some(q.ssim);
            if best.is_none_or(|(s, _)| score(q) > s) {
                best = Some((score(q), shape));
            }
        }
        list.push(cand);
        if i == shapes.len() && best.is_none() {
            // Nothing reached the rate: the floors are lower with fewer frames and fewer lines.
            queue.extend(fallback.iter().filter(|f| !shapes.contains(f)));
        }
    }
    let pick = best
        .map(|b| b.1)
        .or(smallest.map(|s| s.1))
        .ok_or_else(|| MediaError::Input("no size or frame rate to try".into()))?;
    Ok((pick, list))
}

fn encode_video(
    input: &Path,
    dir: &Path,
    cpu_used: u8,
    shape: Shape,
    kbps: f64,
    (start, seconds): (f64, f64),
) -> Result<(Video, Vec<Packet>), MediaError> {
    let vf = shape.filter();
    let rate = format!("{kbps:.2}k");
    let log = dir.join("pass");
    let ivf_path = dir.join("v.ivf");
    let (inp, logp, out) = (s(input)?, s(&log)?, s(&ivf_path)?);
    let t = format!("{seconds:.3}");
    let ss = format!("{start:.3}");
    let cpu = cpu_used.to_string();
    let common = [
        "-y",
        "-v",
        "error",
        "-ss",
        &ss,
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
        fps_num: shape.fps,
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

fn encode_opus(
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
        codec: AudioCodec::Opus,
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

/// Codec 2 at 1200 bit/s, 8 kHz mono: 6-byte frames of 40 ms, ten to a packet (400 ms), so that
/// the 3 bytes of framing cost 5 % rather than 50 %.
fn encode_codec2(
    input: &Path,
    dir: &Path,
    seconds: f64,
) -> Result<(Audio, Vec<Packet>), MediaError> {
    const FRAMES_PER_PACKET: usize = 10;
    let raw_path = dir.join("a.c2");
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
            "-ar",
            "8000",
            "-c:a",
            "libcodec2",
            "-mode",
            "1200",
            "-f",
            "codec2raw",
            s(&raw_path)?,
        ],
    )?;
    let raw = std::fs::read(&raw_path)?;
    let frame = AudioCodec::CODEC2_1200_FRAME_BYTES;
    let whole = raw.len() - raw.len() % frame;
    let packets = raw[..whole]
        .chunks(frame * FRAMES_PER_PACKET)
        .map(|c| Packet {
            audio: true,
            keyframe: true,
            ts_delta: (c.len() / frame) as u64 * AudioCodec::CODEC2_FRAME_SAMPLES_48K,
            data: c.to_vec(),
        })
        .collect();
    let audio = Audio {
        sample_rate: 8000,
        channels: 1,
        pre_skip: 0,
        codec: AudioCodec::Codec2_1200,
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn auto() -> EncodeConfig {
        EncodeConfig {
            width: None,
            height: None,
            fps: None,
            ..EncodeConfig::default()
        }
    }

    fn list(v: &[Shape]) -> Vec<(i32, i32, u32)> {
        v.iter().map(|s| (s.scale.0, s.scale.1, s.fps)).collect()
    }

    #[test]
    fn candidates_are_capped_by_the_source() {
        // 720p, 25 fps: four sizes by three rates.
        let c = candidates(&auto(), (1280, 720, 25.0));
        assert_eq!(c.len(), 12);
        assert!(c.contains(&Shape {
            scale: (-2, 360),
            fps: 25
        }));
        // QCIF at 29.97: only its own 144 lines; 30 fps.
        let c = candidates(&auto(), (176, 144, 29.97));
        assert_eq!(list(&c), [(-2, 144, 6), (-2, 144, 12), (-2, 144, 30)]);
        // Portrait: the width is the short side. 10 fps source: no 12 fps.
        let c = candidates(&auto(), (180, 320, 10.0));
        assert_eq!(
            list(&c),
            [(144, -2, 6), (144, -2, 10), (180, -2, 6), (180, -2, 10)]
        );
        // Forced size and rate: one shape.
        let forced = EncodeConfig {
            height: Some(144),
            fps: Some(12),
            ..auto()
        };
        assert_eq!(
            list(&candidates(&forced, (1280, 720, 25.0))),
            [(-2, 144, 12)]
        );
    }

    #[test]
    fn fallbacks_go_lower() {
        assert_eq!(
            list(&fallback(&auto(), (1280, 720, 25.0))),
            [(-2, 96, 6), (-2, 144, 3), (-2, 96, 3)]
        );
        let fps_forced = EncodeConfig {
            fps: Some(12),
            ..auto()
        };
        assert_eq!(
            list(&fallback(&fps_forced, (1280, 720, 25.0))),
            [(-2, 96, 12)]
        );
        let size_forced = EncodeConfig {
            height: Some(180),
            ..auto()
        };
        assert_eq!(
            list(&fallback(&size_forced, (1280, 720, 25.0))),
            [(-2, 180, 3)]
        );
    }
}
