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
