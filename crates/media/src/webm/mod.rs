//! A WebM (Matroska) writer for CVPM streams, in process: AV1 (`V_AV1`, av1C from the first
//! keyframe's sequence header) and Opus (`A_OPUS`, OpusHead, codec delay, 80 ms seek pre-roll).
//! Codec 2 audio, which browsers do not play, is left out ([`audio_left_out`]).
//!
//! Two shapes: [`file`], a whole seekable file (sizes known, Duration, Cues) for `<video src>`
//! and downloads; and for Media Source Extensions [`init_segment`] (a Segment of unknown size
//! with Info and Tracks) followed by [`fragment`]s, each starting at a video keyframe (every
//! ~5 s for audio alone) and holding one or more Clusters. `init_segment` followed by fragments
//! `k..` is itself a valid WebM. A stream still arriving (`Stream::decode_prefix`) is muxed with
//! `complete == false`: its closed fragments never change as more arrives. The layout is in
//! docs/media-format.md, "WebM mapping".

pub(crate) mod av1;
mod cluster;
mod ebml;
mod file;
mod timeline;
mod tracks;

use crate::format::{AudioCodec, Stream};
use serde::{Deserialize, Serialize};
use timeline::Timeline;
use tracks::Tracks;

/// Why a stream does not mux: each names the flaw (the stream is hostile input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MuxError {
    /// Neither video nor Opus audio: nothing a browser plays.
    #[error("the stream has neither video nor Opus audio")]
    NoTracks,
    /// A frame rate with a zero term.
    #[error("the frame rate {num}/{den} has a zero term")]
    FrameRate {
        /// Numerator.
        num: u32,
        /// Denominator.
        den: u32,
    },
    /// Opus in WebM here is mono or stereo (mapping family 0).
    #[error("the audio has {0} channels; 1 or 2 are muxed")]
    Channels(u8),
    /// The stream has video but no video packet yet (a prefix).
    #[error("no video packet has arrived yet")]
    NoVideoYet,
    /// The first video packet must be a keyframe (the track's sequence header comes from it).
    #[error("the first video packet (packet {0}) is not a keyframe")]
    NotKeyframeFirst(usize),
    /// The first keyframe holds no sequence header OBU.
    #[error("the first keyframe (packet {0}) holds no sequence header")]
    NoSequenceHeader(usize),
    /// A malformed OBU in a video packet.
    #[error("video packet {packet}: {what}")]
    Obu {
        /// Index in `Stream::packets`.
        packet: usize,
        /// The flaw.
        what: &'static str,
    },
    /// A malformed sequence header.
    #[error("the sequence header in packet {packet} does not parse: {what}")]
    SequenceHeader {
        /// Index in `Stream::packets`.
        packet: usize,
        /// The flaw.
        what: &'static str,
    },
    /// A keyframe with another sequence header: a WebM track has one.
    #[error("keyframe {0} has a sequence header other than the first keyframe's")]
    SequenceHeaderChanged(usize),
    /// Timestamps whose sums or products pass 64 bits (a hostile stream).
    #[error("timestamps out of range: {0}")]
    Overflow(&'static str),
    /// A fragment index this stream does not have.
    #[error("no fragment {index}: the stream has {count}")]
    NoSuchFragment {
        /// Asked for.
        index: u32,
        /// Fragments the stream has.
        count: usize,
    },
    /// A fragment that is not this stream's (its times differ).
    #[error("fragment {index} is not this stream's (it has {given:?} ms, the stream {actual:?})")]
    FragmentMismatch {
        /// The fragment's index.
        index: u32,
        /// Its (start, end) as given.
        given: (u64, u64),
        /// As this stream has it.
        actual: (u64, u64),
    },
    /// A bug in the muxer rather than in the stream.
    #[error("internal muxer error: {0}")]
    Internal(&'static str),
}

/// One fragment of a stream: a time span that starts at a video keyframe (for audio alone, every
/// ~5 s), with the audio that starts within it. `[start_ms, end_ms)`; the first starts at 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    /// Its place, from 0.
    pub index: u32,
    /// Where it starts, in ms (its first keyframe's time; 0 for the first).
    pub start_ms: u64,
    /// Where the next starts (for the last, the end of the stream as known so far).
    pub end_ms: u64,
    /// Nothing arriving later changes it: its bytes may be cached forever.
    pub closed: bool,
}

