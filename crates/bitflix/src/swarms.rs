//! The gateway's BitTorrent side (`server::Swarms`): a `torrent::Node` on a runtime of its own,
//! so hashing pieces and talking to peers never takes the gateway's workers. It fetches what
//! committed contents the pages ask for into `DATADIR/bittorrent` (seeding what it has), and seeds
//! the publisher's own swarms from `DATADIR/swarms` (`bitflix publish --carrier commitment`).

use anyhow::Context;
use cvp::Commitment;
use server::SwarmState;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;

/// The folder of the publisher's swarms, each in a folder named by its pieces root.
pub fn swarms_dir(datadir: &Path) -> std::path::PathBuf {
    datadir.join("swarms")
}

/// How `bitflix serve` runs its BitTorrent client.
#[derive(Debug, Clone, Default)]
pub struct SwarmOptions {
    /// Where it accepts peers (and so seeds); `None`: it only connects out.
    pub listen: Option<SocketAddr>,
    /// Peers asked for every swarm besides a record's seed.
    pub peers: Vec<SocketAddr>,
}

/// A BitTorrent client serving the gateway.
pub struct TorrentSwarms {
    node: torrent::Node,
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for TorrentSwarms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TorrentSwarms")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl TorrentSwarms {
    /// Starts the client for `datadir`, and seeds every swarm in `DATADIR/swarms`; a swarm whose
    /// files do not match its torrent is reported and left out.
    pub fn start(datadir: &Path, opts: &SwarmOptions) -> anyhow::Result<TorrentSwarms> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bittorrent")
            .enable_all()
            .build()
            .context("starting the BitTorrent runtime")?;
        let mut node_opts = torrent::NodeOptions::new(datadir.join("bittorrent"));
        node_opts.listen = opts.listen;
        node_opts.peers.clone_from(&opts.peers);
        let node = rt
            .block_on(torrent::Node::start(node_opts))
            .context("starting the BitTorrent client")?;
        let swarms = swarms_dir(datadir);
        let dirs = std::fs::read_dir(&swarms)
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default();
        for dir in dirs.iter().filter(|d| d.join(torrent::TORRENT).is_file()) {
            match rt.block_on(node.seed_dir(dir)) {
                Ok(()) => tracing::info!(swarm = %dir.display(), "seeding"),
                Err(e) => tracing::warn!(swarm = %dir.display(), %e, "not seeded"),
            }
        }
        Ok(TorrentSwarms { node, rt: Some(rt) })
    }

    /// Where it accepts peers.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.node.listen_addr()
    }

    fn fetch(&self, c: &Commitment) -> Result<std::sync::Arc<torrent::Fetch>, torrent::Error> {
        // A new fetch spawns its task on this client's runtime, whatever thread asks.
        let _in = self.rt.as_ref().map(tokio::runtime::Runtime::enter);
        self.node.fetch(c)
    }
}

impl Drop for TorrentSwarms {
    fn drop(&mut self) {
        // It may be dropped on the gateway's runtime, where a blocking shutdown is not allowed.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl server::Swarms for TorrentSwarms {
    fn state(&self, c: &Commitment) -> SwarmState {
        let f = match self.fetch(c) {
            Ok(f) => f,
            Err(torrent::Error::Full(n)) => {
                return SwarmState::Waiting(format!(
                    "this gateway follows {n} swarms, as many as it may, none of them done waiting"
                ))
            }
            Err(e) => return SwarmState::Refused(e.to_string()),
        };
        match f.status() {
            torrent::FetchStatus::Ready { bad_piece, .. } => SwarmState::Fetching {
                checked: f.checked_prefix(),
                stopped: bad_piece.map(|i| {
                    format!(
                        "piece {i} of the swarm fails its layer hash, so the swarm holds other bytes than the committed ones from there (refused for good)"
                    )
                }),
            },
            torrent::FetchStatus::Refused(why) => SwarmState::Refused(why),
            torrent::FetchStatus::Waiting { why, .. } => SwarmState::Waiting(why),
            _ => SwarmState::Waiting("starting".into()),
        }
    }

    fn read(&self, c: &Commitment, range: Range<u64>) -> Result<Vec<u8>, String> {
        self.fetch(c)
            .and_then(|f| f.read_checked_prefix(range))
            .map_err(|e| e.to_string())
    }
}
