//! Laying out and signing every transaction of a publish.
//!
//! Layout (docs/cvp.md, "Authenticity"): each transaction's first input spends the previous one's
//! change, so every record descends from the header and forgeries cannot attach.
//! - `op-return-80` / `op-return`: header transaction, then one transaction per segment, each with
//!   one OP_RETURN output and a change output.
//! - `envelope`: commit/reveal pairs. The header is revealed first (its reveal's txid is the
//!   content id); every later commit carries a `link` record and creates the envelope output,
//!   whose reveal returns 330 sat to the publisher.
//!
//! The chain of changes grows one transaction at a time, so at most 24 can wait unconfirmed
//! (Core's 25-ancestor limit); the broadcaster waits for a block when it reaches that.

use crate::Signer;
use bitcoin::secp256k1::Secp256k1;
use bitcoin::taproot::{LeafVersion, TaprootBuilder};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, FeeRate, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Txid, Witness,
};
use cvp::{Carrier, ContentInfo, Record};
use serde::{Deserialize, Serialize};

/// Smallest P2TR output value that is not dust.
pub const P2TR_DUST: Amount = Amount::from_sat(330);
/// The minimum relay fee rate: 0.1 sat/vB.
pub const MIN_FEERATE_SAT_PER_KVB: u64 = 100;

/// Why a publish cannot be planned. Each is found before any money moves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// Fee rate below what nodes relay.
    #[error("fee rate {0} sat/kvB is below the minimum relay fee of 100 sat/kvB (0.1 sat/vB)")]
    FeeRateTooLow(u64),
    /// The stream cannot be cut for the carrier.
    #[error("{0}")]
    Chunk(#[from] cvp::chunk::ChunkError),
    /// The header does not fit the carrier.
    #[error("the header is {len} bytes but the {carrier} carrier holds {max}: shorten the title")]
    HeaderTooLarge {
        /// Header unit length.
        len: usize,
        /// Largest unit.
        max: usize,
        /// The carrier.
        carrier: Carrier,
    },
    /// The envelope's Taproot tree could not be built (a bug: one leaf always fits).
    #[error("cannot build the envelope's taproot tree: {0}")]
    Envelope(String),
    /// Not enough money.
    #[error("insufficient funds: this publish needs {need} sat, the funding coin has {have} sat")]
    InsufficientFunds {
        /// What the whole publish costs (fees and outputs).
        need: u64,
        /// What the funding coin holds.
        have: u64,
    },
}

/// What to publish and how.
#[derive(Debug, Clone)]
pub struct PlanRequest<'a> {
    /// The stream (already encoded).
    pub stream: &'a [u8],
    /// Title, media type, duration.
    pub info: ContentInfo,
    /// The carrier.
    pub carrier: Carrier,
    /// Fee rate for every transaction.
    pub feerate: FeeRate,
    /// The coin that pays for everything.
    pub funding: (OutPoint, TxOut),
}

/// What a transaction does in the publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", content = "index", rename_all = "snake_case")]
pub enum Role {
    /// Carries the header (its txid is the content id).
    Header,
    /// Carries a segment.
    Segment(u32),
    /// Carries leaf hashes starting at this segment index.
    Hashes(u32),
    /// Creates an envelope output (and carries a link).
    Commit(u32),
    /// Reveals a segment envelope.
    Reveal(u32),
    /// Splits the funds into one coin per segment (and carries a link).
    Fanout(u32),
    /// Pays the plan's cost from the wallet's coins to the plan key (built by bdk).
    Funding,
}

/// How the transactions hang together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// Header, then fan-out transactions of up to [`FANOUT_WIDTH`] coins (for envelopes the coins are
    /// the commit outputs), then one transaction per segment spending its own coin, without
    /// change. Once the fan-outs confirm, every segment can be in the mempool at once.
    #[default]
    FanOut,
    /// Each transaction spends the previous one's change: simplest, but at most 24 unconfirmed at a
    /// time (one at a time for ~100 kvB transactions, under Core's 101 kvB ancestor limit).
    Chain,
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fan-out" => Ok(Layout::FanOut),
            "chain" => Ok(Layout::Chain),
            other => Err(format!(
                "unknown layout '{other}': expected fan-out or chain"
            )),
        }
    }
}

/// Coins per fan-out transaction: about 43 kvB, so two chained fan-outs stay under 101 kvB.
pub const FANOUT_WIDTH: usize = 1000;

