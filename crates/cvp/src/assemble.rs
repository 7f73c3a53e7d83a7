//! Reassembly: segments in any order, from blocks or the mempool, checked before use.
//!
//! A segment is *verified* when its leaf hash matches a hash list that itself reproduces the
//! header's Merkle root, or when every segment is present and together they reproduce the root.
//! Memory grows with the segments received, never with what a header claims.
//!
//! [`Tracker`] does the bookkeeping on leaf hashes and lengths alone (an index keeps the bytes on
//! disk and a tag per segment saying where); [`Assembler`] is a tracker that also holds the bytes.

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
    /// The last segment, whose exact length the header does not give, is empty or longer than
    /// the segment size.
    #[error("segment {index} (the last) is {len} bytes: it must hold 1 to segment-size bytes")]
    LastSize {
        /// The index.
        index: u32,
        /// Its length.
        len: usize,
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

/// Why an `end` record was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum EndFlaw {
    /// The count (and the header's segment size and total length) do not fit together.
    #[error("end record: {segment_count} segments do not fit the header's size and length")]
    Inconsistent {
        /// The count the record states.
        segment_count: u32,
    },
}

/// What a tracker keeps of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf<T> {
    /// RFC 6962 leaf hash of the payload.
    pub hash: [u8; 32],
    /// Payload length.
    pub len: usize,
    /// The caller's tag (where the bytes are).
    pub tag: T,
}

/// One content's segments as leaf hashes and lengths, each with a tag of the caller's.
#[derive(Debug, Clone)]
pub struct Tracker<T = ()> {
    header: Header,
    leaves: BTreeMap<u32, Leaf<T>>,
    hashes: BTreeMap<u32, [u8; 32]>,
    hashes_verified: bool,
    /// Every segment is held and together they reproduce the root (computed once, on completion).
    all_verified: bool,
}

