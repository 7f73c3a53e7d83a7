//! Several backends as one: `--chain core:URL --chain esplora:URL`.
//!
//! [`Multi`] reads from the first healthy backend in the order given and fails over to the next
//! when it stops answering (a transient error or an answer that does not decode); a backend that
//! went down is tried again after a cool-down, and reads go back to it, the preferred one, once it
//! answers. Each block hash asked by height is cross-checked with every other backend that answers
//! for that height. When they disagree, each claim is checked (the claimant must serve a block
//! whose header hashes to it, with valid proof of work, a matching Merkle root and, where BIP34
//! applies, that height in its coinbase); claims that fail are lies, and among the claims that
//! hold, the one most backends make wins (a tie goes to the backend given first). Every backend on
//! the losing side is reported (a warning with both hashes, and [`Multi::status`]) and no longer
//! used, until it serves the winning block at that height again (checked every `recheck`). A raw
//! block whose header does not hash to the hash asked for marks its server the same way, and the
//! block is read from the next backend.

use crate::{BlockRef, ChainBackend, ChainError, TxStatus};
use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, FeeRate, Network, Transaction, Txid};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How a backend stands, as [`Multi::status`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Health {
    /// Answering, and agreeing with the others.
    Healthy,
    /// Stopped answering; tried again after the cool-down.
    Down {
        /// The last error it gave.
        error: String,
    },
    /// It disagreed with the others about a block, or served a block that is not the one asked
    /// for: not used.
    Disagrees {
        /// The height of the block, when known.
        height: Option<u32>,
        /// The block hash the others (or the request) hold.
        ours: BlockHash,
        /// The block hash this backend gave.
        theirs: BlockHash,
        /// Why its claim lost, in words.
        reason: String,
    },
}

/// One backend's line in [`Multi::status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendStatus {
    /// The backend as given (`--chain` spec).
    pub chain: String,
    /// The backend reads are served from now.
    pub in_use: bool,
    /// Healthy, down or disagreeing.
    #[serde(flatten)]
    pub health: Health,
}

#[derive(Debug)]
struct Slot {
    health: Health,
    /// When a down or disagreeing backend may be tried (or re-checked) again.
    retry_at: Option<Instant>,
}

#[derive(Debug)]
struct State {
    slots: Vec<Slot>,
    serving: usize,
}

/// Several backends over one chain, read as one; see the module documentation.
#[derive(Debug)]
pub struct Multi {
    members: Vec<(String, Arc<dyn ChainBackend>)>,
    network: Network,
    state: Mutex<State>,
    cooldown: Duration,
    recheck: Duration,
}

/// Why a claimed block does not hold, or `Ok` when it does.
fn check_claim(raw: &[u8], hash: &BlockHash, height: Option<u32>) -> Result<(), String> {
    let block = crate::decode_block(raw).map_err(|e| e.to_string())?;
    let got = block.block_hash();
    if got != *hash {
        return Err(format!("it serves a block that hashes to {got}"));
    }
    block
        .header
        .validate_pow(block.header.target())
        .map_err(|e| format!("its block's proof of work is invalid: {e}"))?;
    if !block.check_merkle_root() {
        return Err("its block's transactions do not match the Merkle root".into());
    }
    if let (Some(h), Ok(bip34)) = (height, block.bip34_block_height()) {
        if bip34 != u64::from(h) {
            return Err(format!("its block is at height {bip34} (BIP34), not {h}"));
        }
    }
    Ok(())
}

/// The hash of a raw block's header (its first 80 bytes), if it has one.
fn header_hash(raw: &[u8]) -> Option<BlockHash> {
    let header = raw.get(..80)?;
    bitcoin::consensus::deserialize::<bitcoin::block::Header>(header)
        .ok()
        .map(|h| h.block_hash())
}

impl Multi {
    /// Several backends, preferred in the order given; `members` pairs each with its name.
    /// Refuses an empty list and backends on different networks.
    pub fn new(members: Vec<(String, Arc<dyn ChainBackend>)>) -> Result<Multi, ChainError> {
        let network = members
            .first()
            .map(|(_, b)| b.network())
            .ok_or_else(|| ChainError::Unavailable("no backend given".into()))?;
        for (_, b) in &members {
            if b.network() != network {
                return Err(ChainError::NetworkMismatch {
                    expected: network,
                    actual: b.network(),
                });
            }
        }
        let slots = members
            .iter()
            .map(|_| Slot {
                health: Health::Healthy,
                retry_at: None,
            })
            .collect();
        Ok(Multi {
            members,
            network,
            state: Mutex::new(State { slots, serving: 0 }),
            cooldown: Duration::from_secs(10),
            recheck: Duration::from_secs(60),
        })
    }

    /// How long a backend that stopped answering is passed over (10 s by default), and how often
    /// one that disagreed is checked again (60 s).
    pub fn with_timing(mut self, cooldown: Duration, recheck: Duration) -> Self {
        self.cooldown = cooldown;
        self.recheck = recheck;
        self
    }

