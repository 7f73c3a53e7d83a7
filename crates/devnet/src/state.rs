//! The devnet handle: the kernel, the chain index, the mempool, mining, faucet and reorgs.

use crate::faucet::FaucetKey;
use crate::index::ChainIndex;
use crate::kernel::Kernel;
use crate::mempool::Mempool;
use crate::miner::{self, MAX_BLOCK_WEIGHT};
use crate::{DevnetError, PolicyProfile};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, BlockHash, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Txid, Witness,
};
use chain::{BlockRef, ChainEvent, TxStatus};
use std::fs::{File, OpenOptions};
use std::io::Write;
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
        replay_blocks(&kernel, &datadir.join("blocks.log"));
        let mut index = ChainIndex::default();
        let (tip, _) = kernel.tip();
        for h in 0..=tip {
            let raw = kernel
                .block_at(h)?
                .ok_or_else(|| DevnetError::Kernel(format!("block {h} missing")))?;
            let block: bitcoin::Block =
                deserialize(&raw).map_err(|e| DevnetError::Kernel(e.to_string()))?;
            index.connect(&block);
        }
        let log_path = datadir.join("mempool.log");
        let old_log = std::fs::read(&log_path).unwrap_or_default();
        // Appended to, never truncated here: a kill during the replay below loses nothing. The
        // replay appends duplicates, which the compaction right after drops (atomic rename).
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| DevnetError::io("open mempool.log", e))?;
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

    fn replay_mempool(&self, log: &[u8]) {
        let mut rest = log;
        while rest.len() >= 4 {
            let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if rest.len() < 4 + len {
                break; // a write cut short by a kill: the tail is dropped
            }
            if let Ok(tx) = deserialize::<Transaction>(&rest[4..4 + len]) {
                let _ = self.submit_tx(tx);
            }
            rest = &rest[4 + len..];
        }
    }

    /// The data directory.
    pub fn datadir(&self) -> &Path {
        &self.inner.datadir
    }

    /// The configuration.
    pub fn config(&self) -> &DevnetConfig {
        &self.inner.config
    }

    /// The active tip.
    pub fn tip(&self) -> BlockRef {
        let s = self.state();
        BlockRef {
            height: s.index.tip_height(),
            hash: s.index.hashes.last().copied().unwrap_or(
                bitcoin::constants::genesis_block(bitcoin::Network::Regtest).block_hash(),
            ),
        }
    }

    /// The hash at `height` on the active chain.
    pub fn block_hash(&self, height: u32) -> Option<BlockHash> {
        self.state().index.hashes.get(height as usize).copied()
    }

    /// A block of the active chain, raw, with its height.
    pub fn raw_block(&self, hash: &BlockHash) -> Result<Option<(u32, Vec<u8>)>, DevnetError> {
        let height = self.state().index.heights.get(hash).copied();
        let Some(height) = height else {
            return Ok(None);
        };
        Ok(self.inner.kernel.block_at(height)?.map(|raw| (height, raw)))
    }

    /// A transaction from the mempool or the active chain.
    pub fn tx(&self, txid: &Txid) -> Option<TxInfo> {
        let s = self.state();
        if let Some(e) = s.mempool.entries.get(txid) {
            return Some(TxInfo {
                tx: Arc::clone(&e.tx),
                status: TxStatus::Mempool,
            });
        }
        s.index.txs.get(txid).map(|p| TxInfo {
            tx: Arc::clone(&p.tx),
            status: TxStatus::Confirmed(BlockRef {
                height: p.height,
                hash: p.block,
            }),
        })
    }

    /// The mempool's txids, in arrival order.
    pub fn mempool_txids(&self) -> Vec<Txid> {
        self.state().mempool.order.clone()
    }

    /// Fee paid by a mempool transaction, with its vsize.
    pub fn mempool_fee(&self, txid: &Txid) -> Option<(Amount, u64)> {
        self.state()
            .mempool
            .entries
            .get(txid)
            .map(|e| (e.fee, e.vsize))
    }

    /// Who spends an output: the spending txid and input index, confirmed or in the mempool.
    pub fn outspend(&self, op: &OutPoint) -> Option<(Txid, u32, TxStatus)> {
        let s = self.state();
        if let Some(t) = s.mempool.spends.get(op) {
            let vin = s
                .mempool
                .entries
                .get(t)
                .and_then(|e| e.tx.input.iter().position(|i| i.previous_output == *op))
                .unwrap_or(0);
            return Some((*t, vin as u32, TxStatus::Mempool));
        }
        let (t, vin) = *s.index.spent_by.get(op)?;
        let p = s.index.txs.get(&t)?;
        Some((
            t,
            vin,
            TxStatus::Confirmed(BlockRef {
                height: p.height,
                hash: p.block,
            }),
        ))
    }

    /// Transactions touching a script: confirmed (oldest first), then the mempool's.
    pub fn script_history(&self, script: &ScriptBuf) -> Vec<(Txid, TxStatus)> {
        let s = self.state();
        let mut out: Vec<(Txid, TxStatus)> = s
            .index
            .history
            .get(script)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                s.index.txs.get(t).map(|p| {
                    (
                        *t,
                        TxStatus::Confirmed(BlockRef {
                            height: p.height,
                            hash: p.block,
                        }),
                    )
                })
            })
            .collect();
        for t in &s.mempool.order {
            if let Some(e) = s.mempool.entries.get(t) {
                let pays = e.tx.output.iter().any(|o| o.script_pubkey == *script);
                let spends = e.tx.input.iter().any(|i| {
                    s.index
                        .utxos
                        .get(&i.previous_output)
                        .is_some_and(|c| c.out.script_pubkey == *script)
                        || s.mempool
                            .output(&i.previous_output)
                            .is_some_and(|o| o.script_pubkey == *script)
                });
                if pays || spends {
                    out.push((*t, TxStatus::Mempool));
                }
            }
        }
        out
    }

    /// Unspent outputs paying a script, confirmed and from the mempool, minus those the mempool
    /// spends.
    pub fn script_utxos(&self, script: &ScriptBuf) -> Vec<Utxo> {
        let s = self.state();
        let mut out: Vec<Utxo> = s
            .index
            .utxos
            .iter()
            .filter(|(op, c)| c.out.script_pubkey == *script && !s.mempool.spends.contains_key(op))
            .map(|(op, c)| Utxo {
                outpoint: *op,
                value: c.out.value,
                height: Some(c.height),
            })
            .collect();
        for t in &s.mempool.order {
            let Some(e) = s.mempool.entries.get(t) else {
                continue;
            };
            for (vout, o) in e.tx.output.iter().enumerate() {
                let op = OutPoint::new(*t, vout as u32);
                if o.script_pubkey == *script && !s.mempool.spends.contains_key(&op) {
                    out.push(Utxo {
                        outpoint: op,
                        value: o.value,
                        height: None,
                    });
                }
            }
        }
        out.sort_by_key(|u| (u.height.unwrap_or(u32::MAX), u.outpoint));
        out
    }

    /// The script whose SHA-256 is `hash`, among the scripts the chain has paid (Esplora's
    /// scripthash lookups).
    pub fn script_by_hash(&self, hash: &[u8]) -> Option<ScriptBuf> {
        use bitcoin::hashes::{sha256, Hash};
        let s = self.state();
        let matches = |k: &ScriptBuf| sha256::Hash::hash(k.as_bytes()).as_byte_array()[..] == *hash;
        <[u8; 32]>::try_from(hash)
            .ok()
            .and_then(|h| s.index.by_scripthash.get(&h).cloned())
            .or_else(|| {
                // A script paid only by the mempool so far.
                s.mempool
                    .entries
                    .values()
                    .flat_map(|e| e.tx.output.iter())
                    .map(|o| &o.script_pubkey)
                    .find(|k| matches(k))
                    .cloned()
            })
    }

    /// A block's header time and its median time past (of it and the ten blocks before), by
    /// height on the active chain.
    pub fn block_times(&self, height: u32) -> Option<(u32, u32)> {
        let s = self.state();
        let times = &s.index.times;
        let h = height as usize;
        let time = *times.get(h)?;
        let mut window = times[(h + 1).saturating_sub(11)..=h].to_vec();
        window.sort_unstable();
        Some((time, window[window.len() / 2]))
    }

    /// The output an outpoint refers to, confirmed or in the mempool, spent or not.
    pub fn prevout(&self, op: &OutPoint) -> Option<TxOut> {
        let s = self.state();
        s.mempool.output(op).or_else(|| {
            s.index
                .txs
                .get(&op.txid)
                .and_then(|p| p.tx.output.get(op.vout as usize).cloned())
        })
    }

    /// A fee rate that gets into the next block: the minimum relay fee while blocks have room,
    /// more when the mempool holds more than a block.
    pub fn fee_estimate(&self) -> bitcoin::FeeRate {
        let s = self.state();
        let weight: u64 = s
            .mempool
            .entries
            .values()
            .map(|e| e.tx.weight().to_wu())
            .sum();
        let sat_per_kvb = if weight > MAX_BLOCK_WEIGHT {
            2_000
        } else {
            crate::policy::MIN_RELAY_SAT_PER_KVB
        };
        bitcoin::FeeRate::from_sat_per_kwu(sat_per_kvb.div_ceil(4))
    }

    /// Offer a transaction to the mempool. Refusals carry Bitcoin Core's reason string.
    pub fn submit_tx(&self, tx: Transaction) -> Result<Txid, DevnetError> {
        let raw = serialize(&tx);
        let mut s = self.state();
        let st = &mut *s;
        let (txid, replaced) = st
            .mempool
            .accept(tx, &st.index, self.inner.config.policy)
            .map_err(DevnetError::Rejected)?;
        let mut rec = (raw.len() as u32).to_le_bytes().to_vec();
        rec.extend_from_slice(&raw);
        st.log
            .write_all(&rec)
            .map_err(|e| DevnetError::io("append mempool.log", e))?;
        let mut events: Vec<ChainEvent> = replaced
            .into_iter()
            .map(ChainEvent::MempoolRemoved)
            .collect();
        events.push(ChainEvent::MempoolAdded(txid));
        notify(st, events);
        Ok(txid)
    }

    /// Would the mempool take these transactions, in order (each may spend the ones before)?
    /// Nothing changes: the check runs on a copy of the mempool (`testmempoolaccept`). One
    /// answer per transaction, `Err` with Core's reason string.
    pub fn test_accept(&self, txs: &[Transaction]) -> Vec<Result<Txid, String>> {
        let s = self.state();
        let mut pool = s.mempool.clone();
        txs.iter()
            .map(|tx| {
                pool.accept(tx.clone(), &s.index, self.inner.config.policy)
                    .map(|(txid, _)| txid)
            })
            .collect()
    }

    /// A block mined elsewhere (`submitblock`): it must extend the tip; the kernel decides the
    /// rest. `Ok(false)` for a block already on the active chain.
    pub fn submit_block(&self, block: &bitcoin::Block) -> Result<bool, DevnetError> {
        let mut s = self.state();
        let hash = block.block_hash();
        if s.index.heights.contains_key(&hash) {
            return Ok(false);
        }
        let tip = s.index.hashes.last().copied().unwrap_or_else(|| {
            bitcoin::constants::genesis_block(bitcoin::Network::Regtest).block_hash()
        });
        if block.header.prev_blockhash != tip {
            return Err(DevnetError::BlockRejected(
                "inconclusive: the devnet takes only blocks that extend its tip".into(),
            ));
        }
        self.accept_block(block, true)?;
        s.last_time = s.last_time.max(block.header.time);
        self.connect(&mut s, block);
        self.compact_log(&mut s)?;
        Ok(true)
    }

    /// Mine `n` blocks paying `to`, each filled from the mempool. Returns their hashes.
    pub fn mine(&self, n: u32, to: &ScriptBuf) -> Result<Vec<BlockHash>, DevnetError> {
        let mut hashes = Vec::with_capacity(n as usize);
        let mut s = self.state();
        for _ in 0..n {
            let (txs, fees) = s.mempool.template(MAX_BLOCK_WEIGHT);
            let prev = s.index.hashes.last().copied().unwrap_or_else(|| {
                bitcoin::constants::genesis_block(bitcoin::Network::Regtest).block_hash()
            });
            let block = self.next_block(&mut s, prev, txs, fees, to);
            self.accept_block(&block, true)?;
            hashes.push(self.connect(&mut s, &block));
        }
        self.compact_log(&mut s)?;
        Ok(hashes)
    }

    fn next_block(
        &self,
        s: &mut State,
        prev: BlockHash,
        txs: Vec<Transaction>,
        fees: Amount,
        to: &ScriptBuf,
    ) -> bitcoin::Block {
        let height = s.index.heights.get(&prev).copied().map_or(0, |p| p + 1);
        let time = now()
            .max(s.last_time + 1)
            .max(s.index.median_time_past() + 1);
        s.last_time = time;
        s.extra_nonce += 1;
        miner::build_block(prev, height, time, txs, fees, to, s.extra_nonce)
    }

    fn connect(&self, s: &mut State, block: &bitcoin::Block) -> BlockHash {
        s.index.connect(block);
        let removed = s.mempool.remove_for_block(block);
        let hash = block.block_hash();
        let mut events: Vec<ChainEvent> = removed
            .into_iter()
            .map(ChainEvent::MempoolRemoved)
            .collect();
        events.push(ChainEvent::Tip(BlockRef {
            height: s.index.tip_height(),
            hash,
        }));
        notify(s, events);
        hash
    }

    /// Hand a block to the kernel and, once accepted, append it to `blocks.log` and fsync. The
    /// kernel flushes its block index only now and then, and a killed process loses what it had
    /// not flushed; replaying this journal on open restores every block that was ever reported.
    fn accept_block(&self, block: &bitcoin::Block, extends_tip: bool) -> Result<(), DevnetError> {
        let raw = serialize(block);
        self.inner.kernel.process(&raw, extends_tip)?;
        let io = |e| DevnetError::io("append blocks.log", e);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.inner.datadir.join("blocks.log"))
            .map_err(io)?;
        let mut rec = (raw.len() as u32).to_le_bytes().to_vec();
        rec.extend_from_slice(&raw);
        f.write_all(&rec).map_err(io)?;
        f.sync_data().map_err(io)
    }

    /// Rewrite the mempool log with what the mempool holds now.
    fn compact_log(&self, s: &mut State) -> Result<(), DevnetError> {
        let path = self.inner.datadir.join("mempool.log");
        let tmp = self.inner.datadir.join("mempool.log.tmp");
        let mut buf = Vec::new();
        for t in &s.mempool.order {
            if let Some(e) = s.mempool.entries.get(t) {
                let raw = serialize(&*e.tx);
                buf.extend((raw.len() as u32).to_le_bytes());
                buf.extend(raw);
            }
        }
        let io = |e| DevnetError::io("rewrite mempool.log", e);
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(&buf).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        s.log = OpenOptions::new().append(true).open(&path).map_err(io)?;
        Ok(())
    }

    /// Pay `amount` to `to` from the devnet's own coins, mining mature coinbases first if needed.
    pub fn faucet(&self, to: &ScriptBuf, amount: Amount) -> Result<Txid, DevnetError> {
        let fee = Amount::from_sat(1_000);
        let key = &self.inner.faucet;
        for _ in 0..3 {
            let coins = self.mature_faucet_coins();
            let have: Amount = coins.iter().map(|(_, o)| o.value).sum();
            if have >= amount + fee {
                let mut picked = Vec::new();
                let mut sum = Amount::ZERO;
                for c in coins {
                    sum += c.1.value;
                    picked.push(c);
                    if sum >= amount + fee {
                        break;
                    }
                }
                let mut output = vec![TxOut {
                    value: amount,
                    script_pubkey: to.clone(),
                }];
                let change = sum - amount - fee;
                if change > Amount::from_sat(1_000) {
                    output.push(TxOut {
                        value: change,
                        script_pubkey: key.script.clone(),
                    });
                }
                let mut tx = Transaction {
                    version: Version::TWO,
                    lock_time: LockTime::ZERO,
                    input: picked
                        .iter()
                        .map(|(op, _)| TxIn {
                            previous_output: *op,
                            script_sig: ScriptBuf::new(),
                            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                            witness: Witness::new(),
                        })
                        .collect(),
                    output,
                };
                let prevouts: Vec<TxOut> = picked.into_iter().map(|(_, o)| o).collect();
                key.sign(&mut tx, &prevouts);
                return self.submit_tx(tx);
            }
            let height = self.tip().height;
            self.mine(
                if height < 100 {
                    101
                } else {
                    1 + (amount.to_sat() / miner::subsidy(height + 1).to_sat().max(1)) as u32
                },
                &key.script,
            )?;
        }
        let have: Amount = self
            .mature_faucet_coins()
            .iter()
            .map(|(_, o)| o.value)
            .sum();
        Err(DevnetError::FaucetEmpty {
            have: have.to_sat(),
            need: (amount + fee).to_sat(),
        })
    }

    fn mature_faucet_coins(&self) -> Vec<(OutPoint, TxOut)> {
        let s = self.state();
        let next = s.index.tip_height() + 1;
        let mut coins: Vec<(OutPoint, TxOut)> = s
            .index
            .utxos
            .iter()
            .filter(|(op, c)| {
                c.out.script_pubkey == self.inner.faucet.script
                    && (!c.coinbase || next - c.height >= 100)
                    && !s.mempool.spends.contains_key(op)
            })
            .map(|(op, c)| (*op, c.out.clone()))
            .collect();
        coins.sort_by_key(|(op, o)| (std::cmp::Reverse(o.value), *op));
        coins
    }

    /// The script the devnet's miner and faucet use.
    pub fn faucet_script(&self) -> ScriptBuf {
        self.inner.faucet.script.clone()
    }

    /// Replace the top `depth` blocks with a longer branch of `depth + 1` empty blocks. Transactions
    /// of the orphaned blocks go back to the mempool when still valid.
    pub fn reorg(&self, depth: u32) -> Result<Vec<BlockHash>, DevnetError> {
        let mut s = self.state();
        let height = s.index.tip_height();
        if depth == 0 || depth > height {
            return Err(DevnetError::ReorgTooDeep { depth, height });
        }
        let fork = height - depth;
        let mut orphaned = Vec::new();
        for h in fork + 1..=height {
            if let Some(raw) = self.inner.kernel.block_at(h)? {
                let b: bitcoin::Block =
                    deserialize(&raw).map_err(|e| DevnetError::Kernel(e.to_string()))?;
                orphaned.extend(b.txdata.into_iter().skip(1));
            }
        }
        let mut prev = s.index.hashes[fork as usize];
        let mut branch = Vec::new();
        let script = self.inner.faucet.script.clone();
        for i in 0..=depth {
            let mut block = self.next_block(&mut s, prev, Vec::new(), Amount::ZERO, &script);
            // next_block derives the height from `prev`; branch blocks are past the index's view.
            if i > 0 {
                block = miner::build_block(
                    prev,
                    fork + 1 + i,
                    block.header.time,
                    Vec::new(),
                    Amount::ZERO,
                    &script,
                    s.extra_nonce,
                );
            }
            self.accept_block(&block, i == depth)?;
            prev = block.block_hash();
            branch.push(prev);
        }
        // Rebuild the index from the kernel's new active chain, then return orphans to the mempool.
        let (tip, _) = self.inner.kernel.tip();
        let mut index = ChainIndex::default();
        for h in 0..=tip {
            if let Some(raw) = self.inner.kernel.block_at(h)? {
                let b: bitcoin::Block =
                    deserialize(&raw).map_err(|e| DevnetError::Kernel(e.to_string()))?;
                index.connect(&b);
            }
        }
        s.index = index;
        let old_mempool: Vec<Transaction> = s
            .mempool
            .order
            .iter()
            .filter_map(|t| s.mempool.entries.get(t))
            .map(|e| (*e.tx).clone())
            .collect();
        s.mempool = Mempool::default();
        let tip_ref = BlockRef {
            height: tip,
            hash: prev,
        };
        notify(&mut s, vec![ChainEvent::Tip(tip_ref)]);
        self.compact_log(&mut s)?;
        drop(s);
        let old_ids: Vec<Txid> = old_mempool.iter().map(Transaction::compute_txid).collect();
        for tx in orphaned.into_iter().chain(old_mempool) {
            let _ = self.submit_tx(tx);
        }
        // Mempool transactions the new chain made invalid are gone: say so.
        let mut s = self.state();
        let gone: Vec<ChainEvent> = old_ids
            .into_iter()
            .filter(|t| !s.mempool.entries.contains_key(t))
            .map(ChainEvent::MempoolRemoved)
            .collect();
        notify(&mut s, gone);
        Ok(branch)
    }

    /// Take the tip block off the active chain. The kernel offers no invalidation, so this is
    /// `reorg(1)`: a competing branch of two empty blocks from the tip's parent wins on work, and
    /// the old tip's transactions go back to the mempool. Returns the new branch.
    pub fn invalidate_tip(&self) -> Result<Vec<BlockHash>, DevnetError> {
        self.reorg(1)
    }

    /// Build a block on the tip holding exactly `txs` (bypassing the mempool) and hand it to the
    /// kernel. For tests of consensus: the kernel must refuse invalid blocks.
    pub fn submit_block_with(&self, txs: Vec<Transaction>) -> Result<BlockHash, DevnetError> {
        let mut s = self.state();
        let prev = s.index.hashes.last().copied().unwrap_or_else(|| {
            bitcoin::constants::genesis_block(bitcoin::Network::Regtest).block_hash()
        });
        let script = self.inner.faucet.script.clone();
        let block = self.next_block(&mut s, prev, txs, Amount::ZERO, &script);
        self.accept_block(&block, true)?;
        Ok(self.connect(&mut s, &block))
    }

    /// A stream of mempool and tip changes.
    pub fn subscribe(&self) -> Receiver<ChainEvent> {
        let (tx, rx) = channel();
        self.state().subscribers.push(tx);
        rx
    }

    /// Read a raw block file's bytes back (for tools); `None` past the tip.
    pub fn raw_block_at(&self, height: u32) -> Result<Option<Vec<u8>>, DevnetError> {
        self.inner.kernel.block_at(height)
    }
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

/// Give the kernel every block of the journal again, in order; blocks it has are duplicates and
/// cost a lookup. A record cut short by a kill is the block that was never reported: dropped.
fn replay_blocks(kernel: &Kernel, path: &Path) {
    let Ok(log) = std::fs::read(path) else { return };
    let mut rest = &log[..];
    while rest.len() >= 4 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 4 + len {
            break;
        }
        if let Err(e) = kernel.process(&rest[4..4 + len], false) {
            tracing::warn!("replaying blocks.log: {e}");
        }
        rest = &rest[4 + len..];
    }
}
