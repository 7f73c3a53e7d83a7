//! Live streams on the devnet: an open header whose lineage fans out to one coin per chunk, live
//! chunks arriving out of order from the mempool (listed in index order), a stranger's chunks
//! (never attributed, counted as forgeries), a chunk double-spent away after a reorg (a gap), and
//! the `end` record that closes the stream into a verified film. Then the forgery rule against two
//! open streams and a closed one, 10,000 stray chunks fed to a `Catalog` (counted by lookups, kept
//! within the lineage's bound, leaving when attributed or dropped), and first-seen times pruned as
//! transactions leave the mempool.
#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

mod common;

use bitcoin::{Amount, OutPoint, Transaction, TxOut, Txid};
use common::{bare, fake, funded, key, op_return, Key};
use cvp::{End, Header, LiveChunk, Record};
use index::{Catalog, ContentState, Indexer, LiveSummary, Snapshot};
use std::sync::Arc;

const PER_COIN: u64 = 20_000;

/// The open header's transaction: the header unit, then `n` coins of the publisher's key (one per
/// chunk to come), then the change.
fn header_tx(k: &Key, coin: &(OutPoint, TxOut), n: u32) -> Transaction {
    let unit = Record::Header(Header {
        title: Some("Live".into()),
        media_type: "video/x-cvpm".into(),
        ..Header::default()
    })
    .encode();
    let mut outputs = vec![TxOut {
        value: Amount::ZERO,
        script_pubkey: op_return(&[&unit]),
    }];
    for _ in 0..n {
        outputs.push(TxOut {
            value: Amount::from_sat(PER_COIN),
            script_pubkey: k.script.clone(),
        });
    }
    let spent = u64::from(n) * PER_COIN + 5_000;
    outputs.push(TxOut {
        value: coin.1.value - Amount::from_sat(spent),
        script_pubkey: k.script.clone(),
    });
    k.spend(std::slice::from_ref(coin), outputs)
}

/// Spend coin `vout` of `parent` to one record (OP_RETURN) and the change.
fn record_tx(k: &Key, parent: &Transaction, vout: u32, rec: &Record, fee: u64) -> Transaction {
    let coin = (
        OutPoint::new(parent.compute_txid(), vout),
        parent.output[vout as usize].clone(),
    );
    let unit = rec.encode();
    k.spend(
        &[coin],
        vec![
            TxOut {
                value: Amount::ZERO,
                script_pubkey: op_return(&[&unit]),
            },
            TxOut {
                value: Amount::from_sat(PER_COIN - fee),
                script_pubkey: k.script.clone(),
            },
        ],
    )
}

fn chunk(index: u32) -> Record {
    Record::LiveChunk(LiveChunk {
        index,
        timestamp_ms: u64::from(index) * 2000,
        payload: payload(index),
    })
}

fn payload(index: u32) -> Vec<u8> {
    salted(index, 0)
}

/// Chunk `index` of the stream whose payloads are salted with `salt` (each stream its own bytes).
fn chunk_of(index: u32, salt: u8) -> Record {
    Record::LiveChunk(LiveChunk {
        index,
        timestamp_ms: u64::from(index) * 2000,
        payload: salted(index, salt),
    })
}

fn salted(index: u32, salt: u8) -> Vec<u8> {
    (0..300 + index as usize)
        .map(|i| (i as u32 * 7 + index) as u8 ^ salt)
        .collect()
}

