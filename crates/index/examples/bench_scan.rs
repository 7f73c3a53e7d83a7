//! Scan throughput on a synthetic mainnet-like chain: blocks of about 1.5 MB of P2WPKH and P2TR
//! spends with a few CVP records among them, with a real coinbase, Merkle root and witness
//! commitment. Every side computes what the scanner needs from each block: the block checked
//! against the hash asked for, its Merkle root and its witness commitment, then the transactions
//! that carry CVP records, each with its txid and raw bytes (what the index stores); all sides
//! must find the same transactions.
//! - Baseline, with rust-bitcoin: deserialize every block, `block_hash`, `check_merkle_root`,
//!   `check_witness_commitment`, `records_in_tx` on every transaction, txid and bytes of those
//!   with records.
//! - Ours, the check alone (`cvp::rawblock`, as `Indexer` calls it): walk transaction spans by
//!   length, the same three checks from those spans, decode only the transactions whose OP_RETURN
//!   or envelope pushes start a CVP unit, `records_in_tx` on those.
//! - The scanner end to end: `index::Indexer` polling an in-process backend that serves the same
//!   blocks from memory (a copy per request), storing into its redb `store::Store`, on disk (a fresh
//!   file in a temp dir, each block committed durably) and in memory, and publishing its snapshot.
//!
//! Run: `cargo run --release -p index --example bench_scan`.
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, Block, BlockHash, CompactTarget, FeeRate, Network, OutPoint,
    ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use chain::{BlockRef, ChainBackend, ChainError, TxStatus};
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn spend(r: &mut Rng, taproot: bool) -> Transaction {
    let inputs = 1 + (r.next() % 3) as usize;
    let input = (0..inputs)
        .map(|_| {
            let witness = if taproot {
                Witness::from_slice(&[r.bytes(64)])
            } else {
                Witness::from_slice(&[r.bytes(72), r.bytes(33)])
            };
            TxIn {
                previous_output: OutPoint::new(
                    Txid::from_byte_array(r.bytes(32).try_into().unwrap()),
                    0,
                ),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness,
            }
        })
        .collect();
    let output = (0..2)
        .map(|_| {
            let spk = if taproot {
                [&[0x51, 0x20][..], &r.bytes(32)].concat()
            } else {
                [&[0x00, 0x14][..], &r.bytes(20)].concat()
            };
            TxOut {
                value: Amount::from_sat(r.next() % 100_000_000),
                script_pubkey: ScriptBuf::from_bytes(spk),
            }
        })
        .collect();
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input,
        output,
    }
}

fn cvp_tx(r: &mut Rng, i: u32) -> Transaction {
    let mut tx = spend(r, true);
    let unit = cvp::Record::Segment(cvp::Segment {
        index: i,
        payload: r.bytes(74),
    })
    .encode();
    tx.output.push(TxOut {
        value: Amount::ZERO,
        script_pubkey: cvp::carrier::op_return_script(&unit),
    });
    tx
}

fn block(r: &mut Rng, n: u32) -> Vec<u8> {
    let mut txdata = Vec::new();
    let mut size = 0;
    let mut i = 0;
    while size < 1_500_000 {
        let taproot = r.next().is_multiple_of(2);
        let tx = if i % 2000 == 0 {
            cvp_tx(r, n * 10 + i / 2000)
        } else {
            spend(r, taproot)
        };
        size += serialize(&tx).len();
        txdata.push(tx);
        i += 1;
    }
    let coinbase = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::from_bytes(vec![3, n as u8, 0, 0]),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[[0u8; 32]]),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(50),
            script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
        }],
    };
    txdata.insert(0, coinbase);
    let header = Header {
        version: BlockVersion::TWO,
        prev_blockhash: bitcoin::BlockHash::all_zeros(),
        merkle_root: bitcoin::TxMerkleNode::all_zeros(),
        time: n,
        bits: CompactTarget::from_consensus(0x207f_ffff),
        nonce: 0,
    };
    let mut block = Block { header, txdata };
    let commitment = Block::compute_witness_commitment(&block.witness_root().unwrap(), &[0u8; 32]);
    let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    script.extend_from_slice(commitment.as_byte_array());
    block.txdata[0].output.push(TxOut {
        value: Amount::ZERO,
        script_pubkey: ScriptBuf::from_bytes(script),
    });
    block.header.merkle_root = block.compute_merkle_root().unwrap();
    assert!(block.check_merkle_root() && block.check_witness_commitment());
    serialize(&block)
}

/// The blocks, served from memory (each answer a copy, as a backend's would be); no mempool.
#[derive(Debug)]
struct Blocks {
    raw: Vec<Vec<u8>>,
    hashes: Vec<BlockHash>,
}

