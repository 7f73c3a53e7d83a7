//! The indexer with a mainnet-sized mempool: 300,000 transactions (none of them CVP) against an
//! empty mempool, each in a fresh child process so that resident memory is the process's own.
//! The backend is in-process and answers at once (it builds each transaction from its txid when
//! asked), so the figures are the indexer's own CPU and memory, not a network's.
//! Run: `cargo run --release -p index --example bench_mempool`.
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::{BlockHash, FeeRate, Network, Transaction, Txid};
use chain::{BlockRef, ChainBackend, ChainError, TxStatus};
use std::time::Instant;

#[derive(Debug)]
struct Mock {
    genesis: Vec<u8>,
    hash: BlockHash,
    mempool: u32,
}

impl Mock {
    fn new(mempool: u32) -> Mock {
        let g = bitcoin::constants::genesis_block(Network::Regtest);
        Mock {
            genesis: bitcoin::consensus::serialize(&g),
            hash: g.block_hash(),
            mempool,
        }
    }
}

fn txid(i: u32) -> Txid {
    Txid::from_raw_hash(sha256d::Hash::hash(&i.to_le_bytes()))
}

/// A one-input, two-output Taproot spend (about 150 bytes), different for every txid.
fn tx_for(t: &Txid) -> Vec<u8> {
    let b = t.as_byte_array();
    let mut raw = vec![2, 0, 0, 0, 0, 1, 1];
    raw.extend_from_slice(b);
    raw.extend_from_slice(&[0, 0, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff, 2]);
    for _ in 0..2 {
        raw.extend_from_slice(&[0x10, 0x27, 0, 0, 0, 0, 0, 0, 34, 0x51, 0x20]);
        raw.extend_from_slice(b);
    }
    raw.extend_from_slice(&[1, 64]);
    raw.extend_from_slice(b);
    raw.extend_from_slice(b);
    raw.extend_from_slice(&[0, 0, 0, 0]);
    raw
}

impl ChainBackend for Mock {
    fn network(&self) -> Network {
        Network::Regtest
    }
    fn tip(&self) -> Result<BlockRef, ChainError> {
        Ok(BlockRef {
            height: 0,
            hash: self.hash,
        })
    }
    fn block_hash(&self, _: u32) -> Result<BlockHash, ChainError> {
        Ok(self.hash)
    }
    fn raw_block(&self, _: &BlockHash) -> Result<Vec<u8>, ChainError> {
        Ok(self.genesis.clone())
    }
    fn raw_tx(&self, t: &Txid) -> Result<Vec<u8>, ChainError> {
        Ok(tx_for(t))
    }
    fn tx_status(&self, _: &Txid) -> Result<TxStatus, ChainError> {
        Ok(TxStatus::Mempool)
    }
    fn mempool_txids(&self) -> Result<Vec<Txid>, ChainError> {
        Ok((0..self.mempool).map(txid).collect())
    }
    fn broadcast(&self, _: &Transaction) -> Result<Txid, ChainError> {
        Err(ChainError::Unavailable("read only".into()))
    }
    fn fee_estimate(&self, _: u16) -> Result<FeeRate, ChainError> {
        Ok(FeeRate::BROADCAST_MIN)
    }
}

/// (resident now, peak resident) in MB, and CPU seconds (user + system) of this process.
fn usage() -> (f64, f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // Fields 14 and 15 (utime, stime) of /proc/PID/stat are the 12th and 13th after the name.
    let cpu = (f.get(10).unwrap_or(&0.0) + f.get(11).unwrap_or(&0.0)) / 100.0;
    (kb("VmRSS:"), kb("VmHWM:"), cpu)
}

fn child(mempool: u32) {
    let dir = tempfile::tempdir().unwrap();
    let mock = Mock::new(mempool);
    let mut ix = index::Indexer::open(&dir.path().join("index.redb")).unwrap();
    let t = Instant::now();
    let first = ix.poll(&mock).unwrap();
    let first_s = t.elapsed().as_secs_f64();
    let (_, _, cpu_first) = usage();
    let t = Instant::now();
    let second = ix.poll(&mock).unwrap();
    let second_ms = t.elapsed().as_secs_f64() * 1e3;
    let (rss, peak, cpu) = usage();
    println!(
        "{mempool}\t{}\t{first_s:.2}\t{cpu_first:.2}\t{}\t{second_ms:.1}\t{:.2}\t{rss:.1}\t{peak:.1}",
        first.fetched,
        second.fetched,
        cpu - cpu_first
    );
}

fn main() {
    if let Some(n) = std::env::args().nth(1) {
        return child(n.parse().unwrap());
    }
    let exe = std::env::current_exe().unwrap();
    println!(
        "mempool\tfetched\tfirst poll s\tcpu s\tthen fetched\tnext poll ms\tcpu s\trss MB\tpeak MB"
    );
    for n in [0u32, 300_000] {
        let out = std::process::Command::new(&exe)
            .arg(n.to_string())
            .output()
            .unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
}
