//! `bitflix live` on the embedded devnet: a real-time stream from the test pattern ended by
//! SIGTERM, one from an SRT ingest (ffmpeg sending as OBS would) ended by its `--duration`, a
//! stream killed with SIGKILL and resumed, and an accelerated long stream whose fan-out refills. Each recording is checked from the chain itself: every journaled transaction
//! confirmed, the chunks attributed by the lineage rule with indexes 0..n, each once, the `end`
//! record's count and Merkle root matching them, and the chunks one CVPM stream.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use chain::ChainBackend;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// The journal's transactions, step by step.
fn logged(data: &Path) -> (bitcoin::Txid, Vec<bitcoin::Transaction>) {
    let live = data.join("live");
    let dirs: Vec<_> = std::fs::read_dir(&live)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one stream, never started twice");
    let raw = std::fs::read(dirs[0].join("txs.log")).unwrap();
    let mut txs = Vec::new();
    for rec in durable::frame::records(&raw) {
        let step: Vec<serde_json::Value> = serde_json::from_slice(rec.unwrap()).unwrap();
        for e in step {
            let bytes = hex::decode(e["hex"].as_str().unwrap()).unwrap();
            txs.push(bitcoin::consensus::deserialize(&bytes).unwrap());
        }
    }
    let id = dirs[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (id, txs)
}

/// Check the recording on chain; returns the number of chunk records.
fn check_recording(chain_dir: &Path, data: &Path) -> u32 {
    let (id, txs) = logged(data);
    let d = testkit::devnet::open(chain_dir);
    d.mine(1, &d.faucet_script()).unwrap();
    let mut seen = std::collections::HashSet::new();
    for t in &txs {
        let txid = t.compute_txid();
        assert!(seen.insert(txid), "{txid} journaled twice");
        assert!(
            matches!(d.tx_status(&txid).unwrap(), chain::TxStatus::Confirmed(_)),
            "{txid} confirmed"
        );
    }
    let mut lineage = cvp::Lineage::default();
    let mut chunks = std::collections::BTreeMap::new();
    let mut end = None;
    for t in &txs {
        for a in lineage.observe(cvp::TxRecords::from_tx(t)) {
            assert_eq!(
                a.content, id,
                "every transaction is in the stream's lineage"
            );
            for f in a.tx.found {
                match f.record.unwrap() {
                    cvp::Record::LiveChunk(c) => {
                        assert!(
                            chunks.insert(c.index, c.payload).is_none(),
                            "index {} paid twice",
                            c.index
                        );
                    }
                    cvp::Record::End(e) => end = Some(e),
                    _ => {}
                }
            }
        }
    }
    let n = chunks.len() as u32;
    assert_eq!(
        chunks.keys().copied().collect::<Vec<_>>(),
        (0..n).collect::<Vec<_>>(),
        "no index skipped"
    );
    let end = end.expect("an end record");
    assert_eq!(end.segment_count, n);
    let payloads: Vec<Vec<u8>> = chunks.into_values().collect();
    assert_eq!(end.merkle_root, Some(cvp::merkle::root(&payloads)));
    let stream = media::format::Stream::decode(&payloads.concat()).expect("one CVPM stream");
    assert!(stream.packets.iter().any(|p| p.keyframe && !p.audio));
    assert!(stream.packets.iter().any(|p| p.audio));
    n
}

fn wait_for_chunks(child: &mut Child, data: &Path, at_least: usize, timeout: Duration) {
    let start = Instant::now();
    loop {
        let n = data
            .join("live")
            .read_dir()
            .ok()
            .and_then(|mut r| r.next())
            .and_then(|e| std::fs::read(e.ok()?.path().join("txs.log")).ok())
            .map_or(0, |raw| durable::frame::records(&raw).count());
        // Steps: the first (funding, header, fan-out), then one per chunk record.
        if n > at_least {
            return;
        }
        if child.try_wait().unwrap().is_some() {
            return; // ended on its own (its --duration): the checks after say whether it is whole
        }
        assert!(
            start.elapsed() < timeout,
            "no {at_least} chunks in {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_test_pattern_stream_ended_by_sigterm_is_a_verified_recording() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    let chain_dir = dir.path().join("chain");
    let chain = format!("devnet:{}", chain_dir.display());
    let bitflix = testkit::bitflix!(data.to_str().unwrap()).json();
    let mut child = bitflix
        .command(&[
            "live",
            "--source",
            "lavfi:testsrc2",
            "--title",
            "Pattern",
            "--chain",
            &chain,
            "--feerate",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // 2 s chunks in real time: ten of them is 20 s of stream.
    wait_for_chunks(&mut child, &data, 10, Duration::from_secs(120));
    testkit::live::sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ended"], true);
    let n = check_recording(&chain_dir, &data);
    assert!(n >= 10, "{n} chunks");
    assert_eq!(report["chunks"], n);
}

#[test]
fn an_srt_ingest_streamed_for_its_duration_is_a_verified_recording() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    let chain_dir = dir.path().join("chain");
    let chain = format!("devnet:{}", chain_dir.display());
    let bitflix = testkit::bitflix!(data.to_str().unwrap()).json();
    let port = testkit::free_port();
    let source = format!("srt://127.0.0.1:{port}?mode=listener");
    let mut child = bitflix
        .command(&[
            "live",
            "--source",
            &source,
            "--title",
            "Ingest",
            "--chain",
            &chain,
            "--feerate",
            "1",
            "--duration",
            "10",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // ffmpeg listens once the first fan-out is confirmed: the sender tries until then. It sends
    // longer than the duration: the stream ends at 10 s of source.
    let url = format!("srt://127.0.0.1:{port}?mode=caller");
    let sender =
        std::thread::spawn(move || testkit::send_test_pattern(&url, 14.0, Duration::from_secs(60)));
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("bitflix live did not end in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The streamer is told where OBS sends.
    assert!(
        stderr.contains(&format!("listening on {source}"))
            && stderr.contains(&format!("Server srt://127.0.0.1:{port}?mode=caller")),
        "{stderr}"
    );
    let sent = sender.join().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ended"], true);
    let n = check_recording(&chain_dir, &data);
    eprintln!(
        "{n} chunks ({} media chunks); the sender: {} attempts, connected for {:?}, of {:?} in all",
        report["media_chunks_sent"],
        sent.attempts,
        sent.ran,
        t0.elapsed()
    );
    assert_eq!(report["chunks"], n);
    // 10 s in 2 s chunks; one that outgrew its coin's unit takes two records.
    let media = report["media_chunks_sent"].as_u64().unwrap();
    assert!(media.abs_diff(5) <= 1, "{media} media chunks for 5");
    assert!(
        (media..=2 * media).contains(&u64::from(n)),
        "{n} chunk records for {media} media chunks"
    );
}

#[test]
fn a_killed_stream_resumes_as_one_stream() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    let chain_dir = dir.path().join("chain");
    let chain = format!("devnet:{}", chain_dir.display());
    let bitflix = testkit::bitflix!(data.to_str().unwrap()).json();
    let mut child = bitflix
        .command(&[
            "live",
            "--source",
            "lavfi:testsrc2",
            "--chain",
            &chain,
            "--feerate",
            "1",
            "--accelerated",
            "--duration",
            "120",
            "--block-every",
            "30",
        ])
        .spawn()
        .unwrap();
    wait_for_chunks(&mut child, &data, 15, Duration::from_secs(120));
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    // Starting afresh must refuse: the stream is not ended.
    let again = bitflix.run(&["live", "--source", "lavfi:testsrc2", "--chain", &chain]);
    assert!(
        !again.success() && again.stderr.contains("--resume"),
        "{}",
        again.stderr
    );
    let mut child = bitflix
        .command(&["live", "--resume", "--chain", &chain])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_chunks(&mut child, &data, 25, Duration::from_secs(120));
    testkit::live::sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let n = check_recording(&chain_dir, &data);
    assert!(n >= 25, "{n} chunks");
}

#[test]
fn a_two_hour_accelerated_stream_refills_and_tops_up_within_mempool_limits() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    let chain_dir = dir.path().join("chain");
    let chain = format!("devnet:{}", chain_dir.display());
    let bitflix = testkit::bitflix!(data.to_str().unwrap()).json();
    // Two hours of stream in 2 s chunks (3,600 chunks) with fan-outs of 100 coins and funding for
    // half an hour at a time: refills every 100 chunks, the wallet topping the stream up three
    // times, a block every 5 minutes of stream (a chunk that finds no coin the mempool limits
    // allow waits for one: the backlog). Any mempool refusal fails the command. Two
    // frames a second keep the encoder's share of the test small; the bytes are the rate's.
    let report = bitflix.ok(&[
        "live",
        "--source",
        "lavfi:testsrc2",
        "--chain",
        &chain,
        "--feerate",
        "1",
        "--accelerated",
        "--duration",
        "7200",
        "--size",
        "64x36",
        "--fps",
        "2",
        "--fanout-width",
        "100",
        "--hours",
        "0.5",
        "--block-every",
        "300",
    ]);
    let n = check_recording(&chain_dir, &data);
    assert!(n >= 3_590, "{n} chunks");
    assert!(report["fanouts"].as_u64().unwrap() >= 36, "{report}");
    assert!(report["topups"].as_u64().unwrap() >= 3, "{report}");
    assert_eq!(report["ended"], true);
}
