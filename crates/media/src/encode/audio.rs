//! The audio: libopus packets out of ffmpeg's Ogg, or codec2 1200 frames out of codec2raw.

use super::{args, Job};
use crate::ffmpeg::{run, utf8, MediaError};
use crate::format::{Audio, AudioCodec, FormatError, Packet};
use crate::{ogg, opus};

/// Opus at `kbps`, mono, 60 ms frames; the parameters from its OpusHead.
pub(super) fn opus(job: &Job<'_>, kbps: f64) -> Result<(Audio, Vec<Packet>), MediaError> {
    let ogg_path = job.dir.join("a.ogg");
    run(
        "ffmpeg",
        &args::opus(utf8(job.input)?, job.seconds, kbps, utf8(&ogg_path)?),
    )?;
    let pkts = ogg::packets(&std::fs::read(&ogg_path)?)?;
    let head = pkts
        .first()
        .map(|p| p.0.clone())
        .filter(|h| h.starts_with(b"OpusHead") && h.len() >= 19)
        .ok_or(FormatError::BadMagic)?;
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
pub(super) fn codec2(job: &Job<'_>) -> Result<(Audio, Vec<Packet>), MediaError> {
    const FRAMES_PER_PACKET: usize = 10;
    let raw_path = job.dir.join("a.c2");
    run(
        "ffmpeg",
        &args::codec2(utf8(job.input)?, job.seconds, utf8(&raw_path)?),
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
