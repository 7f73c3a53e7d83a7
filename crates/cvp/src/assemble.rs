//! Reassembly: segments in any order, from blocks or the mempool, checked before use.
//!
//! A segment is *verified* when its leaf hash matches a hash list that itself reproduces the
//! header's Merkle root, or when every segment is present and together they reproduce the root.
//! Memory grows with the segments received, never with what a header claims.

use crate::header::Header;
use crate::merkle;
use crate::record::{End, Segment, SegmentHashes};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a segment was not accepted. These are the flaws an index records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "flaw", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SegmentFlaw {
    /// The index is at or past the segment count.
    #[error("segment {index} is out of range (the content has {count} segments)")]
    OutOfRange {
        /// The index.
        index: u32,
        /// The segment count.
        count: u32,
    },
    /// The payload length differs from what the header implies.
    #[error("segment {index} is {len} bytes, expected {expected}")]
    WrongSize {
        /// The index.
        index: u32,
        /// Its length.
        len: usize,
        /// The expected length.
        expected: usize,
    },
    /// A second, different payload for an index already held.
    #[error("segment {index} conflicts with the copy already held")]
    Conflict {
        /// The index.
        index: u32,
    },
    /// The payload does not match its verified leaf hash.
    #[error("segment {index} does not match its hash")]
    HashMismatch {
        /// The index.
        index: u32,
    },
}

/// What happened to a segment given to [`Assembler::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddOutcome {
    /// Stored; `verified` when its hash was already checked against the root.
    Accepted {
        /// Checked against a verified hash list.
        verified: bool,
    },
    /// The same bytes were already held.
    Duplicate,
    /// Not stored, for the reason given.
    Rejected(SegmentFlaw),
}

/// Why the stream could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssembleError {
    /// Segments are missing.
    #[error("incomplete: {have} of {need} segments")]
    Incomplete {
        /// Segments held.
        have: u32,
        /// Segments needed.
        need: u32,
    },
    /// The segments do not reproduce the header's Merkle root.
    #[error("merkle root mismatch: the segments do not match the header")]
    RootMismatch,
    /// An open stream has no known end yet.
    #[error("the stream is still open (no segment count yet)")]
    Open,
}

/// Collects one content's segments.
#[derive(Debug, Clone)]
pub struct Assembler {
    header: Header,
    segments: BTreeMap<u32, Vec<u8>>,
    hashes: BTreeMap<u32, [u8; 32]>,
    hashes_verified: bool,
    /// Every segment is held and together they reproduce the root (computed once, on completion).
    all_verified: bool,
}

impl Assembler {
    /// Start from a header.
    pub fn new(header: Header) -> Self {
        let mut a = Assembler {
            header,
            segments: BTreeMap::new(),
            hashes: BTreeMap::new(),
            hashes_verified: false,
            all_verified: false,
        };
        a.update_all_verified(); // an empty stream is complete from the start
        a
    }

    /// The header (with the count and root of an End record applied to an open stream).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Segments held.
    pub fn received(&self) -> u32 {
        self.segments.len() as u32
    }

    /// True when every segment is held.
    pub fn is_complete(&self) -> bool {
        self.header
            .segment_count
            .is_some_and(|c| self.received() == c)
    }

    /// True when a hash list matching the root is held, so every segment is checked on arrival.
    pub fn hashes_verified(&self) -> bool {
        self.hashes_verified
    }

    /// Offer a segment.
    pub fn add(&mut self, seg: Segment) -> AddOutcome {
        if let Some(count) = self.header.segment_count {
            if seg.index >= count {
                return AddOutcome::Rejected(SegmentFlaw::OutOfRange {
                    index: seg.index,
                    count,
                });
            }
        }
        if let Some(expected) = self.header.expected_segment_len(seg.index) {
            if seg.payload.len() != expected {
                return AddOutcome::Rejected(SegmentFlaw::WrongSize {
                    index: seg.index,
                    len: seg.payload.len(),
                    expected,
                });
            }
        }
        if self.hashes_verified {
            let ok = self
                .hashes
                .get(&seg.index)
                .is_some_and(|h| *h == merkle::leaf_hash(&seg.payload));
            if !ok {
                return AddOutcome::Rejected(SegmentFlaw::HashMismatch { index: seg.index });
            }
        }
        if let Some(held) = self.segments.get(&seg.index) {
            return if *held == seg.payload {
                AddOutcome::Duplicate
            } else {
                AddOutcome::Rejected(SegmentFlaw::Conflict { index: seg.index })
            };
        }
        self.segments.insert(seg.index, seg.payload);
        self.update_all_verified();
        AddOutcome::Accepted {
            verified: self.hashes_verified,
        }
    }

