//! `bitflix publish --resume --bump-to RATE` on the devnet: a publish stuck at a low fee rate is
//! replaced (BIP125, the devnet's mempool applies Core's replacement rules) by the same film at a
//! higher rate. With or without a kill in the middle of the bump, exactly one of the two plans is
//! paid: the wallet ends with 1 BTC minus the fees of the plan in force, and one film is on chain.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use chain::ChainBackend;
use std::time::Duration;
use testkit::{journal_txids as txids, journals};

fn fees(j: &serde_json::Value) -> u64 {
    j["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["fee_sat"].as_u64().unwrap())
        .sum()
}

/// When the bump is killed.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// Not at all.
    Never,
    /// After this many milliseconds.
    After(u64),
    /// As soon as the replacement's journal is on disk (mid-broadcast, or just after the end).
    AtJournal,
}

/// Publish at 1 sat/vB (all left in the mempool), bump to 5 sat/vB, killed as `kill` says,
/// finish with `--resume`, then check that exactly one plan was paid.
/// Returns how many journals were written and how long the bump ran.
fn bump_round(kill: Kill, carrier: &str) -> (usize, u64) {
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    let chain_dir = dir.path().join("chain");
    let chain = format!("devnet:{}", chain_dir.display());
    let film: Vec<u8> = (0..60_000u32).map(|i| (i * 17 % 239) as u8).collect();
    let file = dir.path().join("film.cvpm");
    std::fs::write(&file, &film).unwrap();
    let bitflix = testkit::bitflix!(&data).json();
    bitflix.ok(&["wallet", "fund", "--btc", "1", "--chain", &chain]);
    {
        let d = testkit::devnet::open(&chain_dir);
        d.mine(1, &d.faucet_script()).unwrap();
    }
    let first = bitflix.ok(&[
        "publish",
        file.to_str().unwrap(),
        "--carrier",
        carrier,
        "--feerate",
        "1",
        "--chain",
        &chain,
    ]);
    let old_id = first[0]["content_id"].as_str().unwrap().to_string();
    let old = journals(&data).pop().unwrap();
    {
        let d = testkit::devnet::open(&chain_dir);
        for t in txids(&old) {
            assert_eq!(d.tx_status(&t).unwrap(), chain::TxStatus::Mempool, "stuck");
        }
    }

    let bump = ["publish", "--resume", "--bump-to", "5", "--chain", &chain];
    let t = std::time::Instant::now();
    match kill {
        Kill::Never => {
            // The replacement goes through the rails: over --max-fee it is refused, untouched.
            let capped = [&bump[..], &["--max-fee", "1"]].concat();
            let r = bitflix.run(&capped);
            assert!(
                !r.success() && r.stderr.contains("above --max-fee 1"),
                "{}",
                r.stderr
            );
            assert_eq!(journals(&data).len(), 1, "nothing replaced");
            let out = bitflix.ok(&bump);
            assert_ne!(out[0]["content_id"], old_id.as_str(), "a new plan");
            assert_eq!(out[0]["sent"], out[0]["transactions"]);
        }
        Kill::After(_) | Kill::AtJournal => {
            let mut child = bitflix.command(&bump).spawn().unwrap();
            if let Kill::After(ms) = kill {
                std::thread::sleep(Duration::from_millis(ms));
            } else {
                while journals(&data).len() < 2 && child.try_wait().unwrap().is_none() {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            bitflix.ok(&["publish", "--resume", "--chain", &chain]);
        }
    }
    let took = t.elapsed().as_millis() as u64;

    let all = journals(&data);
    let in_force: Vec<_> = all.iter().filter(|j| j["replaced"] == false).collect();
    let d = testkit::devnet::open(&chain_dir);
    d.mine(1, &d.faucet_script()).unwrap();
    let mut paid = Vec::new();
    for j in &all {
        let ids = txids(j);
        let confirmed = ids
            .iter()
            .filter(|t| matches!(d.tx_status(t).unwrap(), chain::TxStatus::Confirmed(_)))
            .count();
        assert!(
            confirmed == 0 || confirmed == ids.len(),
            "a plan is paid wholly or not at all"
        );
        if confirmed > 0 {
            paid.push(j);
        }
    }
    assert_eq!(paid.len(), 1, "exactly one plan is paid");
    eprintln!(
        "kill {kill:?}: {} journals, the {} plan was paid",
        all.len(),
        if paid[0]["replaces"].is_null() {
            "original"
        } else {
            "replacement"
        }
    );
    if matches!(kill, Kill::Never) {
        assert_eq!(all.len(), 2);
        assert_eq!(in_force.len(), 1);
        assert_eq!(paid[0]["replaces"], old_id.as_str());
        assert!(
            fees(paid[0]) > 4 * fees(&old),
            "paid at 5 sat/vB instead of 1"
        );
    }
    let mut ix = index::Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let complete: Vec<_> = snap
        .summaries()
        .iter()
        .filter(|c| snap.read_all(&c.id).is_ok_and(|b| b == film))
        .collect();
    assert_eq!(complete.len(), 1, "one film on chain");
    assert_eq!(
        complete[0].id.to_string(),
        paid[0]["content_id"].as_str().unwrap()
    );
    drop(d);
    let balance = bitflix.ok(&["wallet", "balance", "--chain", &chain]);
    assert_eq!(
        balance["confirmed_sat"].as_u64().unwrap(),
        100_000_000 - fees(paid[0]),
        "the wallet paid the fees of one plan, nothing else"
    );
    assert_eq!(balance["unconfirmed_sat"], 0);
    (all.len(), took)
}

#[test]
fn bump_replaces_a_stuck_publish_and_pays_once() {
    bump_round(Kill::Never, "op-return");
    // The replacement re-reads the stream from the journal's own transactions: envelopes too.
    bump_round(Kill::Never, "envelope");
}

#[test]
fn killed_bump_still_pays_once() {
    // Kill at fractions of an uncut bump's time (most land before the replacement's journal),
    // then as soon as the replacement's journal exists: the devnet takes a whole plan in a few
    // milliseconds, so a timed kill alone rarely lands mid-broadcast.
    let (_, full) = bump_round(Kill::Never, "op-return");
    for pct in [30, 60, 85] {
        bump_round(Kill::After(full * pct / 100), "op-return");
    }
    let (journals, _) = bump_round(Kill::AtJournal, "op-return");
    assert_eq!(
        journals, 2,
        "the kill landed after the replacement's journal"
    );
}
