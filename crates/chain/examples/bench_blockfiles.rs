//! Reading every block of a multi-GB regtest chain through the Core backend with `blocksdir=`
//! (the node's block files), against `cat blk*.dat > /dev/null` and against REST, each run with
//! the page cache warm (every file read once before) and cold (the files' pages dropped with
//! `dd iflag=nocache count=0` before the run, the same way for all three).
//!
//! The chain is generated once in DIR (blocks of nine 100 kB OP_RETURN transactions, mined by a
//! real bitcoind with `generateblock`) and kept there for the next run.
//! Usage: bench_blockfiles [GB] [DIR]   (default 2 /work/targets/blkfiles-bench)
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use chain::core::CoreBackend;
use chain::ChainBackend;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use testkit::bitcoind::{block_files, Filler, Node};

fn drop_cache(files: &[PathBuf]) {
    for f in files {
        let ok = Command::new("dd")
            .arg(format!("if={}", f.display()))
            .args(["iflag=nocache", "count=0", "status=none"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "dd iflag=nocache on {}", f.display());
    }
}

fn cat(files: &[PathBuf]) -> f64 {
    let t = Instant::now();
    let ok = Command::new("cat")
        .args(files)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cat");
    t.elapsed().as_secs_f64()
}

/// Every block through `b`, as the scanner asks (hash by height, then the block): seconds for
/// the hashes (RPC `getblockhash`), seconds for the blocks, bytes.
fn every_block(b: &CoreBackend, tip: u32) -> (f64, f64, u64) {
    let t = Instant::now();
    let hashes: Vec<_> = (0..=tip).map(|h| b.block_hash(h).unwrap()).collect();
    let rpc = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let bytes = hashes
        .iter()
        .map(|h| b.raw_block(h).unwrap().len() as u64)
        .sum();
    (rpc, t.elapsed().as_secs_f64(), bytes)
}

fn mbs(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

fn main() {
    let mut args = std::env::args().skip(1);
    let gb: f64 = args.next().map_or(2.0, |a| a.parse().unwrap());
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/work/targets/blkfiles-bench".into()),
    );
    let Some(node) = Node::start_in("bench_blockfiles", Some(&dir), &[]) else {
        return;
    };
    let blocks = node.blocks_dir();
    let target = (gb * 1e9) as u64;
    let (mut have, _) = block_files(&blocks);
    if have < target {
        let t = Instant::now();
        let mut fill = Filler::new(&node);
        let start = have;
        while have < target {
            for _ in 0..50 {
                fill.mine_full(&node, 9, 100_000);
            }
            have = block_files(&blocks).0;
            eprintln!("generated {:.2} GB of {gb} GB", have as f64 / 1e9);
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "generated {:.2} GB in {s:.0} s ({:.1} MB/s)",
            (have - start) as f64 / 1e9,
            mbs(have - start, s)
        );
    }
    let (file_bytes, files) = block_files(&blocks);
    let tip = node.backend.tip().unwrap().height;
    println!(
        "chain: {} blocks, {} block files, {:.2} GB in blk*.dat ({})",
        tip + 1,
        files.len(),
        file_bytes as f64 / 1e9,
        Path::new(&blocks).display()
    );
    let url = node.url_with_blocksdir(&blocks);
    let rest = &node.backend;
    assert!(rest.uses_rest(), "-rest is on");
    // Warm, then cold twice: cat first, then the block files first (a virtual disk may be cached
    // by its host after the first read, which would favour whatever runs second).
    for (cold, files_first) in [(false, false), (true, false), (true, true)] {
        let prepare = || {
            if cold {
                drop_cache(&files);
            } else {
                cat(&files);
            }
        };
        let label = if cold { "cold" } else { "warm" };
        let direct = || {
            prepare();
            // A fresh backend: its index is built during the run.
            let b = CoreBackend::connect(&url, bitcoin::Network::Regtest).unwrap();
            let r = every_block(&b, tip);
            let s = b.block_files().unwrap().stats();
            assert_eq!((s.served, s.missed), (u64::from(tip) + 1, 0), "{s:?}");
            r
        };
        let (d, c) = if files_first {
            let d = direct();
            prepare();
            (d, cat(&files))
        } else {
            prepare();
            let c = cat(&files);
            (direct(), c)
        };
        let (d_rpc, d_read, bytes) = d;
        prepare();
        let (r_rpc, r_read, rest_bytes) = every_block(rest, tip);
        assert_eq!(bytes, rest_bytes);
        let first = if files_first {
            "block files first"
        } else {
            "cat first"
        };
        println!(
            "{label} ({first}): cat {:.0} MB/s ({c:.2} s) | block files {:.0} MB/s ({d_read:.2} s) = {:.0} % of cat; with getblockhash per block ({d_rpc:.2} s) {:.0} MB/s = {:.0} % of cat | REST {:.0} MB/s ({r_read:.2} s), with getblockhash {:.0} MB/s; block files {:.1}x REST",
            mbs(file_bytes, c),
            mbs(bytes, d_read),
            100.0 * mbs(bytes, d_read) / mbs(file_bytes, c),
            mbs(bytes, d_rpc + d_read),
            100.0 * mbs(bytes, d_rpc + d_read) / mbs(file_bytes, c),
            mbs(bytes, r_read),
            mbs(bytes, r_rpc + r_read),
            r_read / d_read
        );
        let hours = |secs: f64| 700e9 / (mbs(bytes, secs) * 1e6) / 3600.0;
        println!(
            "{label}: mainnet's ~700 GB of blocks: {:.2} h from the block files ({:.2} h with getblockhash), {:.2} h by REST, {:.2} h for cat",
            hours(d_read),
            hours(d_rpc + d_read),
            hours(r_rpc + r_read),
            700e9 / (mbs(file_bytes, c) * 1e6) / 3600.0
        );
    }
}
