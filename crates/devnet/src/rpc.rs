//! A subset of Bitcoin Core's JSON-RPC and REST interfaces over the devnet, on the same port as
//! the Esplora API: `POST /` (JSON-RPC 1.0 and 2.0) and `GET /rest/block/<hash>.bin`,
//! `/rest/chaininfo.json`. It answers the calls BitFlix's Bitcoin Core backend makes, in Core's
//! shapes and with Core's error codes, so that `--chain core:http://127.0.0.1:PORT` works against
//! `bitflix devnet` and CI exercises that backend without a bitcoind. Authentication is not
//! checked: the devnet is a local development chain.

use crate::Devnet;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Address, BlockHash, Txid};
use chain::TxStatus;
use serde_json::{json, Value};
use std::str::FromStr;

/// The JSON-RPC and REST routes, to merge into the devnet's router.
pub fn routes() -> Router<Devnet> {
    Router::new()
        .route("/", post(rpc))
        .route("/rest/block/{file}", get(rest_block))
        .route("/rest/chaininfo.json", get(rest_chaininfo))
}

/// Bitcoin Core's RPC error codes used here.
mod code {
    pub const METHOD_NOT_FOUND: i32 = -32601;
    pub const PARSE_ERROR: i32 = -32700;
    pub const MISC_ERROR: i32 = -1;
    pub const TYPE_ERROR: i32 = -3;
    pub const INVALID_ADDRESS_OR_KEY: i32 = -5;
    pub const INVALID_PARAMETER: i32 = -8;
    pub const DESERIALIZATION_ERROR: i32 = -22;
    pub const VERIFY_REJECTED: i32 = -26;
}

type RpcResult = Result<Value, (i32, String)>;

fn answer(id: Value, version2: bool, r: RpcResult) -> Response {
    let mut body = match r {
        Ok(result) => json!({ "result": result, "error": null, "id": id }),
        Err((code, message)) => {
            json!({ "result": null, "error": { "code": code, "message": message }, "id": id })
        }
    };
    if version2 {
        // JSON-RPC 2.0 answers carry exactly one of result and error (as Core 28+ does).
        if let Some(o) = body.as_object_mut() {
            o.insert("jsonrpc".into(), json!("2.0"));
            if o["error"].is_null() {
                o.remove("error");
            } else {
                o.remove("result");
            }
        }
    }
    Json(body).into_response()
}

async fn rpc(State(d): State<Devnet>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return answer(
            Value::Null,
            false,
            Err((code::PARSE_ERROR, "Parse error".into())),
        );
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let v2 = req.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
    let Some(method) = req
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return answer(id, v2, Err((code::PARSE_ERROR, "Missing method".into())));
    };
    let params = match req.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return answer(
                id,
                v2,
                Err((code::TYPE_ERROR, "Params must be an array".into())),
            )
        }
    };
    // Calls may touch the kernel (blocks) or mine: keep them off the async workers.
    let r = tokio::task::spawn_blocking(move || call(&d, &method, &params))
        .await
        .unwrap_or_else(|e| Err((code::MISC_ERROR, e.to_string())));
    answer(id, v2, r)
}

fn arg(params: &[Value], i: usize) -> Option<&Value> {
    params.get(i).filter(|v| !v.is_null())
}

fn str_arg(params: &[Value], i: usize, what: &str) -> Result<String, (i32, String)> {
    arg(params, i)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| (code::TYPE_ERROR, format!("{what} must be a string")))
}

fn hash_arg<T: FromStr>(params: &[Value], i: usize, what: &str) -> Result<T, (i32, String)> {
    str_arg(params, i, what)?.parse().map_err(|_| {
        (
            code::INVALID_PARAMETER,
            format!("{what} must be of length 64 (not hexadecimal string)"),
        )
    })
}

/// Core accepts verbosity as a number or a boolean.
fn verbose(params: &[Value], i: usize) -> u64 {
    match arg(params, i) {
        Some(Value::Bool(b)) => u64::from(*b),
        Some(v) => v.as_u64().unwrap_or(0),
        None => 0,
    }
}

fn btc_per_kvb(rate: bitcoin::FeeRate) -> f64 {
    rate.to_sat_per_kwu() as f64 * 4.0 / 1e8
}

