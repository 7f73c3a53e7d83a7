//! `--poster auto|none|FILE` and `--poster-bytes N` (publish, encode, estimate): which poster goes
//! into the header (tag 1), and what it costs, measured by the same estimate code run with and
//! without it.
//!
//! `auto`: made from the input when it is a video to encode or published as it is (MP4, WebM);
//! for a CVPM stream, the poster `bitflix encode` wrote beside it ([`beside`]), if any; none for
//! other files, and none with the `op-return-80` carrier, whose header holds only 80 bytes.

use anyhow::{bail, Context};
use bitcoin::FeeRate;
use clap::Args;
use cvp::{Carrier, ContentInfo};
use media::poster::{Poster, PosterConfig};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use wallet::estimate::{estimate, Estimate};
use wallet::Layout;

/// What `--poster` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PosterArg {
    /// Made from the input, or found beside it (see the module docs).
    Auto,
    /// No poster.
    None,
    /// This image file (WebP, AVIF or JPEG; one over the budget is re-encoded to WebP).
    File(PathBuf),
}

fn parse_poster(s: &str) -> Result<PosterArg, String> {
    Ok(match s {
        "auto" => PosterArg::Auto,
        "none" => PosterArg::None,
        "" => return Err("give auto, none or an image FILE".into()),
        f => PosterArg::File(PathBuf::from(f)),
    })
}

/// The poster flags.
#[derive(Debug, Clone, Args)]
pub struct PosterArgs {
    /// The header's poster: auto (made from a video input; for a CVPM stream the one `bitflix
    /// encode` wrote beside it), none, or an image FILE (WebP, AVIF or JPEG).
    #[arg(long, value_parser = parse_poster, default_value = "auto", value_name = "auto|none|FILE")]
    pub poster: PosterArg,
    /// The poster's byte budget: a made poster fits it, a larger FILE is re-encoded to WebP.
    #[arg(long, default_value_t = media::poster::DEFAULT_BUDGET)]
    pub poster_bytes: usize,
}

impl Default for PosterArgs {
    /// `auto` within the default budget.
    fn default() -> Self {
        PosterArgs {
            poster: PosterArg::Auto,
            poster_bytes: media::poster::DEFAULT_BUDGET,
        }
    }
}

impl PosterArgs {
    fn config(&self, aspect: Option<(u32, u32)>) -> PosterConfig {
        PosterConfig {
            budget: self.poster_bytes,
            aspect,
            ..Default::default()
        }
    }
}

/// The poster file `bitflix encode` writes beside the stream `film.cvpm`: `film.poster.webp`.
pub fn beside(stream: &Path) -> PathBuf {
    stream.with_extension("poster.webp")
}

/// The poster chosen for a publish, and where it came from.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The image, when there is one.
    pub poster: Option<Poster>,
    /// Where it came from, or why there is none.
    pub source: String,
}

impl Chosen {
    pub(crate) fn none(why: &str) -> Chosen {
        Chosen {
            poster: None,
            source: format!("none ({why})"),
        }
    }

    /// The same poster for `carrier`: none for `op-return-80` (estimates show every carrier, and
    /// that one cannot carry it).
    pub fn for_carrier(&self, carrier: Carrier) -> Chosen {
        if carrier == Carrier::OpReturn80 && self.poster.is_some() {
            return Chosen::none("the op-return-80 header holds 80 bytes");
        }
        self.clone()
    }

    /// The bytes for the header.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        self.poster.as_ref().map(|p| p.bytes.clone())
    }
}

fn is_cvpm(input: &Path, media_type: &str) -> bool {
    media_type.starts_with("video/x-cvpm") || input.extension().is_some_and(|e| e == "cvpm")
}

/// The poster `args` ask for, for the file `input` of type `media_type` published with `carrier`.
/// `encoded_aspect`: the film's size as it will be encoded, when forced.
pub fn choose(
    args: &PosterArgs,
    input: &Path,
    media_type: &str,
    carrier: Carrier,
    encoded_aspect: Option<(u32, u32)>,
) -> anyhow::Result<Chosen> {
    let cfg = args.config(encoded_aspect);
    cfg.check()?;
    match &args.poster {
        PosterArg::None => Ok(Chosen::none("--poster none")),
        PosterArg::File(f) => {
            if carrier == Carrier::OpReturn80 {
                bail!("a poster does not fit the op-return-80 carrier, whose header holds 80 bytes: use another carrier or --poster none");
            }
            from_file(f, &cfg)
        }
        PosterArg::Auto if carrier == Carrier::OpReturn80 => {
            Ok(Chosen::none("the op-return-80 header holds 80 bytes"))
        }
        PosterArg::Auto if is_cvpm(input, media_type) => {
            let b = beside(input);
            if b.exists() {
                from_file(&b, &cfg)
            } else {
                Ok(Chosen::none(&format!(
                    "an encoded stream, and no {} beside it",
                    b.display()
                )))
            }
        }
        PosterArg::Auto if media_type.starts_with("video/") => {
            match media::poster::make(input, &cfg) {
                Ok(p) => Ok(Chosen {
                    source: format!("made from {}", input.display()),
                    poster: Some(p),
                }),
                Err(media::poster::PosterError::NoFrame(_)) => {
                    Ok(Chosen::none(&format!("{} has no video", input.display())))
                }
                Err(e) => Err(anyhow::Error::new(e).context(format!(
                    "making a poster from {} (or give --poster none or FILE)",
                    input.display()
                ))),
            }
        }
        PosterArg::Auto => Ok(Chosen::none(&format!("{media_type} is not a video"))),
    }
}

