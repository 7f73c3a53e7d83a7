//! The devnet's own view of the active chain: transactions, outputs, spends and script histories,
//! rebuilt from the kernel's blocks when the devnet opens or the chain reorganises, and extended
//! block by block otherwise. Nothing here is persisted, so nothing here can be corrupted by a kill.

use bitcoin::{Block, BlockHash, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use std::collections::HashMap;
use std::sync::Arc;

/// Where a confirmed transaction sits.
#[derive(Debug, Clone)]
pub(crate) struct TxPlace {
    pub(crate) tx: Arc<Transaction>,
    pub(crate) height: u32,
    pub(crate) block: BlockHash,
}

/// A confirmed unspent output.
#[derive(Debug, Clone)]
pub(crate) struct Coin {
    pub(crate) out: TxOut,
    pub(crate) height: u32,
    pub(crate) coinbase: bool,
}

#[derive(Debug, Default)]
pub(crate) struct ChainIndex {
    pub(crate) hashes: Vec<BlockHash>,
    /// Height of each active block, for lookups by hash.
    pub(crate) heights: HashMap<BlockHash, u32>,
    pub(crate) times: Vec<u32>,
    pub(crate) txs: HashMap<Txid, TxPlace>,
    pub(crate) utxos: HashMap<OutPoint, Coin>,
    pub(crate) spent_by: HashMap<OutPoint, (Txid, u32)>,
    pub(crate) history: HashMap<ScriptBuf, Vec<Txid>>,
    /// SHA-256 of each script in `history` (Esplora's scripthash), so a lookup hashes nothing.
    pub(crate) by_scripthash: HashMap<[u8; 32], ScriptBuf>,
}

impl ChainIndex {
    pub(crate) fn tip_height(&self) -> u32 {
        self.hashes.len().saturating_sub(1) as u32
    }

    /// Add the next block of the active chain.
    pub(crate) fn connect(&mut self, block: &Block) {
        let height = self.hashes.len() as u32;
        let hash = block.block_hash();
        self.hashes.push(hash);
        self.heights.insert(hash, height);
        self.times.push(block.header.time);
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            let coinbase = tx.is_coinbase();
            if !coinbase {
                for (vin, input) in tx.input.iter().enumerate() {
                    if let Some(coin) = self.utxos.remove(&input.previous_output) {
                        self.note_history(&coin.out.script_pubkey, txid);
                    }
                    self.spent_by
                        .insert(input.previous_output, (txid, vin as u32));
                }
            }
            for (vout, out) in tx.output.iter().enumerate() {
                if out.script_pubkey.is_op_return() {
                    continue;
                }
                self.note_history(&out.script_pubkey, txid);
                self.utxos.insert(
                    OutPoint::new(txid, vout as u32),
                    Coin {
                        out: out.clone(),
                        height,
                        coinbase,
                    },
                );
            }
            self.txs.insert(
                txid,
                TxPlace {
                    tx: Arc::new(tx.clone()),
                    height,
                    block: hash,
                },
            );
        }
    }

    fn note_history(&mut self, script: &ScriptBuf, txid: Txid) {
        if !self.history.contains_key(script) {
            use bitcoin::hashes::{sha256, Hash};
            let hash = sha256::Hash::hash(script.as_bytes()).to_byte_array();
            self.by_scripthash.insert(hash, script.clone());
        }
        let h = self.history.entry(script.clone()).or_default();
        if h.last() != Some(&txid) {
            h.push(txid);
        }
    }

    /// Median time past of the tip (the next block's time must exceed it).
    pub(crate) fn median_time_past(&self) -> u32 {
        let mut last: Vec<u32> = self.times.iter().rev().take(11).copied().collect();
        last.sort_unstable();
        last.get(last.len() / 2).copied().unwrap_or(0)
    }
}
