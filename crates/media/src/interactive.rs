//! Interactive films (docs/cvp.md, "Interactive films"): the clips of one film joined into one
//! CVPM stream, one after the other in its timeline, each starting on a video keyframe, so that
//! in the WebM mapping (docs/media-format.md) every clip is a whole number of fragments and its
//! start is a fragment's start.
//!
//! Times are continued as the WebM mapping reads them. Video: the first frame of clip k comes
//! one frame after the last frame of clip k-1 (its delta is 1), the others keep their deltas.
//! Audio: clip k's audio starts where its video starts (at that frame's millisecond, x 48
//! samples), so it falls in clip k's fragments: a clip's audio packets that would end past its
//! video's end are dropped, and the last audio packet before a clip is stretched (its delta made
//! longer) to close the gap up to the clip's start. Opus only: a codec2 packet's delta is fixed
//! by its frames, so it cannot be stretched.
//!
//! [`cut`] takes a span of any input ffmpeg reads into a lossless intermediate file, which the
//! encoder then encodes as a clip.

use crate::ffmpeg::{run, utf8, MediaError};
use crate::format::{Audio, AudioCodec, FormatError, Packet, Stream, Video};
use crate::webm::av1;
use std::path::Path;

/// The clips joined: one CVPM stream, and where each clip starts in its timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The CVPM stream.
    pub stream: Vec<u8>,
    /// The time of each clip's first video frame in ms, as `webm::fragments` gives the start of
    /// the fragment it opens (clip 0: 0).
    pub starts_ms: Vec<u64>,
}

/// Why clips do not join: each names the clip (numbered from 0, in the order given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// Nothing to join.
    #[error("no clips to join")]
    NoClips,
    /// A clip is not a CVPM stream.
    #[error("clip {clip} is not a valid CVPM stream: {source}")]
    Format {
        /// The clip.
        clip: usize,
        /// Why.
        source: FormatError,
    },
    /// A clip without video, or without a video packet.
    #[error("clip {clip} has no video: every clip must start with a video keyframe")]
    NoVideo {
        /// The clip.
        clip: usize,
    },
    /// A clip's stream parameters differ from clip 0's.
    #[error(
        "clip {clip} has other stream parameters than clip 0 ({found}, clip 0: {expected}): \
         encode every clip at the same size, frame rate and audio settings"
    )]
    Parameters {
        /// The clip.
        clip: usize,
        /// Clip 0's.
        expected: String,
        /// This clip's.
        found: String,
    },
    /// A clip whose first video packet is not a keyframe.
    #[error("clip {clip} does not start with a video keyframe (its packet {packet} is the first video packet)")]
    NotKeyframeFirst {
        /// The clip.
        clip: usize,
        /// The index of its first video packet in the clip's stream.
        packet: usize,
    },
    /// A clip's first keyframe without the AV1 sequence header, or a malformed one.
    #[error("clip {clip}, packet {packet}: {what}")]
    Av1 {
        /// The clip.
        clip: usize,
        /// The packet's index in the clip's stream.
        packet: usize,
        /// The flaw.
        what: &'static str,
    },
    /// A keyframe whose sequence header differs from clip 0's: a WebM track has one.
    #[error(
        "clip {clip}, packet {packet}: the AV1 sequence header differs from clip 0's; encode \
         every clip with identical settings (size, frame rate, encoder options)"
    )]
    SequenceHeader {
        /// The clip.
        clip: usize,
        /// The keyframe's index in the clip's stream.
        packet: usize,
    },
    /// The stream has audio but a clip keeps no audio packet (it is shorter than one).
    #[error("clip {clip} holds no audio packet within its video (every clip needs one when the film has audio)")]
    NoAudio {
        /// The clip.
        clip: usize,
    },
    /// Codec2 audio: its deltas cannot be stretched to align the clips.
    #[error("clip {clip} has codec2 audio: interactive films take Opus audio or none")]
    Codec2 {
        /// The clip.
        clip: usize,
    },
    /// Times that pass 64 bits.
    #[error("clip {clip}: timestamps out of range")]
    Overflow {
        /// The clip.
        clip: usize,
    },
}

