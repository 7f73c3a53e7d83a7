//! Helpers for the scanner tests: keys that sign Taproot spends, funded coins, hand-built lineages
//! and films published with the wallet's planner.
#![allow(dead_code, reason = "each test file uses a different part")]
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use bitcoin::key::{Keypair, TapTweak};
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, FeeRate, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Txid, Witness,
};
use cvp::{Carrier, ContentInfo};
use devnet::Devnet;

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

    /// Spend `coin` to `units` as OP_RETURN outputs (each unit given as its pushes) and the
    /// change back to this key, paying `fee`. Returns the transaction and its change coin.
    pub fn carry(
        &self,
        coin: &(OutPoint, TxOut),
        units: &[&[&[u8]]],
        fee: u64,
    ) -> (Transaction, (OutPoint, TxOut)) {
        let mut outputs: Vec<TxOut> = units
            .iter()
            .map(|pushes| TxOut {
                value: Amount::ZERO,
                script_pubkey: op_return(pushes),
            })
            .collect();
        let change = TxOut {
            value: coin.1.value - Amount::from_sat(fee),
            script_pubkey: self.script.clone(),
        };
        outputs.push(change.clone());
        let tx = self.spend(std::slice::from_ref(coin), outputs);
        let vout = tx.output.len() as u32 - 1;
        let next = (OutPoint::new(tx.compute_txid(), vout), change);
        (tx, next)
    }
}

/// `OP_RETURN <push>...`.
pub fn op_return(pushes: &[&[u8]]) -> ScriptBuf {
    let mut b = Builder::new().push_opcode(bitcoin::opcodes::all::OP_RETURN);
    for p in pushes {
        b = b.push_slice(PushBytesBuf::try_from(p.to_vec()).unwrap());
    }
    b.into_script()
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

/// Publish `data` with the wallet's planner from a coin of `seed`'s key, into the mempool
/// (mining between transactions when an unconfirmed chain is full). Returns the content id and
/// the funding coin.
pub fn publish(
    d: &Devnet,
    seed: u8,
    data: &[u8],
    title: &str,
    carrier: Carrier,
) -> (Txid, (OutPoint, TxOut)) {
    let signer = wallet::Signer::new(key(seed).keypair);
    let k = key(seed);
    assert_eq!(signer.script(), k.script);
    let coin = funded(d, &k, 5_000_000);
    let req = wallet::PlanRequest {
        stream: data,
        info: ContentInfo {
            title: Some(title.into()),
            media_type: "video/mp4".into(),
            duration_ms: None,
            poster: None,
        },
        carrier,
        feerate: FeeRate::from_sat_per_vb(1).unwrap(),
        funding: coin.clone(),
    };
    let p = wallet::plan(&req, &signer).unwrap();
    for t in &p.txs {
        if let Err(devnet::DevnetError::Rejected(r)) = d.submit_tx(t.tx.clone()) {
            assert!(r.contains("too-long-mempool-chain"), "{r}");
            d.mine(1, &d.faucet_script()).unwrap();
            d.submit_tx(t.tx.clone()).unwrap();
        }
    }
    (p.content_id, coin)
}
