//! Integrity and authenticity: wrong segments are refused with a named flaw, forgeries never attach.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::hashes::Hash;
use bitcoin::Txid;
use cvp::*;

fn prepared(len: usize, unit: usize) -> Prepared {
    let stream: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    cvp::chunk::prepare(
        &stream,
        ContentInfo {
            media_type: "video/x-cvpm".into(),
            ..Default::default()
        },
        unit,
    )
    .unwrap()
}

#[test]
fn wrong_segments_are_refused_and_named() {
    let p = prepared(1000, 80);
    let mut asm = Assembler::new(p.header.clone());
    let count = p.header.segment_count.unwrap();
    assert_eq!(
        asm.add(Segment {
            index: count,
            payload: vec![0; 10]
        }),
        AddOutcome::Rejected(SegmentFlaw::OutOfRange {
            index: count,
            count
        })
    );
    assert!(matches!(
        asm.add(Segment {
            index: 0,
            payload: vec![1, 2, 3]
        }),
        AddOutcome::Rejected(SegmentFlaw::WrongSize { .. })
    ));
    let mut evil = p.segments[0].clone();
    evil.payload[0] ^= 1;
    assert_eq!(asm.add(evil), AddOutcome::Accepted { verified: false });
    assert_eq!(
        asm.add(p.segments[0].clone()),
        AddOutcome::Rejected(SegmentFlaw::Conflict { index: 0 })
    );
    for s in &p.segments[1..] {
        asm.add(s.clone());
    }
    assert_eq!(asm.finish(), Err(AssembleError::RootMismatch));
    assert_eq!(
        asm.verified_prefix(),
        0,
        "nothing is usable when the root does not match"
    );
}

/// Found by the assembler fuzz target: a header without a total length left the last segment's
/// length open, so a 111-byte "last segment" under a segment size of 104 (or an empty one)
/// finished as a stream that cvp's own chunking cuts differently from its root.
#[test]
fn without_a_total_length_the_last_segment_still_holds_1_to_segment_size_bytes() {
    let root_over = |payloads: &[Vec<u8>]| cvp::merkle::root(payloads);
    for (size, last, ok) in [
        (Some(104), 111, false),
        (Some(104), 0, false),
        (None, 0, false),
        (Some(104), 104, true),
        (None, 500, true),
    ] {
        let payloads = vec![vec![7u8; last]];
        let header = Header {
            media_type: "x".into(),
            segment_count: Some(1),
            segment_size: size,
            merkle_root: Some(root_over(&payloads)),
            ..Header::default()
        };
        let mut asm = Assembler::new(header);
        let got = asm.add(Segment {
            index: 0,
            payload: payloads[0].clone(),
        });
        if ok {
            assert_eq!(got, AddOutcome::Accepted { verified: false });
            assert_eq!(asm.finish().unwrap(), payloads[0]);
        } else {
            assert_eq!(
                got,
                AddOutcome::Rejected(SegmentFlaw::LastSize {
                    index: 0,
                    len: last
                })
            );
            assert!(asm.finish().is_err(), "size {size:?}, last {last}");
        }
    }
}

#[test]
fn hash_lists_verify_each_segment_on_arrival() {
    let p = prepared(20_000, 4000);
    assert!(!p.hashes.is_empty());
    let mut asm = Assembler::new(p.header.clone());
    let mut evil = p.segments[1].clone();
    evil.payload[5] ^= 0xff;
    assert_eq!(asm.add(evil), AddOutcome::Accepted { verified: false });
    let evicted: Vec<SegmentFlaw> = p.hashes.iter().flat_map(|h| asm.add_hashes(h)).collect();
    assert_eq!(evicted, vec![SegmentFlaw::HashMismatch { index: 1 }]);
    assert!(asm.hashes_verified());
    assert_eq!(
        asm.add(p.segments[0].clone()),
        AddOutcome::Accepted { verified: true }
    );
    assert_eq!(
        asm.verified_prefix(),
        1,
        "segment 0 is usable before the rest arrive"
    );
    let mut evil = p.segments[2].clone();
    evil.payload[0] ^= 1;
    assert_eq!(
        asm.add(evil),
        AddOutcome::Rejected(SegmentFlaw::HashMismatch { index: 2 })
    );
}

#[test]
fn a_wrong_hash_list_is_dropped() {
    let p = prepared(20_000, 4000);
    let mut asm = Assembler::new(p.header.clone());
    let mut bad = p.hashes[0].clone();
    bad.hashes[0][0] ^= 1;
    asm.add_hashes(&bad);
    assert!(!asm.hashes_verified());
    for h in &p.hashes {
        asm.add_hashes(h);
    }
    assert!(
        asm.hashes_verified(),
        "the right list still verifies after a wrong one"
    );
}

