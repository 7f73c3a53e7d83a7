//! `bitflix index`: scan a chain into the persistent index (DATADIR/index.redb).

use anyhow::Context;
use chain::ChainSpec;
use clap::Args;
use index::ContentSummary;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Scan blocks and the mempool for CVP content into the index.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The chain: devnet:DIR, esplora:URL or core:URL (Bitcoin Core: http://[user:pass@]host:port[?cookie=PATH&zmq=tcp://host:port&rest=0]).
    /// Repeat for several backends of the same chain: the first healthy one is read, the next
    /// when it stops answering, and block hashes are cross-checked between them.
    #[arg(long, default_value = "devnet:bitflix-data/devnet")]
    chain: Vec<ChainSpec>,
    /// Keep following the tip (Ctrl-C to stop); without it, catch up once and print the catalog.
    #[arg(long)]
    follow: bool,
    /// Delete the index and scan again (needed after a schema version change).
    #[arg(long)]
    reindex: bool,
    /// The first block height a new index scans (blocks below are never read); an existing index
    /// keeps the height it was started at. Default: the network's, below which no CVP content can
    /// exist (regtest 0).
    #[arg(long, value_name = "N")]
    from_height: Option<u32>,
}

/// The catalog after indexing.
#[derive(Debug, Serialize)]
pub struct IndexOut {
    /// Height of the last indexed block.
    pub height: Option<u32>,
    /// The first height the index scans.
    pub start_height: u32,
    /// Reorgs handled in this run.
    pub reorgs: u32,
    /// Contents.
    pub contents: Vec<IndexedContent>,
    /// Records claiming content that never attached (forgeries, or parents not seen yet).
    pub unattributed: usize,
    /// With several `--chain`: each backend, the one in use, those down or disagreeing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<chain::BackendStatus>,
}

/// One content as `bitflix index` prints it: the summary (whose JSON leaves the poster's bytes
/// out, as the gateway's API does) and the header's poster, in hex.
#[derive(Debug, Serialize)]
pub struct IndexedContent {
    /// What the index knows of it.
    #[serde(flatten)]
    pub summary: ContentSummary,
    /// The header's poster bytes, hex.
    pub poster: Option<String>,
}

impl From<&ContentSummary> for IndexedContent {
    fn from(s: &ContentSummary) -> Self {
        IndexedContent {
            poster: s.header.poster.as_deref().map(hex::encode),
            summary: s.clone(),
        }
    }
}

impl fmt::Display for IndexOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "indexed heights {} to {}; {} reorg(s); {} unattributed record transaction(s)",
            self.start_height,
            self.height.map_or("-".into(), |h| h.to_string()),
            self.reorgs,
            self.unattributed
        )?;
        for b in &self.backends {
            writeln!(f, "{}", super::serve::backend_line(b))?;
        }
        for c in self.contents.iter().map(|c| &c.summary) {
            writeln!(
                f,
                "{} {:?} {:?}: {}/{} segments verified, {} flaw(s)",
                c.id,
                c.header.title.as_deref().unwrap_or("(untitled)"),
                c.state,
                c.segments_verified,
                c.header.segment_count.unwrap_or(0),
                c.flaws.len()
            )?;
        }
        Ok(())
    }
}

pub fn run(g: &super::Global, args: IndexArgs) -> anyhow::Result<IndexOut> {
    let (backend, multi) = crate::backend::open_all(&args.chain, g.network())?;
    std::fs::create_dir_all(&g.datadir)
        .with_context(|| format!("creating {}", g.datadir.display()))?;
    let path = g.datadir.join("index.redb");
    if args.reindex && path.exists() {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    let mut ix = super::serve::open_index(&path, backend.as_ref(), args.from_height)?;
    let changes = if args.follow {
        Arc::clone(&backend)
            .changes(Duration::from_secs(1))
            .inspect_err(|e| tracing::warn!("no change stream ({e}): polling every second"))
            .ok()
    } else {
        None
    };
    loop {
        let mut bar = crate::progress::ScanBar::new(g.json);
        let polled = ix.poll_with(backend.as_ref(), &mut |p| bar.update(p));
        bar.finish();
        polled?;
        if !args.follow {
            break;
        }
        super::serve::next_change(changes.as_ref(), Duration::from_secs(30));
    }
    let snap = ix.snapshot();
    Ok(IndexOut {
        height: ix.cursor()?.map(|(h, _)| h),
        start_height: ix.start_height(),
        reorgs: ix.reorgs,
        contents: snap.summaries().iter().map(IndexedContent::from).collect(),
        unattributed: snap.unattributed(),
        backends: multi.map(|m| m.status()).unwrap_or_default(),
    })
}
