//! CVPM layout: fixed vectors for v1 (Opus) and v2 (codec2), the v2 rules, and random round trips.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use media::format::{Audio, AudioCodec, FormatError, Packet, Stream, Video};
use proptest::prelude::*;

fn video() -> Option<Video> {
    Some(Video {
        width: 320,
        height: 180,
        fps_num: 12,
        fps_den: 1,
    })
}

fn pkt(audio: bool, ts_delta: u64, data: &[u8]) -> Packet {
    Packet {
        audio,
        keyframe: true,
        ts_delta,
        data: data.to_vec(),
    }
}

/// An Opus stream is still written as v1, byte for byte as before codec ids existed.
#[test]
fn opus_streams_stay_v1() {
    let s = Stream {
        video: video(),
        audio: Some(Audio {
            sample_rate: 48000,
            channels: 1,
            pre_skip: 312,
            codec: AudioCodec::Opus,
        }),
        packets: vec![pkt(false, 0, &[0x12, 0x00]), pkt(true, 2880, &[0xf8])],
    };
    let want: &[u8] = &[
        b'C', b'V', b'P', b'M', 1, // magic, version 1
        0xc0, 0x02, 0xb4, 0x01, 12, 1, // 320, 180, 12/1
        0x80, 0xf7, 0x02, 1, 0xb8, 0x02, // 48000 Hz, 1 channel, pre-skip 312
        0b10, 0, 2, 0x12, 0x00, // video keyframe
        0b11, 0xc0, 0x16, 1, 0xf8, // audio, 2880 samples
    ];
    assert_eq!(s.encode(), want);
    assert_eq!(Stream::decode(want).unwrap(), s);
}

fn codec2_stream() -> Stream {
    Stream {
        video: video(),
        audio: Some(Audio {
            sample_rate: 8000,
            channels: 1,
            pre_skip: 0,
            codec: AudioCodec::Codec2_1200,
        }),
        packets: vec![
            pkt(false, 0, &[0x12, 0x00]),
            pkt(true, 3840, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
        ],
    }
}

const CODEC2_VECTOR: &[u8] = &[
    b'C', b'V', b'P', b'M', 2, // magic, version 2
    0xc0, 0x02, 0xb4, 0x01, 12, 1, // 320, 180, 12/1
    0xc0, 0x3e, 1, 0, // 8000 Hz, 1 channel, no pre-skip
    1, 5, // codec 1 (codec2), mode 5 (1200 bit/s)
    0b10, 0, 2, 0x12, 0x00, // video keyframe
    0b11, 0x80, 0x1e, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // two frames, 3840 samples
];

#[test]
fn codec2_streams_are_v2_with_a_codec_id() {
    let s = codec2_stream();
    assert_eq!(s.encode(), CODEC2_VECTOR);
    assert_eq!(Stream::decode(CODEC2_VECTOR).unwrap(), s);
    // The fuzz seed is this vector.
    let seed = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds/media_format/codec2-v2.cvpm"),
    )
    .unwrap();
    assert_eq!(seed, CODEC2_VECTOR);
}

#[test]
fn v2_rules_are_enforced() {
    let with = |at: usize, b: u8| {
        let mut v = CODEC2_VECTOR.to_vec();
        v[at] = b;
        Stream::decode(&v)
    };
    // Codec 0 (Opus) must be written as v1; an unknown codec; an unknown mode.
    for (at, b) in [(15, 0), (15, 2), (16, 0), (16, 8)] {
        assert!(
            matches!(with(at, b), Err(FormatError::Range { .. })),
            "byte {at} = {b}"
        );
    }
    // codec2 with 2 channels or 16 kHz.
    assert!(with(13, 2).is_err());
    assert!(with(11, 0x80).is_err());
    // A packet that is not whole frames (size 11, one byte left over as trailing garbage).
    let mut v = CODEC2_VECTOR.to_vec();
    v[25] = 11;
    assert!(Stream::decode(&v).is_err());
    // A duration that does not match the frames.
    assert!(with(24, 0x1f).is_err());
    // Version 3 is unknown; v1 has no codec bytes (they would be read as a packet).
    assert_eq!(with(4, 3), Err(FormatError::Version(3)));
    assert!(with(4, 1).is_err());
    // Truncated inside the codec id.
    assert!(matches!(
        Stream::decode(&CODEC2_VECTOR[..16]),
        Err(FormatError::Truncated(_))
    ));
    // A prefix stops at the last whole packet.
    let p = Stream::decode_prefix(&CODEC2_VECTOR[..CODEC2_VECTOR.len() - 3]).unwrap();
    assert_eq!(p.packets.len(), 1);
    assert_eq!(p.audio.unwrap().codec, AudioCodec::Codec2_1200);
}

