//! Encoding any input ffmpeg reads into a CVPM stream at a target rate or byte budget.
//!
//! Video: libaom-av1 two-pass. The size and frame rate are chosen by measurement unless forced:
//! each candidate (short side 144/180/240/360 lines, capped by the source; 6 fps, 12 fps and the
//! native rate, capped at 30) is encoded on a short excerpt at the target rate and scored by PSNR
//! and SSIM against the source ([`crate::quality`]); a candidate whose excerpt overshoots the rate
//! by more than 10 % cannot reach the budget and is skipped. Audio: libopus mono at 60 ms frames,
//! or codec2 1200 (8 kHz mono). The raw temporal units and packets are taken out of ffmpeg's IVF,
//! Ogg and codec2raw output; no container goes on chain. With a byte budget the video rate is
//! searched (rate control overshoots at these rates) until the stream lands within 5 % under it;
//! a rate for the whole stream ([`EncodeConfig::stream_kbps`]) is that budget over the duration.

mod args;
mod audio;
mod budget;
pub use budget::RateBracket;
mod choose;
mod video;

use crate::ffmpeg::{probe, MediaError, Probe};
use crate::format::{Audio, AudioCodec, Packet, Stream, Video};
use crate::quality::{self, Grid};
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// The default keyframe interval, in seconds.
pub const DEFAULT_KEYFRAME_SECONDS: f64 = 10.0;

/// What to encode. Validate with [`EncodeConfig::check`] before spending minutes encoding.
#[derive(Debug, Clone)]
pub struct EncodeConfig {
    /// Video bit rate in kbit/s given to the encoder as is (ignored when `budget_bytes` or
    /// `stream_kbps` is set; rate control misses it at these rates).
    pub video_kbps: f64,
    /// The whole stream's kbit/s (video, audio and CVPM framing over the seconds encoded): the
    /// byte budget `stream_kbps` x seconds / 8, searched like `budget_bytes` (which wins).
    pub stream_kbps: Option<f64>,
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
    /// Measure PSNR, SSIM and (with a `vmaf` tool) VMAF of the result against the source.
    pub measure: bool,
    /// At most this many seconds between keyframes: where a player can start, seek, and where a
    /// film still arriving becomes playable (the gateway serves a fragment from one keyframe to
    /// the next once the next has arrived). Each keyframe costs bytes: see docs/media-format.md.
    pub keyframe_seconds: f64,
}

