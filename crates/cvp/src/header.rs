//! The header record (type 0): what a piece of content is and how to check it.

use crate::tlv::{self, UnknownField};
use crate::DecodeError;
use serde::{Deserialize, Serialize};

/// The largest stream a header may announce: 1 TiB. Far above anything a chain can carry, small
/// enough that offsets never overflow.
pub const MAX_TOTAL_LENGTH: u64 = 1 << 40;

/// Header field tags. Even: a reader must understand them; odd: may be ignored.
pub mod tag {
    /// Title, UTF-8.
    pub const TITLE: u64 = 0;
    /// Media type, ASCII, e.g. `video/x-cvpm; codecs="av01.0.00M.08,opus"`. Required.
    pub const MEDIA_TYPE: u64 = 2;
    /// Duration in milliseconds.
    pub const DURATION_MS: u64 = 4;
    /// Total stream length in bytes.
    pub const TOTAL_LENGTH: u64 = 6;
    /// Number of segments. Absent: an open (live) stream.
    pub const SEGMENT_COUNT: u64 = 8;
    /// RFC 6962 SHA-256 Merkle root over the segment payloads.
    pub const MERKLE_ROOT: u64 = 10;
    /// Payload size of every segment but the last.
    pub const SEGMENT_SIZE: u64 = 12;
    /// A poster frame (an image, e.g. AVIF or WebP). Optional to understand.
    pub const POSTER: u64 = 1;
}

/// What a piece of content is. Its content id is the txid of the transaction that carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Header {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Media type of the reassembled stream.
    pub media_type: String,
    /// Duration in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Total length in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_length: Option<u64>,
    /// Number of segments; `None` for an open (live) stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_count: Option<u32>,
    /// Merkle root of the segments, when known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::serde_hex::opt"
    )]
    pub merkle_root: Option<[u8; 32]>,
    /// Payload size of every segment but the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_size: Option<u32>,
    /// Poster frame bytes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::serde_hex::opt"
    )]
    pub poster: Option<Vec<u8>>,
    /// Odd fields this reader does not know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<UnknownField>,
}

impl Header {
    /// True for an open (live) stream: no segment count yet.
    pub fn is_open(&self) -> bool {
        self.segment_count.is_none()
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        let mut w = tlv::Writer::default();
        if let Some(t) = &self.title {
            w.field(tag::TITLE, t.as_bytes());
        }
        w.field(tag::MEDIA_TYPE, self.media_type.as_bytes());
        if let Some(v) = self.duration_ms {
            w.varint_field(tag::DURATION_MS, v);
        }
        if let Some(v) = self.total_length {
            w.varint_field(tag::TOTAL_LENGTH, v);
        }
        if let Some(v) = self.segment_count {
            w.varint_field(tag::SEGMENT_COUNT, u64::from(v));
        }
        if let Some(r) = &self.merkle_root {
            w.field(tag::MERKLE_ROOT, r);
        }
        if let Some(v) = self.segment_size {
            w.varint_field(tag::SEGMENT_SIZE, u64::from(v));
        }
        if let Some(p) = &self.poster {
            w.field(tag::POSTER, p);
        }
        w.unknown(&self.unknown);
        out.extend(w.finish());
    }

    pub(crate) fn decode_body(body: &[u8]) -> Result<Header, DecodeError> {
        let mut h = Header::default();
        let mut media_type = None;
        for (t, value) in tlv::read_all(body)? {
            match t {
                tag::TITLE => h.title = Some(tlv::utf8("title", value)?),
                tag::MEDIA_TYPE => media_type = Some(tlv::utf8("media type", value)?),
                tag::DURATION_MS => h.duration_ms = Some(tlv::varint_value("duration", value)?),
                tag::TOTAL_LENGTH => {
                    let v = tlv::varint_value("total length", value)?;
                    if v > MAX_TOTAL_LENGTH {
                        return Err(DecodeError::OutOfRange {
                            field: "total length",
                            value: v,
                            min: 0,
                            max: MAX_TOTAL_LENGTH,
                        });
                    }
                    h.total_length = Some(v);
                }
                tag::SEGMENT_COUNT => h.segment_count = Some(u32_value("segment count", value, 0)?),
                tag::MERKLE_ROOT => h.merkle_root = Some(tlv::array32("merkle root", value)?),
                tag::SEGMENT_SIZE => h.segment_size = Some(u32_value("segment size", value, 1)?),
                tag::POSTER => h.poster = Some(value.to_vec()),
                other => tlv::unknown("header", other, value, &mut h.unknown)?,
            }
        }
        h.media_type = media_type.ok_or(DecodeError::MissingField("media type"))?;
        h.check()?;
        Ok(h)
    }

    /// The rules that tie the fields together (see docs/cvp.md, "Header").
    pub fn check(&self) -> Result<(), DecodeError> {
        if self.merkle_root.is_some() && self.segment_count.is_none() {
            return Err(DecodeError::Inconsistent(
                "merkle root without segment count",
            ));
        }
        if let (Some(count), Some(size), Some(total)) =
            (self.segment_count, self.segment_size, self.total_length)
        {
            let count = u64::from(count);
            let size = u64::from(size);
            let fits = if count == 0 {
                total == 0
            } else {
                (count - 1) * size < total && total <= count * size
            };
            if !fits {
                return Err(DecodeError::Inconsistent(
                    "total length does not match segment count and size",
                ));
            }
        }
        Ok(())
    }

    /// Whether segment `index` may hold `len` payload bytes: exactly
    /// [`Header::expected_segment_len`] when the header says enough to know it; otherwise the last
    /// segment of a known count holds 1 to `segment_size` bytes (at least 1 without a size), as
    /// the cut of any stream does; other segments of an open stream or of a header without a size
    /// may have any length.
    pub fn segment_len_fits(&self, index: u32, len: usize) -> bool {
        if let Some(exact) = self.expected_segment_len(index) {
            return len == exact;
        }
        match self.segment_count {
            Some(count) if u64::from(index) + 1 == u64::from(count) => {
                len >= 1 && self.segment_size.is_none_or(|s| len as u64 <= u64::from(s))
            }
            _ => true,
        }
    }

    /// The exact payload length segment `index` must have, when the header says enough to know.
    pub fn expected_segment_len(&self, index: u32) -> Option<usize> {
        let (count, size) = (self.segment_count?, self.segment_size?);
        if index >= count {
            return None;
        }
        if index + 1 < count {
            return usize::try_from(size).ok();
        }
        let total = self.total_length?;
        let before = u64::from(count - 1).checked_mul(u64::from(size))?;
        usize::try_from(total.checked_sub(before)?).ok()
    }
}

fn u32_value(field: &'static str, value: &[u8], min: u64) -> Result<u32, DecodeError> {
    let v = tlv::varint_value(field, value)?;
    if v < min || v > u64::from(u32::MAX) {
        return Err(DecodeError::OutOfRange {
            field,
            value: v,
            min,
            max: u64::from(u32::MAX),
        });
    }
    Ok(v as u32)
}
