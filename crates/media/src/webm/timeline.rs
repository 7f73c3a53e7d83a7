//! When each packet plays, and where the fragments fall: every time is a checked sum (the deltas
//! come from the chain), and a fragment is closed only once nothing that arrives later can
//! change it.

use super::MuxError;
use crate::format::{AudioCodec, Stream};

/// An audio-only stream starts a fragment every this many milliseconds (at the next packet).
const AUDIO_FRAGMENT_MS: u64 = 5_000;

/// One packet on the clock: its index in `Stream::packets` and its presentation time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item {
    pub index: usize,
    pub ms: u64,
    pub keyframe: bool,
}

/// A fragment's extent: its packets as ranges of [`Timeline::video`] and [`Timeline::audio`].
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub start_ms: u64,
    pub end_ms: u64,
    pub closed: bool,
    pub video: std::ops::Range<usize>,
    pub audio: std::ops::Range<usize>,
}

/// The muxed packets of a stream in time order, per track.
pub(crate) struct Timeline {
    /// Video packets (empty without video), in stream order: their times never decrease.
    pub video: Vec<Item>,
    /// Opus packets (empty without audio or with codec2 audio), each at its start time.
    pub audio: Vec<Item>,
    /// Whether the stream has a video track / an audio track in the WebM.
    pub has_video: bool,
    pub has_audio: bool,
    /// The end of the last packet: the file's duration.
    pub end_ms: u64,
}

fn overflow(what: &'static str) -> MuxError {
    MuxError::Overflow(what)
}

impl Timeline {
    /// The clock of `stream`. A video packet plays at its frame count (the running sum of the
    /// deltas) × 1000 × fps_den / fps_num ms; an audio packet's delta is its own duration in
    /// 48 kHz samples (the running sum is where it ends, as Ogg's granule position says), so it
    /// starts at the sum of the deltas before it, / 48 ms.
    pub(crate) fn of(stream: &Stream) -> Result<Timeline, MuxError> {
        let fps = super::frame_rate(stream)?.map(|(n, d)| (u128::from(n), u128::from(d)));
        let frames_ms = |frames: u64| -> Result<u64, MuxError> {
            let (num, den) = fps.unwrap_or((1, 1));
            u64::try_from(u128::from(frames) * 1000 * den / num)
                .map_err(|_| overflow("a video time in milliseconds passes 64 bits"))
        };
        let has_audio = stream.audio.is_some_and(|a| a.codec == AudioCodec::Opus);
        let (mut video, mut audio) = (Vec::new(), Vec::new());
        let (mut frames, mut samples) = (0u64, 0u64);
        for (index, p) in stream.packets.iter().enumerate() {
            if p.audio {
                let start = samples;
                samples = samples
                    .checked_add(p.ts_delta)
                    .ok_or(overflow("the sum of the audio deltas passes 64 bits"))?;
                if has_audio {
                    audio.push(Item {
                        index,
                        ms: start / 48,
                        keyframe: true,
                    });
                }
            } else if fps.is_some() {
                frames = frames
                    .checked_add(p.ts_delta)
                    .ok_or(overflow("the sum of the video deltas passes 64 bits"))?;
                video.push(Item {
                    index,
                    ms: frames_ms(frames)?,
                    keyframe: p.keyframe,
                });
            }
        }
        if let Some(first) = video.first() {
            if !first.keyframe {
                return Err(MuxError::NotKeyframeFirst(first.index));
            }
        }
        let video_end = match video.last() {
            Some(_) => frames_ms(
                frames
                    .checked_add(1)
                    .ok_or(overflow("the video's end passes 64 bits"))?,
            )?,
            None => 0,
        };
        let audio_end = if audio.is_empty() { 0 } else { samples / 48 };
        Ok(Timeline {
            video,
            audio,
            has_video: fps.is_some(),
            has_audio,
            end_ms: video_end.max(audio_end),
        })
    }

    /// The fragments: one per video keyframe (the first from 0 ms, so that audio ahead of the
    /// first frame has a home), or for audio alone one per packet that starts 5 s or more after
    /// its fragment's start. `complete`: nothing more will arrive. Otherwise a fragment is closed
    /// once its end is known (its successor's first packet has arrived) and, with audio, once an
    /// audio packet at or past its end has arrived (the audio up to there is then all known: its
    /// times never decrease).
    pub(crate) fn spans(&self, complete: bool) -> Vec<Span> {
        // (start in ms, first item of its own track: video, or audio alone) of each fragment.
        let mut starts: Vec<(u64, usize)> = Vec::new();
        if self.has_video {
            for (i, v) in self.video.iter().enumerate() {
                if v.keyframe {
                    starts.push((if i == 0 { 0 } else { v.ms }, i));
                }
            }
        } else {
            let mut at = None;
            for (i, a) in self.audio.iter().enumerate() {
                if at.is_none_or(|s: u64| a.ms.saturating_sub(s) >= AUDIO_FRAGMENT_MS) {
                    let start = if i == 0 { 0 } else { a.ms };
                    starts.push((start, i));
                    at = Some(start);
                }
            }
        }
        let audio_known = self.audio.last().map(|a| a.ms);
        let own = if self.has_video {
            self.video.len()
        } else {
            self.audio.len()
        };
        let mut spans = Vec::with_capacity(starts.len());
        for (k, &(start_ms, first)) in starts.iter().enumerate() {
            let next = starts.get(k + 1);
            let end_ms = next.map_or(self.end_ms.max(start_ms), |n| n.0);
            let end_item = next.map_or(own, |n| n.1);
            let closed = complete
                || (next.is_some()
                    && (!self.has_audio || !self.has_video || audio_known >= Some(end_ms)));
            let audio = if self.has_video {
                let from = self.audio.partition_point(|a| a.ms < start_ms);
                let to = match next {
                    Some(_) => self.audio.partition_point(|a| a.ms < end_ms),
                    None => self.audio.len(),
                };
                from..to.max(from)
            } else {
                first..end_item
            };
            let video = if self.has_video {
                first..end_item
            } else {
                0..0
            };
            spans.push(Span {
                start_ms,
                end_ms,
                closed,
                video,
                audio,
            });
        }
        spans
    }
}
