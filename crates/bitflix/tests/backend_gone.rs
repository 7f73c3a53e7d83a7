//! The chain backend goes away in the middle of a publish: the devnet's Esplora daemon is killed
//! (SIGKILL) while `bitflix publish --chain esplora:URL` broadcasts. The publish stops with a clear,
//! resumable error; once the daemon is back, `--resume` finishes without paying twice.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use chain::ChainBackend;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn backend_killed_mid_publish_then_resume_completes() {
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    let node = dir.path().join("node");
    let devnet_dir = node.join("devnet");
    let film: Vec<u8> = (0..80_000u32).map(|i| (i * 37 % 251) as u8).collect();
    let file = dir.path().join("film.cvpm");
    std::fs::write(&file, &film).unwrap();

    // Fund the wallet on the devnet in-process, before the daemon holds it.
    let local = format!("devnet:{}", devnet_dir.display());
    testkit::bitflix!(&data).ok(&["wallet", "fund", "--btc", "1", "--chain", &local]);
    {
        let d = testkit::devnet::open(&devnet_dir);
        d.mine(1, &d.faucet_script()).unwrap();
    }

    let port = testkit::free_port();
    let daemon =
        || testkit::Daemon::start(&testkit::bitflix!(&node), port, &["--block-interval", "1s"]);
    let node_proc = daemon();
    let url = format!("esplora:{}", node_proc.url());
    // 80-byte carrier: ~1,000 transactions, each its own HTTP request.
    let mut publish = testkit::bitflix!(&data)
        .command(&[
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
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the backend once the journal is written and broadcasting has begun (the daemon knows
    // the plan's first transaction), however slow the machine.
    let t = Instant::now();
    while !testkit::has_journal(&data) {
        assert!(t.elapsed() < Duration::from_secs(120), "no journal");
        assert!(publish.try_wait().unwrap().is_none(), "publish ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    let first = testkit::journal_txids(&testkit::journals(&data)[0])[0];
    let esplora = chain::esplora::EsploraBackend::new(&node_proc.url(), bitcoin::Network::Regtest);
    while esplora.tx_status(&first).unwrap() == chain::TxStatus::Unknown {
        assert!(t.elapsed() < Duration::from_secs(120), "nothing broadcast");
        assert!(publish.try_wait().unwrap().is_none(), "publish ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    node_proc.kill();
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
    let plan = {
        let all = testkit::journals(&data);
        assert_eq!(all.len(), 1);
        all.into_iter().next().unwrap()
    };
    let txids = testkit::journal_txids(&plan);
    let sent_before = {
        let d = testkit::devnet::open(&devnet_dir);
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

    let node_proc = daemon();
    let done = testkit::bitflix!(&data)
        .json()
        .run(&["publish", "--resume", "--chain", &url]);
    node_proc.kill();
    assert!(done.success(), "{}", done.stderr);
    let done = done.json;
    assert_eq!(done[0]["transactions"], txids.len());
    assert!(
        done[0]["sent"].as_u64().unwrap() > 0,
        "the resume sent the rest"
    );

    let d = testkit::devnet::open(&devnet_dir);
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
