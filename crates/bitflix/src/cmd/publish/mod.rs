//! `bitflix publish FILE --title T`: plan, journal, broadcast; `--resume` finishes a killed one.
//!
//! The wallet (bdk, `keys.rs`) pays each publish with one funding transaction; `--psbt OUT` exports
//! it unsigned for an external signer (required for a watch-only wallet) and `--resume
//! --psbt-signed IN` brings the signature back; `--resume --bump-to RATE` replaces a stuck,
//! wholly unconfirmed publish at a higher fee rate. `--chain devnet:DIR` funds the wallet from the
//! faucet and mines when the mempool is full; `--chain esplora:URL` and `core:URL` wait for blocks.

mod commitment;
mod resume;

use crate::poster::{Chosen, PosterOut};
use anyhow::{bail, Context};
use bitcoin::{FeeRate, Network};
use chain::{ChainBackend, ChainError, ChainSpec};
use clap::Args;
use cvp::{Carrier, ContentInfo};
#[cfg(feature = "devnet")]
use devnet::Devnet;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use wallet::funded::{self, Publication};
use wallet::hd::HdWallet;
use wallet::Layout;

/// Publish a file on chain.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The file (published as it is: an encoded stream, a media file, any file), or a directory:
    /// an app or a set of files, published as one bundle whose entry page is its index.html
    /// (docs/cvp.md, "Bundles"), opened from the gateway's sandbox.
    file: Option<PathBuf>,
    /// Title shown to viewers.
    #[arg(long)]
    title: Option<String>,
    /// Media type of the file (default: from the extension; a directory is a bundle).
    #[arg(long)]
    media_type: Option<String>,
    /// Carrier: op-return-80, op-return or envelope (default: envelope, the cheapest the devnet
    /// relays), or commitment: the file goes on BitTorrent (a swarm in DATADIR/swarms, seeded by
    /// `bitflix serve --bittorrent-listen`) and one 80-byte OP_RETURN pins it (docs/cvp.md,
    /// "Commitments").
    #[arg(long, default_value = "envelope")]
    carrier: commitment::PublishCarrier,
    /// With --carrier commitment: where the publisher seeds (`bitflix serve --bittorrent-listen
    /// ADDR`), written in the record as the peer viewers ask first (an IPv4 address keeps the
    /// record within 80 bytes at any length).
    #[arg(long)]
    seed: Option<std::net::SocketAddr>,
    /// Transaction layout: fan-out (default: one confirmed coin per segment, all segments at once)
    /// or chain (each transaction spends the previous change).
    #[arg(long, default_value = "fan-out")]
    layout: Layout,
    /// The poster in the header, and its byte budget.
    #[command(flatten)]
    poster: crate::poster::PosterArgs,
    /// Fee rate in sat/vB (default: the backend's estimate for the next block; more than 10 times
    /// it needs --force).
    #[arg(long)]
    feerate: Option<f64>,
    /// --yes, --max-fee SATS, --force.
    #[command(flatten)]
    rails: crate::rails::RailArgs,
    /// The chain: devnet:DIR, esplora:URL or core:URL (see `bitflix index --help`), serving
    /// --network.
    #[arg(long, default_value = "devnet:bitflix-data/devnet")]
    chain: ChainSpec,
    /// Finish every interrupted publish in the data directory instead of starting one.
    #[arg(long)]
    resume: bool,
    /// Do not sign the funding transaction: write it as a PSBT (BIP174, base64) to this file for
    /// an external signer, and stop after the journal. Watch-only wallets must use it.
    #[arg(long, conflicts_with = "resume")]
    psbt: Option<PathBuf>,
    /// With --resume: the signed funding PSBT (base64); it is finalized and the publish goes on.
    #[arg(long, requires = "resume")]
    psbt_signed: Option<PathBuf>,
    /// With --resume: replace every unfinished, wholly unconfirmed publish by the same publish at
    /// this fee rate (sat/vB). Its funding transaction spends the replaced one's coins (BIP125),
    /// so the old plan leaves the mempool and at most one of the two is ever paid.
    #[arg(long, requires = "resume")]
    bump_to: Option<f64>,
    /// --interactive MANIFEST and the encoder's flags for it.
    #[command(flatten)]
    film: super::interactive::FilmArgs,
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
    /// The funding PSBT written for an external signer (nothing was broadcast).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psbt: Option<PathBuf>,
    /// The header's poster and what it added to the fees (not known to `--resume`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poster: Option<PosterOut>,
    /// An interactive film's clips, branch points and what they cost (`--interactive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<super::interactive::InteractiveOut>,
    /// What the commitment pins and where its swarm is (`--carrier commitment`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment: Option<commitment::CommitmentOut>,
}

