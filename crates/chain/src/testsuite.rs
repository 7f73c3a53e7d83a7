//! One suite of behaviour every backend must pass. Each backend's test calls [`run`] with a
//! [`Control`] that can mine and fund on that chain (the devnet in-process, or over HTTP).

use crate::{ChainBackend, ChainError, TxStatus};
use bitcoin::{Amount, BlockHash, ScriptBuf, Transaction, Txid};

/// What the suite needs besides the backend: a way to make blocks and transactions.
pub trait Control {
    /// Mine `n` blocks.
    fn mine(&self, n: u32) -> Vec<BlockHash>;
    /// Pay `amount` to `script` in a new mempool transaction; return it.
    fn fund(&self, script: &ScriptBuf, amount: Amount) -> Transaction;
}

/// Run every check; panics with the name of the first that fails.
pub fn run(backend: &dyn ChainBackend, control: &dyn Control) {
    let start = backend.tip().expect("tip");
    let mined = control.mine(2);
    let tip = backend.tip().expect("tip after mining");
    assert_eq!(
        tip.height,
        start.height + 2,
        "tip advances with mined blocks"
    );
    assert_eq!(
        tip.hash,
        *mined.last().expect("mined"),
        "tip hash is the last mined block"
    );
    assert_eq!(
        backend.block_hash(tip.height).expect("block_hash"),
        tip.hash
    );
    let raw = backend.raw_block(&tip.hash).expect("raw block");
    let block = crate::decode_block(&raw).expect("raw block decodes");
    assert_eq!(block.block_hash(), tip.hash, "raw block hashes to its id");
    assert!(block.check_merkle_root(), "merkle root");
    assert!(
        matches!(
            backend.block_hash(tip.height + 1000),
            Err(ChainError::NotFound(_))
        ),
        "height past the tip is NotFound"
    );

    let script =
        ScriptBuf::new_p2tr_tweaked(bitcoin::key::TweakedPublicKey::dangerous_assume_tweaked(
            bitcoin::XOnlyPublicKey::from_slice(&[0x79; 32]).unwrap_or_else(|_| {
                bitcoin::XOnlyPublicKey::from_slice(&[2; 32]).expect("a valid x-only key")
            }),
        ));
    let tx = control.fund(&script, Amount::from_sat(50_000));
    let txid = tx.compute_txid();
    assert_eq!(
        backend.tx_status(&txid).expect("status"),
        TxStatus::Mempool,
        "funded tx is in the mempool"
    );
    assert!(
        backend.mempool_txids().expect("mempool").contains(&txid),
        "mempool lists it"
    );
    assert_eq!(
        crate::decode_tx(&backend.raw_tx(&txid).expect("raw tx")).expect("decodes"),
        tx
    );
    let err = backend.broadcast(&tx);
    assert!(
        matches!(err, Err(ChainError::Rejected { .. })) || err.is_ok(),
        "a rebroadcast is accepted or refused with a reason"
    );
    let mut bad = tx.clone();
    bad.output[0].value = Amount::from_sat(21_000_000 * 100_000_000);
    assert!(
        matches!(backend.broadcast(&bad), Err(ChainError::Rejected { .. })),
        "an invalid tx is refused with a reason"
    );
    control.mine(1);
    assert!(
        matches!(
            backend.tx_status(&txid).expect("status"),
            TxStatus::Confirmed(_)
        ),
        "mined tx is confirmed"
    );
    let unknown = Txid::from_raw_hash(bitcoin::hashes::Hash::all_zeros());
    assert_eq!(
        backend.tx_status(&unknown).expect("status"),
        TxStatus::Unknown
    );
    assert!(
        matches!(backend.raw_tx(&unknown), Err(ChainError::NotFound(_))),
        "unknown tx is NotFound"
    );
    assert!(
        backend.fee_estimate(1).expect("fee").to_sat_per_kwu() >= 25,
        "fee estimate at least 0.1 sat/vB"
    );
}
