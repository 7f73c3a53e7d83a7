//! kill -9 in the middle of a publish, then `--resume`: nothing is paid twice, nothing is missing.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use chain::ChainBackend;
use std::time::Duration;

#[test]
fn killed_publish_resumes_without_paying_twice() {
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    let datadir = data.to_str().unwrap();
    let chain = format!("devnet:{}", dir.path().join("chain").display());
    let film: Vec<u8> = (0..60_000u32).map(|i| (i * 31 % 253) as u8).collect();
    let file = dir.path().join("film.cvpm");
    std::fs::write(&file, &film).unwrap();
    // Kill at several points: early (maybe before the journal), and mid-broadcast.
    let mut seed = 0x9e37_79b9_u64;
    let mut killed_with_journal = false;
    let bitflix = testkit::bitflix!(datadir);
    let publish = [
        "publish",
        file.to_str().unwrap(),
        "--title",
        "Killed",
        "--carrier",
        "op-return-80",
        "--chain",
        &chain,
    ];
    for round in 0..4 {
        let mut child = if round == 0 {
            bitflix.command(&publish).spawn().unwrap()
        } else {
            bitflix
                .command(&["publish", "--resume", "--chain", &chain])
                .spawn()
                .unwrap()
        };
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        if round == 0 {
            // Let it get past funding and planning: wait for the journal, then kill mid-broadcast.
            for _ in 0..600 {
                if testkit::has_journal(&data) || child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if round > 0 {
            // The first kill lands as soon as the journal exists (a devnet broadcast of the whole
            // plan can take less than 20 ms); the later ones at random.
            std::thread::sleep(Duration::from_millis(20 + (seed >> 33) % 250));
        }
        let _ = child.kill(); // SIGKILL
                              // Finished on its own (an exit code) or killed (a signal): decided by how it ended, not
                              // by a look before the kill (it may finish in between).
        let finished = child.wait().unwrap().code().is_some();
        // Interrupted: killed with a journal of which the chain lacks a transaction. A kill that
        // lands after the last broadcast (but before the exit) leaves a finished publish, which a
        // new run may rightly follow with a new one.
        let interrupted = !finished && testkit::has_journal(&data) && {
            let d = testkit::devnet::open(&dir.path().join("chain"));
            let journal = testkit::journals(&data).pop().unwrap();
            testkit::journal_txids(&journal)
                .iter()
                .any(|t| d.tx_status(t).unwrap() == chain::TxStatus::Unknown)
        };
        killed_with_journal |= interrupted;
        if round == 0 && interrupted {
            // Re-running the original command instead of --resume would pay again: it must refuse.
            let again = bitflix.run(&publish);
            assert!(
                !again.success() && again.stderr.contains("interrupted publish"),
                "{}",
                again.stderr
            );
        }
        if round == 0 && !testkit::has_journal(&data) {
            // Killed before the plan was saved: nothing was broadcast, start again.
            bitflix.ok(&publish);
        }
    }
    bitflix.ok(&["publish", "--resume", "--chain", &chain]);
    assert!(
        killed_with_journal,
        "at least one kill must land mid-broadcast for this test to mean anything"
    );

    // Check the chain: one journal, every transaction known exactly once, the film complete.
    let journals = std::fs::read_dir(data.join("publish")).unwrap().count();
    assert_eq!(journals, 1, "one plan, never re-planned");
    let d = testkit::devnet::open(&dir.path().join("chain"));
    d.mine(1, &d.faucet_script()).unwrap();
    let journal = testkit::journals(&data).pop().unwrap();
    let txids = testkit::journal_txids(&journal);
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
    assert_eq!(contents.len(), 1, "one film, not two");
    assert_eq!(snap.read_all(&contents[0].id).unwrap(), film);
    // No input was spent by two different transactions of ours: every journal tx is confirmed,
    // and the chain accepted them all, so none conflicted.
    // The journal's first transaction is the wallet's funding; the rest are the film's lineage.
    assert_eq!(plan_roles(&journal)[0], "funding");
    assert_eq!(contents[0].transactions, txids.len() - 1);
}

fn plan_roles(journal: &serde_json::Value) -> Vec<String> {
    journal["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["role"].as_str().unwrap_or("").to_string())
        .collect()
}
