//! Records: the unit of CVP. One record fills one carrier unit (an OP_RETURN output's data, or one
//! witness envelope) and is laid out as `"CV" version type body`.

use crate::commitment::Commitment;
use crate::cursor::{put_bytes, Cursor};
use crate::header::Header;
use crate::tlv::{self, UnknownField};
use crate::{varint, DecodeError, MAGIC, VERSION};
use serde::{Deserialize, Serialize};

/// Record type numbers. Even: a reader must understand them; odd: may be ignored.
pub mod kind {
    /// [`Header`](crate::Header).
    pub const HEADER: u64 = 0;
    /// [`Info`](super::Info).
    pub const INFO: u64 = 1;
    /// [`Segment`](super::Segment).
    pub const SEGMENT: u64 = 2;
    /// [`SegmentHashes`](super::SegmentHashes).
    pub const SEGMENT_HASHES: u64 = 3;
    /// [`End`](super::End).
    pub const END: u64 = 4;
    /// [`LiveChunk`](super::LiveChunk).
    pub const LIVE_CHUNK: u64 = 6;
    /// A link: carries the publisher's lineage through a fan-out or commit transaction. No body.
    pub const LINK: u64 = 8;
    /// [`Clips`](super::Clips): odd, so readers before it skip it.
    pub const CLIPS: u64 = 5;
    /// [`Commitment`](crate::Commitment): odd, so readers before it skip it.
    pub const COMMITMENT: u64 = 7;
    /// [`Branch`](super::Branch).
    pub const BRANCH: u64 = 10;
    /// [`Choice`](super::Choice).
    pub const CHOICE: u64 = 12;
}

/// Most options a branch point may offer.
pub const MAX_BRANCH_OPTIONS: usize = 64;
/// Most clips an interactive film's clip table may hold.
pub const MAX_CLIPS: u32 = 65_535;
/// Latest start a clip may have, in milliseconds (2^40: about 35 years).
pub const MAX_CLIP_START_MS: u64 = 1 << 40;

/// A CVP record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Record {
    /// What the content is; starts a lineage.
    Header(Header),
    /// More about the content (description, long title, ...): odd fields only.
    Info(Info),
    /// A piece of the stream.
    Segment(Segment),
    /// Leaf hashes of a run of segments, so each segment can be checked as it arrives.
    SegmentHashes(SegmentHashes),
    /// The end of the stream (closes a live stream; optional for files).
    End(End),
    /// A piece of a live stream, with its time.
    LiveChunk(LiveChunk),
    /// Carries lineage through a transaction that holds no other record.
    Link,
    /// Part of an interactive film's clip table.
    Clips(Clips),
    /// An interactive branch point.
    Branch(Branch),
    /// A viewer's choice at a branch point.
    Choice(Choice),
    /// A content held by a BitTorrent swarm, pinned by its pieces root.
    Commitment(Commitment),
    /// A record of an odd type this reader does not know (ignored by readers).
    Unknown {
        /// The odd type number.
        record_type: u64,
        /// The raw body.
        #[serde(with = "crate::serde_hex")]
        body: Vec<u8>,
    },
}

/// Extra metadata: only odd (optional) fields, e.g. tag 1 description, tag 3 long title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Info {
    /// The fields, in tag order.
    pub fields: Vec<UnknownField>,
}

/// A segment: payload `index` of the content its transaction belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Position in the stream, from 0.
    pub index: u32,
    /// The bytes.
    #[serde(with = "crate::serde_hex")]
    pub payload: Vec<u8>,
}

/// Leaf hashes for segments `first_index ..`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentHashes {
    /// Index of the segment the first hash belongs to.
    pub first_index: u32,
    /// `SHA-256(0x00 || payload)` of each segment, in order.
    #[serde(with = "crate::serde_hex::list")]
    pub hashes: Vec<[u8; 32]>,
}

/// End of stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    /// The final number of segments.
    pub segment_count: u32,
    /// The Merkle root over all of them, if the publisher states it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::serde_hex::opt"
    )]
    pub merkle_root: Option<[u8; 32]>,
}

/// A piece of a live stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveChunk {
    /// Position in the stream, from 0.
    pub index: u32,
    /// Milliseconds since the stream started, of the chunk's first media packet.
    pub timestamp_ms: u64,
    /// The bytes.
    #[serde(with = "crate::serde_hex")]
    pub payload: Vec<u8>,
}

