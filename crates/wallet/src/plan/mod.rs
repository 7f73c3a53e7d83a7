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
//! - a commitment (`PlanRequest::commitment`): the content is on BitTorrent and one transaction
//!   pins it (an 80-byte OP_RETURN); each record of `info.records` (an info record with the title)
//!   follows in a transaction of its own, on the chain of changes.
//!
//! The chain of changes grows one transaction at a time, so at most 24 can wait unconfirmed
//! (Core's 25-ancestor limit); the broadcaster waits for a block when it reaches that.

mod commitment;
mod envelope;
mod fan_out;
pub mod live;
mod op_return;

use crate::Signer;
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
    /// A record of [`cvp::ContentInfo::records`] does not fit the carrier's unit.
    #[error("record {index} of the lineage is {len} bytes but the {carrier} carrier holds {max}: shorten its text, or use another carrier")]
    RecordTooLarge {
        /// Its position in `records`.
        index: usize,
        /// Its unit's length.
        len: usize,
        /// Largest unit.
        max: usize,
        /// The carrier.
        carrier: Carrier,
    },
    /// The envelope's Taproot tree could not be built (a bug: one leaf always fits).
    #[error("cannot build the envelope's taproot tree: {0}")]
    Envelope(String),
    /// The commitment record does not fit the 80-byte OP_RETURN.
    #[error("the commitment record is {0} bytes, over the 80-byte OP_RETURN: give an IPv4 seed address, or none")]
    CommitmentTooLarge(usize),
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
    /// A content that lives on BitTorrent: the plan carries this record instead of the stream
    /// (`stream` is not put on chain, and `info.title` goes nowhere: an info record in
    /// `info.records` carries a title).
    pub commitment: Option<cvp::Commitment>,
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
    /// Carries [`cvp::ContentInfo::records`] entry `i` (a clip table, a branch point).
    Record(u32),
    /// Creates an envelope output (and carries a link).
    Commit(u32),
    /// Reveals a segment envelope.
    Reveal(u32),
    /// Splits the funds into one coin per segment (and carries a link).
    Fanout(u32),
    /// Pays the plan's cost from the wallet's coins to the plan key (built by bdk).
    Funding,
    /// Carries a commitment record (its txid is the content id).
    Commitment,
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
            .filter(|t| matches!(t.role, Role::Segment(_) | Role::Hashes(_) | Role::Record(_)))
            .flat_map(|t| t.tx.output.iter())
            .filter(|o| o.value == P2TR_DUST)
            .map(|o| o.value)
            .sum()
    }
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
    if let Some(c) = &req.commitment {
        return commitment::plan(req, c, signer);
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
    let mut units: Vec<(Role, Vec<u8>)> = Vec::new();
    for (i, r) in prepared.records.iter().enumerate() {
        let unit = r.encode();
        if unit.len() > req.carrier.max_unit() {
            return Err(PlanError::RecordTooLarge {
                index: i,
                len: unit.len(),
                max: req.carrier.max_unit(),
                carrier: req.carrier,
            });
        }
        units.push((Role::Record(i as u32), unit));
    }
    units.extend(prepared.hashes.iter().map(|h| {
        (
            Role::Hashes(h.first_index),
            Record::SegmentHashes(h.clone()).encode(),
        )
    }));
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
}
