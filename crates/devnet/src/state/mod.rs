//! The devnet handle: the kernel, the chain index, the mempool, mining, faucet and reorgs.
//!
//! One [`Devnet`] type, its methods grouped by concern: `persist.rs` (the block journal and the
//! mempool log), `mining.rs` (the mempool, blocks, the faucet), `reorg.rs`, `queries.rs` (reads).

mod mining;
mod persist;
mod queries;
mod reorg;

use crate::chain_view::ChainIndex;
use crate::faucet::FaucetKey;
use crate::kernel::Kernel;
use crate::mempool::Mempool;
use crate::{DevnetError, PolicyProfile};
use bitcoin::{Amount, BlockHash, OutPoint, Transaction};
use chain::{ChainEvent, TxStatus};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How the devnet behaves.
#[derive(Debug, Clone, Default)]
pub struct DevnetConfig {
    /// Which OP_RETURN policy the mempool applies.
    pub policy: PolicyProfile,
    /// Mine a block this often in a background thread (`None`: only on demand).
    pub block_interval: Option<Duration>,
}

/// A confirmed or mempool transaction.
#[derive(Debug, Clone)]
pub struct TxInfo {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Where it stands.
    pub status: TxStatus,
}

/// An unspent output paying a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utxo {
    /// The outpoint.
    pub outpoint: OutPoint,
    /// The value.
    pub value: Amount,
    /// Confirmation height, `None` when the creating transaction is in the mempool.
    pub height: Option<u32>,
}

#[derive(Debug)]
struct State {
    index: ChainIndex,
    mempool: Mempool,
    subscribers: Vec<Sender<ChainEvent>>,
    log: File,
    last_time: u32,
    extra_nonce: u64,
}

#[derive(Debug)]
struct Inner {
    kernel: Kernel,
    state: Mutex<State>,
    config: DevnetConfig,
    datadir: PathBuf,
    faucet: FaucetKey,
}

/// The embedded regtest chain. Cheap to clone; all clones share one chain.
#[derive(Debug, Clone)]
pub struct Devnet {
    inner: Arc<Inner>,
}

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

impl Devnet {
    /// Open (or create) the chain in `datadir`. The kernel loads its blocks and chainstate; the
    /// devnet rebuilds its indexes from them and replays the mempool log.
    pub fn open(datadir: &Path, config: DevnetConfig) -> Result<Devnet, DevnetError> {
        std::fs::create_dir_all(datadir)
            .map_err(|e| DevnetError::io(format!("create {}", datadir.display()), e))?;
        let kernel = Kernel::open(datadir)?;
        persist::replay_blocks(&kernel, &datadir.join(persist::BLOCKS_LOG));
        let index = index_from_kernel(&kernel)?;
        let (old_log, log) = persist::open_mempool_log(datadir)?;
        let last_time = index.times.last().copied().unwrap_or(0);
        let state = State {
            index,
            mempool: Mempool::default(),
            subscribers: Vec::new(),
            log,
            last_time,
            extra_nonce: u64::from(now()),
        };
        let devnet = Devnet {
            inner: Arc::new(Inner {
                kernel,
                state: Mutex::new(state),
                config,
                datadir: datadir.to_path_buf(),
                faucet: FaucetKey::new(),
            }),
        };
        devnet.replay_mempool(&old_log);
        devnet.compact_log(&mut devnet.state())?;
        if let Some(every) = devnet.inner.config.block_interval {
            spawn_miner(Arc::downgrade(&devnet.inner), every);
        }
        Ok(devnet)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the chain inconsistent (the kernel holds
        // the truth), so a poisoned lock is taken over.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The data directory.
    pub fn datadir(&self) -> &Path {
        &self.inner.datadir
    }

    /// The configuration.
    pub fn config(&self) -> &DevnetConfig {
        &self.inner.config
    }

    /// A stream of mempool and tip changes.
    pub fn subscribe(&self) -> Receiver<ChainEvent> {
        let (tx, rx) = channel();
        self.state().subscribers.push(tx);
        rx
    }
}

impl State {
    /// The active tip's hash (genesis before the index has a block).
    fn tip_hash(&self) -> BlockHash {
        self.index.hashes.last().copied().unwrap_or_else(|| {
            bitcoin::constants::genesis_block(bitcoin::Network::Regtest).block_hash()
        })
    }
}

/// The chain index of the kernel's active chain, built from its blocks.
fn index_from_kernel(kernel: &Kernel) -> Result<ChainIndex, DevnetError> {
    let mut index = ChainIndex::default();
    let (tip, _) = kernel.tip();
    for h in 0..=tip {
        let raw = kernel
            .block_at(h)?
            .ok_or_else(|| DevnetError::Kernel(format!("block {h} missing")))?;
        let block: bitcoin::Block = bitcoin::consensus::deserialize(&raw)
            .map_err(|e| DevnetError::Kernel(e.to_string()))?;
        index.connect(&block);
    }
    Ok(index)
}

fn notify(s: &mut State, events: Vec<ChainEvent>) {
    s.subscribers
        .retain(|sub| events.iter().all(|e| sub.send(e.clone()).is_ok()));
}

fn spawn_miner(inner: Weak<Inner>, every: Duration) {
    let _ = std::thread::Builder::new()
        .name("devnet-miner".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let Some(inner) = inner.upgrade() else { return };
            let devnet = Devnet { inner };
            let script = devnet.faucet_script();
            if let Err(e) = devnet.mine(1, &script) {
                tracing::warn!("interval mining failed: {e}");
            }
        });
}
