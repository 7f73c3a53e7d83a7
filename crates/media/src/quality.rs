//! PSNR and SSIM of an encode against its source, measured by ffmpeg's `psnr` and `ssim` filters.
//!
//! The comparison is made on the source's grid, as a viewer sees the film: the decoded video is
//! upscaled (bicubic) to the source's size (capped at 720 lines, the source scaled down to the same
//! size when it is larger) and its frames are held to the source's frame rate (capped at 30 fps);
//! both sides are 8-bit 4:2:0. So a 144-line, 6 fps encode is judged against the same reference
//! as a 360-line, 25 fps one, and the figures of different sizes and rates can be ranked.

use crate::ffmpeg::{probe, run_stderr, utf8, MediaError};
use crate::format::Stream;
use crate::ivf;
use serde::Serialize;
use std::path::Path;

/// The two figures (PSNR: mean over Y, U and V weighted 4:1:1, in dB, 100 for identical pictures;
/// SSIM: 0..1, "All").
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quality {
    /// Peak signal-to-noise ratio, dB (higher is better).
    pub psnr: f64,
    /// Structural similarity, 0..=1 (higher is better).
    pub ssim: f64,
}

/// The grid both sides are compared on: source size capped at 720 lines, source rate capped at 30.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

impl Grid {
    pub(crate) fn of(src: (u32, u32, f64)) -> Grid {
        let (w, h, fps) = src;
        let short = w.min(h).max(2);
        let scale = if short > 720 {
            720.0 / f64::from(short)
        } else {
            1.0
        };
        let even = |x: u32| ((f64::from(x) * scale).round() as u32).max(2) & !1;
        Grid {
            width: even(w),
            height: even(h),
            fps: if fps > 0.0 && fps.is_finite() {
                fps.min(30.0)
            } else {
                25.0
            },
        }
    }
}

/// PSNR and SSIM of the video of `stream` against the first `seconds` of `source`.
pub fn measure(source: &Path, stream: &Stream, seconds: f64) -> Result<Quality, MediaError> {
    measure_on(source, stream, (0.0, seconds), source_grid(source)?)
}

/// The grid of `source`'s video (see the module docs).
fn source_grid(source: &Path) -> Result<Grid, MediaError> {
    let src = probe(source)?
        .video
        .ok_or_else(|| MediaError::Input(format!("{} has no video", source.display())))?;
    Ok(Grid::of(src))
}

/// As [`measure`], against `seconds` of the source from `start` (the stream starts there).
pub(crate) fn measure_on(
    source: &Path,
    stream: &Stream,
    span: (f64, f64),
    grid: Grid,
) -> Result<Quality, MediaError> {
    if stream.video.is_none() {
        return Err(MediaError::Input(
            "the stream has no video to measure".into(),
        ));
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("decoded.ivf");
    std::fs::write(&path, ivf::of_stream(stream, ivf::Start::Zero)?)?;
    compare_on(source, &path, span, grid)
}

/// PSNR and SSIM of any decodable file `encoded` (its first video stream) against the first
/// `seconds` of `source`, on the source's grid (see the module docs).
pub fn compare(source: &Path, encoded: &Path, seconds: f64) -> Result<Quality, MediaError> {
    compare_on(source, encoded, (0.0, seconds), source_grid(source)?)
}

pub(crate) fn compare_on(
    source: &Path,
    encoded: &Path,
    (start, seconds): (f64, f64),
    g: Grid,
) -> Result<Quality, MediaError> {
    let side = format!(
        "scale={}:{}:flags=bicubic,format=yuv420p,fps={:.5},setpts=PTS-STARTPTS",
        g.width, g.height, g.fps
    );
    let graph = format!(
        "[0:v]{side}[d];[1:v]{side}[r];[d]split[d1][d2];[r]split[r1][r2];\
         [d1][r1]psnr=shortest=1[o1];[d2][r2]ssim=shortest=1[o2]"
    );
    let t = format!("{seconds:.3}");
    let ss = format!("{start:.3}");
    let log = run_stderr(
        "ffmpeg",
        &[
            "-hide_banner",
            "-nostats",
            "-v",
            "info",
            "-t",
            &t,
            "-i",
            utf8(encoded)?,
            "-ss",
            &ss,
            "-t",
            &t,
            "-i",
            utf8(source)?,
            "-filter_complex",
            &graph,
            "-map",
            "[o1]",
            "-f",
            "null",
            "-",
            "-map",
            "[o2]",
            "-f",
            "null",
            "-",
        ],
    )?;
    parse_log(&log).ok_or_else(|| MediaError::Tool {
        tool: "ffmpeg",
        message: "the psnr/ssim filters printed no summary (no frames compared?)".into(),
    })
}

/// The summaries: `PSNR y:.. u:.. v:.. average:31.2 min:..` and `SSIM Y:.. All:0.91 (10.5)`.
fn parse_log(log: &str) -> Option<Quality> {
    let field = |line: &str, key: &str| -> Option<f64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.split_whitespace().next()?.parse().ok()
    };
    let mut psnr = None;
    let mut ssim = None;
    for line in log.lines() {
        if line.contains("] PSNR ") {
            psnr = field(line, "average:");
        } else if line.contains("] SSIM ") {
            ssim = field(line, "All:");
        }
    }
    Some(Quality {
        // Identical pictures (mean squared error 0) are "inf": reported as 100 dB, a number JSON holds.
        psnr: psnr?.min(100.0),
        ssim: ssim?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_parse_and_missing_ones_do_not() {
        let log = "[Parsed_psnr_8 @ 0x5] PSNR y:27.51 u:36.20 v:37.02 average:29.03 min:25.1 max:33.0\n\
                   [Parsed_ssim_9 @ 0x6] SSIM Y:0.801 (7.01) U:0.92 (11.0) V:0.93 (11.5) All:0.842 (8.01)\n";
        assert_eq!(
            parse_log(log),
            Some(Quality {
                psnr: 29.03,
                ssim: 0.842
            })
        );
        assert_eq!(parse_log("nothing here"), None);
        let perfect = log.replace("average:29.03", "average:inf");
        assert_eq!(parse_log(&perfect).map(|q| q.psnr), Some(100.0));
        assert_eq!(parse_log(log.lines().next().unwrap_or_default()), None);
    }

    #[test]
    fn the_grid_caps_size_and_rate() {
        let g = Grid::of((1920, 1080, 59.94));
        assert_eq!((g.width, g.height), (1280, 720));
        assert!((g.fps - 30.0).abs() < 1e-9);
        let g = Grid::of((176, 144, 29.97));
        assert_eq!((g.width, g.height), (176, 144));
        let g = Grid::of((320, 240, 0.0));
        assert!((g.fps - 25.0).abs() < 1e-9);
    }
}
