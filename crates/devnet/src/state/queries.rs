//! Reading the chain and the mempool.

use super::{Devnet, TxInfo, Utxo};
use crate::miner::MAX_BLOCK_WEIGHT;
use crate::DevnetError;
use bitcoin::{Amount, BlockHash, OutPoint, ScriptBuf, TxOut, Txid};
use chain::{BlockRef, TxStatus};
use std::sync::Arc;

impl Devnet {
    /// The active tip.
    pub fn tip(&self) -> BlockRef {
        let s = self.state();
        BlockRef {
            height: s.index.tip_height(),
            hash: s.tip_hash(),
        }
    }

    /// The hash at `height` on the active chain.
    pub fn block_hash(&self, height: u32) -> Option<BlockHash> {
        self.state().index.hashes.get(height as usize).copied()
    }

    /// A block of the active chain, raw, with its height.
    pub fn raw_block(&self, hash: &BlockHash) -> Result<Option<(u32, Vec<u8>)>, DevnetError> {
        let height = self.state().index.heights.get(hash).copied();
        let Some(height) = height else {
            return Ok(None);
        };
        Ok(self.inner.kernel.block_at(height)?.map(|raw| (height, raw)))
    }

    /// A transaction from the mempool or the active chain.
    pub fn tx(&self, txid: &Txid) -> Option<TxInfo> {
        let s = self.state();
        if let Some(e) = s.mempool.entries.get(txid) {
            return Some(TxInfo {
                tx: Arc::clone(&e.tx),
                status: TxStatus::Mempool,
            });
        }
        s.index.txs.get(txid).map(|p| TxInfo {
            tx: Arc::clone(&p.tx),
            status: TxStatus::Confirmed(BlockRef {
                height: p.height,
                hash: p.block,
            }),
        })
    }

    /// The mempool's txids, in arrival order.
    pub fn mempool_txids(&self) -> Vec<Txid> {
        self.state().mempool.order.clone()
    }

    /// Fee paid by a mempool transaction, with its vsize.
    pub fn mempool_fee(&self, txid: &Txid) -> Option<(Amount, u64)> {
        self.state()
            .mempool
            .entries
            .get(txid)
            .map(|e| (e.fee, e.vsize))
    }

    /// Who spends an output: the spending txid and input index, confirmed or in the mempool.
    pub fn outspend(&self, op: &OutPoint) -> Option<(Txid, u32, TxStatus)> {
        let s = self.state();
        if let Some(t) = s.mempool.spends.get(op) {
            let vin = s
                .mempool
                .entries
                .get(t)
                .and_then(|e| e.tx.input.iter().position(|i| i.previous_output == *op))
                .unwrap_or(0);
            return Some((*t, vin as u32, TxStatus::Mempool));
        }
        let (t, vin) = *s.index.spent_by.get(op)?;
        let p = s.index.txs.get(&t)?;
        Some((
            t,
            vin,
            TxStatus::Confirmed(BlockRef {
                height: p.height,
                hash: p.block,
            }),
        ))
    }