#[test]
fn live_stream_closes_with_end() {
    let mut header = prepared(100, 80).header;
    header.segment_count = None;
    header.merkle_root = None;
    header.total_length = None;
    header.segment_size = None;
    let mut asm = Assembler::new(header);
    asm.add(Segment {
        index: 1,
        payload: b"b".to_vec(),
    });
    asm.add(Segment {
        index: 0,
        payload: b"a".to_vec(),
    });
    asm.add(Segment {
        index: 5,
        payload: b"x".to_vec(),
    });
    assert_eq!(asm.finish(), Err(AssembleError::Open));
    asm.apply_end(&End {
        segment_count: 2,
        merkle_root: Some(merkle::root(&[b"a", b"b"])),
    })
    .unwrap();
    assert_eq!(asm.finish(), Ok(b"ab".to_vec()));
}

#[test]
fn an_end_that_does_not_fit_the_header_is_refused_and_the_stream_stays_open() {
    // Segment size 10 and total length 25 need exactly 3 segments; an end claiming 1 (or 2^32-1)
    // would make the last segment's expected length wrap.
    let header = Header {
        media_type: "video/x-cvpm".into(),
        segment_size: Some(10),
        total_length: Some(25),
        ..Header::default()
    };
    let mut asm = Assembler::new(header);
    for count in [1, 2, u32::MAX] {
        assert!(asm
            .apply_end(&End {
                segment_count: count,
                merkle_root: None,
            })
            .is_err());
        assert!(asm.header().is_open(), "refused: still open");
    }
    assert!(asm
        .apply_end(&End {
            segment_count: 3,
            merkle_root: None,
        })
        .is_ok());
    assert_eq!(asm.header().expected_segment_len(2), Some(5));
}

fn txid(n: u8) -> Txid {
    Txid::from_byte_array([n; 32])
}

fn tx(id: u8, parent: Option<u8>, record: Record) -> TxRecords {
    records(txid(id), parent.map(txid), record)
}

fn records(txid: Txid, parent: Option<Txid>, record: Record) -> TxRecords {
    TxRecords {
        txid,
        parent,
        found: vec![Found {
            location: Location::Output(0),
            unit_len: record.encode().len(),
            record: Ok(record),
        }],
    }
}

fn seg(i: u32) -> Record {
    Record::Segment(Segment {
        index: i,
        payload: vec![i as u8],
    })
}

#[test]
fn lineage_attributes_descendants_in_any_order() {
    let header = Record::Header(Header {
        media_type: "x".into(),
        ..Default::default()
    });
    let mut l = Lineage::default();
    // A grandchild and child arrive before the header (mempool order is arbitrary).
    assert!(l.observe(tx(3, Some(2), seg(1))).is_empty());
    assert!(l.observe(tx(2, Some(1), Record::Link)).is_empty());
    let got = l.observe(tx(1, Some(0), header));
    let mut ids: Vec<Txid> = got.iter().map(|a| a.tx.txid).collect();
    ids.sort();
    assert_eq!(ids, vec![txid(1), txid(2), txid(3)]);
    assert!(got.iter().all(|a| a.content == txid(1)));
    assert_eq!(l.pending_len(), 0);
}

#[test]
fn forged_segment_never_attaches() {
    let header = Record::Header(Header {
        media_type: "x".into(),
        ..Default::default()
    });
    let mut l = Lineage::default();
    l.observe(tx(1, Some(0), header));
    // A stranger's transaction spends its own coins (parent 9), claiming segment 0.
    assert!(l.observe(tx(50, Some(9), seg(0))).is_empty());
    assert_eq!(l.content_of(&txid(50)), None);
    assert_eq!(l.unattributed().count(), 1);
    // Any unit passes a lineage on, a choice too (only the publisher can spend its outputs): the
    // transaction is the content's, though a choice is not a publisher record.
    let choice = Record::Choice(Choice {
        content_id: [1; 32],
        branch_id: 0,
        option: 0,
        signature: None,
    });
    let got = l.observe(tx(51, Some(1), choice));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].content, txid(1));
}

#[test]
fn a_transaction_of_unknown_odd_records_only_keeps_its_descendants_attributed() {
    let header = Record::Header(Header {
        media_type: "x".into(),
        ..Default::default()
    });
    let mut l = Lineage::default();
    l.observe(tx(1, Some(0), header));
    let odd = Record::decode(&[b'C', b'V', 1, 9, 1, 2, 3]).unwrap();
    assert!(matches!(odd, Record::Unknown { .. }));
    assert_eq!(l.observe(tx(2, Some(1), odd)).len(), 1);
    let got = l.observe(tx(3, Some(2), seg(0)));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].content, txid(1));
}

#[test]
fn waiting_transactions_are_bounded_in_bytes() {
    let mut l = Lineage::with_limits(1_000, 10_000);
    for i in 0..100u8 {
        let big = Record::Segment(Segment {
            index: 0,
            payload: vec![i; 1_000],
        });
        l.observe(tx(100 + i, Some(i), big));
    }
    assert!(l.pending_bytes() <= 10_000, "{}", l.pending_bytes());
    assert!(l.pending_len() >= 5 && l.pending_len() <= 10);
}

#[test]
fn pending_memory_is_bounded() {
    let mut l = Lineage::with_max_pending(10);
    for i in 0..50u8 {
        l.observe(tx(100 + i, Some(i), seg(0)));
    }
    assert_eq!(l.pending_len(), 10);
}

