//! The bdk wallet on the devnet: sync (blocks, mempool, reorg, reload from SQLite), and a publish
//! funded by it whose only cost is fees (every leftover of the plan comes back to the wallet).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::{Amount, FeeRate, Network};
use cvp::{Carrier, ContentInfo};
use wallet::hd::{parse_mnemonic, Descriptors, HdWallet};
use wallet::journal::Journal;
use wallet::Layout;

const WORDS: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn descriptors() -> Descriptors {
    Descriptors::from_mnemonic(&parse_mnemonic(WORDS).unwrap(), Network::Regtest).unwrap()
}

#[test]
fn bip86_descriptors_match_the_reference_vector() {
    // BIP86's test vector (mainnet, m/86'/0'/0'/0/0) for the "abandon ... about" mnemonic.
    let d = Descriptors::from_mnemonic(&parse_mnemonic(WORDS).unwrap(), Network::Bitcoin).unwrap();
    let dir = testkit::tempdir();
    let w = HdWallet::open(&dir.path().join("w.sqlite"), &d, Network::Bitcoin).unwrap();
    assert_eq!(
        w.bdk()
            .peek_address(bdk_wallet::KeychainKind::External, 0)
            .to_string(),
        "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"
    );
    assert!(d.external.starts_with("tr([73c5da0a/86'/0'/0']xprv"));
}

#[test]
fn sync_follows_blocks_mempool_reorgs_and_reloads() {
    let dir = testkit::tempdir();
    let d = testkit::devnet::open(&dir.path().join("chain"));
    let db = dir.path().join("wallet.sqlite");
    let mut w = HdWallet::open(&db, &descriptors(), Network::Regtest).unwrap();
    let first = w.sync(&d).unwrap();
    assert_eq!(first.tip_height, d.tip().height);
    assert_eq!(w.balance().total(), Amount::ZERO);

    let to = w.receive_address().unwrap();
    d.faucet(&to.script_pubkey(), Amount::from_sat(1_234_567))
        .unwrap();
    // The faucet matures its coins first (101 blocks on a fresh devnet); the payment waits in the
    // mempool.
    let s = w.sync(&d).unwrap();
    assert_eq!((s.tip_height, s.mempool_txs), (d.tip().height, 1));
    let b = w.balance();
    assert_eq!(
        (b.confirmed, b.untrusted_pending),
        (Amount::ZERO, Amount::from_sat(1_234_567))
    );

    d.mine(1, &d.faucet_script()).unwrap();
    let s = w.sync(&d).unwrap();
    assert_eq!(s.blocks, 1);
    assert_eq!(w.balance().confirmed, Amount::from_sat(1_234_567));

    // Reload from SQLite: same balance, and the next sync starts where the last one stopped.
    drop(w);
    let mut w = HdWallet::open(&db, &descriptors(), Network::Regtest).unwrap();
    assert_eq!(w.balance().confirmed, Amount::from_sat(1_234_567));
    d.mine(2, &d.faucet_script()).unwrap();
    let s = w.sync(&d).unwrap();
    assert_eq!((s.from_height, s.blocks), (d.tip().height - 2, 2));

    // A reorg that orphans the funding block: the payment goes back to the mempool.
    let tip = d.tip().height;
    d.reorg(3).unwrap();
    let s = w.sync(&d).unwrap();
    assert_eq!(s.from_height, tip - 3, "unwound to the fork point");
    assert_eq!(s.blocks, 4);
    let b = w.balance();
    assert_eq!(b.confirmed, Amount::ZERO, "the funding block is gone");
    assert_eq!(b.untrusted_pending, Amount::from_sat(1_234_567));
    d.mine(1, &d.faucet_script()).unwrap();
    w.sync(&d).unwrap();
    assert_eq!(w.balance().confirmed, Amount::from_sat(1_234_567));

    // A wallet of another chain (different genesis) is refused, not silently mixed.
    let other = Descriptors::from_mnemonic(&parse_mnemonic(WORDS).unwrap(), Network::Signet);
    assert!(HdWallet::open(&db, &other.unwrap(), Network::Signet).is_err());
}

#[test]
fn wallet_funded_publish_costs_only_fees() {
    let dir = testkit::tempdir();
    let d = testkit::devnet::open(&dir.path().join("chain"));
    let mut w = HdWallet::open(
        &dir.path().join("wallet.sqlite"),
        &descriptors(),
        Network::Regtest,
    )
    .unwrap();
    // Two coins, so coin selection has something to choose.
    for sat in [30_000_000, 40_000_000] {
        let to = w.receive_address().unwrap();
        d.faucet(&to.script_pubkey(), Amount::from_sat(sat))
            .unwrap();
    }
    d.mine(1, &d.faucet_script()).unwrap();
    w.sync(&d).unwrap();
    let before = w.balance().total();
    assert_eq!(before, Amount::from_sat(70_000_000));

    let carrier = Carrier::Envelope;
    let layout = Layout::FanOut;
    let feerate = FeeRate::from_sat_per_vb(2).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let info = ContentInfo {
        title: Some("HD".into()),
        media_type: "video/x-cvpm".into(),
        duration_ms: None,
        poster: None,
        records: Vec::new(),
    };
    let what = wallet::funded::Publication {
        stream: &data,
        info,
        carrier,
        feerate,
        layout,
        commitment: None,
    };
    let (est, need) = what.cost().unwrap();
    assert_eq!(
        wallet::funded::shortfall(&w, need),
        None,
        "0.7 BTC pays for this publish"
    );
    let (signer, index) = w.plan_signer().unwrap();
    assert_eq!(
        signer.script(),
        w.bdk()
            .peek_address(bdk_wallet::KeychainKind::Internal, index)
            .script_pubkey(),
        "the plan key is a wallet address"
    );
    assert_eq!(
        w.plan_signer().unwrap().0.script(),
        signer.script(),
        "one publisher key for every publish (docs/cvp.md, Publishers)"
    );
    let (plan, done) = wallet::funded::publish_from_wallet(
        dir.path(),
        &d,
        &mut w,
        &signer,
        &what,
        None,
        || testkit::devnet::mine_one(&d),
        |_| {},
    )
    .unwrap();
    let journal = Journal::load(&done.journal_path).unwrap();
    let funding_fee = Amount::from_sat(journal.txs[0].fee_sat);
    let funding_tx = &journal.transactions().unwrap()[0];
    assert!(
        funding_tx
            .output
            .iter()
            .any(|o| o.script_pubkey == signer.script() && o.value == need),
        "the funding pays the plan key exactly what the plan needs"
    );
    assert_eq!(done.progress.sent, plan.txs.len() + 1);
    assert_eq!(journal.txs[0].role, wallet::plan::Role::Funding);
    assert_eq!(plan.fee().to_sat(), est.fee_sat, "the estimate is the plan");
    testkit::devnet::mine_one(&d).unwrap();
    w.sync(&d).unwrap();
    // Everything but the fees came back: the change, the final change and every 330 sat output.
    let after = w.balance();
    assert_eq!(
        after.total(),
        before - plan.fee() - funding_fee,
        "only fees were paid"
    );
    assert_eq!(after.confirmed, after.total());
    let mut ix = index::Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let c = snap.summaries().iter().next().unwrap();
    assert_eq!(
        snap.read_all(&c.id).unwrap(),
        data,
        "read back byte-identical"
    );
}
