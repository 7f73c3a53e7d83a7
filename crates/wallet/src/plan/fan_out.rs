//! The fan-out layout, for every carrier: fan-out transactions create one coin per unit (for
//! envelopes, the commit outputs), then each unit's transaction spends its own coin.

use super::envelope::{envelope_for, Envelope};
use super::{fee_for, new_tx, Builder, PlanError, PlannedTx, Role, FANOUT_WIDTH, P2TR_DUST};
use bitcoin::taproot::LeafVersion;
use bitcoin::{Amount, OutPoint, ScriptBuf, TxOut, Witness};
use cvp::{Carrier, Record};

impl Builder<'_> {
    /// One spendable coin per unit, created by fan-out transactions; then the unit transactions.
    pub(super) fn fan_out(
        &mut self,
        carrier: Carrier,
        units: &[(Role, Vec<u8>)],
    ) -> Result<(), PlanError> {
        let key = self.signer.xonly();
        // What each unit's transaction needs: its coin's script and value, and how to spend it.
        struct Spec {
            role: Role,
            coin: TxOut,
            spend: Spend,
        }
        enum Spend {
            /// The OP_RETURN, and whether a 330 sat change goes back (cheaper than a dust-sized fee).
            OpReturn(ScriptBuf, bool),
            Reveal {
                script: ScriptBuf,
                control: Vec<u8>,
                fee: Amount,
            },
        }
        let mut specs = Vec::with_capacity(units.len());
        for (role, unit) in units {
            if carrier == Carrier::Envelope {
                let Envelope {
                    script,
                    control,
                    commit_spk,
                } = envelope_for(key, unit)?;
                let mut reveal = new_tx(
                    OutPoint::null(),
                    vec![TxOut {
                        value: P2TR_DUST,
                        script_pubkey: self.signer.script(),
                    }],
                );
                reveal.input[0].witness =
                    Witness::from_slice(&[&[0u8; 64][..], script.as_bytes(), &control]);
                let fee = fee_for(self.rate, reveal.vsize() as u64);
                let coin = TxOut {
                    value: fee + P2TR_DUST,
                    script_pubkey: commit_spk,
                };
                specs.push(Spec {
                    role: *role,
                    coin,
                    spend: Spend::Reveal {
                        script,
                        control,
                        fee,
                    },
                });
            } else {
                let data = cvp::carrier::op_return_script(unit);
                let mut tx = new_tx(
                    OutPoint::null(),
                    vec![TxOut {
                        value: Amount::ZERO,
                        script_pubkey: data.clone(),
                    }],
                );
                tx.input[0].witness = Witness::from_slice(&[[0u8; 64]]);
                // Without change the coin is the fee, and a coin is at least 330 sat. Below that fee,
                // a 330 sat change back to the publisher costs 43 vB instead of the difference.
                let fee = fee_for(self.rate, tx.vsize() as u64);
                let (value, change) = if fee >= P2TR_DUST {
                    (fee, false)
                } else {
                    tx.output.push(TxOut {
                        value: P2TR_DUST,
                        script_pubkey: self.signer.script(),
                    });
                    (fee_for(self.rate, tx.vsize() as u64) + P2TR_DUST, true)
                };
                specs.push(Spec {
                    role: *role,
                    coin: TxOut {
                        value,
                        script_pubkey: self.signer.script(),
                    },
                    spend: Spend::OpReturn(data, change),
                });
            }
        }
        let link = TxOut {
            value: Amount::ZERO,
            script_pubkey: cvp::carrier::op_return_script(&Record::Link.encode()),
        };
        let mut coins = Vec::with_capacity(specs.len());
        for (i, chunk) in specs.chunks(FANOUT_WIDTH).enumerate() {
            let mut outs = vec![link.clone()];
            outs.extend(chunk.iter().map(|s| s.coin.clone()));
            let at = self.push(Role::Fanout(i as u32), outs)?;
            let txid = self.txs[at].tx.compute_txid();
            coins.extend((1..=chunk.len() as u32).map(|vout| OutPoint::new(txid, vout)));
        }
        for (spec, op) in specs.into_iter().zip(coins) {
            let prevouts = std::slice::from_ref(&spec.coin);
            match spec.spend {
                Spend::OpReturn(data, change) => {
                    let mut outs = vec![TxOut {
                        value: Amount::ZERO,
                        script_pubkey: data,
                    }];
                    if change {
                        outs.push(TxOut {
                            value: P2TR_DUST,
                            script_pubkey: self.signer.script(),
                        });
                    }
                    let kept: Amount = outs.iter().map(|o| o.value).sum();
                    let mut tx = new_tx(op, outs);
                    let sig = self.signer.key_spend(&tx, 0, prevouts);
                    tx.input[0].witness = Witness::from_slice(&[sig]);
                    let vsize = tx.vsize() as u64;
                    self.txs.push(PlannedTx {
                        tx,
                        role: spec.role,
                        fee: spec.coin.value - kept,
                        vsize,
                    });
                }
                Spend::Reveal {
                    script,
                    control,
                    fee,
                } => {
                    let mut tx = new_tx(
                        op,
                        vec![TxOut {
                            value: P2TR_DUST,
                            script_pubkey: self.signer.script(),
                        }],
                    );
                    let leaf =
                        bitcoin::taproot::TapLeafHash::from_script(&script, LeafVersion::TapScript);
                    let sig = self.signer.script_spend(&tx, 0, prevouts, leaf);
                    tx.input[0].witness =
                        Witness::from_slice(&[&sig[..], script.as_bytes(), &control]);
                    let vsize = tx.vsize() as u64;
                    self.txs.push(PlannedTx {
                        tx,
                        role: spec.role,
                        fee,
                        vsize,
                    });
                }
            }
        }
        Ok(())
    }
}
