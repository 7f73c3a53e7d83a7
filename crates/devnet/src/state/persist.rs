//! What survives a restart: `blocks.log`, the journal of every block handed to the kernel
//! (fsynced before the block is reported), and `mempool.log`, the mempool's transactions
//! (appended on acceptance, rewritten whole after each block). Both are `durable::frame` logs.

use super::{Devnet, State};
use crate::kernel::Kernel;
use crate::DevnetError;
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::Transaction;
use durable::frame;
use std::fs::{File, OpenOptions};
use std::path::Path;

pub(super) const BLOCKS_LOG: &str = "blocks.log";
const MEMPOOL_LOG: &str = "mempool.log";

fn framed(record: &[u8], what: &str) -> Result<Vec<u8>, DevnetError> {
    let mut out = Vec::new();
    push(&mut out, record, what)?;
    Ok(out)
}

fn push(out: &mut Vec<u8>, record: &[u8], what: &str) -> Result<(), DevnetError> {
    frame::push(out, record).map_err(|e| {
        DevnetError::io(
            what,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
        )
    })
}

/// Give the kernel every block of the journal again, in order; blocks it has are duplicates and
/// cost a lookup. A record cut short by a kill is the block that was never reported: dropped.
pub(super) fn replay_blocks(kernel: &Kernel, path: &Path) {
    let Ok(log) = std::fs::read(path) else { return };
    for raw in frame::records(&log).map_while(Result::ok) {
        if let Err(e) = kernel.process(raw, false) {
            tracing::warn!("replaying blocks.log: {e}");
        }
    }
}

/// The mempool log's contents (to replay) and the log opened for appending.
pub(super) fn open_mempool_log(datadir: &Path) -> Result<(Vec<u8>, File), DevnetError> {
    let log_path = datadir.join(MEMPOOL_LOG);
    let old_log = std::fs::read(&log_path).unwrap_or_default();
    // Appended to, never truncated here: a kill during the replay loses nothing. The replay
    // appends duplicates, which the compaction right after drops (atomic rename).
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| DevnetError::io("open mempool.log", e))?;
    Ok((old_log, log))
}

/// Record a transaction the mempool accepted.
pub(super) fn log_tx(s: &mut State, raw: &[u8]) -> Result<(), DevnetError> {
    let rec = framed(raw, "append mempool.log")?;
    durable::append(&mut s.log, &rec, false).map_err(|e| DevnetError::io("append mempool.log", e))
}

impl Devnet {
    /// Offer the logged transactions to the mempool again; a write cut short by a kill (the
    /// tail) is dropped, and so is what the mempool now refuses.
    pub(super) fn replay_mempool(&self, log: &[u8]) {
        for raw in frame::records(log).map_while(Result::ok) {
            if let Ok(tx) = deserialize::<Transaction>(raw) {
                let _ = self.submit_tx(tx);
            }
        }
    }

    /// Hand a block to the kernel and, once accepted, append it to `blocks.log` and fsync. The
    /// kernel flushes its block index only now and then, and a killed process loses what it had
    /// not flushed; replaying this journal on open restores every block that was ever reported.
    pub(super) fn accept_block(
        &self,
        block: &bitcoin::Block,
        extends_tip: bool,
    ) -> Result<(), DevnetError> {
        let raw = serialize(block);
        self.inner.kernel.process(&raw, extends_tip)?;
        let rec = framed(&raw, "append blocks.log")?;
        let io = |e| DevnetError::io("append blocks.log", e);
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.inner.datadir.join(BLOCKS_LOG))
            .map_err(io)?;
        durable::append(&mut f, &rec, true).map_err(io)
    }

    /// Rewrite the mempool log with what the mempool holds now (atomically and durably).
    pub(super) fn compact_log(&self, s: &mut State) -> Result<(), DevnetError> {
        let path = self.inner.datadir.join(MEMPOOL_LOG);
        let mut buf = Vec::new();
        for t in &s.mempool.order {
            if let Some(e) = s.mempool.entries.get(t) {
                push(&mut buf, &serialize(&*e.tx), "rewrite mempool.log")?;
            }
        }
        durable::write(&path, &buf)?;
        s.log = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| DevnetError::io("reopen mempool.log", e))?;
        Ok(())
    }
}