impl fmt::Display for PublishOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.psbt {
            write!(
                f,
                "planned {} with {}: {} transactions, {} sat in fees; nothing broadcast yet\nsign the funding PSBT {} and run `bitflix publish --resume --psbt-signed FILE`\njournal: {}",
                self.content_id, self.carrier, self.transactions, self.fee_sat, p.display(), self.journal.display()
            )?;
        } else {
            write!(
                f,
                "published {} with {}: {} transactions ({} sent now, {} already on chain, {} confirmed), {} sat in fees\njournal: {}",
                self.content_id, self.carrier, self.transactions, self.sent, self.already_sent, self.confirmed, self.fee_sat, self.journal.display()
            )?;
        }
        if let Some(p) = &self.poster {
            write!(f, "\n{p}")?;
        }
        if let Some(c) = &self.commitment {
            write!(f, "\n{c}")?;
        }
        match &self.interactive {
            Some(i) => write!(f, "\n{i}"),
            None => Ok(()),
        }
    }
}

fn bar(len: usize, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    // Drawn once the publish is approved (the confirmation's question must stay readable).
    let b = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} transactions") {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message("publishing");
    b
}

fn show(b: &ProgressBar, quiet: bool) {
    if !quiet {
        b.set_draw_target(ProgressDrawTarget::stderr());
    }
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
    /// The header's poster.
    pub poster: &'a Chosen,
}

/// Publish a file on the devnet with the wallet of `datadir`, funding the wallet from the faucet
/// when it has too little (devnet only).
#[cfg(feature = "devnet")]
pub fn publish_file(
    datadir: &Path,
    d: &Devnet,
    what: &FileToPublish<'_>,
    quiet: bool,
) -> anyhow::Result<PublishOut> {
    publish_file_with(datadir, &Chain::Devnet(d.clone()), what, quiet, None)
}

/// Where, and under which rails, a publish pays.
#[derive(Debug, Clone)]
pub struct Paying<'a> {
    /// The network (the wallet's, checked against the backend).
    pub network: Network,
    /// --yes, --max-fee, --force.
    pub rails: &'a crate::rails::RailArgs,
}

/// Where a publish goes: the in-process devnet (which funds the wallet and mines when asked) or
/// any other backend (the wallet must hold the coins; blocks come when they come).
#[derive(Debug, Clone)]
pub enum Chain {
    /// `devnet:DIR`.
    #[cfg(feature = "devnet")]
    Devnet(Devnet),
    /// `esplora:URL` or `core:URL` (e.g. the devnet daemon).
    Other(std::sync::Arc<dyn ChainBackend>),
}

impl Chain {
    pub(crate) fn backend(&self) -> &dyn ChainBackend {
        match self {
            #[cfg(feature = "devnet")]
            Chain::Devnet(d) => d,
            Chain::Other(b) => b.as_ref(),
        }
    }

    /// What the broadcaster calls when the mempool refuses a longer chain: mine on the devnet,
    /// otherwise wait (up to 20 minutes) for the next block.
    pub(crate) fn wait_for_block(&self) -> Result<(), ChainError> {
        match self {
            #[cfg(feature = "devnet")]
            Chain::Devnet(d) => d
                .mine(1, &d.faucet_script())
                .map(|_| ())
                .map_err(|e| ChainError::Unavailable(e.to_string())),
            Chain::Other(b) => {
                let start = b.tip()?;
                for _ in 0..1200 {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    if b.tip()? != start {
                        return Ok(());
                    }
                }
                Err(ChainError::Unavailable(
                    "no new block for 20 minutes".into(),
                ))
            }
        }
    }
}

/// [`publish_file`], optionally exporting the funding transaction as a PSBT (`psbt`) instead of
/// signing it: then the journal is written and nothing is broadcast. The plan key is the
/// publisher key, the same for every publish: the wallet's first internal address, or for a
/// watch-only wallet `DATADIR/publish-keys/publisher.key` (see `wallet::funded`).
#[cfg_attr(
    not(feature = "devnet"),
    allow(dead_code, reason = "the devnet's publish_file calls it")
)]
pub fn publish_file_with(
    datadir: &Path,
    chain: &Chain,
    what: &FileToPublish<'_>,
    quiet: bool,
    psbt_out: Option<&Path>,
) -> anyhow::Result<PublishOut> {
    let rails = crate::rails::RailArgs::default();
    let paying = Paying {
        network: Network::Regtest,
        rails: &rails,
    };
    publish_on(datadir, chain, what, quiet, psbt_out, &paying)
}

