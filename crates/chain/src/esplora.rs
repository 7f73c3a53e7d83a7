//! The Esplora HTTP API as a [`ChainBackend`]: our devnet daemon (`bitflix devnet`) or any Esplora
//! server. Raw blocks come from `/block/:hash/raw`, so the scanner parses the same bytes as with
//! any other backend.

use crate::http::{self, MAX_BLOCK, MAX_MEMPOOL_LIST, MAX_SMALL};
use crate::{BlockRef, ChainBackend, ChainError, TxStatus};
use bitcoin::{BlockHash, FeeRate, Network, Transaction, Txid};
use std::str::FromStr;

/// An Esplora server.
#[derive(Debug, Clone)]
pub struct EsploraBackend {
    base: String,
    network: Network,
    agent: ureq::Agent,
}

impl EsploraBackend {
    /// A backend for the server at `base` (e.g. `http://127.0.0.1:3002`), serving `network`.
    pub fn new(base: &str, network: Network) -> Self {
        EsploraBackend {
            base: base.trim_end_matches('/').to_string(),
            network,
            agent: http::agent(),
        }
    }

    fn get(&self, path: &str, limit: u64) -> Result<Vec<u8>, ChainError> {
        http::get(&self.agent, &format!("{}{path}", self.base), path, limit)
    }

    fn get_text(&self, path: &str) -> Result<String, ChainError> {
        String::from_utf8(self.get(path, MAX_SMALL)?).map_err(|e| ChainError::Decode(e.to_string()))
    }

    fn get_json(&self, path: &str, limit: u64) -> Result<serde_json::Value, ChainError> {
        serde_json::from_slice(&self.get(path, limit)?)
            .map_err(|e| ChainError::Decode(format!("{path}: {e}")))
    }
}

fn parse<T: FromStr>(s: &str, what: &str) -> Result<T, ChainError> {
    s.trim()
        .parse()
        .map_err(|_| ChainError::Decode(format!("bad {what}: {s:.80}")))
}

impl ChainBackend for EsploraBackend {
    fn network(&self) -> Network {
        self.network
    }

    fn tip(&self) -> Result<BlockRef, ChainError> {
        let height = parse(&self.get_text("/blocks/tip/height")?, "height")?;
        let hash = parse(&self.get_text("/blocks/tip/hash")?, "block hash")?;
        Ok(BlockRef { height, hash })
    }

    fn block_hash(&self, height: u32) -> Result<BlockHash, ChainError> {
        parse(
            &self.get_text(&format!("/block-height/{height}"))?,
            "block hash",
        )
    }

    fn raw_block(&self, hash: &BlockHash) -> Result<Vec<u8>, ChainError> {
        self.get(&format!("/block/{hash}/raw"), MAX_BLOCK)
    }

    fn raw_tx(&self, txid: &Txid) -> Result<Vec<u8>, ChainError> {
        self.get(&format!("/tx/{txid}/raw"), MAX_SMALL)
    }

    fn tx_status(&self, txid: &Txid) -> Result<TxStatus, ChainError> {
        let v = match self.get_json(&format!("/tx/{txid}/status"), MAX_SMALL) {
            Err(ChainError::NotFound(_)) => return Ok(TxStatus::Unknown),
            other => other?,
        };
        if v["confirmed"].as_bool() == Some(true) {
            let height = v["block_height"]
                .as_u64()
                .ok_or_else(|| ChainError::Decode("status without height".into()))?
                as u32;
            let hash = parse(v["block_hash"].as_str().unwrap_or(""), "block hash")?;
            return Ok(TxStatus::Confirmed(BlockRef { height, hash }));
        }
        // Esplora answers "unconfirmed" for unknown txids too: ask whether it has the transaction.
        match self.get(&format!("/tx/{txid}/raw"), MAX_SMALL) {
            Ok(_) => Ok(TxStatus::Mempool),
            Err(ChainError::NotFound(_)) => Ok(TxStatus::Unknown),
            Err(e) => Err(e),
        }
    }

    fn mempool_txids(&self) -> Result<Vec<Txid>, ChainError> {
        let v = self.get_json("/mempool/txids", MAX_MEMPOOL_LIST)?;
        v.as_array()
            .ok_or_else(|| ChainError::Decode("mempool txids: not a list".into()))?
            .iter()
            .map(|t| parse(t.as_str().unwrap_or(""), "txid"))
            .collect()
    }

    fn broadcast(&self, tx: &Transaction) -> Result<Txid, ChainError> {
        let url = format!("{}/tx", self.base);
        let hex = bitcoin::consensus::encode::serialize_hex(tx);
        match self.agent.post(&url).send_string(&hex) {
            Ok(resp) => parse(
                &resp
                    .into_string()
                    .map_err(|e| ChainError::Decode(e.to_string()))?,
                "txid",
            ),
            Err(ureq::Error::Status(400, resp)) => Err(ChainError::Rejected {
                reason: resp.into_string().unwrap_or_default(),
            }),
            Err(ureq::Error::Status(status, resp)) => Err(http::status_error(&url, status, resp)),
            Err(ureq::Error::Transport(t)) => Err(ChainError::Transport {
                url,
                source: Box::new(t),
            }),
        }
    }

    fn fee_estimate(&self, target_blocks: u16) -> Result<FeeRate, ChainError> {
        let v = self.get_json("/fee-estimates", MAX_SMALL)?;
        let obj = v
            .as_object()
            .ok_or_else(|| ChainError::Decode("fee estimates: not an object".into()))?;
        // The estimate for the nearest target at or above the one asked, else the slowest.
        let mut best: Option<(u16, f64)> = None;
        for (k, rate) in obj {
            let (Ok(t), Some(r)) = (k.parse::<u16>(), rate.as_f64()) else {
                continue;
            };
            let better = match best {
                None => true,
                Some((bt, _)) => {
                    (t >= target_blocks && (bt < target_blocks || t < bt))
                        || (bt < target_blocks && t > bt)
                }
            };
            if better {
                best = Some((t, r));
            }
        }
        let sat_per_vb = best.map_or(1.0, |(_, r)| r).max(0.1);
        Ok(FeeRate::from_sat_per_kwu((sat_per_vb * 250.0).ceil() as u64))
    }
}