fn from_file(f: &Path, cfg: &PosterConfig) -> anyhow::Result<Chosen> {
    let bytes = std::fs::read(f).with_context(|| format!("reading the poster {}", f.display()))?;
    let p =
        media::poster::fit(&bytes, cfg).with_context(|| format!("the poster {}", f.display()))?;
    let source = match p.reencoded_from {
        Some(n) => format!(
            "{}, {n} bytes: over the budget of {} bytes, re-encoded to WebP",
            f.display(),
            cfg.budget
        ),
        None => f.display().to_string(),
    };
    Ok(Chosen {
        poster: Some(p),
        source,
    })
}

/// What the poster adds to a publish.
#[derive(Debug, Clone, Serialize)]
pub struct PosterOut {
    /// Where it came from, or why there is none.
    pub source: String,
    /// Its bytes (0: none).
    pub bytes: usize,
    /// Its media type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_type: Option<&'static str>,
    /// Its size in pixels, when made here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<(u32, u32)>,
    /// Where the poster was written (`bitflix encode`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<PathBuf>,
    /// Virtual bytes it adds: the estimate with it minus the estimate without.
    pub vbytes: u64,
    /// Fees it adds, sat, at the same fee rate with the same carrier.
    pub fee_sat: u64,
}

impl fmt::Display for PosterOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bytes == 0 {
            write!(f, "poster: {}", self.source)?;
        } else {
            write!(
                f,
                "poster: {} bytes {}",
                self.bytes,
                self.image_type.unwrap_or("image")
            )?;
            if let Some((w, h)) = self.size {
                write!(f, " {w}x{h}")?;
            }
            write!(
                f,
                " ({}), costs {} vB, {} sat",
                self.source, self.vbytes, self.fee_sat
            )?;
        }
        if let Some(p) = &self.written {
            write!(f, "; written to {}", p.display())?;
        }
        Ok(())
    }
}

/// The estimate of publishing `len` bytes described by `info` (its poster included) and what the
/// poster adds: the same estimate without the poster, subtracted.
pub fn cost(
    len: u64,
    info: &ContentInfo,
    chosen: &Chosen,
    carrier: Carrier,
    feerate: FeeRate,
    layout: Layout,
) -> anyhow::Result<(Estimate, PosterOut)> {
    let with = estimate(len, info, carrier, feerate, layout)?;
    let without = match info.poster {
        // Nothing to subtract (and a long film's estimate is not run twice for nothing).
        None => with.clone(),
        Some(_) => {
            let bare = ContentInfo {
                poster: None,
                ..info.clone()
            };
            estimate(len, &bare, carrier, feerate, layout)?
        }
    };
    let p = chosen.poster.as_ref();
    let out = PosterOut {
        source: chosen.source.clone(),
        bytes: info.poster.as_ref().map_or(0, Vec::len),
        image_type: p.map(|p| p.image_type.mime()),
        size: p.and_then(|p| p.size),
        written: None,
        vbytes: with.vbytes.saturating_sub(without.vbytes),
        fee_sat: with.fee_sat.saturating_sub(without.fee_sat),
    };
    Ok((with, out))
}

/// For estimates of a stream that is not a file yet (`--duration`, `--table`): `auto` counts a
/// poster as large as the budget, the most a made one takes.
pub fn placeholder(args: &PosterArgs) -> anyhow::Result<Chosen> {
    match &args.poster {
        PosterArg::Auto => {
            args.config(None).check()?;
            Ok(Chosen {
                poster: Some(Poster {
                    bytes: vec![0; args.poster_bytes],
                    image_type: media::poster::ImageType::Webp,
                    size: None,
                    quality: None,
                    at_seconds: None,
                    reencoded_from: None,
                }),
                source: format!("a poster of the budget, {} bytes", args.poster_bytes),
            })
        }
        _ => choose(
            args,
            Path::new("stream"),
            "video/x-cvpm",
            Carrier::Envelope,
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_and_the_file_beside_a_stream() {
        assert_eq!(parse_poster("auto"), Ok(PosterArg::Auto));
        assert_eq!(parse_poster("none"), Ok(PosterArg::None));
        assert_eq!(
            parse_poster("p.jpg"),
            Ok(PosterArg::File(PathBuf::from("p.jpg")))
        );
        assert!(parse_poster("").is_err());
        assert_eq!(
            beside(Path::new("out/film.cvpm")),
            PathBuf::from("out/film.poster.webp")
        );
        let args = PosterArgs::default();
        let none = choose(
            &args,
            Path::new("notes.txt"),
            "text/plain",
            Carrier::Envelope,
            None,
        )
        .unwrap();
        assert!(none.poster.is_none() && none.source.contains("not a video"));
        let cvpm = choose(
            &args,
            Path::new("/nonexistent/f.cvpm"),
            "video/x-cvpm",
            Carrier::OpReturn,
            None,
        )
        .unwrap();
        assert!(cvpm.poster.is_none() && cvpm.source.contains("f.poster.webp"));
        let placeholder = placeholder(&args).unwrap();
        assert_eq!(placeholder.bytes().map(|b| b.len()), Some(3000));
        assert!(placeholder
            .for_carrier(Carrier::OpReturn80)
            .poster
            .is_none());
        assert!(placeholder.for_carrier(Carrier::Envelope).poster.is_some());
    }
}
