//! The ffmpeg command line of the real-time encoder: one process, the source read at its own pace
//! (or as fast as it goes when accelerated), libaom-av1 in its real-time mode or SVT-AV1 in low
//! delay, with a keyframe at every chunk boundary, libopus, each cut into one IVF and one Ogg file per chunk by ffmpeg's
//! segment muxer, which lists every finished file in a CSV as soon as it is closed.

use super::{LiveCodec, LiveConfig, Source};

fn s(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// The inputs. The test patterns get a tone, so the audio path is exercised too. A network
/// ingest is listened on (RTMP needs `-listen 1`; SRT says so in its URL) and read as it comes:
/// it is real time already.
pub(super) fn inputs(cfg: &LiveConfig) -> Vec<String> {
    let mut a = s(&["-nostdin", "-y", "-v", "error"]);
    match &cfg.source {
        Source::TestPattern => {
            if cfg.realtime {
                a.push("-re".into());
            }
            a.extend(s(&[
                "-f",
                "lavfi",
                "-i",
                &format!(
                    "testsrc2=size={}x{}:rate={}",
                    cfg.width, cfg.height, cfg.fps
                ),
            ]));
            if cfg.realtime {
                a.push("-re".into());
            }
            a.extend(s(&[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
            ]));
        }
        Source::Clock => {
            if cfg.realtime {
                a.push("-re".into());
            }
            a.extend(s(&[
                "-f",
                "lavfi",
                "-i",
                &super::clock::graph(cfg.width, cfg.height, cfg.fps),
            ]));
        }
        Source::File(p) => {
            if cfg.realtime {
                a.push("-re".into());
            }
            a.extend(s(&["-i", &p.to_string_lossy()]));
        }
        Source::Device(d) => {
            a.extend(s(&["-f", "v4l2", "-i", &d.to_string_lossy()]));
        }
        Source::Url(u) => {
            if u.starts_with("rtmp://") {
                a.extend(s(&["-listen", "1"]));
            }
            a.extend(s(&["-i", u]));
        }
    }
    a
}

/// `-t` for one output (each output stops on its own; the tone never ends).
fn limit(cfg: &LiveConfig) -> Vec<String> {
    cfg.max_seconds
        .map(|t| s(&["-t", &format!("{t:.3}")]))
        .unwrap_or_default()
}

/// The encoder's own options: both at their lowest-latency settings, at the video's rate.
fn codec(cfg: &LiveConfig, gop: &str) -> Vec<String> {
    let rate = format!("{:.2}k", cfg.video_kbps());
    match cfg.codec {
        LiveCodec::Aom => s(&[
            "-c:v",
            "libaom-av1",
            "-usage",
            "realtime",
            "-cpu-used",
            "8",
            "-row-mt",
            "1",
            "-lag-in-frames",
            "0",
            "-b:v",
            &rate,
        ]),
        LiveCodec::Svt => s(&[
            "-c:v",
            "libsvtav1",
            "-preset",
            "12",
            "-b:v",
            &rate,
            "-svtav1-params",
            &format!("pred-struct=1:lookahead=0:keyint={gop}"),
        ]),
    }
}

/// The video output: libaom or SVT-AV1 in real time, a keyframe every chunk, one IVF per chunk.
pub(super) fn video(cfg: &LiveConfig, dir: &str) -> Vec<String> {
    let secs = f64::from(cfg.chunk_ms) / 1000.0;
    let gop = ((secs * f64::from(cfg.fps)).round() as u32)
        .max(1)
        .to_string();
    let mut a = limit(cfg);
    a.extend(s(&["-map", "0:v:0"]));
    a.extend(s(&[
        "-vf",
        &format!(
            "scale={}:{}:force_original_aspect_ratio=decrease,pad={}:{}:(ow-iw)/2:(oh-ih)/2,fps={}",
            cfg.width, cfg.height, cfg.width, cfg.height, cfg.fps
        ),
    ]));
    a.extend(codec(cfg, &gop));
    a.extend(s(&[
        "-g",
        &gop,
        "-keyint_min",
        &gop,
        "-force_key_frames",
        &format!("expr:gte(t,n_forced*{secs})"),
    ]));
    a.extend(segment(secs, dir, "v", "ivf"));
    a
}

/// The audio output: mono libopus, 20 ms frames, one Ogg per chunk.
pub(super) fn audio(cfg: &LiveConfig, dir: &str) -> Vec<String> {
    let secs = f64::from(cfg.chunk_ms) / 1000.0;
    let input = if cfg.source == Source::TestPattern {
        "1:a:0"
    } else {
        "0:a:0"
    };
    let mut a = limit(cfg);
    a.extend(s(&["-map", input]));
    a.extend(s(&[
        "-c:a",
        "libopus",
        "-b:a",
        &format!("{:.1}k", cfg.audio_kbps),
        "-ac",
        "1",
        // Opus runs at 48 kHz; an ingest's 44.1 kHz is resampled, not left to negotiation.
        "-ar",
        "48000",
        "-application",
        "voip",
        "-frame_duration",
        "20",
    ]));
    a.extend(segment(secs, dir, "a", "ogg"));
    a
}

fn segment(secs: f64, dir: &str, name: &str, format: &str) -> Vec<String> {
    s(&[
        "-f",
        "segment",
        "-segment_time",
        &format!("{secs}"),
        "-segment_format",
        format,
        "-segment_list",
        &format!("{dir}/{name}.csv"),
        "-segment_list_type",
        "csv",
        &format!("{dir}/{name}%06d.{format}"),
    ])
}
