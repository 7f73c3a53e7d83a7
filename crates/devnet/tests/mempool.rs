//! Mempool package limits, block templates by feerate, and invalidating the tip.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::{Amount, OutPoint, TxOut};
use chain::{ChainBackend, TxStatus};
use testkit::devnet::{funded, key, open};

#[test]
fn a_chain_of_26_unconfirmed_transactions_is_too_long() {
    let dir = testkit::tempdir();
    let d = open(dir.path());
    let alice = key(20);
    let (mut op, mut out) = funded(&d, &alice.script, Amount::from_sat(1_000_000));
    for i in 0..26 {
        let next = TxOut {
            value: out.value - Amount::from_sat(1_000),
            script_pubkey: alice.script.clone(),
        };
        let tx = alice.spend(&[(op, out.clone())], vec![next.clone()]);
        let res = d.submit_tx(tx);
        if i < 25 {
            let txid = res.unwrap();
            op = OutPoint::new(txid, 0);
            out = next;
        } else {
            let err = res.unwrap_err().to_string();
            assert!(err.contains("too-long-mempool-chain"), "{err}");
        }
    }
    assert_eq!(d.mempool_txids().len(), 25);
    // All 25 fit in one block, parents before children (the kernel would refuse otherwise).
    d.mine(1, &d.faucet_script()).unwrap();
    assert!(d.mempool_txids().is_empty());
}

#[test]
fn blocks_take_the_highest_feerate_first() {
    let dir = testkit::tempdir();
    let d = open(dir.path());
    let alice = key(21);
    let (op_a, out_a) = funded(&d, &alice.script, Amount::from_sat(100_000));
    let (op_b, out_b) = funded(&d, &alice.script, Amount::from_sat(100_000));
    let pay = |sats| TxOut {
        value: Amount::from_sat(sats),
        script_pubkey: key(22).script,
    };
    let cheap = d
        .submit_tx(alice.spend(&[(op_a, out_a)], vec![pay(99_900)]))
        .unwrap();
    let rich = d
        .submit_tx(alice.spend(&[(op_b, out_b)], vec![pay(90_000)]))
        .unwrap();
    let hash = d.mine(1, &d.faucet_script()).unwrap()[0];
    let block = chain::decode_block(&ChainBackend::raw_block(&d, &hash).unwrap()).unwrap();
    let order: Vec<_> = block
        .txdata
        .iter()
        .skip(1)
        .map(|t| t.compute_txid())
        .collect();
    assert_eq!(
        order,
        vec![rich, cheap],
        "higher feerate first despite arriving later"
    );
}

#[test]
fn invalidate_tip_returns_its_transactions_to_the_mempool() {
    let dir = testkit::tempdir();
    let d = open(dir.path());
    let alice = key(23);
    let (op, out) = funded(&d, &alice.script, Amount::from_sat(100_000));
    let txid = d
        .submit_tx(alice.spend(
            &[(op, out)],
            vec![TxOut {
                value: Amount::from_sat(95_000),
                script_pubkey: key(24).script,
            }],
        ))
        .unwrap();
    d.mine(1, &d.faucet_script()).unwrap();
    let old = d.tip();
    let events = d.subscribe();
    d.invalidate_tip().unwrap();
    assert_ne!(d.block_hash(old.height), Some(old.hash));
    assert_eq!(d.tx_status(&txid).unwrap(), TxStatus::Mempool);
    let got: Vec<_> = events.try_iter().collect();
    assert!(
        got.iter().any(|e| matches!(e, chain::ChainEvent::Tip(_))),
        "subscribers hear of the new tip: {got:?}"
    );
}

#[test]
fn the_interval_miner_mines_in_the_background() {
    let dir = testkit::tempdir();
    let d = devnet::Devnet::open(
        dir.path(),
        devnet::DevnetConfig {
            block_interval: Some(std::time::Duration::from_millis(20)),
            ..Default::default()
        },
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while d.tip().height < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(d.tip().height >= 3, "tip {}", d.tip().height);
}

#[test]
fn spending_a_confirmed_spent_output_is_missingorspent() {
    let dir = testkit::tempdir();
    let d = open(dir.path());
    let alice = key(25);
    let (op, out) = funded(&d, &alice.script, Amount::from_sat(100_000));
    let pay = |sats| {
        vec![TxOut {
            value: Amount::from_sat(sats),
            script_pubkey: key(26).script,
        }]
    };
    let first = d
        .submit_tx(alice.spend(&[(op, out.clone())], pay(95_000)))
        .unwrap();
    d.mine(1, &d.faucet_script()).unwrap();
    let (spender, vin, status) = d.outspend(&op).unwrap();
    assert_eq!((spender, vin), (first, 0));
    assert!(matches!(status, TxStatus::Confirmed(_)));
    let err = d
        .submit_tx(alice.spend(&[(op, out)], pay(50_000)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad-txns-inputs-missingorspent"), "{err}");
}
