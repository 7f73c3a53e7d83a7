//! Posters: the small still a CVP header carries (tag 1, docs/cvp.md) so a catalog shows each film
//! before any of it arrives.
//!
//! [`make`] picks a representative frame of a video (of a few candidates spread over its first
//! part, the one whose luma varies most: never a black or fade frame when the film has anything
//! else), scales it to at most [`PosterConfig::max_width`] pixels wide keeping the aspect ratio of
//! the film as encoded, and searches the WebP quality (libwebp through ffmpeg) for the best picture
//! within the byte budget, stepping the width down when the quality would fall too low.
//! [`check`] and [`fit`] validate a poster file given by a publisher. [`sniff`] names an image's
//! type by its magic bytes alone, the one table the gateway also serves posters by.

use crate::ffmpeg::{probe, run, utf8, MediaError};
use serde::Serialize;
use std::path::Path;

/// The default byte budget of a poster.
pub const DEFAULT_BUDGET: usize = 3_000;
/// The smallest and largest budgets accepted.
pub const BUDGET_RANGE: std::ops::RangeInclusive<usize> = 200..=100_000;
/// The default largest width, in pixels.
pub const DEFAULT_MAX_WIDTH: u32 = 320;
/// Below this WebP quality a narrower picture looks better in the same bytes.
const MIN_QUALITY: u8 = 20;
/// Widths tried, widest first (capped by the configured and the source's width).
const WIDTHS: [u32; 5] = [320, 240, 160, 120, 96];
/// Candidate frames examined.
const CANDIDATES: u32 = 9;

/// The image types a poster may have (docs/cvp.md, header tag 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageType {
    /// WebP: `RIFF` size `WEBP`.
    Webp,
    /// AVIF: an ISO-BMFF `ftyp` box of brand `avif` (still) or `avis` (sequence).
    Avif,
    /// JPEG: `FF D8 FF`.
    Jpeg,
}

impl ImageType {
    /// The media type to serve it with.
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Webp => "image/webp",
            ImageType::Avif => "image/avif",
            ImageType::Jpeg => "image/jpeg",
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Webp => "webp",
            ImageType::Avif => "avif",
            ImageType::Jpeg => "jpg",
        }
    }
}

/// The type of an image from its magic bytes only; `None` for anything else.
pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
    match bytes {
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(ImageType::Webp),
        [_, _, _, _, b'f', b't', b'y', b'p', b'a', b'v', b'i', b'f' | b's', ..] => {
            Some(ImageType::Avif)
        }
        [0xff, 0xd8, 0xff, ..] => Some(ImageType::Jpeg),
        _ => None,
    }
}

/// Why a poster cannot be made or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PosterError {
    /// The bytes are not a WebP, AVIF or JPEG image.
    #[error("not a poster image: starts with {start}; a poster must be WebP, AVIF or JPEG")]
    NotAnImage {
        /// The first bytes, in hex.
        start: String,
    },
    /// A WebP whose RIFF length does not match the file.
    #[error("a damaged WebP: its RIFF header says {said} bytes, the file has {len}")]
    BadRiffLength {
        /// Length the RIFF header claims (with its 8 bytes).
        said: u64,
        /// The file's length.
        len: usize,
    },
    /// Over the byte budget (and not re-encoded).
    #[error("the poster is {len} bytes, over the budget of {budget} bytes")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The budget.
        budget: usize,
    },
    /// Even the smallest, lowest-quality WebP does not fit.
    #[error("no poster fits {budget} bytes: the smallest ({width} px wide, quality 0) is {smallest} bytes")]
    CannotFit {
        /// The budget.
        budget: usize,
        /// The smallest encoding made.
        smallest: usize,
        /// Its width.
        width: u32,
    },
    /// The budget or width is out of range.
    #[error("{field} is {value}; the valid range is {range}")]
    Config {
        /// The option.
        field: &'static str,
        /// Its value.
        value: u64,
        /// What is allowed.
        range: &'static str,
    },
    /// The input has no picture to take.
    #[error("{0} has no video frame to make a poster from")]
    NoFrame(String),
    /// ffmpeg failed or is missing.
    #[error(transparent)]
    Media(#[from] MediaError),
}