#[test]
fn an_offer_tells_what_waits_and_what_was_dropped_for_it() {
    let header = Record::Header(Header {
        media_type: "x".into(),
        ..Default::default()
    });
    let mut l = Lineage::with_limits(2, 1_000);
    let first = l.offer(tx(100, Some(10), seg(0)));
    assert!(first.waiting && first.dropped.is_empty() && first.attributed.is_empty());
    assert_eq!(l.content_for(&tx(101, Some(11), seg(0))), None);
    assert!(l.offer(tx(101, Some(11), seg(0))).waiting);
    // Full: the oldest goes to make room.
    let third = l.offer(tx(102, Some(12), seg(0)));
    assert!(third.waiting);
    assert_eq!(third.dropped, vec![txid(100)]);
    // Too big to keep: it does not wait, and nothing is dropped for it.
    let big = Record::Segment(Segment {
        index: 0,
        payload: vec![0; 2_000],
    });
    let too_big = l.offer(tx(103, Some(13), big));
    assert!(!too_big.waiting && too_big.dropped.is_empty());
    // Its parent's header comes: attributed with the waiting child, which waits no more.
    assert_eq!(
        l.content_for(&tx(11, Some(0), header.clone())),
        Some(txid(11))
    );
    let got = l.offer(tx(11, Some(0), header));
    assert!(!got.waiting);
    let mut ids: Vec<Txid> = got.attributed.iter().map(|a| a.tx.txid).collect();
    ids.sort();
    assert_eq!(ids, vec![txid(11), txid(101)]);
    assert_eq!(l.pending_len(), 1);
}

/// Txid `n` of family `tag` (any number of distinct ones).
fn numbered(n: u32, tag: u8) -> Txid {
    let mut b = [tag; 32];
    b[..4].copy_from_slice(&n.to_le_bytes());
    Txid::from_byte_array(b)
}

#[test]
fn the_eviction_queue_stays_bounded_when_waiting_groups_are_attributed() {
    let header = Record::Header(Header {
        media_type: "x".into(),
        ..Default::default()
    });
    let mut l = Lineage::with_max_pending(1_000);
    // A stranger's transaction waits throughout, the oldest.
    let stranger = numbered(0, 0xaa);
    assert!(
        l.offer(records(stranger, Some(numbered(0, 0xab)), seg(0)))
            .waiting
    );
    // 10,000 children each seen before their parent, which then comes with a header.
    for n in 0..10_000 {
        let (child, parent) = (numbered(n, 1), numbered(n, 2));
        assert!(l.offer(records(child, Some(parent), seg(0))).waiting);
        let got = l.offer(records(parent, Some(numbered(n, 3)), header.clone()));
        assert_eq!(got.attributed.len(), 2);
        assert_eq!(l.pending_len(), 1);
        assert!(l.queue_len() <= 2, "{} queued at {n}", l.queue_len());
    }
    // The order of what still waits is kept: the stranger is the first dropped when full.
    for n in 0..999 {
        let o = l.offer(records(numbered(n, 4), Some(numbered(n, 5)), seg(0)));
        assert!(o.waiting && o.dropped.is_empty());
    }
    let full = l.offer(records(numbered(999, 4), Some(numbered(999, 5)), seg(0)));
    assert_eq!(full.dropped, vec![stranger]);
    assert_eq!(l.pending_len(), 1_000);
    assert!(l.queue_len() <= 2_000);
    let next = l.offer(records(
        numbered(1_000, 4),
        Some(numbered(1_000, 5)),
        seg(0),
    ));
    assert_eq!(next.dropped, vec![numbered(0, 4)]);
}

#[test]
fn one_commitment_without_a_header_starts_a_content_and_two_start_none() {
    let commit = |n: u8| {
        Record::Commitment(Commitment {
            root: [n; 32],
            length: 1_000,
            media_code: 1,
            infohash: [n; 20],
            seed: None,
        })
    };
    let mut l = Lineage::default();
    // Its info record arrives first and waits; the commitment starts the content and takes it.
    let info = Record::Info(Info { fields: Vec::new() });
    assert!(l.observe(tx(2, Some(1), info)).is_empty());
    let got = l.observe(tx(1, Some(0), commit(1)));
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|a| a.content == txid(1)));
    // A transaction with two commitments starts nothing: it continues its parent's lineage.
    let mut two = tx(3, Some(2), commit(2));
    two.found.push(two.found[0].clone());
    assert!(!two.starts_content());
    assert_eq!(l.observe(two)[0].content, txid(1));
    // A header beside a commitment: the header's content, which the commitment does not change.
    let mut both = tx(4, Some(9), commit(3));
    let h = Record::Header(Header {
        media_type: "x".into(),
        ..Default::default()
    });
    both.found.push(Found {
        location: Location::Output(1),
        unit_len: h.encode().len(),
        record: Ok(h),
    });
    assert!(both.starts_content());
    assert_eq!(l.observe(both)[0].content, txid(4));
}
