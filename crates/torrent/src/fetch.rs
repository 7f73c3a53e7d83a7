//! One committed content fetched from its swarm: the swarm's files checked against the record,
//! its piece layer against the pieces root, and each piece of the stream against the layer before
//! a byte of it is returned (docs/cvp.md, "Commitments", the reader's steps).

use crate::swarm::{LAYER, STREAM};
use crate::Error;
use cvp::{pieces, Commitment};
use librqbit::ManagedTorrent;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;

/// Longest piece a swarm may have: a read holds each piece it touches whole, to check it.
pub const MAX_PIECE_LENGTH: u64 = 16 << 20;

/// Where a fetch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchStatus {
    /// No peer has given the swarm's files yet.
    Waiting {
        /// Since when.
        since: Instant,
        /// What it waits for.
        why: String,
    },
    /// The piece layer is checked: pieces are read and checked as they are asked for.
    Ready {
        /// The swarm's piece length.
        piece_length: u64,
        /// Bytes of the swarm's files on disk so far (both files, checked by the library's
        /// SHA-1; each piece is checked against the layer when read).
        have_bytes: u64,
        /// Both files' bytes.
        total_bytes: u64,
        /// The first piece found to fail its layer hash: it is refused for good (no peer of
        /// this swarm can give another), so the checked prefix ends before it.
        bad_piece: Option<u64>,
    },
    /// The swarm is not the committed content's: nothing of it is served.
    Refused(String),
}

#[derive(Clone)]
enum State {
    Waiting { since: Instant, why: String },
    Ready(Ready),
    Refused(String),
}

#[derive(Clone)]
struct Ready {
    handle: Arc<ManagedTorrent>,
    /// The `stream` file on disk, where the library writes it.
    stream_path: std::path::PathBuf,
    /// Its index among the torrent's files.
    stream_file: usize,
    layer: Arc<Vec<[u8; 32]>>,
    piece_length: u64,
    /// The pieces a read has checked against the layer: later reads take only the bytes they
    /// need of them, unhashed. What this trusts: that the fetch's files are not changed under the
    /// process (a disk fault, another writer) once checked, as the index trusts its store.
    checked: Arc<Mutex<Vec<bool>>>,
}

/// A committed content's fetch, shared by every reader of it.
pub struct Fetch {
    commitment: Commitment,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    cancelled: AtomicBool,
    /// The first piece that failed its layer hash, or `u64::MAX`.
    bad_piece: AtomicU64,
}

impl std::fmt::Debug for Fetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetch")
            .field("commitment", &self.commitment)
            .field("status", &self.status())
            .finish()
    }
}

impl Fetch {
    pub(crate) fn new(commitment: Commitment) -> Fetch {
        Fetch {
            commitment,
            state: Mutex::new(State::Waiting {
                since: Instant::now(),
                why: "no peer has answered yet".into(),
            }),
            changed: watch::channel(0).0,
            cancelled: AtomicBool::new(false),
            bad_piece: AtomicU64::new(u64::MAX),
        }
    }

    /// The node dropped it: its tries stop.
    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The record this fetch follows.
    pub fn commitment(&self) -> &Commitment {
        &self.commitment
    }

