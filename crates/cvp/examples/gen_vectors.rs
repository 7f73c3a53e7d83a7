//! Prints the test vectors of docs/cvp.md (`cargo run -p cvp --example gen_vectors`). The doc's
//! copy is checked by tests/vectors.rs, so a change to the encoding fails there first.
#![allow(clippy::unwrap_used, reason = "a generator of fixed data")]

use bitcoin::secp256k1::{Keypair, Secp256k1, SecretKey};
use cvp::*;

fn show(name: &str, r: &Record) {
    let v = serde_json::json!({ "name": name, "hex": hex::encode(r.encode()), "record": r });
    println!(
        "```cvp-vector\n{}\n```\n",
        serde_json::to_string(&v).unwrap()
    );
}

fn main() {
    let stream =
        b"The quick brown fox jumps over the lazy dog. CVP splits any byte stream into segments.";
    let info = ContentInfo {
        title: Some("Fox".into()),
        media_type: "application/octet-stream".into(),
        duration_ms: Some(5300),
        poster: None,
        records: Vec::new(),
    };
    let p = chunk::prepare(stream, info, Carrier::OpReturn80.max_unit()).unwrap();
    show("header", &Record::Header(p.header.clone()));
    show("segment-0", &Record::Segment(p.segments[0].clone()));
    show("segment-1-last", &Record::Segment(p.segments[1].clone()));
    let live = Header {
        title: Some("Live".into()),
        media_type: "video/x-cvpm".into(),
        ..Default::default()
    };
    show("header-live-open", &Record::Header(live));
    show(
        "live-chunk",
        &Record::LiveChunk(LiveChunk {
            index: 300,
            timestamp_ms: 60_000,
            payload: b"chunk".to_vec(),
        }),
    );
    show(
        "end",
        &Record::End(End {
            segment_count: 2,
            merkle_root: p.header.merkle_root,
        }),
    );
    show(
        "segment-hashes",
        &Record::SegmentHashes(SegmentHashes {
            first_index: 0,
            hashes: vec![merkle::leaf_hash(&p.segments[0].payload)],
        }),
    );
    show(
        "info",
        &Record::Info(Info {
            fields: vec![UnknownField {
                tag: 1,
                value: b"A short description".to_vec(),
            }],
        }),
    );
    show("link", &Record::Link);
    show(
        "clips",
        &Record::Clips(Clips {
            clip_count: 3,
            first_clip: 0,
            clips: vec![
                ClipEntry {
                    start_ms: 0,
                    name: "Hall".into(),
                },
                ClipEntry {
                    start_ms: 12_000,
                    name: "Door".into(),
                },
                ClipEntry {
                    start_ms: 20_000,
                    name: "Stairs".into(),
                },
            ],
        }),
    );
    show(
        "branch",
        &Record::Branch(Branch {
            id: 1,
            at_segment: 40,
            timeout_ms: 10_000,
            default_option: 0,
            prompt: "Open the door?".into(),
            options: vec![
                BranchOption {
                    next_segment: 41,
                    label: "Yes".into(),
                },
                BranchOption {
                    next_segment: 90,
                    label: "No".into(),
                },
            ],
        }),
    );
    let secp = Secp256k1::new();
    let kp = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[0x11; 32]).unwrap());
    let mut c = Choice {
        content_id: [0xaa; 32],
        branch_id: 1,
        option: 1,
        signature: None,
    };
    show("choice-unsigned", &Record::Choice(c.clone()));
    c.sign(&kp);
    show("choice-signed", &Record::Choice(c));
    show(
        "commitment",
        &Record::Commitment(Commitment {
            root: pieces::pieces_root(stream).unwrap(),
            length: stream.len() as u64,
            media_code: 0,
            infohash: [0xbb; 20],
            seed: Some("127.0.0.1:6881".parse().unwrap()),
        }),
    );
    show(
        "unknown-odd-type",
        &Record::Unknown {
            record_type: 15,
            body: vec![1, 2, 3],
        },
    );
    if std::env::args().any(|a| a == "--invalid") {
        invalid();
    }
}

/// Invalid units and the error each must give.
pub fn invalid() {
    let mut huge = b"CV\x01\x00\x02\x01x\x08\x09".to_vec();
    let mut v = Vec::new();
    varint::write(&mut v, 1u64 << 60);
    huge.extend(v);
    huge[8] = (huge.len() - 9) as u8;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not-cvp", b"XY\x01\x02".to_vec()),
        ("version-2", b"CV\x02\x02\x00".to_vec()),
        ("unknown-even-type", b"CV\x01\x0e".to_vec()),
        ("link-trailing-byte", b"CV\x01\x08\x00".to_vec()),
        (
            "header-unknown-even-tag",
            b"CV\x01\x00\x02\x01x\x0e\x00".to_vec(),
        ),
        (
            "header-tags-out-of-order",
            b"CV\x01\x00\x02\x01x\x00\x01A".to_vec(),
        ),
        ("header-missing-media-type", b"CV\x01\x00\x00\x01A".to_vec()),
        ("header-2-pow-60-segments", huge),
        (
            "header-root-without-count",
            [b"CV\x01\x00\x02\x01x\x0a\x20".as_slice(), &[0u8; 32]].concat(),
        ),
        (
            "header-length-mismatch",
            b"CV\x01\x00\x02\x01x\x06\x01\x64\x08\x01\x02\x0c\x01\x0a".to_vec(),
        ),
        ("tlv-length-past-end", b"CV\x01\x00\x02\x7fx".to_vec()),
        (
            "segment-non-minimal-index",
            b"CV\x01\x02\x80\x00\xff".to_vec(),
        ),
        ("segment-hashes-partial", b"CV\x01\x03\x00\x01\x02".to_vec()),
        (
            "branch-prompt-past-end",
            b"CV\x01\x0a\x01\x01\x01\x00\xe8\x07ab".to_vec(),
        ),
        (
            "branch-default-out-of-range",
            b"CV\x01\x0a\x01\x01\x01\x05\x00\x01\x02\x00".to_vec(),
        ),
        (
            "clips-first-clip-not-at-0",
            b"CV\x01\x05\x02\x00\x05\x01A".to_vec(),
        ),
        (
            "clips-start-not-increasing",
            b"CV\x01\x05\x02\x00\x00\x01A\x00\x01B".to_vec(),
        ),
        (
            "clips-past-count",
            b"CV\x01\x05\x01\x00\x00\x01A\x05\x01B".to_vec(),
        ),
        (
            "commitment-empty",
            [
                b"CV\x01\x07".as_slice(),
                &[0xcc; 32],
                b"\x00\x00",
                &[0xbb; 20],
            ]
            .concat(),
        ),
        (
            "commitment-seed-5-bytes",
            [
                b"CV\x01\x07".as_slice(),
                &[0xcc; 32],
                b"\x56\x00",
                &[0xbb; 20],
                &[127, 0, 0, 1, 0x1a],
            ]
            .concat(),
        ),
        (
            "choice-bad-signature-length",
            [b"CV\x01\x0c".as_slice(), &[0xaa; 32], b"\x01\x01\x00"].concat(),
        ),
    ];
    for (name, unit) in cases {
        let err = Record::decode(&unit).unwrap_err().to_string();
        let v = serde_json::json!({ "name": name, "hex": hex::encode(&unit), "error": err });
        println!(
            "```cvp-vector\n{}\n```\n",
            serde_json::to_string(&v).unwrap()
        );
    }
}