#[test]
fn chunks_in_index_order_forgeries_a_gap_and_the_end_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = testkit::devnet::open(dir.path());
    let k = key(41);
    let coin = funded(&d, &k, 1_000_000);
    let head = header_tx(&k, &coin, 6);
    let id = d.submit_tx(head.clone()).unwrap();
    let mut ix = Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    let s = ix.snapshot().summary(&id).cloned().unwrap();
    assert_eq!(
        s.state,
        ContentState::Live,
        "an open header is live, not 0 of 1"
    );
    assert_eq!(s.live.as_ref().unwrap().chunks, 0);

    // Chunk 2 arrives before 0 and 1; the list is in index order, with a gap until they come.
    let c2 = record_tx(&k, &head, 3, &chunk(2), 500);
    d.submit_tx(c2).unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let l = snap.summary(&id).unwrap().live.clone().unwrap();
    assert_eq!((l.chunks, l.next_index, l.missing), (1, 3, 2));
    let c0 = record_tx(&k, &head, 1, &chunk(0), 500);
    let c1 = record_tx(&k, &head, 2, &chunk(1), 500);
    d.submit_tx(c1).unwrap();
    d.submit_tx(c0).unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let chunks = snap.live_chunks(&id);
    let order: Vec<u32> = chunks.iter().map(|c| c.index).collect();
    assert_eq!(order, [0, 1, 2]);
    assert!(chunks.iter().all(|c| c.arrived_unix_ms.is_some()));
    assert_eq!(snap.read_chunk(&id, 1).unwrap(), payload(1));
    assert_eq!(chunks[2].timestamp_ms, 4000);

    // A stranger's chunk 3 (its own coin: outside the lineage) is never attributed.
    let stranger = key(42);
    let scoin = funded(&d, &stranger, 100_000);
    let forged = Record::LiveChunk(LiveChunk {
        index: 3,
        timestamp_ms: 6000,
        payload: b"not the publisher's".to_vec(),
    });
    let ftx = common::carry(&stranger, &scoin, &[&[&forged.encode()]], 1_000).0;
    let ftxid = d.submit_tx(ftx).unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let l = snap.summary(&id).unwrap().live.clone().unwrap();
    assert_eq!(l.chunks, 3, "the forged chunk is not the stream's");
    assert_eq!(l.forged_chunks, 1);
    assert_eq!(l.forgeries[0].txid, ftxid);
    assert!(snap.read_chunk(&id, 3).is_err());

    // Chunk 3 mined, then the block orphaned and the chunk double-spent away: a gap at 3, while
    // chunk 4 stays where it is.
    let c3 = record_tx(&k, &head, 4, &chunk(3), 500);
    d.submit_tx(c3).unwrap();
    testkit::devnet::mine_one(&d).unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(ix.snapshot().live_chunks(&id).len(), 4);
    d.invalidate_tip().unwrap();
    let coin3 = (
        OutPoint::new(head.compute_txid(), 4),
        head.output[4].clone(),
    );
    let replace = k.spend(
        &[coin3],
        vec![TxOut {
            value: Amount::from_sat(PER_COIN - 3_000),
            script_pubkey: k.script.clone(),
        }],
    );
    d.submit_tx(replace).unwrap();
    let c4 = record_tx(&k, &head, 5, &chunk(4), 500);
    d.submit_tx(c4).unwrap();
    testkit::devnet::mine_one(&d).unwrap();
    testkit::devnet::mine_one(&d).unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let order: Vec<u32> = snap.live_chunks(&id).iter().map(|c| c.index).collect();
    assert_eq!(
        order,
        [0, 1, 2, 4],
        "chunk 3 is a gap, never replayed out of order"
    );
    assert_eq!(snap.summary(&id).unwrap().live.as_ref().unwrap().missing, 1);

    // An `end` whose count the stream cannot meet closes nothing it cannot verify; an end with
    // the count and root of chunks 0..=2 (as a publisher that re-sent nothing would) closes it.
    let root = cvp::merkle::root(&[payload(0), payload(1), payload(2)]);
    let end = Record::End(End {
        segment_count: 3,
        merkle_root: Some(root),
    });
    let etx = record_tx(&k, &head, 6, &end, 500);
    d.submit_tx(etx).unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let s = snap.summary(&id).unwrap();
    assert!(!s.live.as_ref().unwrap().open);
    assert_eq!(s.state, ContentState::Verified, "{:?}", s.flaws);
    let mut film = payload(0);
    film.extend(payload(1));
    film.extend(payload(2));
    assert_eq!(snap.read_all(&id).unwrap(), film);
}

/// A stranger's chunk `index` carrying `payload`, spending `coin`; returns it and its change.
fn stray(
    k: &Key,
    coin: &(OutPoint, TxOut),
    index: u32,
    payload: &[u8],
) -> (Transaction, (OutPoint, TxOut)) {
    let rec = Record::LiveChunk(LiveChunk {
        index,
        timestamp_ms: 0,
        payload: payload.to_vec(),
    });
    common::carry(k, coin, &[&[&rec.encode()]], 1_000)
}

