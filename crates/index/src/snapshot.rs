//! What readers see: an immutable state of the catalog, built by the scanner after each change and
//! swapped in whole (`Arc`), never cloned or changed per request. Summaries are computed once per
//! state; a content's verified bytes are read from the store by range, segment by segment. The
//! first time a snapshot serves a segment, the segment is read whole from its stored transaction
//! and checked against its leaf hash again; a segment carried in an OP_RETURN output is then served
//! by that snapshot as a slice of the stored transaction at the place just checked (see
//! [`Sliced`]), the part a range needs only. Envelope segments are checked on every read.

use crate::catalog::{Catalog, Content, SegSource};
use crate::publisher::{self, Publisher};
use crate::sliced::{sliced_at, Sliced};
use crate::store::{Store, StoreError};
use bitcoin::Txid;
use cvp::{Header, Record};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

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
    /// A live stream still open (its header has no segment count and no `end` closed it yet):
    /// its chunks are served as they arrive, attributed by lineage.
    Live,
    /// The chain holds a commitment to the bytes, which come from BitTorrent (docs/cvp.md,
    /// "Commitments"): no byte of it is on chain, and none is served from the index.
    Committed,
}

/// What the API and pages show about a content.
#[derive(Debug, Clone, Serialize)]
pub struct ContentSummary {
    /// Content id.
    pub id: Txid,
    /// The header (in JSON without the poster's bytes, which gateways serve on their own).
    #[serde(serialize_with = "header_without_poster")]
    pub header: Header,
    /// State.
    pub state: ContentState,
    /// Segments held.
    pub segments_received: u32,
    /// Segments verified and contiguous from the start.
    pub segments_verified: u32,
    /// Bytes of the verified segments: what can be served now.
    pub verified_length: u64,
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
    /// Who published it (`None` until the coin its header spends is known).
    pub publisher: Option<Publisher>,
    /// This content's title matches an earlier content of another publisher: that one's id.
    pub lookalike_of: Option<Txid>,
    /// Contents of other publishers whose titles match this one's.
    pub lookalikes: Vec<Txid>,
    /// Segments published outside this content's lineage that have the shape of its segments (an
    /// index it has, the exact length): forgeries, never used.
    pub forged_segments: u32,
    /// The lineage transactions: the header's first, then by block height (the mempool's last).
    pub lineage: Vec<LineageTx>,
    /// A live stream's chunks (an open header, or any content with `live chunk` records).
    pub live: Option<crate::live::LiveSummary>,
    /// An interactive film: a clip table or a branch point stands ([`Snapshot::story`]). In
    /// JSON only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interactive: bool,
    /// A content behind a commitment: the record and its size on chain. In JSON only then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment: Option<CommitmentSummary>,
}

/// What the chain holds of a content behind a commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitmentSummary {
    /// The record: pieces root, length, media type code, infohash, seed.
    #[serde(flatten)]
    pub record: cvp::Commitment,
    /// The unit's bytes on chain.
    pub unit_bytes: usize,
    /// Where the bytes are.
    pub bytes: &'static str,
}

fn header_without_poster<S: serde::Serializer>(h: &Header, s: S) -> Result<S::Ok, S::Error> {
    let mut h = h.clone();
    h.poster = None;
    h.serialize(s)
}

/// One transaction of a content's lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageTx {
    /// Its txid.
    pub txid: Txid,
    /// The height of its block (`None`: the mempool).
    pub height: Option<u32>,
}

/// One verified segment (or attributed live chunk), located.
#[derive(Debug, Clone)]
pub(crate) struct SegRead {
    offset: u64,
    len: usize,
    index: u32,
    hash: [u8; 32],
    source: SegSource,
    /// Set once this snapshot has checked the segment and found it sliceable.
    sliced: OnceLock<Sliced>,
}

impl SegRead {
    /// Segment `index` at `offset` of the stream, `len` bytes with leaf `hash`, in `source`.
    pub(crate) fn new(
        offset: u64,
        len: usize,
        index: u32,
        hash: [u8; 32],
        source: SegSource,
    ) -> Self {
        SegRead {
            offset,
            len,
            index,
            hash,
            source,
            sliced: OnceLock::new(),
        }
    }
}

