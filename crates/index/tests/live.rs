//! Live streams on the devnet: an open header whose lineage fans out to one coin per chunk, live
//! chunks arriving out of order from the mempool (listed in index order), a stranger's chunks
//! (never attributed, counted as forgeries), a chunk double-spent away after a reorg (a gap), and
//! the `end` record that closes the stream into a verified film.
#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

mod common;

use bitcoin::{Amount, OutPoint, Transaction, TxOut};
use common::{funded, key, op_return, Key};
use cvp::{End, Header, LiveChunk, Record};
use index::{ContentState, Indexer};

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
    (0..300 + index as usize)
        .map(|i| (i as u32 * 7 + index) as u8)
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