/// [`publish_file_with`] on `paying.network`, under its rails: the exact total fee is checked
/// against `--max-fee` and, where the network needs it, confirmed before anything is signed.
pub fn publish_on(
    datadir: &Path,
    chain: &Chain,
    what: &FileToPublish<'_>,
    quiet: bool,
    psbt_out: Option<&Path>,
    paying: &Paying<'_>,
) -> anyhow::Result<PublishOut> {
    let stream = if what.file.is_dir() {
        crate::bundle::from_dir(what.file)?
    } else {
        std::fs::read(what.file).with_context(|| format!("reading {}", what.file.display()))?
    };
    let content = Content {
        stream: &stream,
        records: Vec::new(),
        commitment: None,
    };
    publish_content(datadir, chain, what, &content, quiet, psbt_out, paying)
}

/// What a publish puts on chain: the stream (`what.file` is not read) and the other lineage
/// records (an interactive film's clip table and branch points).
#[derive(Debug, Clone)]
pub struct Content<'a> {
    /// The stream.
    pub stream: &'a [u8],
    /// Records after the header, each in its own unit.
    pub records: Vec<cvp::Record>,
    /// A content on BitTorrent: this record goes on chain instead of the stream and a header
    /// (the stream is not read: it may be empty).
    pub commitment: Option<cvp::Commitment>,
}

/// [`publish_on`] of `content`.
pub fn publish_content(
    datadir: &Path,
    chain: &Chain,
    what: &FileToPublish<'_>,
    content: &Content<'_>,
    quiet: bool,
    psbt_out: Option<&Path>,
    paying: &Paying<'_>,
) -> anyhow::Result<PublishOut> {
    let backend = chain.backend();
    let stream = content.stream;
    let publication = Publication {
        stream,
        info: ContentInfo {
            title: Some(what.title.into()),
            media_type: what.media_type.into(),
            duration_ms: duration_of(what.media_type, stream),
            poster: what.poster.bytes(),
            records: content.records.clone(),
        },
        carrier: what.carrier,
        feerate: what.feerate,
        layout: what.layout,
        commitment: content.commitment.clone(),
    };
    let (est, need) = publication.cost()?;
    let poster = match &content.commitment {
        Some(_) => None,
        None => Some(
            crate::poster::cost(
                stream.len() as u64,
                &publication.info,
                what.poster,
                what.carrier,
                what.feerate,
                what.layout,
            )?
            .1,
        ),
    };
    crate::keys::create_with_birthday(datadir, paying.network, backend)?;
    let mut w = crate::keys::open_wallet(datadir, paying.network)?;
    if psbt_out.is_none() && !w.can_sign() {
        bail!("this wallet is watch-only: publish with --psbt OUT and sign the funding elsewhere");
    }
    w.sync(backend).context("syncing the wallet")?;
    if funded::shortfall(&w, need).is_some() {
        top_up(chain, &mut w, need)?;
    }
    let signer = if w.can_sign() {
        w.plan_signer()?.0
    } else {
        crate::keys::new_plan_key(datadir)?.0
    };
    let hide = quiet || psbt_out.is_some();
    let pb = bar(est.transactions as usize + 1, hide);
    let approve = |cost: &funded::Cost| -> Result<(), String> {
        let quote = crate::rails::Quote {
            total_fee: cost.total_fee(),
            transactions: cost.transactions,
            feerate: what.feerate,
        };
        paying
            .rails
            .approve(
                paying.network,
                &quote,
                &mut std::io::stdin().lock(),
                &mut std::io::stderr(),
            )
            .map_err(|e| e.to_string())?;
        show(&pb, hide);
        Ok(())
    };
    let (plan, done) = funded::publish_from_wallet_approved(
        datadir,
        backend,
        &mut w,
        &signer,
        &publication,
        psbt_out,
        approve,
        || chain.wait_for_block(),
        |p| pb.set_position((p.sent + p.already_sent) as u64),
    )?;
    pb.finish_and_clear();
    Ok(PublishOut {
        content_id: plan.content_id.to_string(),
        carrier: what.carrier.to_string(),
        transactions: done.journal.txs.len(),
        sent: done.progress.sent,
        already_sent: done.progress.already_sent,
        confirmed: done.progress.confirmed,
        fee_sat: done.journal.txs.iter().map(|t| t.fee_sat).sum(),
        journal: done.journal_path,
        psbt: psbt_out.map(Path::to_path_buf),
        poster,
        interactive: None,
        commitment: None,
    })
}

/// Fund the wallet for a publish costing `need`: from the faucet on the devnet; elsewhere the
/// publisher must, and the error says how much to which address.
pub(crate) fn top_up(chain: &Chain, w: &mut HdWallet, need: bitcoin::Amount) -> anyhow::Result<()> {
    match chain {
        #[cfg(feature = "devnet")]
        Chain::Devnet(d) => {
            let to = w.receive_address()?;
            d.faucet(&to.script_pubkey(), need + funded::FUNDING_MARGIN)
                .context("funding the wallet from the devnet faucet")?;
            d.mine(1, &d.faucet_script())?;
            w.sync(d).context("syncing the wallet")?;
            Ok(())
        }
        Chain::Other(_) => Err(funded::insufficient(w, need).into()),
    }
}

