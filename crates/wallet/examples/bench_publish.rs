//! End-to-end publish on the devnet, funded by the bdk wallet: sync, fund, plan and sign, journal,
//! broadcast (mining when the mempool asks), mine, read back with the index and check every byte.
//! 10 MB against a 1 MB baseline in the same run, per carrier.
//! Run: `cargo run --release -p wallet --example bench_publish [MB ...]` (default: 1 10).
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]
#![allow(clippy::print_stdout, reason = "a benchmark prints its table")]

use bitcoin::{Amount, FeeRate, Network, OutPoint};
use cvp::{Carrier, ContentInfo};
use devnet::{Devnet, DevnetConfig};
use std::time::Instant;
use wallet::hd::{parse_mnemonic, Descriptors, HdWallet};
use wallet::journal::Journal;
use wallet::{Layout, PlanRequest};

struct Row {
    carrier: Carrier,
    mb: u64,
    txs: usize,
    vbytes: u64,
    fee_sat: u64,
    blocks: u32,
    setup_s: f64,
    plan_s: f64,
    broadcast_s: f64,
    readback_s: f64,
    total_s: f64,
}

fn run(carrier: Carrier, mb: u64) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let d = Devnet::open(&dir.path().join("chain"), DevnetConfig::default()).unwrap();
    let words = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    let desc =
        Descriptors::from_mnemonic(&parse_mnemonic(words).unwrap(), Network::Regtest).unwrap();
    let len = (mb * 1_000_000) as usize;
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0])
        .collect();
    let info = ContentInfo {
        title: Some(format!("{mb} MB")),
        media_type: "video/x-cvpm".into(),
        duration_ms: None,
        poster: None,
        records: Vec::new(),
    };
    let feerate = FeeRate::from_sat_per_vb(1).unwrap();
    let layout = Layout::FanOut;
    let start = Instant::now();
    let mut w = HdWallet::open(&dir.path().join("w.sqlite"), &desc, Network::Regtest).unwrap();
    let to = w.receive_address().unwrap();
    d.faucet(&to.script_pubkey(), Amount::from_btc(2.0).unwrap())
        .unwrap();
    d.mine(1, &d.faucet_script()).unwrap();
    w.sync(&d).unwrap();
    let height0 = d.tip().height;
    let setup_s = start.elapsed().as_secs_f64();

    let t = Instant::now();
    let est = wallet::estimate::estimate(len as u64, &info, carrier, feerate, layout).unwrap();
    let need = Amount::from_sat(est.fee_sat + est.locked_sat) + wallet::plan::P2TR_DUST;
    let (signer, _) = w.plan_signer().unwrap();
    let mut psbt = w.funding_psbt(signer.script(), need, feerate).unwrap();
    let funding_fee = psbt.fee().unwrap();
    let funding = w.sign(&mut psbt).unwrap();
    let vout = funding
        .output
        .iter()
        .position(|o| o.script_pubkey == signer.script())
        .unwrap();
    let req = PlanRequest {
        stream: &data,
        info,
        carrier,
        feerate,
        funding: (
            OutPoint::new(funding.compute_txid(), vout as u32),
            funding.output[vout].clone(),
        ),
        commitment: None,
    };
    let plan = wallet::plan_layout(&req, &signer, layout).unwrap();
    let journal = Journal::from_plan(&plan, "bench", carrier.name()).with_funding(
        &funding,
        funding_fee,
        true,
    );
    journal.save(dir.path()).unwrap();
    let plan_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let miner = d.faucet_script();
    let p = wallet::broadcast::broadcast(&journal, &d, || testkit::devnet::mine_one(&d), |_| {})
        .unwrap();
    assert_eq!(p.sent, journal.txs.len());
    while !d.mempool_txids().is_empty() {
        d.mine(1, &miner).unwrap();
    }
    let broadcast_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    w.sync(&d).unwrap();
    let mut ix = index::Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let c = snap
        .summaries()
        .iter()
        .find(|c| c.id == plan.content_id)
        .unwrap();
    assert_eq!(snap.read_all(&c.id).unwrap(), data, "byte-identical");
    let readback_s = t.elapsed().as_secs_f64();
    let total_s = start.elapsed().as_secs_f64();
    Row {
        carrier,
        mb,
        txs: journal.txs.len(),
        vbytes: journal.txs.iter().map(|t| t.vsize).sum(),
        fee_sat: journal.txs.iter().map(|t| t.fee_sat).sum(),
        blocks: d.tip().height - height0,
        setup_s,
        plan_s,
        broadcast_s,
        readback_s,
        total_s,
    }
}

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() { vec![1, 10] } else { sizes };
    println!("| carrier | MB | transactions | vbytes | fees (sat) | blocks | setup (s) | fund+plan+sign+journal (s) | broadcast+mine (s) | sync+index+verify (s) | end to end (s) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut runs: Vec<(Carrier, u64)> = [Carrier::Envelope, Carrier::OpReturn]
        .iter()
        .flat_map(|c| sizes.iter().map(move |mb| (*c, *mb)))
        .collect();
    // The 80-byte carrier: 1 MB is already 13,500 transactions.
    runs.push((Carrier::OpReturn80, 1));
    for (carrier, mb) in runs {
        let r = run(carrier, mb);
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            r.carrier,
            r.mb,
            r.txs,
            r.vbytes,
            r.fee_sat,
            r.blocks,
            r.setup_s,
            r.plan_s,
            r.broadcast_s,
            r.readback_s,
            r.total_s
        );
    }
}
