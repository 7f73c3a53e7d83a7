//! The HD wallet through the CLI: a watch-only wallet plans a publish and exports its funding as a
//! PSBT, a separate bdk signer holding the keys signs it, `--resume --psbt-signed` finishes the
//! publish, and the film reads back byte-identical. And the pre-HD `publisher.key` keeps its coins.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bdk_wallet::{SignOptions, Wallet};
use bitcoin::{Amount, Network};
use chain::ChainBackend;
use std::path::Path;

fn bitflix(datadir: &Path, args: &[&str]) -> (bool, serde_json::Value, String) {
    testkit::bitflix!(datadir).json().run(args).parts()
}

#[test]
fn watch_only_exports_psbt_external_signer_signs_publish_completes() {
    let dir = testkit::tempdir();
    let hot = dir.path().join("hot");
    let watch = dir.path().join("watch");
    let chain_dir = dir.path().join("chain");
    let chain = format!("devnet:{}", chain_dir.display());

    // The key holder: a wallet created on first use; its public descriptors and its mnemonic.
    let (ok, desc, err) = bitflix(&hot, &["wallet", "descriptors", "--chain", &chain]);
    assert!(ok, "{err}");
    let ext = desc["external_descriptor"].as_str().unwrap().to_string();
    let int = desc["internal_descriptor"].as_str().unwrap().to_string();
    assert!(ext.contains("tpub") && !ext.contains("tprv"), "{ext}");
    let (ok, backup, err) = bitflix(&hot, &["wallet", "backup", "--chain", &chain]);
    assert!(ok, "{err}");
    let words = backup["mnemonic"].as_str().unwrap();
    assert_eq!(words.split_whitespace().count(), 12);

    // The watch-only copy.
    let (ok, imported, err) = bitflix(
        &watch,
        &[
            "wallet",
            "import-descriptor",
            "--external",
            &ext,
            "--internal",
            &int,
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(imported["watch_only"], true);
    let (ok, _, err) = bitflix(
        &watch,
        &[
            "wallet",
            "import-descriptor",
            "--external",
            &ext,
            "--internal",
            &int,
        ],
    );
    assert!(!ok && err.contains("already holds a wallet"), "{err}");

    let film: Vec<u8> = (0..120_000u32).map(|i| (i * 131 % 241) as u8).collect();
    let file = dir.path().join("film.cvpm");
    std::fs::write(&file, &film).unwrap();
    let psbt_path = dir.path().join("funding.psbt");
    let publish = [
        "publish",
        file.to_str().unwrap(),
        "--title",
        "Cold",
        "--carrier",
        "op-return",
        "--chain",
        &chain,
    ];
    // A watch-only wallet cannot sign: without --psbt it says what to do.
    let (ok, _, err) = bitflix(&watch, &publish);
    assert!(!ok && err.contains("watch-only"), "{err}");
    let mut with_psbt = publish.to_vec();
    with_psbt.extend(["--psbt", psbt_path.to_str().unwrap()]);
    let (ok, planned, err) = bitflix(&watch, &with_psbt);
    assert!(ok, "{err}");
    let planned = &planned[0];
    assert_eq!(planned["sent"], 0, "nothing broadcast before the signature");
    let content: bitcoin::Txid = planned["content_id"].as_str().unwrap().parse().unwrap();

    // Nothing moves until the signature: a new publish and a plain resume both refuse.
    let (ok, _, err) = bitflix(&watch, &with_psbt);
    assert!(!ok && err.contains("signed funding PSBT"), "{err}");
    let (ok, _, err) = bitflix(&watch, &["publish", "--resume", "--chain", &chain]);
    assert!(!ok && err.contains("signed funding PSBT"), "{err}");
    // The unsigned PSBT is refused as such.
    let (ok, _, err) = bitflix(
        &watch,
        &[
            "publish",
            "--resume",
            "--psbt-signed",
            psbt_path.to_str().unwrap(),
            "--chain",
            &chain,
        ],
    );
    assert!(!ok && err.contains("not fully signed"), "{err}");
    {
        let d = testkit::devnet::open(&chain_dir);
        assert_eq!(d.tx_status(&content).unwrap(), chain::TxStatus::Unknown);
    }

    // The external signer: a separate bdk wallet holding the private descriptors.
    let desc = wallet::hd::Descriptors::from_mnemonic(
        &wallet::hd::parse_mnemonic(words).unwrap(),
        Network::Regtest,
    )
    .unwrap();
    let signer = Wallet::create(desc.external.clone(), desc.internal.clone().unwrap())
        .network(Network::Regtest)
        .create_wallet_no_persist()
        .unwrap();
    let mut psbt: bitcoin::Psbt = std::fs::read_to_string(&psbt_path)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Taproot signatures commit to every spent amount, so the witness UTXO is enough (the signer
    // does not know the funding coins' parent transactions).
    let sign = SignOptions {
        try_finalize: false,
        trust_witness_utxo: true,
        ..Default::default()
    };
    let keys = [
        wallet::hd::signers_of(&desc.external).unwrap(),
        wallet::hd::signers_of(desc.internal.as_ref().unwrap()).unwrap(),
    ];
    assert!(
        !signer
            .sign_with_signers(&mut psbt, &[&keys[0], &keys[1]], sign)
            .unwrap(),
        "signed, not finalized"
    );
    assert!(psbt.inputs.iter().all(|i| i.tap_key_sig.is_some()));
    let signed_path = dir.path().join("funding.signed.psbt");
    std::fs::write(&signed_path, psbt.to_string()).unwrap();
    // `bitflix wallet sign-psbt` on the key holder's data directory signs the same inputs.
    let cli_signed = dir.path().join("funding.cli-signed.psbt");
    let (ok, s, err) = bitflix(
        &hot,
        &[
            "wallet",
            "sign-psbt",
            psbt_path.to_str().unwrap(),
            "--out",
            cli_signed.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(s["signed_inputs"], psbt.inputs.len());
    let (ok, _, err) = bitflix(
        &watch,
        &[
            "wallet",
            "sign-psbt",
            psbt_path.to_str().unwrap(),
            "--out",
            cli_signed.to_str().unwrap(),
        ],
    );
    assert!(!ok && err.contains("watch-only"), "{err}");

    let (ok, done, err) = bitflix(
        &watch,
        &[
            "publish",
            "--resume",
            "--psbt-signed",
            signed_path.to_str().unwrap(),
            "--chain",
            &chain,
        ],
    );
    assert!(ok, "{err}");
    let done = &done[0];
    assert_eq!(
        done["transactions"], done["sent"],
        "everything went out now"
    );
    assert_eq!(done["content_id"], planned["content_id"]);

    let d = testkit::devnet::open(&chain_dir);
    d.mine(1, &d.faucet_script()).unwrap();
    let mut ix = index::Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let contents: Vec<_> = snap.summaries().iter().collect();
    assert_eq!(contents.len(), 1);
    assert_eq!(
        snap.read_all(&contents[0].id).unwrap(),
        film,
        "byte-identical"
    );
}

#[test]
fn legacy_publisher_key_keeps_its_coins_and_sweeps_into_the_hd_wallet() {
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    let chain_dir = dir.path().join("chain");
    let chain = format!("devnet:{}", chain_dir.display());
    std::fs::create_dir_all(&data).unwrap();
    // A data directory from before the HD wallet: one key, with coins on it.
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let sk = bitcoin::secp256k1::SecretKey::from_slice(&[7; 32]).unwrap();
    std::fs::write(data.join("publisher.key"), hex::encode(sk.secret_bytes())).unwrap();
    let legacy = wallet::Signer::new(bitcoin::key::Keypair::from_secret_key(&secp, &sk));
    {
        let d = testkit::devnet::open(&chain_dir);
        d.faucet(&legacy.script(), Amount::from_sat(5_000_000))
            .unwrap();
        d.faucet(&legacy.script(), Amount::from_sat(2_000_000))
            .unwrap();
        d.mine(1, &d.faucet_script()).unwrap();
    }
    let (ok, b, err) = bitflix(&data, &["wallet", "balance", "--chain", &chain]);
    assert!(ok, "{err}");
    assert_eq!(b["legacy_sat"], 7_000_000);
    assert_eq!(b["confirmed_sat"], 0);
    let (ok, backup, err) = bitflix(&data, &["wallet", "backup", "--chain", &chain]);
    assert!(ok, "{err}");
    assert_eq!(backup["legacy_secret_key"], hex::encode(sk.secret_bytes()));

    let (ok, sweep, err) = bitflix(&data, &["wallet", "sweep-legacy", "--chain", &chain]);
    assert!(ok, "{err}");
    let txid: bitcoin::Txid = sweep["txid"].as_str().unwrap().parse().unwrap();
    let fee = {
        let d = testkit::devnet::open(&chain_dir);
        let (fee, _) = d.mempool_fee(&txid).unwrap();
        d.mine(1, &d.faucet_script()).unwrap();
        fee
    };
    assert!(
        fee < Amount::from_sat(1_000),
        "two inputs at 1 sat/vB: {fee}"
    );
    let (ok, b, err) = bitflix(&data, &["wallet", "balance", "--chain", &chain]);
    assert!(ok, "{err}");
    assert_eq!(b["legacy_sat"], 0);
    assert_eq!(b["confirmed_sat"], 7_000_000 - fee.to_sat());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("wallet.mnemonic"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("wallet-regtest.sqlite"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the wallet's history is private too");
    // The legacy key file is untouched (a backup may still point at it).
    assert_eq!(
        std::fs::read_to_string(data.join("publisher.key")).unwrap(),
        hex::encode(sk.secret_bytes())
    );
}
