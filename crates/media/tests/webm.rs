//! The in-process WebM muxer, checked by an independent demuxer and decoder (ffprobe, ffmpeg):
//! every sample clip, a synthetic clip with audio, and audio alone, as a whole file and as an
//! init segment followed by fragments (from the first, and from a later one as after a seek);
//! the decoded frames equal those of the same temporal units decoded from IVF. Then what needs
//! no ffmpeg: closed fragments of a prefix equal the whole stream's byte for byte, packets of
//! any size, and hostile streams refused with errors that name the flaw.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::{fast, packet_sizes, synth_with_audio};
use media::format::{Audio, AudioCodec, Packet, Stream, Video};
use media::webm::{self, Fragment, MuxError};
use media::{encode, ivf};
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::have_ffmpeg;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A real stream: the bundled clip at the demo's settings (5.3 s, one keyframe, Opus).
fn bbb() -> Stream {
    let b = std::fs::read(root().join("fuzz/seeds/media_format/bbb.cvpm")).unwrap();
    Stream::decode(&b).unwrap()
}

/// `s` played `n` times in a row: `n` keyframes, so `n` fragments.
fn repeat(s: &Stream, n: usize) -> Stream {
    let mut packets = Vec::new();
    for r in 0..n {
        let mut first_video = true;
        for p in &s.packets {
            let mut p = p.clone();
            if !p.audio && first_video && r > 0 {
                p.ts_delta = 1;
            }
            first_video &= p.audio;
            packets.push(p);
        }
    }
    Stream {
        packets,
        ..s.clone()
    }
}

/// `init_segment` followed by fragments `from..`.
fn fragmented(s: &Stream, from: usize) -> Vec<u8> {
    let mut out = webm::init_segment(s).unwrap();
    for f in &webm::fragments(s, true).unwrap()[from..] {
        assert!(f.closed);
        out.extend(webm::fragment(s, f).unwrap());
    }
    out
}

fn run(tool: &str, args: &[&str]) -> (String, String) {
    let o = Command::new(tool).args(args).output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "{tool} {args:?}: {err}");
    (out, err)
}

/// The MD5 of every decoded video frame, in order (`-fps_mode passthrough`: no frame dropped or
/// repeated to fit a rate). ffmpeg must print nothing on stderr at `-v error`.
fn frame_hashes(path: &Path) -> Vec<String> {
    let p = path.to_str().unwrap();
    let (out, err) = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            p,
            "-map",
            "0:v",
            "-fps_mode",
            "passthrough",
            "-f",
            "framemd5",
            "-",
        ],
    );
    assert!(err.is_empty(), "decoding {p}: {err}");
    out.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|h| h.trim().to_owned()))
        .collect()
}

/// The codec names ffprobe finds, and the duration it reports (None: not stated).
fn probe(path: &Path) -> (Vec<String>, Option<f64>) {
    let p = path.to_str().unwrap();
    let (out, _) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name:format=duration",
            "-of",
            "default=noprint_wrappers=1",
            p,
        ],
    );
    let mut codecs = Vec::new();
    let mut duration = None;
    for l in out.lines() {
        if let Some(c) = l.strip_prefix("codec_name=") {
            codecs.push(c.to_owned());
        } else if let Some(d) = l.strip_prefix("duration=") {
            duration = d.parse().ok();
        }
    }
    (codecs, duration)
}

/// Decoding everything: no error output, and the audio decodes too.
fn decodes_cleanly(path: &Path) {
    let p = path.to_str().unwrap();
    let (_, err) = run("ffmpeg", &["-v", "error", "-i", p, "-f", "null", "-"]);
    assert!(err.is_empty(), "{p}: {err}");
}

