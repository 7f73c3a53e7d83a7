//! The catalog: every content found, its verified bytes, and the flaws seen on the way.

use bitcoin::{OutPoint, Transaction, Txid};
use cvp::{AddOutcome, Assembler, Header, Lineage, Record, TxRecords};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Where a content stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentState {
    /// Every segment present, verified and confirmed.
    Complete,
    /// Every segment present and verified, some still in the mempool.
    Verified,
    /// Segments still missing.
    Arriving,
    /// All present but they do not match the header's root.
    Damaged,
}

/// One content.
#[derive(Debug, Clone)]
pub struct Content {
    /// Content id.
    pub id: Txid,
    /// The reassembler (holds the header and segments).
    pub assembler: Assembler,
    /// Lineage transactions and their block height (`None`: mempool).
    pub txs: BTreeMap<Txid, Option<u32>>,
    /// Flaws seen (malformed records, rejected segments), as text.
    pub flaws: Vec<String>,
    /// Segment payload bytes accepted from each lineage transaction.
    pub tx_bytes: BTreeMap<Txid, u64>,
}

/// What the API and pages show about a content.
#[derive(Debug, Clone, Serialize)]
pub struct ContentSummary {
    /// Content id.
    pub id: Txid,
    /// The header.
    pub header: Header,
    /// State.
    pub state: ContentState,
    /// Segments held.
    pub segments_received: u32,
    /// Segments verified and contiguous from the start.
    pub segments_verified: u32,
    /// Lineage transactions.
    pub transactions: usize,
    /// Fees paid by every lineage transaction, in sat (`None` until every input's value is known).
    pub cost_sat: Option<u64>,
    /// Lowest block height holding a lineage transaction.
    pub first_block: Option<u32>,
    /// Highest.
    pub last_block: Option<u32>,
    /// Flaws seen.
    pub flaws: Vec<String>,
    /// Segment payload bytes per block height, in height order; `null` height: the mempool.
    pub bytes_by_block: Vec<(Option<u32>, u64)>,
}

/// Every content found, and what could not be attributed.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    lineage: Lineage,
    contents: BTreeMap<Txid, Content>,
    seen: HashSet<Txid>,
    /// Values of the outputs of every CVP transaction seen, and of looked-up funding coins.
    values: HashMap<OutPoint, u64>,
    /// Inputs and output total of every CVP transaction seen.
    tx_io: HashMap<Txid, (Vec<OutPoint>, u64)>,
    /// Segments claiming a content that never attached (forgeries, or not seen yet).
    pub unattributed: usize,
}

impl Catalog {
    /// Feed one transaction (from a block at `height`, or the mempool).
    pub fn add_tx(&mut self, tx: &Transaction, height: Option<u32>) {
        let recs = TxRecords::from_tx(tx);
        if recs.found.is_empty() {
            return;
        }
        if !self.seen.contains(&recs.txid) {
            for (vout, o) in tx.output.iter().enumerate() {
                self.values
                    .insert(OutPoint::new(recs.txid, vout as u32), o.value.to_sat());
            }
            let out_sum = tx.output.iter().map(|o| o.value.to_sat()).sum();
            self.tx_io.insert(
                recs.txid,
                (
                    tx.input.iter().map(|i| i.previous_output).collect(),
                    out_sum,
                ),
            );
        }
        if !self.seen.insert(recs.txid) {
            // Seen before in the mempool: record the confirmation.
            if let Some(c) = self
                .lineage
                .content_of(&recs.txid)
                .and_then(|c| self.contents.get_mut(&c))
            {
                c.txs.insert(recs.txid, height);
            }
            return;
        }
        for a in self.lineage.observe(recs) {
            let txid = a.tx.txid;
            let height = if txid == tx.compute_txid() {
                height
            } else {
                None
            };
            for f in a.tx.found {
                match f.record {
                    Ok(Record::Header(h)) => {
                        let c = self.contents.entry(a.content).or_insert_with(|| Content {
                            id: a.content,
                            assembler: Assembler::new(h.clone()),
                            txs: BTreeMap::new(),
                            flaws: Vec::new(),
                            tx_bytes: BTreeMap::new(),
                        });
                        c.txs.insert(txid, height);
                    }
                    Ok(record) => self.apply(a.content, txid, height, record),
                    Err(e) => {
                        if let Some(c) = self.contents.get_mut(&a.content) {
                            c.flaws.push(format!("{txid}: malformed record: {e}"));
                        }
                    }
                }
            }
        }
        self.unattributed = self.lineage.pending_len();
    }

