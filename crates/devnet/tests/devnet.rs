//! The devnet is a real chain: the kernel validates every block and every script.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::hashes::Hash;
use bitcoin::{Amount, ScriptBuf, TxOut};
use chain::{ChainBackend, TxStatus};
use devnet::DevnetError;
use testkit::devnet::{funded, key, open};

#[test]
fn mined_blocks_are_validated_and_served_raw() {
    let dir = testkit::tempdir();
    let d = open(dir.path());
    assert_eq!(d.tip().height, 0, "a new devnet starts at regtest genesis");
    let hashes = d.mine(20, &key(1).script).unwrap();
    assert_eq!(d.tip().height, 20);
    let raw = ChainBackend::raw_block(&d, &hashes[19]).unwrap();
    let block = chain::decode_block(&raw).unwrap();
    assert_eq!(block.block_hash(), hashes[19]);
    assert!(block.check_merkle_root());
    assert!(block.check_witness_commitment());
    // Heights above 16 are a data push (below, OP_1..OP_16, which rust-bitcoin's parser skips).
    assert_eq!(block.bip34_block_height().unwrap(), 20);
}

#[test]
fn faucet_pays_and_taproot_spends_are_checked_by_the_kernel() {
    let dir = testkit::tempdir();
    let d = open(dir.path());
    let alice = key(2);
    let (op, out) = funded(&d, &alice.script, Amount::from_sat(100_000));
    let bob = key(3);
    let pay = alice.spend(
        &[(op, out.clone())],
        vec![TxOut {
            value: Amount::from_sat(99_000),
            script_pubkey: bob.script.clone(),
        }],
    );
    // A corrupted signature is refused by the kernel's script check.
    let mut forged = pay.clone();
    let mut sig = forged.input[0].witness.nth(0).unwrap().to_vec();
    sig[10] ^= 1;
    forged.input[0].witness = bitcoin::Witness::from_slice(&[sig]);
    let err = d.submit_tx(forged.clone()).unwrap_err().to_string();
    assert!(err.contains("mandatory-script-verify-flag-failed"), "{err}");
    // The valid one enters the mempool and is mined.
    let txid = d.submit_tx(pay).unwrap();
    assert_eq!(d.tx_status(&txid).unwrap(), TxStatus::Mempool);
    d.mine(1, &d.faucet_script()).unwrap();
    assert!(matches!(
        d.tx_status(&txid).unwrap(),
        TxStatus::Confirmed(_)
    ));
    assert_eq!(d.script_utxos(&bob.script).len(), 1);
}

#[test]
fn kernel_refuses_a_block_with_a_bad_schnorr_signature() {
    let dir = testkit::tempdir();
    let d = open(dir.path());
    let alice = key(4);
    let (op, out) = funded(&d, &alice.script, Amount::from_sat(50_000));
    let mut tx = alice.spend(
        &[(op, out)],
        vec![TxOut {
            value: Amount::from_sat(49_000),
            script_pubkey: key(5).script,
        }],
    );
    let mut sig = tx.input[0].witness.nth(0).unwrap().to_vec();
    sig[0] ^= 0x80;
    tx.input[0].witness = bitcoin::Witness::from_slice(&[sig]);
    let before = d.tip();
    let err = d.submit_block_with(vec![tx]).unwrap_err();
    assert!(matches!(err, DevnetError::BlockRejected(_)), "{err}");
    assert_eq!(d.tip(), before, "the tip did not move");
    // The chain still works afterwards.
    d.mine(1, &d.faucet_script()).unwrap();
    assert_eq!(d.tip().height, before.height + 1);
}

