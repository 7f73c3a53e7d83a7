//! Authenticity: which records are the publisher's.
//!
//! Anyone can write a record claiming to be segment 17 of someone's film. CVP tells them apart at no
//! cost in payload bytes: a transaction's publisher records belong to content C when the
//! transaction carries C's header (C is then its txid), or when its first input spends an output of a
//! transaction that belongs to C. Only the holder of those outputs' keys can extend the lineage, so
//! forged segments never attach. Every transaction in a lineage carries at least one CVP unit
//! (fan-out and commit transactions carry a Link), so a scanner that only looks at CVP transactions
//! sees it all. Any unit counts for the lineage, whatever its type: a transaction that carries only
//! record types this reader does not know (odd ones from a later version) still passes the lineage
//! on to its descendants. Transactions may arrive in any order: a child seen before its parent waits until the parent
//! is attributed.

use crate::carrier::Found;
use crate::Record;
use bitcoin::Txid;
use std::collections::{HashMap, VecDeque};

/// One transaction's CVP content, as a scanner extracted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecords {
    /// The transaction.
    pub txid: Txid,
    /// The txid its first input spends from (`None` for a coinbase).
    pub parent: Option<Txid>,
    /// The records (and flaws) found in it.
    pub found: Vec<Found>,
}

impl TxRecords {
    /// Extract from a transaction.
    pub fn from_tx(tx: &bitcoin::Transaction) -> Self {
        let parent = if tx.is_coinbase() {
            None
        } else {
            tx.input.first().map(|i| i.previous_output.txid)
        };
        TxRecords {
            txid: tx.compute_txid(),
            parent,
            found: crate::carrier::records_in_tx(tx),
        }
    }

    /// How many valid headers it carries.
    pub fn header_count(&self) -> usize {
        self.found
            .iter()
            .filter(|f| matches!(f.record, Ok(Record::Header(_))))
            .count()
    }

    /// It starts a content: exactly one valid header, or no header and exactly one valid
    /// `commitment` (docs/cvp.md, "Commitments").
    pub fn starts_content(&self) -> bool {
        match self.header_count() {
            1 => true,
            0 => {
                self.found
                    .iter()
                    .filter(|f| matches!(f.record, Ok(Record::Commitment(_))))
                    .count()
                    == 1
            }
            _ => false,
        }
    }

    /// Carries a CVP unit of any type, known or not, valid or not: it continues a lineage.
    fn carries_unit(&self) -> bool {
        !self.found.is_empty()
    }

    /// What keeping it waiting costs: its units' bytes and a fixed overhead.
    fn weight(&self) -> usize {
        self.found.iter().map(|f| f.unit_len).sum::<usize>() + 128
    }
}

/// A transaction whose records belong to a content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributed {
    /// The content id (its header's txid).
    pub content: Txid,
    /// The transaction.
    pub tx: TxRecords,
}

/// What offering one transaction did ([`Lineage::offer`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offered {
    /// It and the waiting descendants it resolved, once attributed.
    pub attributed: Vec<Attributed>,
    /// It waits for its parent now.
    pub waiting: bool,
    /// Waiting transactions dropped (the oldest first) to make room for it: no longer waiting.
    pub dropped: Vec<Txid>,
}

/// The transactions waiting for one parent, and the number of their group's queue entry.
#[derive(Debug, Clone)]
struct Waiting {
    /// Its place in the eviction queue: an entry of the queue with another number is stale.
    seq: u64,
    txs: Vec<TxRecords>,
}

/// The attribution state; feed it every CVP transaction in any order.
#[derive(Debug, Clone)]
pub struct Lineage {
    owner: HashMap<Txid, Txid>,
    pending: HashMap<Txid, Waiting>,
    /// The parents waited for, oldest group first, to drop the oldest when full. A group that is
    /// attributed leaves its entry behind (stale); the queue is compacted when stale entries
    /// outnumber the groups, so after each offer it holds at most twice the groups.
    pending_order: VecDeque<(u64, Txid)>,
    /// Stale entries in `pending_order`.
    stale: usize,
    /// The next group's number.
    next_seq: u64,
    pending_len: usize,
    pending_bytes: usize,
    max_pending: usize,
    max_pending_bytes: usize,
}

/// Bytes of waiting transactions a default [`Lineage`] keeps.
pub const DEFAULT_MAX_PENDING_BYTES: usize = 16 << 20;

impl Default for Lineage {
    fn default() -> Self {
        Self::with_limits(100_000, DEFAULT_MAX_PENDING_BYTES)
    }
}

impl Lineage {
    /// At most `max_pending` unattributed transactions are kept waiting for a parent; the oldest are
    /// dropped first (a spammer cannot make a reader hold unbounded memory).
    pub fn with_max_pending(max_pending: usize) -> Self {
        Self::with_limits(max_pending, usize::MAX)
    }

    /// At most `max_pending` unattributed transactions holding at most `max_bytes` of units (plus
    /// 128 bytes each) are kept waiting for a parent; the oldest are dropped first.
    pub fn with_limits(max_pending: usize, max_bytes: usize) -> Self {
        Lineage {
            owner: HashMap::new(),
            pending: HashMap::new(),
            pending_order: VecDeque::new(),
            stale: 0,
            next_seq: 0,
            pending_len: 0,
            pending_bytes: 0,
            max_pending,
            max_pending_bytes: max_bytes,
        }
    }

