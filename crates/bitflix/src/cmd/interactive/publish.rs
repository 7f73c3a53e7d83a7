//! Publishing an interactive film: the manifest checked (and its records against the carrier)
//! before anything is encoded or paid, the clips encoded to the budget and joined, then the
//! publish of a film (same funding, rails, journal and resume) with the clip table and branch
//! points in the lineage.

use super::film::{self, BranchOut, ClipOut};
use super::manifest::Manifest;
use super::{Budget, FilmArgs};
use crate::cmd::publish::{Chain, Content, FileToPublish, Paying, PublishOut};
use crate::poster::{PosterArg, PosterArgs};
use anyhow::Context;
use bitcoin::FeeRate;
use cvp::Carrier;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use wallet::Layout;

/// An interactive publish, as asked.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The manifest.
    pub manifest: &'a Path,
    /// `--title` (over the manifest's).
    pub title: Option<&'a str>,
    /// Carrier.
    pub carrier: Carrier,
    /// Layout.
    pub layout: Layout,
    /// Fee rate.
    pub feerate: FeeRate,
    /// The poster flags.
    pub poster: &'a PosterArgs,
    /// The encoder's flags and the budget.
    pub film: &'a FilmArgs,
    /// `--psbt OUT`.
    pub psbt: Option<&'a Path>,
    /// Network and rails.
    pub paying: &'a Paying<'a>,
}

/// What an interactive publish adds to the report.
#[derive(Debug, Clone, Serialize)]
pub struct InteractiveOut {
    /// The manifest.
    pub manifest: PathBuf,
    /// The joined stream, kept in the data directory.
    pub stream: PathBuf,
    /// Its bytes.
    pub bytes: u64,
    /// Its duration, ms.
    pub duration_ms: u64,
    /// Every clip's size and frame rate.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Frame rate.
    pub fps: u32,
    /// The byte budget the clips shared.
    pub budget_bytes: u64,
    /// Wall-clock seconds of cutting and encoding the clips.
    pub encode_seconds: f64,
    /// The clips, in stream order.
    pub clips: Vec<ClipOut>,
    /// The branch points.
    pub branches: Vec<BranchOut>,
    /// Lineage records (clip table and branch points), each a unit of its own.
    pub records: usize,
    /// What those records add to the fees, sat (the estimate with them minus without).
    pub records_fee_sat: u64,
}

impl fmt::Display for InteractiveOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interactive film {}: {} bytes, {:.1} s, {}x{} at {} fps, {} clips encoded in {:.1} s to a budget of {} bytes (the stream: {})",
            self.manifest.display(),
            self.bytes,
            self.duration_ms as f64 / 1000.0,
            self.width,
            self.height,
            self.fps,
            self.clips.len(),
            self.encode_seconds,
            self.budget_bytes,
            self.stream.display()
        )?;
        for c in &self.clips {
            write!(
                f,
                "\n  clip {} \"{}\" at {} ms: {:.1} s, {} bytes (share {})",
                c.number, c.name, c.start_ms, c.seconds, c.bytes, c.target_bytes
            )?;
        }
        for b in &self.branches {
            let opts: Vec<String> = b
                .options
                .iter()
                .map(|o| {
                    if o.label.is_empty() {
                        format!("clip {} \"{}\"", o.next_segment, o.next)
                    } else {
                        format!("\"{}\" -> clip {} \"{}\"", o.label, o.next_segment, o.next)
                    }
                })
                .collect();
            if b.timeout_ms == 0 {
                write!(
                    f,
                    "\n  branch {}: after \"{}\" on to {}",
                    b.id,
                    b.after,
                    opts.join("")
                )?;
            } else {
                let default = b
                    .options
                    .get(b.default_option as usize)
                    .map_or("", |o| o.label.as_str());
                write!(
                    f,
                    "\n  branch {}: after \"{}\" \"{}\" ({} s, then \"{default}\"): {}",
                    b.id,
                    b.after,
                    b.prompt,
                    b.timeout_ms as f64 / 1000.0,
                    opts.join(", ")
                )?;
            }
        }
        write!(
            f,
            "\n  {} lineage records (clip table and branch points) cost {} sat of the fees",
            self.records, self.records_fee_sat
        )
    }
}

