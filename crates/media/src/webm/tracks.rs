//! The head of a WebM file: the EBML header, Info and Tracks (AV1 with its av1C, Opus with its
//! OpusHead, codec delay and seek pre-roll), and the MIME type with its codecs parameter.

use super::av1::{self, SequenceHeader};
use super::ebml::{self, id};
use super::MuxError;
use crate::format::{Audio, AudioCodec, Stream};
use crate::opus;

/// Opus decoders need 80 ms before a seek point to converge (the Matroska Opus mapping).
const OPUS_SEEK_PRE_ROLL_NS: u64 = 80_000_000;
/// One tick of every timecode: 1 ms.
pub(crate) const TIMECODE_SCALE_NS: u64 = 1_000_000;

/// The tracks a stream has in WebM.
#[derive(Debug, Clone)]
pub(crate) struct Tracks {
    /// Track 1: the AV1 video and its sequence header.
    pub video: Option<SequenceHeader>,
    /// The Opus audio (track 2, or 1 without video).
    pub audio: Option<Audio>,
    /// Frame rate, for DefaultDuration.
    fps: (u32, u32),
}

impl Tracks {
    /// The tracks of `stream`: the sequence header from its first video packet, which must be a
    /// keyframe; Opus audio only (codec2 is left out).
    pub(crate) fn of(stream: &Stream) -> Result<Tracks, MuxError> {
        let fps = super::frame_rate(stream)?;
        let video = match fps {
            Some(_) => {
                let (index, first) = stream
                    .packets
                    .iter()
                    .enumerate()
                    .find(|(_, p)| !p.audio)
                    .ok_or(MuxError::NoVideoYet)?;
                if !first.keyframe {
                    return Err(MuxError::NotKeyframeFirst(index));
                }
                let obu = |what| MuxError::Obu {
                    packet: index,
                    what,
                };
                let payload = av1::sequence_header_payload(&first.data)
                    .map_err(obu)?
                    .ok_or(MuxError::NoSequenceHeader(index))?;
                Some(
                    SequenceHeader::parse(payload).map_err(|what| MuxError::SequenceHeader {
                        packet: index,
                        what,
                    })?,
                )
            }
            None => None,
        };
        let audio = stream.audio.filter(|a| a.codec == AudioCodec::Opus);
        if let Some(a) = audio {
            if a.channels == 0 || a.channels > 2 {
                return Err(MuxError::Channels(a.channels));
            }
        }
        if video.is_none() && audio.is_none() {
            return Err(MuxError::NoTracks);
        }
        let fps = fps.unwrap_or((1, 1));
        Ok(Tracks { video, audio, fps })
    }

    /// The audio's track number.
    pub(crate) fn audio_track(&self) -> u64 {
        1 + u64::from(self.video.is_some())
    }

    /// `video/webm; codecs="av01.P.LLT.DD, opus"`, or `audio/webm; codecs="opus"` without video.
    pub(crate) fn mime(&self) -> String {
        let mut codecs = Vec::new();
        if let Some(s) = &self.video {
            codecs.push(s.codec_string());
        }
        if self.audio.is_some() {
            codecs.push("opus".to_owned());
        }
        let kind = if self.video.is_some() {
            "video"
        } else {
            "audio"
        };
        format!("{kind}/webm; codecs=\"{}\"", codecs.join(", "))
    }

    /// The EBML header: DocType webm, version 4 (read version 2).
    pub(crate) fn ebml_header(out: &mut Vec<u8>) {
        let mut h = Vec::new();
        ebml::uint(&mut h, id::EBML_VERSION, 1);
        ebml::uint(&mut h, id::EBML_READ_VERSION, 1);
        ebml::uint(&mut h, id::EBML_MAX_ID_LENGTH, 4);
        ebml::uint(&mut h, id::EBML_MAX_SIZE_LENGTH, 8);
        ebml::string(&mut h, id::DOC_TYPE, "webm");
        ebml::uint(&mut h, id::DOC_TYPE_VERSION, 4);
        ebml::uint(&mut h, id::DOC_TYPE_READ_VERSION, 2);
        ebml::element(out, id::EBML, &h);
    }

    /// Info: 1 ms timecodes, the writer's name, and the duration when it is known.
    pub(crate) fn info(duration_ms: Option<u64>) -> Vec<u8> {
        let mut b = Vec::new();
        ebml::uint(&mut b, id::TIMECODE_SCALE, TIMECODE_SCALE_NS);
        if let Some(d) = duration_ms {
            ebml::float(&mut b, id::DURATION, d as f64);
        }
        ebml::string(&mut b, id::MUXING_APP, "bitflix");
        ebml::string(&mut b, id::WRITING_APP, "bitflix");
        let mut out = Vec::new();
        ebml::element(&mut out, id::INFO, &b);
        out
    }

    /// The Tracks element.
    pub(crate) fn element(&self) -> Vec<u8> {
        let mut entries = Vec::new();
        if let Some(s) = &self.video {
            let mut t = Vec::new();
            ebml::uint(&mut t, id::TRACK_NUMBER, 1);
            ebml::uint(&mut t, id::TRACK_UID, 1);
            ebml::uint(&mut t, id::TRACK_TYPE, 1);
            ebml::uint(&mut t, id::FLAG_LACING, 0);
            let (num, den) = (u64::from(self.fps.0), u64::from(self.fps.1));
            ebml::uint(
                &mut t,
                id::DEFAULT_DURATION,
                den * 1_000_000_000 / num.max(1),
            );
            ebml::string(&mut t, id::CODEC_ID, "V_AV1");
            ebml::element(&mut t, id::CODEC_PRIVATE, &s.av1c());
            let mut v = Vec::new();
            ebml::uint(&mut v, id::PIXEL_WIDTH, u64::from(s.max_width));
            ebml::uint(&mut v, id::PIXEL_HEIGHT, u64::from(s.max_height));
            ebml::element(&mut t, id::VIDEO, &v);
            ebml::element(&mut entries, id::TRACK_ENTRY, &t);
        }
        if let Some(a) = self.audio {
            let n = self.audio_track();
            let mut t = Vec::new();
            ebml::uint(&mut t, id::TRACK_NUMBER, n);
            ebml::uint(&mut t, id::TRACK_UID, n);
            ebml::uint(&mut t, id::TRACK_TYPE, 2);
            ebml::uint(&mut t, id::FLAG_LACING, 0);
            ebml::string(&mut t, id::CODEC_ID, "A_OPUS");
            let head = opus::opus_head(a.channels, a.pre_skip, a.sample_rate);
            ebml::element(&mut t, id::CODEC_PRIVATE, &head);
            // Pre-skip is in 48 kHz samples; the delay in ns, rounded.
            let delay = (u64::from(a.pre_skip) * 1_000_000_000 + 24_000) / 48_000;
            ebml::uint(&mut t, id::CODEC_DELAY, delay);
            ebml::uint(&mut t, id::SEEK_PRE_ROLL, OPUS_SEEK_PRE_ROLL_NS);
            let mut au = Vec::new();
            ebml::float(&mut au, id::SAMPLING_FREQUENCY, 48_000.0);
            ebml::uint(&mut au, id::CHANNELS, u64::from(a.channels));
            ebml::element(&mut t, id::AUDIO, &au);
            ebml::element(&mut entries, id::TRACK_ENTRY, &t);
        }
        let mut out = Vec::new();
        ebml::element(&mut out, id::TRACKS, &entries);
        out
    }
}
