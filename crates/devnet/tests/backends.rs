//! The shared backend suite on the devnet in-process and over its Esplora HTTP API, and the API's
//! answers to bad input.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::{Amount, BlockHash, ScriptBuf, Transaction};
use chain::esplora::EsploraBackend;
use chain::testsuite::{self, Control};
use devnet::{Devnet, DevnetConfig};
use testkit::devnet::serve;

struct Ctl(Devnet);

impl Control for Ctl {
    fn mine(&self, n: u32) -> Vec<BlockHash> {
        self.0.mine(n, &self.0.faucet_script()).unwrap()
    }
    fn fund(&self, script: &ScriptBuf, amount: Amount) -> Transaction {
        let txid = self.0.faucet(script, amount).unwrap();
        (*self.0.tx(&txid).unwrap().tx).clone()
    }
}

#[test]
fn devnet_in_process_passes_the_backend_suite() {
    let dir = testkit::tempdir();
    let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    testsuite::run(&d, &Ctl(d.clone()));
}

#[test]
fn esplora_over_http_passes_the_backend_suite() {
    let dir = testkit::tempdir();
    let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    let url = serve(&d);
    let esplora = EsploraBackend::new(&url, bitcoin::Network::Regtest);
    testsuite::run(&esplora, &Ctl(d.clone()));
}

