//! One BitTorrent client (a librqbit session) that seeds swarms and fetches committed contents.

use crate::fetch::{Fetch, FetchStatus};
use crate::swarm::SwarmFiles;
use crate::Error;
use cvp::Commitment;
use librqbit::{
    AddTorrent, AddTorrentOptions, ListenerMode, ListenerOptions, ManagedTorrent, Session,
    SessionOptions,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a [`Node`] runs.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Where fetched swarms are written, one folder per infohash.
    pub dir: PathBuf,
    /// Where it accepts peers (TCP); `None`: it only connects out (and seeds to those it reaches).
    pub listen: Option<SocketAddr>,
    /// Longest content it fetches (a hostile record may commit to a terabyte).
    pub max_length: u64,
    /// Most swarms it follows at once.
    pub max_swarms: usize,
    /// Peers asked for every swarm besides the record's seed.
    pub peers: Vec<SocketAddr>,
    /// How long a fetch waits between tries when no peer answered.
    pub retry: Duration,
}

impl NodeOptions {
    /// A node writing under `dir`, listening nowhere, fetching up to 4 GiB, 64 swarms.
    pub fn new(dir: impl Into<PathBuf>) -> NodeOptions {
        NodeOptions {
            dir: dir.into(),
            listen: None,
            max_length: 4 << 30,
            max_swarms: 64,
            peers: Vec::new(),
            retry: Duration::from_secs(2),
        }
    }
}

/// A BitTorrent client: DHT, trackers, local discovery and UPnP off.
#[derive(Clone)]
pub struct Node {
    session: Arc<Session>,
    opts: NodeOptions,
    fetches: Arc<Mutex<HashMap<Key, Arc<Fetch>>>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("opts", &self.opts)
            .field("listen", &self.listen_addr())
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Starts the client (inside a Tokio runtime).
    pub async fn start(opts: NodeOptions) -> Result<Node, Error> {
        std::fs::create_dir_all(&opts.dir)
            .map_err(|e| Error::io("creating the swarms' folder", &opts.dir, e))?;
        let listen = opts.listen.map(|listen_addr| ListenerOptions {
            mode: ListenerMode::TcpOnly,
            listen_addr,
            enable_upnp_port_forwarding: false,
            ..ListenerOptions::default()
        });
        let session = Session::new_with_opts(
            opts.dir.clone(),
            SessionOptions {
                dht: None,
                disable_trackers: true,
                disable_local_service_discovery: true,
                fastresume: false,
                persistence: None,
                listen,
                ..SessionOptions::default()
            },
        )
        .await
        .map_err(|e| Error::library("starting the session", e))?;
        Ok(Node {
            session,
            opts,
            fetches: Arc::default(),
        })
    }

