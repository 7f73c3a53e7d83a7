//! The persistent scanner: follows a backend block by block into the [`Store`], keeps the
//! [`Catalog`] derived from it, and handles reorgs by dropping the replaced blocks.

use crate::blockscan::cvp_tx_spans;
use crate::store::{BlockEntry, Store, StoreError};
use crate::{has_signature, Catalog};
use chain::{ChainBackend, ChainError};
use std::path::Path;

/// Why indexing stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The backend failed.
    #[error("{0}")]
    Chain(#[from] ChainError),
}

/// A store and the catalog derived from it.
#[derive(Debug)]
pub struct Indexer {
    store: Store,
    /// The catalog (confirmed content from the store, plus what the last poll saw in the mempool).
    pub catalog: Catalog,
    /// Reorgs handled since opening.
    pub reorgs: u32,
}

impl Indexer {
    /// Open the store at `path` and rebuild the catalog from it.
    pub fn open(path: &Path) -> Result<Indexer, IndexError> {
        let store = Store::open(path)?;
        let mut ix = Indexer {
            store,
            catalog: Catalog::default(),
            reorgs: 0,
        };
        ix.rebuild()?;
        Ok(ix)
    }

    fn rebuild(&mut self) -> Result<(), IndexError> {
        self.catalog = Catalog::default();
        for (height, entry) in self.store.blocks()? {
            for raw in &entry.txs {
                let tx = chain::decode_tx(raw)?;
                self.catalog.add_tx(&tx, Some(height));
            }
        }
        Ok(())
    }

    /// The last indexed block.
    pub fn cursor(&self) -> Result<Option<(u32, bitcoin::BlockHash)>, IndexError> {
        Ok(self.store.cursor()?)
    }

    /// Catch up with the backend: unwind a reorg, index new blocks, then read the mempool.
    pub fn poll(&mut self, backend: &dyn ChainBackend) -> Result<(), IndexError> {
        let tip = backend.tip()?;
        // Reorg: walk back until the stored hash matches the backend's.
        if let Some((mut h, _)) = self.store.cursor()? {
            let mut unwound = false;
            loop {
                let stored = self.store.hash_at(h)?;
                let current = if h <= tip.height {
                    backend.block_hash(h).ok()
                } else {
                    None
                };
                if stored.is_some() && stored == current {
                    break;
                }
                unwound = true;
                if h == 0 {
                    self.store.truncate_from(0)?;
                    break;
                }
                h -= 1;
            }
            if unwound {
                self.store.truncate_from(h + 1)?;
                self.reorgs += 1;
                self.rebuild()?;
            }
        }
        let mut next = self.store.cursor()?.map_or(0, |(h, _)| h + 1);
        while next <= tip.height {
            let hash = backend.block_hash(next)?;
            let raw = backend.raw_block(&hash)?;
            let spans =
                cvp_tx_spans(&raw).map_err(|e| ChainError::Decode(format!("block {hash}: {e}")))?;
            let txs: Vec<Vec<u8>> = spans.into_iter().map(|s| raw[s].to_vec()).collect();
            self.store.put_block(
                next,
                &BlockEntry {
                    hash,
                    txs: txs.clone(),
                },
            )?;
            for raw_tx in &txs {
                self.catalog.add_tx(&chain::decode_tx(raw_tx)?, Some(next));
            }
            tracing::debug!(height = next, "indexed block");
            next += 1;
        }
        for txid in backend.mempool_txids()? {
            if let Ok(raw) = backend.raw_tx(&txid) {
                if has_signature(&raw) {
                    if let Ok(tx) = chain::decode_tx(&raw) {
                        self.catalog.add_tx(&tx, None);
                    }
                }
            }
        }
        crate::scan::fill_header_prevouts(backend, &mut self.catalog);
        Ok(())
    }
}
