//! Walking a raw block without building transaction objects: only lengths are read, to find each
//! transaction's byte span; a signature search over the block then names the few transactions that
//! are worth decoding.

use std::ops::Range;

/// Why a block's bytes could not be walked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WalkError {
    /// The bytes end inside a field.
    #[error("block truncated at byte {0}")]
    Truncated(usize),
    /// A count that cannot fit in the block.
    #[error("implausible count {count} at byte {at}")]
    Implausible {
        /// The count read.
        count: u64,
        /// Where.
        at: usize,
    },
}

struct Walker<'a> {
    b: &'a [u8],
    at: usize,
}

impl Walker<'_> {
    fn skip(&mut self, n: usize) -> Result<(), WalkError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(WalkError::Truncated(self.at))?;
        self.at = end;
        Ok(())
    }

    fn byte(&mut self) -> Result<u8, WalkError> {
        let v = *self.b.get(self.at).ok_or(WalkError::Truncated(self.at))?;
        self.at += 1;
        Ok(v)
    }

    /// Bitcoin's CompactSize, bounded by what is left (every counted item takes at least a byte).
    fn compact(&mut self) -> Result<usize, WalkError> {
        let at = self.at;
        let v = match self.byte()? {
            0xfd => u64::from(u16::from_le_bytes(self.array::<2>()?)),
            0xfe => u64::from(u32::from_le_bytes(self.array::<4>()?)),
            0xff => u64::from_le_bytes(self.array::<8>()?),
            n => u64::from(n),
        };
        if v > (self.b.len() - self.at) as u64 {
            return Err(WalkError::Implausible { count: v, at });
        }
        Ok(v as usize)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WalkError> {
        let s = self
            .b
            .get(self.at..self.at + N)
            .ok_or(WalkError::Truncated(self.at))?;
        self.at += N;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn tx(&mut self) -> Result<Range<usize>, WalkError> {
        let start = self.at;
        self.skip(4)?; // version
        let mut inputs = self.compact()?;
        let segwit = inputs == 0;
        if segwit {
            self.skip(1)?; // flag
            inputs = self.compact()?;
        }
        for _ in 0..inputs {
            self.skip(36)?;
            let n = self.compact()?;
            self.skip(n + 4)?;
        }
        let outputs = self.compact()?;
        for _ in 0..outputs {
            self.skip(8)?;
            let n = self.compact()?;
            self.skip(n)?;
        }
        if segwit {
            for _ in 0..inputs {
                let items = self.compact()?;
                for _ in 0..items {
                    let n = self.compact()?;
                    self.skip(n)?;
                }
            }
        }
        self.skip(4)?; // lock time
        Ok(start..self.at)
    }
}

/// The byte span of every transaction in a raw block.
pub fn tx_spans(block: &[u8]) -> Result<Vec<Range<usize>>, WalkError> {
    let mut w = Walker { b: block, at: 80 };
    if block.len() < 80 {
        return Err(WalkError::Truncated(block.len()));
    }
    let n = w.compact()?;
    let mut spans = Vec::with_capacity(n);
    for _ in 0..n {
        spans.push(w.tx()?);
    }
    Ok(spans)
}

/// The spans of the transactions that contain the CVP signature: one search over the whole
/// block, hits mapped to their transactions.
pub fn cvp_tx_spans(block: &[u8]) -> Result<Vec<Range<usize>>, WalkError> {
    let finder = memchr::memmem::Finder::new(&cvp::SIGNATURE);
    let mut hits = finder.find_iter(block).peekable();
    if hits.peek().is_none() {
        return Ok(Vec::new());
    }
    let spans = tx_spans(block)?;
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    for hit in hits {
        while i < spans.len() && spans[i].end <= hit {
            i += 1;
        }
        if let Some(s) = spans.get(i) {
            if s.start <= hit && out.last() != Some(s) {
                out.push(s.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::consensus::serialize;

    #[test]
    fn spans_match_rust_bitcoin_on_a_real_block() {
        let block = bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin);
        let raw = serialize(&block);
        let spans = tx_spans(&raw).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(&raw[spans[0].clone()], &serialize(&block.txdata[0])[..]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(tx_spans(&[0u8; 10]).is_err());
        let mut raw = serialize(&bitcoin::constants::genesis_block(
            bitcoin::Network::Bitcoin,
        ));
        raw[80] = 0xff;
        assert!(tx_spans(&raw).is_err());
        raw.truncate(120);
        assert!(tx_spans(&raw).is_err());
    }
}
