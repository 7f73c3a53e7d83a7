//! Bitcoin Core as a [`ChainBackend`]: JSON-RPC (corepc-client) for everything, REST
//! (`/rest/block/<hash>.bin`) for raw blocks when the node runs with `-rest`, and ZMQ
//! (`-zmqpubsequence`) for a push stream of mempool and tip changes. With `blocksdir=PATH`, raw
//! blocks come from the node's block files ([`BlockFiles`]) first, the chain still from RPC.
//!
//! Only RPCs whose answers have kept their shape since Bitcoin Core 0.17 are used, through
//! corepc-client's generic `call`, so one client speaks to every supported version. Looking up a
//! confirmed transaction by id needs `-txindex`; [`CoreBackend::connect`] warns when it is off.

#![allow(
    deprecated,
    reason = "corepc-client 0.18 marks its blocking client deprecated in favour of a test-only crate; it is still rust-bitcoin's blocking JSON-RPC client for Core, and the only deprecated item used here"
)]

mod blockfiles;
mod url;
mod zmq;

pub use blockfiles::{unxor, BlockFileStats, BlockFiles, BlockFilesError};
pub use url::{CoreUrl, Login};

use crate::{BlockRef, ChainBackend, ChainError, ChainEvent, TxStatus};
use bitcoin::{BlockHash, FeeRate, Network, Transaction, Txid};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::str::FromStr;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

use corepc_client::client_sync::{v17::Client, Auth, Error as ClientError};

/// Bitcoin Core's RPC error codes that carry a final answer rather than a failure to reach it.
mod code {
    pub const INVALID_ADDRESS_OR_KEY: i32 = -5;
    pub const INVALID_PARAMETER: i32 = -8;
    pub const VERIFY_ERROR: i32 = -25;
    pub const VERIFY_REJECTED: i32 = -26;
    pub const VERIFY_ALREADY_IN_CHAIN: i32 = -27;
}

/// A Bitcoin Core node.
#[derive(Debug)]
pub struct CoreBackend {
    url: CoreUrl,
    client: Client,
    agent: ureq::Agent,
    network: Network,
    rest: bool,
    txindex: bool,
    files: Option<BlockFiles>,
}

fn map_err(method: &str, e: ClientError) -> ChainError {
    use jsonrpc::error::Error as J;
    match e {
        ClientError::JsonRpc(J::Rpc(r)) => match r.code {
            code::INVALID_ADDRESS_OR_KEY | code::INVALID_PARAMETER => {
                ChainError::NotFound(format!("{method}: {}", r.message))
            }
            code::VERIFY_ERROR | code::VERIFY_REJECTED | code::VERIFY_ALREADY_IN_CHAIN => {
                ChainError::Rejected { reason: r.message }
            }
            c => ChainError::Unavailable(format!("{method}: rpc error {c}: {}", r.message)),
        },
        ClientError::JsonRpc(J::Json(e)) | ClientError::Json(e) => {
            ChainError::Decode(format!("{method}: {e}"))
        }
        other => ChainError::Transport {
            url: method.to_string(),
            source: Box::new(other),
        },
    }
}

/// Bitcoin Core's name for a network in `getblockchaininfo`.
fn network_of(chain: &str) -> Option<Network> {
    Some(match chain {
        "main" => Network::Bitcoin,
        "test" => Network::Testnet,
        "testnet4" => Network::Testnet4,
        "signet" => Network::Signet,
        "regtest" => Network::Regtest,
        _ => return None,
    })
}

/// BTC per kvB (Core's unit) to a fee rate, rounded up.
fn btc_per_kvb(rate: f64) -> FeeRate {
    // Core's figures have 8 decimals: round to whole sat/kvB first, then 4 kwu per kvB, up.
    let sat_per_kvb = (rate * 1e8).round().max(0.0) as u64;
    FeeRate::from_sat_per_kwu(sat_per_kvb.div_ceil(4))
}

