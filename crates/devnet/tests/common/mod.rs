//! Helpers for the devnet tests: a throwaway chain and a wallet key that signs Taproot spends.
#![allow(dead_code, reason = "each test file uses a different part")]
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use bitcoin::key::{Keypair, TapTweak};
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
};
use devnet::{Devnet, DevnetConfig};

pub fn devnet(dir: &tempfile::TempDir) -> Devnet {
    Devnet::open(dir.path(), DevnetConfig::default()).unwrap()
}

pub struct Key {
    pub keypair: Keypair,
    pub script: ScriptBuf,
}

pub fn key(seed: u8) -> Key {
    let secp = Secp256k1::new();
    let keypair = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[seed; 32]).unwrap());
    let script = ScriptBuf::new_p2tr(&secp, keypair.x_only_public_key().0, None);
    Key { keypair, script }
}

impl Key {
    /// A transaction spending `inputs` (all paying this key) to `outputs`, signed.
    pub fn spend(&self, inputs: &[(OutPoint, TxOut)], outputs: Vec<TxOut>) -> Transaction {
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: inputs
                .iter()
                .map(|(op, _)| TxIn {
                    previous_output: *op,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    witness: Witness::new(),
                })
                .collect(),
            output: outputs,
        };
        let prevouts: Vec<TxOut> = inputs.iter().map(|(_, o)| o.clone()).collect();
        let secp = Secp256k1::new();
        let tweaked = self.keypair.tap_tweak(&secp, None).to_keypair();
        let sigs: Vec<_> = (0..inputs.len())
            .map(|i| {
                let h = SighashCache::new(&tx)
                    .taproot_key_spend_signature_hash(
                        i,
                        &Prevouts::All(&prevouts),
                        TapSighashType::Default,
                    )
                    .unwrap();
                secp.sign_schnorr_no_aux_rand(&Message::from_digest(*h.as_ref()), &tweaked)
            })
            .collect();
        for (inp, sig) in tx.input.iter_mut().zip(sigs) {
            inp.witness = Witness::from_slice(&[sig.serialize()]);
        }
        tx
    }
}

/// Fund `key` with `sats` from the faucet and confirm it; returns the coin.
pub fn funded(d: &Devnet, key: &Key, sats: u64) -> (OutPoint, TxOut) {
    let txid = d.faucet(&key.script, Amount::from_sat(sats)).unwrap();
    d.mine(1, &d.faucet_script()).unwrap();
    let tx = d.tx(&txid).unwrap().tx;
    let vout = tx
        .output
        .iter()
        .position(|o| o.script_pubkey == key.script)
        .unwrap();
    (OutPoint::new(txid, vout as u32), tx.output[vout].clone())
}

/// Serve the devnet's Esplora API on a free loopback port; returns its base URL.
pub fn serve(d: &Devnet) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let d = d.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            devnet::http::serve(d, listener, std::future::pending())
                .await
                .unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}
