//! `bitflix demo`: the whole path on the embedded devnet. Start a kernel-validated regtest chain,
//! fund a publisher, publish the bundled clip, mine, index it with the CVP reader and serve the
//! player. A second run reuses the chain and the published film.

use anyhow::Context;
use bitcoin::FeeRate;
use clap::Args;
use cvp::Carrier;
use devnet::{Devnet, DevnetConfig};
use index::{ContentState, Indexer};
use serde::Serialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// 5.3 s of "Big Buck Bunny" (c) Blender Foundation, CC BY 3.0 (see NOTICE), bundled so the demo
/// needs nothing beside the binary.
const CLIP: &[u8] = include_bytes!("../../../../assets/bigbuckbunny.mp4");
const TITLE: &str = "Big Buck Bunny";

/// Run the demo.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the devnet, the key and the journals live.
    #[arg(long, default_value = "bitflix-demo")]
    datadir: PathBuf,
    /// Address of the player.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Do not try to open a browser.
    #[arg(long)]
    no_open: bool,
    /// Publish and index, print the result, and exit without serving (for scripts and tests).
    #[arg(long)]
    no_serve: bool,
    /// Carrier for the clip and the interactive film.
    #[arg(long, default_value = "envelope")]
    carrier: Carrier,
}

/// What the demo did.
#[derive(Debug, Serialize)]
pub struct DemoOut {
    /// The film's content id.
    pub content_id: String,
    /// Whether this run published it (false: found on the chain from an earlier run).
    pub published_now: bool,
    /// Chain height at the end.
    pub height: u32,
    /// Verified bytes served.
    pub verified_bytes: usize,
    /// The poster's bytes in the header the index read back (0: none).
    pub poster_bytes: usize,
    /// The player URL (when serving).
    pub url: Option<String>,
    /// The interactive film made from the same clip.
    pub interactive: super::interactive::demo::InteractiveDemo,
    /// The game, from the npm registry, as one bundle.
    pub game: super::game::GameDemo,
}

impl fmt::Display for DemoOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "film {} ({} verified bytes, a {} byte poster) at height {}",
            self.content_id, self.verified_bytes, self.poster_bytes, self.height
        )?;
        if let Some(u) = &self.url {
            write!(f, ", served at {u}")?;
        }
        write!(f, "\n{}\n{}", self.interactive, self.game)
    }
}

fn step(quiet: bool, n: u32, text: &str) {
    if !quiet {
        eprintln!("[{n}/7] {text}");
    }
}

