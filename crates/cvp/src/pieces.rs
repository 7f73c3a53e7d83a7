//! BitTorrent v2's file tree (BEP 52): the SHA-256 Merkle tree over 16 KiB blocks whose root a
//! `commitment` record pins (docs/cvp.md, "Commitments").
//!
//! Leaves are `SHA-256(block)` of each 16 KiB block (the last one may be shorter), inner nodes
//! `SHA-256(left || right)`, and the leaf row is padded with zero hashes to a power of two. The
//! *piece layer* for a piece length `p` (a power of two, at least one block) is the row of subtree
//! roots over `p / 16 KiB` leaves each; with it a reader checks every piece as it arrives, and the
//! layer itself against the root (its row padded with the root of an all-zero subtree). Unlike
//! `merkle.rs`'s segment tree, this one is not ours: it is BitTorrent v2's, so a v2 client computes
//! the same root for the same bytes (the tests check it against libtorrent's when it is here).

use sha2::{Digest, Sha256};

/// The tree's block: 16 KiB.
pub const BLOCK_SIZE: usize = 16 * 1024;

/// Why a piece layer or piece length was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PiecesError {
    /// The piece length is not a power of two of at least one block.
    #[error("piece length {0} is not a power of two of at least 16384 bytes")]
    PieceLength(u64),
    /// The layer has the wrong number of hashes for the content's length.
    #[error("the piece layer holds {found} hashes, a content of this length has {expected}")]
    LayerLength {
        /// Hashes found.
        found: usize,
        /// Hashes a content of that length has.
        expected: u64,
    },
    /// The layer does not reproduce the committed root.
    #[error("the piece layer does not reproduce the committed root")]
    RootMismatch,
    /// An empty content has no tree.
    #[error("an empty content has no pieces root")]
    Empty,
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Root of a row padded to `width` (a power of two) with `pad`.
fn root_of_row(row: &[[u8; 32]], width: usize, pad: [u8; 32]) -> [u8; 32] {
    debug_assert!(width.is_power_of_two() && row.len() <= width);
    let mut level: Vec<[u8; 32]> = row.to_vec();
    let mut pad = pad;
    let mut width = width;
    while width > 1 {
        let next: Vec<[u8; 32]> = (0..width / 2)
            .take_while(|i| 2 * i < level.len())
            .map(|i| {
                let l = level[2 * i];
                let r = level.get(2 * i + 1).copied().unwrap_or(pad);
                node(&l, &r)
            })
            .collect();
        pad = node(&pad, &pad);
        level = next;
        width /= 2;
    }
    level.first().copied().unwrap_or(pad)
}

/// The leaf hashes of `data`'s blocks.
fn leaves(data: &[u8]) -> Vec<[u8; 32]> {
    data.chunks(BLOCK_SIZE)
        .map(|b| Sha256::digest(b).into())
        .collect()
}

/// The root of an all-zero subtree over `blocks` leaves (a power of two).
fn zero_subtree(blocks: usize) -> [u8; 32] {
    let mut h = [0u8; 32];
    let mut n = blocks;
    while n > 1 {
        h = node(&h, &h);
        n /= 2;
    }
    h
}

fn blocks_per_piece(piece_length: u64) -> Result<usize, PiecesError> {
    if piece_length < BLOCK_SIZE as u64 || !piece_length.is_power_of_two() {
        return Err(PiecesError::PieceLength(piece_length));
    }
    usize::try_from(piece_length / BLOCK_SIZE as u64)
        .map_err(|_| PiecesError::PieceLength(piece_length))
}

/// BEP 52's `pieces root` of a file holding `data` (at least one byte).
pub fn pieces_root(data: &[u8]) -> Result<[u8; 32], PiecesError> {
    if data.is_empty() {
        return Err(PiecesError::Empty);
    }
    let row = leaves(data);
    let width = row.len().next_power_of_two();
    Ok(root_of_row(&row, width, [0u8; 32]))
}

/// How many pieces of `piece_length` a content of `length` bytes has.
pub fn piece_count(length: u64, piece_length: u64) -> Result<u64, PiecesError> {
    blocks_per_piece(piece_length)?;
    Ok(length.div_ceil(piece_length))
}