/// Why bytes could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// No such content.
    #[error("no content {0}")]
    NotFound(Txid),
    /// The range lies outside the verified bytes.
    #[error("range {start}..{end} is outside the {len} verified bytes")]
    Range {
        /// Start asked.
        start: u64,
        /// End asked.
        end: u64,
        /// Verified length.
        len: u64,
    },
    /// A live stream does not hold this chunk (not arrived, or gone).
    #[error("live stream {id} holds no chunk {index}")]
    NoChunk {
        /// The stream.
        id: Txid,
        /// The chunk asked for.
        index: u32,
    },
    /// The state changed under the reader (a transaction left the mempool or a reorg removed it):
    /// read again from the next snapshot.
    #[error("content {0} changed while being read; try again")]
    Changed(Txid),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An immutable state of the catalog.
#[derive(Debug)]
pub struct Snapshot {
    height: Option<u32>,
    summaries: Vec<ContentSummary>,
    by_id: HashMap<Txid, usize>,
    reads: HashMap<Txid, Vec<SegRead>>,
    /// Live streams' chunks in index order, with where each one's bytes are.
    pub(crate) live: HashMap<Txid, Vec<(crate::live::LiveChunk, SegRead)>>,
    unattributed: usize,
    /// Live chunks waiting in the lineage (`Snapshot::stray_live_chunks`).
    pub(crate) stray_live_chunks: usize,
    /// Segments waiting in the lineage (`Snapshot::stray_segments`).
    stray_segments: usize,
    /// Interactive films' stories and the viewers' choices (`story.rs`).
    pub(crate) stories: crate::story::Stories,
    store: Arc<Store>,
}

impl Snapshot {
    /// A state with nothing in it.
    pub fn empty(store: Arc<Store>) -> Self {
        Snapshot {
            height: None,
            summaries: Vec::new(),
            by_id: HashMap::new(),
            reads: HashMap::new(),
            live: HashMap::new(),
            unattributed: 0,
            stray_live_chunks: 0,
            stray_segments: 0,
            stories: crate::story::Stories::default(),
            store,
        }
    }

    /// Freeze `catalog` (confirmed plus mempool) as indexed to `height`.
    pub fn build(catalog: &Catalog, store: Arc<Store>, height: Option<u32>) -> Self {
        let mut summaries = Vec::new();
        let mut reads = HashMap::new();
        let mut live = HashMap::new();
        for c in catalog.contents() {
            let (mut summary, segs) = summarize(catalog, c);
            if let Some((ls, chunks)) = crate::live::of_content(catalog, c) {
                summary.live = Some(ls);
                if summary.state == ContentState::Arriving
                    && c.tracker.header().segment_count.is_none()
                {
                    summary.state = ContentState::Live;
                }
                live.insert(c.id, chunks);
            }
            summaries.push(summary);
            reads.insert(c.id, segs);
        }
        publisher::mark_lookalikes(&mut summaries);
        count_forgeries(catalog, &mut summaries);
        crate::live::count_forged_chunks(catalog, &mut summaries);
        let stories = crate::story::Stories::of(catalog, &mut summaries);
        let by_id = summaries
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        Snapshot {
            height,
            summaries,
            by_id,
            reads,
            live,
            unattributed: catalog.pending().0,
            stray_live_chunks: catalog.strays().chunks().len(),
            stray_segments: catalog.strays().segments().len(),
            stories,
            store,
        }
    }

    /// The last indexed block.
    pub fn height(&self) -> Option<u32> {
        self.height
    }

    /// Every content's summary, in content id order.
    pub fn summaries(&self) -> &[ContentSummary] {
        &self.summaries
    }

    /// One content's summary.
    pub fn summary(&self, id: &Txid) -> Option<&ContentSummary> {
        self.by_id.get(id).and_then(|i| self.summaries.get(*i))
    }

    /// Transactions waiting for a parent that never came (forgeries, or not seen yet).
    pub fn unattributed(&self) -> usize {
        self.unattributed
    }

