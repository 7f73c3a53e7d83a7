//! The real-time encoder of `bitflix live`: ffmpeg encodes the source as it comes (libaom-av1
//! `-usage realtime`, a keyframe at every chunk boundary, mono Opus), ffmpeg's segment muxer closes
//! one IVF and one Ogg file per chunk, and each finished pair becomes the CVPM bytes of one chunk:
//! the first chunk starts with the CVPM header, so the chunks in order are one CVPM stream
//! (docs/media-format.md). Timestamps run on across a restart (`Continue`), so a resumed stream
//! stays one timeline.
//!
//! A network source (`Source::Url`) is listened on by ffmpeg, which waits for the sender as long
//! as it takes ([`LiveEncoder::next_chunk`]'s `stop` ends the wait); the sender stopping is the
//! end of the source, like the end of a file. ffmpeg's messages go to a file, not a pipe nobody
//! reads: a lossy ingest logging for hours never blocks it.

mod args;
pub mod clock;

use crate::ffmpeg::{failed, spawn_error, MediaError};
use crate::format::{Audio, AudioCodec, Packet, Stream, Video};
use crate::{ivf, ogg, opus};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the live encoder reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `lavfi:testsrc2`: ffmpeg's test pattern with a 440 Hz tone.
    TestPattern,
    /// `lavfi:clock`: the test pattern with the wall clock at capture burned into each frame as a
    /// code (see [`clock_code`]), for measuring glass-to-glass latency.
    Clock,
    /// A file, played at its own pace.
    File(PathBuf),
    /// A network ingest ffmpeg listens on: `srt://...?mode=listener` or `rtmp://...`.
    Url(String),
    /// `v4l2:/dev/videoN`: a Video4Linux capture device (video only; it carries no sound).
    Device(PathBuf),
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "lavfi:testsrc2" {
            Ok(Source::TestPattern)
        } else if s == "lavfi:clock" {
            Ok(Source::Clock)
        } else if let Some(dev) = s.strip_prefix("v4l2:") {
            if dev.is_empty() {
                return Err("v4l2: needs a device, e.g. v4l2:/dev/video0".to_owned());
            }
            Ok(Source::Device(PathBuf::from(dev)))
        } else if s.starts_with("srt://") || s.starts_with("rtmp://") {
            Ok(Source::Url(s.to_owned()))
        } else if s.contains("://") || s.starts_with("lavfi:") {
            Err(format!(
                "unsupported source '{s}': give a file, lavfi:testsrc2, lavfi:clock, v4l2:/dev/videoN, srt://HOST:PORT?mode=listener or rtmp://HOST:PORT/APP/KEY"
            ))
        } else {
            Ok(Source::File(PathBuf::from(s)))
        }
    }
}

/// Which AV1 encoder the live stream uses (both are in Debian's ffmpeg 5.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LiveCodec {
    /// libaom-av1 `-usage realtime -cpu-used 8`, no lag.
    #[default]
    Aom,
    /// SVT-AV1 preset 12, low-delay prediction, no look-ahead, CBR.
    Svt,
}

impl std::str::FromStr for LiveCodec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "aom" | "libaom-av1" => Ok(LiveCodec::Aom),
            "svt" | "svt-av1" | "libsvtav1" => Ok(LiveCodec::Svt),
            _ => Err(format!("unknown live encoder '{s}': aom or svt")),
        }
    }
}

/// How the live stream is encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveConfig {
    /// The source.
    pub source: Source,
    /// The AV1 encoder.
    pub codec: LiveCodec,
    /// Chunk length in milliseconds (a keyframe starts each chunk).
    pub chunk_ms: u32,
    /// The whole stream's rate, kbit/s (audio included).
    pub kbps: f64,
    /// The audio's share, kbit/s (0: no audio).
    pub audio_kbps: f64,
    /// Picture size.
    pub width: u32,
    /// Picture size.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Read the source at its own pace (`-re`); false: as fast as the encoder goes (tests).
    pub realtime: bool,
    /// Stop after this many seconds of source.
    pub max_seconds: Option<f64>,
}

impl Default for LiveConfig {
    /// `bitflix live`'s defaults on the test pattern: libaom, 2 s chunks, 24 kbit/s with 6 of
    /// Opus, 256x144 at 10 fps, at the source's pace, no end.
    fn default() -> Self {
        LiveConfig {
            source: Source::TestPattern,
            codec: LiveCodec::Aom,
            chunk_ms: 2000,
            kbps: 24.0,
            audio_kbps: 6.0,
            width: 256,
            height: 144,
            fps: 10,
            realtime: true,
            max_seconds: None,
        }
    }
}

impl LiveConfig {
    /// The video's rate: the whole rate less the audio's and about 10 % for framing.
    pub fn video_kbps(&self) -> f64 {
        ((self.kbps - self.audio_kbps) * 0.9).max(1.0)
    }
}

