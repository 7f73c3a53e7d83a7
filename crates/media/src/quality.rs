//! PSNR and SSIM of an encode against its source, measured by ffmpeg's `psnr` and `ssim` filters.
//!
//! The comparison is made on the source's grid, as a viewer sees the film: the decoded video is
//! upscaled (bicubic) to the source's size (capped at 720 lines, the source scaled down to the same
//! size when it is larger) and its frames are held to the source's frame rate (capped at 30 fps);
//! both sides are 8-bit 4:2:0. So a 144-line, 6 fps encode is judged against the same reference
//! as a 360-line, 25 fps one, and the figures of different sizes and rates can be ranked.
//!
//! VMAF ([`vmaf`], Netflix's model v0.6.1, 0..100) is measured on the same grid by Netflix's
//! `vmaf` tool when one is found ([`vmaf_tool`]): both sides are decoded by ffmpeg to y4m through
//! named pipes (nothing the size of the raw video is written to disk) and scored by the tool.

use crate::ffmpeg::{probe, run_stderr, spawn_error, utf8, MediaError};
use crate::format::Stream;
use crate::ivf;
use serde::Serialize;
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The environment variable naming the `vmaf` tool.
pub const VMAF_ENV: &str = "BITFLIX_VMAF";

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

/// The filters that bring either side onto the grid `g`.
fn grid_filter(g: Grid) -> String {
    format!(
        "scale={}:{}:flags=bicubic,format=yuv420p,fps={:.5},setpts=PTS-STARTPTS",
        g.width, g.height, g.fps
    )
}

pub(crate) fn compare_on(
    source: &Path,
    encoded: &Path,
    (start, seconds): (f64, f64),
    g: Grid,
) -> Result<Quality, MediaError> {
    let side = grid_filter(g);
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

/// Netflix's `vmaf` tool: the file named by `BITFLIX_VMAF` (an error if it is not one), else
/// `../shared/vmaf/vmaf` beside the checkout this crate was built from, else `vmaf` on `PATH`;
/// `None` when there is none.
pub fn vmaf_tool() -> Result<Option<PathBuf>, MediaError> {
    if let Some(p) = std::env::var_os(VMAF_ENV) {
        let p = PathBuf::from(p);
        if !p.is_file() {
            return Err(MediaError::Input(format!(
                "{VMAF_ENV}={} is not a file (unset it to use ../shared/vmaf or PATH)",
                p.display()
            )));
        }
        return Ok(Some(p));
    }
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vmaf/vmaf");
    if let Some(p) = std::fs::canonicalize(shared).ok().filter(|p| p.is_file()) {
        return Ok(Some(p));
    }
    Ok(std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("vmaf"))
            .find(|p| p.is_file())
    }))
}

/// VMAF (model v0.6.1, pooled mean) of any decodable file `encoded` against the first `seconds`
/// of `source`, on the source's grid; `None` when there is no `vmaf` tool ([`vmaf_tool`]).
pub fn vmaf(source: &Path, encoded: &Path, seconds: f64) -> Result<Option<f64>, MediaError> {
    vmaf_on(source, encoded, (0.0, seconds), source_grid(source)?)
}