    /// Stray `segment` records: those of transactions waiting for a parent that never came (a
    /// stranger's, counted as forgeries of the contents whose shape they have; or a content's
    /// own, seen before its parent), as many as the lineage keeps waiting.
    pub fn stray_segments(&self) -> usize {
        self.stray_segments
    }

    /// Bytes `range` of a content's verified stream.
    pub fn read(&self, id: &Txid, range: Range<u64>) -> Result<Vec<u8>, ReadError> {
        let segs = self.reads.get(id).ok_or(ReadError::NotFound(*id))?;
        let len = segs.last().map_or(0, |s| s.offset + s.len as u64);
        if range.start > range.end || range.end > len {
            return Err(ReadError::Range {
                start: range.start,
                end: range.end,
                len,
            });
        }
        let first = segs.partition_point(|s| s.offset + s.len as u64 <= range.start);
        let mut out = Vec::with_capacity((range.end - range.start) as usize);
        for s in &segs[first..] {
            if s.offset >= range.end {
                break;
            }
            let from = range.start.saturating_sub(s.offset) as usize;
            let to = ((range.end - s.offset) as usize).min(s.len);
            if let Some(at) = s.sliced.get() {
                let part = at.at as usize + from..at.at as usize + to;
                let txid = &s.source.txid;
                if self
                    .store
                    .read_tx_part(txid, at.raw_len as usize, part, &mut out)?
                {
                    continue;
                }
            }
            let payload = self.segment(id, s)?;
            out.extend_from_slice(payload.get(from..to).ok_or(ReadError::Changed(*id))?);
        }
        Ok(out)
    }

    /// A CVP transaction the index stored (every transaction carrying a unit: lineages,
    /// choices, strays), raw; `None` for one it never stored.
    pub fn raw_tx(&self, txid: &Txid) -> Result<Option<Vec<u8>>, ReadError> {
        Ok(self.store.raw_tx(txid)?)
    }

    /// The whole verified stream (the complete content once verified).
    pub fn read_all(&self, id: &Txid) -> Result<Vec<u8>, ReadError> {
        let len = self
            .summary(id)
            .ok_or(ReadError::NotFound(*id))?
            .verified_length;
        self.read(id, 0..len)
    }

    pub(crate) fn segment(&self, id: &Txid, s: &SegRead) -> Result<Vec<u8>, ReadError> {
        let raw = self
            .store
            .raw_tx(&s.source.txid)?
            .ok_or(ReadError::Changed(*id))?;
        let tx = chain::decode_tx(&raw).map_err(|_| ReadError::Changed(*id))?;
        let found = cvp::carrier::records_in_tx(&tx)
            .into_iter()
            .nth(usize::from(s.source.unit));
        let (location, index, payload) = match found.map(|f| (f.location, f.record)) {
            Some((location, Ok(Record::Segment(seg)))) => (location, seg.index, seg.payload),
            Some((location, Ok(Record::LiveChunk(ch)))) => (location, ch.index, ch.payload),
            _ => return Err(ReadError::Changed(*id)),
        };
        if index != s.index || payload.len() != s.len || cvp::merkle::leaf_hash(&payload) != s.hash
        {
            return Err(ReadError::Changed(*id));
        }
        if let Some(sliced) = sliced_at(&raw, &tx, location, &payload) {
            let _ = s.sliced.set(sliced);
        }
        Ok(payload)
    }
}