/// The subtree root of one piece (`bytes`: the piece, the last one possibly short).
pub fn piece_hash(bytes: &[u8], piece_length: u64) -> Result<[u8; 32], PiecesError> {
    let per = blocks_per_piece(piece_length)?;
    Ok(root_of_row(&leaves(bytes), per, [0u8; 32]))
}

/// The piece layer of `data` for `piece_length`: one hash per piece.
pub fn piece_layer(data: &[u8], piece_length: u64) -> Result<Vec<[u8; 32]>, PiecesError> {
    let per = blocks_per_piece(piece_length)?;
    let step = per * BLOCK_SIZE;
    Ok(data
        .chunks(step)
        .map(|p| root_of_row(&leaves(p), per, [0u8; 32]))
        .collect())
}

/// Checks a piece layer for a content of `length` bytes against its committed `root`.
pub fn check_layer(
    layer: &[[u8; 32]],
    length: u64,
    piece_length: u64,
    root: &[u8; 32],
) -> Result<(), PiecesError> {
    let per = blocks_per_piece(piece_length)?;
    if length == 0 {
        return Err(PiecesError::Empty);
    }
    let expected = piece_count(length, piece_length)?;
    if layer.len() as u64 != expected {
        return Err(PiecesError::LayerLength {
            found: layer.len(),
            expected,
        });
    }
    // The file's leaf row is padded to a power of two; a piece layer pads its own row to the
    // width that reaches the same root, with all-zero subtrees. A file of one piece or less has
    // a root over fewer leaves than one piece: its layer's one hash covers a zero-padded piece,
    // so it is checked against the root of the real leaves' width instead.
    let blocks = length.div_ceil(BLOCK_SIZE as u64);
    let leaf_width = blocks.next_power_of_two();
    let got = if leaf_width < per as u64 {
        // One piece, narrower than a piece's subtree: its hash is the root after padding up.
        let mut r = *root;
        let mut w = leaf_width;
        let mut zero = zero_subtree(usize::try_from(leaf_width).unwrap_or(1));
        while w < per as u64 {
            r = node(&r, &zero);
            zero = node(&zero, &zero);
            w *= 2;
        }
        if layer[0] == r {
            return Ok(());
        }
        return Err(PiecesError::RootMismatch);
    } else {
        let width = usize::try_from(leaf_width / per as u64)
            .map_err(|_| PiecesError::PieceLength(piece_length))?;
        root_of_row(layer, width, zero_subtree(per))
    };
    if &got == root {
        Ok(())
    } else {
        Err(PiecesError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn a_small_file_is_its_one_leaf() {
        let d = data(1000);
        let leaf: [u8; 32] = Sha256::digest(&d).into();
        assert_eq!(pieces_root(&d).unwrap(), leaf);
        assert_eq!(pieces_root(&[]), Err(PiecesError::Empty));
    }

    #[test]
    fn layers_reproduce_the_root_at_every_length_and_piece_length() {
        for n in [1, 16_384, 16_385, 32_768, 50_000, 65_536, 100_000, 300_001] {
            let d = data(n);
            let root = pieces_root(&d).unwrap();
            for p in [16_384u64, 32_768, 65_536, 262_144] {
                let layer = piece_layer(&d, p).unwrap();
                assert_eq!(layer.len() as u64, piece_count(n as u64, p).unwrap());
                check_layer(&layer, n as u64, p, &root).unwrap_or_else(|e| panic!("{n} {p}: {e}"));
                for (i, piece) in d.chunks(p as usize).enumerate() {
                    assert_eq!(piece_hash(piece, p).unwrap(), layer[i]);
                }
                // A changed byte anywhere changes its piece's hash; a changed layer is refused.
                let mut bad = layer.clone();
                bad[layer.len() - 1][0] ^= 1;
                assert_eq!(
                    check_layer(&bad, n as u64, p, &root),
                    Err(PiecesError::RootMismatch)
                );
                assert!(matches!(
                    check_layer(&layer[1..], n as u64, p, &root),
                    Err(PiecesError::LayerLength { .. }) | Err(PiecesError::RootMismatch)
                ));
            }
        }
    }

    #[test]
    fn piece_lengths_are_checked() {
        for p in [0, 1, 8192, 16_383, 20_000, 3 << 14] {
            assert_eq!(piece_layer(b"x", p), Err(PiecesError::PieceLength(p)));
        }
    }
}
