//! Contents behind a `commitment` record (docs/cvp.md, "Commitments"): one record starts a content
//! whose bytes are on BitTorrent, named by a later `info` record; the catalog says what the chain
//! holds of it and serves none of its bytes; a commitment that starts nothing is a flaw.
#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

mod common;

use bitcoin::OutPoint;
use common::{bare, fake};
use cvp::{Commitment, Header, Info, Record, UnknownField};
use index::{Catalog, ContentState, Snapshot};
use std::sync::Arc;

fn commitment(n: u8) -> Commitment {
    Commitment {
        root: [n; 32],
        length: 18_000_000,
        media_code: 1,
        infohash: [n; 20],
        seed: Some("192.0.2.7:6881".parse().unwrap()),
    }
}

fn info(tag: u64, text: &str) -> Record {
    Record::Info(Info {
        fields: vec![UnknownField {
            tag,
            value: text.as_bytes().to_vec(),
        }],
    })
}

#[test]
fn a_commitment_starts_a_content_whose_bytes_are_on_bittorrent() {
    let mut cat = Catalog::default();
    let head = bare(fake(1), &[Record::Commitment(commitment(1))]);
    let id = head.compute_txid();
    // Its title comes in a child transaction, seen first; a segment for it is a flaw, never bytes.
    let child = bare(
        OutPoint::new(id, 0),
        &[info(3, "A two-hour film"), info(5, "Studio")],
    );
    cat.add_tx(&child, None);
    cat.add_tx(&head, Some(200));
    let grandchild = bare(
        OutPoint::new(child.compute_txid(), 0),
        &[Record::Segment(cvp::Segment {
            index: 0,
            payload: vec![1; 100],
        })],
    );
    cat.add_tx(&grandchild, None);
    let store = Arc::new(index::store::Store::in_memory().unwrap());
    let snap = Snapshot::build(&cat, store, Some(200));
    let s = snap.summary(&id).unwrap();
    assert_eq!(s.state, ContentState::Committed);
    assert_eq!(s.header.title.as_deref(), Some("A two-hour film"));
    assert_eq!(s.header.media_type, "video/x-cvpm");
    assert_eq!(s.header.total_length, Some(18_000_000));
    assert_eq!(s.verified_length, 0);
    assert_eq!(s.transactions, 3);
    let m = s.commitment.as_ref().unwrap();
    assert_eq!(m.record, commitment(1));
    assert_eq!(
        m.unit_bytes,
        Record::Commitment(commitment(1)).encode().len()
    );
    assert!(m.unit_bytes <= 80);
    assert_eq!(s.flaws.len(), 1, "{:?}", s.flaws);
    assert!(snap.read(&id, 0..1).is_err());
    let json = serde_json::to_value(s).unwrap();
    assert_eq!(json["state"], "committed");
    assert_eq!(json["commitment"]["bytes"], "bittorrent");
    assert_eq!(json["commitment"]["infohash"], hex(&[1; 20]));
    assert_eq!(json["commitment"]["length"], 18_000_000);
}

#[test]
fn a_commitment_beside_a_header_or_after_the_first_transaction_starts_nothing() {
    let mut cat = Catalog::default();
    let film = Record::Header(Header {
        title: Some("Film".into()),
        media_type: "video/mp4".into(),
        total_length: Some(0),
        segment_count: Some(0),
        ..Header::default()
    });
    let both = bare(fake(2), &[Record::Commitment(commitment(2)), film]);
    let id = both.compute_txid();
    cat.add_tx(&both, Some(1));
    let later = bare(OutPoint::new(id, 0), &[Record::Commitment(commitment(3))]);
    // One commitment in a child starts its own content, as a header would; two start nothing.
    let two = bare(
        OutPoint::new(id, 1),
        &[
            Record::Commitment(commitment(4)),
            Record::Commitment(commitment(5)),
        ],
    );
    cat.add_tx(&later, Some(2));
    cat.add_tx(&two, Some(2));
    let store = Arc::new(index::store::Store::in_memory().unwrap());
    let snap = Snapshot::build(&cat, store, Some(2));
    let s = snap.summary(&id).unwrap();
    assert_eq!(s.state, ContentState::Complete);
    assert!(s.commitment.is_none());
    assert_eq!(s.flaws.len(), 3, "{:?}", s.flaws);
    assert!(s.flaws.iter().all(|f| f.contains("commitment")));
    let own = snap.summary(&later.compute_txid()).unwrap();
    assert_eq!(own.state, ContentState::Committed);
    assert!(snap.summary(&two.compute_txid()).is_none());
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