fn summarize(catalog: &Catalog, c: &Content) -> (ContentSummary, Vec<SegRead>) {
    let t = &c.tracker;
    let heights: Vec<u32> = c.txs.values().filter_map(|h| *h).collect();
    let verified = t.verified_prefix();
    let complete = t.is_complete();
    let state = match (complete, complete && verified == t.received()) {
        _ if c.committed.is_some() => ContentState::Committed,
        (true, true) if c.txs.values().all(Option::is_some) => ContentState::Complete,
        (true, true) => ContentState::Verified,
        (true, false) => ContentState::Damaged,
        _ => ContentState::Arriving,
    };
    let mut segs = Vec::with_capacity(verified as usize);
    let mut offset = 0u64;
    for (index, leaf) in t.leaves().take_while(|(i, _)| *i < verified) {
        segs.push(SegRead {
            offset,
            len: leaf.len,
            index,
            hash: leaf.hash,
            source: leaf.tag,
            sliced: OnceLock::new(),
        });
        offset = offset.saturating_add(leaf.len as u64);
    }
    let mut by: BTreeMap<Option<u32>, u64> = BTreeMap::new();
    for (txid, bytes) in &c.tx_bytes {
        let b = by.entry(c.txs.get(txid).copied().flatten()).or_default();
        *b = b.saturating_add(*bytes);
    }
    let publisher = c
        .publisher_coin
        .and_then(|op| catalog.coin(&op))
        .map(|out| Publisher::of_script(&out.script_pubkey, c.publisher_name.clone()));
    let mut header = t.header().clone();
    if let Some(m) = &c.committed {
        header.title.clone_from(&m.title);
    }
    let summary = ContentSummary {
        id: c.id,
        header,
        state,
        segments_received: t.received(),
        segments_verified: verified,
        verified_length: offset,
        transactions: c.txs.len(),
        cost_sat: catalog.cost_sat(c),
        first_block: heights.iter().min().copied(),
        last_block: heights.iter().max().copied(),
        flaws: c.flaws.clone(),
        bytes_by_block: by.into_iter().collect(),
        publisher,
        lookalike_of: None,
        lookalikes: Vec::new(),
        forged_segments: 0,
        lineage: lineage(c),
        live: None,
        interactive: false,
        commitment: c.committed.as_ref().map(|m| CommitmentSummary {
            record: m.record.clone(),
            unit_bytes: m.unit_bytes,
            bytes: "bittorrent",
        }),
    };
    (summary, segs)
}

/// A content's lineage transactions: the header's first, then by height (the mempool's last).
fn lineage(c: &Content) -> Vec<LineageTx> {
    let mut txs: Vec<LineageTx> = c
        .txs
        .iter()
        .map(|(txid, height)| LineageTx {
            txid: *txid,
            height: *height,
        })
        .collect();
    txs.sort_by_key(|t| (t.txid != c.id, t.height.is_none(), t.height, t.txid));
    txs
}

/// Count, per content, the unattributed segments shaped like its own (an index it has and the
/// exact length that index must have) that are not its own bytes: lookups on its indexes in the
/// strays kept as transactions start and stop waiting ([`crate::strays::StraySegments::forged`]),
/// never a pass over the strays.
fn count_forgeries(catalog: &Catalog, summaries: &mut [ContentSummary]) {
    let strays = catalog.strays().segments();
    if strays.is_empty() {
        return;
    }
    for s in summaries.iter_mut() {
        if let Some(c) = catalog.get(&s.id) {
            let n = strays.forged(&s.header, &c.tracker);
            s.forged_segments = u32::try_from(n).unwrap_or(u32::MAX);
        }
    }
}

/// The snapshot readers use now, shared between the scanner (which swaps in each new state
/// whole) and the gateway's handlers (which take an `Arc` of it per request: no copy, no lock held
/// while serving). A version counter, bumped by each swap, lets watchers (the gateway's event
/// streams) see a change without comparing states.
#[derive(Debug, Clone)]
pub struct Published(Arc<(std::sync::RwLock<Arc<Snapshot>>, AtomicU64)>);

impl Published {
    /// Start with `snapshot`.
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        Published(Arc::new((
            std::sync::RwLock::new(snapshot),
            AtomicU64::new(0),
        )))
    }

    /// The current state.
    pub fn get(&self) -> Arc<Snapshot> {
        let guard = self
            .0
             .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(&guard)
    }

    /// Swap in a new state.
    pub fn set(&self, snapshot: Arc<Snapshot>) {
        let mut guard = self
            .0
             .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = snapshot;
        self.0 .1.fetch_add(1, Ordering::Release);
    }

    /// How many states were swapped in: a watcher reads the state again when it changes.
    pub fn version(&self) -> u64 {
        self.0 .1.load(Ordering::Acquire)
    }
}