/// The fee rate of a publish: `--feerate` or the backend's estimate for the next block. Off
/// regtest (where the confirmation applies too), a rate more than 10 times the estimate is
/// refused without `--force`.
fn feerate(
    d: &dyn ChainBackend,
    network: Network,
    given: Option<f64>,
    force: bool,
) -> anyhow::Result<FeeRate> {
    let estimate = d.fee_estimate(1);
    let force = force || !crate::network::needs_confirmation(network);
    match (given, estimate) {
        (Some(r), Ok(e)) => {
            let r = super::wallet::feerate_arg(r)?;
            crate::rails::check_rate(r, e, force)?;
            Ok(r)
        }
        (Some(r), Err(_)) if force => super::wallet::feerate_arg(r),
        (Some(_), Err(e)) => Err(anyhow::anyhow!(
            "the backend gives no fee estimate to check --feerate against ({e}): pass --force"
        )),
        (None, estimate) => Ok(estimate.context("the backend's fee estimate")?),
    }
}

pub fn run(g: &super::Global, args: PublishArgs) -> anyhow::Result<Vec<PublishOut>> {
    let network = g.network();
    let chain = match &args.chain {
        #[cfg(feature = "devnet")]
        ChainSpec::Devnet(_) => Chain::Devnet(crate::backend::open_devnet(&args.chain, network)?),
        #[cfg(not(feature = "devnet"))]
        ChainSpec::Devnet(_) => return Err(crate::backend::without_devnet("--chain devnet:DIR")),
        ChainSpec::Esplora(_) | ChainSpec::Core(_) => {
            Chain::Other(crate::backend::open(&args.chain, network)?)
        }
        _ => bail!("publishing works with --chain devnet:DIR, esplora:URL or core:URL"),
    };
    let d = chain.backend();
    let feerate = feerate(d, network, args.feerate, args.rails.force)?;
    if args.resume {
        return resume::run(g, &chain, &args, network);
    }
    let paying = Paying {
        network,
        rails: &args.rails,
    };
    let carrier = match args.carrier {
        commitment::PublishCarrier::OnChain(c) => c,
        commitment::PublishCarrier::Commitment => {
            return Ok(vec![commitment::run(g, &chain, &args, feerate, &paying)?]);
        }
    };
    if let Some(manifest) = &args.film.interactive {
        let req = super::interactive::Request {
            manifest,
            title: args.title.as_deref(),
            carrier,
            layout: args.layout,
            feerate,
            poster: &args.poster,
            film: &args.film,
            psbt: args.psbt.as_deref(),
            paying: &paying,
        };
        return Ok(vec![super::interactive::publish(
            &g.datadir, &chain, &req, g.json,
        )?]);
    }
    let Some(file) = args.file.clone() else {
        bail!("give the FILE to publish (or --resume, or --interactive MANIFEST)")
    };
    // Never start a second plan while one is unfinished: re-running the same command after a
    // kill must not pay again.
    funded::ensure_nothing_unfinished(&g.datadir, d)?;
    let (title, media_type) = title_and_type(&args, &file);
    let poster = crate::poster::choose(&args.poster, &file, &media_type, carrier, None)?;
    let what = FileToPublish {
        file: &file,
        title: &title,
        media_type: &media_type,
        carrier,
        feerate,
        layout: args.layout,
        poster: &poster,
    };
    Ok(vec![publish_on(
        &g.datadir,
        &chain,
        &what,
        g.json,
        args.psbt.as_deref(),
        &paying,
    )?])
}

/// `--title` or the file's name; `--media-type` or the type its extension says.
fn title_and_type(args: &PublishArgs, file: &Path) -> (String, String) {
    let title = args.title.clone().unwrap_or_else(|| {
        file.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("untitled")
            .to_string()
    });
    let media_type = args
        .media_type
        .clone()
        .unwrap_or_else(|| crate::bundle::media_type_of(file).to_string());
    (title, media_type)
}

/// The duration the header declares: a CVPM stream's own (the catalog shows it before anything
/// is downloaded); unknown for other files.
fn duration_of(media_type: &str, stream: &[u8]) -> Option<u64> {
    if media_type != "video/x-cvpm" {
        return None;
    }
    media::format::Stream::decode(stream)
        .ok()?
        .duration_ms()
        .ok()
        .filter(|d| *d > 0)
}

/// Finalize a signed funding PSBT and record it in the journal that planned it.
fn import_signed(datadir: &Path, network: Network, file: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut psbt: bitcoin::Psbt = text
        .trim()
        .parse()
        .with_context(|| format!("{} is not a base64 PSBT", file.display()))?;
    let w = crate::keys::open_wallet(datadir, network)?;
    funded::import_signed_funding(datadir, &w, &mut psbt)?;
    Ok(())
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
