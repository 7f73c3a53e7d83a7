//! `--network signet` against a real bitcoind on a custom signet (`-signetchallenge=51`: signet's
//! rules, address prefixes and proof of work; blocks need no signature): the wallet's addresses
//! and coin type, the genesis check both ways, the wallet funded from a mined coin, the publish
//! rails (the same code path as mainnet: confirmation with the exact fee, `--max-fee`, a fee rate
//! far above the estimate), and a stream published through `core:` with each carrier and
//! indexed complete.
//!
//! bitcoind comes from `BITCOIND_EXE`, `../shared/bitcoind` or `PATH` (skipped without one,
//! outside CI).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::{Address, Amount, Network};
use chain::ChainBackend;
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use testkit::bitcoind::{Node, NodeOptions};

fn bitflix(args: &[&str]) -> testkit::Run {
    testkit::bitflix!().run(args)
}

/// Run bitflix with `stdin` as its standard input; exit code, stdout JSON, stderr.
fn with_stdin(args: &[&str], stdin: &str) -> (i32, Value, String) {
    let mut child = testkit::bitflix!()
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Restore the wallet of `words` with birthday `from` into a new data directory (checking it is
/// the wallet of `address`) and return `wallet balance` through `chain_args`.
fn restore_and_balance(words: &str, from: u32, address: &Address, chain_args: &[&str]) -> Value {
    let other = testkit::tempdir();
    let o = other.path().to_str().unwrap();
    let from = from.to_string();
    let network: Vec<&str> = chain_args
        .iter()
        .position(|a| *a == "--network")
        .map_or(vec![], |i| chain_args[i..i + 2].to_vec());
    let mut args = vec![
        "wallet",
        "restore",
        "--from-height",
        &from,
        "--datadir",
        o,
        "--json",
    ];
    args.extend(&network);
    let (code, out, err) = with_stdin(&args, &format!("{words}\n"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out["address"], address.to_string(), "the same wallet");
    let mut args = vec!["wallet", "balance", "--datadir", o, "--json"];
    args.extend(chain_args);
    let r = bitflix(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json
}

/// The number after "total fee " in the confirmation's question.
fn asked_total(stderr: &str) -> u64 {
    let at = stderr
        .find("total fee ")
        .unwrap_or_else(|| panic!("no question: {stderr}"));
    stderr[at + 10..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_regtest_node_is_refused_as_signet() {
    let Some(node) = Node::start("a_regtest_node_is_refused_as_signet", &[]) else {
        return;
    };
    let dir = testkit::tempdir();
    let d = dir.path().to_str().unwrap();
    let chain = node.chain_spec();
    for cmd in [
        &["index"][..],
        &["wallet", "balance"],
        &["estimate", "--duration", "1m", "--kbps", "1"],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--network", "signet", "--datadir", d, "--chain", &chain]);
        let r = bitflix(&args);
        assert_ne!(r.code, 0, "{cmd:?} on a regtest node as signet");
        // Core's own chain name is checked first (`network mismatch`), then the genesis block.
        assert!(
            r.stderr.contains("serves regtest") && r.stderr.contains("signet"),
            "{cmd:?}: {}",
            r.stderr
        );
    }
    // The same node is fine as regtest.
    let r = bitflix(&["index", "--datadir", d, "--chain", &chain]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// The genesis check itself, on the backend that has no chain name to compare: the devnet.
#[cfg(feature = "devnet")]
#[test]
fn the_devnet_is_refused_as_signet_by_its_genesis() {
    let dir = testkit::tempdir();
    let d = dir.path().to_str().unwrap();
    let chain = format!("devnet:{d}/devnet");
    let r = bitflix(&[
        "index",
        "--network",
        "signet",
        "--datadir",
        d,
        "--chain",
        &chain,
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("the backend serves regtest (genesis 0f9188f1")
            && r.stderr.contains("not signet (genesis 00000008819873e9")
            && r.stderr.contains("--network regtest"),
        "{}",
        r.stderr
    );
    let r = bitflix(&["index", "--datadir", d, "--chain", &chain]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn a_custom_signet_through_core_end_to_end() {
    let test = "a_custom_signet_through_core_end_to_end";
    let Some(node) = Node::start_signet(
        test,
        NodeOptions {
            zmq: true,
            ..Default::default()
        },
    ) else {
        return;
    };
    let chain = node.chain_spec();
    let dir = testkit::tempdir();
    let d = dir.path().to_str().unwrap();
    let net = [
        "--network",
        "signet",
        "--datadir",
        d,
        "--chain",
        &chain,
        "--json",
    ];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(net);
        bitflix(&all)
    };

    // The signet node is refused as regtest and as mainnet.
    for other in ["regtest", "mainnet"] {
        let r = bitflix(&[
            "index",
            "--network",
            other,
            "--datadir",
            d,
            "--chain",
            &chain,
        ]);
        assert!(
            r.code != 0 && r.stderr.contains("serves signet"),
            "{other}: {}",
            r.stderr
        );
    }

    // Signet's addresses and BIP86 coin type 1.
    let r = run(&["wallet", "address"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let address = r.json["address"].as_str().unwrap().to_string();
    assert!(address.starts_with("tb1p"), "{address}");
    let address: Address = address
        .parse::<Address<_>>()
        .unwrap()
        .require_network(Network::Signet)
        .unwrap();
    let r = run(&["wallet", "descriptors"]);
    assert!(
        r.json["external_descriptor"]
            .as_str()
            .unwrap()
            .contains("/86'/1'/0']tpub"),
        "{}",
        r.json
    );

    // Funded from a mined coin, seen through the Core backend.
    node.pay_from_coinbase(1, &address.script_pubkey(), Amount::from_btc(1.0).unwrap());
    let r = run(&["wallet", "balance"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["confirmed_sat"], 100_000_000, "{}", r.json);

    // The mnemonic restored with a birthday: no block below it is read, so the coin is seen from
    // its own block's height and not from the next one.
    let funded_at = node.backend.tip().unwrap().height;
    node.mine(1);
    let tip = funded_at + 1;
    let words = run(&["wallet", "backup"]).json["mnemonic"]
        .as_str()
        .unwrap()
        .to_string();
    for (from, sat) in [(funded_at, 100_000_000u64), (funded_at + 1, 0)] {
        let b = restore_and_balance(
            &words,
            from,
            &address,
            &["--network", "signet", "--chain", &chain],
        );
        assert_eq!(b["confirmed_sat"], sat, "from {from}: {b}");
        assert_eq!(b["birthday"], from, "{b}");
        assert_eq!(b["synced_blocks"], tip - from + 1, "{b}");
    }

    // The backend's fee rate reaches estimate.
    let r = run(&["estimate", "--duration", "10s", "--kbps", "4"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["feerate_source"], "backend", "{}", r.json);
    let estimate = r.json["feerate"].as_f64().unwrap();
    println!("{test}: the node's fee estimate: {estimate} sat/vB");

    let film = dir.path().join("short.cvpm");
    std::fs::write(
        &film,
        (0..6_000u32)
            .map(|i| (i * 31 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let film = film.to_str().unwrap();
    let publish = |carrier: &str, extra: &[&str], stdin: &str| {
        let mut args = vec![
            "publish",
            film,
            "--title",
            carrier,
            "--carrier",
            carrier,
            "--feerate",
            "1",
        ];
        args.extend(extra);
        args.extend(net);
        with_stdin(&args, stdin)
    };

    // The rails, on the path mainnet takes: no answer, a wrong answer, a cap, a rate 50 times the
    // estimate. None leaves a journal or pays anything.
    let (code, _, err) = publish("envelope", &[], "");
    assert!(code != 0 && err.contains("--yes"), "{err}");
    let quoted = asked_total(&err);
    let (code, _, err) = publish("envelope", &[], "no\n");
    assert!(code != 0 && err.contains("not yes"), "{err}");
    assert_eq!(asked_total(&err), quoted, "the same publish, the same fee");
    let cap = (quoted - 1).to_string();
    let (code, _, err) = publish("envelope", &["--max-fee", &cap, "--yes"], "");
    assert!(code != 0 && err.contains("above --max-fee"), "{err}");
    let mut high = vec!["publish", film, "--feerate", "50", "--yes"];
    high.extend(net);
    let r = bitflix(&high);
    assert!(r.code != 0 && r.stderr.contains("--force"), "{}", r.stderr);
    assert!(
        !testkit::has_journal(dir.path()),
        "a refusal writes no journal"
    );

    // Each carrier, mined by bitcoind whenever its mempool holds something.
    let stop = AtomicBool::new(false);
    let mut published = Vec::new();
    /// Stops the miner when the publishes end, a failed assertion included.
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    std::thread::scope(|s| {
        let _stop = Stop(&stop);
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let pending: Vec<Value> = node.call("getrawmempool", &[]);
                if pending.is_empty() {
                    std::thread::sleep(Duration::from_millis(200));
                } else {
                    node.mine(1);
                }
            }
        });
        for (i, carrier) in ["envelope", "op-return", "op-return-80"]
            .into_iter()
            .enumerate()
        {
            // The first answers the question; the others say --yes (and the cap holds).
            let (code, out, err) = if i == 0 {
                publish(carrier, &[], "yes\n")
            } else {
                publish(carrier, &["--yes", "--max-fee", "1000000"], "")
            };
            assert_eq!(code, 0, "{carrier}: {err}");
            let fee = out[0]["fee_sat"].as_u64().unwrap();
            if i == 0 {
                assert_eq!(asked_total(&err), fee, "the question showed the exact fee");
                assert_eq!(fee, quoted, "the refused quote was exact");
            }
            println!(
                "{test}: {carrier}: {} transactions, {fee} sat",
                out[0]["transactions"]
            );
            published.push(out[0]["content_id"].as_str().unwrap().to_string());
        }
        // Everything mined, then the miner stops.
        let deadline = Instant::now() + Duration::from_secs(300);
        while !node.call::<Vec<Value>>("getrawmempool", &[]).is_empty() {
            assert!(Instant::now() < deadline, "the mempool empties");
            std::thread::sleep(Duration::from_millis(300));
        }
        stop.store(true, Ordering::Relaxed);
    });

    let r = run(&["index"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for id in &published {
        let c = r.json["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} is indexed: {}", r.json));
        assert_eq!(c["state"], "complete", "{c}");
    }
}

/// The birthday without bitcoind: a wallet restored on the devnet from the funding block's height
/// sees its coin, one restored from the next block does not (no block below it is read).
#[cfg(feature = "devnet")]
#[test]
fn a_restored_wallet_reads_from_its_birthday() {
    let dir = testkit::tempdir();
    let d = dir.path().to_str().unwrap();
    let chain = format!("devnet:{d}/devnet");
    let r = bitflix(&["wallet", "address", "--datadir", d, "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let address: Address = r.json["address"]
        .as_str()
        .unwrap()
        .parse::<Address<_>>()
        .unwrap()
        .require_network(Network::Regtest)
        .unwrap();
    let words = bitflix(&["wallet", "backup", "--datadir", d, "--json"]).json["mnemonic"]
        .as_str()
        .unwrap()
        .to_string();
    let funded_at = {
        let dn = devnet::Devnet::open(&dir.path().join("devnet"), devnet::DevnetConfig::default())
            .unwrap();
        dn.mine(101, &dn.faucet_script()).unwrap();
        dn.faucet(&address.script_pubkey(), Amount::from_btc(1.0).unwrap())
            .unwrap();
        dn.mine(1, &dn.faucet_script()).unwrap();
        let at = dn.tip().height;
        dn.mine(1, &dn.faucet_script()).unwrap();
        at
    };
    for (from, sat) in [(funded_at, 100_000_000u64), (funded_at + 1, 0)] {
        let b = restore_and_balance(&words, from, &address, &["--chain", &chain]);
        assert_eq!(b["confirmed_sat"], sat, "from {from}: {b}");
        assert_eq!(b["synced_blocks"], funded_at + 2 - from, "{b}");
    }
    // A second restore into a directory holding a wallet is refused.
    let (code, _, err) = with_stdin(
        &["wallet", "restore", "--datadir", d],
        &format!("{words}\n"),
    );
    assert!(code != 0 && err.contains("already holds a wallet"), "{err}");
}

/// `wallet address --chain SPEC` makes a new wallet's birthday the chain's tip, so its first sync
/// reads no block below it; without --chain it makes no connection and records none.
#[cfg(feature = "devnet")]
#[test]
fn a_wallet_made_by_address_with_a_chain_starts_at_its_tip() {
    let dir = testkit::tempdir();
    let chain = format!("devnet:{}", dir.path().join("devnet").display());
    let tip = {
        let dn = devnet::Devnet::open(&dir.path().join("devnet"), devnet::DevnetConfig::default())
            .unwrap();
        dn.mine(120, &dn.faucet_script()).unwrap();
        dn.tip().height
    };
    let with = dir.path().join("with");
    let w = with.to_str().unwrap();
    let r = bitflix(&[
        "wallet",
        "address",
        "--datadir",
        w,
        "--chain",
        &chain,
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json["birthday"], tip, "{}", r.json);
    let b = bitflix(&[
        "wallet",
        "balance",
        "--datadir",
        w,
        "--chain",
        &chain,
        "--json",
    ]);
    assert_eq!(
        b.json["synced_blocks"], 1,
        "only the tip is read: {}",
        b.json
    );
    let without = dir.path().join("without");
    let r = bitflix(&[
        "wallet",
        "address",
        "--datadir",
        without.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.json["birthday"].is_null(), "{}", r.json);
}