    /// Each backend, in the order given: which one is in use, which are down or disagree.
    pub fn status(&self) -> Vec<BackendStatus> {
        let st = self.lock();
        self.members
            .iter()
            .zip(&st.slots)
            .enumerate()
            .map(|(i, ((name, _), slot))| BackendStatus {
                chain: name.clone(),
                in_use: i == st.serving && slot.health == Health::Healthy,
                health: slot.health.clone(),
            })
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The backends to ask, in order: healthy ones and those whose cool-down is over first, then
    /// the others that are down (better a backend that may be back than none). Disagreeing ones
    /// never.
    fn order(&self) -> Vec<usize> {
        let st = self.lock();
        let now = Instant::now();
        let (mut ready, mut waiting) = (Vec::new(), Vec::new());
        for (i, slot) in st.slots.iter().enumerate() {
            match slot.health {
                Health::Disagrees { .. } => {}
                Health::Down { .. } if slot.retry_at.is_some_and(|t| t > now) => waiting.push(i),
                _ => ready.push(i),
            }
        }
        ready.extend(waiting);
        ready
    }

    fn mark_up(&self, i: usize) {
        let mut st = self.lock();
        if let Some(slot) = st.slots.get_mut(i) {
            if matches!(slot.health, Health::Down { .. }) {
                tracing::info!("chain backend {} answers again", self.members[i].0);
                slot.health = Health::Healthy;
                slot.retry_at = None;
            }
        }
        if st.serving != i {
            tracing::info!("reading the chain from {}", self.members[i].0);
            st.serving = i;
        }
    }

    fn mark_down(&self, i: usize, e: &ChainError) {
        tracing::warn!(
            "chain backend {} stopped answering ({e}): failing over",
            self.members[i].0
        );
        let mut st = self.lock();
        if let Some(slot) = st.slots.get_mut(i) {
            if !matches!(slot.health, Health::Disagrees { .. }) {
                slot.health = Health::Down {
                    error: e.to_string(),
                };
                slot.retry_at = Some(Instant::now() + self.cooldown);
            }
        }
    }

    fn mark_liar(
        &self,
        i: usize,
        height: Option<u32>,
        ours: BlockHash,
        theirs: BlockHash,
        reason: String,
    ) {
        tracing::warn!(
            "chain backend {} disagrees about the block{}: it says {theirs}, the chain holds {ours} ({reason}); it is no longer used",
            self.members[i].0,
            height.map_or(String::new(), |h| format!(" at height {h}")),
        );
        let mut st = self.lock();
        if let Some(slot) = st.slots.get_mut(i) {
            slot.health = Health::Disagrees {
                height,
                ours,
                theirs,
                reason,
            };
            slot.retry_at = Some(Instant::now() + self.recheck);
        }
    }

    /// `f` on the backends in [`order`](Self::order) until one gives an answer that is not a
    /// failure to answer; returns which one answered and what.
    fn read<T>(
        &self,
        mut f: impl FnMut(usize, &dyn ChainBackend) -> Result<T, ChainError>,
    ) -> Result<(usize, T), ChainError> {
        let mut last = None;
        for i in self.order() {
            match f(i, self.members[i].1.as_ref()) {
                Err(e) if e.is_transient() || matches!(e, ChainError::Decode(_)) => {
                    self.mark_down(i, &e);
                    last = Some(e);
                }
                Err(e @ ChainError::Disagrees(_)) => last = Some(e),
                other => {
                    self.mark_up(i);
                    return other.map(|t| (i, t));
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            ChainError::Unavailable("every chain backend disagrees with the others".into())
        }))
    }

    /// Disagreeing backends whose re-check is due: re-admitted if they now serve the block the
    /// others hold at the height they disagreed about.
    fn recheck_due(&self) {
        let due: Vec<(usize, Option<u32>, BlockHash)> = {
            let st = self.lock();
            let now = Instant::now();
            st.slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match &s.health {
                    Health::Disagrees { height, ours, .. }
                        if s.retry_at.is_some_and(|t| t <= now) =>
                    {
                        Some((i, *height, *ours))
                    }
                    _ => None,
                })
                .collect()
        };
        for (i, height, ours) in due {
            let b = &self.members[i].1;
            let agrees = height.is_none_or(|h| b.block_hash(h).is_ok_and(|x| x == ours))
                && b.raw_block(&ours)
                    .is_ok_and(|raw| check_claim(&raw, &ours, height).is_ok());
            let mut st = self.lock();
            if agrees {
                tracing::info!(
                    "chain backend {} agrees again: used again",
                    self.members[i].0
                );
                st.slots[i].health = Health::Healthy;
                st.slots[i].retry_at = None;
            } else {
                st.slots[i].retry_at = Some(Instant::now() + self.recheck);
            }
        }
    }

