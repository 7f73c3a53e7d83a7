//! Bitcoin Core's validation engine (libbitcoinkernel): the only judge of consensus on the devnet.
//!
//! The kernel reports a rejected block through its block-checked callback, not reliably through
//! the return of `process_block`, so both are checked, and a block that should extend the tip must
//! actually become the tip.

use crate::DevnetError;
use bitcoin::hashes::Hash;
use bitcoin::BlockHash;
use bitcoinkernel::prelude::*;
use bitcoinkernel::{
    Block, BlockValidationStateRef, ChainType, ChainstateManager, Context, ContextBuilder,
    ValidationMode,
};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The kernel's chainstate and the context it runs in.
pub(crate) struct Kernel {
    chainman: ChainstateManager,
    _context: Context,
    last_invalid: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kernel")
    }
}

impl Kernel {
    pub(crate) fn open(datadir: &Path) -> Result<Kernel, DevnetError> {
        let last_invalid = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&last_invalid);
        let context = ContextBuilder::new()
            .chain_type(ChainType::Regtest)
            .with_block_checked_validation(
                move |_block: Block, state: BlockValidationStateRef<'_>| {
                    if state.mode() != ValidationMode::Valid {
                        if let Ok(mut slot) = sink.lock() {
                            *slot = Some(format!("{:?}", state.result()));
                        }
                    }
                },
            )
            .build()?;
        let chainstate = datadir.join("chainstate");
        let blocks = datadir.join("blocks");
        let (Some(c), Some(b)) = (chainstate.to_str(), blocks.to_str()) else {
            return Err(DevnetError::Kernel(
                "data directory path is not utf-8".into(),
            ));
        };
        let chainman = ChainstateManager::new(&context, c, b)?;
        Ok(Kernel {
            chainman,
            _context: context,
            last_invalid,
        })
    }

    /// Validate and store a block. `extends_tip`: the block's parent is the current tip, so the
    /// block must become the new tip.
    pub(crate) fn process(&self, raw: &[u8], extends_tip: bool) -> Result<(), DevnetError> {
        if let Ok(mut slot) = self.last_invalid.lock() {
            *slot = None;
        }
        let block = Block::new(raw)?;
        let hash: [u8; 32] = block.hash().to_bytes();
        let result = self.chainman.process_block(&block);
        let reported = self.last_invalid.lock().ok().and_then(|mut s| s.take());
        if let Some(reason) = reported {
            return Err(DevnetError::BlockRejected(reason));
        }
        if result.is_rejected() {
            return Err(DevnetError::BlockRejected(
                "rejected by process_block".into(),
            ));
        }
        if extends_tip && self.tip().1.to_byte_array() != hash {
            return Err(DevnetError::BlockRejected(
                "block did not become the tip".into(),
            ));
        }
        Ok(())
    }

    /// Height and hash of the active tip.
    pub(crate) fn tip(&self) -> (u32, BlockHash) {
        let tip = self.chainman.active_chain().tip();
        (
            tip.height().max(0) as u32,
            BlockHash::from_byte_array(tip.block_hash().to_bytes()),
        )
    }

    /// The raw block at `height` on the active chain.
    pub(crate) fn block_at(&self, height: u32) -> Result<Option<Vec<u8>>, DevnetError> {
        let chain = self.chainman.active_chain();
        let Some(entry) = chain.at_height(height as usize) else {
            return Ok(None);
        };
        let block = self.chainman.read_block_data(&entry)?;
        Ok(Some(block.consensus_encode()?))
    }
}