/// One signed transaction of the plan.
#[derive(Debug, Clone)]
pub struct PlannedTx {
    /// The transaction, signed.
    pub tx: Transaction,
    /// Its role.
    pub role: Role,
    /// Fee it pays.
    pub fee: Amount,
    /// Virtual size.
    pub vsize: u64,
}

/// Every transaction of a publish, in broadcast order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The content id (txid of the header transaction).
    pub content_id: Txid,
    /// The transactions.
    pub txs: Vec<PlannedTx>,
    /// Payload bytes (the stream).
    pub payload_bytes: u64,
    /// Record bytes that are not payload (magic, type, indexes, header).
    pub framing_bytes: u64,
    /// The final change, back to the publisher.
    pub change: (OutPoint, TxOut),
}

impl Plan {
    /// Total fees.
    pub fn fee(&self) -> Amount {
        self.txs.iter().map(|t| t.fee).sum()
    }

    /// Total virtual bytes.
    pub fn vbytes(&self) -> u64 {
        self.txs.iter().map(|t| t.vsize).sum()
    }

    /// Value left in 330 sat outputs of unit transactions (envelope reveals, fan-out change):
    /// still the publisher's, recoverable later.
    pub fn locked(&self) -> Amount {
        self.txs
            .iter()
            .filter(|t| matches!(t.role, Role::Segment(_) | Role::Hashes(_)))
            .flat_map(|t| t.tx.output.iter())
            .filter(|o| o.value == P2TR_DUST)
            .map(|o| o.value)
            .sum()
    }
}

/// An envelope for one unit: its tapscript, its control block, and the commit output's script.
struct Envelope {
    script: ScriptBuf,
    control: Vec<u8>,
    commit_spk: ScriptBuf,
}

fn envelope_for(key: bitcoin::XOnlyPublicKey, unit: &[u8]) -> Result<Envelope, PlanError> {
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

fn sat_per_kvb(rate: FeeRate) -> u64 {
    rate.to_sat_per_kwu() * 4
}

fn fee_for(rate: FeeRate, vsize: u64) -> Amount {
    Amount::from_sat((sat_per_kvb(rate) * vsize).div_ceil(1000))
}

fn input(prev: OutPoint) -> TxIn {
    TxIn {
        previous_output: prev,
        script_sig: ScriptBuf::new(),
        sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
        witness: Witness::new(),
    }
}

fn new_tx(prev: OutPoint, outputs: Vec<TxOut>) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![input(prev)],
        output: outputs,
    }
}

/// Plan and sign a publish. With [`Signer::dummy`] the sizes and fees are exact and nothing is
/// spendable: that is how estimates are made. When funds are short, the error says what the whole
/// publish needs.
pub fn plan(req: &PlanRequest<'_>, signer: &Signer) -> Result<Plan, PlanError> {
    plan_layout(req, signer, Layout::Chain)
}

/// [`plan`] with a chosen [`Layout`].
pub fn plan_layout(
    req: &PlanRequest<'_>,
    signer: &Signer,
    layout: Layout,
) -> Result<Plan, PlanError> {
    match plan_inner(req, signer, layout) {
        Err(PlanError::InsufficientFunds { have, .. }) => {
            let mut rich = req.clone();
            rich.funding.1.value = Amount::MAX_MONEY;
            let full = plan_inner(&rich, &Signer::dummy(), layout)?;
            let need = full.fee() + full.locked() + P2TR_DUST;
            Err(PlanError::InsufficientFunds {
                need: need.to_sat(),
                have,
            })
        }
        other => other,
    }
}