fn live_of(snap: &Snapshot, id: &Txid) -> LiveSummary {
    snap.summary(id).unwrap().live.clone().unwrap()
}

/// (index, txid) of a stream's listed forgeries, sorted.
fn listed(l: &LiveSummary) -> Vec<(u32, Txid)> {
    let mut v: Vec<(u32, Txid)> = l.forgeries.iter().map(|f| (f.index, f.txid)).collect();
    v.sort();
    v
}

#[test]
fn a_strangers_chunk_is_forged_against_every_open_stream_and_a_closed_one_only_where_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let d = testkit::devnet::open(dir.path());
    let (ka, kb, kc, ks) = (key(51), key(52), key(53), key(54));
    let (ca, cb, cc) = (
        funded(&d, &ka, 1_000_000),
        funded(&d, &kb, 1_000_000),
        funded(&d, &kc, 1_000_000),
    );
    let scoin = funded(&d, &ks, 100_000);
    // Open stream A holds chunks 0 and 1, open stream B chunk 0; C holds 0..=2 and is closed.
    let (ha, hb, hc) = (
        header_tx(&ka, &ca, 2),
        header_tx(&kb, &cb, 1),
        header_tx(&kc, &cc, 4),
    );
    let (a, b, c) = (ha.compute_txid(), hb.compute_txid(), hc.compute_txid());
    let mut own = Vec::new();
    for (k, h, n, salt) in [(&ka, &ha, 2, 1), (&kb, &hb, 1, 2), (&kc, &hc, 3, 3)] {
        d.submit_tx(h.clone()).unwrap();
        for i in 0..n {
            let t = record_tx(k, h, i + 1, &chunk_of(i, salt), 500);
            own.push(d.submit_tx(t).unwrap());
        }
    }
    let root = cvp::merkle::root(&[salted(0, 3), salted(1, 3), salted(2, 3)]);
    let end = Record::End(End {
        segment_count: 3,
        merkle_root: Some(root),
    });
    d.submit_tx(record_tx(&kc, &hc, 4, &end, 500)).unwrap();

    // s1: index 1, other bytes. s2: index 7. s3: index 1 with C's bytes. s4: index 0 with A's.
    let (s1, next) = stray(&ks, &scoin, 1, b"a stranger's chunk");
    let (s2, next) = stray(&ks, &next, 7, b"another");
    let (s3, next) = stray(&ks, &next, 1, &salted(1, 3));
    let (s4, _) = stray(&ks, &next, 0, &salted(0, 1));
    let s: Vec<Txid> = [s1, s2, s3, s4]
        .into_iter()
        .map(|t| d.submit_tx(t).unwrap())
        .collect();
    let mut ix = Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    assert_eq!(snap.stray_live_chunks(), 4);
    assert_eq!(snap.summary(&c).unwrap().state, ContentState::Verified);
    let (la, lb, lc) = (live_of(&snap, &a), live_of(&snap, &b), live_of(&snap, &c));
    assert!(la.open && lb.open && !lc.open);
    assert_eq!(
        (la.forged_chunks, lb.forged_chunks, lc.forged_chunks),
        (3, 4, 2)
    );
    let want = |v: &[(u32, usize)]| {
        let mut v: Vec<(u32, Txid)> = v.iter().map(|(i, n)| (*i, s[*n])).collect();
        v.sort();
        v
    };
    assert_eq!(listed(&la), want(&[(1, 0), (7, 1), (1, 2)]));
    assert_eq!(listed(&lb), want(&[(1, 0), (7, 1), (1, 2), (0, 3)]));
    assert_eq!(listed(&lc), want(&[(1, 0), (0, 3)]));
    // Never played as the streams' chunks.
    for (id, n) in [(a, 2), (b, 1), (c, 3)] {
        let chunks = snap.live_chunks(&id);
        assert_eq!(chunks.len(), n);
        assert!(chunks.iter().all(|ch| own.contains(&ch.txid)));
    }
    assert_eq!(snap.read_chunk(&a, 1).unwrap(), salted(1, 1));
    assert!(snap.read_chunk(&b, 7).is_err());
    assert!(snap.read_chunk(&b, 1).is_err());
    assert_eq!(snap.read_all(&c).unwrap().len(), 3 * 300 + 3);
}

