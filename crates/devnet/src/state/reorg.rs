//! Reorganisations on demand: a longer competing branch, built on the kernel like any other.

use super::{index_from_kernel, notify, Devnet};
use crate::mempool::Mempool;
use crate::miner;
use crate::DevnetError;
use bitcoin::consensus::deserialize;
use bitcoin::{Amount, BlockHash, Transaction, Txid};
use chain::{BlockRef, ChainEvent};

impl Devnet {
    /// Replace the top `depth` blocks with a longer branch of `depth + 1` empty blocks. Transactions
    /// of the orphaned blocks go back to the mempool when still valid.
    pub fn reorg(&self, depth: u32) -> Result<Vec<BlockHash>, DevnetError> {
        let mut s = self.state();
        let height = s.index.tip_height();
        if depth == 0 || depth > height {
            return Err(DevnetError::ReorgTooDeep { depth, height });
        }
        let fork = height - depth;
        let mut orphaned = Vec::new();
        for h in fork + 1..=height {
            if let Some(raw) = self.inner.kernel.block_at(h)? {
                let b: bitcoin::Block =
                    deserialize(&raw).map_err(|e| DevnetError::Kernel(e.to_string()))?;
                orphaned.extend(b.txdata.into_iter().skip(1));
            }
        }
        let mut prev = s.index.hashes[fork as usize];
        let mut branch = Vec::new();
        let script = self.inner.faucet.script.clone();
        for i in 0..=depth {
            let mut block = self.next_block(&mut s, prev, Vec::new(), Amount::ZERO, &script);
            // next_block derives the height from `prev`; branch blocks are past the index's view.
            if i > 0 {
                block = miner::build_block(
                    prev,
                    fork + 1 + i,
                    block.header.time,
                    Vec::new(),
                    Amount::ZERO,
                    &script,
                    s.extra_nonce,
                );
            }
            self.accept_block(&block, i == depth)?;
            prev = block.block_hash();
            branch.push(prev);
        }
        // Rebuild the index from the kernel's new active chain, then return orphans to the mempool.
        let (tip, _) = self.inner.kernel.tip();
        s.index = index_from_kernel(&self.inner.kernel)?;
        let old_mempool: Vec<Transaction> = s
            .mempool
            .order
            .iter()
            .filter_map(|t| s.mempool.entries.get(t))
            .map(|e| (*e.tx).clone())
            .collect();
        s.mempool = Mempool::default();
        let tip_ref = BlockRef {
            height: tip,
            hash: prev,
        };
        notify(&mut s, vec![ChainEvent::Tip(tip_ref)]);
        self.compact_log(&mut s)?;
        drop(s);
        let old_ids: Vec<Txid> = old_mempool.iter().map(Transaction::compute_txid).collect();
        for tx in orphaned.into_iter().chain(old_mempool) {
            let _ = self.submit_tx(tx);
        }
        // Mempool transactions the new chain made invalid are gone: say so.
        let mut s = self.state();
        let gone: Vec<ChainEvent> = old_ids
            .into_iter()
            .filter(|t| !s.mempool.entries.contains_key(t))
            .map(ChainEvent::MempoolRemoved)
            .collect();
        notify(&mut s, gone);
        Ok(branch)
    }

    /// Take the tip block off the active chain. The kernel offers no invalidation, so this is
    /// `reorg(1)`: a competing branch of two empty blocks from the tip's parent wins on work, and
    /// the old tip's transactions go back to the mempool. Returns the new branch.
    pub fn invalidate_tip(&self) -> Result<Vec<BlockHash>, DevnetError> {
        self.reorg(1)
    }
}
