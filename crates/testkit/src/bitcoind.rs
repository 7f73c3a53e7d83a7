//! A real `bitcoind` for tests and benchmarks, on regtest or on a custom signet whose blocks need
//! no signature (`-signet -signetchallenge=51`): started in a data directory (temporary or kept),
//! reached through the Core backend, stopped on drop; and blocks filled with large OP_RETURN
//! outputs, mined with `generateblock` from coins that anyone can spend (`OP_TRUE`), so no wallet
//! or signature is needed to make gigabytes of chain.
//!
//! The custom signet keeps signet's proof of work (about 5 million hashes a block, a few seconds of
//! bitcoind's miner here), so [`Node::start_signet`] loads the first blocks from
//! `data/signet51-blocks.hex` (mined once by bitcoind, coinbases to `OP_TRUE`; the node validates
//! each one on `submitblock`) and [`Node::mine`] grinds only the few blocks a test adds.

use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, TxIn, TxOut};
use chain::core::{CoreBackend, CoreUrl};
use chain::ChainBackend;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which chain a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NodeChain {
    /// `-regtest`.
    #[default]
    Regtest,
    /// `-signet -signetchallenge=51`: signet's rules, prefixes and proof of work; blocks need no
    /// signature.
    Signet51,
}

impl NodeChain {
    /// The network rust-bitcoin knows it as.
    pub fn network(self) -> bitcoin::Network {
        match self {
            NodeChain::Regtest => bitcoin::Network::Regtest,
            NodeChain::Signet51 => bitcoin::Network::Signet,
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            NodeChain::Regtest => &["-regtest"],
            // A custom signet has no seeds; no peer is wanted anyway.
            NodeChain::Signet51 => &["-signet", "-signetchallenge=51", "-connect=0", "-dnsseed=0"],
        }
    }

    fn subdir(self) -> &'static str {
        match self {
            NodeChain::Regtest => "regtest",
            NodeChain::Signet51 => "signet",
        }
    }
}

/// How to start a node beyond its chain.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions<'a> {
    /// The chain.
    pub chain: NodeChain,
    /// A kept `-datadir` (else a temporary one).
    pub datadir: Option<&'a Path>,
    /// Publish ZMQ `sequence` notifications on a free port (and name it in [`Node::url`]).
    pub zmq: bool,
    /// `-disablewallet=1`.
    pub no_wallet: bool,
    /// More arguments.
    pub args: &'a [&'a str],
}

/// A running `bitcoind`, stopped on drop.
#[derive(Debug)]
pub struct Node {
    child: Child,
    _tmp: Option<tempfile::TempDir>,
    /// Its chain.
    pub chain: NodeChain,
    /// Its `-datadir`.
    pub datadir: PathBuf,
    /// How to reach it (user:password, REST on, ZMQ when asked).
    pub url: CoreUrl,
    /// The Core backend on it, without block files.
    pub backend: CoreBackend,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.backend.call::<Value>("stop", &[]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
    }
}

impl Node {
    /// Start bitcoind in a temporary directory with `args` added, or `None` (having printed
    /// "skipped: no bitcoind") when there is no bitcoind here.
    pub fn start(test: &str, args: &[&str]) -> Option<Node> {
        Self::start_in(test, None, args)
    }

    /// Start bitcoind in `datadir` (kept), or a temporary directory when `None`.
    pub fn start_in(test: &str, datadir: Option<&Path>, args: &[&str]) -> Option<Node> {
        Self::start_with(
            test,
            &NodeOptions {
                datadir,
                args,
                ..Default::default()
            },
        )
    }

    /// A custom signet (`-signetchallenge=51`) holding the fixture's blocks: 105 blocks whose
    /// coinbases pay `OP_TRUE` (see [`Node::op_true_coin`]), the first five of them mature.
    pub fn start_signet(test: &str, opts: NodeOptions<'_>) -> Option<Node> {
        let node = Self::start_with(
            test,
            &NodeOptions {
                chain: NodeChain::Signet51,
                ..opts
            },
        )?;
        for (i, line) in SIGNET51_BLOCKS.lines().enumerate() {
            let r: Value = node.call("submitblock", &[json!(line.trim())]);
            assert!(
                r.is_null() || r == json!("duplicate"),
                "the signet fixture's block {}: {r}",
                i + 1
            );
        }
        Some(node)
    }

