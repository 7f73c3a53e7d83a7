//! Reader-side cost of CVP: decode and verify a 10 MB stream cut for each carrier, against a
//! baseline in the same run that only SHA-256-hashes the same bytes once (the least any verifying
//! reader must do). Run: `cargo run --release -p cvp --example bench_cvp`.
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use cvp::*;
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let stream: Vec<u8> = (0..10_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let reps = 5;
    let t = Instant::now();
    for _ in 0..reps {
        black_box(Sha256::digest(black_box(&stream)));
    }
    let base = t.elapsed().as_secs_f64() / f64::from(reps);
    println!(
        "baseline: sha-256 of 10 MB once: {:.1} ms ({:.0} MB/s)",
        base * 1e3,
        10.0 / base
    );
    for carrier in Carrier::ALL {
        let info = ContentInfo {
            media_type: "video/x-cvpm".into(),
            ..Default::default()
        };
        let p = chunk::prepare(&stream, info, carrier.max_unit()).unwrap();
        let units: Vec<Vec<u8>> = p.records().map(|r| r.encode()).collect();
        let t = Instant::now();
        for _ in 0..reps {
            let mut asm: Option<Assembler> = None;
            for u in &units {
                match Record::decode(u).unwrap() {
                    Record::Header(h) => asm = Some(Assembler::new(h)),
                    Record::SegmentHashes(h) => {
                        asm.as_mut().unwrap().add_hashes(&h);
                    }
                    Record::Segment(s) => {
                        asm.as_mut().unwrap().add(s);
                    }
                    _ => {}
                }
            }
            assert_eq!(
                black_box(asm.unwrap().finish().unwrap()).len(),
                stream.len()
            );
        }
        let ours = t.elapsed().as_secs_f64() / f64::from(reps);
        println!(
            "{carrier}: {} units, decode+verify+reassemble {:.1} ms ({:.0} MB/s), {:.2}x the baseline",
            units.len(),
            ours * 1e3,
            10.0 / ours,
            ours / base
        );
    }
}
