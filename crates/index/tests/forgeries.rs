//! Forged segments (docs/cvp.md, "Forgeries"): 10,000 stray segments fed to a `Catalog`, counted
//! per content from the strays kept as transactions start and stop waiting, exactly as the rule
//! says (checked against the rule applied to every waiting transaction) over several snapshots,
//! as a content's own segment seen before its parent leaves the strays, and within the lineage's
//! bound.
#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

mod common;

use bitcoin::{OutPoint, Txid};
use common::{bare, fake};
use cvp::{Header, Record, Segment};
use index::{Catalog, Snapshot};
use std::sync::Arc;

/// `len` bytes of segment `index` salted with `salt` (each content its own bytes).
fn bytes(index: u32, len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32 * 7 + index) as u8 ^ salt)
        .collect()
}

fn segment(index: u32, len: usize, salt: u8) -> Record {
    Record::Segment(Segment {
        index,
        payload: bytes(index, len, salt),
    })
}

fn film(count: u32, size: u32, total: u64) -> Record {
    Record::Header(Header {
        title: Some("Film".into()),
        media_type: "video/mp4".into(),
        total_length: Some(total),
        segment_count: Some(count),
        merkle_root: Some([7; 32]),
        segment_size: Some(size),
        ..Header::default()
    })
}

/// The contents: F (10 segments of 100 bytes but the last of 50; holds 0..=4 and 9, salt 1), G (4
/// of 100; holds none), H (3 of 80 but the last of 40; holds 0, salt 3), an empty film E, an open
/// live stream L, and K (30 of 60; holds 0..20, salt 5: more than the strays of its size).
struct Films {
    f: Txid,
    g: Txid,
    h: Txid,
    e: Txid,
    l: Txid,
    k: Txid,
}

fn films(cat: &mut Catalog) -> Films {
    let live = Record::Header(Header {
        media_type: "video/x-cvpm".into(),
        ..Header::default()
    });
    let heads = [
        bare(fake(1), &[film(10, 100, 950)]),
        bare(fake(2), &[film(4, 100, 400)]),
        bare(fake(3), &[film(3, 80, 200)]),
        bare(fake(4), &[film(0, 100, 0)]),
        bare(fake(5), &[live]),
        bare(fake(6), &[film(30, 60, 1_800)]),
    ];
    for h in &heads {
        cat.add_tx(h, None);
    }
    let [f, g, h, e, l, k] = heads.map(|t| t.compute_txid());
    for i in [0, 1, 2, 3, 4, 9] {
        let len = if i == 9 { 50 } else { 100 };
        cat.add_tx(&bare(OutPoint::new(f, i), &[segment(i, len, 1)]), None);
    }
    cat.add_tx(&bare(OutPoint::new(h, 0), &[segment(0, 80, 3)]), None);
    for i in 0..20 {
        cat.add_tx(&bare(OutPoint::new(k, i), &[segment(i, 60, 5)]), None);
    }
    Films { f, g, h, e, l, k }
}

/// Stray `i` (its own unseen parent): index `i % 12`, of 100, 50, 80 or 40 bytes in turn every 12;
/// F's bytes when `i` is a multiple of 7, H's when of 11, else a stranger's.
fn numbered_stray(i: u32) -> bitcoin::Transaction {
    let len = [100, 50, 80, 40][(i / 12 % 4) as usize];
    let salt = if i.is_multiple_of(7) {
        1
    } else if i.is_multiple_of(11) {
        3
    } else {
        0x40 | (i % 64) as u8
    };
    bare(fake(1_000 + i), &[segment(i % 12, len, salt)])
}

/// The rule applied to every waiting transaction: its segments at an index below the content's
/// count, of the exact length that index must have, not the content's bytes at an index it holds.
fn by_the_rule(cat: &Catalog, id: &Txid) -> u32 {
    let c = cat.get(id).unwrap();
    let h = c.tracker.header();
    if h.segment_count.is_none_or(|n| n == 0) {
        return 0;
    }
    let forged = cat
        .unattributed()
        .flat_map(|t| &t.found)
        .filter_map(|f| match &f.record {
            Ok(Record::Segment(s)) => Some(s),
            _ => None,
        })
        .filter(|s| {
            h.expected_segment_len(s.index) == Some(s.payload.len())
                && c.tracker
                    .leaf(s.index)
                    .is_none_or(|l| l.hash != cvp::merkle::leaf_hash(&s.payload))
        })
        .count();
    u32::try_from(forged).unwrap()
}

/// Every content's forged segments, as the snapshot counts them and as the rule does.
fn counts(snap: &Snapshot, cat: &Catalog, ids: &Films) -> Vec<(u32, u32)> {
    [ids.f, ids.g, ids.h, ids.e, ids.l, ids.k]
        .iter()
        .map(|id| {
            let s = snap.summary(id).unwrap();
            (s.forged_segments, by_the_rule(cat, id))
        })
        .collect()
}