    /// Transactions touching a script: confirmed (oldest first), then the mempool's.
    pub fn script_history(&self, script: &ScriptBuf) -> Vec<(Txid, TxStatus)> {
        let s = self.state();
        let mut out: Vec<(Txid, TxStatus)> = s
            .index
            .history
            .get(script)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                s.index.txs.get(t).map(|p| {
                    (
                        *t,
                        TxStatus::Confirmed(BlockRef {
                            height: p.height,
                            hash: p.block,
                        }),
                    )
                })
            })
            .collect();
        for t in &s.mempool.order {
            if let Some(e) = s.mempool.entries.get(t) {
                let pays = e.tx.output.iter().any(|o| o.script_pubkey == *script);
                let spends = e.tx.input.iter().any(|i| {
                    s.index
                        .utxos
                        .get(&i.previous_output)
                        .is_some_and(|c| c.out.script_pubkey == *script)
                        || s.mempool
                            .output(&i.previous_output)
                            .is_some_and(|o| o.script_pubkey == *script)
                });
                if pays || spends {
                    out.push((*t, TxStatus::Mempool));
                }
            }
        }
        out
    }

    /// Unspent outputs paying a script, confirmed and from the mempool, minus those the mempool
    /// spends.
    pub fn script_utxos(&self, script: &ScriptBuf) -> Vec<Utxo> {
        let s = self.state();
        let mut out: Vec<Utxo> = s
            .index
            .utxos
            .iter()
            .filter(|(op, c)| c.out.script_pubkey == *script && !s.mempool.spends.contains_key(op))
            .map(|(op, c)| Utxo {
                outpoint: *op,
                value: c.out.value,
                height: Some(c.height),
            })
            .collect();
        for t in &s.mempool.order {
            let Some(e) = s.mempool.entries.get(t) else {
                continue;
            };
            for (vout, o) in e.tx.output.iter().enumerate() {
                let op = OutPoint::new(*t, vout as u32);
                if o.script_pubkey == *script && !s.mempool.spends.contains_key(&op) {
                    out.push(Utxo {
                        outpoint: op,
                        value: o.value,
                        height: None,
                    });
                }
            }
        }
        out.sort_by_key(|u| (u.height.unwrap_or(u32::MAX), u.outpoint));
        out
    }

    /// The script whose SHA-256 is `hash`, among the scripts the chain has paid (Esplora's
    /// scripthash lookups).
    pub fn script_by_hash(&self, hash: &[u8]) -> Option<ScriptBuf> {
        use bitcoin::hashes::{sha256, Hash};
        let s = self.state();
        let matches = |k: &ScriptBuf| sha256::Hash::hash(k.as_bytes()).as_byte_array()[..] == *hash;
        <[u8; 32]>::try_from(hash)
            .ok()
            .and_then(|h| s.index.by_scripthash.get(&h).cloned())
            .or_else(|| {
                // A script paid only by the mempool so far.
                s.mempool
                    .entries
                    .values()
                    .flat_map(|e| e.tx.output.iter())
                    .map(|o| &o.script_pubkey)
                    .find(|k| matches(k))
                    .cloned()
            })
    }

    /// A block's header time and its median time past (of it and the ten blocks before), by
    /// height on the active chain.
    pub fn block_times(&self, height: u32) -> Option<(u32, u32)> {
        let s = self.state();
        let times = &s.index.times;
        let h = height as usize;
        let time = *times.get(h)?;
        let mut window = times[(h + 1).saturating_sub(11)..=h].to_vec();
        window.sort_unstable();
        Some((time, window[window.len() / 2]))
    }

    /// The output an outpoint refers to, confirmed or in the mempool, spent or not.
    pub fn prevout(&self, op: &OutPoint) -> Option<TxOut> {
        let s = self.state();
        s.mempool.output(op).or_else(|| {
            s.index
                .txs
                .get(&op.txid)
                .and_then(|p| p.tx.output.get(op.vout as usize).cloned())
        })
    }

    /// A fee rate that gets into the next block: the minimum relay fee while blocks have room,
    /// more when the mempool holds more than a block.
    pub fn fee_estimate(&self) -> bitcoin::FeeRate {
        let s = self.state();
        let weight: u64 = s
            .mempool
            .entries
            .values()
            .map(|e| e.tx.weight().to_wu())
            .sum();
        let sat_per_kvb = if weight > MAX_BLOCK_WEIGHT {
            2_000
        } else {
            crate::policy::MIN_RELAY_SAT_PER_KVB
        };
        bitcoin::FeeRate::from_sat_per_kwu(sat_per_kvb.div_ceil(4))
    }

    /// Read a raw block file's bytes back (for tools); `None` past the tip.
    pub fn raw_block_at(&self, height: u32) -> Result<Option<Vec<u8>>, DevnetError> {
        self.inner.kernel.block_at(height)
    }
}