impl<T> Tracker<T> {
    /// Start from a header.
    pub fn new(header: Header) -> Self {
        let mut a = Tracker {
            header,
            leaves: BTreeMap::new(),
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
        self.leaves.len() as u32
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

    /// The segments held, in index order.
    pub fn leaves(&self) -> impl Iterator<Item = (u32, &Leaf<T>)> {
        self.leaves.iter().map(|(i, l)| (*i, l))
    }

    /// One segment held.
    pub fn leaf(&self, index: u32) -> Option<&Leaf<T>> {
        self.leaves.get(&index)
    }

    /// Offer segment `index` of `len` bytes whose leaf hash is `hash`.
    pub fn add(&mut self, index: u32, len: usize, hash: [u8; 32], tag: T) -> AddOutcome {
        if let Some(count) = self.header.segment_count {
            if index >= count {
                return AddOutcome::Rejected(SegmentFlaw::OutOfRange { index, count });
            }
        }
        if let Some(expected) = self.header.expected_segment_len(index) {
            if len != expected {
                return AddOutcome::Rejected(SegmentFlaw::WrongSize {
                    index,
                    len,
                    expected,
                });
            }
        } else if !self.header.segment_len_fits(index, len) {
            return AddOutcome::Rejected(SegmentFlaw::LastSize { index, len });
        }
        if self.hashes_verified && self.hashes.get(&index) != Some(&hash) {
            return AddOutcome::Rejected(SegmentFlaw::HashMismatch { index });
        }
        if let Some(held) = self.leaves.get(&index) {
            return if held.hash == hash {
                AddOutcome::Duplicate
            } else {
                AddOutcome::Rejected(SegmentFlaw::Conflict { index })
            };
        }
        self.leaves.insert(index, Leaf { hash, len, tag });
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
            .leaves
            .iter()
            .filter(|(i, l)| self.hashes.get(i) != Some(&l.hash))
            .map(|(i, _)| *i)
            .collect();
        let flaws = bad
            .into_iter()
            .map(|index| {
                self.leaves.remove(&index);
                SegmentFlaw::HashMismatch { index }
            })
            .collect();
        self.update_all_verified();
        flaws
    }

    /// Apply an End record: closes an open stream (sets the count, and the root if given), after
    /// checking that the count fits the header's segment size and total length. Ignored when the
    /// header already has a count.
    pub fn apply_end(&mut self, end: &End) -> Result<(), EndFlaw> {
        if self.header.segment_count.is_some() {
            return Ok(());
        }
        let mut closed = self.header.clone();
        closed.segment_count = Some(end.segment_count);
        closed.merkle_root = end.merkle_root;
        if closed.check().is_err() {
            return Err(EndFlaw::Inconsistent {
                segment_count: end.segment_count,
            });
        }
        self.header = closed;
        let header = &self.header;
        self.leaves
            .retain(|i, l| *i < end.segment_count && header.segment_len_fits(*i, l.len));
        self.update_all_verified();
        Ok(())
    }

    /// The number of leading segments that are verified and contiguous from 0: what a player may
    /// use now.
    pub fn verified_prefix(&self) -> u32 {
        if !self.hashes_verified {
            return if self.all_verified {
                self.received()
            } else {
                0
            };
        }
        let mut n = 0;
        while self.leaves.contains_key(&n) {
            n += 1;
        }
        n
    }

    /// True when every segment is held and verified against the root.
    pub fn is_verified_complete(&self) -> bool {
        self.all_verified
    }

    /// Called whenever the held set may have become complete. With a verified hash list every
    /// held segment already matched its leaf, so nothing is hashed again.
    fn update_all_verified(&mut self) {
        self.all_verified = match self.header.merkle_root {
            Some(_) if self.is_complete() && self.hashes_verified => true,
            Some(root) if self.is_complete() => {
                let leaves: Vec<[u8; 32]> = self.leaves.values().map(|l| l.hash).collect();
                merkle::root_from_leaves(&leaves) == root
            }
            _ => false,
        };
    }
}

/// Collects one content's segments, bytes included.
#[derive(Debug, Clone)]
pub struct Assembler {
    tracker: Tracker,
    segments: BTreeMap<u32, Vec<u8>>,
}

impl Assembler {
    /// Start from a header.
    pub fn new(header: Header) -> Self {
        Assembler {
            tracker: Tracker::new(header),
            segments: BTreeMap::new(),
        }
    }

    /// The bookkeeping: header, counts, verification state.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// The header (with the count and root of an End record applied to an open stream).
    pub fn header(&self) -> &Header {
        self.tracker.header()
    }

    /// Segments held.
    pub fn received(&self) -> u32 {
        self.tracker.received()
    }

    /// True when every segment is held.
    pub fn is_complete(&self) -> bool {
        self.tracker.is_complete()
    }

    /// True when a hash list matching the root is held, so every segment is checked on arrival.
    pub fn hashes_verified(&self) -> bool {
        self.tracker.hashes_verified()
    }

    /// Offer a segment.
    pub fn add(&mut self, seg: Segment) -> AddOutcome {
        let leaf = merkle::leaf_hash(&seg.payload);
        let outcome = self.tracker.add(seg.index, seg.payload.len(), leaf, ());
        if let AddOutcome::Accepted { .. } = outcome {
            self.segments.insert(seg.index, seg.payload);
        }
        outcome
    }

    /// Offer a leaf-hash record; see [`Tracker::add_hashes`].
    pub fn add_hashes(&mut self, rec: &SegmentHashes) -> Vec<SegmentFlaw> {
        let flaws = self.tracker.add_hashes(rec);
        self.forget_dropped();
        flaws
    }

    /// Apply an End record; see [`Tracker::apply_end`].
    pub fn apply_end(&mut self, end: &End) -> Result<(), EndFlaw> {
        let r = self.tracker.apply_end(end);
        self.forget_dropped();
        r
    }

    fn forget_dropped(&mut self) {
        let t = &self.tracker;
        self.segments.retain(|i, _| t.leaf(*i).is_some());
    }

    /// The number of leading segments that are verified and contiguous from 0.
    pub fn verified_prefix(&self) -> u32 {
        self.tracker.verified_prefix()
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
        if !self.tracker.is_verified_complete() {
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
        let need = self.header().segment_count.ok_or(AssembleError::Open)?;
        if self.received() != need {
            return Err(AssembleError::Incomplete {
                have: self.received(),
                need,
            });
        }
        Ok(need)
    }
}