/// How to make a poster.
#[derive(Debug, Clone, Copy)]
pub struct PosterConfig {
    /// At most this many bytes.
    pub budget: usize,
    /// At most this many pixels wide (never wider than the source).
    pub max_width: u32,
    /// The film's width and height as encoded, whose ratio the poster keeps; `None`: the source's.
    pub aspect: Option<(u32, u32)>,
}

impl Default for PosterConfig {
    fn default() -> Self {
        PosterConfig {
            budget: DEFAULT_BUDGET,
            max_width: DEFAULT_MAX_WIDTH,
            aspect: None,
        }
    }
}

impl PosterConfig {
    /// Check the values; errors name the valid range.
    pub fn check(&self) -> Result<(), PosterError> {
        if !BUDGET_RANGE.contains(&self.budget) {
            return Err(PosterError::Config {
                field: "poster budget (bytes)",
                value: self.budget as u64,
                range: "200..=100000",
            });
        }
        if !(16..=1920).contains(&self.max_width) {
            return Err(PosterError::Config {
                field: "poster width",
                value: u64::from(self.max_width),
                range: "16..=1920",
            });
        }
        Ok(())
    }
}

/// A poster ready for a header.
#[derive(Debug, Clone, Serialize)]
pub struct Poster {
    /// The image.
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// Its type.
    pub image_type: ImageType,
    /// Size in pixels, when this code made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<(u32, u32)>,
    /// The WebP quality chosen, when this code made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    /// Where in the film the frame was taken, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_seconds: Option<f64>,
    /// The length of the file given, when it was over the budget and re-encoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reencoded_from: Option<usize>,
}

/// Accept the bytes of a poster file as they are: a WebP, AVIF or JPEG (by magic bytes; a WebP's
/// RIFF length must match) of at most `budget` bytes.
pub fn check(bytes: &[u8], budget: usize) -> Result<ImageType, PosterError> {
    let Some(kind) = sniff(bytes) else {
        let start: String = bytes.iter().take(12).map(|b| format!("{b:02x}")).collect();
        return Err(PosterError::NotAnImage {
            start: if start.is_empty() {
                "nothing (an empty file)".into()
            } else {
                start
            },
        });
    };
    if kind == ImageType::Webp {
        let said = u64::from(u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]])) + 8;
        if said != bytes.len() as u64 {
            return Err(PosterError::BadRiffLength {
                said,
                len: bytes.len(),
            });
        }
    }
    if bytes.len() > budget {
        return Err(PosterError::TooLarge {
            len: bytes.len(),
            budget,
        });
    }
    Ok(kind)
}

/// A poster file, checked by [`check`]; one over the budget is decoded by ffmpeg and re-encoded
/// to WebP within it (`reencoded_from` says so).
pub fn fit(bytes: &[u8], cfg: &PosterConfig) -> Result<Poster, PosterError> {
    cfg.check()?;
    match check(bytes, cfg.budget) {
        Ok(kind) => Ok(Poster {
            bytes: bytes.to_vec(),
            image_type: kind,
            size: None,
            quality: None,
            at_seconds: None,
            reencoded_from: None,
        }),
        Err(PosterError::TooLarge { len, .. }) => {
            let kind = sniff(bytes).unwrap_or(ImageType::Jpeg);
            let dir = tempfile::tempdir().map_err(MediaError::from)?;
            let file = dir.path().join(format!("given.{}", kind.extension()));
            std::fs::write(&file, bytes).map_err(MediaError::from)?;
            let mut p = make(&file, cfg)?;
            p.at_seconds = None;
            p.reencoded_from = Some(len);
            Ok(p)
        }
        Err(e) => Err(e),
    }
}

