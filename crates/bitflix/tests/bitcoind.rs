//! Against a real Bitcoin Core: the Core backend passes the shared backend suite (JSON-RPC,
//! REST, ZMQ), and bitcoind accepts every block the devnet mined (`submitblock`) and every
//! transaction the devnet's mempool accepted, CVP publishes included (`testmempoolaccept`).
//!
//! bitcoind comes from `BITCOIND_EXE` or `PATH`. Where there is none, each test prints
//! "skipped: no bitcoind" and passes; `scripts/test.sh` runs this file with its output shown.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::{Address, Amount, BlockHash, FeeRate, Network, ScriptBuf, Transaction};
use chain::core::{CoreBackend, CoreUrl};
use chain::testsuite::{self, Control};
use chain::{ChainBackend, ChainEvent};
use cvp::{Carrier, ContentInfo};
use devnet::{Devnet, DevnetConfig};
use serde_json::{json, Value};
use std::str::FromStr;
use std::time::{Duration, Instant};
use testkit::bitcoind::{Node, NodeOptions};

/// Start a node (ZMQ on, bitcoind's wallet only when asked), or say why not: `None` means no
/// bitcoind binary here.
fn start(test: &str, with_wallet: bool) -> Option<Node> {
    Node::start_with(
        test,
        &NodeOptions {
            zmq: true,
            no_wallet: !with_wallet,
            ..Default::default()
        },
    )
}

/// Mining and funding through bitcoind's own wallet.
struct CoreCtl<'a> {
    node: &'a CoreBackend,
    address: String,
}

impl Control for CoreCtl<'_> {
    fn mine(&self, n: u32) -> Vec<BlockHash> {
        let hashes: Vec<String> = self
            .node
            .call("generatetoaddress", &[json!(n), json!(self.address)])
            .unwrap();
        hashes.iter().map(|h| h.parse().unwrap()).collect()
    }
    fn fund(&self, script: &ScriptBuf, amount: Amount) -> Transaction {
        let to = Address::from_script(script, Network::Regtest).unwrap();
        let txid: String = self
            .node
            .call(
                "sendtoaddress",
                &[json!(to.to_string()), json!(amount.to_btc())],
            )
            .unwrap();
        let raw: String = self
            .node
            .call("getrawtransaction", &[json!(txid), json!(false)])
            .unwrap();
        bitcoin::consensus::encode::deserialize_hex(&raw).unwrap()
    }
}

