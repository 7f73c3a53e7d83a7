//! CVP v1, the Compressed Video Protocol: how BitFlix content sits in Bitcoin transactions.
//!
//! This crate does no I/O. It encodes and decodes records (every decoder rejects trailing bytes and
//! names each flaw, never panics, and never allocates more than its input justifies), builds and
//! finds the three carriers in transactions, cuts streams into segments, computes the Merkle root,
//! reassembles in any order with verification, and applies the authenticity (lineage) rule.
//! The specification is docs/cvp.md; its test vectors are checked by this crate's tests.

pub mod assemble;
pub mod bundle;
pub mod carrier;
mod choice;
pub mod chunk;
pub mod commitment;
mod cursor;
mod error;
mod header;
pub mod lineage;
pub mod merkle;
pub mod pieces;
pub mod rawblock;
mod record;
pub mod serde_hex;
mod tlv;
pub mod varint;

pub use assemble::{AddOutcome, AssembleError, Assembler, EndFlaw, Leaf, SegmentFlaw, Tracker};
pub use carrier::{Carrier, Found, Location};
pub use choice::CHOICE_TAG;
pub use chunk::{ChunkPlan, ContentInfo, Prepared};
pub use commitment::Commitment;
pub use error::DecodeError;
pub use header::{tag as header_tag, Header, MAX_TOTAL_LENGTH};
pub use lineage::{Attributed, Lineage, Offered, TxRecords};
pub use record::{
    kind, Branch, BranchOption, Choice, ChoiceSignature, ClipEntry, Clips, End, Info, LiveChunk,
    Record, Segment, SegmentHashes, MAX_BRANCH_OPTIONS, MAX_CLIPS, MAX_CLIP_START_MS,
};
pub use tlv::UnknownField;

/// The magic every record starts with: ASCII `CV`.
pub const MAGIC: [u8; 2] = *b"CV";
/// The protocol version this crate speaks.
pub const VERSION: u8 = 1;
/// Magic and version: the three bytes a scanner looks for.
pub const SIGNATURE: [u8; 3] = [b'C', b'V', VERSION];
