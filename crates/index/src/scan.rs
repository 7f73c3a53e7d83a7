//! Finding CVP transactions: a byte search for the signature decides which transactions are
//! decoded at all.

use crate::catalog::Catalog;
use chain::{ChainBackend, ChainError};

/// True when `raw` may hold a CVP record (it contains the three signature bytes).
pub fn has_signature(raw: &[u8]) -> bool {
    memchr::memmem::find(raw, &cvp::SIGNATURE).is_some()
}

/// Follows a backend from a height onward, feeding the catalog.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Next height to scan.
    pub next_height: u32,
    /// Hash of the last scanned block (a different hash at that height means a reorg).
    pub last_hash: Option<bitcoin::BlockHash>,
}

impl Scanner {
    /// Scan new blocks and the mempool. On a reorg the catalog is rebuilt from genesis (the
    /// in-memory catalog has no undo log yet).
    pub fn poll(
        &mut self,
        backend: &dyn ChainBackend,
        catalog: &mut Catalog,
    ) -> Result<(), ChainError> {
        let tip = backend.tip()?;
        if let Some(last) = self.last_hash {
            let height = self.next_height.saturating_sub(1);
            if tip.height < height || backend.block_hash(height)? != last {
                *catalog = Catalog::default();
                *self = Scanner::default();
            }
        }
        while self.next_height <= tip.height {
            let hash = backend.block_hash(self.next_height)?;
            let raw = backend.raw_block(&hash)?;
            // Only transactions holding the signature are decoded; the rest are skipped by length.
            let spans = crate::blockscan::cvp_tx_spans(&raw)
                .map_err(|e| ChainError::Decode(format!("block {hash}: {e}")))?;
            for span in spans {
                let tx = chain::decode_tx(&raw[span])?;
                catalog.add_tx(&tx, Some(self.next_height));
            }
            self.last_hash = Some(hash);
            self.next_height += 1;
        }
        for txid in backend.mempool_txids()? {
            if let Ok(raw) = backend.raw_tx(&txid) {
                if has_signature(&raw) {
                    if let Ok(tx) = chain::decode_tx(&raw) {
                        catalog.add_tx(&tx, None);
                    }
                }
            }
        }
        fill_header_prevouts(backend, catalog);
        Ok(())
    }
}

/// Look up the funding coins of headers (outside every lineage) so each film's cost is known.
/// One lookup per film; failures leave the cost unknown.
pub(crate) fn fill_header_prevouts(backend: &dyn ChainBackend, catalog: &mut Catalog) {
    for op in catalog.missing_header_prevouts() {
        let value = backend
            .raw_tx(&op.txid)
            .ok()
            .and_then(|raw| chain::decode_tx(&raw).ok())
            .and_then(|tx| tx.output.get(op.vout as usize).map(|o| o.value.to_sat()));
        if let Some(v) = value {
            catalog.note_prevout(op, v);
        }
    }
}
