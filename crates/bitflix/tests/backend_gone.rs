//! The chain backend goes away in the middle of a publish: the devnet's Esplora daemon is killed
//! (SIGKILL) while `bitflix publish --chain esplora:URL` broadcasts. The publish stops with a clear,
//! resumable error; once the daemon is back, `--resume` finishes without paying twice.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use chain::ChainBackend;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bitflix(datadir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bitflix"));
    c.arg("--datadir").arg(datadir).args(args);
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start the daemon and wait until it answers.
fn daemon(node: &Path, port: u16) -> Child {
    let child = bitflix(
        node,
        &[
            "devnet",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--block-interval",
            "1s",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let b = chain::esplora::EsploraBackend::new(
        &format!("http://127.0.0.1:{port}"),
        bitcoin::Network::Regtest,
    );
    let t = Instant::now();
    while b.tip().is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn backend_killed_mid_publish_then_resume_completes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = dir.path().join("node");
    let devnet_dir = node.join("devnet");
    let film: Vec<u8> = (0..80_000u32).map(|i| (i * 37 % 251) as u8).collect();
    let file = dir.path().join("film.cvpm");
    std::fs::write(&file, &film).unwrap();

    // Fund the wallet on the devnet in-process, before the daemon holds it.
    let local = format!("devnet:{}", devnet_dir.display());
    let out = bitflix(&data, &["wallet", "fund", "--btc", "1", "--chain", &local])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    {
        let d = devnet::Devnet::open(&devnet_dir, devnet::DevnetConfig::default()).unwrap();
        d.mine(1, &d.faucet_script()).unwrap();
    }

    let port = free_port();
    let mut node_proc = daemon(&node, port);
    let url = format!("esplora:http://127.0.0.1:{port}");
    // 80-byte carrier: ~1,000 transactions, each its own HTTP request.
    let mut publish = bitflix(
        &data,
        &[
            "publish",
            file.to_str().unwrap(),
            "--title",
            "Gone",
            "--carrier",
            "op-return-80",
            "--feerate",
            "1",
            "--chain",
            &url,
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Kill the backend once the journal is written and broadcasting has begun.
    let t = Instant::now();
    while !data.join("publish").exists() {
        assert!(t.elapsed() < Duration::from_secs(120), "no journal");
        assert!(publish.try_wait().unwrap().is_none(), "publish ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    node_proc.kill().unwrap();
    node_proc.wait().unwrap();
    let out = publish.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the publish cannot finish without a backend"
    );
    assert!(
        err.contains("broadcast stopped") && err.contains("--resume"),
        "a clear, resumable error: {err}"
    );

    // What went out before the kill, seen by the devnet itself.
    let plan: serde_json::Value = {
        let dirs: Vec<_> = std::fs::read_dir(data.join("publish")).unwrap().collect();
        assert_eq!(dirs.len(), 1);
        let p = dirs[0].as_ref().unwrap().path().join("plan.json");
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let txids: Vec<bitcoin::Txid> = plan["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["txid"].as_str().unwrap().parse().unwrap())
        .collect();
    let sent_before = {
        let d = devnet::Devnet::open(&devnet_dir, devnet::DevnetConfig::default()).unwrap();
        txids
            .iter()
            .filter(|t| d.tx_status(t).unwrap() != chain::TxStatus::Unknown)
            .count()
    };
    eprintln!(
        "backend killed after {sent_before} of {} transactions: {}",
        txids.len(),
        err.trim()
    );
    assert!(
        sent_before > 0 && sent_before < txids.len(),
        "killed mid-broadcast: {sent_before} of {} sent",
        txids.len()
    );

    let mut node_proc = daemon(&node, port);
    let out = bitflix(&data, &["--json", "publish", "--resume", "--chain", &url])
        .output()
        .unwrap();
    node_proc.kill().unwrap();
    node_proc.wait().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done[0]["transactions"], txids.len());
    assert!(
        done[0]["sent"].as_u64().unwrap() > 0,
        "the resume sent the rest"
    );

    let d = devnet::Devnet::open(&devnet_dir, devnet::DevnetConfig::default()).unwrap();
    d.mine(1, &d.faucet_script()).unwrap();
    for t in &txids {
        assert!(
            matches!(d.tx_status(t).unwrap(), chain::TxStatus::Confirmed(_)),
            "{t} confirmed"
        );
    }
    let mut ix = index::Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let contents: Vec<_> = snap.summaries().iter().collect();
    assert_eq!(contents.len(), 1, "one film");
    assert_eq!(snap.read_all(&contents[0].id).unwrap(), film);
    assert_eq!(
        contents[0].transactions,
        txids.len() - 1,
        "every plan tx but the funding"
    );
}
