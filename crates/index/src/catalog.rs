//! The catalog: every content found, what is known of each segment (its leaf hash, its length and
//! which transaction carries it; never the bytes, which stay in the store), the publisher, and the
//! flaws seen on the way.

use crate::choices::Choices;
use crate::story::StoryRecords;
use crate::strays::Strays;
use bitcoin::{OutPoint, Transaction, TxOut, Txid};
use cvp::{AddOutcome, Commitment, Header, Lineage, Record, Tracker, TxRecords};
use std::collections::{BTreeMap, HashMap};

/// Where a segment's bytes are: the transaction and the position of its unit among the units
/// `cvp::carrier::records_in_tx` finds in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegSource {
    /// The transaction carrying the segment.
    pub txid: Txid,
    /// The unit's position in the transaction's found units.
    pub unit: u16,
}

/// One content.
#[derive(Debug, Clone)]
pub struct Content {
    /// Content id.
    pub id: Txid,
    /// The segments' bookkeeping and verification state.
    pub tracker: Tracker<SegSource>,
    /// Lineage transactions and their block height (`None`: mempool).
    pub txs: BTreeMap<Txid, Option<u32>>,
    /// Flaws seen (malformed records, rejected segments), as text.
    pub flaws: Vec<String>,
    /// Segment payload bytes accepted from each lineage transaction.
    pub tx_bytes: BTreeMap<Txid, u64>,
    /// The coin the header transaction's first input spends: its owner is the publisher.
    pub publisher_coin: Option<OutPoint>,
    /// The name the publisher gives itself in an `info` record (tag 5), if any.
    pub publisher_name: Option<String>,
    /// The timestamp (ms since the stream started) of each accepted `live chunk`, by index: the
    /// chunks themselves are segments of the tracker (docs/cvp.md, "Live streams").
    pub live_ts: BTreeMap<u32, u64>,
    /// The clip table and branch records of an interactive film (docs/cvp.md, "Interactive
    /// films"), in lineage order.
    pub(crate) story: StoryRecords,
    /// A content started by a `commitment` record: its bytes live on BitTorrent.
    pub committed: Option<Committed>,
}

/// What the chain holds of a content behind a commitment (docs/cvp.md, "Commitments").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The record.
    pub record: Commitment,
    /// The whole unit's length on chain, in bytes.
    pub unit_bytes: usize,
    /// The title from the lineage's first `info` record with a long title (tag 3), if any.
    pub title: Option<String>,
}

impl Content {
    fn new(id: Txid, header: Header, publisher_coin: Option<OutPoint>) -> Content {
        Content {
            id,
            tracker: Tracker::new(header),
            txs: BTreeMap::new(),
            flaws: Vec::new(),
            tx_bytes: BTreeMap::new(),
            publisher_coin,
            publisher_name: None,
            live_ts: BTreeMap::new(),
            story: StoryRecords::default(),
            committed: None,
        }
    }
}

impl Content {
    /// Offer segment (or live chunk) `index` carried by unit `unit` of `txid`; true when it is
    /// held now (accepted, or the same bytes already held).
    fn add_segment(&mut self, txid: Txid, unit: usize, index: u32, payload: &[u8]) -> bool {
        let len = payload.len();
        let leaf = cvp::merkle::leaf_hash(payload);
        let source = SegSource {
            txid,
            unit: u16::try_from(unit).unwrap_or(u16::MAX),
        };
        match self.tracker.add(index, len, leaf, source) {
            AddOutcome::Rejected(flaw) => {
                self.flaws.push(format!("{txid}: {flaw}"));
                false
            }
            AddOutcome::Accepted { .. } => {
                let b = self.tx_bytes.entry(txid).or_default();
                *b = b.saturating_add(len as u64);
                true
            }
            AddOutcome::Duplicate => true,
        }
    }
}

