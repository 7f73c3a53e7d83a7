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

/// Serve the devnet's Esplora API on a free loopback port; returns its base URL.
fn serve(d: &Devnet) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let d = d.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            devnet::http::serve(d, listener, std::future::pending())
                .await
                .unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

#[test]
fn devnet_in_process_passes_the_backend_suite() {
    let dir = tempfile::tempdir().unwrap();
    let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    testsuite::run(&d, &Ctl(d.clone()));
}

#[test]
fn esplora_over_http_passes_the_backend_suite() {
    let dir = tempfile::tempdir().unwrap();
    let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    let url = serve(&d);
    let esplora = EsploraBackend::new(&url, bitcoin::Network::Regtest);
    testsuite::run(&esplora, &Ctl(d.clone()));
}

#[test]
fn bad_input_gets_a_reason_and_the_devnet_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
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
    let (code, _) = post(&"00".repeat(1_000_001));
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
    // Still running.
    assert_eq!(get("/blocks/tip/height"), 200);
}