/// Every check of one stream: the file and init + fragments (all, and from the second on).
fn check(name: &str, s: &Stream, dir: &Path) {
    let want_codecs: Vec<&str> = [
        s.video.map(|_| "av1"),
        s.audio
            .filter(|a| a.codec == AudioCodec::Opus)
            .map(|_| "opus"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let file = dir.join(format!("{name}.webm"));
    std::fs::write(&file, webm::file(s).unwrap()).unwrap();
    let frag = dir.join(format!("{name}-fragments.webm"));
    std::fs::write(&frag, fragmented(s, 0)).unwrap();
    let (codecs, duration) = probe(&file);
    assert_eq!(codecs, want_codecs, "{name}");
    let want = s.duration_ms().unwrap() as f64 / 1000.0;
    let frame = s
        .video
        .map_or(0.001, |v| f64::from(v.fps_den) / f64::from(v.fps_num));
    let got = duration.unwrap();
    assert!(
        (got - want).abs() <= frame,
        "{name}: duration {got} vs {want}"
    );
    assert_eq!(probe(&frag).0, want_codecs, "{name} fragments");
    decodes_cleanly(&file);
    decodes_cleanly(&frag);
    if s.video.is_none() {
        return;
    }
    // The same temporal units through IVF: an independent path to the decoder.
    let ivf_path = dir.join(format!("{name}.ivf"));
    std::fs::write(&ivf_path, ivf::of_stream(s, ivf::Start::AsStream).unwrap()).unwrap();
    let reference = frame_hashes(&ivf_path);
    let frames = s.packets.iter().filter(|p| !p.audio).count();
    assert_eq!(
        reference.len(),
        frames,
        "{name}: one frame per temporal unit"
    );
    assert_eq!(frame_hashes(&file), reference, "{name}: file frames");
    assert_eq!(frame_hashes(&frag), reference, "{name}: fragment frames");
    let fragments = webm::fragments(s, true).unwrap();
    if fragments.len() > 1 {
        // As after a seek: init + fragments 1.. decode to the frames from the second keyframe.
        let seek = dir.join(format!("{name}-seek.webm"));
        std::fs::write(&seek, fragmented(s, 1)).unwrap();
        let first = ivf_frames_before(s, fragments[1].start_ms);
        assert_eq!(
            frame_hashes(&seek),
            reference[first..],
            "{name}: from fragment 1"
        );
    }
}

/// How many video frames play before `ms`.
fn ivf_frames_before(s: &Stream, ms: u64) -> usize {
    let v = s.video.unwrap();
    s.times(false)
        .unwrap()
        .iter()
        .filter(|(t, _)| t * 1000 * u64::from(v.fps_den) / u64::from(v.fps_num) < ms)
        .count()
}

#[test]
fn every_sample_clip_muxes_and_decodes_like_its_ivf() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut clips: Vec<PathBuf> = std::fs::read_dir(root().join("../shared/media"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    clips.retain(|p| p.extension().is_some_and(|e| e == "mp4"));
    clips.sort();
    clips.push(root().join("assets/bigbuckbunny.mp4"));
    clips.push(synth_with_audio(dir.path(), "synthetic.mp4"));
    for (i, clip) in clips.iter().enumerate() {
        let (s, _) = encode(clip, &fast()).unwrap();
        assert!(s.audio.is_some() || !clip.ends_with("synthetic.mp4"));
        println!("{}: {} packets", clip.display(), s.packets.len());
        check(&format!("clip{i}"), &s, dir.path());
    }
    // Three keyframes (the clip played three times): fragments, and a seek into the second.
    let (s, _) = encode(&clips[clips.len() - 1], &fast()).unwrap();
    check("repeated", &repeat(&s, 3), dir.path());
}

#[test]
fn the_bundled_stream_and_audio_alone_mux_and_decode() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let s = bbb();
    check("bbb", &repeat(&s, 2), dir.path());
    let audio = Stream {
        video: None,
        packets: s.packets.iter().filter(|p| p.audio).cloned().collect(),
        ..s.clone()
    };
    assert_eq!(webm::mime(&audio).unwrap(), "audio/webm; codecs=\"opus\"");
    let f = webm::fragments(&audio, true).unwrap();
    assert_eq!(f.len(), 2, "5.3 s of audio: a fragment every 5 s: {f:?}");
    check("audio", &audio, dir.path());
    let video = Stream {
        audio: None,
        packets: s.packets.iter().filter(|p| !p.audio).cloned().collect(),
        ..s
    };
    check("video", &video, dir.path());
    // A frame every 40 s: block timecodes are i16 ms relative to their cluster's, so one
    // keyframe's fragment is split into a cluster per frame.
    let mut slow = video;
    slow.video.as_mut().unwrap().fps_num = 1;
    slow.video.as_mut().unwrap().fps_den = 40;
    let f = webm::fragments(&slow, true).unwrap();
    assert_eq!(f.len(), 1);
    let clusters = webm::fragment(&slow, &f[0]).unwrap();
    let frames = slow.packets.len();
    let count = clusters
        .windows(4)
        .filter(|w| w == &[0x1F, 0x43, 0xB6, 0x75])
        .count();
    assert_eq!(count, frames, "a cluster per frame");
    check("slow", &slow, dir.path());
}

/// Packets of 200,000 bytes (Ogg once broke at 65,025): an Opus packet, and a temporal unit
/// carrying a 200,000-byte metadata OBU, are stored whole; the temporal unit is read back whole
/// by ffprobe and decodes.
#[test]
fn packets_of_any_size() {
    let mut s = bbb();
    let big_audio: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let video_at = s.packets.iter().position(|p| !p.audio).unwrap();
    // A metadata OBU (type 5) of ITU-T T.35 (4) data, for a provider no decoder acts on, with
    // its trailing bits.
    let mut obu = vec![(5 << 3) | 2];
    let payload: Vec<u8> = [4, 0xB5, 0, 0]
        .into_iter()
        .chain((4..199_999u32).map(|i| (i % 253) as u8 | 1))
        .chain([0x80])
        .collect();
    cvp::varint::write(&mut obu, payload.len() as u64);
    obu.extend_from_slice(&payload);
    s.packets[video_at].data.extend_from_slice(&obu);
    let tu = s.packets[video_at].data.clone();
    let mut both = s.clone();
    let audio_at = s.packets.iter().position(|p| p.audio).unwrap();
    both.packets[audio_at].data = big_audio.clone();
    let bytes = webm::file(&both).unwrap();
    // The block holds the temporal unit without its temporal delimiter (2 bytes).
    assert!(find(&bytes, &tu[2..]), "the video packet is stored whole");
    assert!(find(&bytes, &big_audio), "the audio packet is stored whole");
    assert!(find(&fragmented(&both, 0), &big_audio), "and in a fragment");
    if !have_ffmpeg() {
        return;
    }
    // ffmpeg's Opus parser drops an audio packet past Opus's own size limit (and says so), so
    // the decoder sees the large temporal unit alone; the audio one was checked in the bytes
    // above, and the fuzz target's EBML reader checks packets of any size.
    let bytes = webm::file(&s).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.webm");
    std::fs::write(&path, &bytes).unwrap();
    let sizes = packet_sizes(&path);
    assert_eq!(
        sizes.first(),
        Some(&(tu.len() - 2)),
        "the temporal unit: {sizes:?}"
    );
    let (_, err) = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            path.to_str().unwrap(),
            "-map",
            "0:v",
            "-f",
            "null",
            "-",
        ],
    );
    assert!(err.is_empty(), "{err}");
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The gateway caches closed fragments forever: muxing any prefix of a film still arriving must
/// give every closed fragment exactly as the whole film gives it.
#[test]
fn closed_fragments_of_a_prefix_never_change() {
    let whole_stream = repeat(&bbb(), 4);
    let bytes = whole_stream.encode();
    let whole = webm::fragments(&whole_stream, true).unwrap();
    assert_eq!(whole.len(), 4);
    assert!(whole.iter().all(|f| f.closed));
    let whole_bytes: Vec<Vec<u8>> = whole
        .iter()
        .map(|f| webm::fragment(&whole_stream, f).unwrap())
        .collect();
    let (mut closed_seen, mut open_seen) = (0, 0);
    for cut in (40..bytes.len()).step_by(997).chain([bytes.len()]) {
        let prefix = Stream::decode_prefix(&bytes[..cut]).unwrap();
        let Ok(list) = webm::fragments(&prefix, false) else {
            panic!("a prefix of {cut} bytes does not list")
        };
        let open_from = list.iter().position(|f| !f.closed).unwrap_or(list.len());
        assert!(
            list[open_from..].iter().all(|f| !f.closed),
            "closed ones come first"
        );
        for f in &list[..open_from] {
            let k = f.index as usize;
            assert_eq!(f, &whole[k], "fragment {k} of the {cut}-byte prefix");
            assert_eq!(
                webm::fragment(&prefix, f).unwrap(),
                whole_bytes[k],
                "{k} at {cut}"
            );
            closed_seen += 1;
        }
        open_seen += list.len() - open_from;
        // An open fragment is served (not cached) and must still be valid clusters.
        for f in &list[open_from..] {
            webm::fragment(&prefix, f).unwrap();
        }
    }
    assert!(
        closed_seen > 10 && open_seen > 10,
        "{closed_seen} {open_seen}"
    );
}

fn stream(fps: (u32, u32), packets: Vec<Packet>) -> Stream {
    Stream {
        video: Some(Video {
            width: 320,
            height: 180,
            fps_num: fps.0,
            fps_den: fps.1,
        }),
        audio: Some(Audio {
            sample_rate: 48_000,
            channels: 1,
            pre_skip: 312,
            codec: AudioCodec::Opus,
        }),
        packets,
    }
}

fn packet(audio: bool, keyframe: bool, ts_delta: u64, data: &[u8]) -> Packet {
    Packet {
        audio,
        keyframe,
        ts_delta,
        data: data.to_vec(),
    }
}

#[test]
fn hostile_streams_are_refused_with_the_reason() {
    let good = bbb();
    let key = good.packets.iter().find(|p| !p.audio).unwrap().data.clone();
    let all = |s: &Stream| -> Result<(), MuxError> {
        webm::init_segment(s)?;
        webm::file(s)?;
        for f in webm::fragments(s, true)? {
            webm::fragment(s, &f)?;
        }
        Ok(())
    };
    let err = |s: Stream| all(&s).unwrap_err();
    // Zero frame rates.
    let e = err(stream((0, 1), vec![packet(false, true, 0, &key)]));
    assert!(matches!(e, MuxError::FrameRate { num: 0, .. }), "{e}");
    let e = err(stream((12, 0), vec![packet(false, true, 0, &key)]));
    assert!(matches!(e, MuxError::FrameRate { den: 0, .. }), "{e}");
    // Timestamps: a sum past 64 bits, a frame count whose milliseconds pass it, audio too.
    let e = err(stream(
        (12, 1),
        vec![
            packet(false, true, u64::MAX, &key),
            packet(false, false, 1, &key),
        ],
    ));
    assert!(matches!(e, MuxError::Overflow(_)), "{e}");
    let e = err(stream(
        (1, 1000),
        vec![packet(false, true, u64::MAX / 2, &key)],
    ));
    assert!(matches!(e, MuxError::Overflow(_)), "{e}");
    let e = err(stream(
        (12, 1),
        vec![
            packet(false, true, 0, &key),
            packet(true, true, u64::MAX, &[8]),
            packet(true, true, 1, &[8]),
        ],
    ));
    assert!(matches!(e, MuxError::Overflow(_)), "{e}");
    // Bad OBUs: a forbidden bit, a size past the end, in the first keyframe or later.
    let e = err(stream((12, 1), vec![packet(false, true, 0, &[0x80, 0])]));
    assert!(matches!(e, MuxError::Obu { packet: 0, .. }), "{e}");
    let mut cut = key.clone();
    cut.truncate(key.len() - 1);
    let e = err(stream(
        (12, 1),
        vec![packet(false, true, 0, &key), packet(false, false, 1, &cut)],
    ));
    assert!(matches!(e, MuxError::Obu { packet: 1, .. }), "{e}");
    // No sequence header, a cut one, a keyframe with another, a first frame that is no keyframe.
    let e = err(stream(
        (12, 1),
        vec![packet(false, true, 0, &[0x12, 0, 0x32, 1, 0])],
    ));
    assert!(matches!(e, MuxError::NoSequenceHeader(0)), "{e}");
    let e = err(stream(
        (12, 1),
        vec![packet(false, true, 0, &[0x0A, 2, 0, 0])],
    ));
    assert!(
        matches!(e, MuxError::SequenceHeader { packet: 0, .. }),
        "{e}"
    );
    let mut other = key.clone();
    other[6] ^= 0x01; // the sequence header's payload starts at byte 4
    let e = err(stream(
        (12, 1),
        vec![packet(false, true, 0, &key), packet(false, true, 1, &other)],
    ));
    assert!(matches!(e, MuxError::SequenceHeaderChanged(1)), "{e}");
    let e = err(stream((12, 1), vec![packet(false, false, 0, &key)]));
    assert!(matches!(e, MuxError::NotKeyframeFirst(0)), "{e}");
    // Audio: three channels; neither track a browser plays.
    let mut s = stream((12, 1), vec![packet(false, true, 0, &key)]);
    s.audio.as_mut().unwrap().channels = 3;
    assert!(matches!(err(s), MuxError::Channels(3)));
    let mut s = stream((12, 1), vec![packet(true, true, 1920, &[0; 6])]);
    s.video = None;
    s.audio.as_mut().unwrap().codec = AudioCodec::Codec2_1200;
    assert!(webm::audio_left_out(&s));
    assert!(matches!(err(s), MuxError::NoTracks));
    // Fragments that are not this stream's.
    let f = Fragment {
        index: 9,
        start_ms: 0,
        end_ms: 1,
        closed: true,
    };
    let e = webm::fragment(&good, &f).unwrap_err();
    assert!(
        matches!(e, MuxError::NoSuchFragment { index: 9, count: 1 }),
        "{e}"
    );
    let f = Fragment { index: 0, ..f };
    let e = webm::fragment(&good, &f).unwrap_err();
    assert!(matches!(e, MuxError::FragmentMismatch { .. }), "{e}");
}

#[test]
fn codec2_audio_is_left_out_and_said_so() {
    let mut s = bbb();
    s.audio = Some(Audio {
        sample_rate: 8000,
        channels: 1,
        pre_skip: 0,
        codec: AudioCodec::Codec2_1200,
    });
    for p in s.packets.iter_mut().filter(|p| p.audio) {
        p.data = vec![0; 6];
        p.ts_delta = 1920;
    }
    assert!(webm::audio_left_out(&s));
    assert!(!webm::audio_left_out(&bbb()));
    assert_eq!(
        webm::mime(&s).unwrap(),
        "video/webm; codecs=\"av01.0.00M.08\""
    );
    assert_eq!(
        webm::mime(&bbb()).unwrap(),
        "video/webm; codecs=\"av01.0.00M.08, opus\""
    );
    let file = webm::file(&s).unwrap();
    assert!(
        find(&file, b"V_AV1") && !find(&file, b"A_OPUS"),
        "one track"
    );
}
