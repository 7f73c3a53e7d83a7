//! Films that live on BitTorrent behind a `commitment` record (docs/cvp.md, "Commitments"): what
//! the one transaction that pins them costs. Publishing and fetching them is not built yet
//! (`bitflix publish --carrier commitment`); the estimate is of the transaction that will carry it.

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use cvp::{Commitment, Record};
use serde::Serialize;

/// The cost of pinning one content by a commitment.
#[derive(Debug, Clone, Serialize)]
pub struct CommitmentCost {
    /// What is estimated.
    pub what: String,
    /// The content's length (on BitTorrent, not on chain).
    pub content_bytes: u64,
    /// The commitment record's bytes, the only ones on chain.
    pub unit_bytes: usize,
    /// The transaction's virtual size: one Taproot key-path input, the OP_RETURN, a change output.
    pub vbytes: u64,
    /// Its fee at the fee rate.
    pub fee_sat: u64,
    /// What it means.
    pub note: &'static str,
}

/// What the chain holds and what it does not.
pub const NOTE: &str = "the chain pins the film (its BitTorrent v2 root, length and swarm in one \
80-byte OP_RETURN); BitTorrent stores and serves its bytes, so the film plays only while someone \
seeds it. `bitflix publish --carrier commitment` is not built yet.";

/// The commitment transaction for a content of `length` bytes at `feerate`: its unit carries an
/// IPv4 seed address, the largest form an 80-byte unit holds at any length.
pub fn cost(what: &str, length: u64, feerate: FeeRate) -> CommitmentCost {
    let unit = Record::Commitment(Commitment {
        root: [0; 32],
        length,
        media_code: 1,
        infohash: [0; 20],
        seed: Some(std::net::SocketAddr::from(([203, 0, 113, 1], 6881))),
    })
    .encode();
    let p2tr = ScriptBuf::from_bytes([[0x51, 0x20].as_slice(), &[0; 32]].concat());
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            // A key-path spend: one 64-byte Schnorr signature (default sighash).
            witness: Witness::from_slice(&[[0u8; 64]]),
        }],
        output: vec![
            TxOut {
                value: Amount::ZERO,
                script_pubkey: cvp::carrier::op_return_script(&unit),
            },
            TxOut {
                value: Amount::from_sat(10_000),
                script_pubkey: p2tr,
            },
        ],
    };
    let vbytes = tx.vsize() as u64;
    CommitmentCost {
        what: what.into(),
        content_bytes: length,
        unit_bytes: unit.len(),
        vbytes,
        fee_sat: feerate.fee_vb(vbytes).map_or(u64::MAX, Amount::to_sat),
        note: NOTE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_hour_film_costs_one_small_transaction() {
        let c = cost("film", 18_000_000, FeeRate::from_sat_per_vb(1).unwrap());
        assert!(c.unit_bytes <= 80, "{c:?}");
        // Weight: 4 x (version 4, counts 2, input 41, OP_RETURN output 8 + 1 + 2 + unit, change
        // 43, lock time 4) + marker and flag 2 + witness 66; vsize = 122 + unit.
        assert_eq!(c.vbytes, 122 + c.unit_bytes as u64, "{c:?}");
        assert_eq!(c.fee_sat, c.vbytes);
    }
}
