//! Tag-length-value fields, as in the header and info records.
//!
//! Each field is `tag varint, length varint, value`. Tags are strictly increasing. An even tag the
//! reader does not know makes the record invalid; an unknown odd tag is kept (so that re-encoding
//! gives the same bytes) and otherwise ignored.

use crate::cursor::{put_bytes, Cursor};
use crate::{varint, DecodeError};
use serde::{Deserialize, Serialize};

/// A field this reader does not interpret (always an odd tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownField {
    /// The (odd) tag.
    pub tag: u64,
    /// The raw value.
    #[serde(with = "crate::serde_hex")]
    pub value: Vec<u8>,
}

/// Read every field of a TLV stream, in order, checking the ordering rule.
pub(crate) fn read_all(body: &[u8]) -> Result<Vec<(u64, &[u8])>, DecodeError> {
    let mut c = Cursor::new(body);
    let mut fields = Vec::new();
    let mut previous: Option<u64> = None;
    while !c.is_empty() {
        let tag = c.varint()?;
        if let Some(p) = previous {
            if tag <= p {
                return Err(DecodeError::TagsOutOfOrder { previous: p, tag });
            }
        }
        previous = Some(tag);
        let value = c.len_prefixed("tlv value")?;
        fields.push((tag, value));
    }
    Ok(fields)
}

/// Writes fields, which the caller gives in increasing tag order.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: Vec<u8>,
    fields: Vec<(u64, Vec<u8>)>,
}

impl Writer {
    pub(crate) fn field(&mut self, tag: u64, value: &[u8]) {
        self.fields.push((tag, value.to_vec()));
    }

    pub(crate) fn varint_field(&mut self, tag: u64, v: u64) {
        let mut b = Vec::with_capacity(varint::len(v));
        varint::write(&mut b, v);
        self.fields.push((tag, b));
    }

    pub(crate) fn unknown(&mut self, fields: &[UnknownField]) {
        self.fields
            .extend(fields.iter().map(|f| (f.tag, f.value.clone())));
    }

    /// Sort by tag (unknown fields interleave with known ones) and serialize.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.fields.sort_by_key(|(t, _)| *t);
        for (tag, value) in &self.fields {
            varint::write(&mut self.out, *tag);
            put_bytes(&mut self.out, value);
        }
        self.out
    }
}

/// A varint that must fill a field's whole value.
pub(crate) fn varint_value(field: &'static str, value: &[u8]) -> Result<u64, DecodeError> {
    let (v, used) = varint::read(value)?;
    if used != value.len() {
        return Err(DecodeError::TrailingBytes {
            record: field,
            count: value.len() - used,
        });
    }
    Ok(v)
}

pub(crate) fn utf8(field: &'static str, value: &[u8]) -> Result<String, DecodeError> {
    std::str::from_utf8(value)
        .map(str::to_owned)
        .map_err(|_| DecodeError::InvalidUtf8(field))
}

pub(crate) fn array32(field: &'static str, value: &[u8]) -> Result<[u8; 32], DecodeError> {
    value.try_into().map_err(|_| DecodeError::BadLength {
        field,
        len: value.len(),
        expected: 32,
    })
}

/// Keep an unknown field if its tag is odd; refuse it if even.
pub(crate) fn unknown(
    record: &'static str,
    tag: u64,
    value: &[u8],
    keep: &mut Vec<UnknownField>,
) -> Result<(), DecodeError> {
    if tag.is_multiple_of(2) {
        return Err(DecodeError::UnknownEvenTag { record, tag });
    }
    keep.push(UnknownField {
        tag,
        value: value.to_vec(),
    });
    Ok(())
}
