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
        assert_eq!(SCHEMA_VERSION, 2);
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
                expected: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("--reindex"));
}

fn publish(d: &Devnet, len: usize) -> bitcoin::Txid {
    let data: Vec<u8> = (0..len).map(|i| (i % 241) as u8).collect();
    common::publish(d, 77, &data, "Reorg", Carrier::OpReturn).0
}

#[test]
fn reorgs_and_restarts_keep_the_index_true() {
    let dir = tempfile::tempdir().unwrap();
    let d = Devnet::open(&dir.path().join("chain"), DevnetConfig::default()).unwrap();
    let id = publish(&d, 250_000);
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
