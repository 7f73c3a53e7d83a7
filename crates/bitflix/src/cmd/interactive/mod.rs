//! `bitflix publish --interactive film.toml` and `bitflix estimate --interactive film.toml`: an
//! interactive film (docs/cvp.md, "Interactive films") from a manifest of clips and decisions
//! (`manifest.rs`, checked up front with the line of every flaw; `graph.rs`, reachability and
//! cycles), encoded to one budget and joined into one stream (`film.rs`), published with its clip
//! table and branch points as lineage records (`publish.rs`), or estimated without encoding
//! (`estimate.rs`).

#[cfg(feature = "devnet")]
pub mod demo;
mod estimate;
pub mod film;
mod graph;
pub mod manifest;
#[cfg(test)]
mod manifest_tests;
mod publish;

pub use estimate::{estimate, InteractiveEstimate};
pub use publish::{publish, InteractiveOut, Request};

use bitcoin::FeeRate;
use clap::Args;
use cvp::{Carrier, ContentInfo};
use std::path::PathBuf;

/// The default rate of the whole film, kbit/s (as `bitflix encode`).
pub const DEFAULT_KBPS: f64 = 20.0;

/// `--interactive MANIFEST` and how its clips are encoded.
#[derive(Debug, Clone, Args)]
pub struct FilmArgs {
    /// Publish an interactive film: the TOML manifest of its clips (each cut from any input
    /// ffmpeg reads) and the decisions between them, encoded here into one stream.
    ///
    /// `title = "..."` and `start = "clip"` (both optional); `[[clip]]` tables with `name`,
    /// `input` (relative to the manifest), and optionally `from` and `duration` (seconds), `next`
    /// (a plain continuation) and `loop = true` (may be part of a cycle without exit);
    /// `[[decision]]` tables with `after` (a clip), `prompt`, `timeout` (1 to 60 s, default 10),
    /// `default` (an option's label; default the first) and `options = [ { label = "...", next =
    /// "clip" }, ... ]` (2 to 8). A clip with neither `next` nor a decision ends the film. Every
    /// flaw is reported with its line before anything is encoded or paid.
    #[arg(long, value_name = "MANIFEST", conflicts_with_all = ["file", "media_type"])]
    pub interactive: Option<PathBuf>,
    /// The whole film's kbit/s (all clips together; each clip gets its share by duration).
    #[arg(long, requires = "interactive")]
    pub kbps: Option<f64>,
    /// The whole film's bytes instead.
    #[arg(long, requires = "interactive", conflicts_with_all = ["kbps", "budget_sats"])]
    pub budget_bytes: Option<u64>,
    /// Spend at most this many sats in fees: the largest film whose publish (its clip table and
    /// branch points included) costs no more.
    #[arg(long, requires = "interactive", conflicts_with = "kbps")]
    pub budget_sats: Option<u64>,
    /// Force every clip's width (without --width, --height and --fps they are chosen by
    /// measurement on the longest clip, then forced for all).
    #[arg(long, requires = "interactive")]
    pub width: Option<u32>,
    /// Force every clip's height.
    #[arg(long, requires = "interactive")]
    pub height: Option<u32>,
    /// Force every clip's frame rate.
    #[arg(long, requires = "interactive")]
    pub fps: Option<u32>,
    /// libaom speed, 0 (best) to 8 (fastest).
    #[arg(long, default_value_t = 4)]
    pub cpu_used: u8,
    /// Opus kbit/s.
    #[arg(long, default_value_t = 8.0)]
    pub audio_kbps: f64,
    /// No audio.
    #[arg(long)]
    pub no_audio: bool,
    /// At most SECONDS between keyframes within a clip (every clip starts on one).
    #[arg(long, value_name = "SECONDS", default_value_t = media::encode::DEFAULT_KEYFRAME_SECONDS)]
    pub keyframe_every: f64,
}

impl FilmArgs {
    /// The encoder's settings for every clip.
    pub fn encoding(&self) -> film::Encoding {
        film::Encoding {
            width: self.width,
            height: self.height,
            fps: self.fps,
            cpu_used: self.cpu_used,
            audio_kbps: (!self.no_audio).then_some(self.audio_kbps),
            keyframe_seconds: self.keyframe_every,
        }
    }
}

/// What the film's whole budget is given as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// kbit/s over the clips' seconds.
    Kbps(f64),
    /// Bytes.
    Bytes(u64),
    /// Fees in sats.
    Sats(u64),
}

impl Budget {
    /// From the flags (`--kbps` by default, at 20).
    pub fn of(kbps: Option<f64>, bytes: Option<u64>, sats: Option<u64>) -> anyhow::Result<Budget> {
        Ok(match (bytes, sats) {
            (Some(b), _) => Budget::Bytes(b),
            (None, Some(s)) => Budget::Sats(s),
            (None, None) => {
                let k = kbps.unwrap_or(DEFAULT_KBPS);
                if !(1.0..=20_000.0).contains(&k) {
                    anyhow::bail!("--kbps {k} is outside 1..=20000");
                }
                Budget::Kbps(k)
            }
        })
    }

    /// The film's bytes for `seconds` of clips published as `info` (poster and records) with
    /// `carrier` at `feerate`.
    pub fn bytes(
        self,
        seconds: f64,
        info: &ContentInfo,
        carrier: Carrier,
        feerate: FeeRate,
    ) -> anyhow::Result<u64> {
        Ok(match self {
            Budget::Kbps(k) => (k * 1000.0 / 8.0 * seconds) as u64,
            Budget::Bytes(b) => b,
            Budget::Sats(s) => super::encode::bytes_for_sats(s, info, carrier, feerate)?,
        })
    }
}

/// The content description of an interactive film (a CVPM stream, as a film).
pub fn info(
    title: &str,
    duration_ms: Option<u64>,
    poster: Option<Vec<u8>>,
    records: Vec<cvp::Record>,
) -> ContentInfo {
    ContentInfo {
        title: Some(title.to_string()),
        media_type: "video/x-cvpm".into(),
        duration_ms,
        poster,
        records,
    }
}
