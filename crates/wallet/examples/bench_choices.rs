//! What a viewer's recorded path costs (BENCHMARKS.md "Interactive films"): paths of 1 to 8 signed
//! choices (docs/cvp.md, "Interactive films"), each recorded as the gateway does, in one
//! transaction of the viewer's BIP86 wallet with an OP_RETURN output per choice
//! (`HdWallet::data_psbt`), signed and accepted by the devnet's mempool; against the baseline of
//! the same choices sent one transaction each. Sizes are the signed transactions' own, so the
//! figures are exact, not timed. `cargo run --release -p wallet --example bench_choices`.
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use bitcoin::secp256k1::{Keypair, Secp256k1, SecretKey};
use bitcoin::{Amount, FeeRate, Network};
use wallet::hd::{parse_mnemonic, Descriptors, HdWallet};

const WORDS: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

fn choice(branch_id: u32, key: &Keypair) -> bitcoin::ScriptBuf {
    let mut c = cvp::Choice {
        content_id: [0x5a; 32],
        branch_id,
        option: 1,
        signature: None,
    };
    c.sign(key);
    cvp::carrier::op_return_script(&cvp::Record::Choice(c).encode())
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let d = testkit::devnet::open(&dir.path().join("chain"));
    let desc =
        Descriptors::from_mnemonic(&parse_mnemonic(WORDS).unwrap(), Network::Regtest).unwrap();
    let mut w = HdWallet::open(&dir.path().join("w.sqlite"), &desc, Network::Regtest).unwrap();
    let to = w.receive_address().unwrap();
    d.faucet(&to.script_pubkey(), Amount::from_sat(10_000_000))
        .unwrap();
    d.mine(1, &d.faucet_script()).unwrap();
    let key =
        Keypair::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[3; 32]).unwrap());
    let rate = FeeRate::from_sat_per_vb(1).unwrap();
    let mut one = 0u64;
    println!(
        "| choices | one transaction: vB | fee at 1 sat/vB | one transaction each: vB | ratio |"
    );
    println!("|---|---|---|---|---|");
    for k in 1..=8u32 {
        w.sync(&d).unwrap();
        let scripts: Vec<_> = (0..k).map(|b| choice(b + 1, &key)).collect();
        let mut psbt = w.data_psbt(&scripts, rate).unwrap();
        let fee = psbt.fee().unwrap().to_sat();
        let tx = w.sign(&mut psbt).unwrap();
        let vb = tx.vsize() as u64;
        d.submit_tx(tx).unwrap();
        d.mine(1, &d.faucet_script()).unwrap();
        if k == 1 {
            one = vb;
        }
        let each = one * u64::from(k);
        println!(
            "| {k} | {vb} | {fee} sat | {each} | {:.2} |",
            vb as f64 / each as f64
        );
    }
}