/// Where a restarted encoder continues: the stream so far (its CVPM bytes, header included).
#[derive(Debug, Clone, Default)]
pub struct Continue {
    /// Video frames so far.
    pub video_frames: u64,
    /// Audio samples (48 kHz) so far.
    pub audio_samples: u64,
    /// The stream's header, as the first chunk wrote it (the new encoder's must be the same).
    pub header: Option<Vec<u8>>,
}

impl Continue {
    /// Where the stream `bytes` (chunks so far, concatenated) ends.
    pub fn of_stream(bytes: &[u8]) -> Result<Continue, MediaError> {
        if bytes.is_empty() {
            return Ok(Continue::default());
        }
        let s = Stream::decode(bytes)?;
        let mut c = Continue {
            header: Some(header_bytes(s.video, s.audio)),
            ..Continue::default()
        };
        for p in &s.packets {
            if p.audio {
                c.audio_samples = c.audio_samples.saturating_add(p.ts_delta);
            } else {
                c.video_frames = c.video_frames.saturating_add(p.ts_delta);
            }
        }
        Ok(c)
    }
}

/// One encoded chunk.
#[derive(Debug, Clone)]
pub struct MediaChunk {
    /// Milliseconds from the stream's start to the chunk's first packet.
    pub start_ms: u64,
    /// Its CVPM bytes (the first chunk of a stream starts with the header).
    pub bytes: Vec<u8>,
    /// Packets in it.
    pub packets: usize,
    /// When its files were closed (the encode part of the latency ends here).
    pub ready_at: Instant,
    /// Milliseconds of media in it.
    pub media_ms: u64,
}

/// The running encoder.
#[derive(Debug)]
pub struct LiveEncoder {
    child: Child,
    dir: tempfile::TempDir,
    fps: u32,
    audio: bool,
    next: usize,
    video_frames: u64,
    audio_samples: u64,
    last_pts: Option<u64>,
    header: Option<Vec<u8>>,
    continuing: bool,
    exited: bool,
    /// ffmpeg exited with an error: reported once every closed chunk was taken.
    failed: bool,
}

fn header_bytes(video: Option<Video>, audio: Option<Audio>) -> Vec<u8> {
    Stream {
        video,
        audio,
        packets: Vec::new(),
    }
    .encode()
}

fn listed(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(',').next())
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

