//! The publish journal: the signed plan on disk before anything is broadcast, and what was sent.
//!
//! `DATADIR/publish/<content id>/plan.json` is written once (temp file, fsync, rename) and never
//! changed: resuming rebroadcasts exactly these transactions, so nothing is paid twice and no
//! input is spent by two different transactions. Progress is derived from the chain itself (which
//! transactions it knows), so a kill at any moment loses nothing.
//!
//! The first transaction is the wallet's funding transaction. When it was exported as a PSBT the
//! journal is marked `awaiting_signature` and holds it unsigned (the txid is the same signed); the
//! signed one is written beside the journal as `funding.signed.hex` (only if its txid is the
//! planned one), and `plan.json` itself still never changes.

use crate::plan::{Plan, Role};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Transaction, Txid};
use serde::{Deserialize, Serialize};
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
    /// The signed transaction, hex (unsigned for a funding transaction awaiting its signature).
    pub hex: String,
}

fn write_durably(dir: &Path, name: &str, body: &[u8]) -> Result<PathBuf, JournalError> {
    let path = dir.join(name);
    durable::write(&path, body)?;
    Ok(path)
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
    /// The funding transaction (the first entry) was exported as a PSBT and is not signed yet:
    /// nothing may be broadcast until `funding.signed.hex` (same txid, signed) is imported.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_signature: bool,
    /// The publish this one replaces at a higher fee rate (`--bump-to`): its funding transaction
    /// spends every input of the replaced one's, so at most one of the two can ever confirm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Txid>,
}

/// Beside a replaced publish's `plan.json`: the content id of its replacement.
pub const REPLACED_BY: &str = "replaced-by";