fn call(d: &Devnet, method: &str, p: &[Value]) -> RpcResult {
    let tip = d.tip();
    match method {
        "getblockchaininfo" => Ok(json!({
            "chain": "regtest", "blocks": tip.height, "headers": tip.height,
            "bestblockhash": tip.hash.to_string(), "initialblockdownload": false,
            "pruned": false, "warnings": [],
        })),
        "getblockcount" => Ok(json!(tip.height)),
        "getbestblockhash" => Ok(json!(tip.hash.to_string())),
        "getblockhash" => {
            let h = arg(p, 0)
                .and_then(Value::as_u64)
                .ok_or((code::TYPE_ERROR, "height must be a number".into()))?;
            u32::try_from(h)
                .ok()
                .and_then(|h| d.block_hash(h))
                .map(|b| json!(b.to_string()))
                .ok_or((code::INVALID_PARAMETER, "Block height out of range".into()))
        }
        "getblock" => {
            let hash: BlockHash = hash_arg(p, 0, "blockhash")?;
            let (_, raw) = block(d, &hash)?;
            match verbose(p, 1) {
                0 => Ok(json!(hex::encode(raw))),
                _ => Err((
                    code::INVALID_PARAMETER,
                    "the devnet serves getblock with verbosity 0 only".into(),
                )),
            }
        }
        "getblockheader" => {
            let hash: BlockHash = hash_arg(p, 0, "blockhash")?;
            let (height, raw) = block(d, &hash)?;
            if arg(p, 1).and_then(Value::as_bool) == Some(false) {
                return Ok(json!(hex::encode(&raw[..80.min(raw.len())])));
            }
            Ok(json!({
                "hash": hash.to_string(), "height": height,
                "confirmations": tip.height.saturating_sub(height) + 1,
                "nextblockhash": d.block_hash(height + 1).map(|b| b.to_string()),
            }))
        }
        "getrawtransaction" => {
            let txid: Txid = hash_arg(p, 0, "txid")?;
            let info = d.tx(&txid).ok_or((
                code::INVALID_ADDRESS_OR_KEY,
                "No such mempool or blockchain transaction. Use gettransaction for wallet transactions."
                    .into(),
            ))?;
            let hex = hex::encode(serialize(&*info.tx));
            if verbose(p, 1) == 0 {
                return Ok(json!(hex));
            }
            let mut v = json!({ "txid": txid.to_string(), "hex": hex });
            if let TxStatus::Confirmed(b) = info.status {
                v["blockhash"] = json!(b.hash.to_string());
                v["confirmations"] = json!(tip.height.saturating_sub(b.height) + 1);
            }
            Ok(v)
        }
        "getrawmempool" => Ok(json!(d
            .mempool_txids()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>())),
        "getmempoolinfo" => {
            let floor = btc_per_kvb(bitcoin::FeeRate::from_sat_per_kwu(
                crate::policy::MIN_RELAY_SAT_PER_KVB.div_ceil(4),
            ));
            Ok(json!({
                "loaded": true, "size": d.mempool_txids().len(),
                "mempoolminfee": floor, "minrelaytxfee": floor,
            }))
        }
        "estimatesmartfee" => Ok(json!({ "feerate": btc_per_kvb(d.fee_estimate()), "blocks": 1 })),
        "getindexinfo" => {
            Ok(json!({ "txindex": { "synced": true, "best_block_height": tip.height } }))
        }
        "sendrawtransaction" => {
            let hex = str_arg(p, 0, "hexstring")?;
            let tx = hex::decode(hex.trim())
                .ok()
                .and_then(|raw| deserialize::<bitcoin::Transaction>(&raw).ok())
                .ok_or((
                    code::DESERIALIZATION_ERROR,
                    "TX decode failed. Make sure the tx has at least one input.".into(),
                ))?;
            let txid = tx.compute_txid();
            if matches!(d.tx(&txid).map(|i| i.status), Some(TxStatus::Mempool)) {
                // Core answers a rebroadcast of a transaction it holds with its txid.
                return Ok(json!(txid.to_string()));
            }
            d.submit_tx(tx)
                .map(|t| json!(t.to_string()))
                .map_err(|e| match e {
                    crate::DevnetError::Rejected(r) => (code::VERIFY_REJECTED, r),
                    other => (code::MISC_ERROR, other.to_string()),
                })
        }
        "testmempoolaccept" => {
            let list = arg(p, 0).and_then(Value::as_array).ok_or((
                code::TYPE_ERROR,
                "rawtxs must be an array of hex strings".into(),
            ))?;
            let txs: Vec<bitcoin::Transaction> = list
                .iter()
                .map(|h| {
                    h.as_str()
                        .and_then(|h| hex::decode(h.trim()).ok())
                        .and_then(|raw| deserialize(&raw).ok())
                        .ok_or((
                            code::DESERIALIZATION_ERROR,
                            "TX decode failed. Make sure the tx has at least one input.".into(),
                        ))
                })
                .collect::<Result<_, _>>()?;
            Ok(json!(txs
                .iter()
                .zip(d.test_accept(&txs))
                .map(|(tx, r)| {
                    let mut v = json!({
                        "txid": tx.compute_txid().to_string(),
                        "wtxid": tx.compute_wtxid().to_string(),
                        "allowed": r.is_ok(),
                    });
                    if let Err(reason) = r {
                        v["reject-reason"] = json!(reason);
                    }
                    v
                })
                .collect::<Vec<_>>()))
        }
        "submitblock" => {
            let block: bitcoin::Block = str_arg(p, 0, "hexdata")
                .ok()
                .and_then(|h| hex::decode(h.trim()).ok())
                .and_then(|raw| deserialize(&raw).ok())
                .ok_or((code::DESERIALIZATION_ERROR, "Block decode failed".into()))?;
            // Core answers null when the block is taken, else a short reason as the result.
            Ok(match d.submit_block(&block) {
                Ok(true) => Value::Null,
                Ok(false) => json!("duplicate"),
                Err(crate::DevnetError::BlockRejected(r)) => json!(r),
                Err(e) => return Err((code::MISC_ERROR, e.to_string())),
            })
        }
        "generatetoaddress" => {
            let n = arg(p, 0)
                .and_then(Value::as_u64)
                .filter(|n| *n <= 1000)
                .ok_or((
                    code::TYPE_ERROR,
                    "nblocks must be a number up to 1000".into(),
                ))?;
            let addr = str_arg(p, 1, "address")?;
            let addr = Address::from_str(&addr)
                .ok()
                .and_then(|a| a.require_network(bitcoin::Network::Regtest).ok())
                .ok_or((
                    code::INVALID_ADDRESS_OR_KEY,
                    "Error: Invalid address".into(),
                ))?;
            d.mine(n as u32, &addr.script_pubkey())
                .map(|hs| json!(hs.iter().map(ToString::to_string).collect::<Vec<_>>()))
                .map_err(|e| (code::MISC_ERROR, e.to_string()))
        }
        // The devnet's own (Bitcoin Core has none): replace the top `depth` blocks with a longer
        // branch of empty blocks, as a competing miner would; the new branch's hashes.
        "reorg" => {
            let depth = arg(p, 0)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or((code::TYPE_ERROR, "depth must be a number".into()))?;
            d.reorg(depth)
                .map(|hs| json!(hs.iter().map(ToString::to_string).collect::<Vec<_>>()))
                .map_err(|e| (code::INVALID_PARAMETER, e.to_string()))
        }
        other => Err((code::METHOD_NOT_FOUND, format!("Method not found: {other}"))),
    }
}

fn block(d: &Devnet, hash: &BlockHash) -> Result<(u32, Vec<u8>), (i32, String)> {
    match d.raw_block(hash) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err((code::INVALID_ADDRESS_OR_KEY, "Block not found".into())),
        Err(e) => Err((code::MISC_ERROR, e.to_string())),
    }
}

async fn rest_block(State(d): State<Devnet>, Path(file): Path<String>) -> Response {
    let Some(hash) = file
        .strip_suffix(".bin")
        .and_then(|h| BlockHash::from_str(h).ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            "the devnet serves /rest/block/<hash>.bin only",
        )
            .into_response();
    };
    match tokio::task::spawn_blocking(move || d.raw_block(&hash)).await {
        Ok(Ok(Some((_, raw)))) => raw.into_response(),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, format!("{hash} not found")).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn rest_chaininfo(State(d): State<Devnet>) -> Json<Value> {
    let tip = d.tip();
    Json(json!({ "chain": "regtest", "blocks": tip.height, "bestblockhash": tip.hash.to_string() }))
}
