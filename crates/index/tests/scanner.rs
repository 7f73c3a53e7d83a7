//! The scanner against a hostile chain and a failing backend: units split over pushes, a lineage
//! through a transaction of an unknown odd type, blocks that are not what they claim, backends
//! that answer 429/503, a mempool whose content is replaced away, and reads by range.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use bitcoin::{BlockHash, FeeRate, Transaction, Txid};
use chain::{BlockRef, ChainBackend, ChainError, Retry, TxStatus};
use common::{carry, funded, key, publish};
use cvp::{Carrier, Header, Record, Segment};
use devnet::{Devnet, DevnetConfig};
use index::{ContentState, IndexError, Indexer};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

fn devnet(dir: &tempfile::TempDir) -> Devnet {
    Devnet::open(&dir.path().join("chain"), DevnetConfig::default()).unwrap()
}

fn film(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_unit_split_inside_its_signature_is_found_and_an_odd_only_transaction_keeps_the_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet(&dir);
    let k = key(31);
    let coin = funded(&d, &k, 1_000_000);
    let payload = b"a film of twenty-nine bytes!!".to_vec();
    let header = Record::Header(Header {
        title: Some("Split".into()),
        media_type: "video/mp4".into(),
        total_length: Some(payload.len() as u64),
        segment_count: Some(1),
        segment_size: Some(payload.len() as u32),
        merkle_root: Some(cvp::merkle::root(&[payload.as_slice()])),
        ..Header::default()
    })
    .encode();
    // The header's unit in three pushes: "C" | "V" 0x01 | the rest. No push holds "CV\x01".
    let (a, next) = carry(
        &k,
        &coin,
        &[&[&header[..1], &header[1..3], &header[3..]]],
        500,
    );
    // Only a record of an unknown odd type (9): it must still pass the lineage on.
    let odd = [b'C', b'V', 1, 9, 0xde, 0xad];
    let (b, next) = carry(&k, &next, &[&[&odd]], 500);
    let seg = Record::Segment(Segment {
        index: 0,
        payload: payload.clone(),
    })
    .encode();
    let (c, _) = carry(&k, &next, &[&[&seg]], 500);
    for tx in [&a, &b, &c] {
        d.submit_tx(tx.clone()).unwrap();
    }
    d.mine(1, &d.faucet_script()).unwrap();
    let mut ix = Indexer::open(&dir.path().join("index.redb")).unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let id = a.compute_txid();
    let s = snap.summary(&id).expect("the split header is found");
    assert_eq!(s.state, ContentState::Complete);
    assert_eq!(s.transactions, 3, "header, odd-only link and segment");
    assert_eq!(snap.read_all(&id).unwrap(), payload);
    let p = s
        .publisher
        .as_ref()
        .expect("the funding coin names the publisher");
    assert_eq!(p.key, hex::encode(&k.script.as_bytes()[2..34]));
}

/// The devnet behind a hostile backend: it alters one block it serves (`tamper`: that block and
/// which byte to flip, counted from the end; `None`: the header's first byte), and/or fails about a
/// third of the calls with 503 or 429 (`flaky`), deterministically.
#[derive(Debug)]
struct Hostile {
    inner: Devnet,
    tamper: Option<(BlockHash, Option<usize>)>,
    flaky: Option<AtomicU64>,
}

impl Hostile {
    fn lying(inner: &Devnet, target: BlockHash, from_end: Option<usize>) -> Self {
        Hostile {
            inner: inner.clone(),
            tamper: Some((target, from_end)),
            flaky: None,
        }
    }

    fn flaky(inner: &Devnet) -> Self {
        Hostile {
            inner: inner.clone(),
            tamper: None,
            flaky: Some(AtomicU64::new(7)),
        }
    }

    fn roll(&self) -> Result<(), ChainError> {
        let Some(state) = &self.flaky else {
            return Ok(());
        };
        let x = state
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_mul(0xbf58_476d_1ce4_e5b9);
        match (x >> 33) % 3 {
            0 => Err(ChainError::Http {
                url: "flaky".into(),
                status: if x & 1 == 0 { 503 } else { 429 },
                body: "try later".into(),
            }),
            _ => Ok(()),
        }
    }
}

