//! Scan throughput on a synthetic mainnet-like chain: blocks of about 1.5 MB of P2WPKH and P2TR
//! spends with a few CVP records among them, with a real coinbase, Merkle root and witness
//! commitment. Ours (`cvp::rawblock`): walk transaction spans by length, check the header's hash,
//! the Merkle root and the witness commitment from those spans, flag the transactions whose
//! OP_RETURN or envelope pushes start with `CV`, decode only those. Baseline in the same run, the
//! same work with rust-bitcoin: deserialize every block, check its hash, Merkle root and witness
//! commitment, and look for records in every transaction.
//! Run: `cargo run --release -p index --example bench_scan`.
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, Block, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxOut, Txid, Witness,
};
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

fn main() {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let blocks: Vec<Vec<u8>> = (0..20).map(|n| block(&mut r, n)).collect();
    let hashes: Vec<bitcoin::BlockHash> = blocks
        .iter()
        .map(|b| deserialize::<Header>(&b[..80]).unwrap().block_hash())
        .collect();
    let mb = blocks.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let reps: u32 = 3;
    let t = Instant::now();
    let (mut base_txs, mut base_found) = (0, 0);
    for _ in 0..reps {
        for (b, hash) in blocks.iter().zip(&hashes) {
            let block: Block = deserialize(b).unwrap();
            assert!(block.block_hash() == *hash);
            assert!(block.check_merkle_root() && block.check_witness_commitment());
            for tx in &block.txdata {
                base_found += cvp::carrier::records_in_tx(tx)
                    .iter()
                    .filter(|f| f.record.is_ok())
                    .count();
            }
            base_txs += block.txdata.len();
        }
    }
    let base = t.elapsed().as_secs_f64() / f64::from(reps);
    let t = Instant::now();
    let mut found = 0;
    for _ in 0..reps {
        for (b, hash) in blocks.iter().zip(&hashes) {
            for span in cvp::rawblock::cvp_candidates(b, hash).unwrap() {
                let tx: Transaction = deserialize(&b[span]).unwrap();
                found += cvp::carrier::records_in_tx(&tx)
                    .iter()
                    .filter(|f| f.record.is_ok())
                    .count();
            }
        }
    }
    let ours = t.elapsed().as_secs_f64() / f64::from(reps);
    assert_eq!(found, base_found, "both find every record");
    println!(
        "{} blocks, {:.1} MB, {} txs per pass, {} CVP records per pass",
        blocks.len(),
        mb,
        base_txs / reps as usize,
        found / reps as usize
    );
    println!(
        "baseline (rust-bitcoin: deserialize, hash, merkle root, witness commitment, records in every tx): {:.0} MB/s, {:.1} blocks/s",
        mb / base,
        blocks.len() as f64 / base
    );
    println!(
        "ours (length walk, the same checks from spans, decode candidates only): {:.0} MB/s, {:.1} blocks/s, {:.1}x the baseline",
        mb / ours,
        blocks.len() as f64 / ours,
        base / ours
    );
}