/// Part of an interactive film's clip table (docs/cvp.md, "Interactive films"): clips
/// `first_clip ..` of `clip_count`, each a stretch of the stream's timeline from its start to the
/// next clip's start (the last: to the end of the stream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clips {
    /// How many clips the whole table holds.
    pub clip_count: u32,
    /// The number of the first clip in this record.
    pub first_clip: u32,
    /// The clips, in order.
    pub clips: Vec<ClipEntry>,
}

/// One clip of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipEntry {
    /// Where the clip starts in the stream's timeline, in milliseconds (on a video keyframe).
    pub start_ms: u64,
    /// The clip's name (shown as the path a viewer took).
    pub name: String,
}

/// An interactive branch point: after segment `at_segment` (in a film with a clip table: after
/// clip `at_segment`), the viewer picks an option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    /// Branch id, unique within the content.
    pub id: u32,
    /// The choice is offered after this segment has played.
    pub at_segment: u32,
    /// How long the viewer has to choose.
    pub timeout_ms: u32,
    /// The option taken when nobody chooses in time (an index into `options`).
    pub default_option: u32,
    /// The question.
    pub prompt: String,
    /// The options.
    pub options: Vec<BranchOption>,
}

/// One option of a branch point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchOption {
    /// Playback continues at this segment.
    pub next_segment: u32,
    /// What the viewer sees.
    pub label: String,
}

/// A viewer's choice at a branch point. Not bound to the publisher's lineage: anyone may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The content (its header's txid, in the byte order of the txid's serialization).
    #[serde(with = "crate::serde_hex")]
    pub content_id: [u8; 32],
    /// The branch id.
    pub branch_id: u32,
    /// The chosen option.
    pub option: u32,
    /// A BIP340 signature over [`Choice::message`], with the x-only key that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<ChoiceSignature>,
}

/// The explicit signature of a choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceSignature {
    /// x-only public key.
    #[serde(with = "crate::serde_hex")]
    pub pubkey: [u8; 32],
    /// BIP340 Schnorr signature.
    #[serde(with = "crate::serde_hex")]
    pub sig: [u8; 64],
}

impl Record {
    /// The record's type number.
    pub fn record_type(&self) -> u64 {
        match self {
            Record::Header(_) => kind::HEADER,
            Record::Info(_) => kind::INFO,
            Record::Segment(_) => kind::SEGMENT,
            Record::SegmentHashes(_) => kind::SEGMENT_HASHES,
            Record::End(_) => kind::END,
            Record::LiveChunk(_) => kind::LIVE_CHUNK,
            Record::Link => kind::LINK,
            Record::Clips(_) => kind::CLIPS,
            Record::Branch(_) => kind::BRANCH,
            Record::Choice(_) => kind::CHOICE,
            Record::Commitment(_) => kind::COMMITMENT,
            Record::Unknown { record_type, .. } => *record_type,
        }
    }

    /// True for records that belong to a publisher's lineage (everything but choices and unknowns).
    pub fn is_publisher_record(&self) -> bool {
        !matches!(self, Record::Choice(_) | Record::Unknown { .. })
    }