/// `info` tag of the publisher's self-declared name (docs/cvp.md, "Publishers").
pub const INFO_PUBLISHER_NAME: u64 = 5;
/// Longest publisher name kept, in bytes.
pub const MAX_PUBLISHER_NAME: usize = 64;
/// `info` tag of a long title (docs/cvp.md, record types), which names a content behind a
/// commitment.
pub const INFO_LONG_TITLE: u64 = 3;
/// Longest title kept, in bytes.
pub const MAX_TITLE: usize = 256;

/// Every content found, and what could not be attributed.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    lineage: Lineage,
    contents: BTreeMap<Txid, Content>,
    /// Every CVP transaction seen, with the height it was seen at (`None`: the mempool).
    seen: HashMap<Txid, Option<u32>>,
    /// Outputs of every CVP transaction seen, and looked-up funding coins.
    coins: HashMap<OutPoint, TxOut>,
    /// Inputs and output total of every CVP transaction seen.
    tx_io: HashMap<Txid, (Vec<OutPoint>, u64)>,
    /// When this process first saw each transaction (Unix ms), as the scanner notes it: how far
    /// a live stream's chunks arrive behind its clock.
    pub(crate) arrivals: HashMap<Txid, u64>,
    /// The live chunks and segments of the transactions waiting in the lineage.
    strays: Strays,
    /// Every choice record seen (viewers' records, bound to no lineage).
    choices: Choices,
}

impl Catalog {
    /// A catalog whose lineage keeps at most `max_pending` transactions, of at most `max_bytes`,
    /// waiting for a parent ([`Lineage::with_limits`]; the default: 100,000 and 16 MiB).
    pub fn with_pending_limits(max_pending: usize, max_bytes: usize) -> Catalog {
        Catalog {
            lineage: Lineage::with_limits(max_pending, max_bytes),
            ..Catalog::default()
        }
    }

    /// This catalog, keeping at most `per_content` choices for one content it does not hold and
    /// `total` for all of them (the default: 10,000 and 100,000); beyond them the newest are
    /// dropped.
    pub fn with_choice_limits(mut self, per_content: usize, total: usize) -> Catalog {
        self.choices = Choices::with_limits(per_content, total);
        self
    }

    /// Feed one transaction (from a block at `height`, or the mempool). Transactions already seen
    /// only have their height updated. Its `choice` records are kept whatever its lineage; a
    /// transaction that carries only choices is not offered to the lineage.
    pub fn add_tx(&mut self, tx: &Transaction, height: Option<u32>) {
        let recs = TxRecords::from_tx(tx);
        if recs.found.is_empty() {
            return;
        }
        if self.seen.insert(recs.txid, height).is_some() {
            if let Some(h) = height {
                self.choices.confirm(&recs, h);
            }
            if let Some(c) = self
                .lineage
                .content_of(&recs.txid)
                .and_then(|c| self.contents.get_mut(&c))
            {
                c.txs.insert(recs.txid, height);
            }
            return;
        }
        // Spendable outputs only: OP_RETURN outputs (the units, most of the bytes) are never
        // spent, so keeping them would hold every film in memory.
        for (vout, o) in tx.output.iter().enumerate() {
            if !o.script_pubkey.is_op_return() {
                self.coins
                    .insert(OutPoint::new(recs.txid, vout as u32), o.clone());
            }
        }
        let contents = &self.contents;
        if self
            .choices
            .add_tx(tx, &recs, height, |id| contents.contains_key(id))
        {
            return;
        }
        let out_sum = tx
            .output
            .iter()
            .fold(0u64, |a, o| a.saturating_add(o.value.to_sat()));
        let ins: Vec<OutPoint> = tx.input.iter().map(|i| i.previous_output).collect();
        self.tx_io.insert(recs.txid, (ins, out_sum));
        let txid = recs.txid;
        // Its live chunks and segments are hashed once here if it is to wait, not at each
        // snapshot.
        let stray = if self.lineage.content_for(&recs).is_none() {
            crate::strays::of_tx(&recs)
        } else {
            crate::strays::TxStrays::default()
        };
        let offered = self.lineage.offer(recs);
        for t in &offered.dropped {
            self.strays.remove(t);
        }
        if offered.waiting {
            self.strays.insert(txid, stray);
        }
        for a in offered.attributed {
            self.strays.remove(&a.tx.txid);
            // A waiting descendant resolved by this transaction keeps the height it was seen at.
            let h = self.seen.get(&a.tx.txid).copied().flatten();
            self.attach(a, h);
        }
    }