impl Default for EncodeConfig {
    /// The demo's settings: 320 px wide at 12 fps (nothing chosen), Opus 8 kbit/s, not measured.
    fn default() -> Self {
        EncodeConfig {
            video_kbps: 12.0,
            stream_kbps: None,
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
            keyframe_seconds: DEFAULT_KEYFRAME_SECONDS,
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
        if let Some(r) = self.stream_kbps {
            if !(1.0..=20_000.0).contains(&r) {
                return bad("stream kbit/s", r.to_string(), "1..=20000");
            }
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
        if !(0.5..=600.0).contains(&self.keyframe_seconds) {
            return bad(
                "keyframe seconds",
                self.keyframe_seconds.to_string(),
                "0.5..=600",
            );
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
    /// The byte budget the video rate was searched for: `budget_bytes`, or `stream_kbps` over
    /// the seconds encoded; `None`: the video rate was given to the encoder as is.
    pub target_bytes: Option<u64>,
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
    /// The stream stays under `target_bytes` because the encoder could not use them: a higher
    /// rate gave no more bytes (simple pictures at this size and frame rate).
    pub at_ceiling: bool,
    /// PSNR of the video against the source in dB (see [`crate::quality`]), if measured.
    pub psnr: Option<f64>,
    /// SSIM, if measured.
    pub ssim: Option<f64>,
    /// VMAF (model v0.6.1) on the same grid, if measured and a `vmaf` tool was found
    /// ([`crate::quality::vmaf_tool`]).
    pub vmaf: Option<f64>,
    /// Wall-clock seconds of the whole encode (probes, audio, search; not the measurement).
    pub encode_seconds: f64,
    /// Output video frames per wall-clock second of the whole encode.
    pub encode_fps: f64,
    /// The candidates tried when choosing (empty when forced).
    pub candidates: Vec<Candidate>,
}

/// Bytes of packets in a CVPM stream with their framing: a flags byte, the timestamp delta and
/// the length (varints; deltas count within each track, so interleaving changes none of this).
fn packet_bytes(p: &[Packet]) -> u64 {
    p.iter()
        .map(|x| {
            let len = x.data.len() as u64;
            1 + (cvp::varint::len(x.ts_delta) + cvp::varint::len(len)) as u64 + len
        })
        .sum()
}

/// The most a stream's header (everything before its packets) can take with `audio`.
fn header_bound(audio: Option<Audio>) -> u64 {
    let widest = Video {
        width: 3840,
        height: 3840,
        fps_num: u32::MAX,
        fps_den: u32::MAX,
    };
    Stream {
        video: Some(widest),
        audio,
        packets: Vec::new(),
    }
    .encode()
    .len() as u64
}

/// One encode's fixed inputs: the file, the scratch directory, the settings, the seconds encoded
/// and the byte budget, if any.
struct Job<'a> {
    input: &'a Path,
    dir: &'a Path,
    cfg: &'a EncodeConfig,
    seconds: f64,
    budget: Option<u64>,
}

/// What the video passes produced.
struct VideoOut {
    video: Option<Video>,
    packets: Vec<Packet>,
    /// The rate of the pass kept (the starting rate when there is no video).
    kbps: f64,
    attempts: u32,
    at_ceiling: bool,
    tried: Vec<Candidate>,
}

/// Encode `input` to a CVPM stream.
pub fn encode(input: &Path, cfg: &EncodeConfig) -> Result<(Stream, Report), MediaError> {
    cfg.check()?;
    let started = Instant::now();
    let (info, seconds) = probe_input(input, cfg)?;
    let dir = tempfile::tempdir()?;
    let job = Job {
        input,
        dir: dir.path(),
        cfg,
        seconds,
        budget: cfg
            .budget_bytes
            .or(cfg.stream_kbps.map(|r| (r * 1000.0 / 8.0 * seconds) as u64)),
    };
    let audio = match (info.audio, cfg.audio_kbps) {
        (true, Some(kbps)) => Some(match cfg.audio_codec {
            AudioCodec::Opus => audio::opus(&job, kbps)?,
            AudioCodec::Codec2_1200 => audio::codec2(&job)?,
        }),
        _ => None,
    };
    // What the video's budget must leave: the audio and the stream's header.
    let audio_bytes = audio.as_ref().map_or(0, |(_, p)| packet_bytes(p))
        + header_bound(audio.as_ref().map(|(a, _)| *a));
    let kbps = match job.budget {
        Some(b) => ((b.saturating_sub(audio_bytes) as f64 * 8.0 / 1000.0 / seconds) * 0.9).max(1.0),
        None => cfg.video_kbps,
    };
    let out = match info.video {
        None => VideoOut {
            video: None,
            packets: Vec::new(),
            kbps,
            attempts: 0,
            at_ceiling: false,
            tried: Vec::new(),
        },
        Some(src) => {
            let (shape, tried) = choose::shape_for(&job, src, kbps)?;
            let s = budget::search(&job, shape, kbps, audio_bytes)?;
            VideoOut {
                video: Some(s.video),
                packets: s.packets,
                kbps: s.kbps,
                attempts: s.attempts,
                at_ceiling: s.at_ceiling,
                tried,
            }
        }
    };
    finish(&job, &info, started, out, audio)
}

/// Probe the input and the seconds to encode; refuse what has nothing to encode.
fn probe_input(input: &Path, cfg: &EncodeConfig) -> Result<(Probe, f64), MediaError> {
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
    Ok((info, seconds))
}

/// Interleave the stream, measure it if asked, and report.
fn finish(
    job: &Job<'_>,
    info: &Probe,
    started: Instant,
    out: VideoOut,
    audio: Option<(Audio, Vec<Packet>)>,
) -> Result<(Stream, Report), MediaError> {
    let (video, seconds) = (out.video, job.seconds);
    let video_bytes = packet_bytes(&out.packets);
    let frames = out.packets.len();
    let (audio_params, apackets) = audio.map_or((None, Vec::new()), |(a, p)| (Some(a), p));
    let audio_bytes = packet_bytes(&apackets);
    let stream = Stream {
        video,
        audio: audio_params,
        packets: interleave(video, out.packets, apackets),
    };
    let encode_seconds = started.elapsed().as_secs_f64();
    let (q, vmaf) = match (job.cfg.measure, video) {
        (true, Some(_)) => {
            let grid = Grid::of(info.video.unwrap_or_default());
            let decoded = job.dir.join("measured.ivf");
            std::fs::write(
                &decoded,
                crate::ivf::of_stream(&stream, crate::ivf::Start::Zero)?,
            )?;
            let span = (0.0, seconds);
            (
                Some(quality::compare_on(job.input, &decoded, span, grid)?),
                quality::vmaf_on(job.input, &decoded, span, grid)?,
            )
        }
        _ => (None, None),
    };
    let bytes = stream.encode().len() as u64;
    let report = Report {
        bytes,
        seconds,
        kbps: bytes as f64 * 8.0 / 1000.0 / seconds,
        width: video.map_or(0, |v| v.width),
        height: video.map_or(0, |v| v.height),
        fps: video.map_or(0, |v| v.fps_num),
        chosen: !out.tried.is_empty(),
        target_bytes: job.budget,
        video_kbps: out.kbps,
        video_bytes,
        audio_bytes,
        audio_codec: audio_params.map(|a| a.codec),
        attempts: out.attempts,
        at_ceiling: out.at_ceiling,
        psnr: q.map(|q| q.psnr),
        ssim: q.map(|q| q.ssim),
        vmaf,
        encode_seconds,
        encode_fps: frames as f64 / encode_seconds.max(1e-9),
        candidates: out.tried,
    };
    Ok((stream, report))
}

/// Merge the two streams by presentation time (video frames and audio samples to milliseconds).
fn interleave(video: Option<Video>, v: Vec<Packet>, a: Vec<Packet>) -> Vec<Packet> {
    interleave_from(video, (0, 0), v, a).0
}

/// [`interleave`] from `(video frames, audio samples)` already played (a live stream's next
/// chunk); also returns where the merged packets end.
pub(crate) fn interleave_from(
    video: Option<Video>,
    start: (u64, u64),
    v: Vec<Packet>,
    a: Vec<Packet>,
) -> (Vec<Packet>, (u64, u64)) {
    let fps = video.map_or(1.0, |v| f64::from(v.fps_num) / f64::from(v.fps_den.max(1)));
    let mut out = Vec::with_capacity(v.len() + a.len());
    let (mut vi, mut ai) = (v.into_iter().peekable(), a.into_iter().peekable());
    let (mut vt, mut at) = start; // video frames, audio samples
    loop {
        let next_v = vi
            .peek()
            .map(|p| vt.saturating_add(p.ts_delta) as f64 / fps);
        let next_a = ai.peek().map(|_| at as f64 / 48_000.0);
        let take_video = match (next_v, next_a) {
            (Some(tv), Some(ta)) => tv <= ta,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_video {
            if let Some(p) = vi.next() {
                vt = vt.saturating_add(p.ts_delta);
                out.push(p);
            }
        } else if let Some(p) = ai.next() {
            at = at.saturating_add(p.ts_delta);
            out.push(p);
        }
    }
    (out, (vt, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(audio: bool, ts_delta: u64) -> Packet {
        Packet {
            audio,
            keyframe: true,
            ts_delta,
            data: vec![u8::from(audio)],
        }
    }

    #[test]
    fn interleaving_orders_by_time_and_survives_huge_deltas() {
        let video = Some(Video {
            width: 16,
            height: 16,
            fps_num: 10,
            fps_den: 1,
        });
        // Video at 0, 100, 200 ms; audio packets of 60 ms at 0, 60, 120, 180 ms.
        let v = vec![packet(false, 0), packet(false, 1), packet(false, 1)];
        let a = vec![packet(true, 2880); 4];
        let order: Vec<bool> = interleave(video, v, a).iter().map(|p| p.audio).collect();
        assert_eq!(order, [false, true, true, false, true, true, false]);
        let huge = vec![packet(false, u64::MAX), packet(false, u64::MAX)];
        assert_eq!(interleave(video, huge, vec![packet(true, 1)]).len(), 3);
    }
}