    /// Start bitcoind as `opts` says, or `None` (having printed "skipped: no bitcoind") when there
    /// is no bitcoind here.
    pub fn start_with(test: &str, opts: &NodeOptions<'_>) -> Option<Node> {
        let datadir = opts.datadir;
        let args = opts.args;
        let Some(exe) = crate::bitcoind_exe() else {
            println!("{test}: skipped: no bitcoind (set BITCOIND_EXE or put bitcoind on PATH)");
            return None;
        };
        let (tmp, datadir) = match datadir {
            Some(d) => {
                std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
                (None, d.to_path_buf())
            }
            None => {
                let t = crate::tempdir();
                let d = t.path().to_path_buf();
                (Some(t), d)
            }
        };
        let rpc = crate::free_port();
        let zmq = opts
            .zmq
            .then(|| format!("tcp://127.0.0.1:{}", crate::free_port()));
        let mut cmd = Command::new(&exe);
        cmd.args(opts.chain.args());
        if let Some(z) = &zmq {
            cmd.arg(format!("-zmqpubsequence={z}"));
        }
        if opts.no_wallet {
            cmd.arg("-disablewallet=1");
        }
        let child = cmd
            .arg(format!("-datadir={}", datadir.display()))
            .arg(format!("-rpcport={rpc}"))
            .args(["-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1"])
            .args([
                "-rpcuser=bitflix",
                "-rpcpassword=bitflix",
                "-listen=0",
                "-server=1",
            ])
            .args(["-rest=1", "-txindex=1", "-datacarriersize=100000"])
            .args(["-rpcworkqueue=64", "-fallbackfee=0.0001"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
        let zmq_query = zmq.map_or(String::new(), |z| format!("?zmq={z}"));
        let url: CoreUrl = format!("http://bitflix:bitflix@127.0.0.1:{rpc}{zmq_query}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let deadline = Instant::now() + Duration::from_secs(120);
        let backend = loop {
            match CoreBackend::connect(&url, opts.chain.network()) {
                Ok(b) if b.call::<Value>("getblockcount", &[]).is_ok() => break b,
                _ if Instant::now() > deadline => panic!("bitcoind did not answer in 120 s"),
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        println!("{test}: running against {}", exe.display());
        Some(Node {
            child,
            _tmp: tmp,
            chain: opts.chain,
            datadir,
            url,
            backend,
        })
    }

    /// `DATADIR/regtest/blocks` (or `signet/blocks`), where `blk*.dat` and `xor.dat` are.
    pub fn blocks_dir(&self) -> PathBuf {
        self.datadir.join(self.chain.subdir()).join("blocks")
    }

    /// The node's `core:` chain spec for `bitflix --chain`.
    pub fn chain_spec(&self) -> String {
        format!("core:{}", self.url_string())
    }

    /// The node's URL as given to bitflix.
    pub fn url_string(&self) -> String {
        let port = self.url.rpc.rsplit(':').next().unwrap_or_default();
        let mut u = format!("http://bitflix:bitflix@127.0.0.1:{port}");
        if let Some(z) = &self.url.zmq {
            u.push_str(&format!("?zmq={z}"));
        }
        u
    }

    /// Mine `n` blocks paying `OP_TRUE`, with bitcoind's own miner (on the signet, grinding its
    /// proof of work: a few seconds a block).
    pub fn mine(&self, n: u32) -> Vec<bitcoin::BlockHash> {
        let hashes: Vec<String> = self.call(
            "generatetodescriptor",
            &[json!(n), json!(OP_TRUE_DESCRIPTOR), json!(u32::MAX)],
        );
        assert_eq!(hashes.len(), n as usize, "bitcoind mined {n} blocks");
        hashes
            .iter()
            .map(|h| h.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    /// Pay `amount` to `script` from the `OP_TRUE` coinbase at `height` (which must be mature and
    /// unspent), the change back to `OP_TRUE`, in a block of its own (a spend of bare `OP_TRUE` is
    /// not standard, so it skips the mempool); returns the txid.
    pub fn pay_from_coinbase(
        &self,
        height: u32,
        script: &bitcoin::Script,
        amount: Amount,
    ) -> bitcoin::Txid {
        let hash = self
            .backend
            .block_hash(height)
            .unwrap_or_else(|e| panic!("{e}"));
        let block =
            chain::decode_block(&self.getblock_raw(&hash)).unwrap_or_else(|e| panic!("{e}"));
        let cb = &block.txdata[0];
        let fee = Amount::from_sat(10_000);
        let tx = Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::new(cb.compute_txid(), 0),
                ..TxIn::default()
            }],
            output: vec![
                TxOut {
                    value: amount,
                    script_pubkey: script.to_owned(),
                },
                TxOut {
                    value: cb.output[0].value - amount - fee,
                    script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
                },
            ],
        };
        let hex = bitcoin::consensus::encode::serialize_hex(&tx);
        // generateblock grinds at most a million nonces: on signet that fails about four times in
        // five, so it is asked again.
        for _ in 0..200 {
            if self
                .backend
                .call::<Value>("generateblock", &[json!(OP_TRUE_DESCRIPTOR), json!([hex])])
                .is_ok()
            {
                return tx.compute_txid();
            }
        }
        panic!("generateblock found no block in 200 tries");
    }

    /// The node's URL with `blocksdir=` pointing at `dir`.
    pub fn url_with_blocksdir(&self, dir: &Path) -> CoreUrl {
        let mut u = self.url.clone();
        u.blocksdir = Some(dir.to_path_buf());
        u
    }

    /// Any RPC; panics with the method on failure.
    pub fn call<T: serde::de::DeserializeOwned>(&self, method: &str, args: &[Value]) -> T {
        self.backend
            .call(method, args)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// `getblock HASH 0`, decoded from hex.
    pub fn getblock_raw(&self, hash: &bitcoin::BlockHash) -> Vec<u8> {
        let hex: String = self.call("getblock", &[json!(hash.to_string()), json!(0)]);
        hex::decode(hex.trim()).unwrap_or_else(|e| panic!("getblock hex: {e}"))
    }
}

/// `raw(51)` with its checksum: outputs anyone can spend.
pub const OP_TRUE_DESCRIPTOR: &str = "raw(51)#8lvh9jxk";

/// The custom signet's first blocks, one hex block a line from height 1 (see the module's doc).
const SIGNET51_BLOCKS: &str = include_str!("../data/signet51-blocks.hex");

/// Mines blocks full of OP_RETURN data on a node, spending an `OP_TRUE` coin from tx to tx.
#[derive(Debug)]
pub struct Filler {
    descriptor: String,
    coin: Option<(OutPoint, Amount)>,
    counter: u64,
}

impl Filler {
    /// Ready to fill blocks on `node`: mines 101 blocks to `OP_TRUE` first when the chain is
    /// shorter, so a coinbase is spendable.
    pub fn new(node: &Node) -> Filler {
        let info: Value = node.call("getdescriptorinfo", &[json!("raw(51)")]);
        let descriptor = info["descriptor"].as_str().unwrap_or("raw(51)").to_string();
        let mut f = Filler {
            descriptor,
            coin: None,
            counter: 0,
        };
        let height = node.backend.tip().map_or(0, |t| t.height);
        if height < 101 {
            f.mine_empty(node, 101 - height);
        }
        f
    }

    /// Mine `n` blocks with no transaction but the coinbase (paid to `OP_TRUE`).
    pub fn mine_empty(&mut self, node: &Node, n: u32) -> Vec<bitcoin::BlockHash> {
        let hashes: Vec<String> =
            node.call("generatetodescriptor", &[json!(n), json!(self.descriptor)]);
        hashes
            .iter()
            .map(|h| h.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    /// The coin to spend next: the last one made, or the coinbase of a block 100 deep.
    fn coin(&mut self, node: &Node) -> (OutPoint, Amount) {
        if let Some(c) = self.coin {
            return c;
        }
        let tip = node.backend.tip().unwrap_or_else(|e| panic!("tip: {e}"));
        // A coinbase only this filler spends: each filler run takes a different deep block.
        let h = tip.height.saturating_sub(100);
        let hash = node.backend.block_hash(h).unwrap_or_else(|e| panic!("{e}"));
        let block =
            chain::decode_block(&node.getblock_raw(&hash)).unwrap_or_else(|e| panic!("{e}"));
        let cb = &block.txdata[0];
        (OutPoint::new(cb.compute_txid(), 0), cb.output[0].value)
    }

    /// Mine one block holding `txs` transactions of `data` bytes of OP_RETURN each (the first
    /// spending the last coin, each next one its predecessor: zero fees, which `generateblock`
    /// allows); returns its hash.
    pub fn mine_full(&mut self, node: &Node, txs: usize, data: usize) -> bitcoin::BlockHash {
        let mut hexes = Vec::with_capacity(txs);
        let (mut prev, value) = self.coin(node);
        for _ in 0..txs {
            self.counter += 1;
            let mut script = vec![0x6a, 0x4e];
            script.extend_from_slice(&(data as u32).to_le_bytes());
            let mut x = self.counter.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            script.extend((0..data).map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }));
            let tx = Transaction {
                version: bitcoin::transaction::Version::TWO,
                lock_time: bitcoin::absolute::LockTime::ZERO,
                input: vec![TxIn {
                    previous_output: prev,
                    ..TxIn::default()
                }],
                output: vec![
                    TxOut {
                        value,
                        script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
                    },
                    TxOut {
                        value: Amount::ZERO,
                        script_pubkey: ScriptBuf::from_bytes(script),
                    },
                ],
            };
            prev = OutPoint::new(tx.compute_txid(), 0);
            hexes.push(bitcoin::consensus::encode::serialize_hex(&tx));
        }
        let r: Value = node.call("generateblock", &[json!(self.descriptor), json!(hexes)]);
        self.coin = Some((prev, value));
        let hash = r["hash"]
            .as_str()
            .unwrap_or_else(|| panic!("generateblock: {r}"));
        hash.parse().unwrap_or_else(|e| panic!("{e}"))
    }
}

/// How many bytes the `blk*.dat` files in `dir` hold, and the files in order.
pub fn block_files(dir: &Path) -> (u64, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("blk") && n.ends_with(".dat"))
        })
        .collect();
    files.sort();
    let bytes = files
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    (bytes, files)
}
