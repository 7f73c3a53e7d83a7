//! The transactions of a live stream (docs/cvp.md, "Live streams"), built one at a time as the
//! stream is produced, under the lineage rule:
//! - the header (an open header: no count, no root) spends the funding coin and keeps a change;
//! - a fan-out spends the lineage change (first input, so it is in the lineage; more funding coins
//!   may follow as further inputs), carries a `link`, and makes `count` equal coins for chunks and
//!   a new lineage change for the next fan-out (the refill);
//! - a chunk spends one fan-out coin: `op-return` / `op-return-80`, one transaction with the
//!   `live chunk` record and a change back when it is worth it; `envelope`, a commit (with a
//!   `link`) and its reveal, because the envelope's script commits to bytes not known when the
//!   fan-out was made;
//! - the `end` record (count and Merkle root) in an OP_RETURN, spending one more coin.
//!
//! A chunk transaction has only its fan-out as an unconfirmed ancestor (its commit too, for
//! envelopes), so as long as the fan-outs confirm, no unconfirmed chain grows with the stream.

use super::envelope::{envelope_for, Envelope};
use super::{fee_for, input, sat_per_kvb, PlanError, MIN_FEERATE_SAT_PER_KVB, P2TR_DUST};
use crate::Signer;
use bitcoin::absolute::LockTime;
use bitcoin::taproot::{LeafVersion, TapLeafHash};
use bitcoin::transaction::Version;
use bitcoin::{Amount, FeeRate, OutPoint, Transaction, TxOut, Witness};
use cvp::{Carrier, Header, Record};
use serde::{Deserialize, Serialize};

/// A coin and what it holds.
pub type Coin = (OutPoint, TxOut);

/// What a transaction does in a live stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", content = "index", rename_all = "snake_case")]
pub enum LiveRole {
    /// The wallet's transaction paying the plan key.
    Funding,
    /// The open header (its txid is the content id).
    Header,
    /// The n-th fan-out.
    Fanout(u32),
    /// The commit of an envelope chunk.
    Commit(u32),
    /// The `live chunk` record with this index.
    Chunk(u32),
    /// The `end` record.
    End,
}

/// One signed transaction.
#[derive(Debug, Clone)]
pub struct LiveTx {
    /// The transaction.
    pub tx: Transaction,
    /// Its role.
    pub role: LiveRole,
    /// Fee paid.
    pub fee: Amount,
    /// Virtual size.
    pub vsize: u64,
}

/// Builds the transactions of one live stream.
#[derive(Debug, Clone, Copy)]
pub struct LiveBuilder<'a> {
    signer: &'a Signer,
    carrier: Carrier,
    rate: FeeRate,
}

fn tx(inputs: &[Coin], output: Vec<TxOut>) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: inputs.iter().map(|c| input(c.0)).collect(),
        output,
    }
}

impl<'a> LiveBuilder<'a> {
    /// A builder; refuses a fee rate nodes do not relay.
    pub fn new(signer: &'a Signer, carrier: Carrier, rate: FeeRate) -> Result<Self, PlanError> {
        let r = sat_per_kvb(rate);
        if r < MIN_FEERATE_SAT_PER_KVB {
            return Err(PlanError::FeeRateTooLow(r));
        }
        Ok(LiveBuilder {
            signer,
            carrier,
            rate,
        })
    }

    /// The carrier.
    pub fn carrier(&self) -> Carrier {
        self.carrier
    }

    /// The fee rate.
    pub fn feerate(&self) -> FeeRate {
        self.rate
    }

    /// The stream's key.
    pub fn signer(&self) -> &Signer {
        self.signer
    }

    fn out(&self, value: Amount) -> TxOut {
        TxOut {
            value,
            script_pubkey: self.signer.script(),
        }
    }

    /// Spend `inputs` (key path) into `outputs`, plus a change of the rest when `change` (the
    /// last output); fails when the inputs do not pay for it.
    fn signed(
        &self,
        role: LiveRole,
        inputs: &[Coin],
        mut outputs: Vec<TxOut>,
        change: bool,
    ) -> Result<(LiveTx, Option<Coin>), PlanError> {
        let have: Amount = inputs.iter().map(|c| c.1.value).sum();
        if change {
            outputs.push(self.out(Amount::ZERO));
        }
        let mut t = tx(inputs, outputs);
        for i in &mut t.input {
            i.witness = Witness::from_slice(&[[0u8; 64]]);
        }
        let vsize = t.vsize() as u64;
        let fee = fee_for(self.rate, vsize);
        let kept: Amount = t.output.iter().map(|o| o.value).sum();
        let need = kept + fee + if change { P2TR_DUST } else { Amount::ZERO };
        if have < need {
            return Err(PlanError::InsufficientFunds {
                need: need.to_sat(),
                have: have.to_sat(),
            });
        }
        let last = t.output.len() - 1;
        if change {
            t.output[last].value = have - kept - fee;
        }
        let prevouts: Vec<TxOut> = inputs.iter().map(|c| c.1.clone()).collect();
        for i in 0..t.input.len() {
            let sig = self.signer.key_spend(&t, i, &prevouts);
            t.input[i].witness = Witness::from_slice(&[sig]);
        }
        let fee = have - t.output.iter().map(|o| o.value).sum::<Amount>();
        let coin = change.then(|| {
            (
                OutPoint::new(t.compute_txid(), last as u32),
                t.output[last].clone(),
            )
        });
        Ok((
            LiveTx {
                tx: t,
                role,
                fee,
                vsize,
            },
            coin,
        ))
    }

