//! An in-process devnet for tests: open one, fund a key from its faucet, sign spends, serve its
//! Esplora API, mine when a broadcast waits for a block.

use bitcoin::key::{Keypair, TapTweak};
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness,
};
pub use devnet::{Devnet, DevnetConfig};
use std::path::Path;

/// Open (or create) a devnet in `dir` with the default configuration.
pub fn open(dir: &Path) -> Devnet {
    Devnet::open(dir, DevnetConfig::default())
        .unwrap_or_else(|e| panic!("opening the devnet in {}: {e}", dir.display()))
}

/// A Taproot key (key-path spends, no script tree) made from one repeated byte.
#[derive(Debug, Clone)]
pub struct Key {
    /// The untweaked key pair.
    pub keypair: Keypair,
    /// Its P2TR output script.
    pub script: ScriptBuf,
}

/// The key whose secret is 32 times `seed` (not zero).
pub fn key(seed: u8) -> Key {
    let secp = Secp256k1::new();
    let sk = SecretKey::from_slice(&[seed; 32]).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let keypair = Keypair::from_secret_key(&secp, &sk);
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
                    .unwrap_or_else(|e| panic!("sighash of input {i}: {e}"));
                secp.sign_schnorr_no_aux_rand(&Message::from_digest(*h.as_ref()), &tweaked)
            })
            .collect();
        for (inp, sig) in tx.input.iter_mut().zip(sigs) {
            inp.witness = Witness::from_slice(&[sig.serialize()]);
        }
        tx
    }
}

/// Pay `amount` to `script` from the faucet and confirm it (one block); returns the coin.
pub fn funded(d: &Devnet, script: &ScriptBuf, amount: Amount) -> (OutPoint, TxOut) {
    let txid = d
        .faucet(script, amount)
        .unwrap_or_else(|e| panic!("the faucet: {e}"));
    mine_one(d).unwrap_or_else(|e| panic!("mining: {e}"));
    let tx = d
        .tx(&txid)
        .unwrap_or_else(|| panic!("the faucet's {txid} is not on the devnet"))
        .tx;
    let vout = tx
        .output
        .iter()
        .position(|o| o.script_pubkey == *script)
        .unwrap_or_else(|| panic!("the faucet's {txid} does not pay the script"));
    (OutPoint::new(txid, vout as u32), tx.output[vout].clone())
}

/// Mine one block to the faucet: what a broadcast on the devnet calls when it waits for a block.
pub fn mine_one(d: &Devnet) -> Result<(), chain::ChainError> {
    d.mine(1, &d.faucet_script())
        .map(|_| ())
        .map_err(|e| chain::ChainError::Unavailable(e.to_string()))
}

/// Serve the devnet's Esplora API on a free loopback port in a background thread; its base URL.
pub fn serve(d: &Devnet) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let d = d.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("a runtime: {e}"));
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("binding a loopback port: {e}"));
            let addr = listener
                .local_addr()
                .unwrap_or_else(|e| panic!("the bound address: {e}"));
            let _ = tx.send(addr);
            if let Err(e) = devnet::http::serve(d, listener, std::future::pending()).await {
                panic!("serving the devnet: {e}");
            }
        });
    });
    let addr = rx
        .recv()
        .unwrap_or_else(|e| panic!("the devnet server did not start: {e}"));
    format!("http://{addr}")
}
