//! The publisher's key: key-path spends of its P2TR change, script-path spends of envelopes.

use bitcoin::key::{Keypair, TapTweak};
use bitcoin::secp256k1::{All, Message, Secp256k1, XOnlyPublicKey};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
use bitcoin::taproot::TapLeafHash;
use bitcoin::{ScriptBuf, Transaction, TxOut};

/// Signs with one Taproot key (BIP86-style output: key path, no script tree).
#[derive(Debug, Clone)]
pub struct Signer {
    keypair: Keypair,
    /// The BIP341-tweaked key-path keypair, computed once.
    tweaked: Keypair,
    /// One context for every signature (creating one costs more than signing).
    secp: Secp256k1<All>,
    /// The P2TR script paying the key, computed once (the tweak is an EC multiplication, and a
    /// plan writes it into every change output: recomputing it was most of an estimate's time).
    script: ScriptBuf,
    /// When false, signatures are 64 zero bytes: same size, for estimates.
    real: bool,
}

impl Signer {
    /// A signer for `keypair`.
    pub fn new(keypair: Keypair) -> Signer {
        let secp = Secp256k1::new();
        let tweaked = keypair.tap_tweak(&secp, None).to_keypair();
        let script = ScriptBuf::new_p2tr(&secp, keypair.x_only_public_key().0, None);
        Signer {
            keypair,
            tweaked,
            secp,
            script,
            real: true,
        }
    }

    /// A signer that writes placeholder signatures of the right size (for estimates only).
    pub fn dummy() -> Signer {
        let secp = Secp256k1::new();
        let kp = Keypair::from_seckey_slice(&secp, &[1u8; 32])
            .unwrap_or_else(|_| Keypair::new(&secp, &mut bitcoin::secp256k1::rand::thread_rng()));
        let script = ScriptBuf::new_p2tr(&secp, kp.x_only_public_key().0, None);
        Signer {
            keypair: kp,
            tweaked: kp,
            secp,
            script,
            real: false,
        }
    }

    /// The x-only public key.
    pub fn xonly(&self) -> XOnlyPublicKey {
        self.keypair.x_only_public_key().0
    }

    /// The P2TR script paying this key (key path only).
    pub fn script(&self) -> ScriptBuf {
        self.script.clone()
    }

    /// A key-path signature for input `i` spending `prevouts`.
    pub(crate) fn key_spend(&self, tx: &Transaction, i: usize, prevouts: &[TxOut]) -> [u8; 64] {
        if !self.real {
            return [0u8; 64];
        }
        let sighash = SighashCache::new(tx).taproot_key_spend_signature_hash(
            i,
            &Prevouts::All(prevouts),
            TapSighashType::Default,
        );
        match sighash {
            Ok(h) => self
                .secp
                .sign_schnorr_no_aux_rand(&Message::from_digest(*h.as_ref()), &self.tweaked)
                .serialize(),
            Err(_) => [0u8; 64],
        }
    }

    /// A script-path signature for input `i` through `leaf`.
    pub(crate) fn script_spend(
        &self,
        tx: &Transaction,
        i: usize,
        prevouts: &[TxOut],
        leaf: TapLeafHash,
    ) -> [u8; 64] {
        if !self.real {
            return [0u8; 64];
        }
        let sighash = SighashCache::new(tx).taproot_script_spend_signature_hash(
            i,
            &Prevouts::All(prevouts),
            leaf,
            TapSighashType::Default,
        );
        match sighash {
            Ok(h) => self
                .secp
                .sign_schnorr_no_aux_rand(&Message::from_digest(*h.as_ref()), &self.keypair)
                .serialize(),
            Err(_) => [0u8; 64],
        }
    }
}