/// Milliseconds of `frames` video frames at `v`'s rate, rounded down (the WebM mapping's clock).
fn frames_ms(v: &Video, frames: u64) -> Option<u64> {
    let ms = u128::from(frames) * 1000 * u128::from(v.fps_den) / u128::from(v.fps_num.max(1));
    u64::try_from(ms).ok()
}

fn describe(video: Option<Video>, audio: Option<Audio>) -> String {
    let v = video.map_or("no video".to_string(), |v| {
        format!(
            "{}x{} at {}/{} fps",
            v.width, v.height, v.fps_num, v.fps_den
        )
    });
    let a = audio.map_or("no audio".to_string(), |a| {
        format!(
            "{:?} audio, {} Hz, {} channel(s), pre-skip {}",
            a.codec, a.sample_rate, a.channels, a.pre_skip
        )
    });
    format!("{v}, {a}")
}

/// Check clip `k` against clip 0's parameters and sequence header; returns its sequence header.
fn check_clip(
    clip: usize,
    s: &Stream,
    first: Option<&Stream>,
    first_seq: Option<&[u8]>,
) -> Result<Vec<u8>, JoinError> {
    let Some(video) = s.video else {
        return Err(JoinError::NoVideo { clip });
    };
    if let Some(f) = first {
        if (f.video, f.audio) != (s.video, s.audio) {
            return Err(JoinError::Parameters {
                clip,
                expected: describe(f.video, f.audio),
                found: describe(Some(video), s.audio),
            });
        }
    }
    if s.audio.is_some_and(|a| a.codec == AudioCodec::Codec2_1200) {
        return Err(JoinError::Codec2 { clip });
    }
    let (packet, p) = s
        .packets
        .iter()
        .enumerate()
        .find(|(_, p)| !p.audio)
        .ok_or(JoinError::NoVideo { clip })?;
    if !p.keyframe {
        return Err(JoinError::NotKeyframeFirst { clip, packet });
    }
    let av1 = |packet, what| JoinError::Av1 { clip, packet, what };
    let seq = av1::sequence_header_payload(&p.data)
        .map_err(|w| av1(packet, w))?
        .ok_or(av1(
            packet,
            "the first keyframe holds no AV1 sequence header",
        ))?
        .to_vec();
    let reference = first_seq.unwrap_or(&seq);
    for (i, p) in s.packets.iter().enumerate() {
        if p.audio || !p.keyframe {
            continue;
        }
        match av1::sequence_header_payload(&p.data).map_err(|w| av1(i, w))? {
            Some(h) if h != reference => return Err(JoinError::SequenceHeader { clip, packet: i }),
            _ => {}
        }
    }
    Ok(seq)
}

