//! Publish on the devnet with each carrier and read it back with the cvp reader; the estimate
//! must equal the real transactions' sizes and fees.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::{Amount, FeeRate, OutPoint};
use chain::ChainBackend;
use cvp::{Assembler, Carrier, ContentInfo, Lineage, Record, TxRecords};
use testkit::devnet::Devnet;
use wallet::journal::Journal;
use wallet::{plan, Layout, PlanRequest, Signer};

fn stream(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0])
        .collect()
}

/// Scan every block and the mempool with the cvp reader, as a viewer would.
fn read_back(d: &Devnet, content: bitcoin::Txid) -> Vec<u8> {
    let mut lineage = Lineage::default();
    let mut asm: Option<Assembler> = None;
    let mut segments = Vec::new();
    let mut hashes = Vec::new();
    let mut feed = |tx: &bitcoin::Transaction| {
        for a in lineage.observe(TxRecords::from_tx(tx)) {
            if a.content != content {
                continue;
            }
            for f in a.tx.found {
                match f.record.unwrap() {
                    Record::Header(h) => asm = Some(Assembler::new(h)),
                    Record::Segment(s) => segments.push(s),
                    Record::SegmentHashes(h) => hashes.push(h),
                    _ => {}
                }
            }
        }
    };
    for h in 0..=d.tip().height {
        let raw = ChainBackend::raw_block(d, &d.block_hash(h).unwrap()).unwrap();
        for tx in chain::decode_block(&raw).unwrap().txdata {
            feed(&tx);
        }
    }
    for txid in d.mempool_txids() {
        feed(&d.tx(&txid).unwrap().tx);
    }
    let mut asm = asm.expect("header found");
    for h in &hashes {
        asm.add_hashes(h);
    }
    for s in segments {
        asm.add(s);
    }
    asm.finish().unwrap()
}

fn publish(carrier: Carrier, len: usize, layout: wallet::Layout) {
    let dir = testkit::tempdir();
    let d = testkit::devnet::open(dir.path());
    let signer = Signer::new(testkit::devnet::key(42).keypair);
    let funding = testkit::devnet::funded(&d, &signer.script(), Amount::from_btc(5.0).unwrap());
    let data = stream(len);
    let feerate = FeeRate::from_sat_per_vb(2).unwrap();
    let info = ContentInfo {
        title: Some("Test".into()),
        media_type: "video/x-cvpm".into(),
        duration_ms: Some(1000),
        poster: None,
        records: Vec::new(),
    };
    let est = wallet::estimate::estimate(len as u64, &info, carrier, feerate, layout).unwrap();
    let req = PlanRequest {
        stream: &data,
        info,
        carrier,
        feerate,
        funding,
        commitment: None,
    };
    let p = wallet::plan_layout(&req, &signer, layout).unwrap();
    let journal = Journal::from_plan(&p, "Test", carrier.name());
    journal.save(dir.path()).unwrap();
    let progress =
        wallet::broadcast::broadcast(&journal, &d, || testkit::devnet::mine_one(&d), |_| {})
            .unwrap();
    assert_eq!(progress.sent, p.txs.len());
    // Every transaction the devnet accepted paid exactly the planned fee for exactly its size.
    let mut vbytes = 0;
    let mut fees = 0;
    for t in &p.txs {
        let txid = t.tx.compute_txid();
        let info = d.tx(&txid).expect("accepted");
        vbytes += info.tx.vsize() as u64;
        if let Some((fee, _)) = d.mempool_fee(&txid) {
            assert_eq!(fee, t.fee);
        }
        fees += t.fee.to_sat();
    }
    assert_eq!(vbytes, p.vbytes());
    assert_eq!(
        (est.transactions, est.vbytes, est.fee_sat),
        (p.txs.len() as u64, p.vbytes(), fees),
        "the estimate is the real publish"
    );
    // A second broadcast pass (a resume) sends nothing and pays nothing.
    let again = wallet::broadcast::broadcast(&journal, &d, || Ok(()), |_| {}).unwrap();
    assert_eq!((again.sent, again.already_sent), (0, p.txs.len()));
    testkit::devnet::mine_one(&d).unwrap();
    assert_eq!(
        read_back(&d, p.content_id),
        data,
        "{carrier}: byte-identical"
    );
}

#[test]
fn publish_op_return_80_and_read_back() {
    publish(Carrier::OpReturn80, 20_000, Layout::Chain);
}

#[test]
fn publish_op_return_1mb_and_read_back() {
    publish(Carrier::OpReturn, 1_000_000, Layout::Chain);
}

#[test]
fn publish_envelope_1mb_and_read_back() {
    publish(Carrier::Envelope, 1_000_000, Layout::Chain);
}

#[test]
fn fan_out_op_return_80_1mb_and_read_back() {
    publish(Carrier::OpReturn80, 1_000_000, Layout::FanOut);
}

#[test]
fn fan_out_op_return_and_envelope_1mb_and_read_back() {
    publish(Carrier::OpReturn, 1_000_000, Layout::FanOut);
    publish(Carrier::Envelope, 1_000_000, Layout::FanOut);
}

#[test]
fn insufficient_funds_says_how_much_is_needed() {
    let signer = Signer::new(testkit::devnet::key(43).keypair);
    let data = stream(5_000);
    let funding = (
        OutPoint::null(),
        bitcoin::TxOut {
            value: Amount::from_sat(1_000),
            script_pubkey: signer.script(),
        },
    );
    let req = PlanRequest {
        stream: &data,
        info: ContentInfo {
            media_type: "x".into(),
            ..Default::default()
        },
        carrier: Carrier::OpReturn80,
        feerate: FeeRate::from_sat_per_vb(1).unwrap(),
        funding,
        commitment: None,
    };
    let err = plan(&req, &signer).unwrap_err();
    let wallet::PlanError::InsufficientFunds { need, have } = err else {
        panic!("{err}")
    };
    assert_eq!(have, 1_000);
    assert!(
        need > 10_000,
        "69 transactions of ~200 vB at 1 sat/vB: {need}"
    );
    let low = PlanRequest {
        feerate: FeeRate::from_sat_per_kwu(10),
        ..req
    };
    assert!(plan(&low, &signer)
        .unwrap_err()
        .to_string()
        .contains("below the minimum relay fee"));
}
