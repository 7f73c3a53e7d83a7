//! Broadcasting a journal: send what the chain does not know yet, in order, waiting for a block
//! when the unconfirmed chain reaches the ancestor limit. Safe to run again at any time.

use crate::journal::Journal;
use chain::{ChainBackend, ChainError, TxStatus};
use serde::Serialize;

/// Progress after a broadcast pass.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Progress {
    /// Transactions in the plan.
    pub total: usize,
    /// Known to the chain (mempool or confirmed) before this pass.
    pub already_sent: usize,
    /// Sent in this pass.
    pub sent: usize,
    /// Confirmed at the end.
    pub confirmed: usize,
    /// Fees of the transactions the chain knows, in sat.
    pub sats_spent: u64,
}

/// Send everything the backend does not know. `wait_for_block` is called when the mempool refuses
/// a longer unconfirmed chain (on the devnet: mine; elsewhere: wait for the next block).
/// `progress` is called after each transaction.
pub fn broadcast(
    journal: &Journal,
    backend: &dyn ChainBackend,
    mut wait_for_block: impl FnMut() -> Result<(), ChainError>,
    mut progress: impl FnMut(&Progress),
) -> Result<Progress, ChainError> {
    let txs = journal.transactions().map_err(ChainError::Decode)?;
    let mut p = Progress {
        total: txs.len(),
        ..Default::default()
    };
    for (tx, entry) in txs.iter().zip(&journal.txs) {
        match backend.tx_status(&entry.txid)? {
            TxStatus::Unknown => {
                let mut tries = 0;
                loop {
                    match backend.broadcast(tx) {
                        Ok(_) => break,
                        Err(ChainError::Rejected { reason })
                            if chain_limit(&reason) && tries < 3 =>
                        {
                            tries += 1;
                            wait_for_block()?;
                        }
                        Err(ChainError::Rejected { reason }) if reason.contains("already") => break,
                        Err(e) => return Err(e),
                    }
                }
                p.sent += 1;
            }
            _ => p.already_sent += 1,
        }
        p.sats_spent += entry.fee_sat;
        progress(&p);
    }
    for entry in &journal.txs {
        if matches!(backend.tx_status(&entry.txid)?, TxStatus::Confirmed(_)) {
            p.confirmed += 1;
        }
    }
    Ok(p)
}

/// Whether a refusal is the mempool's limit on unconfirmed chains, which a block lifts: the
/// ancestor/descendant limits (`too-long-mempool-chain`) or, since Core 31's cluster mempool, the
/// cluster limit (`too-large-cluster`).
fn chain_limit(reason: &str) -> bool {
    reason.contains("too-long-mempool-chain") || reason.contains("too-large-cluster")
}