/// As [`vmaf`], against `seconds` of the source from `start`, on the grid `g`. Frames are compared
/// up to the shorter side, as the PSNR's `shortest=1` does.
pub(crate) fn vmaf_on(
    source: &Path,
    encoded: &Path,
    (start, seconds): (f64, f64),
    g: Grid,
) -> Result<Option<f64>, MediaError> {
    let Some(tool) = vmaf_tool()? else {
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    let at = |name: &str| dir.path().join(name);
    let (dis, refp, out) = (at("dis.y4m"), at("ref.y4m"), at("vmaf.json"));
    for fifo in [&dis, &refp] {
        run_stderr("mkfifo", &[utf8(fifo)?])?;
    }
    let side = grid_filter(g);
    let (t, ss) = (format!("{seconds:.3}"), format!("{start:.3}"));
    let decode = |input: &Path, skip: Option<&str>, to: &Path, log: &Path| {
        let mut args = vec!["-hide_banner", "-nostdin", "-v", "error"];
        if let Some(ss) = skip {
            args.extend(["-ss", ss]);
        }
        args.extend(["-t", &t, "-i", utf8(input)?, "-an", "-vf", &side]);
        args.extend(["-f", "yuv4mpegpipe", "-y", utf8(to)?]);
        spawn_logged("ffmpeg", "ffmpeg".as_ref(), &args, log)
    };
    let mut children = Vec::new();
    let result = (|| {
        children.push(decode(encoded, None, &dis, &at("dis.log"))?);
        children.push(decode(source, Some(&ss), &refp, &at("ref.log"))?);
        let args = [
            "-r",
            utf8(&refp)?,
            "-d",
            utf8(&dis)?,
            "--model",
            "version=vmaf_v0.6.1",
            "--json",
            "-o",
            utf8(&out)?,
            "-q",
        ];
        children.push(spawn_logged(
            "vmaf",
            tool.as_os_str(),
            &args,
            &at("vmaf.log"),
        )?);
        Ok::<(), MediaError>(())
    })();
    let ended = reap(&mut children, result.is_err())?;
    result?;
    // The tool stops at the shorter side, so a decoder may end on a broken pipe: the score
    // stands when the tool succeeded; when it did not, say what every side that failed said.
    if ended.get(2) != Some(&Some(true)) {
        let message = ["dis.log", "ref.log", "vmaf.log"]
            .iter()
            .zip(&ended)
            .filter(|(_, e)| **e == Some(false))
            .map(|(log, _)| {
                let text = std::fs::read_to_string(at(log)).unwrap_or_default();
                let last: Vec<&str> = text.lines().rev().take(3).collect();
                let last = last.into_iter().rev().collect::<Vec<_>>().join(" / ");
                format!("{}: {last}", log.trim_end_matches(".log"))
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(MediaError::Tool {
            tool: "vmaf",
            message,
        });
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)
        .map_err(|e| MediaError::Input(format!("the vmaf tool's JSON: {e}")))?;
    let frames = json["frames"].as_array().map_or(0, Vec::len);
    match json["pooled_metrics"]["vmaf"]["mean"].as_f64() {
        Some(v) if frames > 0 && v.is_finite() => Ok(Some(v)),
        _ => Err(MediaError::Tool {
            tool: "vmaf",
            message: format!("no pooled VMAF over {frames} frames in its output"),
        }),
    }
}

/// Start `program` (the tool `name`) with its stderr in the file `log`.
fn spawn_logged(
    name: &'static str,
    program: &OsStr,
    args: &[&str],
    log: &Path,
) -> Result<Child, MediaError> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(log)?)
        .spawn()
        .map_err(|e| spawn_error(name, e))
}

/// Wait for the decoders and the tool (started in that order). A pipe's other end may never be
/// opened (a decoder refused its input, the tool its arguments), so whatever still runs once
/// one of them failed, or once the tool (the last) ended, is killed; with `abort`, everything
/// is. Every child is reaped. The answer, for each: whether it succeeded, `None` if killed.
fn reap(children: &mut [Child], abort: bool) -> Result<Vec<Option<bool>>, MediaError> {
    let mut done: Vec<Option<Option<bool>>> = vec![None; children.len()];
    let mut kill = abort;
    while done.iter().any(Option::is_none) {
        for (i, c) in children.iter_mut().enumerate() {
            if done[i].is_none() {
                if let Some(st) = c.try_wait()? {
                    done[i] = Some(Some(st.success()));
                    kill |= !st.success() || i + 1 == done.len();
                }
            }
        }
        if kill {
            for (i, c) in children.iter_mut().enumerate() {
                if done[i].is_none() {
                    let _ = c.kill();
                    c.wait()?;
                    done[i] = Some(None);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(done.into_iter().flatten().collect())
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
