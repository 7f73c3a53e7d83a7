//! The embedded devnet: a real regtest chain inside `bitflix`.
//!
//! Every block is validated by Bitcoin Core's own engine (`bitcoinkernel`), which also stores the
//! blocks and the UTXO set in the data directory. Transactions enter a mempool with Bitcoin Core's
//! relay policy and have every script checked by the kernel. The devnet mines on demand (or on an
//! interval), pays a faucet, reorganises on demand, and implements [`chain::ChainBackend`].
//!
//! Public API (all on the cheap-to-clone, `Send + Sync` [`Devnet`] handle):
//! - open: [`Devnet::open`]`(datadir, `[`DevnetConfig`]` { policy, block_interval })`;
//!   [`PolicyProfile::Core30`] (OP_RETURN up to 100,000 bytes, any number of outputs) or
//!   [`PolicyProfile::Legacy80`] (one OP_RETURN of at most 83 script bytes).
//! - chain: [`Devnet::tip`], [`Devnet::block_hash`]`(height)`, [`Devnet::raw_block`]`(hash) ->
//!   (height, bytes)`, [`Devnet::raw_block_at`]`(height)`.
//! - transactions: [`Devnet::tx`]`(txid) -> `[`TxInfo`]` { tx, status }`, [`Devnet::prevout`],
//!   [`Devnet::outspend`]`(outpoint) -> (txid, vin, status)`, [`Devnet::mempool_txids`] (arrival
//!   order), [`Devnet::mempool_fee`]`(txid) -> (fee, vsize)`.
//! - scripts: [`Devnet::script_history`] (confirmed oldest first, then mempool),
//!   [`Devnet::script_utxos`] -> [`Utxo`], [`Devnet::script_by_hash`] (Esplora scripthash).
//! - writing: [`Devnet::submit_tx`] (refusal: [`DevnetError::Rejected`] with Bitcoin Core's reason
//!   string), [`Devnet::mine`]`(n, script)`, [`Devnet::faucet`]`(script, amount) -> txid`,
//!   [`Devnet::faucet_script`], [`Devnet::reorg`]`(depth)`, [`Devnet::invalidate_tip`],
//!   [`Devnet::submit_block_with`] (a block bypassing the mempool, for consensus tests; refusal:
//!   [`DevnetError::BlockRejected`]).
//! - fees and events: [`Devnet::fee_estimate`], [`Devnet::subscribe`] ->
//!   `Receiver<`[`chain::ChainEvent`]`>`.
//! - policy constants and checks: [`policy`].
//!
//! The `devnet-mine-loop` binary (mines forever, reporting each block) drives the kill -9 test;
//! `examples/bench_devnet.rs` measures `submit_tx` and kernel block validation.
//!
//! Crash safety: the kernel's block store and chainstate survive `kill -9`; every accepted block is
//! also appended to `blocks.log` (fsync) before it is reported, and replayed into the kernel on
//! open, so nothing reported as confirmed is lost. The devnet's indexes live in memory and are
//! rebuilt from the kernel's blocks on open. The mempool is an append-only log (`mempool.log`)
//! replayed on open.

mod backend;
mod chain_view;
mod error;
mod esplora_json;
mod faucet;
pub mod http;
mod kernel;
mod mempool;
mod miner;
pub mod policy;
pub mod rpc;
mod state;
pub mod zmqpub;

pub use error::DevnetError;
pub use policy::PolicyProfile;
pub use state::{Devnet, DevnetConfig, TxInfo, Utxo};