fn arb_stream() -> impl Strategy<Value = Stream> {
    (
        any::<bool>(),
        prop::option::of((1u32..4000, 1u32..4000, 1u32..=1000, 1u32..=1000)),
        prop::collection::vec(
            (any::<bool>(), any::<bool>(), 1usize..6, any::<u8>()),
            0..20,
        ),
    )
        .prop_map(|(codec2, v, pk)| {
            let audio = Some(if codec2 {
                Audio {
                    sample_rate: 8000,
                    channels: 1,
                    pre_skip: 0,
                    codec: AudioCodec::Codec2_1200,
                }
            } else {
                Audio {
                    sample_rate: 48000,
                    channels: 2,
                    pre_skip: 312,
                    codec: AudioCodec::Opus,
                }
            });
            let video = v.map(|(width, height, fps_num, fps_den)| Video {
                width,
                height,
                fps_num,
                fps_den,
            });
            let packets = pk
                .into_iter()
                .filter(|(a, ..)| *a || video.is_some())
                .map(|(a, key, n, byte)| {
                    let (len, ts) = if a && codec2 {
                        (6 * n, 1920 * n as u64)
                    } else {
                        (n * 7, n as u64)
                    };
                    Packet {
                        audio: a,
                        keyframe: key,
                        ts_delta: ts,
                        data: vec![byte; len],
                    }
                })
                .collect();
            Stream {
                video,
                audio,
                packets,
            }
        })
}

proptest! {
    #[test]
    fn any_stream_round_trips(s in arb_stream()) {
        let b = s.encode();
        prop_assert_eq!(b[4], if s.audio.unwrap().codec == AudioCodec::Opus { 1 } else { 2 });
        prop_assert_eq!(Stream::decode(&b).unwrap(), s);
    }
}

/// Streams written before v2 existed (the fuzz seeds: the demo film and its first bytes) still
/// decode, and re-encode to the same bytes.
#[test]
fn streams_from_before_v2_still_read() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/media_format");
    let whole = std::fs::read(dir.join("bbb.cvpm")).unwrap();
    assert_eq!(whole[4], 1);
    let s = Stream::decode(&whole).unwrap();
    assert_eq!(s.audio.unwrap().codec, AudioCodec::Opus);
    assert!(s.packets.len() > 100);
    assert_eq!(s.encode(), whole);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        media::format::fuzz_decode(&bytes);
        assert!(Stream::decode_prefix(&bytes).is_ok());
    }
}

/// Timestamps from a hostile stream: deltas of u64::MAX decode (the format allows any delta), but
/// their sums are refused with a named error, not wrapped or panicking, in the duration and in
/// the rewrap (before ffmpeg is run).
#[test]
fn hostile_timestamps_are_refused_not_wrapped() {
    let opus = Audio {
        sample_rate: 48000,
        channels: 1,
        pre_skip: 0,
        codec: AudioCodec::Opus,
    };
    let hostile = |packets: Vec<Packet>| {
        let s = Stream {
            video: video(),
            audio: Some(opus),
            packets,
        };
        // The bytes round-trip: the delta itself is valid.
        assert_eq!(Stream::decode(&s.encode()).unwrap(), s);
        s
    };
    let overflow = |r: Result<u64, FormatError>| matches!(r, Err(FormatError::Overflow(_)));
    // One video delta of u64::MAX: the frame count (+1) overflows.
    let s = hostile(vec![pkt(false, u64::MAX, &[1])]);
    assert!(overflow(s.duration_ms()), "{:?}", s.duration_ms());
    // Two video deltas whose sum passes 64 bits.
    let s = hostile(vec![pkt(false, u64::MAX / 2 + 1, &[1]); 2]);
    assert!(overflow(s.duration_ms()));
    // A frame count that fits but whose milliseconds do not.
    let s = hostile(vec![pkt(false, u64::MAX / 10, &[1])]);
    assert!(overflow(s.duration_ms()));
    // Audio samples whose sum passes 64 bits.
    let s = hostile(vec![pkt(true, u64::MAX, &[0xf8]), pkt(true, 1, &[0xf8])]);
    assert!(overflow(s.duration_ms()));
    assert!(matches!(
        s.times(true),
        Err(FormatError::Overflow(
            "the sum of the timestamp deltas passes 64 bits"
        ))
    ));
    // A fitting audio sum past Ogg's signed granule (MP4 goes through Ogg), and an overflowing
    // video sum: the rewrap refuses both before running anything.
    let dir = tempfile::tempdir().unwrap();
    let mp4 = dir.path().join("x.mp4");
    let granule = hostile(vec![pkt(false, 0, &[1]), pkt(true, u64::MAX, &[0xf8])]);
    let err = media::rewrap::to_file(&granule, &mp4, media::rewrap::Container::Mp4).unwrap_err();
    assert!(err.to_string().contains("granule"), "{err}");
    assert!(!mp4.exists());
    let out = dir.path().join("x.webm");
    let frames = hostile(vec![pkt(false, u64::MAX, &[1]), pkt(false, 1, &[1])]);
    let err = media::rewrap::to_webm(&frames, &out).unwrap_err();
    assert!(err.to_string().contains("passes 64 bits"), "{err}");
    assert!(!out.exists());
    // Ordinary streams keep their duration: 3 frames at 12 fps, 2880 samples of audio.
    let s = hostile(vec![
        pkt(false, 0, &[1]),
        pkt(false, 2, &[1]),
        pkt(true, 2880, &[0xf8]),
    ]);
    assert_eq!(s.duration_ms(), Ok(250));
}
