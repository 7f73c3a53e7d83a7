//! The demo's game: 2048 (the npm package game-2048 0.0.7, MIT; `assets/game-2048/`, checked
//! against the registry by `scripts/fetch-game.sh`), embedded in the binary, published on the
//! devnet as one bundle (docs/cvp.md, "Bundles"), read back, and played from the gateway's
//! sandbox; with what it takes on each carrier, beside the announcement's "Doom in 12
//! transactions".

use super::publish::{publish_file, FileToPublish};
use anyhow::Context;
use bitcoin::FeeRate;
use cvp::bundle::BUNDLE_MEDIA_TYPE;
use cvp::{Carrier, ContentInfo};
use devnet::Devnet;
use index::{ContentState, Indexer};
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// The game's title on chain.
pub const TITLE: &str = "2048 (npm game-2048 0.0.7, MIT)";

/// The package's files the game needs, as the npm tarball holds them.
const FILES: &[(&str, &[u8])] = &[
    (
        "index.html",
        include_bytes!("../../../../assets/game-2048/index.html"),
    ),
    (
        "lib/index.js",
        include_bytes!("../../../../assets/game-2048/lib/index.js"),
    ),
    (
        "style/main.css",
        include_bytes!("../../../../assets/game-2048/style/main.css"),
    ),
    (
        "favicon.ico",
        include_bytes!("../../../../assets/game-2048/favicon.ico"),
    ),
    (
        "LICENSE.txt",
        include_bytes!("../../../../assets/game-2048/LICENSE.txt"),
    ),
];

/// What one carrier takes for the game.
#[derive(Debug, Serialize)]
pub struct OnCarrier {
    /// The carrier.
    pub carrier: Carrier,
    /// Its transactions.
    pub transactions: u64,
    /// Their fees at 1 sat/vB.
    pub fee_sat: u64,
}

/// The game in the demo.
#[derive(Debug, Serialize)]
pub struct GameDemo {
    /// Its content id.
    pub content_id: String,
    /// Whether this run published it (false: found on the chain).
    pub published_now: bool,
    /// The bundle's bytes, read back from the chain.
    pub bytes: usize,
    /// What each carrier takes (the announcement: "Doom in only 12 Bitcoin transactions").
    pub carriers: Vec<OnCarrier>,
    /// Where it plays (the gateway's sandbox).
    pub play_url: String,
}

impl fmt::Display for GameDemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let each: Vec<String> = self
            .carriers
            .iter()
            .map(|c| format!("{} with {} ({} sat)", c.transactions, c.carrier, c.fee_sat))
            .collect();
        write!(
            f,
            "game 2048 {} ({} bytes): plays at {}\n  transactions it takes at 1 sat/vB: {} (the announcement: Doom in 12)",
            self.content_id,
            self.bytes,
            self.play_url,
            each.join(", ")
        )
    }
}

/// Publish (or find) the game on `d` with `carrier`, mine, read it back through the index.
pub fn run(
    datadir: &Path,
    index_path: &Path,
    listen: std::net::SocketAddr,
    carrier: Carrier,
    d: &Devnet,
    quiet: bool,
) -> anyhow::Result<GameDemo> {
    let dir = datadir.join("game-2048");
    for (path, bytes) in FILES {
        let to = dir.join(path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&to, bytes).with_context(|| format!("writing {}", to.display()))?;
    }
    let stream = crate::bundle::from_dir(&dir)?;
    let find = || -> anyhow::Result<Option<bitcoin::Txid>> {
        let mut ix = Indexer::open(index_path).context("opening the index")?;
        ix.poll(d).context("indexing the devnet")?;
        Ok(ix
            .snapshot()
            .summaries()
            .iter()
            .find(|s| s.header.title.as_deref() == Some(TITLE) && s.state == ContentState::Complete)
            .map(|s| s.id))
    };
    let feerate = FeeRate::from_sat_per_vb(1).context("fee rate")?;
    let (id, published_now) = match find()? {
        Some(id) => (id, false),
        None => {
            let poster = crate::poster::choose(
                &crate::poster::PosterArgs::default(),
                &dir,
                BUNDLE_MEDIA_TYPE,
                carrier,
                None,
            )?;
            let what = FileToPublish {
                file: &dir,
                title: TITLE,
                media_type: BUNDLE_MEDIA_TYPE,
                carrier,
                feerate,
                layout: wallet::Layout::FanOut,
                poster: &poster,
            };
            let out = publish_file(datadir, d, &what, quiet)?;
            d.mine(1, &d.faucet_script())?;
            (out.content_id.parse().context("content id")?, true)
        }
    };
    let mut ix = Indexer::open(index_path).context("opening the index")?;
    ix.poll(d).context("indexing the devnet")?;
    let bytes = ix
        .snapshot()
        .read_all(&id)
        .context("reading the game back from the index")?;
    anyhow::ensure!(
        bytes == stream,
        "the game read back from the chain differs from the bundle published"
    );
    // Without a title, so the 80-byte header of op-return-80 holds it too.
    let info = ContentInfo {
        title: None,
        media_type: BUNDLE_MEDIA_TYPE.into(),
        ..ContentInfo::default()
    };
    let mut carriers = Vec::new();
    for c in [Carrier::Envelope, Carrier::OpReturn, Carrier::OpReturn80] {
        let e = wallet::estimate::estimate(
            bytes.len() as u64,
            &info,
            c,
            feerate,
            wallet::Layout::FanOut,
        )?;
        carriers.push(OnCarrier {
            carrier: c,
            transactions: e.transactions,
            fee_sat: e.fee_sat,
        });
    }
    Ok(GameDemo {
        content_id: id.to_string(),
        published_now,
        bytes: bytes.len(),
        carriers,
        play_url: format!("http://{listen}/sandbox/{id}/"),
    })
}
