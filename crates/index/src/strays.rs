//! Strays: the `live chunk` and `segment` records of transactions that wait in the lineage for a
//! parent (a stranger's, or a content's own record seen before its parent), kept in step with the
//! lineage as transactions start and stop waiting (attributed when their parent comes, or dropped
//! by the lineage's bound), so that no more of them is kept than the lineage keeps. Each one's leaf
//! hash is computed once, when its transaction starts waiting; each snapshot then counts every
//! content's forgeries (docs/cvp.md, "Forgeries") with lookups on the indexes it has, whatever the
//! number of strays: live chunks grouped by index then leaf hash, segments by length, then index,
//! then leaf hash, their keys also ranked ([`Ranked`]) so that the strays of a film's segment size
//! below its last index are counted in one query (a header declaring billions of segments costs
//! no more than a film of a few).

use crate::live::ForgedChunk;
use crate::ranked::Ranked;
use bitcoin::Txid;
use cvp::{Header, Record, Tracker, TxRecords};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The strays sharing one key (an index; for segments a length and an index).
#[derive(Debug, Clone, Default)]
struct Group {
    /// How many.
    total: usize,
    /// Their transactions and units, by leaf hash.
    by_leaf: BTreeMap<[u8; 32], BTreeSet<(Txid, u32)>>,
}

impl Group {
    /// Those with leaf hash `leaf`.
    fn with_leaf(&self, leaf: Option<[u8; 32]>) -> usize {
        leaf.and_then(|l| self.by_leaf.get(&l))
            .map_or(0, BTreeSet::len)
    }