#[test]
fn mempool_refusals_use_core_reason_strings() {
    let dir = testkit::tempdir();
    let d = open(dir.path());
    let alice = key(6);
    let (op, out) = funded(&d, &alice.script, Amount::from_sat(200_000));
    let to = |sats| TxOut {
        value: Amount::from_sat(sats),
        script_pubkey: key(7).script,
    };
    let reason = |tx| d.submit_tx(tx).unwrap_err().to_string();
    assert!(reason(alice.spend(&[(op, out.clone())], vec![to(100)])).contains("dust"));
    assert!(reason(alice.spend(&[(op, out.clone())], vec![to(200_000)]))
        .contains("min relay fee not met"));
    assert!(reason(alice.spend(&[(op, out.clone())], vec![to(300_000)]))
        .contains("bad-txns-in-belowout"));
    // Over 100,000 OP_RETURN bytes also means over 400,000 WU: Core reports the size first.
    let big = TxOut {
        value: Amount::ZERO,
        script_pubkey: cvp::carrier::op_return_script(&[7u8; 100_001]),
    };
    assert!(reason(alice.spend(&[(op, out.clone())], vec![to(100_000), big])).contains("tx-size"));
    let odd = TxOut {
        value: Amount::from_sat(10_000),
        script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
    };
    assert!(
        reason(alice.spend(&[(op, out.clone())], vec![to(100_000), odd])).contains("scriptpubkey")
    );
    let missing = bitcoin::OutPoint::new(bitcoin::Txid::all_zeros(), 0);
    assert!(
        reason(alice.spend(&[(missing, out.clone())], vec![to(1000)]))
            .contains("bad-txns-inputs-missingorspent")
    );
    // Replace-by-fee: the same input at a higher fee replaces; at the same fee it does not.
    let first = d
        .submit_tx(alice.spend(&[(op, out.clone())], vec![to(190_000)]))
        .unwrap();
    assert!(
        reason(alice.spend(&[(op, out.clone())], vec![to(189_999)])).contains("insufficient fee")
    );
    let second = d
        .submit_tx(alice.spend(&[(op, out)], vec![to(180_000)]))
        .unwrap();
    assert_eq!(d.mempool_txids(), vec![second]);
    assert_eq!(d.tx_status(&first).unwrap(), TxStatus::Unknown);
}

#[test]
fn legacy_policy_allows_one_80_byte_op_return() {
    let dir = testkit::tempdir();
    let d = devnet::Devnet::open(
        dir.path(),
        devnet::DevnetConfig {
            policy: devnet::PolicyProfile::Legacy80,
            ..Default::default()
        },
    )
    .unwrap();
    let alice = key(8);
    let (op, out) = funded(&d, &alice.script, Amount::from_sat(100_000));
    let data = |n: usize| TxOut {
        value: Amount::ZERO,
        script_pubkey: cvp::carrier::op_return_script(&vec![1u8; n]),
    };
    let change = TxOut {
        value: Amount::from_sat(90_000),
        script_pubkey: alice.script.clone(),
    };
    let err = d
        .submit_tx(alice.spend(&[(op, out.clone())], vec![change.clone(), data(81)]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("datacarrier"), "{err}");
    let err = d
        .submit_tx(alice.spend(
            &[(op, out.clone())],
            vec![change.clone(), data(40), data(40)],
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("multi-op-return"), "{err}");
    d.submit_tx(alice.spend(&[(op, out)], vec![change, data(80)]))
        .unwrap();
}

#[test]
fn reorg_returns_transactions_to_the_mempool() {
    let dir = testkit::tempdir();
    let d = open(dir.path());
    let alice = key(9);
    let (op, out) = funded(&d, &alice.script, Amount::from_sat(100_000));
    let txid = d
        .submit_tx(alice.spend(
            &[(op, out)],
            vec![TxOut {
                value: Amount::from_sat(90_000),
                script_pubkey: key(10).script,
            }],
        ))
        .unwrap();
    d.mine(1, &d.faucet_script()).unwrap();
    let before = d.tip();
    assert!(matches!(
        d.tx_status(&txid).unwrap(),
        TxStatus::Confirmed(_)
    ));
    let branch = d.reorg(2).unwrap();
    let after = d.tip();
    assert_eq!(after.height, before.height + 1);
    assert_eq!(after.hash, *branch.last().unwrap());
    assert_ne!(
        d.block_hash(before.height).unwrap(),
        before.hash,
        "the old tip is orphaned"
    );
    assert_eq!(
        d.tx_status(&txid).unwrap(),
        TxStatus::Mempool,
        "the orphaned spend is back in the mempool"
    );
    d.mine(1, &d.faucet_script()).unwrap();
    assert!(matches!(
        d.tx_status(&txid).unwrap(),
        TxStatus::Confirmed(_)
    ));
}

#[test]
fn restart_resumes_the_same_chain_and_mempool() {
    let dir = testkit::tempdir();
    let alice = key(11);
    let (tip, pending) = {
        let d = open(dir.path());
        let (op, out) = funded(&d, &alice.script, Amount::from_sat(100_000));
        let pending = d
            .submit_tx(alice.spend(
                &[(op, out)],
                vec![TxOut {
                    value: Amount::from_sat(90_000),
                    script_pubkey: key(12).script,
                }],
            ))
            .unwrap();
        (d.tip(), pending)
    };
    let d = open(dir.path());
    assert_eq!(d.tip(), tip);
    assert_eq!(d.mempool_txids(), vec![pending]);
    d.mine(1, &d.faucet_script()).unwrap();
    assert!(matches!(
        d.tx_status(&pending).unwrap(),
        TxStatus::Confirmed(_)
    ));
}
