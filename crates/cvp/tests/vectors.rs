//! The test vectors in docs/cvp.md, checked in both directions.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use cvp::Record;
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let spec = include_str!("../../../docs/cvp.md");
    let mut out = Vec::new();
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```cvp-vector" {
            let body: String = lines
                .by_ref()
                .take_while(|l| l.trim() != "```")
                .collect::<Vec<_>>()
                .join("\n");
            out.push(
                serde_json::from_str(&body).unwrap_or_else(|e| panic!("bad vector {body}: {e}")),
            );
        }
    }
    out
}

#[test]
fn spec_vectors_hold_both_ways() {
    let vs = vectors();
    assert!(
        vs.len() >= 25,
        "the spec lost its vectors: {} found",
        vs.len()
    );
    let (mut valid, mut invalid) = (0, 0);
    for v in vs {
        let name = v["name"].as_str().unwrap();
        let unit = hex::decode(v["hex"].as_str().unwrap()).unwrap();
        if let Some(err) = v.get("error") {
            let got = Record::decode(&unit).expect_err(name).to_string();
            assert_eq!(got, err.as_str().unwrap(), "vector {name}");
            invalid += 1;
        } else {
            let want: Record = serde_json::from_value(v["record"].clone()).unwrap();
            assert_eq!(
                Record::decode(&unit).as_ref(),
                Ok(&want),
                "decode vector {name}"
            );
            assert_eq!(want.encode(), unit, "encode vector {name}");
            valid += 1;
        }
    }
    assert!(
        valid >= 12 && invalid >= 12,
        "{valid} valid, {invalid} invalid"
    );
}

#[test]
fn header_vector_commits_to_the_segments() {
    let vs = vectors();
    let get = |n: &str| -> Record {
        let v = vs.iter().find(|v| v["name"] == n).unwrap();
        Record::decode(&hex::decode(v["hex"].as_str().unwrap()).unwrap()).unwrap()
    };
    let (Record::Header(h), Record::Segment(a), Record::Segment(b)) =
        (get("header"), get("segment-0"), get("segment-1-last"))
    else {
        panic!("vector types changed");
    };
    let mut asm = cvp::Assembler::new(h);
    asm.add(a);
    asm.add(b);
    let text = asm.finish().unwrap();
    assert_eq!(
        text,
        b"The quick brown fox jumps over the lazy dog. CVP splits any byte stream into segments."
    );
}

#[test]
fn carrier_vectors_yield_their_units() {
    let spec = include_str!("../../../docs/cvp.md");
    let mut n = 0;
    let mut lines = spec.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```cvp-carrier-vector" {
            continue;
        }
        let body: String = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let v: Value = serde_json::from_str(&body).unwrap();
        let script = bitcoin::ScriptBuf::from(hex::decode(v["script"].as_str().unwrap()).unwrap());
        let unit = hex::decode(v["unit"].as_str().unwrap()).unwrap();
        assert_eq!(
            cvp::carrier::op_return_unit(&script),
            Some(unit.clone()),
            "{}",
            v["name"]
        );
        assert!(Record::decode(&unit).is_ok(), "{}", v["name"]);
        n += 1;
    }
    assert!(n >= 1, "the spec lost its carrier vector");
}

/// The signed choice vector's BIP340 signature verifies: the tagged hash it signs is the one the
/// vector was made with (`SHA-256(T || T || content id || varint(branch) || varint(option))`).
#[test]
fn the_choice_vector_signature_verifies() {
    let vs = vectors();
    let v = vs.iter().find(|v| v["name"] == "choice-signed").unwrap();
    let Record::Choice(mut c) =
        Record::decode(&hex::decode(v["hex"].as_str().unwrap()).unwrap()).unwrap()
    else {
        panic!("vector type changed");
    };
    let key = c.signature.as_ref().unwrap().pubkey;
    assert_eq!(c.verified_signer().map(|k| k.serialize()), Some(key));
    c.branch_id += 1;
    assert_eq!(c.verified_signer(), None, "the signature covers the branch");
}

#[test]
fn bundle_vectors_hold_both_ways() {
    use cvp::bundle::Bundle;
    let spec = include_str!("../../../docs/cvp.md");
    let mut lines = spec.lines();
    let mut seen = 0;
    while let Some(line) = lines.next() {
        if line.trim() != "```cvp-bundle-vector" {
            continue;
        }
        let body: String = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let v: Value = serde_json::from_str(&body).unwrap();
        let stream = hex::decode(v["hex"].as_str().unwrap()).unwrap();
        seen += 1;
        if let Some(err) = v["error"].as_str() {
            assert_eq!(Bundle::decode(&stream).unwrap_err().to_string(), err, "{v}");
            continue;
        }
        let files: Vec<(String, String, Vec<u8>)> = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().into(),
                    f["media_type"].as_str().unwrap().into(),
                    hex::decode(f["hex"].as_str().unwrap()).unwrap(),
                )
            })
            .collect();
        let b = Bundle { files };
        assert_eq!(Bundle::decode(&stream).unwrap(), b, "{v}");
        assert_eq!(b.encode(), stream, "{v}");
    }
    assert!(seen >= 3, "the spec lost its bundle vectors");
}