    /// Those whose leaf hash is not `own`.
    fn without_leaf(&self, own: Option<[u8; 32]>) -> usize {
        self.total - self.with_leaf(own)
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

/// Every stray record of one type, grouped by key `K`.
#[derive(Debug, Clone)]
pub(crate) struct Grouped<K> {
    by_key: BTreeMap<K, Group>,
    /// Each waiting transaction's strays, to forget them when it stops waiting.
    by_tx: HashMap<Txid, Vec<Stray<K>>>,
    total: usize,
}

impl<K> Default for Grouped<K> {
    fn default() -> Self {
        Grouped {
            by_key: BTreeMap::new(),
            by_tx: HashMap::new(),
            total: 0,
        }
    }
}

/// A stray as kept: its key, the leaf hash of its payload, and its unit's position in its
/// transaction.
pub(crate) type Stray<K> = (K, [u8; 32], u32);

/// Stray live chunks, by index.
pub(crate) type StrayChunks = Grouped<u32>;

/// Stray segments, by payload length then index; their keys also ranked, to count those of one
/// length below an index in one query.
#[derive(Debug, Clone, Default)]
pub(crate) struct StraySegments {
    grouped: Grouped<(usize, u32)>,
    ranked: Ranked<(usize, u32)>,
}

impl<K: Ord + Copy> Grouped<K> {
    /// `txid` waits now, carrying `strays`.
    fn insert(&mut self, txid: Txid, strays: Vec<Stray<K>>) {
        if strays.is_empty() {
            return;
        }
        self.remove(&txid);
        for (key, leaf, unit) in &strays {
            let at = self.by_key.entry(*key).or_default();
            if at.by_leaf.entry(*leaf).or_default().insert((txid, *unit)) {
                at.total += 1;
                self.total += 1;
            }
        }
        self.by_tx.insert(txid, strays);
    }

    /// `txid` waits no more (attributed, or dropped by the lineage's bound): its strays, gone.
    fn remove(&mut self, txid: &Txid) -> Vec<Stray<K>> {
        let Some(strays) = self.by_tx.remove(txid) else {
            return Vec::new();
        };
        for (key, leaf, unit) in &strays {
            let (key, leaf, unit) = (*key, *leaf, *unit);
            let Some(at) = self.by_key.get_mut(&key) else {
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
                self.by_key.remove(&key);
            }
        }
        strays
    }

    /// How many strays there are.
    pub(crate) fn len(&self) -> usize {
        self.total
    }

    /// None.
    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// The strays of a waiting transaction, hashed.
#[derive(Debug, Default)]
pub(crate) struct TxStrays {
    chunks: Vec<Stray<u32>>,
    segments: Vec<Stray<(usize, u32)>>,
}

/// The `live chunk` and `segment` records of `tx`, with their leaf hashes.
pub(crate) fn of_tx(tx: &TxRecords) -> TxStrays {
    let mut out = TxStrays::default();
    for (unit, f) in tx.found.iter().enumerate() {
        let unit = u32::try_from(unit).unwrap_or(u32::MAX);
        match &f.record {
            Ok(Record::LiveChunk(ch)) => {
                let leaf = cvp::merkle::leaf_hash(&ch.payload);
                out.chunks.push((ch.index, leaf, unit));
            }
            Ok(Record::Segment(s)) => {
                let leaf = cvp::merkle::leaf_hash(&s.payload);
                out.segments.push(((s.payload.len(), s.index), leaf, unit));
            }
            _ => {}
        }
    }
    out
}

/// Every stray of a catalog.
#[derive(Debug, Clone, Default)]
pub(crate) struct Strays {
    chunks: StrayChunks,
    segments: StraySegments,
}

impl Strays {
    /// `txid` waits now, carrying `strays`.
    pub(crate) fn insert(&mut self, txid: Txid, strays: TxStrays) {
        self.chunks.insert(txid, strays.chunks);
        self.segments.insert(txid, strays.segments);
    }

    /// `txid` waits no more (attributed, or dropped by the lineage's bound).
    pub(crate) fn remove(&mut self, txid: &Txid) {
        self.chunks.remove(txid);
        self.segments.remove(txid);
    }

    /// The stray live chunks.
    pub(crate) fn chunks(&self) -> &StrayChunks {
        &self.chunks
    }

    /// The stray segments.
    pub(crate) fn segments(&self) -> &StraySegments {
        &self.segments
    }
}

impl StraySegments {
    /// `txid` waits now, carrying `strays`.
    fn insert(&mut self, txid: Txid, strays: Vec<Stray<(usize, u32)>>) {
        self.remove(&txid);
        for (key, _, _) in &strays {
            self.ranked.insert(*key);
        }
        self.grouped.insert(txid, strays);
    }

    /// `txid` waits no more.
    fn remove(&mut self, txid: &Txid) {
        for (key, _, _) in self.grouped.remove(txid) {
            self.ranked.remove(&key);
        }
    }

    /// How many stray segments there are.
    pub(crate) fn len(&self) -> usize {
        self.grouped.len()
    }

    /// None.
    pub(crate) fn is_empty(&self) -> bool {
        self.grouped.is_empty()
    }

    /// The forged segments of a content with `header` holding `tracker`'s segments: the strays
    /// at an index below its segment count with the exact length that index must have, less
    /// those with its own bytes at an index it holds. Every index but the last must have the
    /// segment size: the strays of that size below the last index are counted in one query,
    /// less those with its own bytes, found by walking the fewer of its segments and those
    /// strays; the last index is one lookup. The cost never grows with the strays but for that
    /// walk, which is bounded by the content's own segments.
    pub(crate) fn forged<T>(&self, header: &Header, tracker: &Tracker<T>) -> usize {
        let Some(count) = header.segment_count.filter(|c| *c > 0) else {
            return 0;
        };
        let by_key = &self.grouped.by_key;
        let own = |index: u32| tracker.leaf(index).map(|l| l.hash);
        let last = count - 1;
        let mut sum = header
            .expected_segment_len(last)
            .and_then(|len| by_key.get(&(len, last)))
            .map_or(0, |g| g.without_leaf(own(last)));
        if let Some(size) = header.expected_segment_len(0).filter(|_| last > 0) {
            let all = self.ranked.below(&(size, last)) - self.ranked.below(&(size, 0));
            let mine: usize = if all < tracker.received() as usize {
                by_key
                    .range((size, 0)..(size, last))
                    .map(|((_, i), g)| g.with_leaf(own(*i)))
                    .sum()
            } else {
                tracker
                    .leaves()
                    .take_while(|(i, _)| *i < last)
                    .filter_map(|(i, l)| by_key.get(&(size, i)).map(|g| g.with_leaf(Some(l.hash))))
                    .sum()
            };
            sum += all - mine;
        }
        sum
    }
}

impl StrayChunks {
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
        let held: Vec<(u32, [u8; 32], &Group)> =
            if (tracker.received() as usize) <= self.by_key.len() {
                tracker
                    .leaves()
                    .filter_map(|(i, l)| self.by_key.get(&i).map(|at| (i, l.hash, at)))
                    .collect()
            } else {
                self.by_key
                    .iter()
                    .filter_map(|(i, at)| tracker.leaf(*i).map(|l| (*i, l.hash, at)))
                    .collect()
            };
        let own: usize = held.iter().map(|(_, l, at)| at.with_leaf(Some(*l))).sum();
        let mut listed = Vec::new();
        if open {
            // Indexes it does not hold give all their strays; those it holds with only its own
            // bytes give none, and there are no more of them than `held`.
            for (i, at) in &self.by_key {
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
