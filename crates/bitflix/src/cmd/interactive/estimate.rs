//! `bitflix estimate --interactive film.toml`: what the film costs per carrier, without encoding.
//! The encoder lands each clip within 5 % under its share of the budget, so a stream of the
//! budget's size is the most the publish costs; the clip table and branch points are counted
//! exactly (the clip starts estimated from the durations: a byte either way).

use super::film::{self, BranchOut};
use super::manifest::Manifest;
use super::Budget;
use crate::cmd::estimate::Row;
use crate::poster::PosterArgs;
use bitcoin::FeeRate;
use cvp::Carrier;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use wallet::Layout;

/// One clip as the estimate sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ClipPlan {
    /// Its number in the stream.
    pub number: u32,
    /// Its name.
    pub name: String,
    /// Seconds from its input.
    pub seconds: f64,
}

/// What the estimate of an interactive film adds.
#[derive(Debug, Clone, Serialize)]
pub struct InteractiveEstimate {
    /// The manifest.
    pub manifest: PathBuf,
    /// Seconds of all clips.
    pub seconds: f64,
    /// The clips, in stream order.
    pub clips: Vec<ClipPlan>,
    /// The branch points.
    pub branches: Vec<BranchOut>,
    /// Carriers left out, and why (a record that does not fit).
    pub refused: Vec<String>,
    /// How the figures were made.
    pub note: &'static str,
}

const NOTE: &str = "nothing was encoded: each carrier's row counts a stream of the film's byte \
budget, which the encoder lands within 5 % under (so the publish costs at most this), with the \
clip table and branch points as the publish writes them";

impl fmt::Display for InteractiveEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interactive film {}: {} clips, {:.1} s, {} branch points",
            self.manifest.display(),
            self.clips.len(),
            self.seconds,
            self.branches.len()
        )?;
        for c in &self.clips {
            write!(
                f,
                "\n  clip {} \"{}\": {:.1} s",
                c.number, c.name, c.seconds
            )?;
        }
        for r in &self.refused {
            write!(f, "\n  left out: {r}")?;
        }
        write!(f, "\n{}", self.note)
    }
}

/// The rows (one per carrier of `carriers` whose units hold the film's records) and the film.
pub fn estimate(
    manifest: &Path,
    budget: Budget,
    carriers: &[Carrier],
    feerate: FeeRate,
    layout: Layout,
    poster: &PosterArgs,
) -> anyhow::Result<(Vec<Row>, InteractiveEstimate)> {
    let m = Manifest::load(manifest)?;
    let timing = film::timing(&m)?;
    let placeholder = crate::poster::placeholder(poster)?;
    let title = m.title.clone().unwrap_or_else(|| "untitled".into());
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for &c in carriers {
        let records = match film::records(&m, &timing.estimated_starts(), c.max_unit(), c) {
            Ok(r) => r,
            Err(e) => {
                refused.push(format!("{c}: {e}"));
                continue;
            }
        };
        let chosen = placeholder.for_carrier(c);
        let duration = (timing.total() * 1000.0) as u64;
        let info = super::info(&title, Some(duration), chosen.bytes(), records);
        let len = budget.bytes(timing.total(), &info, c, feerate)?;
        let (e, poster) = crate::poster::cost(len, &info, &chosen, c, feerate, layout)?;
        rows.push(Row {
            what: format!("{} (interactive)", manifest.display()),
            fee_btc: e.fee_sat as f64 / 1e8,
            estimate: e,
            poster,
        });
    }
    if rows.is_empty() {
        anyhow::bail!(
            "no carrier holds this film's records: {}",
            refused.join("; ")
        );
    }
    let film = InteractiveEstimate {
        manifest: m.path.clone(),
        seconds: timing.total(),
        clips: m
            .clips
            .iter()
            .zip(&timing.seconds)
            .zip(0..)
            .map(|((c, &seconds), number)| ClipPlan {
                number,
                name: c.name.clone(),
                seconds,
            })
            .collect(),
        branches: film::branches_out(&m),
        refused,
        note: NOTE,
    };
    Ok((rows, film))
}