    fn attach(&mut self, a: cvp::Attributed, height: Option<u32>) {
        let txid = a.tx.txid;
        let starts = txid == a.content;
        if starts {
            self.start(&a.tx);
        }
        let committed = starts
            && self
                .contents
                .get(&a.content)
                .is_some_and(|c| c.committed.is_some());
        for (unit, f) in a.tx.found.into_iter().enumerate() {
            match f.record {
                // What started the content.
                Ok(Record::Header(_)) if starts => {}
                Ok(Record::Commitment(_)) if committed => {}
                Ok(record) => self.apply(a.content, txid, unit, height, record),
                Err(e) => {
                    if let Some(c) = self.contents.get_mut(&a.content) {
                        c.flaws.push(format!("{txid}: malformed record: {e}"));
                    }
                }
            }
        }
        if let Some(c) = self.contents.get_mut(&a.content) {
            c.txs.entry(txid).or_insert(height);
        }
    }

    /// The content `tx` starts ([`TxRecords::starts_content`]): by its header, or else by its one
    /// commitment, whose content has no segment on chain (a header of the committed length and
    /// media type, and zero segments).
    fn start(&mut self, tx: &TxRecords) {
        let txid = tx.txid;
        let coin = self
            .tx_io
            .get(&txid)
            .and_then(|(ins, _)| ins.first().copied());
        let header = tx.found.iter().find_map(|f| match &f.record {
            Ok(Record::Header(h)) => Some(h.clone()),
            _ => None,
        });
        let content = match header {
            Some(h) => Content::new(txid, h, coin),
            None => {
                let Some((record, unit_bytes)) = tx.found.iter().find_map(|f| match &f.record {
                    Ok(Record::Commitment(m)) => Some((m.clone(), f.unit_len)),
                    _ => None,
                }) else {
                    return;
                };
                let header = Header {
                    media_type: cvp::commitment::media_type_of(record.media_code).into(),
                    total_length: Some(record.length),
                    segment_count: Some(0),
                    ..Header::default()
                };
                let mut c = Content::new(txid, header, coin);
                c.committed = Some(Committed {
                    record,
                    unit_bytes,
                    title: None,
                });
                c
            }
        };
        self.contents.entry(txid).or_insert(content);
        self.choices.content_held(&txid);
    }

    fn apply(
        &mut self,
        content: Txid,
        txid: Txid,
        unit: usize,
        height: Option<u32>,
        record: Record,
    ) {
        let Some(c) = self.contents.get_mut(&content) else {
            return;
        };
        c.txs.insert(txid, height);
        match record {
            Record::Segment(s) => {
                c.add_segment(txid, unit, s.index, &s.payload);
            }
            Record::LiveChunk(ch) if c.add_segment(txid, unit, ch.index, &ch.payload) => {
                c.live_ts.entry(ch.index).or_insert(ch.timestamp_ms);
            }
            Record::LiveChunk(_) => {}
            Record::SegmentHashes(h) => {
                for flaw in c.tracker.add_hashes(&h) {
                    c.flaws.push(format!("{txid}: {flaw}"));
                }
            }
            Record::End(e) => {
                if let Err(flaw) = c.tracker.apply_end(&e) {
                    c.flaws.push(format!("{txid}: {flaw}"));
                }
            }
            Record::Clips(t) => c.story.add_clips(txid, &t),
            Record::Branch(b) => c.story.add_branch(txid, b),
            Record::Info(info) => {
                let text = |tag: u64, max: usize| {
                    info.fields
                        .iter()
                        .find(|f| f.tag == tag && f.value.len() <= max)
                        .and_then(|f| String::from_utf8(f.value.clone()).ok())
                };
                if c.publisher_name.is_none() {
                    c.publisher_name = text(INFO_PUBLISHER_NAME, MAX_PUBLISHER_NAME);
                }
                if let Some(m) = c.committed.as_mut().filter(|m| m.title.is_none()) {
                    m.title = text(INFO_LONG_TITLE, MAX_TITLE);
                }
            }
            Record::Commitment(_) => c.flaws.push(format!(
                "{txid}: a commitment record that starts no content (beside a header or another \
                 commitment): ignored"
            )),
            _ => {}
        }
    }

