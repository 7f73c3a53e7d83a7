//! Live streams (docs/cvp.md, "Live streams"): the `live chunk` records a content's lineage
//! carries, in index order, each with its timestamp, where its bytes are and when this process
//! first saw it. Chunks are attributed by lineage only (an open stream has no root yet), so a
//! stranger's chunk never enters; those that claim a stream are counted as its forgeries. A chunk
//! that leaves the view (double-spent, or lost in a reorg) leaves a gap: the chunks are listed by
//! index, never re-ordered by arrival.

use crate::catalog::{Catalog, Content};
use crate::snapshot::{ContentState, ContentSummary, ReadError, SegRead, Snapshot};
use bitcoin::Txid;
use serde::Serialize;

/// Most forged chunks listed per stream (the count goes on).
const MAX_LISTED_FORGERIES: usize = 64;

/// One chunk of a live stream, as the gateway serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveChunk {
    /// Its index in the stream, from 0.
    pub index: u32,
    /// Milliseconds since the stream started, of its first media packet (the record's field).
    pub timestamp_ms: u64,
    /// Payload bytes.
    pub len: usize,
    /// The transaction carrying it.
    pub txid: Txid,
    /// Its block height (`None`: the mempool).
    pub height: Option<u32>,
    /// When this process first saw its transaction (Unix ms; `None` when read back from the
    /// store at startup).
    pub arrived_unix_ms: Option<u64>,
    /// RFC 6962 leaf hash of the payload: the same index with other bytes is another chunk.
    #[serde(with = "hex_bytes")]
    pub leaf: [u8; 32],
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
}

/// A chunk that claims a live stream from outside its lineage: never served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForgedChunk {
    /// The stranger's transaction.
    pub txid: Txid,
    /// The index it claims.
    pub index: u32,
}

/// What the catalog shows about a live stream.
#[derive(Debug, Clone, Serialize)]
pub struct LiveSummary {
    /// No `end` record has closed it (the header still has no segment count).
    pub open: bool,
    /// Chunks held.
    pub chunks: u32,
    /// One past the highest index held (0 when none).
    pub next_index: u32,
    /// Indexes below `next_index` that are not held: gaps (not arrived yet, double-spent away or
    /// lost in a reorg).
    pub missing: u32,
    /// The timestamp of the highest chunk held.
    pub last_timestamp_ms: Option<u64>,
    /// Chunks claiming this stream from outside its lineage (counted).
    pub forged_chunks: u32,
    /// The first of them in index order (at most 64).
    pub forgeries: Vec<ForgedChunk>,
}

/// A content's live summary and chunks, when it is a live stream: its header is open or its
/// lineage carried `live chunk` records.
pub(crate) fn of_content(
    catalog: &Catalog,
    c: &Content,
) -> Option<(LiveSummary, Vec<(LiveChunk, SegRead)>)> {
    let open = c.tracker.header().segment_count.is_none();
    if !open && c.live_ts.is_empty() {
        return None;
    }
    let mut chunks = Vec::new();
    for (index, leaf) in c.tracker.leaves() {
        let Some(ts) = c.live_ts.get(&index) else {
            continue; // a `segment` record, not a chunk
        };
        let info = LiveChunk {
            index,
            timestamp_ms: *ts,
            len: leaf.len,
            txid: leaf.tag.txid,
            height: c.txs.get(&leaf.tag.txid).copied().flatten(),
            arrived_unix_ms: catalog.arrival(&leaf.tag.txid),
            leaf: leaf.hash,
        };
        chunks.push((info, SegRead::new(0, leaf.len, index, leaf.hash, leaf.tag)));
    }
    let next_index = chunks.last().map_or(0, |(c, _)| c.index.saturating_add(1));
    let held = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
    let summary = LiveSummary {
        open,
        chunks: held,
        next_index,
        missing: next_index.saturating_sub(held),
        last_timestamp_ms: chunks.last().map(|(c, _)| c.timestamp_ms),
        forged_chunks: 0,
        forgeries: Vec::new(),
    };
    Some((summary, chunks))
}

/// Count, per live stream, the unattributed `live chunk` records that are not its own bytes at
/// the index they claim. A forged chunk names no content (the record has no content id), so it is
/// counted against every live stream still open, and against a closed one only at an index it
/// holds (the shape rule of segments). Each stream costs lookups on the indexes it holds that
/// strays claim ([`crate::strays::StrayChunks::forged`]), never a pass over the strays.
pub(crate) fn count_forged_chunks(catalog: &Catalog, summaries: &mut [ContentSummary]) {
    let strays = catalog.strays().chunks();
    if strays.is_empty() {
        return;
    }
    for s in summaries.iter_mut() {
        let open = s.state == ContentState::Live;
        let (Some(ls), Some(c)) = (s.live.as_mut(), catalog.get(&s.id)) else {
            continue;
        };
        let (count, listed) = strays.forged(&c.tracker, open, MAX_LISTED_FORGERIES);
        ls.forged_chunks = u32::try_from(count).unwrap_or(u32::MAX);
        ls.forgeries = listed;
    }
}

impl Snapshot {
    /// A live stream's chunks held now, in index order (gaps where a chunk is missing).
    pub fn live_chunks(&self, id: &Txid) -> Vec<LiveChunk> {
        self.live
            .get(id)
            .map(|v| v.iter().map(|(c, _)| c.clone()).collect())
            .unwrap_or_default()
    }

    /// Stray `live chunk` records: those of transactions waiting for a parent that never came
    /// (a stranger's, counted as forgeries of the streams they could be; or a stream's own, seen
    /// before its fan-out), as many as the lineage keeps waiting.
    pub fn stray_live_chunks(&self) -> usize {
        self.stray_live_chunks
    }

    /// The payload of chunk `index` of live stream `id`, read from the store and checked against
    /// its leaf hash.
    pub fn read_chunk(&self, id: &Txid, index: u32) -> Result<Vec<u8>, ReadError> {
        let chunks = self.live.get(id).ok_or(ReadError::NotFound(*id))?;
        let at = chunks
            .binary_search_by_key(&index, |(c, _)| c.index)
            .map_err(|_| ReadError::NoChunk { id: *id, index })?;
        let (_, seg) = chunks
            .get(at)
            .ok_or(ReadError::NoChunk { id: *id, index })?;
        self.segment(id, seg)
    }
}
