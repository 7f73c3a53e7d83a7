//! Generated films in a generated index, for the gateway's benchmarks: films of 99,794-byte
//! segments in OP_RETURN units, each transaction spending the previous one's change (so the
//! lineage rule attributes them), written straight into an index store, 40 transactions a block.

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::{Amount, BlockHash, OutPoint, ScriptBuf, Transaction, TxIn, TxOut, Txid};
use cvp::{Header, Record, Segment};
use std::path::Path;

const SEGMENT: usize = 99_794;

/// The bytes of film number `film`: SplitMix64 of (film, position), so no two segments of any
/// films are alike (the store's cache is keyed by content: repeated segments would be shared).
pub fn film_bytes(film: u32, len: usize) -> impl Iterator<Item = u8> {
    (0..len).map(move |i| {
        let mut z = (u64::from(film) << 40 | (i / 8) as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> (8 * (i % 8))) as u8
    })
}

fn tx(parent: OutPoint, units: &[Vec<u8>]) -> Transaction {
    let mut output: Vec<TxOut> = units
        .iter()
        .map(|u| TxOut {
            value: Amount::ZERO,
            script_pubkey: cvp::carrier::op_return_script(u),
        })
        .collect();
    output.push(TxOut {
        value: Amount::from_sat(10_000),
        script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
    });
    Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: parent,
            ..Default::default()
        }],
        output,
    }
}

/// Write `films` films of `film_len` bytes into a new index at `path`.
pub fn generate(path: &Path, films: u32, film_len: usize) {
    let store = index::store::Store::open(path).unwrap();
    let mut height = 0u32;
    let mut block: Vec<(Txid, Vec<u8>)> = Vec::new();
    let flush = |block: &mut Vec<(Txid, Vec<u8>)>, height: &mut u32| {
        let rows: Vec<(Txid, &[u8])> = block.iter().map(|(t, r)| (*t, r.as_slice())).collect();
        let hash = BlockHash::from_raw_hash(sha256d::Hash::hash(&height.to_le_bytes()));
        store.put_block(*height, hash, &rows).unwrap();
        *height += 1;
        block.clear();
    };
    for f in 0..films {
        let bytes: Vec<u8> = film_bytes(f, film_len).collect();
        let segs: Vec<&[u8]> = bytes.chunks(SEGMENT).collect();
        let header = Record::Header(Header {
            title: Some(format!("film {f}")),
            media_type: "video/mp4".into(),
            total_length: Some(film_len as u64),
            segment_count: Some(segs.len() as u32),
            segment_size: Some(SEGMENT as u32),
            merkle_root: Some(cvp::merkle::root(&segs)),
            ..Header::default()
        });
        let coin = OutPoint::new(
            Txid::from_raw_hash(sha256d::Hash::hash(&f.to_le_bytes())),
            0,
        );
        let mut prev = tx(coin, &[header.encode()]);
        let mut txs = vec![prev.clone()];
        for (i, s) in segs.iter().enumerate() {
            let unit = Record::Segment(Segment {
                index: i as u32,
                payload: s.to_vec(),
            })
            .encode();
            let change = OutPoint::new(prev.compute_txid(), prev.output.len() as u32 - 1);
            prev = tx(change, &[unit]);
            txs.push(prev.clone());
        }
        for t in txs {
            block.push((t.compute_txid(), bitcoin::consensus::serialize(&t)));
            if block.len() == 40 {
                flush(&mut block, &mut height);
            }
        }
    }
    if !block.is_empty() {
        flush(&mut block, &mut height);
    }
}