    /// Record a coin outside every lineage (a header's funding), looked up by the scanner.
    pub fn note_prevout(&mut self, op: OutPoint, out: TxOut) {
        self.coins.insert(op, out);
    }

    /// When this process first saw `txid` (Unix ms), if the scanner noted it.
    pub fn arrival(&self, txid: &Txid) -> Option<u64> {
        self.arrivals.get(txid).copied()
    }

    /// A coin known to the catalog (an output of a CVP transaction, or a looked-up funding coin).
    pub fn coin(&self, op: &OutPoint) -> Option<&TxOut> {
        self.coins.get(op)
    }

    /// Inputs of header transactions whose coins are not known yet (one funding coin per film).
    pub fn missing_header_prevouts(&self) -> Vec<OutPoint> {
        self.contents
            .keys()
            .filter_map(|id| self.tx_io.get(id))
            .flat_map(|(ins, _)| ins.iter())
            .filter(|op| !self.coins.contains_key(op))
            .copied()
            .collect()
    }

    /// Every coin the scanner should look up: those of [`missing_header_prevouts`]
    /// (Self::missing_header_prevouts), then at most 1,000 that the first inputs of unsigned
    /// choices for held contents spend (their Taproot output keys sign those choices).
    pub fn missing_prevouts(&self) -> Vec<OutPoint> {
        let mut ops = self.missing_header_prevouts();
        let mut seen: std::collections::HashSet<OutPoint> = ops.iter().copied().collect();
        let contents = &self.contents;
        let choices = self
            .choices
            .first_inputs(|id| contents.contains_key(id))
            .filter(|op| !self.coins.contains_key(op) && seen.insert(*op))
            .take(crate::choices::MAX_LOOKUPS);
        ops.extend(choices);
        ops
    }

    /// Fees of a content's lineage transactions, when every input's value is known.
    pub fn cost_sat(&self, c: &Content) -> Option<u64> {
        let mut total = 0u64;
        for txid in c.txs.keys() {
            let (ins, out_sum) = self.tx_io.get(txid)?;
            let mut in_sum = 0u64;
            for op in ins {
                in_sum = in_sum.checked_add(self.coins.get(op)?.value.to_sat())?;
            }
            total = total.checked_add(in_sum.checked_sub(*out_sum)?)?;
        }
        Some(total)
    }

    /// All contents.
    pub fn contents(&self) -> impl Iterator<Item = &Content> {
        self.contents.values()
    }

    /// One content.
    pub fn get(&self, id: &Txid) -> Option<&Content> {
        self.contents.get(id)
    }

    /// Transactions waiting for a parent that never came (forgeries, or not seen yet).
    pub fn unattributed(&self) -> impl Iterator<Item = &TxRecords> {
        self.lineage.unattributed()
    }

    /// How many transactions wait for a parent, and their bytes.
    pub fn pending(&self) -> (usize, usize) {
        (self.lineage.pending_len(), self.lineage.pending_bytes())
    }

    /// The choices kept.
    pub(crate) fn choices(&self) -> &Choices {
        &self.choices
    }

    /// The live chunks and segments of the transactions waiting for a parent.
    pub(crate) fn strays(&self) -> &Strays {
        &self.strays
    }

    /// `txid` belongs to a content's lineage.
    pub(crate) fn is_attributed(&self, txid: &Txid) -> bool {
        self.lineage.content_of(txid).is_some()
    }
}
