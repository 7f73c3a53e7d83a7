//! BDK's own Esplora client syncs a bdk_wallet from the devnet's Esplora API unchanged: it finds
//! a payment in the mempool, sees it confirm, and broadcasts a spend the devnet accepts.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bdk_esplora::{esplora_client, EsploraExt};
use bdk_wallet::{KeychainKind, SignOptions, Wallet};
use bitcoin::bip32::Xpriv;
use bitcoin::{Amount, FeeRate, Network};
use devnet::{Devnet, DevnetConfig};

fn master() -> Xpriv {
    Xpriv::new_master(Network::Regtest, &[3; 32]).unwrap()
}

fn wallet() -> Wallet {
    let xprv = master();
    Wallet::create(
        format!("tr({xprv}/86h/1h/0h/0/*)"),
        format!("tr({xprv}/86h/1h/0h/1/*)"),
    )
    .network(Network::Regtest)
    .create_wallet_no_persist()
    .unwrap()
}

fn full_scan(w: &mut Wallet, client: &esplora_client::BlockingClient) {
    let update = client
        .full_scan(w.start_full_scan().build(), 10, 2)
        .unwrap();
    w.apply_update(update).unwrap();
}

#[test]
fn bdk_esplora_syncs_a_wallet_from_the_devnet() {
    let dir = testkit::tempdir();
    let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    d.mine(101, &d.faucet_script()).unwrap();
    let url = testkit::devnet::serve(&d);
    let client = esplora_client::Builder::new(&url).build_blocking();
    let mut w = wallet();

    // Two payments to revealed addresses, one confirmed and one still in the mempool.
    let a0 = w.reveal_next_address(KeychainKind::External).address;
    let a1 = w.reveal_next_address(KeychainKind::External).address;
    d.faucet(&a0.script_pubkey(), Amount::from_sat(300_000))
        .unwrap();
    d.mine(1, &d.faucet_script()).unwrap();
    d.faucet(&a1.script_pubkey(), Amount::from_sat(200_000))
        .unwrap();
    full_scan(&mut w, &client);
    let b = w.balance();
    assert_eq!(b.confirmed, Amount::from_sat(300_000), "{b:?}");
    assert_eq!(b.untrusted_pending, Amount::from_sat(200_000), "{b:?}");
    assert_eq!(w.latest_checkpoint().height(), d.tip().height);
    assert_eq!(w.latest_checkpoint().hash(), d.tip().hash);

    // The mempool payment confirms.
    d.mine(1, &d.faucet_script()).unwrap();
    full_scan(&mut w, &client);
    assert_eq!(w.balance().confirmed, Amount::from_sat(500_000));

    // A spend built, signed by BDK and broadcast through the client is accepted and found again.
    let out = d.faucet_script();
    let mut builder = w.build_tx();
    builder
        .add_recipient(out, Amount::from_sat(100_000))
        .fee_rate(FeeRate::from_sat_per_vb(2).unwrap());
    let mut psbt = builder.finish().unwrap();
    // Software signing as BDK recommends: the PSBT's key origins lead the xprv to each key.
    psbt.sign(&master(), w.secp_ctx()).unwrap();
    assert!(w.finalize_psbt(&mut psbt, SignOptions::default()).unwrap());
    let tx = psbt.extract_tx().unwrap();
    client.broadcast(&tx).unwrap();
    assert!(d.mempool_txids().contains(&tx.compute_txid()));
    let info = client.get_tx_info(&tx.compute_txid()).unwrap().unwrap();
    assert_eq!(
        info.fee,
        w.calculate_fee(&tx).unwrap().to_sat(),
        "esplora's fee"
    );
    w.reveal_next_address(KeychainKind::Internal);
    let sync = client
        .sync(w.start_sync_with_revealed_spks().build(), 2)
        .unwrap();
    w.apply_update(sync).unwrap();
    let fee = w.calculate_fee(&tx).unwrap();
    assert_eq!(
        w.balance().total(),
        Amount::from_sat(400_000) - fee,
        "change comes back"
    );
}