fn plan_inner(req: &PlanRequest<'_>, signer: &Signer, layout: Layout) -> Result<Plan, PlanError> {
    let rate = sat_per_kvb(req.feerate);
    if rate < MIN_FEERATE_SAT_PER_KVB {
        return Err(PlanError::FeeRateTooLow(rate));
    }
    let prepared = cvp::chunk::prepare(req.stream, req.info.clone(), req.carrier.max_unit())?;
    let header_unit = Record::Header(prepared.header.clone()).encode();
    let header_max = if req.carrier == Carrier::OpReturn {
        req.carrier.max_unit()
    } else {
        80
    };
    if req.carrier != Carrier::Envelope && header_unit.len() > header_max {
        return Err(PlanError::HeaderTooLarge {
            len: header_unit.len(),
            max: header_max,
            carrier: req.carrier,
        });
    }
    let mut b = Builder {
        signer,
        rate: req.feerate,
        coin: req.funding.clone(),
        txs: Vec::new(),
        have: req.funding.1.value,
    };
    let mut units: Vec<(Role, Vec<u8>)> = prepared
        .hashes
        .iter()
        .map(|h| {
            (
                Role::Hashes(h.first_index),
                Record::SegmentHashes(h.clone()).encode(),
            )
        })
        .collect();
    units.extend(
        prepared
            .segments
            .iter()
            .map(|s| (Role::Segment(s.index), Record::Segment(s.clone()).encode())),
    );
    let framing = header_unit.len() as u64 + units.iter().map(|(_, u)| u.len() as u64).sum::<u64>()
        - req.stream.len() as u64;
    match (layout, req.carrier) {
        (Layout::Chain, Carrier::OpReturn80 | Carrier::OpReturn) => {
            b.op_return(Role::Header, &header_unit)?;
            for (role, unit) in &units {
                b.op_return(*role, unit)?;
            }
        }
        (Layout::Chain, Carrier::Envelope) => {
            b.envelope(Role::Header, &header_unit, false)?;
            for (role, unit) in &units {
                b.envelope(*role, unit, true)?;
            }
        }
        (Layout::FanOut, carrier) => {
            if carrier == Carrier::Envelope {
                b.envelope(Role::Header, &header_unit, false)?;
            } else {
                b.op_return(Role::Header, &header_unit)?;
            }
            b.fan_out(carrier, &units)?;
        }
    }
    let content_id = b
        .txs
        .iter()
        .find(|t| t.role == Role::Header)
        .map(|t| t.tx.compute_txid())
        .unwrap_or(req.funding.0.txid);
    Ok(Plan {
        content_id,
        txs: b.txs,
        payload_bytes: req.stream.len() as u64,
        framing_bytes: framing,
        change: b.coin,
    })
}

struct Builder<'a> {
    signer: &'a Signer,
    rate: FeeRate,
    coin: (OutPoint, TxOut),
    txs: Vec<PlannedTx>,
    have: Amount,
}

impl Builder<'_> {
    fn short(&self, need: Amount) -> PlanError {
        PlanError::InsufficientFunds {
            need: need.to_sat(),
            have: self.have.to_sat(),
        }
    }

    /// Spend the current coin into `outputs` + change; sign; make the change the current coin.
    fn push(&mut self, role: Role, mut outputs: Vec<TxOut>) -> Result<usize, PlanError> {
        let change_script = self.signer.script();
        outputs.push(TxOut {
            value: Amount::ZERO,
            script_pubkey: change_script,
        });
        let mut tx = new_tx(self.coin.0, outputs);
        tx.input[0].witness = Witness::from_slice(&[[0u8; 64]]);
        let vsize = tx.vsize() as u64;
        let fee = fee_for(self.rate, vsize);
        let spent: Amount = tx.output.iter().map(|o| o.value).sum::<Amount>() + fee + P2TR_DUST;
        if self.coin.1.value < spent {
            return Err(self.short(spent));
        }
        let last = tx.output.len() - 1;
        tx.output[last].value = self.coin.1.value - (spent - P2TR_DUST);
        let sig = self
            .signer
            .key_spend(&tx, 0, std::slice::from_ref(&self.coin.1));
        tx.input[0].witness = Witness::from_slice(&[sig]);
        let txid = tx.compute_txid();
        self.coin = (OutPoint::new(txid, last as u32), tx.output[last].clone());
        self.txs.push(PlannedTx {
            tx,
            role,
            fee,
            vsize,
        });
        Ok(self.txs.len() - 1)
    }

    fn op_return(&mut self, role: Role, unit: &[u8]) -> Result<(), PlanError> {
        self.push(
            role,
            vec![TxOut {
                value: Amount::ZERO,
                script_pubkey: cvp::carrier::op_return_script(unit),
            }],
        )
        .map(|_| ())
    }

    /// A commit (with a link record when `link`) and its reveal. For the header (no link) the
    /// reveal keeps the change, so later transactions descend from it.
    fn envelope(&mut self, role: Role, unit: &[u8], link: bool) -> Result<(), PlanError> {
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
            Role::Segment(i) | Role::Hashes(i) | Role::Reveal(i) => i,
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

    /// One spendable coin per unit, created by fan-out transactions; then the unit transactions.
    fn fan_out(&mut self, carrier: Carrier, units: &[(Role, Vec<u8>)]) -> Result<(), PlanError> {
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
