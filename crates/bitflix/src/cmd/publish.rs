//! `bitflix publish FILE --title T`: plan, journal, broadcast; `--resume` finishes a killed one.

use crate::backend::open_devnet;
use anyhow::{bail, Context};
use bitcoin::{Amount, FeeRate};
use chain::{ChainBackend, ChainError, ChainSpec};
use clap::Args;
use cvp::{Carrier, ContentInfo};
use devnet::Devnet;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use wallet::journal::Journal;
use wallet::{Layout, PlanRequest};

/// Publish a file on chain.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The file (published as it is: an encoded stream, or any media file).
    file: Option<PathBuf>,
    /// Title shown to viewers.
    #[arg(long)]
    title: Option<String>,
    /// Media type of the file (default: from the extension).
    #[arg(long)]
    media_type: Option<String>,
    /// Carrier: op-return-80, op-return or envelope (default: envelope, the cheapest the devnet relays).
    #[arg(long, default_value = "envelope")]
    carrier: Carrier,
    /// Transaction layout: fan-out (default: one confirmed coin per segment, all segments at once)
    /// or chain (each transaction spends the previous change).
    #[arg(long, default_value = "fan-out")]
    layout: Layout,
    /// Fee rate in sat/vB (default: the backend's estimate).
    #[arg(long)]
    feerate: Option<f64>,
    /// The chain: devnet:DIR (esplora:URL and core:URL are not built yet).
    #[arg(long, default_value = "devnet:bitflix-data/devnet")]
    chain: ChainSpec,
    /// Finish every interrupted publish in the data directory instead of starting one.
    #[arg(long)]
    resume: bool,
}

/// What a publish did.
#[derive(Debug, Serialize)]
pub struct PublishOut {
    /// Content id.
    pub content_id: String,
    /// Carrier used.
    pub carrier: String,
    /// Transactions in the plan.
    pub transactions: usize,
    /// Sent in this run.
    pub sent: usize,
    /// Already known to the chain before this run (resumed).
    pub already_sent: usize,
    /// Confirmed at the end.
    pub confirmed: usize,
    /// Fees of the whole plan, sat.
    pub fee_sat: u64,
    /// The journal.
    pub journal: PathBuf,
}

impl fmt::Display for PublishOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "published {} with {}: {} transactions ({} sent now, {} already on chain, {} confirmed), {} sat in fees\njournal: {}",
            self.content_id, self.carrier, self.transactions, self.sent, self.already_sent, self.confirmed, self.fee_sat, self.journal.display()
        )
    }
}

fn media_type_of(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("cvpm") => "video/x-cvpm",
        _ => "application/octet-stream",
    }
}

fn bar(len: usize, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} transactions") {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message("publishing");
    b
}

/// One file to publish.
#[derive(Debug, Clone)]
pub struct FileToPublish<'a> {
    /// The file.
    pub file: &'a Path,
    /// Title.
    pub title: &'a str,
    /// Media type.
    pub media_type: &'a str,
    /// Carrier.
    pub carrier: Carrier,
    /// Fee rate.
    pub feerate: FeeRate,
    /// Transaction layout.
    pub layout: Layout,
}

