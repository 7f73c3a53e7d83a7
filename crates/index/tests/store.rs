//! The stored layout (docs/index-schema.md) pinned on bytes; schema refusal; reorgs and restarts
//! against the devnet.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use bitcoin::hashes::Hash;
use bitcoin::{Amount, BlockHash, Txid};
use cvp::Carrier;
use devnet::{Devnet, DevnetConfig};
use index::store::{BlockEntry, Store, StoreError, SCHEMA_VERSION};
use index::Indexer;
use redb::{ReadableDatabase, TableDefinition};

#[test]
fn entry_bytes_are_pinned() {
    let e = BlockEntry {
        hash: BlockHash::from_byte_array([0xab; 32]),
        txids: vec![
            Txid::from_byte_array([1; 32]),
            Txid::from_byte_array([2; 32]),
        ],
    };
    let mut want = vec![0xab; 32];
    want.extend([1u8; 32]);
    want.extend([2u8; 32]);
    assert_eq!(e.encode(), want);
    assert_eq!(BlockEntry::decode(7, &want).unwrap(), e);
    assert!(matches!(
        BlockEntry::decode(7, &want[..40]),
        Err(StoreError::Damaged { .. })
    ));
    assert!(BlockEntry::decode(7, &[0; 5]).is_err());
}

#[test]
fn stored_tables_are_pinned_and_other_versions_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.redb");
    let txid = Txid::from_byte_array([3; 32]);
    {
        let s = Store::open(&path).unwrap();
        s.put_block(
            5,
            BlockHash::from_byte_array([1; 32]),
            &[(txid, &[9, 8][..])],
        )
        .unwrap();
        s.update_mempool(&[(Txid::from_byte_array([4; 32]), vec![7])], &[])
            .unwrap();
        s.put_coins(&[(
            bitcoin::OutPoint::new(txid, 2),
            bitcoin::TxOut {
                value: Amount::from_sat(0x0102),
                script_pubkey: vec![0x51].into(),
            },
        )])
        .unwrap();
    }
    {
        let db = redb::Database::open(&path).unwrap();
        let r = db.begin_read().unwrap();
        let meta = r
            .open_table(TableDefinition::<&str, &[u8]>::new("meta"))
            .unwrap();
        assert_eq!(
            meta.get("schema_version").unwrap().unwrap().value(),
            SCHEMA_VERSION.to_le_bytes()
        );
        assert_eq!(SCHEMA_VERSION, 3);
        assert_eq!(
            meta.get("start_height").unwrap().unwrap().value(),
            [0, 0, 0, 0],
            "a new index starts at genesis unless told otherwise"
        );
        let blocks = r
            .open_table(TableDefinition::<u32, &[u8]>::new("blocks"))
            .unwrap();
        let mut want = vec![1u8; 32];
        want.extend([3u8; 32]);
        assert_eq!(blocks.get(5).unwrap().unwrap().value(), want.as_slice());
        let txs = r
            .open_table(TableDefinition::<&[u8], &[u8]>::new("txs"))
            .unwrap();
        assert_eq!(
            txs.get([3u8; 32].as_slice()).unwrap().unwrap().value(),
            [9, 8]
        );
        let mempool = r
            .open_table(TableDefinition::<&[u8], &[u8]>::new("mempool"))
            .unwrap();
        assert_eq!(
            mempool.get([4u8; 32].as_slice()).unwrap().unwrap().value(),
            [7]
        );
        let coins = r
            .open_table(TableDefinition::<&[u8], &[u8]>::new("coins"))
            .unwrap();
        let mut key = vec![3u8; 32];
        key.extend([2, 0, 0, 0]);
        assert_eq!(
            coins.get(key.as_slice()).unwrap().unwrap().value(),
            [2, 1, 0, 0, 0, 0, 0, 0, 0x51]
        );
    }
    {
        let db = redb::Database::create(&path).unwrap();
        let w = db.begin_write().unwrap();
        w.open_table(TableDefinition::<&str, &[u8]>::new("meta"))
            .unwrap()
            .insert("schema_version", 1u32.to_le_bytes().as_slice())
            .unwrap();
        w.commit().unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaMismatch {
                found: 1,
                expected: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("--reindex"));
}

