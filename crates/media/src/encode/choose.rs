//! Choosing the size and frame rate by measurement: the candidates a source allows, the lower
//! fallbacks, and the trial of each on a short excerpt scored by PSNR and SSIM.

use super::args::RateControl;
use super::{packet_bytes, video, Candidate, EncodeConfig, Job};
use crate::ffmpeg::MediaError;
use crate::format::Stream;
use crate::quality::{self, Grid, Quality};

/// Where the video goes: a scale expression and a frame rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Shape {
    pub scale: (i32, i32),
    pub fps: u32,
}

impl Shape {
    pub(super) fn filter(self) -> String {
        format!("fps={},scale={}:{}", self.fps, self.scale.0, self.scale.1)
    }
}

/// The sizes and rates to try for a source of `w`x`h` at `native` fps, given what is forced.
pub(super) fn candidates(cfg: &EncodeConfig, (w, h, native): (u32, u32, f64)) -> Vec<Shape> {
    let native = (native.round() as u32).clamp(1, 30);
    let mut rates: Vec<u32> = match cfg.fps {
        Some(f) => vec![f],
        None => [6, 12, native]
            .into_iter()
            .filter(|&f| f <= native)
            .collect(),
    };
    rates.dedup();
    let short_src = w.min(h).max(16) & !1;
    let sizes: Vec<(i32, i32)> = match (cfg.width, cfg.height) {
        (Some(cw), Some(ch)) => vec![(cw as i32, ch as i32)],
        (Some(cw), None) => vec![((cw.min(w.max(16) & !1)) as i32, -2)],
        (None, Some(ch)) => vec![(-2, (ch.min(h.max(16) & !1)) as i32)],
        (None, None) => {
            let mut shorts: Vec<u32> = [144, 180, 240, 360]
                .into_iter()
                .filter(|&x| x <= short_src)
                .collect();
            if shorts.is_empty() {
                shorts.push(short_src);
            }
            shorts
                .into_iter()
                .map(|x| {
                    if w >= h {
                        (-2, x as i32)
                    } else {
                        (x as i32, -2)
                    }
                })
                .collect()
        }
    };
    let mut out = Vec::new();
    for &scale in &sizes {
        for &fps in &rates {
            out.push(Shape { scale, fps });
        }
    }
    out
}

/// Tried only when every candidate overshoots: fewer frames (3 fps) and fewer lines (a 96-line
/// short side), where the floors are lower.
pub(super) fn fallback(cfg: &EncodeConfig, src: (u32, u32, f64)) -> Vec<Shape> {
    let regular = candidates(cfg, src);
    let Some(first) = regular.first().copied() else {
        return Vec::new();
    };
    let forced_size = cfg.width.is_some() || cfg.height.is_some();
    let small = if src.0 >= src.1 { (-2, 96) } else { (96, -2) };
    let small_fits = !forced_size && src.0.min(src.1) > 96;
    let mut out = Vec::new();
    match cfg.fps {
        None => {
            if small_fits {
                out.push(Shape {
                    scale: small,
                    fps: 6,
                });
            }
            out.push(Shape { fps: 3, ..first });
            if small_fits {
                out.push(Shape {
                    scale: small,
                    fps: 3,
                });
            }
        }
        Some(fps) if small_fits => out.push(Shape { scale: small, fps }),
        Some(_) => {}
    }
    out
}

/// Score a measurement: PSNR and SSIM (as dB, -10 log10(1 - SSIM)) count equally.
fn score(q: Quality) -> f64 {
    q.psnr.min(100.0) - 10.0 * (1.0 - q.ssim).max(1e-10).log10()
}

/// The excerpt every candidate is tried on: `(start, seconds)` and its byte target at `kbps`.
struct Excerpt {
    span: (f64, f64),
    target: f64,
    kbps: f64,
    grid: Grid,
}

/// The shape to encode a source of `src` with: the only candidate when size and rate are forced,
/// else the best measured one (see [`choose`]), with the candidates tried.
pub(super) fn shape_for(
    job: &Job<'_>,
    src: (u32, u32, f64),
    kbps: f64,
) -> Result<(Shape, Vec<Candidate>), MediaError> {
    let shapes = candidates(job.cfg, src);
    match shapes.as_slice() {
        [one] => Ok((*one, Vec::new())),
        _ => choose(job, &shapes, &fallback(job.cfg, src), kbps, Grid::of(src)),
    }
}