impl ChainBackend for Hostile {
    fn network(&self) -> bitcoin::Network {
        self.inner.network()
    }
    fn tip(&self) -> Result<BlockRef, ChainError> {
        ChainBackend::tip(&self.inner)
    }
    fn block_hash(&self, height: u32) -> Result<BlockHash, ChainError> {
        self.roll()?;
        ChainBackend::block_hash(&self.inner, height)
    }
    fn raw_block(&self, hash: &BlockHash) -> Result<Vec<u8>, ChainError> {
        self.roll()?;
        let mut raw = ChainBackend::raw_block(&self.inner, hash)?;
        if let Some((target, from_end)) = self.tamper {
            if *hash == target {
                let at = from_end.map_or(0, |n| raw.len() - 1 - n);
                raw[at] ^= 0x01;
            }
        }
        Ok(raw)
    }
    fn raw_tx(&self, txid: &Txid) -> Result<Vec<u8>, ChainError> {
        self.roll()?;
        self.inner.raw_tx(txid)
    }
    fn tx_status(&self, txid: &Txid) -> Result<TxStatus, ChainError> {
        self.inner.tx_status(txid)
    }
    fn mempool_txids(&self) -> Result<Vec<Txid>, ChainError> {
        self.roll()?;
        ChainBackend::mempool_txids(&self.inner)
    }
    fn broadcast(&self, tx: &Transaction) -> Result<Txid, ChainError> {
        self.inner.broadcast(tx)
    }
    fn fee_estimate(&self, t: u16) -> Result<FeeRate, ChainError> {
        ChainBackend::fee_estimate(&self.inner, t)
    }
}

#[test]
fn a_block_whose_bytes_do_not_match_its_hash_or_commitments_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet(&dir);
    let data = film(5_000);
    publish(&d, 41, &data, "Witness", Carrier::Envelope);
    d.mine(1, &d.faucet_script()).unwrap();
    // The last block holds the envelope reveal; its last bytes are the reveal's lock time, and the
    // 40th byte from the end lies inside its witness (the control block).
    for (from_end, what) in [(None, "hash"), (Some(40), "witness"), (Some(1), "merkle")] {
        let path = dir.path().join(format!("index-{what}.redb"));
        let mut ix = Indexer::open(&path).unwrap().with_retry(Retry {
            attempts: 1,
            ..Retry::default()
        });
        let lying = Hostile::lying(&d, d.tip().hash, from_end);
        let err = ix.poll(&lying).unwrap_err();
        assert!(
            matches!(err, IndexError::Block { height, .. } if height == d.tip().height),
            "{what}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(what) || (what == "hash" && msg.contains("hashes to")),
            "{what}: {msg}"
        );
        // Nothing from the lying answer was stored beyond the blocks before it.
        let cursor = ix.cursor().unwrap().map(|c| c.0);
        assert!(
            cursor.is_none_or(|h| h < d.tip().height),
            "{what}: {cursor:?}"
        );
        // The honest backend brings the same index up to date.
        ix.poll(&d).unwrap();
        assert_eq!(ix.cursor().unwrap().unwrap().1, d.tip().hash);
        assert_eq!(ix.snapshot().summaries().len(), 1);
    }
}

#[test]
fn a_backend_that_answers_503_and_429_at_random_never_unwinds_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet(&dir);
    let data = film(120_000);
    let (id, _) = publish(&d, 42, &data, "Flaky", Carrier::OpReturn);
    d.mine(2, &d.faucet_script()).unwrap();
    let flaky = Hostile::flaky(&d);
    let statuses = poll_through_failures(&dir, &d, &flaky, &id, &data);
    assert!(
        statuses.contains(&503) && statuses.contains(&429),
        "{statuses:?}"
    );
}

/// Poll `backend` (which fails at random) with one retry only, so that errors reach the indexer,
/// until `id` is indexed to the tip: every error is transient, the cursor never goes back, nothing
/// is unwound, and the film reads back whole. Returns the HTTP statuses the errors carried.
fn poll_through_failures(
    dir: &tempfile::TempDir,
    d: &Devnet,
    backend: &dyn ChainBackend,
    id: &Txid,
    data: &[u8],
) -> std::collections::BTreeSet<u16> {
    let mut ix = Indexer::open(&dir.path().join("index.redb"))
        .unwrap()
        .with_retry(Retry {
            attempts: 2,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        });
    let (mut last, mut errors, mut statuses) = (None, 0, std::collections::BTreeSet::new());
    for _ in 0..300 {
        if let Err(e) = ix.poll(backend) {
            match &e {
                IndexError::Chain(c) => {
                    assert!(c.is_transient(), "{e}");
                    statuses.extend(c.http_status());
                }
                other => panic!("{other}"),
            }
            errors += 1;
        }
        let cursor = ix.cursor().unwrap().map(|c| c.0);
        assert!(
            cursor >= last,
            "the cursor went back from {last:?} to {cursor:?}"
        );
        last = cursor;
        if cursor == Some(d.tip().height) && ix.snapshot().summary(id).is_some() {
            break;
        }
    }
    assert!(errors > 0, "the backend did fail some polls");
    assert_eq!(ix.reorgs, 0, "an error is never read as a reorg");
    assert_eq!(last, Some(d.tip().height));
    assert_eq!(ix.snapshot().read_all(id).unwrap(), data);
    statuses
}