fn publish(d: &Devnet, seed: u8, len: usize) -> bitcoin::Txid {
    let data: Vec<u8> = (0..len).map(|i| (i % 241) as u8).collect();
    common::publish(d, seed, &data, "Reorg", Carrier::OpReturn).0
}

#[test]
fn reorgs_and_restarts_keep_the_index_true() {
    let dir = tempfile::tempdir().unwrap();
    let d = Devnet::open(&dir.path().join("chain"), DevnetConfig::default()).unwrap();
    let id = publish(&d, 77, 250_000);
    d.mine(1, &d.faucet_script()).unwrap();
    let path = dir.path().join("index.redb");
    let mut ix = Indexer::open(&path).unwrap();
    ix.poll(&d).unwrap();
    let state = |ix: &Indexer| {
        serde_json::to_value(ix.snapshot().summary(&id).unwrap()).unwrap()["state"].clone()
    };
    assert_eq!(state(&ix), "complete");
    // The film's block is orphaned: its transactions go back to the mempool.
    d.reorg(1).unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(ix.reorgs, 1);
    assert_eq!(
        state(&ix),
        "verified",
        "still whole and verified, but unconfirmed"
    );
    // Restart: the store holds only the new branch; the catalog is rebuilt from it.
    drop(ix);
    let mut ix = Indexer::open(&path).unwrap();
    assert_eq!(ix.cursor().unwrap().unwrap().1, d.tip().hash);
    d.mine(1, &d.faucet_script()).unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(state(&ix), "complete", "re-mined");
    assert_eq!(ix.snapshot().read_all(&id).unwrap().len(), 250_000);
}

#[test]
fn a_part_of_a_stored_transaction_is_read_only_at_the_length_it_was_checked() {
    let s = Store::in_memory().unwrap();
    let (mined, pending) = (
        Txid::from_byte_array([3; 32]),
        Txid::from_byte_array([4; 32]),
    );
    s.put_block(
        1,
        BlockHash::from_byte_array([1; 32]),
        &[(mined, &[1, 2, 3, 4, 5][..])],
    )
    .unwrap();
    s.update_mempool(&[(pending, vec![6, 7, 8])], &[]).unwrap();
    let mut out = vec![0];
    assert!(s.read_tx_part(&mined, 5, 1..4, &mut out).unwrap());
    assert!(s.read_tx_part(&pending, 3, 2..3, &mut out).unwrap());
    assert_eq!(out, [0, 2, 3, 4, 8]);
    // Another length (another serialization under the txid), a part outside it, no such txid.
    assert!(!s.read_tx_part(&mined, 6, 1..4, &mut out).unwrap());
    assert!(!s.read_tx_part(&mined, 5, 3..6, &mut out).unwrap());
    assert!(!s
        .read_tx_part(&Txid::from_byte_array([5; 32]), 5, 0..1, &mut out)
        .unwrap());
    assert_eq!(out, [0, 2, 3, 4, 8]);
}

#[test]
fn a_version_2_index_is_migrated_as_one_started_at_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.redb");
    drop(Store::open(&path).unwrap());
    {
        let db = redb::Database::create(&path).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut meta = w
                .open_table(TableDefinition::<&str, &[u8]>::new("meta"))
                .unwrap();
            meta.insert("schema_version", 2u32.to_le_bytes().as_slice())
                .unwrap();
            meta.remove("start_height").unwrap();
        }
        w.commit().unwrap();
    }
    let s = Store::open_from(&path, None, 500).unwrap();
    assert_eq!(s.start_height(), 0, "version 2 scanned from genesis");
    drop(s);
    let db = redb::Database::open(&path).unwrap();
    let r = db.begin_read().unwrap();
    let meta = r
        .open_table(TableDefinition::<&str, &[u8]>::new("meta"))
        .unwrap();
    assert_eq!(
        meta.get("schema_version").unwrap().unwrap().value(),
        [3, 0, 0, 0]
    );
    assert_eq!(
        meta.get("start_height").unwrap().unwrap().value(),
        [0, 0, 0, 0]
    );
}