pub fn run(g: &super::Global, args: DemoArgs) -> anyhow::Result<DemoOut> {
    if g.network() != bitcoin::Network::Regtest {
        anyhow::bail!("bitflix demo runs the embedded devnet, a regtest chain: drop --network (or BITFLIX_NETWORK)");
    }
    let q = g.json;
    step(
        q,
        1,
        "starting the embedded devnet (every block validated by Bitcoin Core's kernel)",
    );
    let d = Devnet::open(&args.datadir.join("devnet"), DevnetConfig::default())
        .context("opening the devnet")?;
    let index_path = args.datadir.join("index.redb");
    // The demo's index is derived data: one written by an older layout is rebuilt, not refused.
    if let Err(index::IndexError::Store(index::store::StoreError::SchemaMismatch { .. })) =
        Indexer::open(&index_path)
    {
        std::fs::remove_file(&index_path)
            .with_context(|| format!("removing the old index {}", index_path.display()))?;
    }
    let existing = {
        let mut ix = Indexer::open(&index_path).context("opening the index")?;
        ix.poll(&d).context("indexing the devnet")?;
        ix.snapshot()
            .summaries()
            .iter()
            .find(|s| {
                s.header.title.as_deref() == Some(TITLE)
                    && matches!(s.state, ContentState::Complete | ContentState::Verified)
            })
            .map(|s| s.id)
    };
    let (id, published_now) = match existing {
        Some(id) => {
            step(q, 2, "the film is already on this chain: reusing it");
            step(q, 3, "skipping the publish");
            (id, false)
        }
        None => {
            let clip = args.datadir.join("bigbuckbunny.mp4");
            std::fs::create_dir_all(&args.datadir)?;
            std::fs::write(&clip, CLIP).context("writing the bundled clip")?;
            step(q, 2, &format!("encoding the {} byte clip to AV1 + Opus (libaom two-pass, 320 px, 12 fps, 24+8 kbit/s)", CLIP.len()));
            let cfg = media::EncodeConfig {
                video_kbps: 24.0,
                ..Default::default()
            };
            let (stream, report) = media::encode(&clip, &cfg).context("encoding the clip")?;
            let cvpm = args.datadir.join("bigbuckbunny.cvpm");
            std::fs::write(&cvpm, stream.encode()).context("writing the encoded stream")?;
            step(q, 3, &format!("publishing {} bytes ({:.1} kbit/s) with the {} carrier, funded by the devnet faucet", report.bytes, report.kbps, args.carrier));
            let feerate = FeeRate::from_sat_per_vb(1).context("fee rate")?;
            let poster = crate::poster::choose(
                &crate::poster::PosterArgs::default(),
                &clip,
                "video/mp4",
                args.carrier,
                Some((report.width, report.height)),
            )?;
            let what = super::publish::FileToPublish {
                file: &cvpm,
                title: TITLE,
                media_type: "video/x-cvpm",
                carrier: args.carrier,
                feerate,
                layout: wallet::Layout::FanOut,
                poster: &poster,
            };
            let out = super::publish::publish_file(&args.datadir, &d, &what, q)?;
            (out.content_id.parse().context("content id")?, true)
        }
    };
    step(
        q,
        4,
        "mining and indexing: every segment checked against the header's Merkle root and lineage",
    );
    d.mine(1, &d.faucet_script())?;
    let (bytes, poster_bytes) = {
        let mut ix = Indexer::open(&index_path).context("opening the index")?;
        ix.poll(&d).context("indexing the devnet")?;
        let snap = ix.snapshot();
        let summary = snap
            .summary(&id)
            .context("the published film was not found by the scanner")?;
        let poster_bytes = summary.header.poster.as_ref().map_or(0, Vec::len);
        let bytes = snap
            .read_all(&id)
            .context("reading the film back from the index")?;
        (bytes, poster_bytes)
    };
    let encoded = std::fs::read(args.datadir.join("bigbuckbunny.cvpm"))
        .context("reading the encoded stream")?;
    anyhow::ensure!(
        bytes == encoded,
        "the film read back from the chain differs from what was encoded"
    );
    step(
        q,
        5,
        "an interactive film from the same clip: four clips, two decisions (encoded, published, mined, read back)",
    );
    let place = super::interactive::demo::Place {
        datadir: &args.datadir,
        index_path: &index_path,
        listen: args.listen,
        carrier: args.carrier,
    };
    let interactive = super::interactive::demo::run(place, &d, CLIP, q)?;
    step(
        q,
        6,
        "a game from the npm registry (2048, game-2048 0.0.7, MIT) as one bundle: published, mined, read back",
    );
    let game = super::game::run(&args.datadir, &index_path, args.listen, args.carrier, &d, q)?;
    let mut out = DemoOut {
        content_id: id.to_string(),
        published_now,
        height: d.tip().height,
        verified_bytes: bytes.len(),
        poster_bytes,
        url: None,
        interactive,
        game,
    };
    if args.no_serve {
        step(q, 7, "done (--no-serve)");
        return Ok(out);
    }
    let choose = out.interactive.watch_url.clone();
    let play = out.game.play_url.clone();
    let watch = format!("http://{}/watch/{id}", args.listen);
    let no_open = args.no_open;
    let served = super::serve::serve_blocking(
        Arc::new(d),
        index::Indexer::open(&index_path)?,
        args.listen,
        server::View::default(),
        |url| {
            step(
                q,
                7,
                &format!("serving the player at {url} - watch: {watch}, the interactive film: {choose}, the game: {play} (Ctrl-C to stop)"),
            );
            if !no_open {
                let _ = std::process::Command::new("xdg-open")
                    .arg(&watch)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn();
            }
        },
    )?;
    out.url = Some(served.url);
    Ok(out)
}
