//! The WebM muxer: a stream (a CVPM stream when the input starts with "CVPM", otherwise one
//! built from the bytes, with a real sequence header so that most of them mux) goes through
//! `media::webm::file` and through `init_segment` + every fragment. When muxing succeeds, both
//! outputs are walked by the small EBML reader below, written independently of the muxer: every
//! element's size nests exactly in its parent (only the Segment of the fragmented form may have
//! an unknown size), every block's payload is its packet (the video one without temporal
//! delimiter and padding OBUs) at the time the packet's deltas give, in order per track, block
//! times never go back, and the SeekHead and Cues point at the elements they name. Muxing a
//! prefix of the stream gives its closed fragments byte for byte as the whole stream does.
//!
//! Built input: a flags byte (bit 0 video, bit 1 audio, bits 2-3 frame rate, bit 4 stereo), then
//! 4 bytes a packet: kind (bit 0 audio, bit 1 keyframe, bit 2 raw bytes, bits 3-4 delta mode,
//! bits 5-6 size mode), delta, and two size bytes (mode 0: the first alone, 1: both as a u16,
//! 2: that × 4, up to 262,140 bytes, 3: their sum).
#![no_main]
use libfuzzer_sys::fuzz_target;
use media::format::{Audio, AudioCodec, Packet, Stream, Video};

/// Bytes of packet data one input may ask for in all, and packets (each fragment is muxed by
/// itself, from the whole stream's timeline): keeps each run fast.
const MAX_TOTAL: usize = 1 << 20;
const MAX_PACKETS: usize = 512;
/// libaom's sequence header OBU for 320x180 (the bundled clip's), with its header and size.
const SEQ: [u8; 13] = [
    0x0A, 0x0B, 0x00, 0x00, 0x00, 0x04, 0x3C, 0xFE, 0xCC, 0xDA, 0xF9, 0x00, 0x40,
];

fuzz_target!(|data: &[u8]| {
    let stream = if data.starts_with(b"CVPM") {
        match Stream::decode_prefix(data) {
            Ok(s) => s,
            Err(_) => return,
        }
    } else {
        build(data)
    };
    let Ok(file) = media::webm::file(&stream) else {
        return;
    };
    let want = expected(&stream);
    walk(&file, false, &want);
    let mut frag = media::webm::init_segment(&stream).expect("init after a file");
    let list = media::webm::fragments(&stream, true).expect("fragments after a file");
    let mut each = Vec::new();
    for f in &list {
        let b = media::webm::fragment(&stream, f).expect("a fragment after a file");
        frag.extend_from_slice(&b);
        each.push(b);
    }
    walk(&frag, true, &want);
    // A prefix (half the packets) keeps its closed fragments as the whole stream has them.
    let half = Stream {
        packets: stream.packets[..stream.packets.len() / 2].to_vec(),
        ..stream.clone()
    };
    if let Ok(part) = media::webm::fragments(&half, false) {
        for f in part.iter().filter(|f| f.closed) {
            let k = f.index as usize;
            assert_eq!(Some(f), list.get(k), "closed fragment {k} of a prefix");
            let b = media::webm::fragment(&half, f).expect("a closed fragment");
            assert_eq!(b, each[k], "closed fragment {k}'s bytes");
        }
    }
});

/// A stream from the bytes: see the top of the file.
fn build(data: &[u8]) -> Stream {
    let Some((&flags, rest)) = data.split_first() else {
        return Stream {
            video: None,
            audio: None,
            packets: Vec::new(),
        };
    };
    let fps = [(12, 1), (30000, 1001), (1, 1000), (1000, 1)][usize::from(flags >> 2 & 3)];
    let video = (flags & 1 != 0).then_some(Video {
        width: 320,
        height: 180,
        fps_num: fps.0.min(1000),
        fps_den: fps.1,
    });
    let audio = (flags & 2 != 0).then_some(Audio {
        sample_rate: 48_000,
        channels: 1 + (flags >> 4 & 1),
        pre_skip: 312,
        codec: AudioCodec::Opus,
    });
    let (mut packets, mut total, mut first_video) = (Vec::new(), 0usize, true);
    for (i, c) in rest.chunks_exact(4).take(MAX_PACKETS).enumerate() {
        let is_audio = (c[0] & 1 != 0 && audio.is_some()) || video.is_none();
        let wide = usize::from(u16::from_le_bytes([c[2], c[3]]));
        let size = match c[0] >> 5 & 3 {
            0 => usize::from(c[2]),
            1 => wide,
            2 => wide * 4,
            _ => usize::from(c[2]) + usize::from(c[3]),
        };
        total += size;
        if total > MAX_TOTAL {
            break;
        }
        let delta = match c[0] >> 3 & 3 {
            0 => u64::from(c[1]),
            1 => u64::from(c[1]) * 960,
            2 => u64::from(c[1]) << 40,
            _ => u64::MAX - u64::from(c[1]),
        };
        let body: Vec<u8> = (0..size).map(|j| (j as u8) ^ c[1] ^ (i as u8)).collect();
        let keyframe = is_audio || first_video || c[0] & 2 != 0;
        let data = if is_audio || c[0] & 4 != 0 {
            body
        } else {
            // A temporal delimiter, the sequence header on keyframes, a frame OBU of `size`
            // bytes, and on some a padding OBU.
            let mut tu = vec![0x12, 0x00];
            if keyframe {
                tu.extend_from_slice(&SEQ);
            }
            obu(&mut tu, 6, &body);
            if c[1] & 1 != 0 {
                obu(&mut tu, 15, &body[..body.len().min(300)]);
            }
            tu
        };
        first_video &= is_audio;
        packets.push(Packet {
            audio: is_audio,
            keyframe,
            ts_delta: delta,
            data,
        });
    }
    Stream {
        video,
        audio,
        packets,
    }
}

