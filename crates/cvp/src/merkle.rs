//! The segment Merkle tree: RFC 6962's Merkle Tree Hash over SHA-256.
//!
//! Leaves are `SHA-256(0x00 || payload)`, inner nodes `SHA-256(0x01 || left || right)`, and a tree of
//! n leaves splits at the largest power of two below n. Unlike Bitcoin's block tree, no node is
//! duplicated, so two different segment lists never share a root (CVE-2012-2459 cannot happen).

use sha2::{Digest, Sha256};

/// The hash of one segment's payload.
pub fn leaf_hash(payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(payload);
    h.finalize().into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root over leaf hashes, in segment order. The empty tree's root is `SHA-256("")`.
pub fn root_from_leaves(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            node_hash(
                &root_from_leaves(&leaves[..k]),
                &root_from_leaves(&leaves[k..]),
            )
        }
    }
}

/// The root over segment payloads, in order.
pub fn root<T: AsRef<[u8]>>(payloads: &[T]) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = payloads.iter().map(|p| leaf_hash(p.as_ref())).collect();
    root_from_leaves(&leaves)
}

/// The largest power of two strictly below `n` (n >= 2).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6962_shape() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let c = leaf_hash(b"c");
        assert_eq!(root(&[b"a"]), a);
        assert_eq!(root(&[b"a", b"b"]), node_hash(&a, &b));
        // Three leaves: ((a b) c), not ((a b) (c c)).
        assert_eq!(root(&[b"a", b"b", b"c"]), node_hash(&node_hash(&a, &b), &c));
        assert_ne!(root(&[b"a", b"b", b"c"]), root(&[b"a", b"b", b"c", b"c"]));
    }

    #[test]
    fn empty_tree_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(root::<&[u8]>(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
