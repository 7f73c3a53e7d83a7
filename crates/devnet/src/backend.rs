//! The devnet as a [`chain::ChainBackend`], in-process.

use crate::{Devnet, DevnetError};
use bitcoin::{BlockHash, FeeRate, Network, Transaction, Txid};
use chain::{BlockRef, ChainBackend, ChainError, ChainEvent, TxStatus};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

fn to_chain(e: DevnetError) -> ChainError {
    match e {
        DevnetError::Rejected(reason) => ChainError::Rejected { reason },
        other => ChainError::Unavailable(other.to_string()),
    }
}

impl ChainBackend for Devnet {
    fn network(&self) -> Network {
        Network::Regtest
    }

    fn tip(&self) -> Result<BlockRef, ChainError> {
        Ok(Devnet::tip(self))
    }

    fn block_hash(&self, height: u32) -> Result<BlockHash, ChainError> {
        Devnet::block_hash(self, height)
            .ok_or_else(|| ChainError::NotFound(format!("block at height {height}")))
    }

    fn raw_block(&self, hash: &BlockHash) -> Result<Vec<u8>, ChainError> {
        Devnet::raw_block(self, hash)
            .map_err(to_chain)?
            .map(|(_, raw)| raw)
            .ok_or_else(|| ChainError::NotFound(format!("block {hash}")))
    }

    fn raw_tx(&self, txid: &Txid) -> Result<Vec<u8>, ChainError> {
        self.tx(txid)
            .map(|i| bitcoin::consensus::serialize(&*i.tx))
            .ok_or_else(|| ChainError::NotFound(format!("transaction {txid}")))
    }

    fn tx_status(&self, txid: &Txid) -> Result<TxStatus, ChainError> {
        Ok(self.tx(txid).map_or(TxStatus::Unknown, |i| i.status))
    }

    fn mempool_txids(&self) -> Result<Vec<Txid>, ChainError> {
        Ok(Devnet::mempool_txids(self))
    }

    fn broadcast(&self, tx: &Transaction) -> Result<Txid, ChainError> {
        self.submit_tx(tx.clone()).map_err(to_chain)
    }

    fn fee_estimate(&self, _target_blocks: u16) -> Result<FeeRate, ChainError> {
        Ok(Devnet::fee_estimate(self))
    }

    fn changes(self: Arc<Self>, _poll: Duration) -> Result<Receiver<ChainEvent>, ChainError> {
        Ok(self.subscribe())
    }
}