    fn apply(&mut self, content: Txid, txid: Txid, height: Option<u32>, record: Record) {
        let Some(c) = self.contents.get_mut(&content) else {
            return;
        };
        c.txs.insert(txid, height);
        match record {
            Record::Segment(s) => {
                let len = s.payload.len() as u64;
                match c.assembler.add(s) {
                    AddOutcome::Rejected(flaw) => c.flaws.push(format!("{txid}: {flaw}")),
                    AddOutcome::Accepted { .. } => *c.tx_bytes.entry(txid).or_default() += len,
                    AddOutcome::Duplicate => {}
                }
            }
            Record::SegmentHashes(h) => {
                for flaw in c.assembler.add_hashes(&h) {
                    c.flaws.push(format!("{txid}: {flaw}"));
                }
            }
            Record::End(e) => c.assembler.apply_end(&e),
            _ => {}
        }
    }

    /// Record the value of a coin outside every lineage (a header's funding), looked up by the scanner.
    pub fn note_prevout(&mut self, op: OutPoint, value: u64) {
        self.values.insert(op, value);
    }

    /// Inputs of header transactions whose values are not known yet (one funding coin per film).
    pub fn missing_header_prevouts(&self) -> Vec<OutPoint> {
        self.contents
            .keys()
            .filter_map(|id| self.tx_io.get(id))
            .flat_map(|(ins, _)| ins.iter())
            .filter(|op| !self.values.contains_key(op))
            .copied()
            .collect()
    }

    /// Fees of a content's lineage transactions, when every input's value is known.
    pub fn cost_sat(&self, c: &Content) -> Option<u64> {
        let mut total = 0u64;
        for txid in c.txs.keys() {
            let (ins, out_sum) = self.tx_io.get(txid)?;
            let in_sum: u64 = ins
                .iter()
                .map(|op| self.values.get(op).copied())
                .sum::<Option<u64>>()?;
            total += in_sum.checked_sub(*out_sum)?;
        }
        Some(total)
    }

    /// The summary of a content, with its cost.
    pub fn summary(&self, c: &Content) -> ContentSummary {
        let mut s = c.summary();
        s.cost_sat = self.cost_sat(c);
        s
    }

    /// Every content's summary.
    pub fn summaries(&self) -> Vec<ContentSummary> {
        self.contents.values().map(|c| self.summary(c)).collect()
    }

    /// All contents.
    pub fn contents(&self) -> impl Iterator<Item = &Content> {
        self.contents.values()
    }

    /// One content.
    pub fn get(&self, id: &Txid) -> Option<&Content> {
        self.contents.get(id)
    }
}

impl Content {
    /// The summary shown to viewers.
    pub fn summary(&self) -> ContentSummary {
        let a = &self.assembler;
        let heights: Vec<u32> = self.txs.values().filter_map(|h| *h).collect();
        let verified = a.verified_prefix();
        let complete = a.is_complete();
        let state = match (complete, complete && verified == a.received()) {
            (true, true) if self.txs.values().all(Option::is_some) => ContentState::Complete,
            (true, true) => ContentState::Verified,
            (true, false) => ContentState::Damaged,
            _ => ContentState::Arriving,
        };
        ContentSummary {
            id: self.id,
            header: a.header().clone(),
            state,
            segments_received: a.received(),
            segments_verified: verified,
            transactions: self.txs.len(),
            cost_sat: None,
            first_block: heights.iter().min().copied(),
            last_block: heights.iter().max().copied(),
            flaws: self.flaws.clone(),
            bytes_by_block: self.bytes_by_block(),
        }
    }

    /// Segment bytes per block height (where each transaction is now; `None`: the mempool).
    fn bytes_by_block(&self) -> Vec<(Option<u32>, u64)> {
        let mut by: BTreeMap<Option<u32>, u64> = BTreeMap::new();
        for (txid, bytes) in &self.tx_bytes {
            *by.entry(self.txs.get(txid).copied().flatten()).or_default() += bytes;
        }
        by.into_iter().collect()
    }

    /// The verified bytes available now (the whole stream once complete).
    pub fn verified_bytes(&self) -> Vec<u8> {
        self.assembler.finish().unwrap_or_else(|_| {
            self.assembler
                .prefix_bytes(self.assembler.verified_prefix())
        })
    }
}