#[test]
fn content_replaced_in_the_mempool_disappears_and_only_new_txids_are_fetched() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet(&dir);
    let data = film(3_000);
    let (id, coin) = publish(&d, 43, &data, "Double spent", Carrier::OpReturn);
    let mut ix = Indexer::open(&dir.path().join("index.redb")).unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(
        ix.snapshot().summary(&id).unwrap().state,
        ContentState::Verified,
        "whole and verified, from the mempool"
    );
    let again = ix.poll(&d).unwrap();
    assert_eq!(
        again.fetched, 0,
        "nothing new in the mempool: nothing fetched"
    );
    // The publisher's funding coin is spent elsewhere with a higher fee: the film is replaced.
    let k = key(43);
    let (conflict, _) = carry(&k, &coin, &[], 60_000);
    d.submit_tx(conflict.clone()).unwrap();
    let r = ix.poll(&d).unwrap();
    assert!(r.dropped >= 1, "{r:?}");
    assert_eq!(r.fetched, 1, "only the replacement is new");
    assert!(
        ix.snapshot().summary(&id).is_none(),
        "a film double-spent away is no longer served"
    );
    // And the same after a restart: the stored mempool is reconciled with the backend's.
    drop(ix);
    let mut ix = Indexer::open(&dir.path().join("index.redb")).unwrap();
    ix.poll(&d).unwrap();
    assert!(ix.snapshot().summary(&id).is_none());
}

#[test]
fn reads_by_range_cross_segments_and_refuse_what_is_not_verified() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet(&dir);
    let data = film(250_000);
    let (id, _) = publish(&d, 44, &data, "Ranges", Carrier::OpReturn);
    d.mine(1, &d.faucet_script()).unwrap();
    let mut ix = Indexer::open(&dir.path().join("index.redb")).unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let s = snap.summary(&id).unwrap();
    assert_eq!(s.verified_length, data.len() as u64);
    let ranges = [
        (0, 10),
        (99_790, 99_810),
        (0, 250_000),
        (249_999, 250_000),
        (5, 5),
    ];
    // Twice: the first read checks each segment whole, the second slices the stored transactions.
    for (a, b) in ranges.into_iter().chain(ranges) {
        assert_eq!(snap.read(&id, a..b).unwrap(), data[a as usize..b as usize]);
    }
    // Envelope segments (in the witness, never sliced) read the same, every time checked whole.
    let (env, _) = publish(&d, 45, &data, "Envelope ranges", Carrier::Envelope);
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    for (a, b) in ranges.into_iter().chain(ranges) {
        assert_eq!(snap.read(&env, a..b).unwrap(), data[a as usize..b as usize]);
        assert_eq!(snap.read(&id, a..b).unwrap(), data[a as usize..b as usize]);
    }
    assert!(snap.read(&id, 10..250_001).is_err());
    assert!(snap
        .read(
            &Txid::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
            0..1
        )
        .is_err());
}

/// The devnet's Esplora API behind a layer that answers 503 or 429 to a third of the requests.
fn serve_flaky(d: &Devnet) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let d = d.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let n = std::sync::Arc::new(AtomicU64::new(1));
            let app = devnet::http::router(d).layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let n = std::sync::Arc::clone(&n);
                    async move {
                        let x = n
                            .fetch_add(1, Ordering::Relaxed)
                            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
                        match (x >> 40) % 6 {
                            0 => axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
                            1 => axum::http::StatusCode::TOO_MANY_REQUESTS.into_response(),
                            _ => next.run(req).await,
                        }
                    }
                },
            ));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

use axum::response::IntoResponse;

#[test]
fn an_esplora_server_that_answers_429_and_503_at_random_never_unwinds_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet(&dir);
    let data = film(50_000);
    let (id, _) = publish(&d, 45, &data, "Over HTTP", Carrier::OpReturn);
    d.mine(3, &d.faucet_script()).unwrap();
    let esplora = chain::esplora::EsploraBackend::new(&serve_flaky(&d), bitcoin::Network::Regtest);
    let statuses = poll_through_failures(&dir, &d, &esplora, &id, &data);
    assert!(
        !statuses.is_empty() && statuses.iter().all(|s| *s == 429 || *s == 503),
        "{statuses:?}"
    );
}
