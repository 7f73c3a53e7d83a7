//! What a publish costs, computed by planning the real transactions with placeholder signatures.

use crate::plan::{plan_layout, Layout, PlanError, PlanRequest};
use crate::Signer;
use bitcoin::hashes::Hash;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, TxOut, Txid};
use cvp::{Carrier, Commitment, ContentInfo};
use serde::{Deserialize, Serialize};

/// The cost of publishing a stream with one carrier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The carrier.
    pub carrier: Carrier,
    /// Stream bytes.
    pub payload_bytes: u64,
    /// Record bytes that are not payload.
    pub framing_bytes: u64,
    /// Transactions.
    pub transactions: u64,
    /// Virtual bytes of all transactions.
    pub vbytes: u64,
    /// Fees in sat.
    pub fee_sat: u64,
    /// Value left in the publisher's own dust outputs (envelope reveals), recoverable later.
    pub locked_sat: u64,
    /// Virtual bytes per payload byte.
    pub vbytes_per_byte: f64,
}

/// Estimate publishing `len` bytes described by `info` with `carrier`. The stream's content does
/// not change any size, so the estimate equals the real publish of any stream of that length.
pub fn estimate(
    len: u64,
    info: &ContentInfo,
    carrier: Carrier,
    feerate: FeeRate,
    layout: Layout,
) -> Result<Estimate, PlanError> {
    let stream = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
    estimate_request(&stream, info, carrier, feerate, layout, None)
}

/// Estimate pinning a content on BitTorrent by `commitment`, with the records of `info.records`
/// after it (see [`PlanRequest::commitment`]).
pub fn estimate_commitment(
    commitment: &Commitment,
    info: &ContentInfo,
    carrier: Carrier,
    feerate: FeeRate,
) -> Result<Estimate, PlanError> {
    estimate_request(
        &[],
        info,
        carrier,
        feerate,
        Layout::Chain,
        Some(commitment.clone()),
    )
}

fn estimate_request(
    stream: &[u8],
    info: &ContentInfo,
    carrier: Carrier,
    feerate: FeeRate,
    layout: Layout,
    commitment: Option<Commitment>,
) -> Result<Estimate, PlanError> {
    let len = stream.len() as u64;
    let info = info.clone();
    let funding = (
        OutPoint::new(Txid::all_zeros(), 0),
        TxOut {
            value: Amount::MAX_MONEY,
            script_pubkey: ScriptBuf::new(),
        },
    );
    let p = plan_layout(
        &PlanRequest {
            stream,
            info,
            carrier,
            feerate,
            funding,
            commitment,
        },
        &Signer::dummy(),
        layout,
    )?;
    Ok(Estimate {
        carrier,
        payload_bytes: p.payload_bytes,
        framing_bytes: p.framing_bytes,
        transactions: p.txs.len() as u64,
        vbytes: p.vbytes(),
        fee_sat: p.fee().to_sat(),
        locked_sat: p.locked().to_sat(),
        vbytes_per_byte: if len == 0 {
            0.0
        } else {
            p.vbytes() as f64 / len as f64
        },
    })
}
