//! One libaom-av1 two-pass encode of the video, taken out of ffmpeg's IVF as CVPM packets.

use super::args::{Av1, RateControl};
use super::choose::Shape;
use super::Job;
use crate::ffmpeg::{run, utf8, MediaError};
use crate::format::{Packet, Video};
use crate::ivf;

/// Encode `seconds` of the input from `start` at `shape` and `kbps`, under `control`.
pub(super) fn encode(
    job: &Job<'_>,
    cpu_used: u8,
    shape: Shape,
    (kbps, control): (f64, RateControl),
    span: (f64, f64),
) -> Result<(Video, Vec<Packet>), MediaError> {
    let log = job.dir.join("pass");
    let ivf_path = job.dir.join("v.ivf");
    let av1 = Av1 {
        input: utf8(job.input)?,
        passlog: utf8(&log)?,
        out: utf8(&ivf_path)?,
        shape,
        kbps,
        cpu_used,
        span,
        gop: gop(job.cfg.keyframe_seconds, shape.fps),
        control,
    };
    for pass in [1, 2] {
        run("ffmpeg", &av1.pass(pass))?;
    }
    let f = ivf::parse(&std::fs::read(&ivf_path)?)?;
    let video = Video {
        width: u32::from(f.width),
        height: u32::from(f.height),
        fps_num: shape.fps,
        fps_den: 1,
    };
    let mut last = None;
    let packets = f
        .frames
        .into_iter()
        .map(|(pts, data)| {
            let delta = last.map_or(pts, |l: u64| pts.saturating_sub(l));
            last = Some(pts);
            // An AV1 temporal unit starting with a sequence header OBU (type 1) is a keyframe.
            let keyframe = data.get(2).is_some_and(|b| (b >> 3) & 0xf == 1)
                || data.first().is_some_and(|b| (b >> 3) & 0xf == 1);
            Packet {
                audio: false,
                keyframe,
                ts_delta: delta,
                data,
            }
        })
        .collect();
    Ok((video, packets))
}

/// Frames between keyframes for one every `seconds` at `fps` (at least 1).
fn gop(seconds: f64, fps: u32) -> u32 {
    ((seconds * f64::from(fps)).round() as u32).max(1)
}
