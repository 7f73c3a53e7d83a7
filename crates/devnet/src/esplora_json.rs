//! The JSON documents of the Esplora API that wallets read: a transaction with its inputs'
//! previous outputs, status and fee (`/tx/:txid`, `/scripthash/:hash/txs`), and a block's
//! summary (`/blocks`, `/block/:hash`). Field names and units are Esplora's (values in
//! satoshis, scripts in hex), so BDK's esplora client reads them unchanged.

use crate::{Devnet, TxInfo};
use bitcoin::consensus::serialize;
use bitcoin::{BlockHash, Transaction};
use chain::TxStatus;
use serde_json::{json, Value};

/// `{confirmed, block_height, block_hash, block_time}`.
pub(crate) fn status(d: &Devnet, s: TxStatus) -> Value {
    match s {
        TxStatus::Confirmed(b) => json!({
            "confirmed": true,
            "block_height": b.height,
            "block_hash": b.hash.to_string(),
            "block_time": d.block_times(b.height).map_or(0, |(t, _)| t),
        }),
        _ => json!({ "confirmed": false }),
    }
}

/// A transaction as Esplora describes it.
pub(crate) fn tx(d: &Devnet, info: &TxInfo) -> Value {
    let t: &Transaction = &info.tx;
    let coinbase = t.is_coinbase();
    let mut paid_in = 0u64;
    let vin: Vec<Value> = t
        .input
        .iter()
        .map(|i| {
            let prevout = if coinbase {
                Value::Null
            } else {
                d.prevout(&i.previous_output).map_or(Value::Null, |o| {
                    paid_in += o.value.to_sat();
                    json!({ "value": o.value.to_sat(), "scriptpubkey": hex::encode(o.script_pubkey.as_bytes()) })
                })
            };
            json!({
                "txid": i.previous_output.txid.to_string(),
                "vout": i.previous_output.vout,
                "prevout": prevout,
                "scriptsig": hex::encode(i.script_sig.as_bytes()),
                "witness": i.witness.iter().map(hex::encode).collect::<Vec<_>>(),
                "sequence": i.sequence.0,
                "is_coinbase": coinbase,
            })
        })
        .collect();
    let paid_out: u64 = t.output.iter().map(|o| o.value.to_sat()).sum();
    json!({
        "txid": t.compute_txid().to_string(),
        "version": t.version.0,
        "locktime": t.lock_time.to_consensus_u32(),
        "vin": vin,
        "vout": t.output.iter().map(|o| json!({ "value": o.value.to_sat(), "scriptpubkey": hex::encode(o.script_pubkey.as_bytes()) })).collect::<Vec<_>>(),
        "size": serialize(t).len(),
        "weight": t.weight().to_wu(),
        "fee": if coinbase { 0 } else { paid_in.saturating_sub(paid_out) },
        "status": status(d, info.status),
    })
}

/// A block's summary as `/blocks` lists it; `None` off the active chain.
pub(crate) fn block(d: &Devnet, hash: &BlockHash) -> Option<Value> {
    let (height, raw) = d.raw_block(hash).ok()??;
    let b: bitcoin::Block = bitcoin::consensus::deserialize(&raw).ok()?;
    let (_, mediantime) = d.block_times(height)?;
    let h = &b.header;
    Some(json!({
        "id": hash.to_string(),
        "height": height,
        "version": h.version.to_consensus(),
        "timestamp": h.time,
        "tx_count": b.txdata.len(),
        "size": raw.len(),
        "weight": b.weight().to_wu(),
        "merkle_root": h.merkle_root.to_string(),
        "previousblockhash": (height > 0).then(|| h.prev_blockhash.to_string()),
        "mediantime": mediantime,
        "nonce": h.nonce,
        "bits": h.bits.to_consensus(),
        "difficulty": h.difficulty_float(),
    }))
}

/// Up to ten block summaries, from `start` (default the tip) downwards.
pub(crate) fn blocks(d: &Devnet, start: Option<u32>) -> Vec<Value> {
    let top = start.unwrap_or(d.tip().height).min(d.tip().height);
    (top.saturating_sub(9)..=top)
        .rev()
        .filter_map(|h| d.block_hash(h).and_then(|hash| block(d, &hash)))
        .collect()
}

/// Esplora's pages of a script's history: all of its mempool transactions (newest first) then
/// 25 confirmed (newest first); `after` continues the confirmed list past that txid.
pub(crate) fn history_page(
    d: &Devnet,
    script: &bitcoin::ScriptBuf,
    after: Option<bitcoin::Txid>,
    mempool_only: bool,
) -> Vec<Value> {
    const PAGE: usize = 25;
    let all = d.script_history(script);
    let mempool = all
        .iter()
        .filter(|(_, s)| *s == TxStatus::Mempool)
        .rev()
        .map(|(t, _)| *t);
    let confirmed: Vec<_> = all
        .iter()
        .filter(|(_, s)| matches!(s, TxStatus::Confirmed(_)))
        .rev()
        .map(|(t, _)| *t)
        .collect();
    let ids: Vec<bitcoin::Txid> = if mempool_only {
        mempool.collect()
    } else {
        match after {
            None => mempool.chain(confirmed.into_iter().take(PAGE)).collect(),
            Some(last) => {
                let skip = confirmed
                    .iter()
                    .position(|t| *t == last)
                    .map_or(0, |i| i + 1);
                confirmed.into_iter().skip(skip).take(PAGE).collect()
            }
        }
    };
    ids.iter()
        .filter_map(|t| d.tx(t).map(|i| tx(d, &i)))
        .collect()
}
