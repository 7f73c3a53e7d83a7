//! A content that lives on BitTorrent (docs/cvp.md, "Commitments"): one transaction carries the
//! `commitment` record in an 80-byte OP_RETURN (its txid is the content id), then each record of
//! `info.records` (an info record with the title) has a transaction of its own, each spending the
//! previous one's change so the lineage rule holds.

use super::{Builder, Plan, PlanError, PlanRequest, Role};
use crate::Signer;
use cvp::{Carrier, Commitment, Record};

pub(super) fn plan(
    req: &PlanRequest<'_>,
    c: &Commitment,
    signer: &Signer,
) -> Result<Plan, PlanError> {
    let unit = Record::Commitment(c.clone()).encode();
    // The 80-byte OP_RETURN every node relays.
    let small = Carrier::OpReturn80.max_unit();
    if unit.len() > small {
        return Err(PlanError::CommitmentTooLarge(unit.len()));
    }
    // The other records go on OP_RETURNs too: large ones only where the carrier says so.
    let (carrier, max) = match req.carrier {
        Carrier::OpReturn => (Carrier::OpReturn, Carrier::OpReturn.max_unit()),
        other => (other, small),
    };
    let mut units = Vec::new();
    for (i, r) in req.info.records.iter().enumerate() {
        let u = r.encode();
        if u.len() > max {
            return Err(PlanError::RecordTooLarge {
                index: i,
                len: u.len(),
                max,
                carrier,
            });
        }
        units.push((Role::Record(i as u32), u));
    }
    let mut b = Builder {
        signer,
        rate: req.feerate,
        coin: req.funding.clone(),
        txs: Vec::new(),
        have: req.funding.1.value,
    };
    b.op_return(Role::Commitment, &unit)?;
    for (role, u) in &units {
        b.op_return(*role, u)?;
    }
    let framing = unit.len() as u64 + units.iter().map(|(_, u)| u.len() as u64).sum::<u64>();
    Ok(Plan {
        content_id: b.txs[0].tx.compute_txid(),
        txs: b.txs,
        payload_bytes: 0,
        framing_bytes: framing,
        change: b.coin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use bitcoin::hashes::Hash;
    use bitcoin::{Amount, FeeRate, OutPoint, TxOut, Txid};
    use cvp::{ContentInfo, Info, UnknownField};

    fn request(
        records: Vec<Record>,
        seed: Option<std::net::SocketAddr>,
        length: u64,
    ) -> PlanRequest<'static> {
        PlanRequest {
            stream: &[],
            info: ContentInfo {
                title: Some("ignored".into()),
                media_type: "video/x-cvpm".into(),
                duration_ms: None,
                poster: None,
                records,
            },
            carrier: Carrier::OpReturn80,
            feerate: FeeRate::from_sat_per_vb(2).unwrap_or(FeeRate::ZERO),
            funding: (
                OutPoint::new(Txid::all_zeros(), 0),
                TxOut {
                    value: Amount::from_sat(50_000),
                    script_pubkey: Signer::dummy().script(),
                },
            ),
            commitment: Some(Commitment {
                root: [9; 32],
                length,
                media_code: 1,
                infohash: [4; 20],
                seed,
            }),
        }
    }

    #[test]
    fn the_commitment_starts_the_content_and_its_title_follows_in_its_lineage() {
        let title = Record::Info(Info {
            fields: vec![UnknownField {
                tag: 3,
                value: b"A film".to_vec(),
            }],
        });
        let req = request(vec![title], Some(([203, 0, 113, 9], 6881).into()), 1 << 40);
        let p = super::super::plan(&req, &Signer::dummy()).unwrap();
        assert_eq!(p.txs.len(), 2);
        assert_eq!(p.txs[0].role, Role::Commitment);
        assert_eq!(p.content_id, p.txs[0].tx.compute_txid());
        assert_eq!(p.payload_bytes, 0);
        let mut lineage = cvp::Lineage::default();
        let mut seen = Vec::new();
        for t in &p.txs {
            let records = cvp::TxRecords::from_tx(&t.tx);
            assert!(records.found.iter().all(|f| f.unit_len <= 80));
            for a in lineage.observe(records) {
                assert_eq!(a.content, p.content_id);
                seen.extend(a.tx.found.into_iter().filter_map(|f| f.record.ok()));
            }
        }
        assert!(matches!(seen[0], Record::Commitment(_)), "{seen:?}");
        assert!(matches!(seen[1], Record::Info(_)), "{seen:?}");
        // The journal gives the record and the title back (what a fee bump plans again).
        let j = Journal::from_plan(&p, "A film", "op-return-80");
        let (c, info) = j.commitment().unwrap().unwrap();
        assert_eq!(Some(c), req.commitment);
        assert_eq!(info.records, req.info.records);
    }

    #[test]
    fn a_commitment_over_80_bytes_is_refused_before_anything_is_signed() {
        // An IPv6 seed and a length of 2^35 or more do not fit (docs/cvp.md).
        let req = request(
            Vec::new(),
            Some("[2001:db8::1]:6881".parse().unwrap()),
            1 << 36,
        );
        let e = super::super::plan(&req, &Signer::dummy()).unwrap_err();
        assert!(
            matches!(e, PlanError::CommitmentTooLarge(n) if n > 80),
            "{e}"
        );
    }
}
