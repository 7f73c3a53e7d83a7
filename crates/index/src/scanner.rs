//! The one scanner: follows a backend block by block into the [`Store`], keeps the mempool view
//! in step with the backend's, and publishes each new state as an immutable [`Snapshot`].
//!
//! - Every raw block is checked against its hash, Merkle root and witness commitment before use.
//! - Transient backend errors are retried with backoff ([`chain::Retry`]) and otherwise stop the
//!   poll with an error: they are never read as a reorg, and nothing is unwound on them.
//! - The mempool view is rebuilt from each change: transactions that left the backend's mempool
//!   (mined, replaced, evicted) drop out, and only txids not seen before are fetched.

use crate::catalog::Catalog;
use crate::snapshot::Snapshot;
use crate::store::{Store, StoreError};
use bitcoin::{BlockHash, Transaction, Txid};
use chain::{ChainBackend, ChainError, Retry};
use cvp::rawblock::{self, BlockError};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// Why indexing stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The backend failed (after retries, for transient failures).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The backend sent a block that is not the one asked for, or is not well formed.
    #[error("block {hash} at height {height} from the backend is refused: {source}")]
    Block {
        /// Height asked for.
        height: u32,
        /// Hash asked for.
        hash: BlockHash,
        /// What is wrong with it.
        #[source]
        source: BlockError,
    },
}

/// What one poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Blocks indexed.
    pub blocks: u32,
    /// Blocks unwound by a reorg.
    pub unwound: u32,
    /// Mempool transactions fetched (new txids only).
    pub fetched: usize,
    /// Mempool transactions that left the mempool view.
    pub dropped: usize,
}

/// Where a poll stands, given to [`Indexer::poll_with`]'s callback after each block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The height this poll began at.
    pub first: u32,
    /// The block just indexed.
    pub height: u32,
    /// The backend's tip when the poll began.
    pub tip: u32,
}

/// The height below which no CVP content can exist on `network`'s chain whose genesis is
/// `genesis`: blocks mined before the protocol was written (docs/index-schema.md, "Start height").
/// Regtest and chains that are not the public one start at 0: another genesis, or, since every
/// signet shares one genesis whatever its challenge, a chain whose `tip` is below the default (a
/// custom signet is far shorter than the public one was when the protocol was written).
pub fn default_start_height(network: bitcoin::Network, genesis: BlockHash, tip: u32) -> u32 {
    use bitcoin::Network;
    if bitcoin::constants::genesis_block(network).block_hash() != genesis {
        return 0;
    }
    let public = match network {
        Network::Bitcoin => 940_000,
        Network::Testnet4 => 47_000,
        Network::Signet => 300_000,
        _ => 0,
    };
    if tip < public {
        0
    } else {
        public
    }
}

/// A store, the catalog derived from it, the mempool view and the published snapshot.
#[derive(Debug)]
pub struct Indexer {
    store: Arc<Store>,
    confirmed: Catalog,
    /// CVP transactions in the mempool (their bytes are in the store's mempool table).
    mempool_cvp: HashSet<Txid>,
    /// Other mempool transactions seen: never fetched again while they stay.
    mempool_other: HashSet<Txid>,
    /// When this process first saw each CVP transaction (Unix ms): live chunks' arrival times.
    /// Kept only for the mempool's CVP transactions and the confirmed ones of a lineage.
    arrivals: HashMap<Txid, u64>,
    /// Transactions left the mempool view or the confirmed catalog since arrivals were pruned.
    arrivals_stale: bool,
    snapshot: Arc<Snapshot>,
    /// Headers' funding coins (and the first-input coins of unsigned choices) that could not be
    /// looked up yet: try again on the next poll.
    prevouts_pending: bool,
    retry: Retry,
    /// Reorgs handled since opening.
    pub reorgs: u32,
}

impl Indexer {
    /// Open the store at `path` and rebuild the catalog from it.
    pub fn open(path: &Path) -> Result<Indexer, IndexError> {
        Indexer::with_store(Store::open(path)?)
    }

