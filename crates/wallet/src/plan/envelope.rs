//! The envelope carrier on a chain of changes: a commit (with a link record) and its reveal per
//! unit, the header revealed first.

use super::{fee_for, new_tx, Builder, PlanError, PlannedTx, Role, P2TR_DUST};
use bitcoin::secp256k1::Secp256k1;
use bitcoin::taproot::{LeafVersion, TaprootBuilder};
use bitcoin::{Amount, OutPoint, ScriptBuf, TxOut, Witness};
use cvp::Record;

/// An envelope for one unit: its tapscript, its control block, and the commit output's script.
pub(super) struct Envelope {
    pub(super) script: ScriptBuf,
    pub(super) control: Vec<u8>,
    pub(super) commit_spk: ScriptBuf,
}

pub(super) fn envelope_for(
    key: bitcoin::XOnlyPublicKey,
    unit: &[u8],
) -> Result<Envelope, PlanError> {
    let secp = Secp256k1::verification_only();
    let script = cvp::carrier::envelope_script(&key, unit);
    let spend = TaprootBuilder::new()
        .add_leaf(0, script.clone())
        .map_err(|e| PlanError::Envelope(e.to_string()))?
        .finalize(&secp, key)
        .map_err(|_| PlanError::Envelope("unfinished tree".into()))?;
    let control = spend
        .control_block(&(script.clone(), LeafVersion::TapScript))
        .ok_or_else(|| PlanError::Envelope("no control block for the leaf".into()))?
        .serialize();
    Ok(Envelope {
        commit_spk: ScriptBuf::new_p2tr_tweaked(spend.output_key()),
        script,
        control,
    })
}

impl Builder<'_> {
    /// A commit (with a link record when `link`) and its reveal. For the header (no link) the
    /// reveal keeps the change, so later transactions descend from it.
    pub(super) fn envelope(
        &mut self,
        role: Role,
        unit: &[u8],
        link: bool,
    ) -> Result<(), PlanError> {
        let Envelope {
            script,
            control,
            commit_spk,
        } = envelope_for(self.signer.xonly(), unit)?;
        // Size the reveal with a placeholder signature (always 64 bytes).
        let reveal_outputs = |value| {
            vec![TxOut {
                value,
                script_pubkey: self.signer.script(),
            }]
        };
        let mut reveal = new_tx(OutPoint::null(), reveal_outputs(P2TR_DUST));
        reveal.input[0].witness =
            Witness::from_slice(&[&[0u8; 64][..], script.as_bytes(), &control]);
        let reveal_vsize = reveal.vsize() as u64;
        let reveal_fee = fee_for(self.rate, reveal_vsize);
        let is_header = role == Role::Header;
        // The header's reveal carries the remaining funds onward; a segment's reveal keeps dust.
        let commit_value = if is_header {
            Amount::ZERO
        } else {
            reveal_fee + P2TR_DUST
        };
        let mut outs = Vec::new();
        if link {
            outs.push(TxOut {
                value: Amount::ZERO,
                script_pubkey: cvp::carrier::op_return_script(&Record::Link.encode()),
            });
        }
        let commit_vout = outs.len() as u32;
        outs.push(TxOut {
            value: commit_value,
            script_pubkey: commit_spk.clone(),
        });
        let commit_role = Role::Commit(match role {
            Role::Segment(i) | Role::Hashes(i) | Role::Record(i) | Role::Reveal(i) => i,
            _ => 0,
        });
        if is_header {
            // Everything goes into the envelope output: no change, the reveal continues the chain.
            let mut tx = new_tx(self.coin.0, outs);
            tx.input[0].witness = Witness::from_slice(&[[0u8; 64]]);
            let vsize = tx.vsize() as u64;
            let fee = fee_for(self.rate, vsize);
            let need = fee + reveal_fee + P2TR_DUST;
            if self.coin.1.value < need {
                return Err(self.short(need));
            }
            tx.output[0].value = self.coin.1.value - fee;
            let sig = self
                .signer
                .key_spend(&tx, 0, std::slice::from_ref(&self.coin.1));
            tx.input[0].witness = Witness::from_slice(&[sig]);
            self.coin = (OutPoint::new(tx.compute_txid(), 0), tx.output[0].clone());
            self.txs.push(PlannedTx {
                tx,
                role: commit_role,
                fee,
                vsize,
            });
        } else {
            self.push(commit_role, outs)?;
        }
        // The commit is the transaction just added (by push, or directly for the header).
        let commit = self.txs[self.txs.len() - 1].tx.clone();
        let commit_out = commit.output[commit_vout as usize].clone();
        let value = commit_out.value - reveal_fee;
        let mut reveal = new_tx(
            OutPoint::new(commit.compute_txid(), commit_vout),
            reveal_outputs(value),
        );
        let leaf = bitcoin::taproot::TapLeafHash::from_script(&script, LeafVersion::TapScript);
        let sig = self
            .signer
            .script_spend(&reveal, 0, std::slice::from_ref(&commit_out), leaf);
        reveal.input[0].witness = Witness::from_slice(&[&sig[..], script.as_bytes(), &control]);
        let txid = reveal.compute_txid();
        if is_header {
            self.coin = (OutPoint::new(txid, 0), reveal.output[0].clone());
        }
        self.txs.push(PlannedTx {
            tx: reveal,
            role,
            fee: reveal_fee,
            vsize: reveal_vsize,
        });
        Ok(())
    }
}
