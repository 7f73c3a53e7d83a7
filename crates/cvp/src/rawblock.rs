//! Raw blocks as a backend sent them: walked without building transaction objects, checked against
//! the hash asked for, the header's Merkle root and the witness commitment before anything in them
//! is used, and searched for the transactions that may carry a CVP unit.
//!
//! The walk reads lengths only. Each transaction's txid and wtxid are hashed from its byte spans,
//! so a backend (or a man in the middle of `esplora:http://`) that alters one byte of a block,
//! witness included, is caught. A transaction is a *candidate* when an OP_RETURN output's pushes,
//! or the pushes after an `OP_FALSE OP_IF` in a witness item, start with `CV`: however a unit is
//! split over pushes, it is found (the decoders of this crate then decide). No I/O: the index's
//! scanner feeds it what a backend sent.

use bitcoin::hashes::{sha256d, Hash, HashEngine};
use bitcoin::BlockHash;
use std::ops::Range;

/// Why a block's bytes cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
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
    /// Bytes after the last transaction.
    #[error("{0} bytes after the last transaction")]
    TrailingBytes(usize),
    /// A block with no transaction (every block has a coinbase).
    #[error("a block without transactions")]
    Empty,
    /// The header does not hash to the block asked for.
    #[error("the block's header hashes to {found}, not the requested {expected}")]
    WrongHash {
        /// Asked for.
        expected: BlockHash,
        /// What the bytes hash to.
        found: BlockHash,
    },
    /// The transactions do not reproduce the header's Merkle root (or repeat in a way that would
    /// reproduce it: CVE-2012-2459).
    #[error("the transactions do not match the header's merkle root")]
    MerkleMismatch,
    /// The witness data does not match the coinbase's witness commitment (BIP141).
    #[error("the witness data does not match the coinbase's commitment")]
    WitnessMismatch,
}

/// One transaction's place in a raw block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxSpan {
    /// The whole serialization (what the wtxid hashes).
    pub range: Range<usize>,
    /// Inputs and outputs, from the input count to the end of the last output.
    io: Range<usize>,
    /// Serialized with the segwit marker and flag.
    segwit: bool,
    /// May carry a CVP unit.
    pub candidate: bool,
}

impl TxSpan {
    fn txid(&self, b: &[u8]) -> [u8; 32] {
        if !self.segwit {
            return sha256d::Hash::hash(&b[self.range.clone()]).to_byte_array();
        }
        let mut e = sha256d::Hash::engine();
        e.input(&b[self.range.start..self.range.start + 4]);
        e.input(&b[self.io.clone()]);
        e.input(&b[self.range.end - 4..self.range.end]);
        sha256d::Hash::from_engine(e).to_byte_array()
    }
}

/// A walked block: every transaction's span, and what the coinbase says about witnesses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// Every transaction, in block order.
    pub txs: Vec<TxSpan>,
    /// The last witness commitment script of the coinbase (`OP_RETURN 0xaa21a9ed ...`).
    commitment: Option<Range<usize>>,
    /// The coinbase's witness items.
    coinbase_witness: Vec<Range<usize>>,
}

struct Walker<'a> {
    b: &'a [u8],
    at: usize,
}