    /// Open the store at `path`, which a new index starts at `from` (else `default`); an existing
    /// one keeps its stored start and refuses another `from` ([`Store::open_from`]).
    pub fn open_from(path: &Path, from: Option<u32>, default: u32) -> Result<Indexer, IndexError> {
        Indexer::with_store(Store::open_from(path, from, default)?)
    }

    /// An indexer whose store lives in memory only (tests, one-off scans).
    pub fn in_memory() -> Result<Indexer, IndexError> {
        Indexer::with_store(Store::in_memory()?)
    }

    fn with_store(store: Store) -> Result<Indexer, IndexError> {
        let store = Arc::new(store);
        let mempool_cvp = store.mempool()?.into_iter().map(|(t, _)| t).collect();
        let mut ix = Indexer {
            snapshot: Arc::new(Snapshot::empty(Arc::clone(&store))),
            store,
            confirmed: Catalog::default(),
            mempool_cvp,
            mempool_other: HashSet::new(),
            arrivals: HashMap::new(),
            arrivals_stale: false,
            prevouts_pending: true,
            retry: Retry::default(),
            reorgs: 0,
        };
        ix.rebuild()?;
        ix.refresh(None)?;
        Ok(ix)
    }

    /// Use another retry policy for backend calls.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    fn rebuild(&mut self) -> Result<(), IndexError> {
        let mut c = Catalog::default();
        for (op, out) in self.store.coins()? {
            c.note_prevout(op, out);
        }
        let mut bad = None;
        self.store.for_each_block(|height, _, raws| {
            for raw in raws {
                match chain::decode_tx(raw) {
                    Ok(tx) => c.add_tx(&tx, Some(height)),
                    Err(_) => bad = Some(height),
                }
            }
            Ok(())
        })?;
        if let Some(height) = bad {
            return Err(StoreError::Damaged {
                key: format!("block {height}"),
                reason: "a stored transaction does not decode",
            }
            .into());
        }
        self.confirmed = c;
        Ok(())
    }

    /// The first height the index scans.
    pub fn start_height(&self) -> u32 {
        self.store.start_height()
    }

    /// The last indexed block.
    pub fn cursor(&self) -> Result<Option<(u32, BlockHash)>, IndexError> {
        Ok(self.store.cursor()?)
    }

    /// The state readers see now: cheap to clone, never changed in place.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshot)
    }

    /// Catch up with the backend: unwind a reorg, index new blocks, bring the mempool view up to
    /// date, and publish a new snapshot when anything changed.
    pub fn poll(&mut self, backend: &dyn ChainBackend) -> Result<PollReport, IndexError> {
        self.poll_with(backend, &mut |_| {})
    }

    /// [`poll`](Self::poll), telling `progress` after each block indexed.
    pub fn poll_with(
        &mut self,
        backend: &dyn ChainBackend,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<PollReport, IndexError> {
        let mut report = PollReport::default();
        let tip = self.retry.run("tip", || backend.tip())?;
        report.unwound = self.unwind_reorg(backend, tip.height)?;
        let start = self.store.start_height();
        let first = self.store.cursor()?.map_or(start, |(h, _)| h + 1);
        for height in first..=tip.height {
            self.index_block(backend, height)?;
            report.blocks += 1;
            progress(Progress {
                first,
                height,
                tip: tip.height,
            });
        }
        let (fetched, dropped) = self.update_mempool(backend)?;
        report.fetched = fetched;
        report.dropped = dropped;
        if report != PollReport::default() || self.prevouts_pending {
            self.refresh(Some(backend))?;
        }
        Ok(report)
    }

    /// Walk down from the cursor until the stored hash matches the backend's; unwind above it,
    /// never below the start height. Only a definite answer (a hash that differs, or a height
    /// above the backend's tip) counts as a reorg: an error stops the poll and unwinds nothing.
    fn unwind_reorg(&mut self, backend: &dyn ChainBackend, tip: u32) -> Result<u32, IndexError> {
        let Some((top, _)) = self.store.cursor()? else {
            return Ok(0);
        };
        let start = self.store.start_height();
        let mut h = top;
        let keep = loop {
            let stored = self.store.hash_at(h)?;
            let matches = match stored {
                Some(s) if h <= tip => self.retry.run("block hash", || backend.block_hash(h))? == s,
                _ => false,
            };
            if matches {
                break Some(h);
            }
            if h <= start {
                break None;
            }
            h -= 1;
        };
        let from = keep.map_or(start, |k| k + 1);
        if from > top {
            return Ok(0);
        }
        self.store.truncate_from(from)?;
        self.reorgs += 1;
        self.rebuild()?;
        self.arrivals_stale = true;
        Ok(top + 1 - from)
    }

    fn index_block(&mut self, backend: &dyn ChainBackend, height: u32) -> Result<(), IndexError> {
        let hash = self
            .retry
            .run("block hash", || backend.block_hash(height))?;
        let raw = self.retry.run("raw block", || backend.raw_block(&hash))?;
        let spans = rawblock::cvp_candidates(&raw, &hash).map_err(|source| IndexError::Block {
            height,
            hash,
            source,
        })?;
        let mut kept: Vec<(Txid, &[u8], Transaction)> = Vec::new();
        for span in spans {
            let bytes = &raw[span];
            let tx = chain::decode_tx(bytes)?;
            if !cvp::carrier::records_in_tx(&tx).is_empty() {
                kept.push((tx.compute_txid(), bytes, tx));
            }
        }
        let rows: Vec<(Txid, &[u8])> = kept.iter().map(|(t, b, _)| (*t, *b)).collect();
        self.store.put_block(height, hash, &rows)?;
        let now = unix_ms();
        for (txid, _, tx) in &kept {
            self.arrivals.entry(*txid).or_insert(now);
            self.mempool_cvp.remove(txid);
            self.confirmed.add_tx(tx, Some(height));
        }
        self.arrivals_stale |= !kept.is_empty();
        tracing::debug!(height, cvp_txs = kept.len(), "indexed block");
        Ok(())
    }

    /// Bring the mempool view in line with the backend's mempool; fetch only new txids. Returns
    /// (fetched, dropped).
    fn update_mempool(&mut self, backend: &dyn ChainBackend) -> Result<(usize, usize), IndexError> {
        let now: HashSet<Txid> = self
            .retry
            .run("mempool", || backend.mempool_txids())?
            .into_iter()
            .collect();
        let gone_cvp: Vec<Txid> = self.mempool_cvp.difference(&now).copied().collect();
        let before_other = self.mempool_other.len();
        self.mempool_other.retain(|t| now.contains(t));
        let dropped = gone_cvp.len() + before_other - self.mempool_other.len();
        for t in &gone_cvp {
            self.mempool_cvp.remove(t);
        }
        let mut added = Vec::new();
        let mut fetched = 0;
        for txid in now {
            if self.mempool_cvp.contains(&txid) || self.mempool_other.contains(&txid) {
                continue;
            }
            fetched += 1;
            let raw = match self.retry.run("raw tx", || backend.raw_tx(&txid)) {
                Ok(raw) => raw,
                Err(ChainError::NotFound(_)) => continue, // left the mempool since the list
                Err(e) => return Err(e.into()),
            };
            let cvp = rawblock::tx_is_candidate(&raw)
                && chain::decode_tx(&raw).is_ok_and(|tx| {
                    // A backend that answers another transaction for this txid is not believed.
                    tx.compute_txid() == txid && !cvp::carrier::records_in_tx(&tx).is_empty()
                });
            if cvp {
                self.arrivals.entry(txid).or_insert_with(unix_ms);
                self.mempool_cvp.insert(txid);
                added.push((txid, raw));
            } else {
                self.mempool_other.insert(txid);
            }
        }
        self.store.update_mempool(&added, &gone_cvp)?;
        if self.arrivals_stale || !gone_cvp.is_empty() {
            self.prune_arrivals();
        }
        Ok((fetched, dropped))
    }

    /// Forget the arrival of every transaction that is neither in the mempool view nor in a
    /// confirmed lineage (replaced, evicted, reorged out, or a confirmed stray, whose arrival no
    /// reader asks for): spam cannot grow the map, cloned into every view, without bound. One
    /// pass over the map, only after transactions left the mempool or blocks changed.
    fn prune_arrivals(&mut self) {
        let (mempool, confirmed) = (&self.mempool_cvp, &self.confirmed);
        self.arrivals
            .retain(|t, _| mempool.contains(t) || confirmed.is_attributed(t));
        self.arrivals_stale = false;
    }

    /// How many first-seen times the indexer keeps (bounded by the mempool view and the confirmed
    /// lineages).
    pub fn arrivals_len(&self) -> usize {
        self.arrivals.len()
    }

    /// The mempool's CVP transactions, parents before children (the lineage follows first inputs).
    fn mempool_txs(&self) -> Result<Vec<Transaction>, IndexError> {
        let mut txs: HashMap<Txid, Transaction> = HashMap::new();
        for (txid, raw) in self.store.mempool()? {
            if self.mempool_cvp.contains(&txid) {
                txs.insert(txid, chain::decode_tx(&raw)?);
            }
        }
        let parent = |tx: &Transaction| tx.input.first().map(|i| i.previous_output.txid);
        let mut depth: HashMap<Txid, usize> = HashMap::new();
        for start in txs.keys() {
            let mut chain = vec![*start];
            let mut d = 0;
            while let Some(p) = txs.get(chain.last().unwrap_or(start)).and_then(parent) {
                if let Some(known) = depth.get(&p) {
                    d = known + 1;
                    break;
                }
                if !txs.contains_key(&p) || chain.contains(&p) {
                    break;
                }
                chain.push(p);
            }
            for t in chain.into_iter().rev() {
                depth.insert(t, d);
                d += 1;
            }
        }
        let mut out: Vec<(usize, Txid, Transaction)> = txs
            .into_iter()
            .map(|(t, tx)| (depth.get(&t).copied().unwrap_or(0), t, tx))
            .collect();
        out.sort_by_key(|(d, t, _)| (*d, *t));
        Ok(out.into_iter().map(|(_, _, tx)| tx).collect())
    }

    fn view(&self) -> Result<Catalog, IndexError> {
        let mut view = self.confirmed.clone();
        view.arrivals.clone_from(&self.arrivals);
        for tx in self.mempool_txs()? {
            view.add_tx(&tx, None);
        }
        Ok(view)
    }

    /// Build the view (confirmed plus mempool), look up the coins its headers spend when a
    /// backend is given (their owners are the publishers, their values give the cost; each answer
    /// must be the transaction asked for, failures leave them unknown until the next poll) and
    /// those the first inputs of unsigned choices spend (their keys sign the choices), and
    /// publish it as the new snapshot.
    fn refresh(&mut self, backend: Option<&dyn ChainBackend>) -> Result<(), IndexError> {
        let mut view = self.view()?;
        if let Some(backend) = backend {
            let mut found = Vec::new();
            for op in view.missing_prevouts() {
                let out = backend
                    .raw_tx(&op.txid)
                    .ok()
                    .and_then(|raw| chain::decode_tx(&raw).ok())
                    .filter(|tx| tx.compute_txid() == op.txid)
                    .and_then(|tx| tx.output.get(op.vout as usize).cloned());
                if let Some(out) = out {
                    found.push((op, out));
                }
            }
            self.store.put_coins(&found)?;
            for (op, out) in found {
                self.confirmed.note_prevout(op, out.clone());
                view.note_prevout(op, out);
            }
            self.prevouts_pending = !view.missing_prevouts().is_empty();
        }
        let height = self.store.cursor()?.map(|c| c.0);
        self.snapshot = Arc::new(Snapshot::build(&view, Arc::clone(&self.store), height));
        Ok(())
    }
}

/// Now, in milliseconds since the Unix epoch (0 if the clock is before it).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
