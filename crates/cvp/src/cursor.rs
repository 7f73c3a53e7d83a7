//! A reader over a record's bytes that never reads past the end and never allocates more than the
//! bytes it has seen justify.

use crate::{varint, DecodeError};

/// A position in a byte slice.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        let (v, used) = varint::read(self.buf)?;
        self.buf = &self.buf[used..];
        Ok(v)
    }

    /// A varint that must lie in `min..=max`.
    pub(crate) fn varint_in(
        &mut self,
        field: &'static str,
        min: u64,
        max: u64,
    ) -> Result<u64, DecodeError> {
        let value = self.varint()?;
        if value < min || value > max {
            return Err(DecodeError::OutOfRange {
                field,
                value,
                min,
                max,
            });
        }
        Ok(value)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        // The range check guarantees the conversion.
        Ok(self.varint_in(field, 0, u64::from(u32::MAX))? as u32)
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::Truncated(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array32(&mut self, what: &'static str) -> Result<[u8; 32], DecodeError> {
        let b = self.bytes(32, what)?;
        let mut out = [0u8; 32];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// A varint length followed by that many bytes; the length is checked against what is left
    /// before anything is allocated.
    pub(crate) fn len_prefixed(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = self.varint()?;
        let n = usize::try_from(n).map_err(|_| DecodeError::Truncated(what))?;
        self.bytes(n, what)
    }

    pub(crate) fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let b = self.len_prefixed(what)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8(what))
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    pub(crate) fn finish(&self, record: &'static str) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                record,
                count: self.buf.len(),
            })
        }
    }
}

/// Append a varint length and the bytes.
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    varint::write(out, b.len() as u64);
    out.extend_from_slice(b);
}