impl ChainBackend for Blocks {
    fn network(&self) -> Network {
        Network::Regtest
    }
    fn tip(&self) -> Result<BlockRef, ChainError> {
        Ok(BlockRef {
            height: self.raw.len() as u32 - 1,
            hash: *self.hashes.last().unwrap(),
        })
    }
    fn block_hash(&self, height: u32) -> Result<BlockHash, ChainError> {
        let h = self.hashes.get(height as usize);
        h.copied()
            .ok_or(ChainError::NotFound(format!("height {height}")))
    }
    fn raw_block(&self, hash: &BlockHash) -> Result<Vec<u8>, ChainError> {
        let i = self.hashes.iter().position(|h| h == hash);
        let i = i.ok_or(ChainError::NotFound(hash.to_string()))?;
        Ok(self.raw[i].clone())
    }
    fn raw_tx(&self, t: &Txid) -> Result<Vec<u8>, ChainError> {
        Err(ChainError::NotFound(t.to_string()))
    }
    fn tx_status(&self, _: &Txid) -> Result<TxStatus, ChainError> {
        Ok(TxStatus::Unknown)
    }
    fn mempool_txids(&self) -> Result<Vec<Txid>, ChainError> {
        Ok(Vec::new())
    }
    fn broadcast(&self, _: &Transaction) -> Result<Txid, ChainError> {
        Err(ChainError::Unavailable("read only".into()))
    }
    fn fee_estimate(&self, _: u16) -> Result<FeeRate, ChainError> {
        Ok(FeeRate::BROADCAST_MIN)
    }
}

/// What the scanner keeps of a block: the CVP transactions' txids and bytes.
type Kept = Vec<(Txid, Vec<u8>)>;

fn baseline(raw: &[u8], hash: &BlockHash) -> Kept {
    let block: Block = deserialize(raw).unwrap();
    assert!(block.block_hash() == *hash);
    assert!(block.check_merkle_root() && block.check_witness_commitment());
    block
        .txdata
        .iter()
        .filter(|tx| !cvp::carrier::records_in_tx(tx).is_empty())
        .map(|tx| (tx.compute_txid(), serialize(tx)))
        .collect()
}

fn ours(raw: &[u8], hash: &BlockHash) -> Kept {
    let mut kept = Vec::new();
    for span in cvp::rawblock::cvp_candidates(raw, hash).unwrap() {
        let bytes = &raw[span];
        let tx = chain::decode_tx(bytes).unwrap();
        if !cvp::carrier::records_in_tx(&tx).is_empty() {
            kept.push((tx.compute_txid(), bytes.to_vec()));
        }
    }
    kept
}

/// Seconds for one pass of `f` over every block, and what it kept.
fn pass(chain: &Blocks, f: fn(&[u8], &BlockHash) -> Kept) -> (f64, Kept) {
    let t = Instant::now();
    let kept: Kept = chain
        .raw
        .iter()
        .zip(&chain.hashes)
        .flat_map(|(b, h)| f(b, h))
        .collect();
    (t.elapsed().as_secs_f64(), kept)
}

/// Seconds for a fresh `Indexer` to poll every block into its store; on disk, the stored
/// transactions are read back afterwards and must be the ones kept.
fn indexer(chain: &Blocks, on_disk: bool, kept: &Kept) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.redb");
    let t = Instant::now();
    let mut ix = if on_disk {
        index::Indexer::open(&path).unwrap()
    } else {
        index::Indexer::in_memory().unwrap()
    };
    let report = ix.poll(chain).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.blocks as usize, chain.raw.len());
    drop(ix);
    if on_disk {
        let store = index::store::Store::open(&path).unwrap();
        for (txid, bytes) in kept {
            assert_eq!(store.raw_tx(txid).unwrap().as_ref(), Some(bytes));
        }
    }
    secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let raw: Vec<Vec<u8>> = (0..20).map(|n| block(&mut r, n)).collect();
    let hashes: Vec<BlockHash> = raw
        .iter()
        .map(|b| deserialize::<Header>(&b[..80]).unwrap().block_hash())
        .collect();
    let chain = Blocks { raw, hashes };
    let n = chain.raw.len() as f64;
    let mb = chain.raw.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let txs: usize = chain
        .raw
        .iter()
        .map(|b| deserialize::<Block>(b).unwrap().txdata.len())
        .sum();
    // The four sides in turn, `reps` rounds, so that the load of a shared machine falls on all.
    let reps = 5;
    let mut times: [Vec<f64>; 4] = Default::default();
    let mut kept = Vec::new();
    for _ in 0..reps {
        let (base, base_kept) = pass(&chain, baseline);
        let (check, ours_kept) = pass(&chain, ours);
        assert_eq!(ours_kept, base_kept, "both keep the same transactions");
        kept = ours_kept;
        let disk = indexer(&chain, true, &kept);
        let memory = indexer(&chain, false, &kept);
        for (t, secs) in times.iter_mut().zip([base, check, disk, memory]) {
            t.push(secs);
        }
    }
    let [base, check, disk, memory] = times.map(median);
    println!(
        "{} blocks, {mb:.1} MB, {txs} txs, {} CVP transactions kept; median of {reps} rounds",
        chain.raw.len(),
        kept.len()
    );
    println!(
        "| | MB/s | blocks/s | time against the baseline's | throughput against the baseline's |"
    );
    println!("|---|---|---|---|---|");
    for (name, secs) in [
        ("baseline (rust-bitcoin: deserialize, hash, Merkle root, witness commitment, records in every tx, txid and bytes kept)", base),
        ("ours, the check alone (`cvp::rawblock` walk and checks, candidates decoded)", check),
        ("ours, the scanner end to end (`Indexer::poll` into redb on disk)", disk),
        ("ours, the scanner end to end (`Indexer::poll` into redb in memory)", memory),
    ] {
        println!(
            "| {name} | {:.0} | {:.1} | {:.2}x | {:.2}x |",
            mb / secs,
            n / secs,
            secs / base,
            base / secs
        );
    }
}
