//! `bitflix serve`: scan the chain into a catalog and serve the player.

use anyhow::Context;
use chain::{ChainBackend, ChainEvent, ChainSpec};
use clap::Args;
use index::Indexer;
use serde::Serialize;
use std::fmt;
use std::net::SocketAddr;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

/// Serve the catalog and player.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The chain: devnet:DIR, esplora:URL or core:URL (Bitcoin Core: http://[user:pass@]host:port[?cookie=PATH&zmq=tcp://host:port&rest=0]).
    /// Repeat for several backends of the same chain (as for `bitflix index`).
    #[arg(long, default_value = "devnet:bitflix-data/devnet")]
    chain: Vec<ChainSpec>,
    /// The first block height a new index scans (as for `bitflix index`).
    #[arg(long, value_name = "N")]
    from_height: Option<u32>,
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A publisher you trust: its key (64 hex digits) or fingerprint (at least 16). Repeat for
    /// several. With any, the catalog lists only their contents (the page can still show all).
    #[arg(long = "trust", value_name = "KEY")]
    trust: Vec<String>,
    /// BitTorrent, for contents behind a commitment: where this gateway accepts peers, e.g.
    /// 0.0.0.0:6881. It seeds there the publisher's own swarms (DATADIR/swarms, written by
    /// `bitflix publish --carrier commitment`) and what it has fetched. Without it, it fetches
    /// from peers but accepts none.
    #[arg(long, value_name = "ADDR")]
    bittorrent_listen: Option<SocketAddr>,
    /// A BitTorrent peer asked for every swarm, besides the seed a record names. Repeat for
    /// several (DHT and trackers are off).
    #[arg(long = "bittorrent-peer", value_name = "ADDR")]
    bittorrent_peers: Vec<SocketAddr>,
    /// Do not fetch from BitTorrent: contents behind a commitment show where their bytes are.
    #[arg(long, conflicts_with_all = ["bittorrent_listen", "bittorrent_peers"])]
    no_bittorrent: bool,
}

/// What `serve` did once it stopped.
#[derive(Debug, Serialize)]
pub struct ServeOut {
    /// The URL it served.
    pub url: String,
}

impl fmt::Display for ServeOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stopped serving {}", self.url)
    }
}

/// Open the index at `path`: a new one starts at `from`, else at the network's default height
/// (for the chain `backend` serves, whose genesis tells a public network from a custom one).
pub fn open_index(
    path: &std::path::Path,
    backend: &dyn ChainBackend,
    from: Option<u32>,
) -> anyhow::Result<Indexer> {
    let default = match from {
        Some(_) => 0,
        None => {
            let genesis = backend
                .block_hash(0)
                .context("asking the backend for the genesis block")?;
            let tip = backend.tip().context("asking the backend for its tip")?;
            index::default_start_height(backend.network(), genesis, tip.height)
        }
    };
    Ok(Indexer::open_from(path, from, default)?)
}

/// One backend of several, as `index` and `serve` print it.
pub fn backend_line(b: &chain::BackendStatus) -> String {
    let state = match &b.health {
        chain::Health::Healthy if b.in_use => "in use".to_string(),
        chain::Health::Healthy => "healthy".to_string(),
        chain::Health::Down { error } => format!("down ({error})"),
        chain::Health::Disagrees {
            height,
            ours,
            theirs,
            reason,
        } => format!(
            "not used: it gave block {theirs}{} where the chain holds {ours} ({reason})",
            height.map_or(String::new(), |h| format!(" at height {h}"))
        ),
        _ => "unknown".to_string(),
    };
    format!("backend {}: {state}", b.chain)
}

/// Wait for the backend's next change (pushed by ZMQ or the in-process devnet, else polled), then
/// take every change already queued, so that a burst costs one index pass. Without a change
/// stream, or when it ends, wait `every`. False when nothing came.
pub fn next_change(changes: Option<&Receiver<ChainEvent>>, every: Duration) -> bool {
    match changes {
        Some(rx) => match rx.recv_timeout(every) {
            Ok(_) => {
                while rx.try_recv().is_ok() {}
                true
            }
            Err(_) => false,
        },
        None => {
            std::thread::sleep(every);
            false
        }
    }
}

/// Keep `catalog` in step with `backend`, through the persistent index, on a thread: an index
/// pass on each change the backend reports, and at least every `every`.
pub fn follow(
    backend: Arc<dyn ChainBackend>,
    mut ix: Indexer,
    published: index::Published,
    every: Duration,
) {
    let changes = Arc::clone(&backend)
        .changes(every)
        .inspect_err(|e| tracing::warn!("no change stream ({e}): polling every {every:?}"))
        .ok();
    let _ = std::thread::Builder::new()
        .name("indexer".into())
        .spawn(move || loop {
            next_change(changes.as_ref(), every);
            match ix.poll(backend.as_ref()) {
                Ok(_) => published.set(ix.snapshot()),
                Err(e) => tracing::warn!("index: {e}"),
            }
        });
}

/// Serve until Ctrl-C. Prints the URL first.
pub fn serve_blocking(
    backend: Arc<dyn ChainBackend>,
    mut ix: Indexer,
    listen: SocketAddr,
    view: server::View,
    announce: impl FnOnce(&str),
) -> anyhow::Result<ServeOut> {
    let mut bar = crate::progress::ScanBar::new(false);
    let polled = ix.poll_with(backend.as_ref(), &mut |p| bar.update(p));
    bar.finish();
    polled.context("indexing the chain")?;
    let published = index::Published::new(ix.snapshot());
    follow(
        Arc::clone(&backend),
        ix,
        published.clone(),
        Duration::from_secs(2),
    );
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let url = format!("http://{listen}/");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        announce(&url);
        server::serve(listener, published, view, crate::signal::shutdown())
            .await
            .context("serving")
    })?;
    Ok(ServeOut { url })
}

pub fn run(g: &super::Global, args: ServeArgs) -> anyhow::Result<ServeOut> {
    let (backend, _multi) = crate::backend::open_all(&args.chain, g.network())?;
    std::fs::create_dir_all(&g.datadir)
        .with_context(|| format!("creating {}", g.datadir.display()))?;
    let ix = open_index(
        &g.datadir.join("index.redb"),
        backend.as_ref(),
        args.from_height,
    )?;
    let mut keys = Vec::new();
    for key in &args.trust {
        keys.push(server::valid_key(key).with_context(|| {
            format!(
                "--trust {key}: a publisher key is 64 hex digits, or its fingerprint of at least 16"
            )
        })?);
    }
    // Pins made from the watch page are kept beside the index.
    let pins = g.datadir.join("trusted-publishers");
    let viewer =
        crate::viewer::ViewerSide::new(g.datadir.clone(), g.network(), Arc::clone(&backend));
    let mut view = server::View::with_file(keys, pins.clone())
        .with_context(|| format!("reading {}", pins.display()))?
        .with_viewer(Arc::new(viewer));
    if !args.no_bittorrent {
        let opts = crate::swarms::SwarmOptions {
            listen: args.bittorrent_listen,
            peers: args.bittorrent_peers.clone(),
        };
        let swarms = crate::swarms::TorrentSwarms::start(&g.datadir, &opts)?;
        if let Some(a) = swarms.listen_addr() {
            eprintln!("BitTorrent: accepting peers on {a}");
        }
        view = view.with_swarms(Arc::new(swarms));
    }
    serve_blocking(backend, ix, args.listen, view, |url| {
        println!("serving {url} (Ctrl-C to stop)")
    })
}