/// Open stream A (chunks 0..=3, salt 1) and closed stream C (chunks 0..=2, salt 3, `end`) in
/// `cat`; returns their ids.
fn two_streams(cat: &mut Catalog) -> (Txid, Txid) {
    let header = Record::Header(Header {
        title: Some("Live".into()),
        media_type: "video/x-cvpm".into(),
        ..Header::default()
    });
    let one = std::slice::from_ref(&header);
    let (ha, hc) = (bare(fake(1), one), bare(fake(2), one));
    let (a, c) = (ha.compute_txid(), hc.compute_txid());
    cat.add_tx(&ha, None);
    cat.add_tx(&hc, None);
    for i in 0..4 {
        cat.add_tx(&bare(OutPoint::new(a, i), &[chunk_of(i, 1)]), None);
    }
    for i in 0..3 {
        cat.add_tx(&bare(OutPoint::new(c, i), &[chunk_of(i, 3)]), None);
    }
    let root = cvp::merkle::root(&[salted(0, 3), salted(1, 3), salted(2, 3)]);
    let end = Record::End(End {
        segment_count: 3,
        merkle_root: Some(root),
    });
    cat.add_tx(&bare(OutPoint::new(c, 3), &[end]), None);
    (a, c)
}

/// Stray `i` (its own unseen parent): index `i % 10`, its own bytes, but C's bytes of chunk 0 when
/// `i % 100 == 0`.
fn numbered_stray(i: u32) -> Transaction {
    let payload = if i.is_multiple_of(100) {
        salted(0, 3)
    } else {
        format!("stray {i}").into_bytes()
    };
    let rec = Record::LiveChunk(LiveChunk {
        index: i % 10,
        timestamp_ms: 0,
        payload,
    });
    bare(fake(1_000 + i), &[rec])
}

#[test]
fn ten_thousand_stray_chunks_are_counted_by_lookups_and_leave_when_attributed_or_dropped() {
    let store = Arc::new(index::store::Store::in_memory().unwrap());
    let mut cat = Catalog::default();
    let (a, c) = two_streams(&mut cat);
    for i in 0..10_000 {
        cat.add_tx(&numbered_stray(i), None);
    }
    for _ in 0..3 {
        let snap = Snapshot::build(&cat, Arc::clone(&store), None);
        assert_eq!(snap.stray_live_chunks(), 10_000);
        assert_eq!(snap.unattributed(), 10_000);
        let (la, lc) = (live_of(&snap, &a), live_of(&snap, &c));
        assert_eq!((la.chunks, lc.chunks), (4, 3));
        // Open A: every stray (none has A's bytes). Closed C: indexes 0..=2, less its own bytes.
        assert_eq!(la.forged_chunks, 10_000);
        assert_eq!(lc.forged_chunks, 3_000 - 100);
        assert_eq!(la.forgeries.len(), 64);
        assert_eq!(lc.forgeries.len(), 64);
        assert!(la
            .forgeries
            .iter()
            .chain(&lc.forgeries)
            .all(|f| f.index == 0));
        let own_bytes: Vec<Txid> = (0..100)
            .map(|n| numbered_stray(n * 100).compute_txid())
            .collect();
        assert!(lc.forgeries.iter().all(|f| !own_bytes.contains(&f.txid)));
    }

    // A's chunk 4 seen before its fan-out is a stray (a forgery of open A, not of C), until the
    // fan-out comes and attributes it.
    let fan = bare(OutPoint::new(a, 4), &[Record::Link]);
    cat.add_tx(
        &bare(OutPoint::new(fan.compute_txid(), 0), &[chunk_of(4, 1)]),
        None,
    );
    let snap = Snapshot::build(&cat, Arc::clone(&store), None);
    assert_eq!(snap.stray_live_chunks(), 10_001);
    assert_eq!(live_of(&snap, &a).forged_chunks, 10_001);
    assert_eq!(live_of(&snap, &c).forged_chunks, 2_900);
    cat.add_tx(&fan, None);
    let snap = Snapshot::build(&cat, Arc::clone(&store), None);
    assert_eq!(snap.stray_live_chunks(), 10_000);
    let la = live_of(&snap, &a);
    assert_eq!((la.chunks, la.forged_chunks), (5, 10_000));

    // A lineage that keeps 4,000 waiting drops the oldest: the strays' bookkeeping follows it.
    let mut cat = Catalog::with_pending_limits(4_000, usize::MAX);
    let (a, c) = two_streams(&mut cat);
    for i in 0..10_000 {
        cat.add_tx(&numbered_stray(i), None);
    }
    let snap = Snapshot::build(&cat, Arc::clone(&store), None);
    assert_eq!(snap.unattributed(), 4_000);
    assert_eq!(snap.stray_live_chunks(), 4_000);
    assert_eq!(live_of(&snap, &a).forged_chunks, 4_000);
    // Strays 6,000..10,000 at indexes 0..=2: 1,200, of which 40 carry C's bytes of chunk 0.
    assert_eq!(live_of(&snap, &c).forged_chunks, 1_160);
    let kept = numbered_stray(6_001).compute_txid();
    let gone = numbered_stray(5_999).compute_txid();
    let la = live_of(&snap, &a);
    assert!(la.forgeries.iter().all(|f| f.txid != gone));
    assert!(cat.unattributed().any(|t| t.txid == kept));
}