    /// The carrier unit: `"CV" 0x01 type body`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.body_len_hint());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        varint::write(&mut out, self.record_type());
        match self {
            Record::Header(h) => h.encode_body(&mut out),
            Record::Info(i) => {
                let mut w = tlv::Writer::default();
                w.unknown(&i.fields);
                out.extend(w.finish());
            }
            Record::Segment(s) => {
                varint::write(&mut out, u64::from(s.index));
                out.extend_from_slice(&s.payload);
            }
            Record::SegmentHashes(s) => {
                varint::write(&mut out, u64::from(s.first_index));
                for h in &s.hashes {
                    out.extend_from_slice(h);
                }
            }
            Record::End(e) => {
                varint::write(&mut out, u64::from(e.segment_count));
                if let Some(r) = &e.merkle_root {
                    out.extend_from_slice(r);
                }
            }
            Record::LiveChunk(c) => {
                varint::write(&mut out, u64::from(c.index));
                varint::write(&mut out, c.timestamp_ms);
                out.extend_from_slice(&c.payload);
            }
            Record::Link => {}
            Record::Clips(t) => {
                varint::write(&mut out, u64::from(t.clip_count));
                varint::write(&mut out, u64::from(t.first_clip));
                for c in &t.clips {
                    varint::write(&mut out, c.start_ms);
                    put_bytes(&mut out, c.name.as_bytes());
                }
            }
            Record::Branch(b) => {
                for v in [b.id, b.at_segment, b.timeout_ms, b.default_option] {
                    varint::write(&mut out, u64::from(v));
                }
                put_bytes(&mut out, b.prompt.as_bytes());
                varint::write(&mut out, b.options.len() as u64);
                for o in &b.options {
                    varint::write(&mut out, u64::from(o.next_segment));
                    put_bytes(&mut out, o.label.as_bytes());
                }
            }
            Record::Choice(c) => {
                out.extend_from_slice(&c.content_id);
                varint::write(&mut out, u64::from(c.branch_id));
                varint::write(&mut out, u64::from(c.option));
                if let Some(s) = &c.signature {
                    out.extend_from_slice(&s.pubkey);
                    out.extend_from_slice(&s.sig);
                }
            }
            Record::Commitment(m) => m.encode_body(&mut out),
            Record::Unknown { body, .. } => out.extend_from_slice(body),
        }
        out
    }

    fn body_len_hint(&self) -> usize {
        match self {
            Record::Segment(s) => s.payload.len(),
            Record::LiveChunk(c) => c.payload.len(),
            Record::SegmentHashes(s) => 32 * s.hashes.len(),
            _ => 64,
        }
    }

    /// Decode one carrier unit. Rejects trailing bytes, unknown even types and tags, and anything
    /// that claims more than the unit holds.
    pub fn decode(unit: &[u8]) -> Result<Record, DecodeError> {
        if unit.len() < MAGIC.len() || unit[..MAGIC.len()] != MAGIC {
            return Err(DecodeError::NotCvp);
        }
        let mut c = Cursor::new(&unit[MAGIC.len()..]);
        let version = c.bytes(1, "version")?[0];
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let record_type = c.varint()?;
        let record = match record_type {
            kind::HEADER => Record::Header(Header::decode_body(c.rest())?),
            kind::INFO => {
                let mut fields = Vec::new();
                for (t, v) in tlv::read_all(c.rest())? {
                    tlv::unknown("info", t, v, &mut fields)?;
                }
                Record::Info(Info { fields })
            }
            kind::SEGMENT => {
                let index = c.u32("segment index")?;
                Record::Segment(Segment {
                    index,
                    payload: c.rest().to_vec(),
                })
            }
            kind::SEGMENT_HASHES => Record::SegmentHashes(decode_segment_hashes(&mut c)?),
            kind::END => {
                let segment_count = c.u32("segment count")?;
                let merkle_root = if c.is_empty() {
                    None
                } else {
                    Some(c.array32("merkle root")?)
                };
                c.finish("end")?;
                Record::End(End {
                    segment_count,
                    merkle_root,
                })
            }
            kind::LIVE_CHUNK => {
                let index = c.u32("chunk index")?;
                let timestamp_ms = c.varint()?;
                Record::LiveChunk(LiveChunk {
                    index,
                    timestamp_ms,
                    payload: c.rest().to_vec(),
                })
            }
            kind::LINK => {
                c.finish("link")?;
                Record::Link
            }
            kind::CLIPS => Record::Clips(decode_clips(&mut c)?),
            kind::BRANCH => Record::Branch(decode_branch(&mut c)?),
            kind::CHOICE => Record::Choice(decode_choice(&mut c)?),
            kind::COMMITMENT => Record::Commitment(Commitment::decode_body(&mut c)?),
            t if t.is_multiple_of(2) => return Err(DecodeError::UnknownEvenType(t)),
            t => Record::Unknown {
                record_type: t,
                body: c.rest().to_vec(),
            },
        };
        Ok(record)
    }
}

fn decode_segment_hashes(c: &mut Cursor<'_>) -> Result<SegmentHashes, DecodeError> {
    let first_index = c.u32("first index")?;
    let rest = c.rest();
    if rest.is_empty() || !rest.len().is_multiple_of(32) {
        return Err(DecodeError::BadLength {
            field: "segment hashes",
            len: rest.len(),
            expected: 32 * (rest.len() / 32).max(1),
        });
    }
    let last = u64::from(first_index) + (rest.len() / 32) as u64 - 1;
    if last > u64::from(u32::MAX) {
        return Err(DecodeError::OutOfRange {
            field: "last hashed index",
            value: last,
            min: 0,
            max: u64::from(u32::MAX),
        });
    }
    let hashes = rest
        .chunks_exact(32)
        .map(|h| h.try_into().unwrap_or([0; 32]))
        .collect();
    Ok(SegmentHashes {
        first_index,
        hashes,
    })
}