/// Make a poster from the video (or still image) at `video`.
pub fn make(video: &Path, cfg: &PosterConfig) -> Result<Poster, PosterError> {
    cfg.check()?;
    let p = probe(video)?;
    let no_frame = || PosterError::NoFrame(video.display().to_string());
    let (sw, sh, _) = p
        .video
        .filter(|v| v.0 > 0 && v.1 > 0)
        .ok_or_else(no_frame)?;
    let (aw, ah) = cfg
        .aspect
        .filter(|a| a.0 > 0 && a.1 > 0)
        .unwrap_or((sw, sh));
    let width = even(cfg.max_width.min(sw).max(16));
    let height = even((f64::from(width) * f64::from(ah) / f64::from(aw)).round() as u32);
    let frame_len = (width * height * 3 / 2) as usize;
    let mut best: Option<(f64, f64, Vec<u8>)> = None;
    for t in candidate_times(p.duration) {
        let raw = frame_at(video, t, width, height)?;
        if raw.len() != frame_len {
            continue; // past the end, or no frame there
        }
        let spread = luma_std_dev(&raw[..(width * height) as usize]);
        if best.as_ref().is_none_or(|b| spread > b.0) {
            best = Some((spread, t, raw));
        }
    }
    let (_, at, raw) = best.ok_or_else(no_frame)?;
    let dir = tempfile::tempdir().map_err(MediaError::from)?;
    let frame = dir.path().join("frame.yuv");
    std::fs::write(&frame, &raw).map_err(MediaError::from)?;
    let mut fallback = None;
    let mut smallest = None;
    let widths = std::iter::once(width).chain(WIDTHS.into_iter().filter(|w| *w < width));
    for w in widths {
        let h = even((f64::from(w) * f64::from(height) / f64::from(width)).round() as u32);
        let enc = |q: u8| webp(&frame, (width, height), (w, h), q);
        let worst = enc(0)?;
        if worst.len() > cfg.budget {
            smallest = Some((worst.len(), w));
            continue;
        }
        // The largest quality that fits (sizes grow with the quality).
        let (mut lo, mut hi, mut fits) = (0u8, 101u8, worst);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let b = enc(mid)?;
            if b.len() <= cfg.budget {
                (lo, fits) = (mid, b);
            } else {
                hi = mid;
            }
        }
        let poster = Poster {
            bytes: fits,
            image_type: ImageType::Webp,
            size: Some((w, h)),
            quality: Some(lo),
            at_seconds: Some(at),
            reencoded_from: None,
        };
        if lo >= MIN_QUALITY {
            return Ok(poster);
        }
        fallback = Some(poster);
    }
    fallback.ok_or_else(|| {
        let (smallest, width) = smallest.unwrap_or((0, width));
        PosterError::CannotFit {
            budget: cfg.budget,
            smallest,
            width,
        }
    })
}

fn even(x: u32) -> u32 {
    (x & !1).max(2)
}

/// Where the candidate frames are: spread over the first half of a film (the whole of a clip of
/// 30 s or less), away from its very start; a still image (or an unknown duration) has one, at 0.
fn candidate_times(duration: f64) -> Vec<f64> {
    if !(duration.is_finite() && duration >= 0.5) {
        return vec![0.0];
    }
    let span = if duration > 30.0 {
        duration / 2.0
    } else {
        duration
    };
    (0..CANDIDATES)
        .map(|i| span * (f64::from(i) + 0.5) / f64::from(CANDIDATES))
        .collect()
}

/// One frame at `t` seconds, scaled, as raw 8-bit 4:2:0 (empty when there is none).
fn frame_at(video: &Path, t: f64, w: u32, h: u32) -> Result<Vec<u8>, MediaError> {
    let scale = format!("scale={w}:{h}:flags=lanczos,setsar=1,format=yuv420p");
    // No seek at 0: ffmpeg seeking a still image, even to 0, yields no frame.
    let t = format!("{t:.3}");
    let mut args = vec!["-v", "error"];
    if t != "0.000" {
        args.extend(["-ss", &t]);
    }
    args.extend([
        "-i",
        utf8(video)?,
        "-frames:v",
        "1",
        "-an",
        "-vf",
        &scale,
        "-f",
        "rawvideo",
        "-",
    ]);
    run("ffmpeg", &args)
}

/// The raw frame at `frame` (size `from`) scaled to `to`, as WebP at quality `q`.
fn webp(frame: &Path, from: (u32, u32), to: (u32, u32), q: u8) -> Result<Vec<u8>, MediaError> {
    let size = format!("{}x{}", from.0, from.1);
    let scale = format!("scale={}:{}:flags=lanczos", to.0, to.1);
    let q = q.to_string();
    let args = [
        "-v",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        "-s",
        &size,
        "-i",
        utf8(frame)?,
        "-vf",
        &scale,
        "-c:v",
        "libwebp",
        "-quality",
        &q,
        "-compression_level",
        "6",
        "-f",
        "webp",
        "-",
    ];
    let out = run("ffmpeg", &args)?;
    match sniff(&out) {
        Some(ImageType::Webp) => Ok(out),
        _ => Err(MediaError::Tool {
            tool: "ffmpeg",
            message: "libwebp wrote no WebP image (is ffmpeg built with libwebp?)".into(),
        }),
    }
}