impl CoreBackend {
    /// Connect to the node `url` names, check that it serves `expected`, and find out whether it
    /// has REST and a transaction index.
    pub fn connect(url: &CoreUrl, expected: Network) -> Result<Self, ChainError> {
        let client = match &url.login {
            Login::None => Client::new(&url.rpc),
            Login::UserPass(u, p) => {
                Client::new_with_auth(&url.rpc, Auth::UserPass(u.clone(), p.clone()))
                    .map_err(|e| map_err("login", e))?
            }
            Login::Cookie(path) => Client::new_with_auth(&url.rpc, Auth::CookieFile(path.clone()))
                .map_err(|e| {
                    ChainError::Unavailable(format!(
                        "reading the RPC cookie {}: {e}",
                        path.display()
                    ))
                })?,
        };
        let agent = crate::http::agent();
        let mut b = CoreBackend {
            url: url.clone(),
            client,
            agent,
            network: expected,
            rest: false,
            txindex: false,
            files: None,
        };
        let info: Value = b.call("getblockchaininfo", &[])?;
        let chain = info["chain"].as_str().unwrap_or_default();
        let actual = network_of(chain)
            .ok_or_else(|| ChainError::Decode(format!("unknown chain '{chain}'")))?;
        if actual != expected {
            return Err(ChainError::NetworkMismatch { expected, actual });
        }
        if let Some(dir) = &url.blocksdir {
            b.files = Some(BlockFiles::open(dir, expected)?);
        }
        b.rest = url.rest && b.get_rest("/rest/chaininfo.json").is_ok();
        b.txindex = b
            .call::<Value>("getindexinfo", &[json!("txindex")])
            .is_ok_and(|v| v["txindex"]["synced"].as_bool().is_some());
        if !b.txindex {
            tracing::warn!(
                "bitcoind runs without -txindex: confirmed transactions can be found only through their block"
            );
        }
        Ok(b)
    }

    /// Whether raw blocks come over REST (true) or JSON-RPC (false).
    pub fn uses_rest(&self) -> bool {
        self.rest
    }

    /// The node's block files, when `blocksdir=` names them.
    pub fn block_files(&self) -> Option<&BlockFiles> {
        self.files.as_ref()
    }

    /// Whether the node keeps a transaction index.
    pub fn has_txindex(&self) -> bool {
        self.txindex
    }

    /// Any JSON-RPC call, for callers that need more than the trait (tests mine with
    /// `generatetoaddress`, cross-check with `testmempoolaccept`).
    pub fn call<T: DeserializeOwned>(&self, method: &str, args: &[Value]) -> Result<T, ChainError> {
        self.client
            .call(method, args)
            .map_err(|e| map_err(method, e))
    }

    fn get_rest(&self, path: &str) -> Result<Vec<u8>, ChainError> {
        let url = format!("{}{path}", self.url.rpc);
        crate::http::get(&self.agent, &url, path, crate::http::MAX_BLOCK)
    }

    fn hex_call(&self, method: &str, args: &[Value]) -> Result<Vec<u8>, ChainError> {
        let hex: String = self.call(method, args)?;
        hex::decode(hex.trim()).map_err(|e| ChainError::Decode(format!("{method}: {e}")))
    }
}

fn parse<T: FromStr>(s: &str, what: &str) -> Result<T, ChainError> {
    s.parse()
        .map_err(|_| ChainError::Decode(format!("bad {what}: {s:.80}")))
}

impl ChainBackend for CoreBackend {
    fn network(&self) -> Network {
        self.network
    }

    fn tip(&self) -> Result<BlockRef, ChainError> {
        // One call, so height and hash belong to the same tip.
        let info: Value = self.call("getblockchaininfo", &[])?;
        let height = info["blocks"]
            .as_u64()
            .ok_or_else(|| ChainError::Decode("getblockchaininfo: no blocks".into()))?;
        let hash = parse(info["bestblockhash"].as_str().unwrap_or(""), "block hash")?;
        Ok(BlockRef {
            height: height as u32,
            hash,
        })
    }

    fn block_hash(&self, height: u32) -> Result<BlockHash, ChainError> {
        let hash: String = self.call("getblockhash", &[json!(height)])?;
        parse(&hash, "block hash")
    }