    /// Offer a leaf-hash record. When the list becomes complete and reproduces the root, every
    /// held segment is checked and those that fail are dropped and returned as flaws.
    pub fn add_hashes(&mut self, rec: &SegmentHashes) -> Vec<SegmentFlaw> {
        let (Some(count), Some(root)) = (self.header.segment_count, self.header.merkle_root) else {
            return Vec::new();
        };
        if self.hashes_verified {
            return Vec::new();
        }
        for (i, h) in rec.hashes.iter().enumerate() {
            let index = u64::from(rec.first_index) + i as u64;
            if index < u64::from(count) {
                self.hashes.entry(index as u32).or_insert(*h);
            }
        }
        if self.hashes.len() as u32 != count {
            return Vec::new();
        }
        let leaves: Vec<[u8; 32]> = self.hashes.values().copied().collect();
        if merkle::root_from_leaves(&leaves) != root {
            self.hashes.clear(); // a wrong list helps nobody; wait for a better one
            return Vec::new();
        }
        self.hashes_verified = true;
        let bad: Vec<u32> = self
            .segments
            .iter()
            .filter(|(i, p)| self.hashes.get(i) != Some(&merkle::leaf_hash(p)))
            .map(|(i, _)| *i)
            .collect();
        let flaws = bad
            .into_iter()
            .map(|index| {
                self.segments.remove(&index);
                SegmentFlaw::HashMismatch { index }
            })
            .collect();
        self.update_all_verified();
        flaws
    }

    /// Apply an End record: closes an open stream (sets the count, and the root if given). Ignored
    /// when the header already has a count.
    pub fn apply_end(&mut self, end: &End) {
        if self.header.segment_count.is_none() {
            self.header.segment_count = Some(end.segment_count);
            self.header.merkle_root = end.merkle_root;
            self.segments.retain(|i, _| *i < end.segment_count);
            self.update_all_verified();
        }
    }

    /// The number of leading segments that are verified and contiguous from 0: what a player may
    /// use now.
    pub fn verified_prefix(&self) -> u32 {
        if !self.hashes_verified {
            return if self.verify_all() {
                self.received()
            } else {
                0
            };
        }
        let mut n = 0;
        while self.segments.contains_key(&n) {
            n += 1;
        }
        n
    }

    fn verify_all(&self) -> bool {
        self.all_verified
    }

    /// Called whenever the held set may have become complete. With a verified hash list every
    /// held segment already matched its leaf, so nothing is hashed again.
    fn update_all_verified(&mut self) {
        self.all_verified = match self.header.merkle_root {
            Some(_) if self.is_complete() && self.hashes_verified => true,
            Some(root) if self.is_complete() => {
                let leaves: Vec<[u8; 32]> = self
                    .segments
                    .values()
                    .map(|p| merkle::leaf_hash(p))
                    .collect();
                merkle::root_from_leaves(&leaves) == root
            }
            _ => false,
        };
    }

    /// The bytes of verified segments `0..n`, in order.
    pub fn prefix_bytes(&self, n: u32) -> Vec<u8> {
        self.segments
            .range(..n)
            .flat_map(|(_, p)| p.iter().copied())
            .collect()
    }

    /// The whole stream, once complete and matching the root. A header without a root yields the
    /// bytes unverified only through [`Assembler::finish_unverified`].
    pub fn finish(&self) -> Result<Vec<u8>, AssembleError> {
        let need = self.complete()?;
        if !self.verify_all() {
            return Err(AssembleError::RootMismatch);
        }
        Ok(self.prefix_bytes(need))
    }

    /// The stream without a root check, for content whose header states no root (live streams
    /// closed without one). Callers must show it as unverified.
    pub fn finish_unverified(&self) -> Result<Vec<u8>, AssembleError> {
        Ok(self.prefix_bytes(self.complete()?))
    }

    /// The segment count, once every segment is in.
    fn complete(&self) -> Result<u32, AssembleError> {
        let need = self.header.segment_count.ok_or(AssembleError::Open)?;
        if self.received() != need {
            return Err(AssembleError::Incomplete {
                have: self.received(),
                need,
            });
        }
        Ok(need)
    }
}
