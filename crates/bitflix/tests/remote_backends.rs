//! The binary over the network: `bitflix devnet` serves a chain holding the demo film, and
//! `bitflix index` finds and verifies the film through the Esplora API and through the Bitcoin
//! Core backend (JSON-RPC, REST raw blocks, ZMQ), as it would against a real node; and a film
//! published through the Core backend is found complete.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use serde_json::Value;
use std::time::{Duration, Instant};

fn bitflix(args: &[&str]) -> (i32, Value, String) {
    let r = testkit::bitflix!().run(args);
    (r.code, r.json, r.stderr)
}

#[test]
fn index_finds_the_demo_film_over_esplora_and_bitcoin_core_backends() {
    let dir = testkit::tempdir();
    let d = dir.path().to_str().unwrap();
    let (code, demo, err) = bitflix(&["demo", "--datadir", d, "--no-serve", "--json"]);
    assert_eq!(code, 0, "{err}");
    let content = demo["content_id"].as_str().unwrap().to_string();

    let (port, zmq) = (testkit::free_port(), testkit::free_port());
    let endpoint = format!("tcp://127.0.0.1:{zmq}");
    let daemon = testkit::Daemon::start(
        &testkit::bitflix!(d),
        port,
        &["--zmq", &endpoint, "--block-interval", "1s"],
    );
    let listen = daemon.listen().to_string();

    for (name, chain) in [
        ("esplora", format!("esplora:http://{listen}")),
        ("core", format!("core:http://{listen}?zmq={endpoint}")),
        ("core-rpc-only", format!("core:http://{listen}?rest=0")),
    ] {
        let idx = dir.path().join(name);
        let (code, out, err) = bitflix(&[
            "index",
            "--datadir",
            idx.to_str().unwrap(),
            "--chain",
            &chain,
            "--json",
        ]);
        assert_eq!(code, 0, "{name}: {err}");
        let film = out["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == content.as_str())
            .unwrap_or_else(|| panic!("{name}: the demo film is indexed: {out}"));
        assert_eq!(film["state"], "complete", "{name}: {film}");
    }

    // Publishing through the Core backend: the demo's wallet pays, the daemon mines each second.
    let file = dir.path().join("short.cvpm");
    let film: Vec<u8> = (0..6_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&file, &film).unwrap();
    let core = format!("core:http://{listen}?zmq={endpoint}");
    // Funds the way a regtest user gets them from bitcoind: generatetoaddress over JSON-RPC.
    let (code, w, err) = bitflix(&[
        "wallet",
        "address",
        "--datadir",
        d,
        "--chain",
        &core,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let address = w["address"].as_str().unwrap();
    let mined: Value = serde_json::from_str(
        &ureq::post(&format!("http://{listen}/"))
            .send_string(&format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"generatetoaddress","params":[101,"{address}"]}}"#
            ))
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        mined["result"].as_array().map(Vec::len),
        Some(101),
        "{mined}"
    );
    let (code, out, err) = bitflix(&[
        "publish",
        file.to_str().unwrap(),
        "--datadir",
        d,
        "--title",
        "Over RPC",
        "--carrier",
        "envelope",
        "--feerate",
        "1",
        "--chain",
        &core,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let published = out[0]["content_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (code, out, err) = bitflix(&[
            "index",
            "--datadir",
            dir.path().join("after").to_str().unwrap(),
            "--chain",
            &core,
            "--json",
        ]);
        assert_eq!(code, 0, "{err}");
        let found = out["contents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == published.as_str() && c["state"] == "complete");
        if found {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new film is indexed complete: {out}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let (code, _, err) = bitflix(&[
        "index",
        "--datadir",
        d,
        "--chain",
        "core:http://127.0.0.1:9",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("reaching Bitcoin Core"), "{err}");
}
