//! The devnet over the Esplora HTTP API: the endpoints a client uses to follow the chain, read
//! blocks and transactions, find an address's coins and broadcast. Bad input gets a 4xx with a
//! reason; the devnet keeps running. The same port answers a subset of Bitcoin Core's JSON-RPC and
//! REST ([`crate::rpc`]). It is served within [`httpd`]'s connection limits and timeouts, and a
//! request (a slowly sent body included) gets [`REQUEST_TIMEOUT`] at most.

use crate::{esplora_json, Devnet};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Address, BlockHash, ScriptBuf, Txid};
use chain::TxStatus;
use serde_json::{json, Value};
use std::str::FromStr;

/// Largest POST body: a standard transaction is at most 400,000 WU, so 400 kB raw, 800 kB hex.
const MAX_BODY: usize = 1_000_000;

/// Longest a request may take, reading its body included.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The Esplora router over a devnet.
pub fn router(devnet: Devnet) -> Router {
    Router::new()
        .route("/blocks/tip/height", get(tip_height))
        .route("/blocks/tip/hash", get(tip_hash))
        .route("/block-height/{height}", get(block_height))
        .route("/block/{hash}/raw", get(block_raw))
        .route("/block/{hash}/header", get(block_header))
        .route("/block/{hash}/txids", get(block_txids))
        .route("/block/{hash}/status", get(block_status))
        .route("/blocks", get(blocks_tip))
        .route("/blocks/{height}", get(blocks_from))
        .route("/block/{hash}", get(block_json))
        .route("/tx/{txid}", get(tx_json))
        .route("/tx/{txid}/outspend/{vout}", get(tx_outspend))
        .route("/tx/{txid}/raw", get(tx_raw))
        .route("/tx/{txid}/hex", get(tx_hex))
        .route("/tx/{txid}/status", get(tx_status))
        .route("/tx/{txid}/outspends", get(tx_outspends))
        .route("/address/{address}/utxo", get(address_utxo))
        .route("/scripthash/{hash}/utxo", get(scripthash_utxo))
        .route("/address/{address}/txs", get(address_txs))
        .route(
            "/address/{address}/txs/chain/{last}",
            get(address_txs_after),
        )
        .route("/address/{address}/txs/mempool", get(address_txs_mempool))
        .route("/scripthash/{hash}/txs", get(scripthash_txs))
        .route(
            "/scripthash/{hash}/txs/chain/{last}",
            get(scripthash_txs_after),
        )
        .route(
            "/scripthash/{hash}/txs/mempool",
            get(scripthash_txs_mempool),
        )
        .route("/mempool/txids", get(mempool_txids))
        .route("/fee-estimates", get(fee_estimates))
        .route("/tx", post(post_tx))
        .merge(crate::rpc::routes())
        .fallback(|| async { (StatusCode::NOT_FOUND, "unknown endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(devnet)
}

/// Serve the router on `listener` until `shutdown` resolves, within [`httpd::Limits::default`].
pub async fn serve(
    devnet: Devnet,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    httpd::serve(listener, router(devnet), httpd::Limits::default(), shutdown).await
}

fn bad(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, msg.into()).into_response()
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("{what} not found")).into_response()
}

fn status_json(s: TxStatus) -> Value {
    match s {
        TxStatus::Confirmed(b) => {
            json!({ "confirmed": true, "block_height": b.height, "block_hash": b.hash.to_string() })
        }
        _ => json!({ "confirmed": false }),
    }
}

async fn tip_height(State(d): State<Devnet>) -> String {
    d.tip().height.to_string()
}

async fn tip_hash(State(d): State<Devnet>) -> String {
    d.tip().hash.to_string()
}

async fn block_height(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    let Ok(h) = h.parse::<u32>() else {
        return bad("height must be a number");
    };
    d.block_hash(h)
        .map_or_else(|| not_found("block"), |b| b.to_string().into_response())
}

/// A refusal: status and reason (small, unlike a whole `Response`).
type Fail = (StatusCode, String);

fn raw_block(d: &Devnet, hash: &str) -> Result<(u32, Vec<u8>), Fail> {
    let hash = BlockHash::from_str(hash)
        .map_err(|_| (StatusCode::BAD_REQUEST, "invalid block hash".to_string()))?;
    match d.raw_block(&hash) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err((StatusCode::NOT_FOUND, "block not found".into())),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn block_raw(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    raw_block(&d, &h).map_or_else(IntoResponse::into_response, |(_, raw)| raw.into_response())
}

async fn block_header(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    raw_block(&d, &h).map_or_else(IntoResponse::into_response, |(_, raw)| {
        hex::encode(&raw[..80.min(raw.len())]).into_response()
    })
}

async fn block_txids(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    match raw_block(&d, &h) {
        Err(r) => r.into_response(),
        Ok((_, raw)) => match deserialize::<bitcoin::Block>(&raw) {
            Ok(b) => Json(
                b.txdata
                    .iter()
                    .map(|t| t.compute_txid().to_string())
                    .collect::<Vec<_>>(),
            )
            .into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        },
    }
}

async fn block_status(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    match raw_block(&d, &h) {
        Err(r) => r.into_response(),
        Ok((height, _)) => Json(json!({ "in_best_chain": true, "height": height, "next_best": d.block_hash(height + 1).map(|b| b.to_string()) })).into_response(),
    }
}

fn tx(d: &Devnet, txid: &str) -> Result<crate::TxInfo, Fail> {
    let txid =
        Txid::from_str(txid).map_err(|_| (StatusCode::BAD_REQUEST, "invalid txid".to_string()))?;
    d.tx(&txid)
        .ok_or_else(|| (StatusCode::NOT_FOUND, "transaction not found".into()))
}

async fn tx_raw(State(d): State<Devnet>, Path(t): Path<String>) -> Response {
    tx(&d, &t).map_or_else(IntoResponse::into_response, |i| {
        serialize(&*i.tx).into_response()
    })
}

async fn tx_hex(State(d): State<Devnet>, Path(t): Path<String>) -> Response {
    tx(&d, &t).map_or_else(IntoResponse::into_response, |i| {
        hex::encode(serialize(&*i.tx)).into_response()
    })
}

async fn tx_status(State(d): State<Devnet>, Path(t): Path<String>) -> Response {
    match Txid::from_str(&t) {
        Err(_) => bad("invalid txid"),
        Ok(txid) => Json(status_json(
            d.tx(&txid).map_or(TxStatus::Unknown, |i| i.status),
        ))
        .into_response(),
    }
}

async fn tx_outspends(State(d): State<Devnet>, Path(t): Path<String>) -> Response {
    match tx(&d, &t) {
        Err(r) => r.into_response(),
        Ok(info) => {
            let txid = info.tx.compute_txid();
            let spends: Vec<Value> = (0..info.tx.output.len() as u32)
                .map(|vout| match d.outspend(&bitcoin::OutPoint::new(txid, vout)) {
                    Some((spender, vin, status)) => json!({ "spent": true, "txid": spender.to_string(), "vin": vin, "status": status_json(status) }),
                    None => json!({ "spent": false }),
                })
                .collect();
            Json(spends).into_response()
        }
    }
}

fn utxos(d: &Devnet, script: &ScriptBuf) -> Response {
    let list: Vec<Value> = d
        .script_utxos(script)
        .into_iter()
        .map(|u| {
            let status = match u.height.and_then(|h| d.block_hash(h).map(|b| (h, b))) {
                Some((h, b)) => json!({ "confirmed": true, "block_height": h, "block_hash": b.to_string() }),
                None => json!({ "confirmed": false }),
            };
            json!({ "txid": u.outpoint.txid.to_string(), "vout": u.outpoint.vout, "value": u.value.to_sat(), "status": status })
        })
        .collect();
    Json(list).into_response()
}

async fn address_utxo(State(d): State<Devnet>, Path(a): Path<String>) -> Response {
    match Address::from_str(&a)
        .ok()
        .and_then(|a| a.require_network(bitcoin::Network::Regtest).ok())
    {
        Some(addr) => utxos(&d, &addr.script_pubkey()),
        None => bad("invalid regtest address"),
    }
}

async fn scripthash_utxo(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    // Esplora's scripthash is SHA-256 of the script; the devnet indexes scripts, so it searches
    // the scripts it knows for a match.
    let Ok(want) = hex::decode(&h) else {
        return bad("invalid script hash");
    };
    match d.script_by_hash(&want) {
        Some(script) => utxos(&d, &script),
        None => Json(Vec::<Value>::new()).into_response(),
    }
}

async fn mempool_txids(State(d): State<Devnet>) -> Json<Vec<String>> {
    Json(d.mempool_txids().iter().map(ToString::to_string).collect())
}

async fn fee_estimates(State(d): State<Devnet>) -> Json<Value> {
    let rate = d.fee_estimate().to_sat_per_kwu() as f64 * 4.0 / 1000.0;
    Json(json!({ "1": rate, "3": rate, "6": rate, "144": rate }))
}

async fn post_tx(State(d): State<Devnet>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad("body must be the transaction in hex");
    };
    let Ok(raw) = hex::decode(text.trim()) else {
        return bad("body must be the transaction in hex");
    };
    let Ok(tx) = deserialize::<bitcoin::Transaction>(&raw) else {
        return bad("transaction does not decode (TX decode failed)");
    };
    match tokio::task::spawn_blocking(move || d.submit_tx(tx)).await {
        Ok(Ok(txid)) => txid.to_string().into_response(),
        Ok(Err(e)) => bad(format!("sendrawtransaction RPC error: {e}")),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn blocks_tip(State(d): State<Devnet>) -> Response {
    blocking(move || Json(esplora_json::blocks(&d, None)).into_response()).await
}

async fn blocks_from(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    let Ok(h) = h.parse::<u32>() else {
        return bad("height must be a number");
    };
    blocking(move || Json(esplora_json::blocks(&d, Some(h))).into_response()).await
}

async fn block_json(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    let Ok(hash) = BlockHash::from_str(&h) else {
        return bad("invalid block hash");
    };
    blocking(move || {
        esplora_json::block(&d, &hash)
            .map_or_else(|| not_found("block"), |b| Json(b).into_response())
    })
    .await
}

async fn tx_json(State(d): State<Devnet>, Path(t): Path<String>) -> Response {
    match tx(&d, &t) {
        Err(r) => r.into_response(),
        Ok(info) => blocking(move || Json(esplora_json::tx(&d, &info)).into_response()).await,
    }
}

async fn tx_outspend(State(d): State<Devnet>, Path((t, vout)): Path<(String, String)>) -> Response {
    let info = match tx(&d, &t) {
        Err(r) => return r.into_response(),
        Ok(i) => i,
    };
    let Some(vout) = vout
        .parse::<u32>()
        .ok()
        .filter(|v| (*v as usize) < info.tx.output.len())
    else {
        return not_found("output");
    };
    let op = bitcoin::OutPoint::new(info.tx.compute_txid(), vout);
    Json(match d.outspend(&op) {
        Some((spender, vin, status)) => json!({ "spent": true, "txid": spender.to_string(), "vin": vin, "status": status_json(status) }),
        None => json!({ "spent": false }),
    })
    .into_response()
}

/// Run slow work (kernel reads, JSON of many transactions) off the async workers.
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}

fn address_script(a: &str) -> Option<ScriptBuf> {
    Address::from_str(a)
        .ok()
        .and_then(|a| a.require_network(bitcoin::Network::Regtest).ok())
        .map(|a| a.script_pubkey())
}

/// `Err` for a malformed hash; `Ok(None)` for a script the chain never paid.
fn hash_script(d: &Devnet, h: &str) -> Result<Option<ScriptBuf>, Fail> {
    match hex::decode(h) {
        Ok(want) if want.len() == 32 => Ok(d.script_by_hash(&want)),
        _ => Err((StatusCode::BAD_REQUEST, "invalid script hash".into())),
    }
}

async fn history(
    d: Devnet,
    script: Option<ScriptBuf>,
    after: Option<String>,
    mempool_only: bool,
) -> Response {
    let after = match after.map(|t| Txid::from_str(&t)) {
        Some(Err(_)) => return bad("invalid txid"),
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let Some(script) = script else {
        return Json(Vec::<Value>::new()).into_response();
    };
    blocking(move || {
        Json(esplora_json::history_page(&d, &script, after, mempool_only)).into_response()
    })
    .await
}

async fn address_txs(State(d): State<Devnet>, Path(a): Path<String>) -> Response {
    match address_script(&a) {
        Some(s) => history(d, Some(s), None, false).await,
        None => bad("invalid regtest address"),
    }
}

async fn address_txs_after(
    State(d): State<Devnet>,
    Path((a, last)): Path<(String, String)>,
) -> Response {
    match address_script(&a) {
        Some(s) => history(d, Some(s), Some(last), false).await,
        None => bad("invalid regtest address"),
    }
}

async fn address_txs_mempool(State(d): State<Devnet>, Path(a): Path<String>) -> Response {
    match address_script(&a) {
        Some(s) => history(d, Some(s), None, true).await,
        None => bad("invalid regtest address"),
    }
}

async fn scripthash_txs(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    match hash_script(&d, &h) {
        Ok(s) => history(d, s, None, false).await,
        Err(r) => r.into_response(),
    }
}

async fn scripthash_txs_after(
    State(d): State<Devnet>,
    Path((h, last)): Path<(String, String)>,
) -> Response {
    match hash_script(&d, &h) {
        Ok(s) => history(d, s, Some(last), false).await,
        Err(r) => r.into_response(),
    }
}

async fn scripthash_txs_mempool(State(d): State<Devnet>, Path(h): Path<String>) -> Response {
    match hash_script(&d, &h) {
        Ok(s) => history(d, s, None, true).await,
        Err(r) => r.into_response(),
    }
}
