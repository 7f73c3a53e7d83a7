//! A devnet killed with SIGKILL at any moment loses nothing it reported as confirmed, and reopens
//! on the same chain.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::BlockHash;
use devnet::{Devnet, DevnetConfig};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Run the mining loop until it has reported `blocks` more blocks plus a random extra moment,
/// then kill -9 it. Returns the last reported (height, hash).
fn run_and_kill(dir: &std::path::Path, blocks: u32, extra_ms: u64) -> Option<(u32, BlockHash)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_devnet-mine-loop"))
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut last = None;
    let mut seen = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut kill_at: Option<Instant> = None;
    loop {
        if kill_at.is_some_and(|t| Instant::now() >= t) || Instant::now() > deadline {
            break;
        }
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(5)) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if parts.first() == Some(&"confirmed") {
                last = Some((parts[1].parse().unwrap(), parts[2].parse().unwrap()));
                seen += 1;
                if seen == blocks {
                    kill_at = Some(Instant::now() + Duration::from_millis(extra_ms));
                }
            }
        }
    }
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    // Lines the child wrote before dying are reports too.
    reader.join().unwrap();
    while let Ok(line) = rx.try_recv() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.first() == Some(&"confirmed") {
            last = Some((parts[1].parse().unwrap(), parts[2].parse().unwrap()));
        }
    }
    last
}

#[test]
fn kill_9_at_random_moments_loses_nothing_confirmed() {
    let dir = testkit::tempdir();
    // A cheap deterministic spread of kill moments (no rand dependency needed).
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let mut reported: Vec<(u32, BlockHash)> = Vec::new();
    for round in 0..4u64 {
        let extra = (seed.wrapping_mul(round + 7) >> 3) % 40;
        let blocks = if round == 0 { 110 } else { 5 };
        if let Some(r) = run_and_kill(dir.path(), blocks, extra) {
            reported.push(r);
        }
        let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
        let tip = d.tip();
        for (h, hash) in &reported {
            assert!(
                tip.height >= *h,
                "round {round}: tip {} < reported {h}",
                tip.height
            );
            assert_eq!(
                d.block_hash(*h),
                Some(*hash),
                "round {round}: block {h} kept"
            );
        }
        // The reopened chain is consistent: every block links to its parent and decodes.
        for h in 1..=tip.height {
            let raw = d.raw_block_at(h).unwrap().unwrap();
            let block: bitcoin::Block = bitcoin::consensus::deserialize(&raw).unwrap();
            assert_eq!(Some(block.header.prev_blockhash), d.block_hash(h - 1));
            assert_eq!(Some(block.block_hash()), d.block_hash(h));
        }
        // And it still extends.
        d.mine(1, &d.faucet_script()).unwrap();
        reported.push((d.tip().height, d.tip().hash));
    }
    assert!(reported.len() >= 4);
}
