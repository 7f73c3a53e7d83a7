//! The raw block walker and its checks on any bytes: no panic; where rust-bitcoin decodes the
//! block, the walker finds the same transactions, and its verdicts on the Merkle root and the
//! witness commitment are rust-bitcoin's. The header's Merkle root is patched to the decoded
//! block's own, so the commitment check is reached, not only the root check.
#![no_main]
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use cvp::rawblock::{verify, walk, BlockError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(walked) = walk(data) else {
        return;
    };
    let mut raw = data.to_vec();
    let decoded: Result<bitcoin::Block, _> = deserialize(&raw);
    let Ok(block) = decoded else {
        // The walker is lenient only where consensus would refuse anyway: a block it accepts
        // must still fail the hash checks or re-serialize differently.
        return;
    };
    assert_eq!(walked.txs.len(), block.txdata.len());
    for (span, tx) in walked.txs.iter().zip(&block.txdata) {
        assert_eq!(&raw[span.range.clone()], &serialize(tx)[..]);
    }
    if let Some(root) = block.compute_merkle_root() {
        raw[36..68].copy_from_slice(root.as_byte_array());
    }
    let block: bitcoin::Block = deserialize(&raw).expect("only the root changed");
    let hash = block.block_hash();
    match verify(&raw, &walked, &hash) {
        Ok(()) => {
            assert!(block.check_merkle_root());
            let segwit = block.txdata.iter().any(|t| t.input.iter().any(|i| !i.witness.is_empty()));
            if segwit {
                assert!(block.check_witness_commitment());
            }
        }
        Err(BlockError::MerkleMismatch) => {} // a duplicated (mutated) list: refused on purpose
        Err(BlockError::WitnessMismatch) => assert!(
            !block.check_witness_commitment()
                || block.txdata.first().is_some_and(|cb| {
                    !cb.is_coinbase() || cb.input.first().is_none_or(|i| i.witness.len() != 1)
                }),
            "a commitment rust-bitcoin accepts"
        ),
        Err(e) => panic!("unexpected {e} for a block rust-bitcoin decodes"),
    }
});
