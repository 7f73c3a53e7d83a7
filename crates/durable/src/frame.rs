//! Length-prefixed records: `(len u32 LE || bytes)*`.
//!
//! The layout of the devnet's append-only logs (`blocks.log`, `mempool.log`) and of the index's
//! stored blocks. A reader that trusts nothing gets each record as a slice of the input, and a
//! record cut short (a write stopped by a kill, or damage) as an error at its offset, after which
//! the iterator ends: a log keeps what comes before with `records(b).map_while(Result::ok)`, a
//! strict decoder refuses the whole input with `records(b).collect::<Result<Vec<_>, _>>()`.

/// A record that cannot be framed or read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A record longer than a `u32` length can say.
    #[error("a record of {0} bytes is too long to frame")]
    TooLong(usize),
    /// The input ends inside a record (its length prefix or its bytes).
    #[error("record at byte {offset} is cut short: {need} bytes needed, {have} left")]
    Truncated {
        /// Where the record starts.
        offset: usize,
        /// Bytes it needs (4 for the prefix, or 4 plus its length).
        need: usize,
        /// Bytes left from its start.
        have: usize,
    },
}

/// Append one record (its length, then its bytes) to `out`.
pub fn push(out: &mut Vec<u8>, record: &[u8]) -> Result<(), FrameError> {
    let len = u32::try_from(record.len()).map_err(|_| FrameError::TooLong(record.len()))?;
    out.reserve(4 + record.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(record);
    Ok(())
}

/// One record, framed.
pub fn encode(record: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::new();
    push(&mut out, record)?;
    Ok(out)
}

/// The records of `input`, in order. See the module documentation.
pub fn records(input: &[u8]) -> Records<'_> {
    Records {
        input,
        offset: 0,
        done: false,
    }
}

/// The iterator of [`records`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    input: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<&'a [u8], FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.input.get(self.offset..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let truncated = |need| FrameError::Truncated {
            offset: self.offset,
            need,
            have: rest.len(),
        };
        let Some((len, body)) = rest.split_first_chunk::<4>() else {
            self.done = true;
            return Some(Err(truncated(4)));
        };
        let len = u32::from_le_bytes(*len) as usize;
        let Some(record) = body.get(..len) else {
            self.done = true;
            return Some(Err(truncated(4 + len)));
        };
        self.offset += 4 + len;
        Some(Ok(record))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut buf = Vec::new();
        for r in [&b"abc"[..], b"", b"\x00\x01"] {
            push(&mut buf, r).unwrap();
        }
        assert_eq!(&buf[..7], b"\x03\x00\x00\x00abc");
        let back: Vec<&[u8]> = records(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(back, vec![&b"abc"[..], b"", b"\x00\x01"]);
        assert_eq!(records(&[]).count(), 0);
        assert_eq!(encode(b"x").unwrap(), b"\x01\x00\x00\x00x");
    }

    #[test]
    fn a_torn_tail_is_an_error_after_the_whole_records() {
        let mut buf = Vec::new();
        push(&mut buf, b"whole").unwrap();
        push(&mut buf, b"torn").unwrap();
        for cut in 10..buf.len() {
            let all: Vec<_> = records(&buf[..cut]).collect();
            assert_eq!(all.len(), 2, "cut at {cut}");
            assert_eq!(all[0], Ok(&b"whole"[..]));
            assert!(
                matches!(all[1], Err(FrameError::Truncated { offset: 9, .. })),
                "cut at {cut}: {:?}",
                all[1]
            );
            let kept: Vec<_> = records(&buf[..cut]).map_while(Result::ok).collect();
            assert_eq!(kept, vec![&b"whole"[..]]);
        }
    }

    #[test]
    fn a_huge_length_is_truncation_not_a_panic() {
        let buf = [0xff, 0xff, 0xff, 0xff, 1, 2];
        assert!(matches!(
            records(&buf).next(),
            Some(Err(FrameError::Truncated {
                offset: 0,
                need: 0x1_0000_0003,
                have: 6
            }))
        ));
    }
}