impl Walker<'_> {
    fn skip(&mut self, n: usize) -> Result<Range<usize>, BlockError> {
        let start = self.at;
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or(BlockError::Truncated(self.at))?;
        self.at = end;
        Ok(start..end)
    }

    fn byte(&mut self) -> Result<u8, BlockError> {
        let v = *self.b.get(self.at).ok_or(BlockError::Truncated(self.at))?;
        self.at += 1;
        Ok(v)
    }

    /// Bitcoin's CompactSize, bounded by what is left (every counted item takes at least a byte).
    fn compact(&mut self) -> Result<usize, BlockError> {
        let at = self.at;
        let v = match self.byte()? {
            0xfd => u64::from(u16::from_le_bytes(self.array::<2>()?)),
            0xfe => u64::from(u32::from_le_bytes(self.array::<4>()?)),
            0xff => u64::from_le_bytes(self.array::<8>()?),
            n => u64::from(n),
        };
        if v > (self.b.len() - self.at) as u64 {
            return Err(BlockError::Implausible { count: v, at });
        }
        Ok(v as usize)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], BlockError> {
        let r = self.skip(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&self.b[r]);
        Ok(a)
    }

    /// One transaction; with `coinbase`, also its commitment script and witness items.
    fn tx(&mut self, coinbase: bool) -> Result<(TxSpan, CoinbaseParts), BlockError> {
        let start = self.at;
        self.skip(4)?; // version
        let mut io_start = self.at;
        let mut inputs = self.compact()?;
        let segwit = inputs == 0 && self.b.get(self.at) == Some(&1);
        if segwit {
            self.skip(1)?; // flag
            io_start = self.at;
            inputs = self.compact()?;
        }
        for _ in 0..inputs {
            self.skip(36)?;
            let n = self.compact()?;
            self.skip(n)?;
            self.skip(4)?;
        }
        let outputs = self.compact()?;
        let mut candidate = false;
        let mut commitment = None;
        for _ in 0..outputs {
            self.skip(8)?;
            let n = self.compact()?;
            let script = self.skip(n)?;
            let s = &self.b[script.clone()];
            candidate |= s.first() == Some(&OP_RETURN) && pushes_start_with_magic(&s[1..]);
            if s.len() >= 38 && s[..6] == WITNESS_COMMITMENT {
                commitment = Some(script);
            }
        }
        let io_end = self.at;
        let mut witness_items = Vec::new();
        if segwit {
            for _ in 0..inputs {
                let items = self.compact()?;
                for _ in 0..items {
                    let n = self.compact()?;
                    let item = self.skip(n)?;
                    candidate |= envelope_may_start(&self.b[item.clone()]);
                    if coinbase {
                        witness_items.push(item);
                    }
                }
            }
        }
        self.skip(4)?; // lock time
        let span = TxSpan {
            range: start..self.at,
            io: io_start..io_end,
            segwit,
            candidate,
        };
        Ok((span, (commitment, witness_items)))
    }
}

/// A coinbase's last witness commitment script and its witness items.
type CoinbaseParts = (Option<Range<usize>>, Vec<Range<usize>>);

const OP_RETURN: u8 = 0x6a;
/// `OP_RETURN OP_PUSHBYTES_36 aa21a9ed`: the start of a BIP141 witness commitment.
const WITNESS_COMMITMENT: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];

/// The first bytes that the pushes of `script` put on the stack, as cvp's carrier reads them
/// (OP_0 pushes nothing, OP_1NEGATE 0x81, OP_1..OP_16 their number); stops at a non-push.
fn pushes_start_with_magic(script: &[u8]) -> bool {
    let mut got = [0u8; 2];
    let mut have = 0;
    let mut at = 0;
    while have < 2 {
        let Some(&op) = script.get(at) else {
            return false;
        };
        at += 1;
        let len = match op {
            0x01..=0x4b => usize::from(op),
            0x4c..=0x4e => {
                let w = [1, 2, 4][usize::from(op - 0x4c)];
                let Some(l) = script.get(at..at + w) else {
                    return false;
                };
                at += w;
                l.iter()
                    .rev()
                    .fold(0usize, |a, b| (a << 8) | usize::from(*b))
            }
            0x00 => 0,
            0x4f => {
                got[have] = 0x81;
                have += 1;
                continue;
            }
            0x51..=0x60 => {
                got[have] = op - 0x50;
                have += 1;
                continue;
            }
            _ => return false,
        };
        let Some(data) = script.get(at..at.saturating_add(len)) else {
            return false;
        };
        at += len;
        for &b in data.iter().take(2 - have) {
            got[have] = b;
            have += 1;
        }
    }
    got == crate::MAGIC
}