/// Publish a file on the devnet with the publisher key of `datadir`, funding it from the faucet
/// when the key has no coins (devnet only).
pub fn publish_file(
    datadir: &Path,
    d: &Devnet,
    what: &FileToPublish<'_>,
    quiet: bool,
) -> anyhow::Result<PublishOut> {
    let FileToPublish {
        file,
        title,
        media_type,
        carrier,
        feerate,
        layout,
    } = what.clone();
    let stream = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let signer = crate::keys::publisher(datadir)?;
    let info = ContentInfo {
        title: Some(title.into()),
        media_type: media_type.into(),
        duration_ms: None,
        poster: None,
    };
    let est = wallet::estimate::estimate(stream.len() as u64, &info, carrier, feerate, layout)?;
    let need = Amount::from_sat(est.fee_sat + est.locked_sat + 100_000);
    let funding = match d
        .script_utxos(&signer.script())
        .into_iter()
        .filter(|u| u.height.is_some())
        .max_by_key(|u| u.value)
    {
        Some(u) if u.value >= need => u,
        _ => {
            d.faucet(&signer.script(), need)
                .context("funding the publisher from the devnet faucet")?;
            d.mine(1, &d.faucet_script())?;
            d.script_utxos(&signer.script())
                .into_iter()
                .filter(|u| u.height.is_some())
                .max_by_key(|u| u.value)
                .context("the faucet payment is missing")?
        }
    };
    let prev = d
        .prevout(&funding.outpoint)
        .context("funding output missing")?;
    let req = PlanRequest {
        stream: &stream,
        info,
        carrier,
        feerate,
        funding: (funding.outpoint, prev),
    };
    let pb = bar(est.transactions as usize, quiet);
    let miner = d.faucet_script();
    let (plan, done) = wallet::publish::publish(
        datadir,
        d,
        &req,
        &signer,
        layout,
        || mine_one(d, &miner),
        |p| pb.set_position((p.sent + p.already_sent) as u64),
    )?;
    pb.finish_and_clear();
    Ok(PublishOut {
        content_id: plan.content_id.to_string(),
        carrier: carrier.to_string(),
        transactions: plan.txs.len(),
        sent: done.progress.sent,
        already_sent: done.progress.already_sent,
        confirmed: done.progress.confirmed,
        fee_sat: plan.fee().to_sat(),
        journal: done.journal_path,
    })
}

fn mine_one(d: &Devnet, to: &bitcoin::ScriptBuf) -> Result<(), ChainError> {
    d.mine(1, to)
        .map(|_| ())
        .map_err(|e| ChainError::Unavailable(e.to_string()))
}

pub fn run(g: &super::Global, args: PublishArgs) -> anyhow::Result<Vec<PublishOut>> {
    let d = open_devnet(&args.chain)?;
    let feerate = match args.feerate {
        Some(r) if (0.1..=100_000.0).contains(&r) => {
            FeeRate::from_sat_per_kwu((r * 250.0).round() as u64)
        }
        Some(r) => {
            bail!("fee rate {r} sat/vB is outside 0.1..=100000 (0.1 is the minimum relay fee)")
        }
        None => ChainBackend::fee_estimate(&d, 1)?,
    };
    if args.resume {
        let mut out = Vec::new();
        for path in Journal::all(&g.datadir) {
            let journal = Journal::load(&path)?;
            let pb = bar(journal.txs.len(), g.json);
            let miner = d.faucet_script();
            let done = wallet::publish::resume(
                &path,
                &d,
                || mine_one(&d, &miner),
                |p| pb.set_position((p.sent + p.already_sent) as u64),
            )?;
            pb.finish_and_clear();
            out.push(PublishOut {
                content_id: journal.content_id.to_string(),
                carrier: journal.carrier.clone(),
                transactions: journal.txs.len(),
                sent: done.progress.sent,
                already_sent: done.progress.already_sent,
                confirmed: done.progress.confirmed,
                fee_sat: journal.txs.iter().map(|t| t.fee_sat).sum(),
                journal: path,
            });
        }
        return Ok(out);
    }
    let Some(file) = args.file else {
        bail!("give the FILE to publish (or --resume)")
    };
    // Never start a second plan while one is unfinished: re-running the same command after a
    // kill must not pay again.
    for path in Journal::all(&g.datadir) {
        let journal = Journal::load(&path)?;
        for t in &journal.txs {
            if d.tx_status(&t.txid)? == chain::TxStatus::Unknown {
                bail!(
                    "an interrupted publish of {} ('{}') is not finished: run `bitflix publish --resume` first (nothing will be paid twice)",
                    journal.content_id,
                    journal.title
                );
            }
        }
    }
    let title = args.title.unwrap_or_else(|| {
        file.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("untitled")
            .to_string()
    });
    let media_type = args
        .media_type
        .unwrap_or_else(|| media_type_of(&file).to_string());
    let what = FileToPublish {
        file: &file,
        title: &title,
        media_type: &media_type,
        carrier: args.carrier,
        feerate,
        layout: args.layout,
    };
    Ok(vec![publish_file(&g.datadir, &d, &what, g.json)?])
}

/// Several publishes, one per line.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Many(pub Vec<PublishOut>);

impl fmt::Display for Many {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "nothing to resume");
        }
        for p in &self.0 {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}