/// Join `clips` (CVPM streams with the same parameters and AV1 sequence header, each starting
/// with a video keyframe) into one stream, in order: see the module's documentation.
pub fn join(clips: &[Vec<u8>]) -> Result<Joined, JoinError> {
    let streams = clips
        .iter()
        .enumerate()
        .map(|(clip, b)| Stream::decode(b).map_err(|source| JoinError::Format { clip, source }))
        .collect::<Result<Vec<_>, _>>()?;
    let first = streams.first().ok_or(JoinError::NoClips)?;
    let seq = check_clip(0, first, None, None)?;
    for (k, s) in streams.iter().enumerate().skip(1) {
        check_clip(k, s, Some(first), Some(&seq))?;
    }
    let video = first.video.ok_or(JoinError::NoVideo { clip: 0 })?;
    let mut packets: Vec<Packet> = Vec::new();
    let mut starts_ms = Vec::with_capacity(streams.len());
    // Video frames played so far (the running sum of the deltas written), and the end of the
    // audio written, in 48 kHz samples, with the index of its last packet.
    let (mut frames, mut audio_end, mut last_audio) = (0u64, 0u64, None::<usize>);
    for (k, s) in streams.iter().enumerate() {
        let overflow = JoinError::Overflow { clip: k };
        // Where this clip's video starts, and its first frame's delta in the joined stream.
        let (start_ms, first_delta) = if k == 0 {
            (0, None)
        } else {
            let at = frames.checked_add(1).ok_or(overflow.clone())?;
            (frames_ms(&video, at).ok_or(overflow.clone())?, Some(1))
        };
        // The clip's video end in its own frames: one frame after its last.
        let local_frames = s
            .times(false)
            .map_err(|_| overflow.clone())?
            .last()
            .map_or(0, |&(t, _)| t);
        let first_local = s
            .packets
            .iter()
            .find(|p| !p.audio)
            .map_or(0, |p| p.ts_delta);
        // Global frame of the clip's last frame, and the video's end in samples.
        let last_frame = match first_delta {
            None => local_frames,
            Some(d) => frames
                .checked_add(d)
                .and_then(|f| f.checked_add(local_frames - first_local))
                .ok_or(overflow.clone())?,
        };
        let end_ms = frames_ms(&video, last_frame.checked_add(1).ok_or(overflow.clone())?)
            .ok_or(overflow.clone())?;
        let (audio_base, audio_stop) = (
            start_ms.checked_mul(48).ok_or(overflow.clone())?,
            end_ms.checked_mul(48).ok_or(overflow.clone())?,
        );
        if s.audio.is_some() && k > 0 {
            // Close the gap up to this clip's start by stretching the last audio packet.
            let last = last_audio.ok_or(JoinError::NoAudio { clip: k - 1 })?;
            let gap = audio_base
                .checked_sub(audio_end)
                .ok_or(JoinError::Overflow { clip: k - 1 })?;
            let p = &mut packets[last];
            p.ts_delta = p.ts_delta.checked_add(gap).ok_or(overflow.clone())?;
            audio_end = audio_base;
        }
        let (mut first_video, mut local_audio, mut kept_audio) = (true, 0u64, false);
        for p in &s.packets {
            let mut p = p.clone();
            if p.audio {
                let start = audio_base
                    .checked_add(local_audio)
                    .ok_or(overflow.clone())?;
                local_audio = local_audio
                    .checked_add(p.ts_delta)
                    .ok_or(overflow.clone())?;
                let end = start.checked_add(p.ts_delta).ok_or(overflow.clone())?;
                if end > audio_stop {
                    continue; // past the clip's video: the next clip plays there
                }
                audio_end = end;
                last_audio = Some(packets.len());
                kept_audio = true;
            } else {
                if first_video {
                    if let Some(d) = first_delta {
                        p.ts_delta = d;
                    }
                    first_video = false;
                }
                frames = frames.checked_add(p.ts_delta).ok_or(overflow.clone())?;
            }
            packets.push(p);
        }
        if s.audio.is_some() && !kept_audio {
            return Err(JoinError::NoAudio { clip: k });
        }
        starts_ms.push(start_ms);
    }
    let stream = Stream {
        video: first.video,
        audio: first.audio,
        packets,
    };
    Ok(Joined {
        stream: stream.encode(),
        starts_ms,
    })
}