fn decode_clips(c: &mut Cursor<'_>) -> Result<Clips, DecodeError> {
    let clip_count = c.varint_in("clip count", 1, u64::from(MAX_CLIPS))? as u32;
    let first_clip = c.varint_in("first clip", 0, u64::from(clip_count) - 1)? as u32;
    let mut clips: Vec<ClipEntry> = Vec::new();
    loop {
        let number = u64::from(first_clip) + clips.len() as u64;
        if number >= u64::from(clip_count) {
            return Err(DecodeError::OutOfRange {
                field: "clip number",
                value: number,
                min: 0,
                max: u64::from(clip_count) - 1,
            });
        }
        // Clip 0 starts the timeline; every start is after the one before.
        let (min, max) = match clips.last() {
            None if first_clip == 0 => (0, 0),
            None => (1, MAX_CLIP_START_MS),
            Some(prev) => (prev.start_ms + 1, MAX_CLIP_START_MS),
        };
        let start_ms = c.varint_in("clip start", min, max)?;
        let name = c.string("clip name")?;
        clips.push(ClipEntry { start_ms, name });
        if c.is_empty() {
            break;
        }
    }
    Ok(Clips {
        clip_count,
        first_clip,
        clips,
    })
}

fn decode_branch(c: &mut Cursor<'_>) -> Result<Branch, DecodeError> {
    let id = c.u32("branch id")?;
    let at_segment = c.u32("branch point segment")?;
    let timeout_ms = c.u32("timeout")?;
    let default_option = c.u32("default option")?;
    let prompt = c.string("prompt")?;
    let n = c.varint_in("option count", 1, MAX_BRANCH_OPTIONS as u64)? as usize;
    let mut options = Vec::new();
    for _ in 0..n {
        let next_segment = c.u32("option target")?;
        let label = c.string("option label")?;
        options.push(BranchOption {
            next_segment,
            label,
        });
    }
    c.finish("branch")?;
    if default_option as usize >= options.len() {
        return Err(DecodeError::OutOfRange {
            field: "default option",
            value: u64::from(default_option),
            min: 0,
            max: options.len() as u64 - 1,
        });
    }
    Ok(Branch {
        id,
        at_segment,
        timeout_ms,
        default_option,
        prompt,
        options,
    })
}

fn decode_choice(c: &mut Cursor<'_>) -> Result<Choice, DecodeError> {
    let content_id = c.array32("content id")?;
    let branch_id = c.u32("branch id")?;
    let option = c.u32("option")?;
    let signature = match c.remaining() {
        0 => None,
        96 => {
            let pubkey = c.array32("choice pubkey")?;
            let sig_bytes = c.bytes(64, "choice signature")?;
            let mut sig = [0u8; 64];
            sig.copy_from_slice(sig_bytes);
            Some(ChoiceSignature { pubkey, sig })
        }
        n => {
            return Err(DecodeError::BadLength {
                field: "choice signature",
                len: n,
                expected: 96,
            })
        }
    };
    Ok(Choice {
        content_id,
        branch_id,
        option,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_unknown_type_is_invalid_odd_is_kept() {
        assert_eq!(
            Record::decode(b"CV\x01\x0e"),
            Err(DecodeError::UnknownEvenType(14))
        );
        let r = Record::decode(b"CV\x01\x0fhi").unwrap();
        assert_eq!(
            r,
            Record::Unknown {
                record_type: 15,
                body: b"hi".to_vec()
            }
        );
        assert_eq!(r.encode(), b"CV\x01\x0fhi");
    }

    #[test]
    fn wrong_magic_and_version() {
        assert_eq!(Record::decode(b"XY\x01\x02"), Err(DecodeError::NotCvp));
        assert_eq!(Record::decode(b"C"), Err(DecodeError::NotCvp));
        assert_eq!(
            Record::decode(b"CV\x02\x02"),
            Err(DecodeError::UnsupportedVersion(2))
        );
        assert_eq!(
            Record::decode(b"CV"),
            Err(DecodeError::Truncated("version"))
        );
    }

    #[test]
    fn link_rejects_trailing_bytes() {
        assert_eq!(Record::decode(b"CV\x01\x08"), Ok(Record::Link));
        assert_eq!(
            Record::decode(b"CV\x01\x08\x00"),
            Err(DecodeError::TrailingBytes {
                record: "link",
                count: 1
            })
        );
    }
}
