//! CVPM: the on-chain media stream (v1: AV1 + Opus; v2 adds a codec id for other audio codecs).
//!
//! ```text
//! "CVPM" version(1 or 2)
//! video: width varint, height varint, fps_num varint, fps_den varint   (width 0: no video)
//! audio: sample_rate varint, channels u8, pre_skip varint               (channels 0: no audio)
//! v2 only: audio codec u8 (1: codec2; 0, Opus, is written as v1), codec2 mode u8 (5: 1200 bit/s)
//! then packets until the end:
//!   kind u8 (bit 0: 0 video / 1 audio; bit 1: keyframe; other bits must be 0)
//!   ts_delta varint (video: frames since the previous video packet; audio: samples at 48 kHz
//!                    since the previous audio packet)
//!   size varint, data
//! ```
//! Decoding rejects trailing bytes and unknown bits, and never allocates more than the input.

use cvp::{varint, DecodeError};
use serde::{Deserialize, Serialize};

/// Format errors: each names the flaw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Not a CVPM stream.
    #[error("not a cvpm stream (bad magic)")]
    BadMagic,
    /// A version this reader does not know.
    #[error("unsupported cvpm version {0}")]
    Version(u8),
    /// The input ends inside a field.
    #[error("truncated: {0} runs past the end")]
    Truncated(&'static str),
    /// A varint longer than needed or past 64 bits.
    #[error("bad varint in {0}")]
    Varint(&'static str),
    /// A value outside its range.
    #[error("{field} is {value}, the valid range is {min}..={max}")]
    Range {
        /// Field.
        field: &'static str,
        /// Value.
        value: u64,
        /// Minimum.
        min: u64,
        /// Maximum.
        max: u64,
    },
    /// Reserved bits set in a packet's kind byte.
    #[error("packet kind {0:#04x} has reserved bits set")]
    Kind(u8),
    /// Timestamps whose sum or product does not fit (a hostile stream): says which.
    #[error("timestamps out of range: {0}")]
    Overflow(&'static str),
    /// A packet of a stream the header says is absent.
    #[error("{0} packet in a stream without {0}")]
    NoSuchStream(&'static str),
}

/// Video parameters (AV1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Video {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frame rate numerator.
    pub fps_num: u32,
    /// Frame rate denominator.
    pub fps_den: u32,
}

/// The audio codec of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AudioCodec {
    /// Opus (CVPM v1): packet data is one Opus packet.
    #[default]
    Opus,
    /// Codec 2 at 1200 bit/s, 8 kHz mono (CVPM v2, codec 1, mode 5): packet data is a whole
    /// number of 6-byte, 40 ms frames.
    Codec2_1200,
}

impl AudioCodec {
    /// Codec 2's mode number as libcodec2 and ffmpeg count them.
    pub const CODEC2_1200_MODE: u8 = 5;
    /// Bytes of one codec2 1200 frame.
    pub const CODEC2_1200_FRAME_BYTES: usize = 6;
    /// One codec2 frame (40 ms) in 48 kHz samples.
    pub const CODEC2_FRAME_SAMPLES_48K: u64 = 1920;
}

/// Audio parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audio {
    /// Input sample rate (informative; Opus runs at 48 kHz).
    pub sample_rate: u32,
    /// Channels (1 or 2).
    pub channels: u8,
    /// Samples to drop at the start (OpusHead pre-skip; 0 for codec2).
    pub pre_skip: u16,
    /// The codec (Opus unless the stream is v2).
    #[serde(default)]
    pub codec: AudioCodec,
}

/// One packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packet {
    /// Audio (true) or video (false).
    pub audio: bool,
    /// A keyframe (video) or independently decodable (audio: always true).
    pub keyframe: bool,
    /// Time since the previous packet of the same stream (video: frames; audio: 48 kHz samples).
    pub ts_delta: u64,
    /// The raw AV1 temporal unit or Opus packet.
    pub data: Vec<u8>,
}

/// A whole stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    /// Video, if any.
    pub video: Option<Video>,
    /// Audio, if any.
    pub audio: Option<Audio>,
    /// Packets in decode order, interleaved.
    pub packets: Vec<Packet>,
}

/// The magic.
pub const MAGIC: &[u8; 4] = b"CVPM";
/// The version written for AV1 + Opus (and for streams without audio).
pub const VERSION: u8 = 1;
/// The version written when the audio is not Opus: the header gains a codec id.
pub const VERSION_2: u8 = 2;

struct Rd<'a>(&'a [u8]);

impl Rd<'_> {
    fn byte(&mut self, what: &'static str) -> Result<u8, FormatError> {
        let (&b, rest) = self.0.split_first().ok_or(FormatError::Truncated(what))?;
        self.0 = rest;
        Ok(b)
    }
    /// A minimal LEB128 varint (cvp's, so both formats have one encoding per value).
    fn varint(&mut self, what: &'static str) -> Result<u64, FormatError> {
        match varint::read(self.0) {
            Ok((v, used)) => {
                self.0 = &self.0[used..];
                Ok(v)
            }
            Err(DecodeError::Truncated(_)) => Err(FormatError::Truncated(what)),
            Err(_) => Err(FormatError::Varint(what)),
        }
    }
    fn ranged(&mut self, what: &'static str, min: u64, max: u64) -> Result<u64, FormatError> {
        let v = self.varint(what)?;
        if v < min || v > max {
            return Err(FormatError::Range {
                field: what,
                value: v,
                min,
                max,
            });
        }
        Ok(v)
    }
}