/// Cut `seconds` of `input` from `from` (seconds; `None`: to its end) into `out`, a Matroska
/// file of lossless FFV1 video and FLAC audio (what the encoder then reads as one clip; its
/// first frame is the frame at `from`).
pub fn cut(input: &Path, from: f64, seconds: Option<f64>, out: &Path) -> Result<(), MediaError> {
    if !from.is_finite() || from < 0.0 || seconds.is_some_and(|s| !s.is_finite() || s <= 0.0) {
        return Err(MediaError::Input(format!(
            "cannot cut {} from {from} s for {seconds:?} s",
            input.display()
        )));
    }
    let mut args: Vec<String> = ["-y", "-v", "error", "-ss", &format!("{from:.3}"), "-i"]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    args.push(utf8(input)?.to_string());
    if let Some(s) = seconds {
        args.extend(["-t".to_string(), format!("{s:.3}")]);
    }
    for a in [
        "-map", "0:v:0?", "-map", "0:a:0?", "-c:v", "ffv1", "-c:a", "flac", "-f", "matroska",
    ] {
        args.push(a.to_string());
    }
    args.push(utf8(out)?.to_string());
    run("ffmpeg", &args)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: Video = Video {
        width: 16,
        height: 16,
        fps_num: 12,
        fps_den: 1,
    };
    const A: Audio = Audio {
        sample_rate: 48_000,
        channels: 1,
        pre_skip: 312,
        codec: AudioCodec::Opus,
    };

    /// A keyframe temporal unit: a temporal delimiter and a sequence header OBU with `seq`.
    fn key(seq: &[u8]) -> Vec<u8> {
        let mut tu = vec![0x12, 0x00, 0x0A, seq.len() as u8];
        tu.extend_from_slice(seq);
        tu
    }

    fn pkt(audio: bool, keyframe: bool, ts_delta: u64, data: Vec<u8>) -> Packet {
        Packet {
            audio,
            keyframe,
            ts_delta,
            data,
        }
    }

    /// `frames` video frames at 12 fps (83.3 ms each) and 60 ms audio packets over them, plus
    /// one more audio packet that runs past the video.
    fn clip(frames: u64, seq: &[u8]) -> Vec<u8> {
        let mut packets = vec![pkt(false, true, 0, key(seq))];
        for _ in 1..frames {
            packets.push(pkt(false, false, 1, vec![0x32, 0x00]));
        }
        let video_ms = frames * 1000 / 12;
        for _ in 0..=video_ms / 60 {
            packets.push(pkt(true, true, 2880, vec![0xFC]));
        }
        Stream {
            video: Some(V),
            audio: Some(A),
            packets,
        }
        .encode()
    }

    fn audio_starts(s: &Stream) -> Vec<u64> {
        let mut t = 0;
        s.packets
            .iter()
            .filter(|p| p.audio)
            .map(|p| {
                let start = t;
                t += p.ts_delta;
                start
            })
            .collect()
    }

    #[test]
    fn clips_follow_one_another_with_audio_at_each_start() {
        let j = join(&[clip(10, b"abc"), clip(7, b"abc"), clip(5, b"abc")]).unwrap();
        // 10 frames at 12 fps end at 833 ms; 17 frames at 1416 ms.
        assert_eq!(j.starts_ms, [0, 833, 1416]);
        let s = Stream::decode(&j.stream).unwrap();
        let starts = audio_starts(&s);
        for &ms in &j.starts_ms {
            assert!(starts.contains(&(ms * 48)), "{ms} ms in {starts:?}");
        }
        // No audio packet ends past its clip's video: clip 0 keeps 13 (780 ms), not 14.
        assert_eq!(starts.iter().filter(|&&t| t < 833 * 48).count(), 13);
        let frags = crate::webm::fragments(&s, true).unwrap();
        let frag_starts: Vec<u64> = frags.iter().map(|f| f.start_ms).collect();
        assert_eq!(frag_starts, j.starts_ms);
    }

    #[test]
    fn flaws_name_the_clip() {
        let good = clip(4, b"abc");
        assert_eq!(join(&[]), Err(JoinError::NoClips));
        assert!(matches!(
            join(&[good.clone(), b"CVPX".to_vec()]),
            Err(JoinError::Format { clip: 1, .. })
        ));
        let mut wide = Stream::decode(&good).unwrap();
        wide.video = Some(Video { width: 32, ..V });
        let e = join(&[good.clone(), wide.encode()]).unwrap_err();
        assert!(matches!(e, JoinError::Parameters { clip: 1, .. }), "{e}");
        assert!(e.to_string().contains("32x16"), "{e}");
        let mut silent = Stream::decode(&good).unwrap();
        silent.audio = None;
        silent.packets.retain(|p| !p.audio);
        assert!(matches!(
            join(&[good.clone(), silent.encode()]),
            Err(JoinError::Parameters { clip: 1, .. })
        ));
        let mut delta = Stream::decode(&good).unwrap();
        delta.packets[0].keyframe = false;
        assert_eq!(
            join(&[good.clone(), good.clone(), delta.encode()]),
            Err(JoinError::NotKeyframeFirst { clip: 2, packet: 0 })
        );
        assert_eq!(
            join(&[good.clone(), clip(4, b"abd")]),
            Err(JoinError::SequenceHeader { clip: 1, packet: 0 })
        );
        let mut bare = Stream::decode(&good).unwrap();
        bare.packets[0].data = vec![0x12, 0x00, 0x32, 0x00];
        assert!(matches!(
            join(&[bare.encode()]),
            Err(JoinError::Av1 { clip: 0, .. })
        ));
        let mut no_video = Stream::decode(&good).unwrap();
        no_video.video = None;
        no_video.packets.retain(|p| p.audio);
        assert_eq!(
            join(&[no_video.encode()]),
            Err(JoinError::NoVideo { clip: 0 })
        );
        let codec2 = Stream {
            video: Some(V),
            audio: Some(Audio {
                sample_rate: 8000,
                channels: 1,
                pre_skip: 0,
                codec: AudioCodec::Codec2_1200,
            }),
            packets: vec![
                pkt(false, true, 0, key(b"abc")),
                pkt(true, true, 1920, vec![0; 6]),
            ],
        };
        assert_eq!(join(&[codec2.encode()]), Err(JoinError::Codec2 { clip: 0 }));
    }

    /// A clip of `video` frame deltas (the first a keyframe) and `audio` packet deltas, at `fps`;
    /// `hostile`: one delta (video if the flag is set) replaced by any value.
    fn arb_clip(
        fps: u32,
        video: &[u64],
        audio: &[u64],
        hostile: Option<(bool, usize, u64)>,
    ) -> Vec<u8> {
        let mut packets = Vec::new();
        for (i, &d) in video.iter().enumerate() {
            let data = if i == 0 {
                key(b"abc")
            } else {
                vec![0x32, 0x00]
            };
            packets.push(pkt(false, i == 0 || d == 3, d, data));
        }
        for &d in audio {
            packets.push(pkt(true, true, d, vec![0xFC]));
        }
        if let Some((video, at, value)) = hostile {
            let of_kind: Vec<usize> = (0..packets.len())
                .filter(|&i| packets[i].audio != video)
                .collect();
            if let Some(&i) = of_kind.get(at % of_kind.len().max(1)) {
                packets[i].ts_delta = value;
            }
        }
        Stream {
            video: Some(Video { fps_num: fps, ..V }),
            audio: Some(A),
            packets,
        }
        .encode()
    }

    proptest::proptest! {
        /// Any clips join or are refused, never a panic; joined, every clip starts a fragment, the
        /// starts rise, and the audio of each clip starts at its start.
        #[test]
        fn joins_hold_their_rules(
            fps in 1u32..=30,
            clips in proptest::collection::vec(
                (
                    proptest::collection::vec(0u64..4, 1..20),
                    proptest::collection::vec(100u64..2000, 0..30),
                    proptest::option::weighted(
                        0.1,
                        (proptest::bool::ANY, 0usize..50, proptest::num::u64::ANY),
                    ),
                ),
                1..5,
            ),
        ) {
            let encoded: Vec<Vec<u8>> =
                clips.iter().map(|(v, a, h)| arb_clip(fps, v, a, *h)).collect();
            let Ok(j) = join(&encoded) else { return Ok(()) };
            let s = Stream::decode(&j.stream).unwrap();
            proptest::prop_assert_eq!(j.starts_ms.len(), clips.len());
            proptest::prop_assert!(j.starts_ms.windows(2).all(|w| w[0] < w[1]));
            let fragments: Vec<u64> = crate::webm::fragments(&s, true)
                .unwrap()
                .iter()
                .map(|f| f.start_ms)
                .collect();
            let starts = audio_starts(&s);
            for (k, &ms) in j.starts_ms.iter().enumerate() {
                proptest::prop_assert!(fragments.contains(&ms), "clip {} at {}", k, ms);
                proptest::prop_assert!(starts.contains(&(ms * 48)), "audio of clip {}", k);
            }
        }
    }

    #[test]
    fn a_clip_too_short_for_an_audio_packet_is_refused() {
        // One frame at 60 fps (16 ms) keeps no 60 ms audio packet.
        let mut fast = Stream::decode(&clip(1, b"abc")).unwrap();
        fast.video = Some(Video { fps_num: 60, ..V });
        let mut one = Stream::decode(&clip(30, b"abc")).unwrap();
        one.video = fast.video;
        assert_eq!(
            join(&[one.encode(), fast.encode()]),
            Err(JoinError::NoAudio { clip: 1 })
        );
    }
}