#[test]
fn first_seen_times_are_pruned_as_transactions_leave_the_mempool() {
    let dir = tempfile::tempdir().unwrap();
    let d = testkit::devnet::open(dir.path());
    let (k, ks) = (key(61), key(62));
    let coin = funded(&d, &k, 1_000_000);
    let scoin = funded(&d, &ks, 100_000);
    let head = header_tx(&k, &coin, 1);
    let id = d.submit_tx(head.clone()).unwrap();
    d.submit_tx(record_tx(&k, &head, 1, &chunk(0), 500))
        .unwrap();
    let (s1, _) = stray(&ks, &scoin, 1, b"spam");
    d.submit_tx(s1).unwrap();
    let mut ix = Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(ix.arrivals_len(), 3, "the header, chunk 0 and the stray");
    assert_eq!(live_of(&ix.snapshot(), &id).forged_chunks, 1);
    let arrived = ix.snapshot().live_chunks(&id)[0].arrived_unix_ms;

    // The stray replaced by a plain payment (RBF): its time goes, and it is no forgery now.
    let plain = ks.spend(
        std::slice::from_ref(&scoin),
        vec![TxOut {
            value: scoin.1.value - Amount::from_sat(5_000),
            script_pubkey: ks.script.clone(),
        }],
    );
    let plain_out = (
        OutPoint::new(plain.compute_txid(), 0),
        plain.output[0].clone(),
    );
    d.submit_tx(plain).unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(ix.arrivals_len(), 2);
    let snap = ix.snapshot();
    assert_eq!(
        (snap.stray_live_chunks(), live_of(&snap, &id).forged_chunks),
        (0, 0)
    );

    // Another stray, mined with the stream: a confirmed stray keeps no time (nothing reads it),
    // though it stays counted; the stream's own keep theirs.
    let (s2, _) = stray(&ks, &plain_out, 2, b"more spam");
    d.submit_tx(s2).unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(ix.arrivals_len(), 3);
    testkit::devnet::mine_one(&d).unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(ix.arrivals_len(), 2);
    let snap = ix.snapshot();
    assert_eq!(
        (snap.stray_live_chunks(), live_of(&snap, &id).forged_chunks),
        (1, 1)
    );

    // The block orphaned: all back in the mempool, the stream's times as first seen.
    d.invalidate_tip().unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(ix.arrivals_len(), 3);
    assert_eq!(ix.snapshot().live_chunks(&id)[0].arrived_unix_ms, arrived);

    // The stray double-spent away: its time goes too.
    let spend = ks.spend(
        std::slice::from_ref(&plain_out),
        vec![TxOut {
            value: plain_out.1.value - Amount::from_sat(5_000),
            script_pubkey: ks.script.clone(),
        }],
    );
    d.submit_tx(spend).unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(ix.arrivals_len(), 2);
    let snap = ix.snapshot();
    assert_eq!(
        (snap.stray_live_chunks(), live_of(&snap, &id).forged_chunks),
        (0, 0)
    );
    assert_eq!(snap.live_chunks(&id).len(), 1);
}