/// An OBU of `kind` with a size field.
fn obu(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    out.push(kind << 3 | 2);
    cvp::varint::write(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// Per track number, the (time in ms, payload) of every block in order; the payload of the
/// first keyframe's sequence header.
struct Want {
    tracks: Vec<(u64, Vec<(u64, Vec<u8>)>)>,
    seq: Option<Vec<u8>>,
}

fn expected(s: &Stream) -> Want {
    let mut video = Vec::new();
    let mut audio = Vec::new();
    let opus = s.audio.is_some_and(|a| a.codec == AudioCodec::Opus);
    let (mut frames, mut samples) = (0u64, 0u64);
    let mut seq = None;
    for p in &s.packets {
        if p.audio {
            if opus {
                audio.push((samples / 48, p.data.clone()));
            }
            samples += p.ts_delta;
        } else if let Some(v) = s.video {
            if seq.is_none() {
                seq = Some(sequence_header(&p.data));
            }
            frames += p.ts_delta;
            let ms = u128::from(frames) * 1000 * u128::from(v.fps_den) / u128::from(v.fps_num);
            video.push((ms as u64, strip(&p.data)));
        }
    }
    let mut tracks = Vec::new();
    if s.video.is_some() {
        tracks.push((1, video));
    }
    if opus {
        tracks.push((tracks.len() as u64 + 1, audio));
    }
    Want { tracks, seq }
}

/// The OBUs of a temporal unit but temporal delimiters (2) and padding (15).
fn strip(tu: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (kind, whole, _) in obus(tu) {
        if kind != 2 && kind != 15 {
            out.extend_from_slice(whole);
        }
    }
    out
}

/// The payload of the sequence header OBU (type 1) of a temporal unit.
fn sequence_header(tu: &[u8]) -> Vec<u8> {
    obus(tu)
        .into_iter()
        .find(|o| o.0 == 1)
        .map(|o| o.2.to_vec())
        .expect("a sequence header")
}

/// (type, whole OBU, payload) of each OBU (the input muxed, so it parses).
fn obus(mut tu: &[u8]) -> Vec<(u8, &[u8], &[u8])> {
    let mut out = Vec::new();
    while let Some(&h) = tu.first() {
        let mut at = 1 + usize::from(h & 4 != 0);
        let len = if h & 2 != 0 {
            let mut v = 0usize;
            let mut shift = 0;
            loop {
                let b = tu[at];
                at += 1;
                v |= usize::from(b & 0x7F) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            v
        } else {
            tu.len() - at
        };
        out.push((h >> 3 & 0xF, &tu[..at + len], &tu[at..at + len]));
        tu = &tu[at + len..];
    }
    out
}

/// Master elements (their children are elements too).
const MASTERS: [u32; 13] = [
    0x1A45_DFA3,
    0x1853_8067,
    0x114D_9B74,
    0x4DBB,
    0x1549_A966,
    0x1654_AE6B,
    0xAE,
    0xE0,
    0xE1,
    0x1F43_B675,
    0x1C53_BB6B,
    0xBB,
    0xB7,
];

struct Walk {
    segment_data: usize,
    blocks: Vec<(u64, u64, Vec<u8>)>,
    cluster_time: Option<u64>,
    /// (ID named, position) of each Seek, and each cue's cluster position.
    seeks: Vec<(u32, u64)>,
    cues: Vec<u64>,
    last_seek_id: Option<u32>,
    av1c: Option<Vec<u8>>,
}

/// An element ID (1 to 4 bytes, its length in its first byte's leading zeros).
fn read_id(b: &[u8], at: usize) -> (u32, usize) {
    let len = b[at].leading_zeros() as usize + 1;
    assert!(len <= 4, "an ID of {len} bytes at {at}");
    let id = b[at..at + len]
        .iter()
        .fold(0u32, |v, &x| v << 8 | u32::from(x));
    (id, len)
}

/// A size: (value, bytes, unknown).
fn read_size(b: &[u8], at: usize) -> (u64, usize, bool) {
    let len = b[at].leading_zeros() as usize + 1;
    assert!(len <= 8, "a size of more than 8 bytes at {at}");
    let mut v = u64::from(b[at]) & (0xFF >> len);
    for &x in &b[at + 1..at + len] {
        v = v << 8 | u64::from(x);
    }
    (v, len, v == (1u64 << (7 * len)) - 1)
}

fn uint(body: &[u8]) -> u64 {
    assert!(body.len() <= 8);
    body.iter().fold(0, |v, &x| v << 8 | u64::from(x))
}

/// The elements in `b[from..to]`, which must end exactly at `to`.
fn elements(b: &[u8], from: usize, to: usize, fragmented: bool, w: &mut Walk) {
    let mut at = from;
    while at < to {
        let (id, il) = read_id(b, at);
        let (size, sl, unknown) = read_size(b, at + il);
        let start = at + il + sl;
        let end = if unknown {
            assert!(
                fragmented && id == 0x1853_8067,
                "unknown size only on a streamed Segment"
            );
            to
        } else {
            start.checked_add(size as usize).expect("size")
        };
        assert!(end <= to, "element {id:#x} at {at} runs past its parent");
        let body = &b[start..end];
        match id {
            0x1853_8067 => {
                w.segment_data = start;
                assert_eq!(end, b.len(), "the Segment ends the file");
            }
            0x1F43_B675 => w.cluster_time = None,
            0xE7 => w.cluster_time = Some(uint(body)),
            0x53AB => w.last_seek_id = Some(uint(body) as u32),
            0x53AC => w
                .seeks
                .push((w.last_seek_id.take().expect("SeekID first"), uint(body))),
            0xF1 => w.cues.push(uint(body)),
            0x63A2 if body.first() == Some(&0x81) => w.av1c = Some(body.to_vec()),
            0xA3 => {
                let tc = w
                    .cluster_time
                    .expect("a Cluster's Timecode comes before its blocks");
                let (track, tl, _) = read_size(body, 0);
                let rel = i16::from_be_bytes([body[tl], body[tl + 1]]);
                let t = tc
                    .checked_add_signed(i64::from(rel))
                    .expect("a block before 0");
                w.blocks.push((track, t, body[tl + 3..].to_vec()));
            }
            _ => {}
        }
        if MASTERS.contains(&id) {
            elements(b, start, end, fragmented, w);
        }
        at = end;
    }
    assert_eq!(at, to, "children end where their parent does");
}

fn walk(b: &[u8], fragmented: bool, want: &Want) {
    let mut w = Walk {
        segment_data: 0,
        blocks: Vec::new(),
        cluster_time: None,
        seeks: Vec::new(),
        cues: Vec::new(),
        last_seek_id: None,
        av1c: None,
    };
    elements(b, 0, b.len(), fragmented, &mut w);
    let times: Vec<u64> = w.blocks.iter().map(|x| x.1).collect();
    assert!(
        times.windows(2).all(|t| t[0] <= t[1]),
        "block times go back: {times:?}"
    );
    // av1C: 4 bytes, then the sequence header OBU (type 1, with a size field).
    if let Some(seq) = &want.seq {
        let c = w.av1c.expect("an av1C");
        assert_eq!(c[4], 0x0A, "a sequence header OBU with a size field");
        assert!(
            c.ends_with(seq) && c.len() > 5 + seq.len() - 1,
            "av1C holds the sequence header"
        );
    }
    for (track, list) in &want.tracks {
        let got: Vec<(u64, Vec<u8>)> = w
            .blocks
            .iter()
            .filter(|x| x.0 == *track)
            .map(|x| (x.1, x.2.clone()))
            .collect();
        assert!(
            got == *list,
            "track {track}: the blocks are not the packets at their times"
        );
    }
    let all = want.tracks.iter().map(|t| t.1.len()).sum::<usize>();
    assert_eq!(w.blocks.len(), all, "no other blocks");
    assert_eq!(
        w.seeks.is_empty(),
        fragmented,
        "a SeekHead in the file only"
    );
    for (id, pos) in w.seeks {
        assert_eq!(
            read_id(b, w.segment_data + pos as usize).0,
            id,
            "a Seek points at its element"
        );
    }
    for pos in w.cues {
        assert_eq!(
            read_id(b, w.segment_data + pos as usize).0,
            0x1F43_B675,
            "a cue points at a Cluster"
        );
    }
}
