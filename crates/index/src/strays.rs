//! Stray live chunks: the `live chunk` records of transactions that wait in the lineage for a
//! parent (a stranger's, or a stream's own chunk seen before its fan-out), kept in step with the
//! lineage as transactions start and stop waiting (attributed when their parent comes, or dropped
//! by the lineage's bound), so that no more of them is kept than the lineage keeps. Each one's leaf
//! hash is computed once, when its transaction starts waiting; each snapshot then counts every live
//! stream's forged chunks with lookups on the indexes it holds (docs/cvp.md, "Forgeries"), whatever
//! the number of strays.

use crate::live::ForgedChunk;
use bitcoin::Txid;
use cvp::{Record, Tracker, TxRecords};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A stray chunk as kept: its index, the leaf hash of its payload, and its unit's position in its
/// transaction.
pub(crate) type StrayChunk = (u32, [u8; 32], u32);

/// The stray chunks claiming one index.
#[derive(Debug, Clone, Default)]
struct AtIndex {
    /// How many.
    total: usize,
    /// Their transactions and units, by leaf hash.
    by_leaf: BTreeMap<[u8; 32], BTreeSet<(Txid, u32)>>,
}

impl AtIndex {
    /// Those with leaf hash `leaf`.
    fn with_leaf(&self, leaf: Option<[u8; 32]>) -> usize {
        leaf.and_then(|l| self.by_leaf.get(&l))
            .map_or(0, BTreeSet::len)
    }

    /// Those whose leaf hash is not `own`, in leaf then txid order, as forgeries of `index`.
    fn others(&self, index: u32, own: Option<[u8; 32]>) -> impl Iterator<Item = ForgedChunk> + '_ {
        self.by_leaf
            .iter()
            .filter(move |(l, _)| Some(**l) != own)
            .flat_map(move |(_, units)| {
                units
                    .iter()
                    .map(move |(txid, _)| ForgedChunk { txid: *txid, index })
            })
    }
}

/// Every stray live chunk of a catalog.
#[derive(Debug, Clone, Default)]
pub(crate) struct StrayChunks {
    by_index: BTreeMap<u32, AtIndex>,
    /// Each waiting transaction's stray chunks, to forget them when it stops waiting.
    by_tx: HashMap<Txid, Vec<StrayChunk>>,
    total: usize,
}

/// The `live chunk` records of `tx`, with their leaf hashes.
pub(crate) fn chunks_of(tx: &TxRecords) -> Vec<StrayChunk> {
    tx.found
        .iter()
        .enumerate()
        .filter_map(|(unit, f)| match &f.record {
            Ok(Record::LiveChunk(ch)) => Some((
                ch.index,
                cvp::merkle::leaf_hash(&ch.payload),
                u32::try_from(unit).unwrap_or(u32::MAX),
            )),
            _ => None,
        })
        .collect()
}

impl StrayChunks {
    /// `txid` waits now, carrying `chunks`.
    pub(crate) fn insert(&mut self, txid: Txid, chunks: Vec<StrayChunk>) {
        if chunks.is_empty() {
            return;
        }
        self.remove(&txid);
        for (index, leaf, unit) in &chunks {
            let at = self.by_index.entry(*index).or_default();
            if at.by_leaf.entry(*leaf).or_default().insert((txid, *unit)) {
                at.total += 1;
                self.total += 1;
            }
        }
        self.by_tx.insert(txid, chunks);
    }

    /// `txid` waits no more (attributed, or dropped by the lineage's bound).
    pub(crate) fn remove(&mut self, txid: &Txid) {
        let Some(chunks) = self.by_tx.remove(txid) else {
            return;
        };
        for (index, leaf, unit) in chunks {
            let Some(at) = self.by_index.get_mut(&index) else {
                continue;
            };
            if let Some(units) = at.by_leaf.get_mut(&leaf) {
                if units.remove(&(*txid, unit)) {
                    at.total -= 1;
                    self.total -= 1;
                }
                if units.is_empty() {
                    at.by_leaf.remove(&leaf);
                }
            }
            if at.total == 0 {
                self.by_index.remove(&index);
            }
        }
    }

    /// How many stray chunks there are.
    pub(crate) fn len(&self) -> usize {
        self.total
    }

    /// None.
    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The forged chunks of a live stream holding `tracker`'s segments: when `open`, every stray
    /// chunk but those with its own bytes at an index it holds (an open stream has no count: any
    /// index has its shape); when closed, the stray chunks at an index it holds with other bytes.
    /// Returns their count and the first `max_listed` of them in index order. The cost grows with
    /// the indexes it holds that strays claim, and with `max_listed`, never with the strays.
    pub(crate) fn forged<T>(
        &self,
        tracker: &Tracker<T>,
        open: bool,
        max_listed: usize,
    ) -> (usize, Vec<ForgedChunk>) {
        // The indexes it holds that strays claim, with its own leaf there: walked from the side
        // with fewer entries.
        let held: Vec<(u32, [u8; 32], &AtIndex)> =
            if (tracker.received() as usize) <= self.by_index.len() {
                tracker
                    .leaves()
                    .filter_map(|(i, l)| self.by_index.get(&i).map(|at| (i, l.hash, at)))
                    .collect()
            } else {
                self.by_index
                    .iter()
                    .filter_map(|(i, at)| tracker.leaf(*i).map(|l| (*i, l.hash, at)))
                    .collect()
            };
        let own: usize = held.iter().map(|(_, l, at)| at.with_leaf(Some(*l))).sum();
        let mut listed = Vec::new();
        if open {
            // Indexes it does not hold give all their strays; those it holds with only its own
            // bytes give none, and there are no more of them than `held`.
            for (i, at) in &self.by_index {
                if listed.len() >= max_listed {
                    break;
                }
                let mine = tracker.leaf(*i).map(|l| l.hash);
                let room = max_listed - listed.len();
                listed.extend(at.others(*i, mine).take(room));
            }
            (self.total - own, listed)
        } else {
            let at_held: usize = held.iter().map(|(_, _, at)| at.total).sum();
            for (i, l, at) in &held {
                if listed.len() >= max_listed {
                    break;
                }
                let room = max_listed - listed.len();
                listed.extend(at.others(*i, Some(*l)).take(room));
            }
            (at_held - own, listed)
        }
    }
}
