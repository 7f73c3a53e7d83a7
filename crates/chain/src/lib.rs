//! One interface to a Bitcoin chain, whatever serves it.
//!
//! Everything the rest of BitFlix needs from a chain goes through [`ChainBackend`]: the tip, raw
//! blocks by height, transactions by id, the mempool and a stream of its changes, broadcast and a fee
//! estimate. The embedded devnet (crate `devnet`) implements it in-process, [`esplora`] over HTTP,
//! [`core`] over Bitcoin Core's JSON-RPC, REST and ZMQ. [`testsuite`] is the behaviour
//! every backend must show.
//!
//! The trait is blocking on purpose: every caller (scanner, wallet sync, publisher) is a loop that
//! wants the next block; async callers wrap it in `spawn_blocking`.

pub mod core;
mod error;
pub mod esplora;
mod http;
pub mod multi;
pub mod retry;
mod spec;
pub mod testsuite;

pub use error::ChainError;
pub use http::{MAX_BLOCK, MAX_MEMPOOL_LIST};
pub use multi::{BackendStatus, Health, Multi};
pub use retry::{Retry, Retrying};
pub use spec::{ChainSpec, NetworkArg};

use bitcoin::{BlockHash, FeeRate, Network, Transaction, Txid};
use serde::{Deserialize, Serialize};

/// A block's place in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlockRef {
    /// Height above genesis.
    pub height: u32,
    /// The block's hash.
    pub hash: BlockHash,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TxStatus {
    /// Confirmed in the given block.
    Confirmed(BlockRef),
    /// In the backend's mempool.
    Mempool,
    /// Neither confirmed (on the active chain) nor in the mempool.
    Unknown,
}

/// A change the backend noticed; see [`ChainBackend::changes`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainEvent {
    /// A transaction entered the mempool.
    MempoolAdded(Txid),
    /// A transaction left the mempool (mined, replaced, evicted).
    MempoolRemoved(Txid),
    /// The tip changed (a new block, or a reorg: compare with what you stored).
    Tip(BlockRef),
}

/// Everything BitFlix needs from a chain. Implementations must be cheap to share across threads.
/// The trait is object safe: `Arc<dyn ChainBackend>` has [`changes`](Self::changes) too.
pub trait ChainBackend: Send + Sync + std::fmt::Debug + 'static {
    /// The network this backend serves (regtest for the devnet).
    fn network(&self) -> Network;

    /// The active chain's tip.
    fn tip(&self) -> Result<BlockRef, ChainError>;

    /// The hash of the active chain's block at `height`, or [`ChainError::NotFound`].
    fn block_hash(&self, height: u32) -> Result<BlockHash, ChainError>;

    /// A block in consensus serialization, as it was mined (the scanner parses these bytes itself).
    fn raw_block(&self, hash: &BlockHash) -> Result<Vec<u8>, ChainError>;

    /// A transaction in consensus serialization, from the mempool or the chain.
    fn raw_tx(&self, txid: &Txid) -> Result<Vec<u8>, ChainError>;

    /// Where a transaction stands.
    fn tx_status(&self, txid: &Txid) -> Result<TxStatus, ChainError>;

    /// The txids in the mempool now.
    fn mempool_txids(&self) -> Result<Vec<Txid>, ChainError>;

    /// Submit a transaction; the backend's refusal reason comes back in [`ChainError::Rejected`].
    fn broadcast(&self, tx: &Transaction) -> Result<Txid, ChainError>;

    /// The fee rate to confirm within `target_blocks`; never below the minimum relay fee.
    fn fee_estimate(&self, target_blocks: u16) -> Result<FeeRate, ChainError>;

    /// A stream of changes. The default polls [`tip`](Self::tip) and
    /// [`mempool_txids`](Self::mempool_txids) every `poll`; backends with push notifications (ZMQ,
    /// the in-process devnet) override it. The stream ends when the receiver is dropped.
    fn changes(
        self: std::sync::Arc<Self>,
        poll: std::time::Duration,
    ) -> Result<std::sync::mpsc::Receiver<ChainEvent>, ChainError> {
        Ok(poller::spawn(self, poll))
    }
}

pub mod poller;

/// Decode a raw block fetched from a backend, naming the flaw on failure.
pub fn decode_block(raw: &[u8]) -> Result<bitcoin::Block, ChainError> {
    bitcoin::consensus::deserialize(raw).map_err(|e| ChainError::Decode(e.to_string()))
}

/// Decode a raw transaction fetched from a backend, naming the flaw on failure.
pub fn decode_tx(raw: &[u8]) -> Result<Transaction, ChainError> {
    bitcoin::consensus::deserialize(raw).map_err(|e| ChainError::Decode(e.to_string()))
}
