//! Encode -> decode round trips for every record type and every carrier.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::{Keypair, Secp256k1, SecretKey};
use bitcoin::taproot::{LeafVersion, TaprootBuilder};
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use cvp::carrier::{envelope_script, op_return_script, records_in_tx};
use cvp::*;
use proptest::prelude::*;

fn tx_with(inputs: Vec<TxIn>, outputs: Vec<TxOut>) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: inputs,
        output: outputs,
    }
}

fn plain_input() -> TxIn {
    TxIn {
        previous_output: OutPoint::null(),
        script_sig: ScriptBuf::new(),
        sequence: Sequence::MAX,
        witness: Witness::new(),
    }
}

/// A reveal input: signature, envelope tapscript, control block, exactly as a script-path spend.
fn envelope_input(unit: &[u8]) -> TxIn {
    let secp = Secp256k1::new();
    let kp = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[3u8; 32]).unwrap());
    let (key, _) = kp.x_only_public_key();
    let script = envelope_script(&key, unit);
    let spend = TaprootBuilder::new()
        .add_leaf(0, script.clone())
        .unwrap()
        .finalize(&secp, key)
        .unwrap();
    let control = spend
        .control_block(&(script.clone(), LeafVersion::TapScript))
        .unwrap();
    let mut witness = Witness::new();
    witness.push([0u8; 64]);
    witness.push(script.as_bytes());
    witness.push(control.serialize());
    TxIn {
        witness,
        ..plain_input()
    }
}

proptest! {
    #[test]
    fn record_roundtrip(r in common::record()) {
        let unit = r.encode();
        prop_assert_eq!(Record::decode(&unit), Ok(r));
    }

    #[test]
    fn decoded_bytes_reencode_identically(body in common::bytes(120), t in 0u8..16) {
        let mut unit = b"CV\x01".to_vec();
        unit.push(t);
        unit.extend(body);
        if let Ok(r) = Record::decode(&unit) {
            prop_assert_eq!(r.encode(), unit);
        }
    }

    #[test]
    fn op_return_carrier_roundtrip(r in common::record()) {
        let unit = r.encode();
        let tx = tx_with(vec![plain_input()], vec![
            TxOut { value: Amount::from_sat(1000), script_pubkey: ScriptBuf::new() },
            TxOut { value: Amount::ZERO, script_pubkey: op_return_script(&unit) },
        ]);
        let found = records_in_tx(&tx);
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(found[0].location, Location::Output(1));
        prop_assert_eq!(&found[0].record, &Ok(r));
    }

    #[test]
    fn envelope_carrier_roundtrip(r in common::record(), pad in 0usize..1200) {
        // Pad segments so units cross the 520-byte push boundary.
        let r = match r {
            Record::Segment(mut s) => { s.payload.extend(std::iter::repeat_n(7u8, pad)); Record::Segment(s) }
            other => other,
        };
        let unit = r.encode();
        let tx = tx_with(vec![plain_input(), envelope_input(&unit)], vec![TxOut { value: Amount::from_sat(330), script_pubkey: ScriptBuf::new() }]);
        let found = records_in_tx(&tx);
        prop_assert_eq!(found.len(), 1);
        prop_assert_eq!(found[0].location, Location::Input(1));
        prop_assert_eq!(&found[0].record, &Ok(r));
    }

    #[test]
    fn chunk_shuffle_reassemble(stream in common::bytes(5000), unit in prop_oneof![Just(80usize), 20usize..400], seed in any::<u64>()) {
        let info = ContentInfo { media_type: "application/octet-stream".into(), ..Default::default() };
        let prepared = cvp::chunk::prepare(&stream, info, unit).unwrap();
        for s in &prepared.segments {
            prop_assert!(Record::Segment(s.clone()).encode().len() <= unit);
        }
        let mut segs = prepared.segments.clone();
        // Fisher-Yates with a small LCG: any order must work.
        let mut x = seed | 1;
        for i in (1..segs.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            segs.swap(i, (x >> 33) as usize % (i + 1));
        }
        let mut asm = Assembler::new(prepared.header.clone());
        for h in &prepared.hashes { prop_assert!(asm.add_hashes(h).is_empty()); }
        for s in segs.iter().cloned().chain(segs.iter().take(3).cloned()) {
            let outcome = asm.add(s);
            prop_assert!(matches!(outcome, AddOutcome::Accepted { .. } | AddOutcome::Duplicate), "{outcome:?}");
        }
        prop_assert_eq!(asm.finish(), Ok(stream));
    }
}

#[test]
fn eighty_byte_carrier_is_exactly_83_script_bytes() {
    let stream = vec![0xabu8; 10_000];
    let info = ContentInfo {
        media_type: "x".into(),
        ..Default::default()
    };
    let p = cvp::chunk::prepare(&stream, info, Carrier::OpReturn80.max_unit()).unwrap();
    // Segment 130 has a two-byte index and a full payload: the unit is exactly 80 bytes.
    let first = op_return_script(&Record::Segment(p.segments[130].clone()).encode());
    assert_eq!(
        first.len(),
        83,
        "OP_RETURN + OP_PUSHDATA1 80 + 80 data bytes"
    );
}

#[test]
fn non_cvp_outputs_and_envelopes_are_ignored() {
    let mut other = Witness::new();
    other.push([1u8; 64]);
    let tx = tx_with(
        vec![
            TxIn {
                witness: other,
                ..plain_input()
            },
            envelope_input(b"ord\x01hello"),
        ],
        vec![TxOut {
            value: Amount::ZERO,
            script_pubkey: op_return_script(b"hello world"),
        }],
    );
    assert!(records_in_tx(&tx).is_empty());
}

#[test]
fn the_tapscript_rules_annex_leaf_version_and_control_block() {
    let unit = Record::Link.encode();
    let found = |witness: Witness| {
        let tx = tx_with(
            vec![TxIn {
                witness,
                ..plain_input()
            }],
            vec![],
        );
        records_in_tx(&tx)
    };
    let reveal = envelope_input(&unit).witness.to_vec();
    // An annex (a last element starting 0x50) is set aside: the envelope is still found.
    let mut annexed = reveal.clone();
    annexed.push(vec![0x50, 1, 2, 3]);
    let got = found(Witness::from_slice(&annexed));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].record, Ok(Record::Link));
    assert_eq!(found(Witness::from_slice(&reveal)).len(), 1);
    // Script and annex alone: a key-path spend with an annex, no tapscript.
    let script_and_annex = vec![reveal[1].clone(), vec![0x50]];
    assert!(found(Witness::from_slice(&script_and_annex)).is_empty());
    // A leaf version other than 0xc0 is not tapscript.
    let mut other_leaf = reveal.clone();
    other_leaf[2][0] = 0xc2 | (other_leaf[2][0] & 1);
    assert!(found(Witness::from_slice(&other_leaf)).is_empty());
    // A control block must be 33 + 32m bytes.
    let mut ragged = reveal.clone();
    ragged[2].push(0);
    assert!(found(Witness::from_slice(&ragged)).is_empty());
    let mut short = reveal;
    short[2].truncate(32);
    assert!(found(Witness::from_slice(&short)).is_empty());
}