/// True when a witness item holds `OP_FALSE OP_IF` followed by pushes that start with `CV`.
/// (Every empty push ends in the byte 0x00, so `00 63` finds `OP_PUSHDATA1 0` before OP_IF too.)
fn envelope_may_start(item: &[u8]) -> bool {
    memchr::memmem::find_iter(item, &[0x00, 0x63])
        .any(|at| pushes_start_with_magic(&item[at + 2..]))
}

/// Walk `block`: every transaction's span, exactly to the end (trailing bytes are an error).
pub fn walk(block: &[u8]) -> Result<Walked, BlockError> {
    if block.len() < 80 {
        return Err(BlockError::Truncated(block.len()));
    }
    let mut w = Walker { b: block, at: 80 };
    let n = w.compact()?;
    if n == 0 {
        return Err(BlockError::Empty);
    }
    let mut walked = Walked {
        txs: Vec::with_capacity(n),
        commitment: None,
        coinbase_witness: Vec::new(),
    };
    for i in 0..n {
        let (tx, (commitment, witness)) = w.tx(i == 0)?;
        if i == 0 {
            walked.commitment = commitment;
            walked.coinbase_witness = witness;
        }
        walked.txs.push(tx);
    }
    if w.at != block.len() {
        return Err(BlockError::TrailingBytes(block.len() - w.at));
    }
    Ok(walked)
}

/// Bitcoin's Merkle root over `leaves`; `None` when two sibling nodes are equal (a mutated list).
fn merkle_root(mut level: Vec<[u8; 32]>) -> Option<[u8; 32]> {
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            let (l, r) = match pair {
                [l, r] if l == r => return None,
                [l, r] => (l, r),
                [l] => (l, l),
                _ => return None,
            };
            let mut e = sha256d::Hash::engine();
            e.input(l);
            e.input(r);
            next.push(sha256d::Hash::from_engine(e).to_byte_array());
        }
        level = next;
    }
    level.first().copied()
}

/// Check a walked block against the hash asked for, its Merkle root and its witness commitment.
pub fn verify(block: &[u8], walked: &Walked, expected: &BlockHash) -> Result<(), BlockError> {
    let found = BlockHash::from_byte_array(sha256d::Hash::hash(&block[..80]).to_byte_array());
    if found != *expected {
        return Err(BlockError::WrongHash {
            expected: *expected,
            found,
        });
    }
    let txids: Vec<[u8; 32]> = walked.txs.iter().map(|t| t.txid(block)).collect();
    if merkle_root(txids).as_ref().map(|r| &r[..]) != Some(&block[36..68]) {
        return Err(BlockError::MerkleMismatch);
    }
    if !walked.txs.iter().any(|t| t.segwit) {
        return Ok(()); // no witness data: a commitment is optional and commits to nothing used
    }
    // The commitment counts only in a coinbase: one input, spending the null outpoint.
    let io = walked
        .txs
        .first()
        .map_or(&[][..], |cb| &block[cb.io.clone()]);
    let coinbase = io.len() >= 37
        && io[0] == 1
        && io[1..33].iter().all(|b| *b == 0)
        && io[33..37] == [0xff; 4];
    if !coinbase {
        return Err(BlockError::WitnessMismatch);
    }
    let (Some(c), [reserved]) = (&walked.commitment, &walked.coinbase_witness[..]) else {
        return Err(BlockError::WitnessMismatch);
    };
    let reserved = &block[reserved.clone()];
    if reserved.len() != 32 {
        return Err(BlockError::WitnessMismatch);
    }
    let mut wtxids: Vec<[u8; 32]> = walked
        .txs
        .iter()
        .map(|t| sha256d::Hash::hash(&block[t.range.clone()]).to_byte_array())
        .collect();
    wtxids[0] = [0u8; 32];
    // Witness roots are not checked for mutation by consensus (the txid tree is): allow equal pairs.
    let root = witness_root(wtxids);
    let mut e = sha256d::Hash::engine();
    e.input(&root);
    e.input(reserved);
    let commitment = sha256d::Hash::from_engine(e).to_byte_array();
    if block[c.start + 6..c.start + 38] != commitment {
        return Err(BlockError::WitnessMismatch);
    }
    Ok(())
}

