//! The Core backend reading a real bitcoind's block files (`blocksdir=`): every block byte for
//! byte what `getblock HASH 0` says, with Core's default obfuscation (`xor.dat` non-zero) and
//! without it (`-blocksxor=0`, small files with `-fastprune`); a copy of the files taken earlier
//! (blocks written since are served by RPC); and the shared backend suite with `blocksdir` set.
//! Without a bitcoind each test prints "skipped: no bitcoind".
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use bitcoin::{Address, Amount, BlockHash, Network, ScriptBuf, Transaction};
use chain::core::CoreBackend;
use chain::testsuite::{self, Control};
use chain::ChainBackend;
use serde_json::{json, Value};
use testkit::bitcoind::{Filler, Node};

/// Every block of the active chain through `b`, compared with `getblock HASH 0`.
fn check_every_block(node: &Node, b: &CoreBackend) -> u64 {
    let tip = b.tip().unwrap();
    let mut bytes = 0;
    for h in 0..=tip.height {
        let hash = b.block_hash(h).unwrap();
        let raw = b.raw_block(&hash).unwrap();
        assert!(raw == node.getblock_raw(&hash), "block {h} differs");
        bytes += raw.len() as u64;
    }
    bytes
}

#[test]
fn bitcoind_block_files_match_getblock_with_and_without_obfuscation() {
    for (args, obfuscated) in [
        (&[][..], true),
        (&["-blocksxor=0", "-fastprune=1"][..], false),
    ] {
        let test = format!("bitcoind_block_files {args:?}");
        let Some(node) = Node::start(&test, args) else {
            return;
        };
        let mut fill = Filler::new(&node);
        let full: Vec<BlockHash> = (0..6).map(|_| fill.mine_full(&node, 9, 100_000)).collect();
        let key = std::fs::read(node.blocks_dir().join("xor.dat")).unwrap();
        assert_eq!(key.len(), 8);
        assert_eq!(key != [0; 8], obfuscated, "xor.dat {}", hex::encode(&key));

        // A copy of the files now; blocks mined after it are not in the copy.
        let copy = testkit::tempdir();
        for f in testkit::bitcoind::block_files(&node.blocks_dir()).1 {
            std::fs::copy(&f, copy.path().join(f.file_name().unwrap())).unwrap();
        }
        std::fs::copy(
            node.blocks_dir().join("xor.dat"),
            copy.path().join("xor.dat"),
        )
        .unwrap();
        for _ in 0..4 {
            fill.mine_full(&node, 3, 90_000);
        }
        fill.mine_empty(&node, 2);
        let files = testkit::bitcoind::block_files(&node.blocks_dir()).1;
        println!("{test}: {} block files", files.len());
        if !obfuscated {
            assert!(files.len() > 3, "-fastprune spreads blocks over files");
        }

        let live = CoreBackend::connect(
            &node.url_with_blocksdir(&node.blocks_dir()),
            Network::Regtest,
        )
        .unwrap();
        assert_eq!(live.block_files().unwrap().obfuscated(), obfuscated);
        let bytes = check_every_block(&node, &live);
        let s = live.block_files().unwrap().stats();
        let blocks = u64::from(live.tip().unwrap().height) + 1;
        assert_eq!(
            (s.served, s.missed),
            (blocks, 0),
            "all from the files: {s:?}"
        );
        assert!(bytes > 6_000_000, "large blocks: {bytes}");

        let old =
            CoreBackend::connect(&node.url_with_blocksdir(copy.path()), Network::Regtest).unwrap();
        check_every_block(&node, &old);
        let s = old.block_files().unwrap().stats();
        assert_eq!(
            (s.served, s.missed),
            (blocks - 6, 6),
            "newer blocks by RPC: {s:?}"
        );

        // In the copy, a record's magic overwritten and a file cut inside a later block: those two
        // come by RPC, every other one still from the files, and nothing panics.
        let key: [u8; 8] = key.try_into().unwrap();
        let wreck = |hash: BlockHash, at: i64, cut: bool| {
            let header = &node.getblock_raw(&hash)[..80];
            for f in testkit::bitcoind::block_files(copy.path()).1 {
                let mut plain = std::fs::read(&f).unwrap();
                chain::core::unxor(&mut plain, &key, 0);
                if let Some(pos) = plain.windows(80).position(|w| w == header) {
                    let pos = (pos as i64 + at) as u64;
                    let file = std::fs::OpenOptions::new().write(true).open(&f).unwrap();
                    if cut {
                        file.set_len(pos).unwrap();
                    } else {
                        std::os::unix::fs::FileExt::write_all_at(&file, &[0x5a; 8], pos).unwrap();
                    }
                    return;
                }
            }
            panic!("block {hash} not in the copy");
        };
        wreck(full[1], -8, false);
        wreck(full[4], 500, true);
        let cut =
            CoreBackend::connect(&node.url_with_blocksdir(copy.path()), Network::Regtest).unwrap();
        check_every_block(&node, &cut);
        let s = cut.block_files().unwrap().stats();
        assert!(s.missed >= 8 && s.served > 100 && s.skipped >= 1, "{s:?}");
    }
}

/// Mining and funding through bitcoind's own wallet.
struct WalletCtl<'a> {
    node: &'a Node,
    address: String,
}

impl Control for WalletCtl<'_> {
    fn mine(&self, n: u32) -> Vec<BlockHash> {
        let hashes: Vec<String> = self
            .node
            .call("generatetoaddress", &[json!(n), json!(self.address)]);
        hashes.iter().map(|h| h.parse().unwrap()).collect()
    }
    fn fund(&self, script: &ScriptBuf, amount: Amount) -> Transaction {
        let to = Address::from_script(script, Network::Regtest).unwrap();
        let txid: String = self.node.call(
            "sendtoaddress",
            &[json!(to.to_string()), json!(amount.to_btc())],
        );
        let raw: String = self
            .node
            .call("getrawtransaction", &[json!(txid), json!(false)]);
        bitcoin::consensus::encode::deserialize_hex(&raw).unwrap()
    }
}

#[test]
fn bitcoind_backend_suite_passes_with_blocksdir() {
    let Some(node) = Node::start("bitcoind_backend_suite_passes_with_blocksdir", &[]) else {
        return;
    };
    let _: Value = node.call("createwallet", &[json!("bitflix")]);
    let address: String = node.call("getnewaddress", &[]);
    let ctl = WalletCtl {
        node: &node,
        address,
    };
    ctl.mine(101);
    let b = CoreBackend::connect(
        &node.url_with_blocksdir(&node.blocks_dir()),
        Network::Regtest,
    )
    .unwrap();
    testsuite::run(&b, &ctl);
    let s = b.block_files().unwrap().stats();
    assert!(s.served >= 1 && s.missed == 0, "{s:?}");
}