    /// The open header, spending `funding`; returns it and the lineage change.
    pub fn header(&self, funding: &Coin, header: &Header) -> Result<(LiveTx, Coin), PlanError> {
        let unit = Record::Header(header.clone()).encode();
        let max = if self.carrier == Carrier::OpReturn {
            self.carrier.max_unit()
        } else {
            80
        };
        if unit.len() > max {
            return Err(PlanError::HeaderTooLarge {
                len: unit.len(),
                max,
                carrier: self.carrier,
            });
        }
        let data = TxOut {
            value: Amount::ZERO,
            script_pubkey: cvp::carrier::op_return_script(&unit),
        };
        let (t, change) = self.signed(
            LiveRole::Header,
            std::slice::from_ref(funding),
            vec![data],
            true,
        )?;
        let change = change.ok_or(PlanError::Envelope("header without change".into()))?;
        Ok((t, change))
    }

    fn link(&self) -> TxOut {
        TxOut {
            value: Amount::ZERO,
            script_pubkey: cvp::carrier::op_return_script(&Record::Link.encode()),
        }
    }

    /// Fan-out `n`: `count` coins of `value` from the lineage coin `lineage` (first input) and any
    /// `more` funding coins; returns it, the coins and the new lineage change.
    pub fn fan_out(
        &self,
        n: u32,
        lineage: &Coin,
        more: &[Coin],
        count: usize,
        value: Amount,
    ) -> Result<(LiveTx, Vec<Coin>, Coin), PlanError> {
        let mut outs = vec![self.link()];
        outs.extend((0..count).map(|_| self.out(value)));
        let mut inputs = vec![lineage.clone()];
        inputs.extend_from_slice(more);
        let (t, change) = self.signed(LiveRole::Fanout(n), &inputs, outs, true)?;
        let change = change.ok_or(PlanError::Envelope("fan-out without change".into()))?;
        let txid = t.tx.compute_txid();
        let coins = (1..=count as u32)
            .map(|v| (OutPoint::new(txid, v), t.tx.output[v as usize].clone()))
            .collect();
        Ok((t, coins, change))
    }

    /// The transactions carrying one `live chunk` unit (the encoded record), spending `coin`.
    pub fn chunk(&self, index: u32, coin: &Coin, unit: &[u8]) -> Result<Vec<LiveTx>, PlanError> {
        let role = LiveRole::Chunk(index);
        if self.carrier != Carrier::Envelope {
            let data = TxOut {
                value: Amount::ZERO,
                script_pubkey: cvp::carrier::op_return_script(unit),
            };
            // A change back when the coin holds more than the fee and a dust output; else all fee.
            return match self.signed(role, std::slice::from_ref(coin), vec![data.clone()], true) {
                Ok((t, _)) => Ok(vec![t]),
                Err(_) => Ok(vec![
                    self.signed(role, std::slice::from_ref(coin), vec![data], false)?
                        .0,
                ]),
            };
        }
        let Envelope {
            script,
            control,
            commit_spk,
        } = envelope_for(self.signer.xonly(), unit)?;
        let mut reveal = tx(
            &[(OutPoint::null(), self.out(P2TR_DUST))],
            vec![self.out(P2TR_DUST)],
        );
        reveal.input[0].witness =
            Witness::from_slice(&[&[0u8; 64][..], script.as_bytes(), &control]);
        let reveal_vsize = reveal.vsize() as u64;
        let reveal_fee = fee_for(self.rate, reveal_vsize);
        let commit_out = TxOut {
            value: reveal_fee + P2TR_DUST,
            script_pubkey: commit_spk,
        };
        let (commit, _) = match self.signed(
            LiveRole::Commit(index),
            std::slice::from_ref(coin),
            vec![self.link(), commit_out.clone()],
            true,
        ) {
            Ok(x) => x,
            Err(_) => self.signed(
                LiveRole::Commit(index),
                std::slice::from_ref(coin),
                vec![self.link(), commit_out.clone()],
                false,
            )?,
        };
        let mut reveal = tx(
            &[(
                OutPoint::new(commit.tx.compute_txid(), 1),
                commit_out.clone(),
            )],
            vec![self.out(P2TR_DUST)],
        );
        let leaf = TapLeafHash::from_script(&script, LeafVersion::TapScript);
        let sig = self
            .signer
            .script_spend(&reveal, 0, std::slice::from_ref(&commit_out), leaf);
        reveal.input[0].witness = Witness::from_slice(&[&sig[..], script.as_bytes(), &control]);
        Ok(vec![
            commit,
            LiveTx {
                tx: reveal,
                role,
                fee: reveal_fee,
                vsize: reveal_vsize,
            },
        ])
    }