    fn state(&self) -> State {
        match self.state.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set(&self, s: State) {
        match self.state.lock() {
            Ok(mut g) => *g = s,
            Err(p) => *p.into_inner() = s,
        }
        self.changed.send_modify(|v| *v += 1);
    }

    pub(crate) fn set_waiting(&self, why: &str) {
        if let State::Waiting { since, .. } = self.state() {
            self.set(State::Waiting {
                since,
                why: why.into(),
            });
        }
    }

    /// Where it stands.
    pub fn status(&self) -> FetchStatus {
        match self.state() {
            State::Waiting { since, why } => FetchStatus::Waiting { since, why },
            State::Refused(r) => FetchStatus::Refused(r),
            State::Ready(r) => {
                let s = r.handle.stats();
                let bad = self.bad_piece.load(Ordering::Relaxed);
                FetchStatus::Ready {
                    piece_length: r.piece_length,
                    have_bytes: s.progress_bytes,
                    total_bytes: s.total_bytes,
                    bad_piece: (bad != u64::MAX).then_some(bad),
                }
            }
        }
    }

    /// Takes the swarm a peer gave: checks its files and its layer. True when it is refused.
    pub(crate) async fn attach(&self, handle: Arc<ManagedTorrent>) -> bool {
        match self.check(&handle).await {
            Ok(ready) => {
                self.set(State::Ready(ready));
                false
            }
            Err(why) => {
                tracing::warn!(infohash = %hex::encode(self.commitment.infohash), %why, "swarm refused");
                self.set(State::Refused(why));
                true
            }
        }
    }

    /// The reader's steps 1 and 2: the info dictionary's two files against the record (the
    /// library has checked it against the infohash), then the layer against the root.
    async fn check(&self, handle: &Arc<ManagedTorrent>) -> Result<Ready, String> {
        let c = &self.commitment;
        let (files, piece_length) = handle
            .with_metadata(|m| {
                let files: Vec<(String, u64, bool)> = m
                    .file_infos
                    .iter()
                    .map(|f| {
                        (
                            f.relative_filename.to_string_lossy().into_owned(),
                            f.len,
                            f.attrs.padding,
                        )
                    })
                    .collect();
                (files, u64::from(m.info.info().piece_length))
            })
            .map_err(|e| format!("no metadata: {e}"))?;
        if piece_length > MAX_PIECE_LENGTH {
            // A read holds whole pieces in memory to check them.
            return Err(format!(
                "its piece length is {piece_length} bytes; this reader takes at most {MAX_PIECE_LENGTH}"
            ));
        }
        // Two files by name, besides BEP 47 padding (never written, each under a piece).
        let named: Vec<&str> = files
            .iter()
            .filter(|f| !f.2)
            .map(|f| f.0.as_str())
            .collect();
        let mut sorted = named.clone();
        sorted.sort_unstable();
        if sorted != [LAYER, STREAM] || files.iter().any(|f| f.2 && f.1 >= piece_length) {
            return Err(format!(
                "its files are {named:?}, not exactly `{STREAM}` and `{LAYER}` (and padding)"
            ));
        }
        let index = |name: &str| files.iter().position(|f| !f.2 && f.0 == name).unwrap_or(0);
        let (stream_file, layer_file) = (index(STREAM), index(LAYER));
        let pieces = pieces::piece_count(c.length, piece_length).map_err(|e| e.to_string())?;
        let (stream_len, layer_len) = (files[stream_file].1, files[layer_file].1);
        if stream_len != c.length || layer_len != pieces.saturating_mul(32) {
            return Err(format!(
                "its files are {stream_len} and {layer_len} bytes; the record commits to {} bytes, whose layer is {} bytes",
                c.length,
                pieces.saturating_mul(32)
            ));
        }
        self.set_waiting("fetching the piece layer");
        let mut layer_bytes = Vec::new();
        handle
            .clone()
            .stream(layer_file)
            .await
            .map_err(|e| format!("reading the piece layer: {e}"))?
            .read_to_end(&mut layer_bytes)
            .await
            .map_err(|e| format!("reading the piece layer: {e}"))?;
        let layer: Vec<[u8; 32]> = layer_bytes
            .chunks_exact(32)
            .filter_map(|h| h.try_into().ok())
            .collect();
        pieces::check_layer(&layer, c.length, piece_length, &c.root).map_err(|e| e.to_string())?;
        Ok(Ready {
            stream_path: handle.output_folder().join(STREAM),
            stream_file,
            handle: handle.clone(),
            checked: Arc::new(Mutex::new(vec![false; layer.len()])),
            layer: Arc::new(layer),
            piece_length,
        })
    }

    /// Bytes of the stream from its start that are checked against the layer: the prefix a
    /// player may use now. It grows as [`Fetch::read`]s (and the node's follower, which reads
    /// every piece in order) check pieces.
    pub fn checked_prefix(&self) -> u64 {
        let State::Ready(r) = self.state() else {
            return 0;
        };
        let run = r
            .checked
            .lock()
            .map_or(0, |c| c.iter().take_while(|done| **done).count());
        (run as u64)
            .saturating_mul(r.piece_length)
            .min(self.commitment.length)
    }

    /// Bytes `range` of the checked prefix ([`Fetch::checked_prefix`]), read from the file on
    /// disk without waiting for anything: a blocking read of local bytes, as a store read is.
    /// A range beyond the prefix is [`Error::Waiting`].
    pub fn read_checked_prefix(&self, range: Range<u64>) -> Result<Vec<u8>, Error> {
        use std::io::{Read, Seek};
        let prefix = self.checked_prefix();
        if range.start > range.end || range.end > self.commitment.length {
            return Err(Error::Range {
                start: range.start,
                end: range.end,
                len: self.commitment.length,
            });
        }
        if range.end > prefix {
            return Err(Error::Waiting);
        }
        let State::Ready(r) = self.state() else {
            return Err(Error::Waiting);
        };
        let mut f = std::fs::File::open(&r.stream_path)
            .map_err(|e| Error::io("opening", &r.stream_path, e))?;
        f.seek(std::io::SeekFrom::Start(range.start))
            .map_err(|e| Error::io("seeking", &r.stream_path, e))?;
        let mut out = vec![0u8; usize::try_from(range.end - range.start).unwrap_or(0)];
        f.read_exact(&mut out)
            .map_err(|e| Error::io("reading", &r.stream_path, e))?;
        Ok(out)
    }

    /// Checks every piece in order (the library fetches the ones asked first), so the checked
    /// prefix grows from the start as bytes arrive. It stops at a piece that fails its layer
    /// hash: the infohash fixes every byte, so no peer of this swarm can give another, and that
    /// piece is refused for good (the prefix before it is still the committed content's).
    pub(crate) async fn follow(&self, retry: std::time::Duration) {
        let Some(p) = self.piece_length() else {
            return;
        };
        let len = self.commitment.length;
        let mut at = 0u64;
        while at < len && !self.is_cancelled() {
            let end = (at + p).min(len);
            match self
                .read(at..end, tokio::time::Instant::now() + retry * 15)
                .await
            {
                Ok(_) => {
                    at = end;
                    self.changed.send_modify(|v| *v += 1);
                }
                Err(Error::BadPiece { index }) => {
                    tracing::warn!(index, infohash = %hex::encode(self.commitment.infohash), "a piece fails its layer hash: refused for good");
                    self.bad_piece.fetch_min(index, Ordering::Relaxed);
                    self.changed.send_modify(|v| *v += 1);
                    return;
                }
                Err(Error::Refused(_)) => return,
                Err(e) => {
                    tracing::debug!(%e, at, "following the swarm");
                    tokio::time::sleep(retry).await;
                }
            }
        }
    }

    fn piece_length(&self) -> Option<u64> {
        match self.state() {
            State::Ready(r) => Some(r.piece_length),
            _ => None,
        }
    }

    /// Waits until the fetch is ready or refused, at most until `deadline`.
    pub async fn wait(&self, deadline: tokio::time::Instant) -> FetchStatus {
        let mut rx = self.changed.subscribe();
        loop {
            let s = self.status();
            if !matches!(s, FetchStatus::Waiting { .. }) {
                return s;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return self.status();
            }
        }
    }

    /// Bytes `range` of the stream, every piece they touch checked against its layer hash first
    /// (step 3), once: a piece checked by an earlier read is not hashed again. Pieces not here yet are fetched first (librqbit's stream asks for them first);
    /// if they are not here by `deadline`: [`Error::Waiting`].
    pub async fn read(
        &self,
        range: Range<u64>,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<u8>, Error> {
        let len = self.commitment.length;
        if range.start > range.end || range.end > len {
            return Err(Error::Range {
                start: range.start,
                end: range.end,
                len,
            });
        }
        let ready = match self.wait(deadline).await {
            FetchStatus::Refused(r) => return Err(Error::Refused(r)),
            FetchStatus::Waiting { .. } => return Err(Error::Waiting),
            FetchStatus::Ready { .. } => match self.state() {
                State::Ready(r) => r,
                _ => return Err(Error::Waiting),
            },
        };
        if range.is_empty() {
            return Ok(Vec::new());
        }
        tokio::time::timeout_at(deadline, read_checked(&ready, len, range))
            .await
            .unwrap_or(Err(Error::Waiting))
    }
}

async fn read_checked(r: &Ready, len: u64, range: Range<u64>) -> Result<Vec<u8>, Error> {
    let p = r.piece_length;
    let mut stream = r
        .handle
        .clone()
        .stream(r.stream_file)
        .await
        .map_err(|e| Error::library("opening the stream", e))?;
    let mut out = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
    let mut pos = None;
    for index in range.start / p..=(range.end - 1) / p {
        let start = index * p;
        let end = (start + p).min(len);
        let (from, to) = (range.start.max(start), range.end.min(end));
        let i = usize::try_from(index).map_err(|_| Error::BadPiece { index })?;
        let want = r.layer.get(i).ok_or(Error::BadPiece { index })?;
        let checked = r.checked.lock().is_ok_and(|c| c.get(i) == Some(&true));
        // A piece not checked yet is read whole and hashed; a checked one, only where asked.
        let (at, n) = if checked {
            (from, to - from)
        } else {
            (start, end - start)
        };
        let mut bytes = vec![0u8; usize::try_from(n).unwrap_or(0)];
        if pos != Some(at) {
            stream
                .seek(std::io::SeekFrom::Start(at))
                .await
                .map_err(|e| Error::library("seeking the stream", e))?;
        }
        stream
            .read_exact(&mut bytes)
            .await
            .map_err(|e| Error::library("reading the stream", e))?;
        pos = Some(at + n);
        if checked {
            out.extend_from_slice(&bytes);
            continue;
        }
        if &pieces::piece_hash(&bytes, p)? != want {
            return Err(Error::BadPiece { index });
        }
        if let Ok(mut c) = r.checked.lock() {
            if let Some(flag) = c.get_mut(i) {
                *flag = true;
            }
        }
        let skip = usize::try_from(from - start).unwrap_or(0);
        let take = usize::try_from(to - from).unwrap_or(0);
        out.extend_from_slice(&bytes[skip..skip + take]);
    }
    Ok(out)
}