impl LiveEncoder {
    /// Start ffmpeg on `cfg`, continuing `from` (a resumed stream) or from the start.
    pub fn start(cfg: &LiveConfig, from: Continue) -> Result<LiveEncoder, MediaError> {
        if cfg.chunk_ms < 500 || cfg.fps == 0 || cfg.width < 16 || cfg.height < 16 {
            return Err(MediaError::Config {
                field: "live encoder",
                value: format!(
                    "chunk {} ms, {}x{} at {} fps",
                    cfg.chunk_ms, cfg.width, cfg.height, cfg.fps
                ),
                range: "chunks of at least 500 ms, at least 16x16, at least 1 fps",
            });
        }
        let audio = cfg.audio_kbps > 0.0
            && match &cfg.source {
                Source::File(p) => crate::probe(p)?.audio,
                Source::Device(_) => false,
                Source::TestPattern | Source::Clock | Source::Url(_) => true,
            };
        let dir = tempfile::tempdir()?;
        let d = dir.path().to_string_lossy().into_owned();
        let mut a = args::inputs(cfg);
        a.extend(args::video(cfg, &d));
        if audio {
            a.extend(args::audio(cfg, &d));
        }
        let log = std::fs::File::create(dir.path().join("ffmpeg.log"))?;
        let child = Command::new("ffmpeg")
            .args(&a)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| spawn_error("ffmpeg", e))?;
        Ok(LiveEncoder {
            child,
            dir,
            fps: cfg.fps,
            audio,
            next: 0,
            continuing: from.header.is_some(),
            video_frames: from.video_frames,
            audio_samples: from.audio_samples,
            last_pts: None,
            header: from.header,
            exited: false,
            failed: false,
        })
    }

    /// The next chunk, waiting for it; `None` once the source has ended (or [`LiveEncoder::stop`]
    /// was called) and every closed chunk was taken. `stop` is polled while waiting (a listener
    /// with no sender yet waits until it says so). ffmpeg's error, if it failed on its own, comes
    /// after the chunks it closed.
    pub fn next_chunk(
        &mut self,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<MediaChunk>, MediaError> {
        loop {
            // Whether ffmpeg is gone is read before its lists: once it is, they are complete.
            let gone = self.exited;
            let v = listed(&self.dir.path().join("v.csv"));
            let a = if self.audio {
                listed(&self.dir.path().join("a.csv"))
            } else {
                Vec::new()
            };
            let ready = v.len() > self.next && (!self.audio || a.len() > self.next);
            // Once ffmpeg is gone, a last video file without its audio is still taken.
            let last = gone && v.len() > self.next;
            if ready || last {
                let vname = &v[self.next];
                let aname = a.get(self.next).cloned();
                self.next += 1;
                return self.chunk(vname, aname.as_deref()).map(Some);
            }
            if gone {
                // Told to stop, a failure is the stop's doing (Ctrl-C reaches ffmpeg too).
                let failed_alone = self.failed && !stop();
                return match std::fs::read(self.dir.path().join("ffmpeg.log")) {
                    Ok(log) if failed_alone && !log.trim_ascii().is_empty() => {
                        self.failed = false;
                        Err(failed("ffmpeg", log.trim_ascii()))
                    }
                    _ => Ok(None),
                };
            }
            if stop() {
                self.stop();
                continue;
            }
            if let Some(status) = self.child.try_wait()? {
                self.exited = true;
                self.failed = !status.success();
                continue;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stop ffmpeg: the chunk being encoded is dropped, the closed ones are still returned.
    pub fn stop(&mut self) {
        if !self.exited {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.exited = true;
        }
    }

    fn chunk(&mut self, vname: &str, aname: Option<&str>) -> Result<MediaChunk, MediaError> {
        let ready_at = Instant::now();
        let f = ivf::parse(&std::fs::read(self.dir.path().join(vname))?)?;
        let video = Video {
            width: u32::from(f.width),
            height: u32::from(f.height),
            fps_num: self.fps,
            fps_den: 1,
        };
        let mut vp = Vec::with_capacity(f.frames.len());
        for (pts, data) in f.frames {
            let delta = match self.last_pts {
                Some(l) => pts.saturating_sub(l).max(1),
                None if self.continuing => 1,
                None => pts,
            };
            self.last_pts = Some(pts);
            let keyframe = data.get(2).is_some_and(|b| (b >> 3) & 0xf == 1)
                || data.first().is_some_and(|b| (b >> 3) & 0xf == 1);
            vp.push(Packet {
                audio: false,
                keyframe,
                ts_delta: delta,
                data,
            });
        }
        let mut audio = None;
        let mut ap = Vec::new();
        if let Some(name) = aname {
            for (data, _) in ogg::packets(&std::fs::read(self.dir.path().join(name))?)? {
                if let Some(head) = data.strip_prefix(b"OpusHead").filter(|h| h.len() >= 11) {
                    audio = Some(Audio {
                        channels: head[1],
                        pre_skip: u16::from_le_bytes([head[2], head[3]]),
                        sample_rate: u32::from_le_bytes([head[4], head[5], head[6], head[7]]),
                        codec: AudioCodec::Opus,
                    });
                } else if !data.starts_with(b"OpusTags") {
                    ap.push(Packet {
                        audio: true,
                        keyframe: true,
                        ts_delta: opus::packet_samples(&data).unwrap_or(960),
                        data,
                    });
                }
            }
        }
        let fps = f64::from(self.fps);
        let start_ms = vp
            .first()
            .map(|p| (self.video_frames.saturating_add(p.ts_delta) as f64 * 1000.0 / fps) as u64)
            .into_iter()
            .chain(ap.first().map(|_| self.audio_samples / 48))
            .min()
            .unwrap_or(0);
        let (vt0, at0) = (self.video_frames, self.audio_samples);
        let (packets, (vt, at)) = crate::encode::interleave_from(Some(video), (vt0, at0), vp, ap);
        self.video_frames = vt;
        self.audio_samples = at;
        let end_ms = ((vt as f64 * 1000.0 / fps) as u64).max(at / 48);
        let header = header_bytes(Some(video), if self.audio { audio } else { None });
        let whole = Stream {
            video: Some(video),
            audio: if self.audio { audio } else { None },
            packets,
        };
        let n = whole.packets.len();
        let encoded = whole.encode();
        let bytes = match &self.header {
            // Later chunks: the packets only (the header is the one the stream started with).
            Some(_) => encoded[header.len()..].to_vec(),
            None => {
                self.header = Some(header);
                encoded
            }
        };
        Ok(MediaChunk {
            start_ms,
            bytes,
            packets: n,
            ready_at,
            media_ms: end_ms.saturating_sub(start_ms),
        })
    }

    /// The stream's CVPM header, once the first chunk is out.
    pub fn header(&self) -> Option<&[u8]> {
        self.header.as_deref()
    }
}

impl Drop for LiveEncoder {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::Source;
    use std::path::PathBuf;

    #[test]
    fn sources_parse_or_say_what_is_accepted() {
        assert_eq!("lavfi:testsrc2".parse(), Ok(Source::TestPattern));
        assert_eq!("lavfi:clock".parse(), Ok(Source::Clock));
        assert_eq!(
            "v4l2:/dev/video0".parse(),
            Ok(Source::Device(PathBuf::from("/dev/video0")))
        );
        assert_eq!(
            "srt://0.0.0.0:9000?mode=listener".parse(),
            Ok(Source::Url("srt://0.0.0.0:9000?mode=listener".into()))
        );
        assert_eq!("film.mp4".parse(), Ok(Source::File("film.mp4".into())));
        for bad in ["v4l2:", "lavfi:mandelbrot", "http://example.com/x"] {
            let err = bad.parse::<Source>().unwrap_err();
            assert!(err.contains("v4l2:"), "{bad}: {err}");
        }
    }
}
