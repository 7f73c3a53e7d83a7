//! Where a segment's payload lies in the raw transaction the store holds, so a snapshot serves
//! OP_RETURN segments by slicing the stored bytes once it has checked them.

/// Where a checked segment's payload lies in its stored transaction: inside an OP_RETURN output,
/// which the txid commits to, before any witness. Two serializations under one txid differ only in
/// their witnesses, so a stored transaction of the same length holds the same bytes there; a
/// different length (the mined copy of a mempool transaction with another witness) sends the read
/// back to the full check. What this trusts: that the store is not changed under the process
/// (a disk fault, another writer) between a snapshot's first read of a segment and its last; each
/// new snapshot (every block and mempool change) checks every segment it serves again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sliced {
    pub(crate) at: u32,
    pub(crate) raw_len: u32,
}

/// Where `payload`, found in `location` of `tx` (decoded from `raw`), lies in `raw`: the end of an
/// OP_RETURN output's script, checked byte for byte. `None` for an envelope (in the witness) or
/// any other shape.
pub(crate) fn sliced_at(
    raw: &[u8],
    tx: &bitcoin::Transaction,
    location: cvp::carrier::Location,
    payload: &[u8],
) -> Option<Sliced> {
    let cvp::carrier::Location::Output(vout) = location else {
        return None;
    };
    let vout = usize::try_from(vout).ok()?;
    let varint = |n: usize| bitcoin::consensus::encode::VarInt(n as u64).size();
    let marker = if raw.len() == tx.base_size() { 0 } else { 2 };
    let outputs_start = 4
        + marker
        + varint(tx.input.len())
        + tx.input.iter().map(bitcoin::TxIn::base_size).sum::<usize>()
        + varint(tx.output.len());
    let script_end = outputs_start
        + tx.output
            .get(..=vout)?
            .iter()
            .map(bitcoin::TxOut::size)
            .sum::<usize>();
    let at = script_end.checked_sub(payload.len())?;
    (raw.get(at..script_end)? == payload).then_some(Sliced {
        at: u32::try_from(at).ok()?,
        raw_len: u32::try_from(raw.len()).ok()?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use bitcoin::{absolute::LockTime, transaction::Version, Amount, ScriptBuf, TxIn, TxOut};
    use cvp::carrier::Location;
    use cvp::Record;

    /// A transaction with a segment record in its second output; with or without a witness.
    fn carrying(payload: &[u8], witness: bool) -> (Vec<u8>, bitcoin::Transaction) {
        let unit = Record::Segment(cvp::Segment {
            index: 3,
            payload: payload.to_vec(),
        })
        .encode();
        let mut input = TxIn::default();
        if witness {
            input.witness.push([7u8; 64]);
        }
        let tx = bitcoin::Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![input.clone(), input],
            output: vec![
                TxOut {
                    value: Amount::from_sat(1_000),
                    script_pubkey: ScriptBuf::from_bytes(vec![0x51; 34]),
                },
                TxOut {
                    value: Amount::ZERO,
                    script_pubkey: cvp::carrier::op_return_script(&unit),
                },
            ],
        };
        (bitcoin::consensus::serialize(&tx), tx)
    }

    #[test]
    fn an_op_return_payload_is_found_where_it_lies_in_the_raw_transaction() {
        for (len, witness) in [(1, false), (75, true), (300, false), (99_794, true)] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 13 % 256) as u8).collect();
            let (raw, tx) = carrying(&payload, witness);
            let found = cvp::carrier::records_in_tx(&tx);
            let location = found.first().unwrap().location;
            assert_eq!(location, Location::Output(1));
            let s = sliced_at(&raw, &tx, location, &payload).unwrap();
            let at = s.at as usize;
            assert_eq!(&raw[at..at + len], payload.as_slice());
            assert_eq!(s.raw_len as usize, raw.len());
        }
    }

    #[test]
    fn other_bytes_another_output_or_an_input_are_never_sliced() {
        let payload = vec![9u8; 500];
        let (raw, tx) = carrying(&payload, true);
        let other = vec![8u8; 500];
        assert!(sliced_at(&raw, &tx, Location::Output(1), &other).is_none());
        assert!(sliced_at(&raw, &tx, Location::Output(0), &payload).is_none());
        assert!(sliced_at(&raw, &tx, Location::Output(2), &payload).is_none());
        assert!(sliced_at(&raw, &tx, Location::Input(0), &payload).is_none());
        let s = sliced_at(&raw, &tx, Location::Output(1), &payload).unwrap();
        let mut changed = raw.clone();
        changed[s.at as usize + 499] ^= 1;
        assert!(sliced_at(&changed, &tx, Location::Output(1), &payload).is_none());
    }
}