/// The poster counted while the budget is sought, before anything is encoded: `auto` as large as
/// its budget (the made one is no larger), a FILE as it is.
fn poster_for_budget(args: &PosterArgs, carrier: Carrier) -> anyhow::Result<crate::poster::Chosen> {
    Ok(match &args.poster {
        PosterArg::Auto => crate::poster::placeholder(args)?,
        _ => crate::poster::choose(args, Path::new("film"), "video/x-cvpm", carrier, None)?,
    }
    .for_carrier(carrier))
}

/// Check, encode, join and publish the film of `req.manifest`.
pub fn publish(
    datadir: &Path,
    chain: &Chain,
    req: &Request<'_>,
    quiet: bool,
) -> anyhow::Result<PublishOut> {
    let say = |s: String| {
        if !quiet {
            eprintln!("{s}");
        }
    };
    let m = Manifest::load(req.manifest)?;
    let timing = film::timing(&m)?;
    let max_unit = req.carrier.max_unit();
    // Every record must fit the carrier: known before a second is spent encoding.
    let estimated = film::records(&m, &timing.estimated_starts(), max_unit, req.carrier)?;
    let budget = Budget::of(req.film.kbps, req.film.budget_bytes, req.film.budget_sats)?;
    let title = req
        .title
        .map(str::to_string)
        .or(m.title.clone())
        .unwrap_or_else(|| {
            m.path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("untitled")
                .to_string()
        });
    // Never start a second plan while one is unfinished (nor encode for it).
    wallet::funded::ensure_nothing_unfinished(datadir, chain.backend())?;
    let poster = poster_for_budget(req.poster, req.carrier)?;
    let info = super::info(&title, Some(0), poster.bytes(), estimated);
    let total = budget.bytes(timing.total(), &info, req.carrier, req.feerate)?;
    let made = film::encode(&m, &timing, total, &req.film.encoding(), &say)?;
    let starts: Vec<u64> = made.clips.iter().map(|c| c.start_ms).collect();
    let records = film::records(&m, &starts, max_unit, req.carrier)?;
    let (w, h, fps) = made.shape;
    let poster = match &req.poster.poster {
        PosterArg::Auto => {
            let mut p = crate::poster::choose(
                req.poster,
                &made.start_input,
                "video/to-encode",
                req.carrier,
                Some((w, h)),
            )?;
            if p.poster.is_some() {
                p.source = format!("made from clip 0, \"{}\"", m.clips[0].name);
            }
            p
        }
        _ => poster,
    };
    let path = film::stream_path(datadir, &m);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    durable::write(&path, &made.stream).with_context(|| format!("writing {}", path.display()))?;
    let records_fee_sat = {
        let with = super::info(&title, Some(made.duration_ms), None, records.clone());
        let bare = super::info(&title, Some(made.duration_ms), None, Vec::new());
        let len = made.stream.len() as u64;
        let cost = |i| wallet::estimate::estimate(len, i, req.carrier, req.feerate, req.layout);
        cost(&with)?.fee_sat.saturating_sub(cost(&bare)?.fee_sat)
    };
    let what = FileToPublish {
        file: &path,
        title: &title,
        media_type: "video/x-cvpm",
        carrier: req.carrier,
        feerate: req.feerate,
        layout: req.layout,
        poster: &poster,
    };
    let content = Content {
        stream: &made.stream,
        records: records.clone(),
        commitment: None,
    };
    let mut out = crate::cmd::publish::publish_content(
        datadir, chain, &what, &content, quiet, req.psbt, req.paying,
    )?;
    out.interactive = Some(InteractiveOut {
        manifest: m.path.clone(),
        stream: path,
        bytes: made.stream.len() as u64,
        duration_ms: made.duration_ms,
        width: w,
        height: h,
        fps,
        budget_bytes: total,
        encode_seconds: made.encode_seconds,
        clips: made.clips.clone(),
        branches: film::branches_out(&m),
        records: records.len(),
        records_fee_sat,
    });
    Ok(out)
}