    fn raw_block(&self, hash: &BlockHash) -> Result<Vec<u8>, ChainError> {
        if let Some(raw) = self.files.as_ref().and_then(|f| f.read(hash)) {
            return Ok(raw);
        }
        if self.rest {
            match self.get_rest(&format!("/rest/block/{hash}.bin")) {
                Ok(raw) => return Ok(raw),
                Err(ChainError::NotFound(_)) => {
                    return Err(ChainError::NotFound(format!("block {hash}")))
                }
                Err(e) => tracing::debug!("rest block {hash}: {e}; trying RPC"),
            }
        }
        self.hex_call("getblock", &[json!(hash.to_string()), json!(0)])
    }

    fn raw_tx(&self, txid: &Txid) -> Result<Vec<u8>, ChainError> {
        self.hex_call(
            "getrawtransaction",
            &[json!(txid.to_string()), json!(false)],
        )
    }

    fn tx_status(&self, txid: &Txid) -> Result<TxStatus, ChainError> {
        let v: Value = match self.call("getrawtransaction", &[json!(txid.to_string()), json!(true)])
        {
            Ok(v) => v,
            Err(ChainError::NotFound(_)) => return Ok(TxStatus::Unknown),
            Err(e) => return Err(e),
        };
        let Some(hash) = v["blockhash"].as_str() else {
            return Ok(TxStatus::Mempool);
        };
        let hash: BlockHash = parse(hash, "block hash")?;
        let header: Value = self.call("getblockheader", &[json!(hash.to_string())])?;
        // A transaction in a block that a reorg took away is neither confirmed nor known.
        if header["confirmations"].as_i64().unwrap_or(-1) < 1 {
            return Ok(TxStatus::Unknown);
        }
        let height = header["height"]
            .as_u64()
            .ok_or_else(|| ChainError::Decode("getblockheader: no height".into()))?;
        Ok(TxStatus::Confirmed(BlockRef {
            height: height as u32,
            hash,
        }))
    }

    fn mempool_txids(&self) -> Result<Vec<Txid>, ChainError> {
        let list: Vec<String> = self.call("getrawmempool", &[])?;
        list.iter().map(|t| parse(t, "txid")).collect()
    }

    fn broadcast(&self, tx: &Transaction) -> Result<Txid, ChainError> {
        let hex = bitcoin::consensus::encode::serialize_hex(tx);
        let txid: String = self.call("sendrawtransaction", &[json!(hex)])?;
        parse(&txid, "txid")
    }

    fn fee_estimate(&self, target_blocks: u16) -> Result<FeeRate, ChainError> {
        let floor: Value = self.call("getmempoolinfo", &[])?;
        let floor = ["mempoolminfee", "minrelaytxfee"]
            .iter()
            .filter_map(|k| floor[k].as_f64())
            .map(btc_per_kvb)
            .max()
            .unwrap_or(FeeRate::from_sat_per_kwu(25));
        let est: Value = self.call("estimatesmartfee", &[json!(target_blocks.max(1))])?;
        // Without enough history (a new regtest chain) Core has no estimate: use the floor.
        Ok(est["feerate"]
            .as_f64()
            .map_or(floor, |r| btc_per_kvb(r).max(floor)))
    }

    fn changes(self: Arc<Self>, poll: Duration) -> Result<Receiver<ChainEvent>, ChainError> {
        match self.url.zmq.clone() {
            Some(endpoint) => zmq::spawn(self, &endpoint, poll),
            None => Ok(crate::poller::spawn(self, poll)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_units_convert() {
        assert_eq!(btc_per_kvb(0.000_001).to_sat_per_kwu(), 25, "0.1 sat/vB");
        assert_eq!(btc_per_kvb(0.000_01).to_sat_per_vb_ceil(), 1);
        assert_eq!(network_of("regtest"), Some(Network::Regtest));
        assert_eq!(network_of("testnet4"), Some(Network::Testnet4));
        assert_eq!(network_of("moon"), None);
    }
}