/// The standard deviation of 8-bit samples.
pub fn luma_std_dev(luma: &[u8]) -> f64 {
    if luma.is_empty() {
        return 0.0;
    }
    let n = luma.len() as f64;
    let mean = luma.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = luma
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    var.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webp_of(len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[..4].copy_from_slice(b"RIFF");
        b[4..8].copy_from_slice(&((len - 8) as u32).to_le_bytes());
        b[8..12].copy_from_slice(b"WEBP");
        b
    }

    #[test]
    fn sniff_knows_the_three_types_by_magic_only() {
        assert_eq!(sniff(&webp_of(30)), Some(ImageType::Webp));
        assert_eq!(sniff(b"\0\0\0\x1cftypavif\0\0\0\0"), Some(ImageType::Avif));
        assert_eq!(sniff(b"\0\0\0\x20ftypavis"), Some(ImageType::Avif));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some(ImageType::Jpeg));
        assert_eq!(ImageType::Webp.mime(), "image/webp");
        assert_eq!(ImageType::Avif.mime(), "image/avif");
        assert_eq!(ImageType::Jpeg.mime(), "image/jpeg");
        for hostile in [
            &b""[..],
            b"RIFF",
            b"RIFF\0\0\0\0WEB",
            b"RIFF\0\0\0\0WAVEfmt ",
            b"\0\0\0\x1cftypheic",
            b"\0\0\0\x1cftypavi",
            b"\x89PNG\r\n\x1a\n\0\0\0\0",
            b"GIF89a",
            b"<svg xmlns='http://www.w3.org/2000/svg'>",
            b"<html><script>",
            &[0xff, 0xd8],
            &[0xff, 0xd9, 0xff],
        ] {
            assert_eq!(sniff(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn check_refuses_wrong_magic_damaged_webp_and_oversize() {
        assert_eq!(check(&webp_of(100), 100).unwrap(), ImageType::Webp);
        assert!(matches!(
            check(&webp_of(101), 100),
            Err(PosterError::TooLarge {
                len: 101,
                budget: 100
            })
        ));
        let mut lying = webp_of(100);
        lying[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = check(&lying, 1000).unwrap_err();
        assert!(
            matches!(e, PosterError::BadRiffLength { len: 100, .. }),
            "{e}"
        );
        let e = check(b"<svg onload=alert(1)>", 1000).unwrap_err();
        assert!(
            e.to_string().contains("3c737667") && e.to_string().contains("WebP, AVIF or JPEG"),
            "{e}"
        );
        assert!(check(b"", 1000)
            .unwrap_err()
            .to_string()
            .contains("empty file"));
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0];
        jpeg.resize(500, 7);
        assert_eq!(check(&jpeg, 500).unwrap(), ImageType::Jpeg);
    }

    #[test]
    fn fit_keeps_a_small_file_and_refuses_bad_budgets() {
        let p = fit(&webp_of(64), &PosterConfig::default()).unwrap();
        assert_eq!((p.bytes.len(), p.image_type), (64, ImageType::Webp));
        assert!(p.reencoded_from.is_none());
        let tiny = PosterConfig {
            budget: 10,
            ..Default::default()
        };
        assert!(matches!(
            fit(&webp_of(64), &tiny),
            Err(PosterError::Config { .. })
        ));
        assert!(matches!(
            fit(b"GIF89a....", &PosterConfig::default()),
            Err(PosterError::NotAnImage { .. })
        ));
    }

    #[test]
    fn candidates_cover_the_first_part() {
        assert_eq!(candidate_times(0.0), vec![0.0]);
        assert_eq!(candidate_times(f64::NAN), vec![0.0]);
        assert_eq!(candidate_times(0.04), vec![0.0], "a still image");
        let short = candidate_times(9.0);
        assert_eq!(short.len(), CANDIDATES as usize);
        assert!(short[0] > 0.0 && *short.last().unwrap() < 9.0);
        assert!(*candidate_times(7200.0).last().unwrap() < 3600.0);
        assert_eq!(luma_std_dev(&[50; 100]), 0.0);
        assert_eq!(luma_std_dev(&[0, 200]), 100.0);
    }
}