impl Stream {
    /// Serialize.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(16 + self.packets.iter().map(|p| p.data.len() + 4).sum::<usize>());
        out.extend_from_slice(MAGIC);
        let codec = self.audio.map_or(AudioCodec::Opus, |a| a.codec);
        out.push(if codec == AudioCodec::Opus {
            VERSION
        } else {
            VERSION_2
        });
        let v = self.video.unwrap_or(Video {
            width: 0,
            height: 0,
            fps_num: 0,
            fps_den: 0,
        });
        for x in [v.width, v.height, v.fps_num, v.fps_den] {
            varint::write(&mut out, u64::from(x));
        }
        let a = self.audio.unwrap_or(Audio {
            sample_rate: 0,
            channels: 0,
            pre_skip: 0,
            codec: AudioCodec::Opus,
        });
        varint::write(&mut out, u64::from(a.sample_rate));
        out.push(a.channels);
        varint::write(&mut out, u64::from(a.pre_skip));
        if codec == AudioCodec::Codec2_1200 {
            out.push(1);
            out.push(AudioCodec::CODEC2_1200_MODE);
        }
        for p in &self.packets {
            out.push(u8::from(p.audio) | (u8::from(p.keyframe) << 1));
            varint::write(&mut out, p.ts_delta);
            varint::write(&mut out, p.data.len() as u64);
            out.extend_from_slice(&p.data);
        }
        out
    }

    /// Parse, rejecting anything malformed (including trailing bytes inside a packet).
    pub fn decode(b: &[u8]) -> Result<Stream, FormatError> {
        Self::decode_inner(b, false)
    }

    /// Parse the verified beginning of a stream still arriving: stops at the last whole packet
    /// instead of refusing a cut one. Everything else is checked as in [`Stream::decode`].
    pub fn decode_prefix(b: &[u8]) -> Result<Stream, FormatError> {
        Self::decode_inner(b, true)
    }

    fn decode_inner(b: &[u8], prefix: bool) -> Result<Stream, FormatError> {
        if b.len() < 5 || &b[..4] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        let version = b[4];
        if version != VERSION && version != VERSION_2 {
            return Err(FormatError::Version(version));
        }
        let mut r = Rd(&b[5..]);
        let video = Self::video_header(&mut r)?;
        let audio = Self::audio_header(&mut r, version)?;
        let mut packets = Vec::new();
        while !r.0.is_empty() {
            match Self::packet(&mut r, video.is_some(), audio.map(|a| a.codec)) {
                Ok(p) => packets.push(p),
                Err(FormatError::Truncated(_)) if prefix => break,
                Err(e) => return Err(e),
            }
        }
        Ok(Stream {
            video,
            audio,
            packets,
        })
    }

    /// Width, height and frame rate; all zero for a stream without video.
    fn video_header(r: &mut Rd<'_>) -> Result<Option<Video>, FormatError> {
        let width = r.ranged("width", 0, 16384)? as u32;
        let height = r.ranged("height", 0, 16384)? as u32;
        let fps_num = r.ranged("fps numerator", 0, 1000)? as u32;
        let fps_den = r.ranged("fps denominator", 0, 1000)? as u32;
        Ok(if width == 0 {
            if height != 0 || fps_num != 0 || fps_den != 0 {
                return Err(FormatError::Range {
                    field: "video fields without video",
                    value: 1,
                    min: 0,
                    max: 0,
                });
            }
            None
        } else {
            if height == 0 || fps_num == 0 || fps_den == 0 {
                return Err(FormatError::Range {
                    field: "video size and rate",
                    value: 0,
                    min: 1,
                    max: 16384,
                });
            }
            Some(Video {
                width,
                height,
                fps_num,
                fps_den,
            })
        })
    }

    /// Sample rate, channels, pre-skip, and in v2 the codec; channels 0 for no audio.
    fn audio_header(r: &mut Rd<'_>, version: u8) -> Result<Option<Audio>, FormatError> {
        let sample_rate = r.ranged("sample rate", 0, 192_000)? as u32;
        let channels = r.byte("channels")?;
        if channels > 2 {
            return Err(FormatError::Range {
                field: "channels",
                value: u64::from(channels),
                min: 0,
                max: 2,
            });
        }
        let pre_skip = r.ranged("pre-skip", 0, 65535)? as u16;
        if channels == 0 && (sample_rate != 0 || pre_skip != 0) {
            return Err(FormatError::Range {
                field: "audio fields without audio",
                value: 1,
                min: 0,
                max: 0,
            });
        }
        let codec = if version == VERSION_2 {
            let id = r.byte("audio codec")?;
            if id != 1 || channels == 0 {
                // 0 (Opus) is written as v1, so that every stream has one encoding.
                return Err(FormatError::Range {
                    field: "v2 audio codec (1: codec2, with audio)",
                    value: u64::from(id),
                    min: 1,
                    max: 1,
                });
            }
            let mode = r.byte("codec2 mode")?;
            if mode != AudioCodec::CODEC2_1200_MODE {
                return Err(FormatError::Range {
                    field: "codec2 mode",
                    value: u64::from(mode),
                    min: u64::from(AudioCodec::CODEC2_1200_MODE),
                    max: u64::from(AudioCodec::CODEC2_1200_MODE),
                });
            }
            if sample_rate != 8000 || channels != 1 || pre_skip != 0 {
                return Err(FormatError::Range {
                    field: "codec2 header (8000 Hz, 1 channel, no pre-skip)",
                    value: u64::from(sample_rate),
                    min: 8000,
                    max: 8000,
                });
            }
            AudioCodec::Codec2_1200
        } else {
            AudioCodec::Opus
        };
        Ok((channels > 0).then_some(Audio {
            sample_rate,
            channels,
            pre_skip,
            codec,
        }))
    }

    fn packet(
        r: &mut Rd<'_>,
        has_video: bool,
        audio: Option<AudioCodec>,
    ) -> Result<Packet, FormatError> {
        {
            let kind = r.byte("packet kind")?;
            if kind & !0b11 != 0 {
                return Err(FormatError::Kind(kind));
            }
            let audio_pkt = kind & 1 == 1;
            if audio_pkt && audio.is_none() {
                return Err(FormatError::NoSuchStream("audio"));
            }
            if !audio_pkt && !has_video {
                return Err(FormatError::NoSuchStream("video"));
            }
            let ts_delta = r.varint("timestamp delta")?;
            let size = r.varint("packet size")?;
            let size = usize::try_from(size).map_err(|_| FormatError::Truncated("packet"))?;
            if size > r.0.len() {
                return Err(FormatError::Truncated("packet"));
            }
            let (data, rest) = r.0.split_at(size);
            if audio_pkt && audio == Some(AudioCodec::Codec2_1200) {
                // Whole 40 ms frames only, and the delta says how many.
                let frames = (size / AudioCodec::CODEC2_1200_FRAME_BYTES) as u64;
                if size == 0 || size % AudioCodec::CODEC2_1200_FRAME_BYTES != 0 {
                    return Err(FormatError::Range {
                        field: "codec2 packet size (whole 6-byte frames)",
                        value: size as u64,
                        min: 6,
                        max: u64::MAX,
                    });
                }
                let samples = frames
                    .checked_mul(AudioCodec::CODEC2_FRAME_SAMPLES_48K)
                    .ok_or(FormatError::Overflow(
                        "the codec2 packet duration passes 64 bits",
                    ))?;
                if ts_delta != samples {
                    return Err(FormatError::Range {
                        field: "codec2 packet duration (1920 samples per frame)",
                        value: ts_delta,
                        min: samples,
                        max: samples,
                    });
                }
            }
            r.0 = rest;
            Ok(Packet {
                audio: audio_pkt,
                keyframe: kind & 2 == 2,
                ts_delta,
                data: data.to_vec(),
            })
        }
    }

    /// The presentation time of each packet of one stream (`audio`: the audio packets, else the
    /// video ones), the running sum of their deltas, with the packet. The deltas come from the
    /// chain: a sum past 64 bits is refused, not wrapped.
    pub fn times(&self, audio: bool) -> Result<Vec<(u64, &Packet)>, FormatError> {
        let mut t = 0u64;
        self.packets
            .iter()
            .filter(|p| p.audio == audio)
            .map(|p| {
                t = t.checked_add(p.ts_delta).ok_or(FormatError::Overflow(
                    "the sum of the timestamp deltas passes 64 bits",
                ))?;
                Ok((t, p))
            })
            .collect()
    }

    /// Duration in milliseconds (the longer of the two streams); an error when the timestamps of
    /// a hostile stream do not fit in 64 bits.
    pub fn duration_ms(&self) -> Result<u64, FormatError> {
        let vframes = match self.times(false)?.last() {
            Some(&(t, _)) => t.checked_add(1).ok_or(FormatError::Overflow(
                "the video duration in milliseconds passes 64 bits",
            ))?,
            None => 0,
        };
        let vms = match self.video {
            Some(v) => {
                let ms = u128::from(vframes) * 1000 * u128::from(v.fps_den)
                    / u128::from(v.fps_num.max(1));
                u64::try_from(ms).map_err(|_| {
                    FormatError::Overflow("the video duration in milliseconds passes 64 bits")
                })?
            }
            None => 0,
        };
        let asamples = self.times(true)?.last().map_or(0, |&(t, _)| t);
        Ok(vms.max(asamples / 48))
    }
}

/// For fuzzing: decode, and if it decodes, re-encoding gives the same bytes.
pub fn fuzz_decode(data: &[u8]) {
    if let Ok(s) = Stream::decode(data) {
        assert_eq!(s.encode(), data, "decode -> encode must round-trip");
    }
}