    /// Where it accepts peers, once listening.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.session.listen_addr()
    }

    /// Seeds the swarm `files` from its folder: librqbit checks every piece of the files on disk
    /// first, and a swarm whose files do not match its torrent is an error.
    pub async fn seed(&self, files: &SwarmFiles) -> Result<(), Error> {
        self.seed_torrent(&files.dir, files.torrent.clone()).await
    }

    /// Seeds the swarm [`make`](crate::make) wrote into `dir` (its `swarm.torrent` beside its two
    /// files), as [`Node::seed`] does.
    pub async fn seed_dir(&self, dir: &std::path::Path) -> Result<(), Error> {
        let path = dir.join(crate::TORRENT);
        let torrent = std::fs::read(&path).map_err(|e| Error::io("reading", &path, e))?;
        self.seed_torrent(dir, torrent).await
    }

    async fn seed_torrent(&self, dir: &std::path::Path, torrent: Vec<u8>) -> Result<(), Error> {
        let opts = AddTorrentOptions {
            output_folder: Some(dir.to_string_lossy().into_owned()),
            overwrite: true,
            ..AddTorrentOptions::default()
        };
        let handle = self
            .session
            .add_torrent(AddTorrent::from_bytes(torrent), Some(opts))
            .await
            .map_err(|e| Error::library("adding the swarm", e))?
            .into_handle()
            .ok_or_else(|| Error::Refused("the library did not keep the swarm".into()))?;
        handle
            .wait_until_initialized()
            .await
            .map_err(|e| Error::library("checking the files", e))?;
        if !is_finished(&handle) {
            return Err(Error::Refused(format!(
                "the files in {} do not match their torrent",
                dir.display()
            )));
        }
        Ok(())
    }

    /// The fetch of `c`: the one already following this record, or a new one, which asks the
    /// record's seed and this node's peers again and again until one answers. It never blocks.
    /// When the node follows as many fetches as it may, refused ones make room first, then the
    /// one that has waited longest for peers; ready ones are never dropped.
    pub fn fetch(&self, c: &Commitment) -> Result<Arc<Fetch>, Error> {
        if c.length > self.opts.max_length {
            return Err(Error::TooLong {
                length: c.length,
                max: self.opts.max_length,
            });
        }
        let key = Key::of(c);
        let mut fetches = self
            .fetches
            .lock()
            .map_err(|_| Error::Refused("a fetch panicked".into()))?;
        if let Some(f) = fetches.get(&key) {
            return Ok(f.clone());
        }
        if fetches.len() >= self.opts.max_swarms {
            let evict = fetches
                .iter()
                .filter_map(|(k, f)| match f.status() {
                    FetchStatus::Refused(_) => Some((0, None, *k)),
                    FetchStatus::Waiting { since, .. } => Some((1, Some(since), *k)),
                    _ => None,
                })
                .min();
            let Some((_, _, k)) = evict else {
                return Err(Error::Full(fetches.len()));
            };
            if let Some(f) = fetches.remove(&k) {
                f.cancel();
            }
        }
        let fetch = Arc::new(Fetch::new(c.clone()));
        fetches.insert(key, fetch.clone());
        let mut peers: Vec<SocketAddr> = c.seed.into_iter().collect();
        peers.extend(self.opts.peers.iter().copied());
        let node = self.clone();
        let f = fetch.clone();
        tokio::spawn(async move { node.run(f, peers).await });
        Ok(fetch)
    }

    /// Adds the swarm by infohash with `peers`, until one answers or the fetch is dropped, then
    /// hands it to the fetch.
    async fn run(&self, fetch: Arc<Fetch>, peers: Vec<SocketAddr>) {
        let c = fetch.commitment().clone();
        let dir = self.opts.dir.join(hex::encode(c.infohash));
        let magnet = format!("magnet:?xt=urn:btih:{}", hex::encode(c.infohash));
        while !fetch.is_cancelled() {
            let opts = AddTorrentOptions {
                output_folder: Some(dir.to_string_lossy().into_owned()),
                overwrite: true,
                initial_peers: Some(peers.clone()),
                ..AddTorrentOptions::default()
            };
            let added = self
                .session
                .add_torrent(AddTorrent::from_url(magnet.as_str()), Some(opts))
                .await;
            match added.map(|r| r.into_handle()) {
                Ok(Some(handle)) => {
                    let mut refused = fetch.attach(handle.clone()).await;
                    if !refused {
                        fetch.follow(self.opts.retry).await;
                        refused = matches!(fetch.status(), FetchStatus::Refused(_));
                    }
                    if (refused || fetch.is_cancelled()) && !self.swarm_wanted(&c.infohash) {
                        // The bytes of this swarm serve no record this node follows.
                        let id = librqbit::api::TorrentIdOrHash::Id(handle.id());
                        let _ = self.session.delete(id, true).await;
                    }
                    return;
                }
                Ok(None) | Err(_) => {
                    if peers.is_empty() {
                        fetch.set_waiting("no seed address and no peers to ask");
                    }
                    tokio::time::sleep(self.opts.retry).await;
                }
            }
        }
    }

    /// Another record this node follows, not refused, names the swarm `infohash` (records may
    /// share a swarm: a stranger's record can name a publisher's infohash with another root, and
    /// its refusal must not take the publisher's bytes away).
    fn swarm_wanted(&self, infohash: &[u8; 20]) -> bool {
        self.fetches.lock().is_ok_and(|f| {
            f.iter().any(|(k, f)| {
                k.infohash == *infohash && !matches!(f.status(), FetchStatus::Refused(_))
            })
        })
    }
}

/// What makes two records the same fetch: the swarm and what is committed of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    infohash: [u8; 20],
    root: [u8; 32],
    length: u64,
}

impl Key {
    fn of(c: &Commitment) -> Key {
        Key {
            infohash: c.infohash,
            root: c.root,
            length: c.length,
        }
    }
}

/// Every selected file is on disk and checked.
pub(crate) fn is_finished(handle: &ManagedTorrent) -> bool {
    let s = handle.stats();
    s.finished || s.progress_bytes >= s.total_bytes
}
