//! Films that live on BitTorrent behind a `commitment` record (docs/cvp.md, "Commitments"): what
//! the transaction that pins them costs, planned by the wallet's own code (`bitflix publish
//! --carrier commitment` runs the same plan, after the wallet's funding transaction, with one more
//! transaction for a title).

use bitcoin::FeeRate;
use cvp::{Carrier, Commitment, ContentInfo};
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
seeds it (`bitflix publish --carrier commitment`, then `bitflix serve --bittorrent-listen`).";

/// The commitment transaction for a content of `length` bytes at `feerate`: its unit carries an
/// IPv4 seed address, the largest form an 80-byte unit holds at any length.
pub fn cost(what: &str, length: u64, feerate: FeeRate) -> anyhow::Result<CommitmentCost> {
    let record = Commitment {
        root: [0; 32],
        length,
        media_code: 1,
        infohash: [0; 20],
        seed: Some(std::net::SocketAddr::from(([203, 0, 113, 1], 6881))),
    };
    let unit_bytes = cvp::Record::Commitment(record.clone()).encode().len();
    let info = ContentInfo {
        title: None,
        media_type: "video/x-cvpm".into(),
        duration_ms: None,
        poster: None,
        records: Vec::new(),
    };
    let est = wallet::estimate::estimate_commitment(&record, &info, Carrier::OpReturn80, feerate)?;
    Ok(CommitmentCost {
        what: what.into(),
        content_bytes: length,
        unit_bytes,
        vbytes: est.vbytes,
        fee_sat: est.fee_sat,
        note: NOTE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_hour_film_costs_one_small_transaction() {
        let c = cost("film", 18_000_000, FeeRate::from_sat_per_vb(1).unwrap()).unwrap();
        assert!(c.unit_bytes <= 80, "{c:?}");
        // Weight: 4 x (version 4, counts 2, input 41, OP_RETURN output 8 + 1 + 2 + unit, change
        // 43, lock time 4) + marker and flag 2 + witness 66; vsize = 122 + unit.
        assert_eq!(c.vbytes, 122 + c.unit_bytes as u64, "{c:?}");
        assert_eq!(c.fee_sat, c.vbytes);
    }
}
