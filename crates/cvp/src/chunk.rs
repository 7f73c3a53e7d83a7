//! Splitting a byte stream into segment records that fit a carrier, and preparing everything a
//! publisher puts on chain for it.

use crate::header::{Header, MAX_TOTAL_LENGTH};
use crate::record::{Segment, SegmentHashes};
use crate::{merkle, varint, Record};
use serde::{Deserialize, Serialize};

/// Bytes of a segment unit that are not payload, besides the index varint: magic, version, type.
pub const SEGMENT_FIXED_OVERHEAD: usize = 4;

/// How a stream is cut: every segment but the last has `segment_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPlan {
    /// Payload bytes per segment (all but the last).
    pub segment_size: u32,
    /// Number of segments.
    pub segment_count: u32,
}

/// Why a stream cannot be cut for a carrier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkError {
    /// The unit cannot hold even one payload byte.
    #[error("a unit of {0} bytes leaves no room for payload (at least 10 bytes are needed)")]
    UnitTooSmall(usize),
    /// The stream is larger than CVP allows.
    #[error("stream of {len} bytes exceeds the cvp limit of {max} bytes")]
    TooLarge {
        /// The stream's length.
        len: u64,
        /// The limit.
        max: u64,
    },
}

/// The segment size and count for `total_len` bytes in units of at most `max_unit` bytes.
pub fn plan(total_len: u64, max_unit: usize) -> Result<ChunkPlan, ChunkError> {
    if total_len > MAX_TOTAL_LENGTH {
        return Err(ChunkError::TooLarge {
            len: total_len,
            max: MAX_TOTAL_LENGTH,
        });
    }
    for index_len in 1..=5usize {
        let Some(size) = max_unit
            .checked_sub(SEGMENT_FIXED_OVERHEAD + index_len)
            .filter(|s| *s > 0)
        else {
            return Err(ChunkError::UnitTooSmall(max_unit));
        };
        let size = size.min(u32::MAX as usize) as u64;
        let count = total_len.div_ceil(size);
        if count > u64::from(u32::MAX) {
            continue;
        }
        if varint::len(count.saturating_sub(1)) <= index_len {
            return Ok(ChunkPlan {
                segment_size: size as u32,
                segment_count: count as u32,
            });
        }
    }
    Err(ChunkError::TooLarge {
        len: total_len,
        max: MAX_TOTAL_LENGTH,
    })
}

/// The segments of `stream` under `plan`.
pub fn segments(stream: &[u8], plan: ChunkPlan) -> impl Iterator<Item = Segment> + '_ {
    stream
        .chunks(plan.segment_size.max(1) as usize)
        .enumerate()
        .map(|(i, p)| Segment {
            index: i as u32,
            payload: p.to_vec(),
        })
}

/// Everything a publisher writes for one piece of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The header (first transaction; its txid becomes the content id).
    pub header: Header,
    /// The segments, in order.
    pub segments: Vec<Segment>,
    /// Leaf-hash records that let viewers check each segment as it arrives (empty when not worth
    /// their bytes, see [`prepare`]).
    pub hashes: Vec<SegmentHashes>,
    /// The other records of [`ContentInfo::records`], as given.
    pub records: Vec<Record>,
}

/// Describes the stream being prepared.
#[derive(Debug, Clone, Default)]
pub struct ContentInfo {
    /// Title.
    pub title: Option<String>,
    /// Media type of the stream.
    pub media_type: String,
    /// Duration in milliseconds.
    pub duration_ms: Option<u64>,
    /// Poster frame.
    pub poster: Option<Vec<u8>>,
    /// Other publisher records the lineage carries, each in a unit of its own (an interactive
    /// film's clip table and branch points); the publisher's plan puts them after the header.
    pub records: Vec<Record>,
}

/// Cut `stream` for units of `max_unit` bytes and build the header with the Merkle root. Leaf-hash
/// records are added when segments are at least 1,024 bytes (then they cost at most about 3 % more).
pub fn prepare(stream: &[u8], info: ContentInfo, max_unit: usize) -> Result<Prepared, ChunkError> {
    let plan = plan(stream.len() as u64, max_unit)?;
    let segments: Vec<Segment> = segments(stream, plan).collect();
    let leaves: Vec<[u8; 32]> = segments
        .iter()
        .map(|s| merkle::leaf_hash(&s.payload))
        .collect();
    let header = Header {
        title: info.title,
        media_type: info.media_type,
        duration_ms: info.duration_ms,
        total_length: Some(stream.len() as u64),
        segment_count: Some(plan.segment_count),
        merkle_root: Some(merkle::root_from_leaves(&leaves)),
        segment_size: Some(plan.segment_size),
        poster: info.poster,
        unknown: Vec::new(),
    };
    let mut hashes = Vec::new();
    if plan.segment_size >= 1024 {
        let per_record = ((max_unit - SEGMENT_FIXED_OVERHEAD - 5) / 32).max(1);
        for (i, run) in leaves.chunks(per_record).enumerate() {
            hashes.push(SegmentHashes {
                first_index: (i * per_record) as u32,
                hashes: run.to_vec(),
            });
        }
    }
    Ok(Prepared {
        header,
        segments,
        hashes,
        records: info.records,
    })
}

impl Prepared {
    /// Every record, header first, then the other records, then hashes, then segments.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        std::iter::once(Record::Header(self.header.clone()))
            .chain(self.records.iter().cloned())
            .chain(self.hashes.iter().cloned().map(Record::SegmentHashes))
            .chain(self.segments.iter().cloned().map(Record::Segment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_fill_the_unit_exactly() {
        let p = plan(1_000_000, 80).unwrap();
        // 1,000,000 / 73 needs 13,699 segments: a 2-byte index, so 74 bytes of payload.
        assert_eq!(p.segment_size, 80 - 4 - 2);
        assert_eq!(p.segment_count, 1_000_000u64.div_ceil(74) as u32);
        let s = segments(&[0u8; 1000], plan(1000, 80).unwrap())
            .last()
            .unwrap();
        assert!(Record::Segment(s).encode().len() <= 80);
    }

    #[test]
    fn refuses_tiny_units_and_huge_streams() {
        assert_eq!(plan(10, 5), Err(ChunkError::UnitTooSmall(5)));
        assert!(matches!(
            plan(u64::MAX, 80),
            Err(ChunkError::TooLarge { .. })
        ));
    }

    #[test]
    fn empty_stream_has_no_segments() {
        let p = prepare(
            &[],
            ContentInfo {
                media_type: "x".into(),
                ..Default::default()
            },
            80,
        )
        .unwrap();
        assert_eq!(p.header.segment_count, Some(0));
        assert!(p.segments.is_empty());
    }
}
