//! Feeding a bdk wallet from a [`ChainBackend`]: bdk does no I/O, this does it for it.
//!
//! Blocks are applied from the newest checkpoint the backend still has (so a reorg unwinds to the
//! fork point and the replaced blocks are applied again), then the mempool's relevant transactions,
//! then the wallet's unconfirmed transactions that left the mempool are marked evicted. A wallet
//! with a birthday (the tip height when it was created, or `--from-height` of a restore) that has
//! never synced past genesis starts at its birthday block instead: no earlier block is read.

use bdk_wallet::chain::{BlockId, CheckPoint};
use bdk_wallet::{Update, Wallet};
use chain::{ChainBackend, ChainError};
use serde::Serialize;
use std::collections::HashSet;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncStats {
    /// Height the wallet was at (its newest checkpoint still on the backend's chain).
    pub from_height: u32,
    /// The backend's tip, now the wallet's.
    pub tip_height: u32,
    /// Blocks applied.
    pub blocks: u32,
    /// Mempool transactions fetched and offered to the wallet (bdk keeps the relevant ones).
    pub mempool_txs: usize,
    /// Wallet transactions that left the mempool without confirming.
    pub evicted: usize,
}

/// Why a sync stopped. The wallet keeps what was applied before the error; sync again to go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The backend failed.
    #[error("chain backend: {0}")]
    Chain(#[from] ChainError),
    /// Not even the genesis block matches: the wallet belongs to another network.
    #[error("the backend's chain shares no block with the wallet's (genesis differs): wrong network or data directory")]
    NoCommonBlock,
    /// bdk refused a block (it does not connect).
    #[error("the wallet cannot connect block {height}: {reason}")]
    Connect {
        /// Height of the block.
        height: u32,
        /// bdk's reason.
        reason: String,
    },
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Bring `wallet` up to the backend's tip and mempool. The caller persists the staged changeset.
pub fn sync(wallet: &mut Wallet, backend: &dyn ChainBackend) -> Result<SyncStats, SyncError> {
    sync_from(wallet, backend, None)
}

/// [`sync`], starting a wallet that has never synced past genesis at `birthday` (no block below
/// it is read: coins paid to the wallet before it are not seen).
pub fn sync_from(
    wallet: &mut Wallet,
    backend: &dyn ChainBackend,
    birthday: Option<u32>,
) -> Result<SyncStats, SyncError> {
    let tip = backend.tip()?;
    // The newest checkpoint the backend agrees with: the fork point after a reorg.
    let mut base: Option<BlockId> = None;
    for cp in wallet.checkpoints() {
        if cp.height() > tip.height {
            continue;
        }
        match backend.block_hash(cp.height()) {
            Ok(h) if h == cp.hash() => {
                base = Some(cp.block_id());
                break;
            }
            Ok(_) | Err(ChainError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut base = base.ok_or(SyncError::NoCommonBlock)?;
    // A wallet that never synced past genesis starts at its birthday: the block below it becomes
    // its checkpoint, connected to genesis, and blocks are read from the birthday on.
    let mut first = base.height + 1;
    if let Some(b) = birthday.filter(|b| base.height == 0 && *b > 1) {
        if b > tip.height {
            first = tip.height + 1;
        } else {
            let at = BlockId {
                height: b - 1,
                hash: backend.block_hash(b - 1)?,
            };
            let cp = CheckPoint::from_block_ids([base, at]).map_err(|_| SyncError::Connect {
                height: b,
                reason: "the birthday does not follow genesis".into(),
            })?;
            wallet
                .apply_update(Update {
                    chain: Some(cp),
                    ..Default::default()
                })
                .map_err(|e| SyncError::Connect {
                    height: b,
                    reason: e.to_string(),
                })?;
            base = at;
            first = b;
        }
    }
    let mut stats = SyncStats {
        from_height: base.height,
        tip_height: tip.height,
        ..Default::default()
    };
    let mut connected = base;
    for height in first..=tip.height {
        let hash = backend.block_hash(height)?;
        let block = chain::decode_block(&backend.raw_block(&hash)?)?;
        wallet
            .apply_block_connected_to(&block, height, connected)
            .map_err(|e| SyncError::Connect {
                height,
                reason: e.to_string(),
            })?;
        connected = BlockId { height, hash };
        stats.blocks += 1;
    }
    // The mempool: fetch only what the wallet does not hold yet; what it holds is seen again now
    // (which makes a transaction it had marked evicted canonical again).
    let now = now_secs();
    let in_mempool: HashSet<_> = backend.mempool_txids()?.into_iter().collect();
    let mut fresh = Vec::new();
    let mut seen = Vec::new();
    for txid in &in_mempool {
        if let Some(tx) = wallet.tx_graph().get_tx(*txid) {
            seen.push((tx, now));
            continue;
        }
        match backend.raw_tx(txid) {
            Ok(raw) => fresh.push((chain::decode_tx(&raw)?, now)),
            // Mined or replaced between the two calls: the next sync sees it.
            Err(ChainError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    stats.mempool_txs = fresh.len();
    wallet.apply_unconfirmed_txs(fresh);
    wallet.apply_unconfirmed_txs(seen);
    // Unconfirmed wallet transactions the mempool no longer has (replaced, evicted, reorged out).
    let gone: Vec<_> = wallet
        .transactions()
        .filter(|t| !t.chain_position.is_confirmed())
        .map(|t| t.tx_node.txid)
        .filter(|txid| !in_mempool.contains(txid))
        .collect();
    stats.evicted = gone.len();
    wallet.apply_evicted_txs(gone.into_iter().map(|t| (t, now)));
    Ok(stats)
}