/// The frame rate (numerator, denominator) of a stream with video; zero terms are refused.
pub(crate) fn frame_rate(stream: &Stream) -> Result<Option<(u32, u32)>, MuxError> {
    match stream.video {
        Some(v) if v.fps_num == 0 || v.fps_den == 0 => Err(MuxError::FrameRate {
            num: v.fps_num,
            den: v.fps_den,
        }),
        v => Ok(v.map(|v| (v.fps_num, v.fps_den))),
    }
}

/// The MIME type with its codecs: `video/webm; codecs="av01.0.04M.08, opus"` (profile, level,
/// tier and bit depth from the sequence header), `audio/webm; codecs="opus"` without video.
pub fn mime(stream: &Stream) -> Result<String, MuxError> {
    Ok(Tracks::of(stream)?.mime())
}

/// Whether the stream's audio is left out of the WebM (codec2, which browsers do not play;
/// `media::rewrap` transcodes it to Opus for files instead).
pub fn audio_left_out(stream: &Stream) -> bool {
    stream.audio.is_some_and(|a| a.codec != AudioCodec::Opus)
}

/// The initialization segment: EBML header, a Segment of unknown size, Info (1 ms timecodes, no
/// duration), Tracks. Followed by fragments it is a WebM file.
pub fn init_segment(stream: &Stream) -> Result<Vec<u8>, MuxError> {
    let tracks = Tracks::of(stream)?;
    let mut out = Vec::new();
    Tracks::ebml_header(&mut out);
    ebml::write_id(&mut out, ebml::id::SEGMENT);
    out.extend_from_slice(&ebml::UNKNOWN_SIZE);
    out.extend_from_slice(&Tracks::info(None));
    out.extend_from_slice(&tracks.element());
    Ok(out)
}

/// The fragments of `stream` in order. `complete`: the whole stream (every fragment is closed);
/// otherwise a prefix of one still arriving, whose last fragments stay open until what follows
/// them has arrived.
pub fn fragments(stream: &Stream, complete: bool) -> Result<Vec<Fragment>, MuxError> {
    Timeline::of(stream)?
        .spans(complete)
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(Fragment {
                index: u32::try_from(i).map_err(|_| MuxError::Overflow("over 2^32 fragments"))?,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                closed: s.closed,
            })
        })
        .collect()
}

/// The bytes of fragment `f` of `stream` (one or more Clusters), as `stream` now holds it. A
/// closed `f` whose end differs here, or any `f` whose start differs, is another stream's.
pub fn fragment(stream: &Stream, f: &Fragment) -> Result<Vec<u8>, MuxError> {
    let timeline = Timeline::of(stream)?;
    let tracks = Tracks::of(stream)?;
    let spans = timeline.spans(false);
    let span = usize::try_from(f.index)
        .ok()
        .and_then(|i| spans.get(i))
        .ok_or(MuxError::NoSuchFragment {
            index: f.index,
            count: spans.len(),
        })?;
    if span.start_ms != f.start_ms || (f.closed && span.end_ms != f.end_ms) {
        return Err(MuxError::FragmentMismatch {
            index: f.index,
            given: (f.start_ms, f.end_ms),
            actual: (span.start_ms, span.end_ms),
        });
    }
    Ok(cluster::build(stream, &tracks, &timeline, span)?.bytes)
}

/// A whole seekable WebM: sizes known, Duration, Cues.
pub fn file(stream: &Stream) -> Result<Vec<u8>, MuxError> {
    file::write(stream)
}
