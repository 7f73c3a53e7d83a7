//! Signing and checking a viewer's choice (BIP340 Schnorr over a tagged hash).

use crate::record::{Choice, ChoiceSignature};
use crate::varint;
use bitcoin::hashes::{sha256t_hash_newtype, Hash, HashEngine};
use bitcoin::secp256k1::{schnorr, Keypair, Message, Secp256k1, XOnlyPublicKey};

/// The BIP340-style tag of the signed message.
pub const CHOICE_TAG: &[u8] = b"CVP/choice";

sha256t_hash_newtype! {
    /// The tag `CVP/choice` (its midstate computed at compile time).
    struct ChoiceTag = hash_bytes(CHOICE_TAG);

    /// The BIP340 tagged hash a choice signature signs.
    #[hash_newtype(forward)]
    struct ChoiceHash(_);
}

impl Choice {
    /// `SHA-256(SHA-256(tag) || SHA-256(tag) || content_id || varint(branch_id) || varint(option))`.
    pub fn message(&self) -> [u8; 32] {
        let mut v = Vec::with_capacity(20);
        varint::write(&mut v, u64::from(self.branch_id));
        varint::write(&mut v, u64::from(self.option));
        let mut h = ChoiceHash::engine();
        h.input(&self.content_id);
        h.input(&v);
        ChoiceHash::from_engine(h).to_byte_array()
    }

    /// Sign the choice with `keypair`, replacing any signature it had.
    pub fn sign(&mut self, keypair: &Keypair) {
        let secp = Secp256k1::signing_only();
        let msg = Message::from_digest(self.message());
        let sig = secp.sign_schnorr_no_aux_rand(&msg, keypair);
        let (pk, _) = keypair.x_only_public_key();
        self.signature = Some(ChoiceSignature {
            pubkey: pk.serialize(),
            sig: sig.serialize(),
        });
    }

    /// The key that signed, if the choice carries a valid signature; `None` if unsigned or invalid.
    pub fn verified_signer(&self) -> Option<XOnlyPublicKey> {
        let s = self.signature.as_ref()?;
        let pk = XOnlyPublicKey::from_slice(&s.pubkey).ok()?;
        let sig = schnorr::Signature::from_slice(&s.sig).ok()?;
        let msg = Message::from_digest(self.message());
        Secp256k1::verification_only()
            .verify_schnorr(&sig, &msg, &pk)
            .ok()?;
        Some(pk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::SecretKey;

    #[test]
    fn the_message_is_the_bip340_tagged_hash() {
        use sha2::{Digest, Sha256};
        let c = Choice {
            content_id: [0xaa; 32],
            branch_id: 300,
            option: 1,
            signature: None,
        };
        let tag = Sha256::digest(CHOICE_TAG);
        let mut h = Sha256::new();
        h.update(tag);
        h.update(tag);
        h.update(c.content_id);
        h.update([0xac, 0x02, 0x01]); // varint(300), varint(1)
        assert_eq!(c.message(), <[u8; 32]>::from(h.finalize()));
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        let secp = Secp256k1::new();
        let kp = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[7u8; 32]).unwrap());
        let mut c = Choice {
            content_id: [1; 32],
            branch_id: 2,
            option: 1,
            signature: None,
        };
        assert!(c.verified_signer().is_none());
        c.sign(&kp);
        assert_eq!(c.verified_signer(), Some(kp.x_only_public_key().0));
        c.option = 0;
        assert!(
            c.verified_signer().is_none(),
            "a signature covers the option"
        );
    }
}