#[test]
fn bitcoind_core_backend_passes_the_backend_suite() {
    let Some(node) = start("bitcoind_core_backend_passes_the_backend_suite", true) else {
        return;
    };
    let b = &node.backend;
    let _: Value = b.call("createwallet", &[json!("bitflix")]).unwrap();
    let address: String = b.call("getnewaddress", &[]).unwrap();
    let ctl = CoreCtl { node: b, address };
    ctl.mine(101);
    assert!(b.uses_rest(), "-rest is on");
    testsuite::run(b, &ctl);

    // The ZMQ stream reports a new mempool transaction and a new tip.
    let follow = std::sync::Arc::new(CoreBackend::connect(&node.url, Network::Regtest).unwrap());
    let events = follow.changes(Duration::from_secs(3600)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let own = Address::from_str(&ctl.address)
        .unwrap()
        .assume_checked()
        .script_pubkey();
    let txid = ctl.fund(&own, Amount::from_sat(10_000)).compute_txid();
    let mined = ctl.mine(1)[0];
    let (mut added, mut tip) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(added && tip) && Instant::now() < deadline {
        match events.recv_timeout(Duration::from_secs(1)) {
            Ok(ChainEvent::MempoolAdded(t)) if t == txid => added = true,
            Ok(ChainEvent::Tip(t)) if t.hash == mined => tip = true,
            _ => {}
        }
    }
    assert!(added && tip, "zmq: added {added}, tip {tip}");
}

/// Publish a small stream on the devnet with `carrier`, mining whenever the mempool's chain
/// limits call for a block (the fan-out layout).
fn publish_on_devnet(d: &Devnet, dir: &std::path::Path, carrier: Carrier) {
    let signer = wallet::Signer::new(testkit::devnet::key(7).keypair);
    let funding = testkit::devnet::funded(d, &signer.script(), Amount::from_btc(1.0).unwrap());
    let data: Vec<u8> = (0..30_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let req = wallet::PlanRequest {
        stream: &data,
        info: ContentInfo {
            // Short enough for the 80-byte carrier's header record.
            title: Some("x".into()),
            media_type: "video/x-cvpm".into(),
            duration_ms: None,
            poster: None,
            records: Vec::new(),
        },
        carrier,
        feerate: FeeRate::from_sat_per_vb(1).unwrap(),
        funding,
        commitment: None,
    };
    let plan = wallet::plan_layout(&req, &signer, wallet::Layout::FanOut).unwrap();
    let journal = wallet::journal::Journal::from_plan(&plan, "cross-check", carrier.name());
    journal.save(dir).unwrap();
    wallet::broadcast::broadcast(&journal, d, || testkit::devnet::mine_one(d), |_| {}).unwrap();
}

/// Replay the devnet on bitcoind: before each devnet block, every transaction in it must pass
/// bitcoind's `testmempoolaccept` (and is then sent), then the block must pass `submitblock`;
/// last, the devnet's mempool. Returns how many transactions were checked.
fn replay(
    b: &CoreBackend,
    d: &Devnet,
    from: u32,
    sent: &mut std::collections::HashSet<bitcoin::Txid>,
) -> usize {
    let mut checked = 0;
    let mut offer = |tx: &Transaction| {
        if !sent.insert(tx.compute_txid()) {
            return;
        }
        let hex = bitcoin::consensus::encode::serialize_hex(tx);
        let r: Value = b.call("testmempoolaccept", &[json!([hex])]).unwrap();
        assert_eq!(
            r[0]["allowed"],
            json!(true),
            "bitcoind refuses a transaction the devnet accepted: {r}"
        );
        b.broadcast(tx).unwrap();
        checked += 1;
    };
    for h in from..=d.tip().height {
        let raw = d.raw_block_at(h).unwrap().unwrap();
        let block = chain::decode_block(&raw).unwrap();
        for tx in block.txdata.iter().skip(1) {
            offer(tx);
        }
        let r: Value = b.call("submitblock", &[json!(hex::encode(&raw))]).unwrap();
        assert!(r.is_null(), "bitcoind refused devnet block {h}: {r}");
    }
    assert_eq!(
        b.tip().unwrap(),
        d.tip(),
        "bitcoind follows the devnet's chain"
    );
    for txid in d.mempool_txids() {
        offer(&d.tx(&txid).unwrap().tx);
    }
    checked
}

/// Publish with each carrier on a fresh devnet and replay all of it onto `b`.
fn publish_and_replay(b: &CoreBackend, large_op_return: bool) -> (u32, usize) {
    let dir = testkit::tempdir();
    let d = Devnet::open(&dir.path().join("chain"), DevnetConfig::default()).unwrap();
    d.mine(101, &d.faucet_script()).unwrap();
    let mut sent = std::collections::HashSet::new();
    let mut checked = replay(b, &d, 1, &mut sent);
    for carrier in [Carrier::OpReturn80, Carrier::OpReturn, Carrier::Envelope] {
        if carrier == Carrier::OpReturn && !large_op_return {
            println!("{carrier}: skipped: this bitcoind predates Core 30's several large OP_RETURN outputs");
            continue;
        }
        let from = d.tip().height + 1;
        publish_on_devnet(&d, &dir.path().join(carrier.name()), carrier);
        checked += replay(b, &d, from, &mut sent);
        let from = d.tip().height + 1;
        d.mine(1, &d.faucet_script()).unwrap();
        checked += replay(b, &d, from, &mut sent);
    }
    assert!(
        checked > 400,
        "the 80-byte carrier alone sends hundreds: {checked}"
    );
    (d.tip().height, checked)
}

#[test]
fn bitcoind_accepts_every_devnet_block_and_transaction() {
    let Some(node) = start("bitcoind_accepts_every_devnet_block_and_transaction", false) else {
        return;
    };
    let version: Value = node.backend.call("getnetworkinfo", &[]).unwrap();
    let version = version["version"].as_u64().unwrap_or(0);
    let (blocks, txs) = publish_and_replay(&node.backend, version >= 300_000);
    println!("bitcoind {version} accepted all {blocks} devnet blocks and {txs} transactions");
}

/// The same replay onto a second, fresh devnet through its Core RPC subset: its own kernel
/// re-validates every block (`submitblock`) and its mempool re-checks every transaction
/// (`testmempoolaccept`). This runs everywhere, and keeps the replay above honest where no
/// bitcoind exists.
#[test]
fn a_fresh_devnet_accepts_the_replay_through_core_rpc() {
    let dir = testkit::tempdir();
    let target = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let served = target.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            devnet::http::serve(served, listener, std::future::pending())
                .await
                .unwrap();
        });
    });
    let url: CoreUrl = format!("http://{}", rx.recv().unwrap()).parse().unwrap();
    let b = CoreBackend::connect(&url, Network::Regtest).unwrap();
    let (blocks, _) = publish_and_replay(&b, true);
    assert_eq!(target.tip().height, blocks);
    // A block that does not extend the tip, and one already there, are refused as Core does.
    let old = target.raw_block_at(5).unwrap().unwrap();
    let r: Value = b.call("submitblock", &[json!(hex::encode(old))]).unwrap();
    assert_eq!(r, json!("duplicate"));
}
