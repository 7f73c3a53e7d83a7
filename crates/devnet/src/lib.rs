//! The embedded devnet: a real regtest chain inside `bitflix`.
//!
//! Every block is validated by Bitcoin Core's own engine (`bitcoinkernel`), which also stores the
//! blocks and the UTXO set in the data directory. Transactions enter a mempool with Bitcoin Core's
//! relay policy and have every script checked by the kernel. The devnet mines on demand (or on an
//! interval), pays a faucet, reorganises on demand, and implements [`chain::ChainBackend`].
//!
//! Public API: [`Devnet::open`], [`Devnet::mine`], [`Devnet::faucet`], [`Devnet::submit_tx`],
//! [`Devnet::reorg`], queries ([`Devnet::tip`], [`Devnet::raw_block`], [`Devnet::tx`],
//! [`Devnet::script_utxos`], ...), and [`Devnet::subscribe`].
//!
//! Crash safety: the kernel's block store and chainstate survive `kill -9` (the kernel replays
//! what it had not flushed). The devnet's indexes live in memory and are rebuilt from the kernel's
//! blocks on open. The mempool is an append-only log (`mempool.log`) replayed on open.

mod backend;
mod error;
mod faucet;
pub mod http;
mod index;
mod kernel;
mod mempool;
mod miner;
pub mod policy;
mod state;

pub use error::DevnetError;
pub use policy::PolicyProfile;
pub use state::{Devnet, DevnetConfig, TxInfo, Utxo};