#[test]
fn bad_input_gets_a_reason_and_the_devnet_keeps_running() {
    let dir = testkit::tempdir();
    let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    let url = serve(&d);
    let post = |body: &str| match ureq::post(&format!("{url}/tx")).send_string(body) {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    };
    let get = |path: &str| match ureq::get(&format!("{url}{path}")).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{e}"),
    };
    let (code, msg) = post("not hex");
    assert_eq!(code, 400);
    assert!(msg.contains("hex"), "{msg}");
    let (code, msg) = post("0100");
    assert_eq!((code, msg.contains("decode")), (400, true), "{msg}");
    // An oversized body is refused. Just over the limit, so that the refusal comes when the
    // client has (nearly) finished sending; a transport error (the server answering and closing
    // while the last bytes are in flight) is retried.
    let oversized = "00".repeat(500_005);
    let code = (0..3)
        .find_map(
            |_| match ureq::post(&format!("{url}/tx")).send_string(&oversized) {
                Ok(r) => Some(r.status()),
                Err(ureq::Error::Status(code, _)) => Some(code),
                Err(_) => None,
            },
        )
        .expect("an answer within three tries");
    assert_eq!(code, 413, "oversized bodies are refused");
    assert_eq!(get("/no/such/endpoint"), 404);
    assert_eq!(get("/tx/xyz/status"), 400);
    assert_eq!(get("/block-height/99999"), 404);
    // A double spend: the faucet's coin spent twice gets Core's reason.
    let ctl = Ctl(d.clone());
    let tx = ctl.fund(&d.faucet_script(), Amount::from_sat(10_000));
    let mut twin = tx.clone();
    twin.output[0].value -= Amount::from_sat(1);
    let (code, msg) = post(&bitcoin::consensus::encode::serialize_hex(&twin));
    assert_eq!(code, 400);
    assert!(
        msg.contains("insufficient fee") || msg.contains("mandatory-script-verify-flag-failed"),
        "{msg}"
    );
    // The JSON documents and the RPC subset refuse bad input by name.
    assert_eq!(get("/scripthash/zz/txs"), 400);
    assert_eq!(get("/blocks/abc"), 400);
    assert_eq!(get(&format!("/tx/{}/outspend/0", "00".repeat(32))), 404);
    assert_eq!(get(&format!("/tx/{}/outspend/99", tx.compute_txid())), 404);
    let rpc = |body: &str| -> serde_json::Value {
        let r = match ureq::post(&format!("{url}/")).send_string(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        serde_json::from_str(&r.into_string().unwrap()).unwrap()
    };
    assert_eq!(rpc("{not json")["error"]["code"], -32700);
    assert_eq!(
        rpc(r#"{"id":1,"method":"nosuch"}"#)["error"]["code"],
        -32601
    );
    assert_eq!(
        rpc(r#"{"id":1,"method":"getblockhash","params":[99999]}"#)["error"]["code"],
        -8
    );
    assert_eq!(
        rpc(r#"{"id":1,"method":"sendrawtransaction","params":["00"]}"#)["error"]["code"],
        -22
    );
    let refused = rpc(&format!(
        r#"{{"id":1,"method":"sendrawtransaction","params":["{}"]}}"#,
        bitcoin::consensus::encode::serialize_hex(&twin)
    ));
    assert_eq!(refused["error"]["code"], -26, "{refused}");
    // Still running.
    assert_eq!(get("/blocks/tip/height"), 200);
}

#[test]
fn core_backend_over_the_devnet_rpc_passes_the_backend_suite() {
    use chain::core::{CoreBackend, CoreUrl};
    let dir = testkit::tempdir();
    let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    let url = serve(&d);
    let parsed: CoreUrl = format!("{url}?rest=1").parse().unwrap();
    let core = CoreBackend::connect(&parsed, bitcoin::Network::Regtest).unwrap();
    assert!(core.uses_rest(), "raw blocks come over REST");
    assert!(core.has_txindex());
    testsuite::run(&core, &Ctl(d.clone()));
    // The same without REST: raw blocks over getblock.
    let rpc_only: CoreUrl = format!("{url}?rest=0").parse().unwrap();
    let core = CoreBackend::connect(&rpc_only, bitcoin::Network::Regtest).unwrap();
    assert!(!core.uses_rest());
    testsuite::run(&core, &Ctl(d.clone()));
    // A node on another network is refused by name.
    let e = CoreBackend::connect(&parsed, bitcoin::Network::Bitcoin).unwrap_err();
    assert!(e.to_string().contains("network mismatch"), "{e}");
    // A node that is not there says so.
    let gone: CoreUrl = "http://127.0.0.1:9".parse().unwrap();
    let e = CoreBackend::connect(&gone, bitcoin::Network::Regtest).unwrap_err();
    assert!(e.is_transient(), "{e}");
}

#[test]
fn core_backend_follows_zmq_sequence_notifications() {
    use chain::core::{CoreBackend, CoreUrl};
    use chain::{ChainBackend, ChainEvent};
    use std::time::Duration;
    let dir = testkit::tempdir();
    let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    // A faucet with mature coins, so that funding below mines nothing.
    d.mine(101, &d.faucet_script()).unwrap();
    let url = serve(&d);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(devnet::zmqpub::publish(&d, &endpoint)).unwrap();
    let parsed: CoreUrl = format!("{url}?zmq={endpoint}").parse().unwrap();
    let core =
        std::sync::Arc::new(CoreBackend::connect(&parsed, bitcoin::Network::Regtest).unwrap());
    // A long poll: events must come from ZMQ, not from polling.
    let events = core.clone().changes(Duration::from_secs(3600)).unwrap();
    let first = events.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(matches!(first, ChainEvent::Tip(_)), "{first:?}");
    // The subscription needs a moment to reach the publisher (ZMQ's slow joiner).
    std::thread::sleep(Duration::from_millis(300));
    let ctl = Ctl(d.clone());
    let mined = ctl.mine(1);
    let tx = ctl.fund(&d.faucet_script(), Amount::from_sat(20_000));
    let txid = tx.compute_txid();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let Ok(e) = events.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        seen.push(e.clone());
        if e == ChainEvent::MempoolAdded(txid) {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, ChainEvent::Tip(b) if b.hash == mined[0])),
        "the mined block arrives: {seen:?}"
    );
    assert!(seen.contains(&ChainEvent::MempoolAdded(txid)), "{seen:?}");
    let mined = ctl.mine(1);
    let mut removed = false;
    let mut tip = false;
    while !(removed && tip) && std::time::Instant::now() < deadline {
        match events.recv_timeout(Duration::from_secs(1)) {
            Ok(ChainEvent::MempoolRemoved(t)) if t == txid => removed = true,
            Ok(ChainEvent::Tip(b)) if b.hash == mined[0] => tip = true,
            _ => {}
        }
    }
    assert!(
        removed && tip,
        "mining takes it out of the mempool and moves the tip"
    );
}
