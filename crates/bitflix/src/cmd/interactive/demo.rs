//! The demo's interactive film: four clips cut from the bundled clip, two decisions and a
//! continuation, published on the demo's devnet like any interactive film, mined and read back
//! through the index. A second run reuses it.

use super::publish::{publish, Request};
use super::FilmArgs;
use crate::cmd::publish::{Chain, Paying};
use anyhow::Context;
use bitcoin::FeeRate;
use cvp::Carrier;
use devnet::Devnet;
use index::{ContentState, Indexer};
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// The film's title (how a second run finds it).
pub const TITLE: &str = "Big Buck Bunny: choose the path";

/// The manifest, beside the bundled clip in the demo's data directory.
const MANIFEST: &str = r#"title = "Big Buck Bunny: choose the path"
[[clip]]
name = "meadow"
input = "bigbuckbunny.mp4"
duration = 1.5
[[clip]]
name = "bunny"
input = "bigbuckbunny.mp4"
from = 1.5
duration = 1.5
[[clip]]
name = "flower"
input = "bigbuckbunny.mp4"
from = 3.0
duration = 1.2
next = "end"
[[clip]]
name = "end"
input = "bigbuckbunny.mp4"
from = 4.2
[[decision]]
after = "meadow"
prompt = "Follow the bunny?"
options = [ { label = "Yes", next = "bunny" }, { label = "No", next = "flower" } ]
[[decision]]
after = "bunny"
prompt = "Smell the flower?"
timeout = 8
options = [ { label = "Yes", next = "flower" }, { label = "No", next = "end" } ]
"#;

/// What the demo did with its interactive film.
#[derive(Debug, Clone, Serialize)]
pub struct InteractiveDemo {
    /// Its content id.
    pub content_id: String,
    /// Whether this run published it (false: found on the chain).
    pub published_now: bool,
    /// Verified bytes read back from the chain.
    pub verified_bytes: usize,
    /// Fees of its publish, sat (this run's publish only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_sat: Option<u64>,
    /// Seconds spent cutting and encoding its clips (this run's publish only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encode_seconds: Option<f64>,
    /// Its clips, in stream order.
    pub clips: Vec<String>,
    /// Where the player shows it.
    pub watch_url: String,
}

impl fmt::Display for InteractiveDemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "interactive film {} ({} verified bytes, clips {}",
            self.content_id,
            self.verified_bytes,
            self.clips.join(", ")
        )?;
        if let (Some(fee), Some(s)) = (self.fee_sat, self.encode_seconds) {
            write!(f, "; encoded in {s:.1} s, {fee} sat in fees")?;
        }
        write!(f, "): {}", self.watch_url)
    }
}

/// The clips in stream order (the first listed starts).
const CLIPS: [&str; 4] = ["meadow", "bunny", "flower", "end"];

fn find(index_path: &Path, d: &Devnet) -> anyhow::Result<Option<bitcoin::Txid>> {
    let mut ix = Indexer::open(index_path).context("opening the index")?;
    ix.poll(d).context("indexing the devnet")?;
    Ok(ix
        .snapshot()
        .summaries()
        .iter()
        .find(|s| {
            s.header.title.as_deref() == Some(TITLE)
                && matches!(s.state, ContentState::Complete | ContentState::Verified)
        })
        .map(|s| s.id))
}

/// Where the demo is and what it publishes with.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The demo's data directory.
    pub datadir: &'a Path,
    /// Its index.
    pub index_path: &'a Path,
    /// The player's address.
    pub listen: std::net::SocketAddr,
    /// The carrier.
    pub carrier: Carrier,
}

/// Publish (or find) the interactive film on `d` with `clip`, the bundled clip's bytes, mine,
/// and read it back through the index.
pub fn run(
    place: Place<'_>,
    d: &Devnet,
    clip: &[u8],
    quiet: bool,
) -> anyhow::Result<InteractiveDemo> {
    let Place {
        datadir,
        index_path,
        listen,
        carrier,
    } = place;
    let manifest = datadir.join("bunny-paths.toml");
    let (id, published) = match find(index_path, d)? {
        Some(id) => (id, None),
        None => {
            std::fs::create_dir_all(datadir)?;
            std::fs::write(datadir.join("bigbuckbunny.mp4"), clip)
                .context("writing the bundled clip")?;
            std::fs::write(&manifest, MANIFEST).context("writing the demo's manifest")?;
            let rails = crate::rails::RailArgs::default();
            let paying = Paying {
                network: bitcoin::Network::Regtest,
                rails: &rails,
            };
            let film = FilmArgs {
                interactive: Some(manifest.clone()),
                kbps: Some(24.0),
                budget_bytes: None,
                budget_sats: None,
                width: Some(320),
                height: None,
                fps: Some(12),
                cpu_used: 8,
                audio_kbps: 8.0,
                no_audio: false,
                keyframe_every: media::encode::DEFAULT_KEYFRAME_SECONDS,
            };
            let poster = crate::poster::PosterArgs::default();
            let req = Request {
                manifest: &manifest,
                title: None,
                carrier,
                layout: wallet::Layout::FanOut,
                feerate: FeeRate::from_sat_per_vb(1).context("fee rate")?,
                poster: &poster,
                film: &film,
                psbt: None,
                paying: &paying,
            };
            let out = publish(datadir, &Chain::Devnet(d.clone()), &req, quiet)?;
            d.mine(1, &d.faucet_script())?;
            (out.content_id.parse().context("content id")?, Some(out))
        }
    };
    let mut ix = Indexer::open(index_path).context("opening the index")?;
    ix.poll(d).context("indexing the devnet")?;
    let bytes = ix
        .snapshot()
        .read_all(&id)
        .context("reading the interactive film back from the index")?;
    let film = published.as_ref().and_then(|p| p.interactive.clone());
    if let Some(f) = &film {
        let encoded = std::fs::read(&f.stream).context("reading the encoded stream")?;
        anyhow::ensure!(
            bytes == encoded,
            "the interactive film read back from the chain differs from what was encoded"
        );
    }
    Ok(InteractiveDemo {
        content_id: id.to_string(),
        published_now: published.is_some(),
        verified_bytes: bytes.len(),
        fee_sat: published.as_ref().map(|p| p.fee_sat),
        encode_seconds: film.as_ref().map(|f| f.encode_seconds),
        clips: CLIPS.iter().map(|c| (*c).to_string()).collect(),
        watch_url: format!("http://{listen}/watch/{id}"),
    })
}
