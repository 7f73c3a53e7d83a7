//! Segment transactions built and signed per second, against a baseline in the same run that
//! builds the same transactions with placeholder signatures; and vbytes per payload byte per
//! carrier against the ideal. Run: `cargo run --release -p wallet --example bench_plan`.
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use bitcoin::key::Keypair;
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use bitcoin::{Amount, FeeRate, OutPoint, TxOut};
use cvp::{Carrier, ContentInfo};
use std::time::Instant;
use wallet::{plan, PlanRequest, Signer};

fn main() {
    let secp = Secp256k1::new();
    let signer = Signer::new(Keypair::from_secret_key(
        &secp,
        &SecretKey::from_slice(&[9; 32]).unwrap(),
    ));
    let stream = vec![0x5au8; 1_000_000];
    let info = ContentInfo {
        title: Some("bench".into()),
        media_type: "video/x-cvpm".into(),
        duration_ms: None,
        poster: None,
        records: Vec::new(),
    };
    let funding = (
        OutPoint::null(),
        TxOut {
            value: Amount::from_btc(10.0).unwrap(),
            script_pubkey: signer.script(),
        },
    );
    let feerate = FeeRate::from_sat_per_vb(1).unwrap();
    let req = PlanRequest {
        stream: &stream,
        info: info.clone(),
        carrier: Carrier::OpReturn80,
        feerate,
        funding,
        commitment: None,
    };
    let t = Instant::now();
    let base = plan(&req, &Signer::dummy()).unwrap();
    let base_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let real = plan(&req, &signer).unwrap();
    let real_s = t.elapsed().as_secs_f64();
    let n = real.txs.len() as f64;
    println!("op-return-80, 1 MB: {} transactions", real.txs.len());
    println!("  built + signed: {:.0} tx/s ({:.2} s); baseline built with placeholder signatures: {:.0} tx/s; signing costs {:.1}x", n / real_s, real_s, base.txs.len() as f64 / base_s, real_s / base_s);
    for c in Carrier::ALL {
        let e = wallet::estimate::estimate(
            stream.len() as u64,
            &info,
            c,
            feerate,
            wallet::Layout::Chain,
        )
        .unwrap();
        let ideal = if c == Carrier::Envelope { 0.25 } else { 1.0 };
        println!(
            "  {c}: {} tx, {} vB, {:.4} vB per payload byte (ideal {ideal}: {:.2}x)",
            e.transactions,
            e.vbytes,
            e.vbytes_per_byte,
            e.vbytes_per_byte / ideal
        );
    }
}