/// Try each shape on the first `probe_seconds` at `kbps` (retried once at a corrected rate when it
/// lands more than 10 % off); the best score among those that do not overshoot by more than 10 %
/// wins (if all overshoot, the smallest, and the budget search says whether it fits).
fn choose(
    job: &Job<'_>,
    shapes: &[Shape],
    fallback: &[Shape],
    kbps: f64,
    grid: Grid,
) -> Result<(Shape, Vec<Candidate>), MediaError> {
    let excerpt = job.cfg.probe_seconds.min(job.seconds);
    // From the middle: a film's first seconds are often titles or black.
    let start = ((job.seconds - excerpt) / 2.0).max(0.0);
    let at = Excerpt {
        span: (start, excerpt),
        target: kbps * 1000.0 / 8.0 * excerpt,
        kbps,
        grid,
    };
    let mut list = Vec::new();
    let mut best: Option<(f64, Shape)> = None;
    let mut smallest: Option<(u64, Shape)> = None;
    let mut queue: Vec<Shape> = shapes.to_vec();
    let mut i = 0;
    while let Some(&shape) = queue.get(i) {
        i += 1;
        let (cand, q) = trial(job, shape, &at)?;
        if smallest.is_none_or(|(b, _)| cand.bytes < b) {
            smallest = Some((cand.bytes, shape));
        }
        if let Some(q) = q {
            if best.is_none_or(|(s, _)| score(q) > s) {
                best = Some((score(q), shape));
            }
        }
        list.push(cand);
        if i == shapes.len() && best.is_none() {
            // Nothing reached the rate: the floors are lower with fewer frames and fewer lines.
            queue.extend(fallback.iter().filter(|f| !shapes.contains(f)));
        }
    }
    let pick = best
        .map(|b| b.1)
        .or(smallest.map(|s| s.1))
        .ok_or_else(|| MediaError::Input("no size or frame rate to try".into()))?;
    Ok((pick, list))
}

/// One candidate on the excerpt: its figures, and its measurement unless it overshot.
fn trial(
    job: &Job<'_>,
    shape: Shape,
    at: &Excerpt,
) -> Result<(Candidate, Option<Quality>), MediaError> {
    let cpu = job.cfg.cpu_used.max(6);
    let (start, excerpt) = at.span;
    // libaom's rate control misses by up to a third on a few seconds at these rates, and not
    // in the same direction for every size: one corrected retry puts the candidates at about
    // the same byte count before their quality is compared.
    let (mut v, mut packets) =
        video::encode(job, cpu, shape, (at.kbps, RateControl::Default), at.span)?;
    let mut bytes = packet_bytes(&packets);
    let off = bytes as f64 / at.target;
    if !(0.9..=1.1).contains(&off) {
        let again = (at.kbps / off).clamp(0.5, 20_000.0);
        (v, packets) = video::encode(job, cpu, shape, (again, RateControl::Default), at.span)?;
        bytes = packet_bytes(&packets);
    }
    let skipped = bytes as f64 > at.target * 1.10;
    let mut cand = Candidate {
        width: v.width,
        height: v.height,
        fps: v.fps_num,
        bytes,
        kbps: bytes as f64 * 8.0 / 1000.0 / excerpt,
        psnr: None,
        ssim: None,
        skipped,
    };
    if skipped {
        return Ok((cand, None));
    }
    let stream = Stream {
        video: Some(v),
        audio: None,
        packets,
    };
    let q = quality::measure_on(job.input, &stream, (start, excerpt), at.grid)?;
    cand.psnr = Some(q.psnr);
    cand.ssim = Some(q.ssim);
    Ok((cand, Some(q)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto() -> EncodeConfig {
        EncodeConfig {
            width: None,
            height: None,
            fps: None,
            ..EncodeConfig::default()
        }
    }

    fn list(v: &[Shape]) -> Vec<(i32, i32, u32)> {
        v.iter().map(|s| (s.scale.0, s.scale.1, s.fps)).collect()
    }

    #[test]
    fn candidates_are_capped_by_the_source() {
        // 720p, 25 fps: four sizes by three rates.
        let c = candidates(&auto(), (1280, 720, 25.0));
        assert_eq!(c.len(), 12);
        assert!(c.contains(&Shape {
            scale: (-2, 360),
            fps: 25
        }));
        // QCIF at 29.97: only its own 144 lines; 30 fps.
        let c = candidates(&auto(), (176, 144, 29.97));
        assert_eq!(list(&c), [(-2, 144, 6), (-2, 144, 12), (-2, 144, 30)]);
        // Portrait: the width is the short side. 10 fps source: no 12 fps.
        let c = candidates(&auto(), (180, 320, 10.0));
        assert_eq!(
            list(&c),
            [(144, -2, 6), (144, -2, 10), (180, -2, 6), (180, -2, 10)]
        );
        // Forced size and rate: one shape.
        let forced = EncodeConfig {
            height: Some(144),
            fps: Some(12),
            ..auto()
        };
        assert_eq!(
            list(&candidates(&forced, (1280, 720, 25.0))),
            [(-2, 144, 12)]
        );
    }

    #[test]
    fn fallbacks_go_lower() {
        assert_eq!(
            list(&fallback(&auto(), (1280, 720, 25.0))),
            [(-2, 96, 6), (-2, 144, 3), (-2, 96, 3)]
        );
        let fps_forced = EncodeConfig {
            fps: Some(12),
            ..auto()
        };
        assert_eq!(
            list(&fallback(&fps_forced, (1280, 720, 25.0))),
            [(-2, 96, 12)]
        );
        let size_forced = EncodeConfig {
            height: Some(180),
            ..auto()
        };
        assert_eq!(
            list(&fallback(&size_forced, (1280, 720, 25.0))),
            [(-2, 180, 3)]
        );
    }
}
