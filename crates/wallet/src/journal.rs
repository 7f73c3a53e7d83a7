//! The publish journal: the signed plan on disk before anything is broadcast, and what was sent.
//!
//! `DATADIR/publish/<content id>/plan.json` is written once (temp file, fsync, rename) and never
//! changed: resuming rebroadcasts exactly these transactions, so nothing is paid twice and no
//! input is spent by two different transactions. Progress is derived from the chain itself (which
//! transactions it knows), so a kill at any moment loses nothing.

use crate::plan::{Plan, Role};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Transaction, Txid};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One journal entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalTx {
    /// Its role.
    #[serde(flatten)]
    pub role: Role,
    /// The txid.
    pub txid: Txid,
    /// Fee in sat.
    pub fee_sat: u64,
    /// Virtual size.
    pub vsize: u64,
    /// The signed transaction, hex.
    pub hex: String,
}

/// The journal of one publish.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    /// Content id.
    pub content_id: Txid,
    /// Title.
    pub title: String,
    /// Carrier name.
    pub carrier: String,
    /// Transactions in broadcast order.
    pub txs: Vec<JournalTx>,
}

/// Journal I/O failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Reading or writing the journal failed.
    #[error("journal {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The journal does not parse (it is never written partially, so this means tampering).
    #[error("journal {path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Journal {
    /// The journal of a plan.
    pub fn from_plan(plan: &Plan, title: &str, carrier: &str) -> Journal {
        let txs = plan
            .txs
            .iter()
            .map(|t| JournalTx {
                role: t.role,
                txid: t.tx.compute_txid(),
                fee_sat: t.fee.to_sat(),
                vsize: t.vsize,
                hex: hex::encode(serialize(&t.tx)),
            })
            .collect();
        Journal {
            content_id: plan.content_id,
            title: title.into(),
            carrier: carrier.into(),
            txs,
        }
    }

    /// Where a content's journal lives.
    pub fn dir(datadir: &Path, content_id: &Txid) -> PathBuf {
        datadir.join("publish").join(content_id.to_string())
    }

    /// Write durably: temp file, fsync, rename, fsync the directory.
    pub fn save(&self, datadir: &Path) -> Result<PathBuf, JournalError> {
        let dir = Self::dir(datadir, &self.content_id);
        let path = dir.join("plan.json");
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let tmp = dir.join("plan.json.tmp");
        let body = serde_json::to_vec_pretty(self).map_err(|e| JournalError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&body).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        Ok(path)
    }

    /// Load a journal.
    pub fn load(path: &Path) -> Result<Journal, JournalError> {
        let body = std::fs::read(path).map_err(|source| JournalError::Io {
            path: path.into(),
            source,
        })?;
        serde_json::from_slice(&body).map_err(|e| JournalError::Damaged {
            path: path.into(),
            reason: e.to_string(),
        })
    }

    /// Every unfinished journal under `datadir`.
    pub fn all(datadir: &Path) -> Vec<PathBuf> {
        let Ok(rd) = std::fs::read_dir(datadir.join("publish")) else {
            return Vec::new();
        };
        rd.filter_map(|e| e.ok())
            .map(|e| e.path().join("plan.json"))
            .filter(|p| p.exists())
            .collect()
    }

    /// The transactions, decoded.
    pub fn transactions(&self) -> Result<Vec<Transaction>, String> {
        self.txs
            .iter()
            .map(|t| {
                let raw = hex::decode(&t.hex).map_err(|e| format!("{}: {e}", t.txid))?;
                deserialize(&raw).map_err(|e| format!("{}: {e}", t.txid))
            })
            .collect()
    }
}