    /// Ask the other backends for the hash at `height`; settle any disagreement. Returns the hash
    /// the chain holds there.
    fn cross_check(
        &self,
        height: u32,
        first: usize,
        hash: BlockHash,
    ) -> Result<BlockHash, ChainError> {
        self.recheck_due();
        let mut claims: BTreeMap<BlockHash, Vec<usize>> = BTreeMap::new();
        claims.entry(hash).or_default().push(first);
        let now = Instant::now();
        let others: Vec<usize> = {
            let st = self.lock();
            (0..self.members.len())
                .filter(|&i| i != first)
                .filter(|&i| match st.slots[i].health {
                    Health::Healthy => true,
                    Health::Down { .. } => st.slots[i].retry_at.is_none_or(|t| t <= now),
                    Health::Disagrees { .. } => false,
                })
                .collect()
        };
        for i in others {
            match self.members[i].1.block_hash(height) {
                Ok(h) => {
                    self.mark_up_quietly(i);
                    claims.entry(h).or_default().push(i);
                }
                Err(e) if e.is_transient() => self.mark_down(i, &e),
                // Behind the others (not found) or another final answer: no vote.
                Err(_) => {}
            }
        }
        if claims.len() == 1 {
            return Ok(hash);
        }
        self.settle(height, claims)
    }

    fn mark_up_quietly(&self, i: usize) {
        let mut st = self.lock();
        if let Some(slot) = st.slots.get_mut(i) {
            if matches!(slot.health, Health::Down { .. }) {
                slot.health = Health::Healthy;
                slot.retry_at = None;
            }
        }
    }

    /// Check each claimed hash at `height` with one of its claimants; the claim that holds and
    /// most backends make wins, ties going to the backend given first. Everyone else is marked.
    fn settle(
        &self,
        height: u32,
        claims: BTreeMap<BlockHash, Vec<usize>>,
    ) -> Result<BlockHash, ChainError> {
        let mut valid: Vec<(BlockHash, &Vec<usize>)> = Vec::new();
        let mut invalid: Vec<(BlockHash, &Vec<usize>, String)> = Vec::new();
        for (hash, who) in &claims {
            let verdict = match self.members[who[0]].1.raw_block(hash) {
                Ok(raw) => check_claim(&raw, hash, Some(height)),
                Err(e) => Err(format!("it cannot serve that block: {e}")),
            };
            match verdict {
                Ok(()) => valid.push((*hash, who)),
                Err(why) => invalid.push((*hash, who, why)),
            }
        }
        // Most claimants first, then the claim of the backend given first.
        valid.sort_by_key(|(_, who)| (std::cmp::Reverse(who.len()), who.iter().min().copied()));
        let Some((winner, _)) = valid.first().copied() else {
            return Err(ChainError::Unavailable(format!(
                "no chain backend serves a valid block at height {height}"
            )));
        };
        for (hash, who, why) in &invalid {
            for &i in *who {
                self.mark_liar(i, Some(height), winner, *hash, why.clone());
            }
        }
        for (hash, who) in valid.iter().skip(1) {
            for &i in *who {
                self.mark_liar(
                    i,
                    Some(height),
                    winner,
                    *hash,
                    "fewer backends hold its block at that height".into(),
                );
            }
        }
        Ok(winner)
    }
}

impl ChainBackend for Multi {
    fn network(&self) -> Network {
        self.network
    }

    fn tip(&self) -> Result<BlockRef, ChainError> {
        self.read(|_, b| b.tip()).map(|(_, t)| t)
    }

    fn block_hash(&self, height: u32) -> Result<BlockHash, ChainError> {
        let (i, hash) = self.read(|_, b| b.block_hash(height))?;
        self.cross_check(height, i, hash)
    }

    fn raw_block(&self, hash: &BlockHash) -> Result<Vec<u8>, ChainError> {
        self.read(|i, b| {
            let raw = b.raw_block(hash)?;
            match header_hash(&raw) {
                Some(got) if got == *hash => Ok(raw),
                got => {
                    let theirs = got.unwrap_or_else(BlockHash::all_zeros);
                    let why = "it serves another block than the one asked for";
                    self.mark_liar(i, None, *hash, theirs, why.into());
                    Err(ChainError::Disagrees(format!("block {hash}: {why}")))
                }
            }
        })
        .map(|(_, raw)| raw)
    }

    fn raw_tx(&self, txid: &Txid) -> Result<Vec<u8>, ChainError> {
        self.read(|_, b| b.raw_tx(txid)).map(|(_, r)| r)
    }

    fn tx_status(&self, txid: &Txid) -> Result<TxStatus, ChainError> {
        self.read(|_, b| b.tx_status(txid)).map(|(_, s)| s)
    }

    fn mempool_txids(&self) -> Result<Vec<Txid>, ChainError> {
        self.read(|_, b| b.mempool_txids()).map(|(_, m)| m)
    }

    fn broadcast(&self, tx: &Transaction) -> Result<Txid, ChainError> {
        self.read(|_, b| b.broadcast(tx)).map(|(_, t)| t)
    }

    fn fee_estimate(&self, target_blocks: u16) -> Result<FeeRate, ChainError> {
        self.read(|_, b| b.fee_estimate(target_blocks))
            .map(|(_, f)| f)
    }
}