fn assert_exact(snap: &Snapshot, cat: &Catalog, ids: &Films) {
    for (i, (got, want)) in counts(snap, cat, ids).into_iter().enumerate() {
        assert_eq!(got, want, "content {i} (F, G, H, E, L, K)");
    }
}

/// Strays among `range` that are G's forgeries: index below 4 and 100 bytes.
fn g_forged(range: std::ops::Range<u32>) -> u32 {
    range.filter(|i| i % 12 < 4 && i / 12 % 4 == 0).count() as u32
}

#[test]
fn ten_thousand_stray_segments_are_counted_exactly_per_content() {
    let store = Arc::new(index::store::Store::in_memory().unwrap());
    let mut cat = Catalog::default();
    let ids = films(&mut cat);
    for i in 0..10_000 {
        cat.add_tx(&numbered_stray(i), None);
    }
    for _ in 0..3 {
        let snap = Snapshot::build(&cat, Arc::clone(&store), None);
        assert_eq!(snap.unattributed(), 10_000);
        assert_eq!(snap.stray_segments(), 10_000);
        assert_eq!(snap.stray_live_chunks(), 0);
        assert_exact(&snap, &cat, &ids);
        let c = counts(&snap, &cat, &ids);
        assert_eq!(c[1].0, g_forged(0..10_000));
        assert_eq!(c[1].0, 836);
        assert_eq!(
            (c[3].0, c[4].0, c[5].0),
            (0, 0, 0),
            "an empty film, an open stream, K"
        );
        assert!(c[0].0 > 0 && c[2].0 > 0);
    }

    // One stranger's transaction with two segments: both count.
    let two = bare(fake(900), &[segment(1, 100, 0x80), segment(2, 100, 0x81)]);
    cat.add_tx(&two, None);
    let snap = Snapshot::build(&cat, Arc::clone(&store), None);
    assert_eq!(snap.stray_segments(), 10_002);
    assert_exact(&snap, &cat, &ids);
    assert_eq!(snap.summary(&ids.g).unwrap().forged_segments, 838);

    // Fewer strays of K's size than K's segments: K's bytes at index 2 (held, not counted), other
    // bytes at 3, and K's bytes at 25 (not held: counted).
    for (n, (i, salt)) in [(2, 5), (3, 0x90), (25, 5)].into_iter().enumerate() {
        cat.add_tx(&bare(fake(950 + n as u32), &[segment(i, 60, salt)]), None);
    }
    let snap = Snapshot::build(&cat, Arc::clone(&store), None);
    assert_eq!(snap.stray_segments(), 10_005);
    assert_exact(&snap, &cat, &ids);
    assert_eq!(snap.summary(&ids.k).unwrap().forged_segments, 2);

    // F's segment 5 seen before its fan-out is a stray: a forgery of F (it does not hold index 5
    // yet), as are the strays with F's bytes there. Once attributed, those are F's own bytes.
    let fan = bare(OutPoint::new(ids.f, 5), &[Record::Link]);
    cat.add_tx(
        &bare(OutPoint::new(fan.compute_txid(), 0), &[segment(5, 100, 1)]),
        None,
    );
    let snap = Snapshot::build(&cat, Arc::clone(&store), None);
    assert_eq!(snap.stray_segments(), 10_006);
    assert_exact(&snap, &cat, &ids);
    let before = snap.summary(&ids.f).unwrap().forged_segments;
    cat.add_tx(&fan, None);
    let snap = Snapshot::build(&cat, Arc::clone(&store), None);
    assert_eq!(snap.stray_segments(), 10_005);
    assert_exact(&snap, &cat, &ids);
    // Strays at index 5 of 100 bytes with F's bytes: i % 12 == 5, i / 12 % 4 == 0, i % 7 == 0.
    let own_at_5 = (0..10_000u32)
        .filter(|i| i % 12 == 5 && i / 12 % 4 == 0 && i.is_multiple_of(7))
        .count() as u32;
    assert!(own_at_5 > 0);
    assert_eq!(
        snap.summary(&ids.f).unwrap().forged_segments,
        before - 1 - own_at_5
    );
}

#[test]
fn the_lineages_bound_drops_stray_segments_and_their_counts_follow() {
    let store = Arc::new(index::store::Store::in_memory().unwrap());
    let mut cat = Catalog::with_pending_limits(4_000, usize::MAX);
    let ids = films(&mut cat);
    for i in 0..10_000 {
        cat.add_tx(&numbered_stray(i), None);
    }
    for _ in 0..2 {
        let snap = Snapshot::build(&cat, Arc::clone(&store), None);
        assert_eq!(snap.unattributed(), 4_000);
        assert_eq!(snap.stray_segments(), 4_000);
        assert_exact(&snap, &cat, &ids);
        assert_eq!(
            snap.summary(&ids.g).unwrap().forged_segments,
            g_forged(6_000..10_000)
        );
    }
    // The oldest dropped: the first 6,000 left, whatever they matched.
    let gone = numbered_stray(5_999).compute_txid();
    assert!(cat.unattributed().all(|t| t.txid != gone));
}
