//! `bitflix index`: scan a chain into the persistent index (DATADIR/index.redb).

use anyhow::Context;
use chain::ChainSpec;
use clap::Args;
use index::{ContentSummary, Indexer};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Scan blocks and the mempool for CVP content into the index.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The chain: devnet:DIR, esplora:URL or core:URL (Bitcoin Core: http://[user:pass@]host:port[?cookie=PATH&zmq=tcp://host:port&rest=0]).
    #[arg(long, default_value = "devnet:bitflix-data/devnet")]
    chain: ChainSpec,
    /// Keep following the tip (Ctrl-C to stop); without it, catch up once and print the catalog.
    #[arg(long)]
    follow: bool,
    /// Delete the index and scan from genesis (needed after a schema version change).
    #[arg(long)]
    reindex: bool,
}

/// The catalog after indexing.
#[derive(Debug, Serialize)]
pub struct IndexOut {
    /// Height of the last indexed block.
    pub height: Option<u32>,
    /// Reorgs handled in this run.
    pub reorgs: u32,
    /// Contents.
    pub contents: Vec<IndexedContent>,
    /// Records claiming content that never attached (forgeries, or parents not seen yet).
    pub unattributed: usize,
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
            "indexed to height {}; {} reorg(s); {} unattributed record transaction(s)",
            self.height.map_or("-".into(), |h| h.to_string()),
            self.reorgs,
            self.unattributed
        )?;
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
    let backend = crate::backend::open(&args.chain, g.network())?;
    std::fs::create_dir_all(&g.datadir)
        .with_context(|| format!("creating {}", g.datadir.display()))?;
    let path = g.datadir.join("index.redb");
    if args.reindex && path.exists() {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    let mut ix = Indexer::open(&path)?;
    let changes = if args.follow {
        Arc::clone(&backend)
            .changes(Duration::from_secs(1))
            .inspect_err(|e| tracing::warn!("no change stream ({e}): polling every second"))
            .ok()
    } else {
        None
    };
    loop {
        ix.poll(backend.as_ref())?;
        if !args.follow {
            break;
        }
        super::serve::next_change(changes.as_ref(), Duration::from_secs(30));
    }
    let snap = ix.snapshot();
    Ok(IndexOut {
        height: ix.cursor()?.map(|(h, _)| h),
        reorgs: ix.reorgs,
        contents: snap.summaries().iter().map(IndexedContent::from).collect(),
        unattributed: snap.unattributed(),
    })
}