    /// The `end` record: the count and the Merkle root, in an OP_RETURN spending `coin`.
    pub fn end(&self, coin: &Coin, count: u32, root: [u8; 32]) -> Result<LiveTx, PlanError> {
        let unit = Record::End(cvp::End {
            segment_count: count,
            merkle_root: Some(root),
        })
        .encode();
        let data = TxOut {
            value: Amount::ZERO,
            script_pubkey: cvp::carrier::op_return_script(&unit),
        };
        match self.signed(
            LiveRole::End,
            std::slice::from_ref(coin),
            vec![data.clone()],
            true,
        ) {
            Ok((t, _)) => Ok(t),
            Err(_) => Ok(self
                .signed(LiveRole::End, std::slice::from_ref(coin), vec![data], false)?
                .0),
        }
    }

    /// The value of a fan-out coin that pays for a chunk unit of `unit_len` bytes (with its
    /// 330 sat change or reveal output): what each coin is made with.
    pub fn coin_value(&self, unit_len: usize) -> Result<Amount, PlanError> {
        let dummy = Signer::dummy();
        let b = LiveBuilder {
            signer: &dummy,
            ..*self
        };
        let rich = (
            OutPoint::null(),
            TxOut {
                value: Amount::from_sat(21_000_000 * 100_000_000),
                script_pubkey: dummy.script(),
            },
        );
        let txs = b.chunk(0, &rich, &vec![0u8; unit_len])?;
        let fees: Amount = txs.iter().map(|t| t.fee).sum();
        // The commit's value (envelope) is already in the reveal's fee and dust.
        let extra = if self.carrier == Carrier::Envelope {
            P2TR_DUST + P2TR_DUST
        } else {
            P2TR_DUST
        };
        Ok(fees + extra)
    }

    /// The largest `live chunk` unit a coin of `value` pays for (0 when not even an empty one).
    pub fn unit_capacity(&self, value: Amount) -> Result<usize, PlanError> {
        let max = self.carrier.max_unit();
        let (mut lo, mut hi) = (0usize, max);
        if self.coin_value(0)? > value {
            return Ok(0);
        }
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if self.coin_value(mid)? <= value {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(lo)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]
    use super::*;

    fn rich(s: &Signer) -> Coin {
        (
            OutPoint::null(),
            TxOut {
                value: Amount::from_sat(100_000_000),
                script_pubkey: s.script(),
            },
        )
    }

    #[test]
    fn a_coin_of_coin_value_pays_its_chunk_on_every_carrier() {
        let s = Signer::dummy();
        let rate = FeeRate::from_sat_per_vb_u32(1);
        for carrier in [Carrier::OpReturn80, Carrier::OpReturn, Carrier::Envelope] {
            let b = LiveBuilder::new(&s, carrier, rate).unwrap();
            let unit = if carrier == Carrier::OpReturn80 {
                80
            } else {
                6_000
            };
            let value = b.coin_value(unit).unwrap();
            assert!(b.unit_capacity(value).unwrap() >= unit);
            let coin = (rich(&s).0, b.out(value));
            let txs = b.chunk(3, &coin, &vec![1u8; unit]).unwrap();
            let fee: u64 = txs.iter().map(|t| t.fee.to_sat()).sum();
            let vsize: u64 = txs.iter().map(|t| t.vsize).sum();
            println!(
                "{carrier}: unit {unit} B, {} txs, {vsize} vB, {fee} sat, coin {value}",
                txs.len()
            );
            // Nothing is created from nothing, and the fee pays at least the rate.
            assert!(fee >= vsize);
            assert!(b.unit_capacity(value - Amount::from_sat(1)).unwrap() < unit);
        }
    }

    #[test]
    fn fan_out_descends_from_the_lineage_coin_and_refills_from_its_change() {
        let s = Signer::dummy();
        let b = LiveBuilder::new(&s, Carrier::Envelope, FeeRate::from_sat_per_vb_u32(1)).unwrap();
        let (f, coins, change) = b
            .fan_out(0, &rich(&s), &[], 10, Amount::from_sat(2_000))
            .unwrap();
        assert_eq!(f.tx.input[0].previous_output, rich(&s).0);
        assert_eq!(coins.len(), 10);
        let (g, _, _) = b
            .fan_out(1, &change, &[], 10, Amount::from_sat(2_000))
            .unwrap();
        assert_eq!(g.tx.input[0].previous_output, change.0);
        let txs = b.chunk(0, &coins[0], &[9u8; 100]).unwrap();
        assert_eq!(txs[0].tx.input[0].previous_output, coins[0].0);
        assert_eq!(
            txs[1].tx.input[0].previous_output.txid,
            txs[0].tx.compute_txid()
        );
        assert!(LiveBuilder::new(&s, Carrier::Envelope, FeeRate::from_sat_per_kwu(1)).is_err());
    }
}