fn witness_root(mut level: Vec<[u8; 32]>) -> [u8; 32] {
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| {
                let (l, r) = (&p[0], p.get(1).unwrap_or(&p[0]));
                let mut e = sha256d::Hash::engine();
                e.input(l);
                e.input(r);
                sha256d::Hash::from_engine(e).to_byte_array()
            })
            .collect();
    }
    level.first().copied().unwrap_or([0u8; 32])
}

/// Walk and check `block` (it must be the block `expected`), then return the spans of the
/// transactions that may carry CVP units.
pub fn cvp_candidates(block: &[u8], expected: &BlockHash) -> Result<Vec<Range<usize>>, BlockError> {
    let walked = walk(block)?;
    verify(block, &walked, expected)?;
    Ok(walked
        .txs
        .into_iter()
        .filter(|t| t.candidate)
        .map(|t| t.range)
        .collect())
}

/// True when a raw transaction may carry a CVP unit (the same test as for block transactions).
pub fn tx_is_candidate(raw: &[u8]) -> bool {
    let mut w = Walker { b: raw, at: 0 };
    matches!(w.tx(false), Ok((t, _)) if t.candidate && w.at == raw.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use bitcoin::consensus::serialize;

    #[test]
    fn spans_match_rust_bitcoin_on_a_real_block() {
        let block = bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin);
        let raw = serialize(&block);
        let w = walk(&raw).unwrap();
        assert_eq!(w.txs.len(), 1);
        assert_eq!(
            &raw[w.txs[0].range.clone()],
            &serialize(&block.txdata[0])[..]
        );
        verify(&raw, &w, &block.block_hash()).unwrap();
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(walk(&[0u8; 10]).is_err());
        let mut raw = serialize(&bitcoin::constants::genesis_block(
            bitcoin::Network::Bitcoin,
        ));
        let mut longer = raw.clone();
        longer.push(0);
        assert_eq!(walk(&longer), Err(BlockError::TrailingBytes(1)));
        raw[80] = 0xff;
        assert!(walk(&raw).is_err());
        raw.truncate(120);
        assert!(walk(&raw).is_err());
    }

    #[test]
    fn a_block_is_refused_under_another_hash_or_with_a_changed_transaction() {
        let block = bitcoin::constants::genesis_block(bitcoin::Network::Bitcoin);
        let mut raw = serialize(&block);
        let w = walk(&raw).unwrap();
        let other = bitcoin::constants::genesis_block(bitcoin::Network::Regtest).block_hash();
        assert!(matches!(
            verify(&raw, &w, &other),
            Err(BlockError::WrongHash { .. })
        ));
        let last = raw.len() - 10;
        raw[last] ^= 1;
        assert_eq!(
            verify(&raw, &walk(&raw).unwrap(), &block.block_hash()),
            Err(BlockError::MerkleMismatch)
        );
    }

    #[test]
    fn units_split_over_pushes_are_candidates() {
        // "C" | "V\x01..." as two pushes; OP_1 pushes 0x01 (not "C"); a non-push ends the search.
        assert!(pushes_start_with_magic(&[0x01, b'C', 0x02, b'V', 0x01]));
        assert!(pushes_start_with_magic(&[0x00, 0x4c, 0x02, b'C', b'V']));
        assert!(pushes_start_with_magic(&[0x4d, 0x03, 0x00, b'C', b'V', 1]));
        assert!(!pushes_start_with_magic(&[0x01, b'C', 0x61, 0x01, b'V']));
        assert!(!pushes_start_with_magic(&[0x02, b'C', b'X']));
        assert!(!pushes_start_with_magic(&[0x4e, 0xff, 0xff, 0xff, 0xff]));
        assert!(envelope_may_start(&[
            0x20, 0x00, 0x63, 0x01, b'C', 0x01, b'V'
        ]));
        assert!(envelope_may_start(&[0x4c, 0x00, 0x63, 0x02, b'C', b'V']));
        assert!(!envelope_may_start(&[0x00, 0x63, 0x02, b'X', b'V']));
    }
}