/// The signed funding transaction of a PSBT publish, beside `plan.json`.
pub const SIGNED_FUNDING: &str = "funding.signed.hex";

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
    /// Writing the journal durably failed (the file on disk is unchanged).
    #[error("journal: {0}")]
    Write(#[from] durable::WriteError),
    /// A signed funding transaction that is not the planned one.
    #[error("the signed transaction {got} is not this plan's funding transaction {expected}")]
    WrongFunding {
        /// The planned txid.
        expected: Txid,
        /// What was given.
        got: Txid,
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
            awaiting_signature: false,
            replaces: None,
        }
    }

    /// Put the funding transaction first. `signed: false` records it unsigned (exported as a PSBT):
    /// the plan already commits to its txid, which a signature does not change.
    pub fn with_funding(mut self, tx: &Transaction, fee: bitcoin::Amount, signed: bool) -> Journal {
        self.txs.insert(
            0,
            JournalTx {
                role: Role::Funding,
                txid: tx.compute_txid(),
                fee_sat: fee.to_sat(),
                vsize: tx.vsize() as u64,
                hex: hex::encode(serialize(tx)),
            },
        );
        self.awaiting_signature = !signed;
        self
    }

    /// Record the signed funding transaction of a journal awaiting it. Refuses a transaction that
    /// is not the planned one (another txid would orphan every planned transaction).
    pub fn import_signed_funding(
        journal_path: &Path,
        tx: &Transaction,
    ) -> Result<Journal, JournalError> {
        let j = Journal::load(journal_path)?;
        let damaged = |reason: String| JournalError::Damaged {
            path: journal_path.into(),
            reason,
        };
        let Some(first) = j.txs.first().filter(|t| t.role == Role::Funding) else {
            return Err(damaged(
                "this publish has no funding transaction to sign".into(),
            ));
        };
        if first.txid != tx.compute_txid() {
            return Err(JournalError::WrongFunding {
                expected: first.txid,
                got: tx.compute_txid(),
            });
        }
        if j.awaiting_signature {
            let dir = journal_path.parent().unwrap_or(Path::new("."));
            write_durably(dir, SIGNED_FUNDING, hex::encode(serialize(tx)).as_bytes())?;
        }
        Journal::load(journal_path)
    }

    /// Where a content's journal lives.
    pub fn dir(datadir: &Path, content_id: &Txid) -> PathBuf {
        datadir.join("publish").join(content_id.to_string())
    }

    /// Write durably: temp file, fsync, rename, fsync the directory.
    pub fn save(&self, datadir: &Path) -> Result<PathBuf, JournalError> {
        let dir = Self::dir(datadir, &self.content_id);
        let body = serde_json::to_vec_pretty(self).map_err(|e| JournalError::Damaged {
            path: dir.join("plan.json"),
            reason: e.to_string(),
        })?;
        write_durably(&dir, "plan.json", &body)
    }

    /// Load a journal.
    pub fn load(path: &Path) -> Result<Journal, JournalError> {
        let body = std::fs::read(path).map_err(|source| JournalError::Io {
            path: path.into(),
            source,
        })?;
        let mut j: Journal = serde_json::from_slice(&body).map_err(|e| JournalError::Damaged {
            path: path.into(),
            reason: e.to_string(),
        })?;
        if j.awaiting_signature {
            let signed = path.parent().unwrap_or(Path::new(".")).join(SIGNED_FUNDING);
            if let Ok(text) = std::fs::read_to_string(&signed) {
                let damaged = |reason: String| JournalError::Damaged {
                    path: signed.clone(),
                    reason,
                };
                let raw = hex::decode(text.trim()).map_err(|e| damaged(e.to_string()))?;
                let tx: Transaction = deserialize(&raw).map_err(|e| damaged(e.to_string()))?;
                match j.txs.first_mut() {
                    Some(first)
                        if first.role == Role::Funding && first.txid == tx.compute_txid() =>
                    {
                        first.hex = text.trim().to_string();
                        first.vsize = tx.vsize() as u64;
                        j.awaiting_signature = false;
                    }
                    _ => return Err(damaged("not this plan's funding transaction".into())),
                }
            }
        }
        Ok(j)
    }

    /// Every journal under `datadir` that is still in force: a replaced publish (marked
    /// `replaced-by`, or named by another journal's `replaces` when a kill came between writing
    /// the replacement and marking the replaced) is left out. Replacements come first.
    pub fn all(datadir: &Path) -> Vec<PathBuf> {
        let Ok(rd) = std::fs::read_dir(datadir.join("publish")) else {
            return Vec::new();
        };
        let paths: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|d| !d.join(REPLACED_BY).exists())
            .map(|d| d.join("plan.json"))
            .filter(|p| p.exists())
            .collect();
        let loaded: Vec<(PathBuf, Option<Journal>)> = paths
            .into_iter()
            .map(|p| {
                let j = Journal::load(&p).ok();
                (p, j)
            })
            .collect();
        let replaced: std::collections::HashSet<Txid> = loaded
            .iter()
            .filter_map(|(_, j)| j.as_ref().and_then(|j| j.replaces))
            .collect();
        let mut out: Vec<(bool, PathBuf)> = loaded
            .into_iter()
            .filter(|(_, j)| j.as_ref().is_none_or(|j| !replaced.contains(&j.content_id)))
            .map(|(p, j)| (j.is_some_and(|j| j.replaces.is_none()), p))
            .collect();
        out.sort();
        out.into_iter().map(|(_, p)| p).collect()
    }

    /// Mark the journal at `path` replaced by `by` (durably).
    pub fn mark_replaced(path: &Path, by: &Txid) -> Result<(), JournalError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        write_durably(dir, REPLACED_BY, by.to_string().as_bytes()).map(|_| ())
    }

    /// The stream and its description, read back from the journal's own transactions with the
    /// CVP reader (what a replacement at another fee rate re-publishes).
    pub fn stream(&self) -> Result<(Vec<u8>, cvp::ContentInfo), String> {
        let mut lineage = cvp::Lineage::default();
        let mut header = None;
        let mut segments = Vec::new();
        let mut hashes = Vec::new();
        let mut records = Vec::new();
        for tx in self.transactions()? {
            for a in lineage.observe(cvp::TxRecords::from_tx(&tx)) {
                if a.content != self.content_id {
                    continue;
                }
                for f in a.tx.found {
                    match f.record {
                        Ok(cvp::Record::Header(h)) => header = Some(h),
                        Ok(cvp::Record::Segment(s)) => segments.push(s),
                        Ok(cvp::Record::SegmentHashes(h)) => hashes.push(h),
                        Ok(r @ (cvp::Record::Clips(_) | cvp::Record::Branch(_))) => records.push(r),
                        _ => {}
                    }
                }
            }
        }
        let header = header.ok_or("the journal holds no header record")?;
        let info = cvp::ContentInfo {
            title: header.title.clone(),
            media_type: header.media_type.clone(),
            duration_ms: header.duration_ms,
            poster: header.poster.clone(),
            records,
        };
        let mut asm = cvp::Assembler::new(header);
        for h in &hashes {
            asm.add_hashes(h);
        }
        for s in segments {
            asm.add(s);
        }
        let stream = asm.finish().map_err(|e| e.to_string())?;
        Ok((stream, info))
    }

    /// A commitment publish's record and the other records of its lineage (as
    /// [`cvp::ContentInfo::records`]); `None` for a publish whose stream is on chain.
    pub fn commitment(&self) -> Result<Option<(cvp::Commitment, cvp::ContentInfo)>, String> {
        if !self.txs.iter().any(|t| t.role == Role::Commitment) {
            return Ok(None);
        }
        let mut lineage = cvp::Lineage::default();
        let mut commitment = None;
        let mut records = Vec::new();
        for tx in self.transactions()? {
            for a in lineage.observe(cvp::TxRecords::from_tx(&tx)) {
                if a.content != self.content_id {
                    continue;
                }
                for f in a.tx.found {
                    match f.record {
                        Ok(cvp::Record::Commitment(c)) => commitment = Some(c),
                        Ok(r @ cvp::Record::Info(_)) => records.push(r),
                        _ => {}
                    }
                }
            }
        }
        let c = commitment.ok_or("the journal's commitment transaction holds no commitment")?;
        let info = cvp::ContentInfo {
            title: None,
            media_type: cvp::commitment::media_type_of(c.media_code).into(),
            duration_ms: None,
            poster: None,
            records,
        };
        Ok(Some((c, info)))
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
