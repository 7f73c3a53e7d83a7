//! The devnet's own coins: a fixed Taproot key that mining pays and the faucet spends from.
//! Regtest coins are worthless, so the key is derived from a public string.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::key::{Keypair, TapTweak};
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
use bitcoin::{ScriptBuf, Transaction, TxOut, Witness};

#[derive(Debug)]
pub(crate) struct FaucetKey {
    keypair: Keypair,
    pub(crate) script: ScriptBuf,
}

impl FaucetKey {
    pub(crate) fn new() -> FaucetKey {
        let secp = Secp256k1::new();
        let secret = sha256::Hash::hash(b"bitflix devnet faucet").to_byte_array();
        // Checked by the tests: this fixed hash is below the curve order and not zero.
        #[allow(clippy::expect_used, reason = "a constant input, valid as tested")]
        let sk =
            SecretKey::from_slice(&secret).expect("sha256 of the faucet string is a valid key");
        let keypair = Keypair::from_secret_key(&secp, &sk);
        let (xonly, _) = keypair.x_only_public_key();
        let script = ScriptBuf::new_p2tr(&secp, xonly, None);
        FaucetKey { keypair, script }
    }

    /// Sign every input (all spend this key's outputs) with a BIP341 key-path signature.
    pub(crate) fn sign(&self, tx: &mut Transaction, prevouts: &[TxOut]) {
        let secp = Secp256k1::new();
        let tweaked = self.keypair.tap_tweak(&secp, None).to_keypair();
        let mut sigs = Vec::with_capacity(tx.input.len());
        {
            let mut cache = SighashCache::new(&*tx);
            for i in 0..prevouts.len() {
                if let Ok(hash) = cache.taproot_key_spend_signature_hash(
                    i,
                    &Prevouts::All(prevouts),
                    TapSighashType::Default,
                ) {
                    let msg = Message::from_digest(hash.to_byte_array());
                    sigs.push(secp.sign_schnorr_no_aux_rand(&msg, &tweaked));
                }
            }
        }
        for (input, sig) in tx.input.iter_mut().zip(sigs) {
            input.witness = Witness::from_slice(&[sig.serialize()]);
        }
    }
}