#[test]
fn an_index_started_at_a_height_skips_the_blocks_below_and_keeps_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let d = Devnet::open(&dir.path().join("chain"), DevnetConfig::default()).unwrap();
    let below = publish(&d, 78, 3_000);
    d.mine(1, &d.faucet_script()).unwrap();
    let start = d.tip().height + 1;
    let above = publish(&d, 79, 3_000);
    d.mine(1, &d.faucet_script()).unwrap();
    let path = dir.path().join("index.redb");
    let mut ix = Indexer::open_from(&path, Some(start), 0).unwrap();
    assert_eq!(ix.start_height(), start);
    let mut seen = Vec::new();
    let report = ix.poll_with(&d, &mut |p| seen.push(p)).unwrap();
    assert_eq!(report.blocks, d.tip().height + 1 - start);
    assert_eq!(seen.first().map(|p| p.height), Some(start));
    assert_eq!(
        seen.last().map(|p| (p.height, p.tip, p.first)),
        Some((d.tip().height, d.tip().height, start))
    );
    let snap = ix.snapshot();
    assert!(snap.summary(&below).is_none(), "published below the start");
    assert!(snap.summary(&above).is_some(), "published above it");
    // The snapshot holds the store open, as the index does.
    drop(snap);
    drop(ix);
    // A restart without a height keeps the stored one, whatever the default; another is refused.
    let mut ix = Indexer::open_from(&path, None, 0).unwrap();
    assert_eq!(ix.start_height(), start);
    d.mine(1, &d.faucet_script()).unwrap();
    ix.poll(&d).unwrap();
    assert!(ix.snapshot().summary(&below).is_none());
    assert!(ix.snapshot().summary(&above).is_some());
    drop(ix);
    let err = Indexer::open_from(&path, Some(0), 0).unwrap_err();
    assert!(err.to_string().contains("--reindex"), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("starts at height {start}")),
        "{err}"
    );
    // A reorg deeper than the start unwinds to the start, never below.
    let mut ix = Indexer::open_from(&path, None, 0).unwrap();
    d.reorg(d.tip().height + 1 - start).unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(ix.cursor().unwrap().unwrap().1, d.tip().hash);
    assert_eq!(ix.start_height(), start);
}

#[test]
fn the_default_start_is_zero_on_regtest_and_on_chains_that_are_not_the_public_one() {
    use bitcoin::constants::genesis_block;
    use bitcoin::Network;
    let g = |n| genesis_block(n).block_hash();
    assert_eq!(
        index::default_start_height(Network::Regtest, g(Network::Regtest), 1_000_000),
        0
    );
    assert_eq!(
        index::default_start_height(Network::Bitcoin, g(Network::Bitcoin), 1_000_000),
        940_000
    );
    assert_eq!(
        index::default_start_height(Network::Testnet4, g(Network::Testnet4), 1_000_000),
        47_000
    );
    assert_eq!(
        index::default_start_height(Network::Signet, g(Network::Signet), 1_000_000),
        300_000
    );
    // A chain of another genesis starts at 0, and so does a custom signet (-signetchallenge):
    // it shares signet's genesis, but its tip is below the default.
    let other = BlockHash::from_byte_array([7; 32]);
    assert_eq!(
        index::default_start_height(Network::Signet, other, 1_000_000),
        0
    );
    assert_eq!(
        index::default_start_height(Network::Signet, g(Network::Signet), 250),
        0
    );
}