    /// Bytes held by transactions waiting for their parent (see [`Lineage::with_limits`]).
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// The content a transaction belongs to, if known.
    pub fn content_of(&self, txid: &Txid) -> Option<Txid> {
        self.owner.get(txid).copied()
    }

    /// Record that `txid` belongs to `content` (e.g. when reloading an index).
    pub fn insert(&mut self, txid: Txid, content: Txid) {
        self.owner.insert(txid, content);
    }

    /// Transactions still waiting for their parent.
    pub fn pending_len(&self) -> usize {
        self.pending_len
    }

    /// Offer a transaction. Returns it (and any waiting descendants it resolves) once attributed;
    /// nothing if it waits or carries no publisher record.
    pub fn observe(&mut self, tx: TxRecords) -> Vec<Attributed> {
        self.offer(tx).attributed
    }

    /// The content `tx` would be attributed to if offered now: its own when it starts one
    /// ([`TxRecords::starts_content`]), else its parent's (`None`: it would wait, or it carries no
    /// unit).
    pub fn content_for(&self, tx: &TxRecords) -> Option<Txid> {
        if !tx.carries_unit() {
            None
        } else if tx.starts_content() {
            Some(tx.txid)
        } else {
            tx.parent.and_then(|p| self.owner.get(&p).copied())
        }
    }

    /// [`observe`](Self::observe), also telling whether the transaction waits now and which
    /// waiting transactions were dropped to make room for it (readers that keep their own
    /// bookkeeping of what waits stay in step with it).
    pub fn offer(&mut self, tx: TxRecords) -> Offered {
        let mut out = Offered::default();
        if !tx.carries_unit() {
            return out;
        }
        match self.content_for(&tx) {
            Some(c) => out.attributed = self.attribute(c, tx),
            None => {
                if let Some(parent) = tx.parent {
                    out.waiting = self.park(parent, tx, &mut out.dropped);
                }
            }
        }
        out
    }

    fn attribute(&mut self, content: Txid, tx: TxRecords) -> Vec<Attributed> {
        let mut out = Vec::new();
        let mut queue = vec![(content, tx)];
        while let Some((c, tx)) = queue.pop() {
            self.owner.insert(tx.txid, c);
            if let Some(Waiting { txs: children, .. }) = self.pending.remove(&tx.txid) {
                self.pending_len -= children.len();
                self.pending_bytes -= children.iter().map(TxRecords::weight).sum::<usize>();
                self.stale += 1;
                for child in children {
                    // A waiting child with its own header (or commitment) starts its own content.
                    let cc = if child.starts_content() {
                        child.txid
                    } else {
                        c
                    };
                    queue.push((cc, child));
                }
            }
            out.push(Attributed { content: c, tx });
        }
        self.compact();
        out
    }

    /// Drop the queue's stale entries once they outnumber the waiting groups: each compaction
    /// costs no more than the attributions that made its stale entries.
    fn compact(&mut self) {
        if self.stale <= self.pending.len() {
            return;
        }
        let pending = &self.pending;
        self.pending_order
            .retain(|(seq, p)| pending.get(p).is_some_and(|w| w.seq == *seq));
        self.stale = 0;
    }

    /// Entries in the eviction queue, stale ones included (at most twice the groups of waiting
    /// transactions): for tests.
    #[doc(hidden)]
    pub fn queue_len(&self) -> usize {
        self.pending_order.len()
    }

    /// Keep `tx` waiting for `parent`, dropping the oldest waiting transactions (their txids go
    /// to `dropped`) to make room; false when it is too big to keep at all.
    fn park(&mut self, parent: Txid, tx: TxRecords, dropped: &mut Vec<Txid>) -> bool {
        let weight = tx.weight();
        if self.max_pending == 0 || weight > self.max_pending_bytes {
            return false;
        }
        while self.pending_len >= self.max_pending
            || self.pending_bytes + weight > self.max_pending_bytes
        {
            let Some((seq, oldest)) = self.pending_order.pop_front() else {
                break;
            };
            if self.pending.get(&oldest).is_some_and(|w| w.seq == seq) {
                if let Some(w) = self.pending.remove(&oldest) {
                    self.pending_len -= w.txs.len();
                    self.pending_bytes -= w.txs.iter().map(TxRecords::weight).sum::<usize>();
                    dropped.extend(w.txs.into_iter().map(|t| t.txid));
                }
            } else {
                self.stale = self.stale.saturating_sub(1);
            }
        }
        let seq = self.next_seq;
        let entry = self.pending.entry(parent).or_insert_with(|| Waiting {
            seq,
            txs: Vec::new(),
        });
        if entry.seq == seq {
            self.next_seq += 1;
            self.pending_order.push_back((seq, parent));
        }
        entry.txs.push(tx);
        self.pending_len += 1;
        self.pending_bytes += weight;
        self.compact();
        true
    }

    /// Transactions waiting for a parent that never came: forgeries, or not seen yet.
    pub fn unattributed(&self) -> impl Iterator<Item = &TxRecords> {
        self.pending.values().flat_map(|w| &w.txs)
    }
}
