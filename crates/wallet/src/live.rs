//! A live stream's journal and the state rebuilt from it (docs/cvp.md, "Live streams").
//!
//! `DATADIR/live/<content id>/meta.json` (written once, through `durable`) says how the stream is
//! made; `txs.log` holds every signed transaction, one `durable::frame` per step (funding, header
//! and first fan-out; each chunk's transactions; each refill; the end), appended and fsynced
//! before any of them is broadcast. A step cut short by a kill is not in the log and was never
//! broadcast. Resuming replays the log: what the chain does not know is sent again, the coins
//! spent and the next index come from the transactions themselves, so nothing is paid twice and no
//! index is skipped.

use crate::plan::live::{Coin, LiveRole, LiveTx};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{OutPoint, Transaction, Txid};
use chain::{ChainBackend, ChainError, TxStatus};
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Live journal failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// A file could not be read or appended.
    #[error("live journal {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The metadata could not be written.
    #[error("live journal: {0}")]
    Write(#[from] durable::WriteError),
    /// The journal does not parse.
    #[error("live journal {path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Broadcasting failed.
    #[error("{0}")]
    Chain(#[from] ChainError),
}

/// How the stream is made (what `--resume` needs to go on the same way).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LiveMeta {
    /// Content id.
    pub content_id: Txid,
    /// Title.
    pub title: String,
    /// Carrier name.
    pub carrier: String,
    /// Fee rate, sat/kvB.
    pub feerate_sat_per_kvb: u64,
    /// Value of each fan-out coin, sat.
    pub coin_sat: u64,
    /// Coins per fan-out.
    pub fanout_width: usize,
    /// The source and encoder settings, as given (for the encoder on resume).
    pub settings: serde_json::Value,
}

/// One logged transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveEntry {
    /// Its role.
    #[serde(flatten)]
    pub role: LiveRole,
    /// Txid.
    pub txid: Txid,
    /// Fee, sat.
    pub fee_sat: u64,
    /// Virtual size.
    pub vsize: u64,
    /// The signed transaction, hex.
    pub hex: String,
}

impl From<&LiveTx> for LiveEntry {
    fn from(t: &LiveTx) -> Self {
        LiveEntry {
            role: t.role,
            txid: t.tx.compute_txid(),
            fee_sat: t.fee.to_sat(),
            vsize: t.vsize,
            hex: hex::encode(serialize(&t.tx)),
        }
    }
}

/// The open journal of one stream.
#[derive(Debug)]
pub struct LiveJournal {
    dir: PathBuf,
    log: File,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LiveError + '_ {
    move |source| LiveError::Io {
        path: path.into(),
        source,
    }
}

impl LiveJournal {
    /// Where the streams' journals live.
    pub fn root(datadir: &Path) -> PathBuf {
        datadir.join("live")
    }

    /// Create the journal of a new stream, with its first step (funding, header, first fan-out),
    /// durably, before anything is broadcast.
    pub fn create(datadir: &Path, meta: &LiveMeta, first: &[LiveTx]) -> Result<Self, LiveError> {
        let dir = Self::root(datadir).join(meta.content_id.to_string());
        let body = serde_json::to_vec_pretty(meta).map_err(|e| LiveError::Damaged {
            path: dir.join("meta.json"),
            reason: e.to_string(),
        })?;
        // The log first: a stream whose meta.json exists always has its first step logged.
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut j = Self::open_log(dir)?;
        j.append(first)?;
        durable::write(&j.dir.join("meta.json"), &body)?;
        Ok(j)
    }

    fn open_log(dir: PathBuf) -> Result<Self, LiveError> {
        let path = dir.join("txs.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        Ok(LiveJournal { dir, log })
    }

    /// Append one step, fsynced, before it is broadcast.
    pub fn append(&mut self, txs: &[LiveTx]) -> Result<(), LiveError> {
        let entries: Vec<LiveEntry> = txs.iter().map(LiveEntry::from).collect();
        let path = self.dir.join("txs.log");
        let body = serde_json::to_vec(&entries).map_err(|e| LiveError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let framed = durable::frame::encode(&body).map_err(|e| LiveError::Damaged {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        durable::append(&mut self.log, &framed, true).map_err(io(&path))
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Open an existing stream: its metadata and every logged step (a step cut short by a kill
    /// is dropped: it was never broadcast).
    pub fn open(dir: &Path) -> Result<(Self, LiveMeta, Vec<Vec<LiveEntry>>), LiveError> {
        let mp = dir.join("meta.json");
        let meta: LiveMeta = serde_json::from_slice(&std::fs::read(&mp).map_err(io(&mp))?)
            .map_err(|e| LiveError::Damaged {
                path: mp.clone(),
                reason: e.to_string(),
            })?;
        let lp = dir.join("txs.log");
        let raw = std::fs::read(&lp).map_err(io(&lp))?;
        let mut steps = Vec::new();
        let mut good = 0usize;
        for rec in durable::frame::records(&raw).map_while(Result::ok) {
            let step: Vec<LiveEntry> =
                serde_json::from_slice(rec).map_err(|e| LiveError::Damaged {
                    path: lp.clone(),
                    reason: e.to_string(),
                })?;
            good += 4 + rec.len();
            steps.push(step);
        }
        if good < raw.len() {
            // Cut the torn tail so later appends follow the last whole step.
            let f = OpenOptions::new().write(true).open(&lp).map_err(io(&lp))?;
            f.set_len(good as u64).map_err(io(&lp))?;
            f.sync_all().map_err(io(&lp))?;
        }
        Ok((Self::open_log(dir.into())?, meta, steps))
    }

    /// Streams in `datadir` that have no `end` yet.
    pub fn unfinished(datadir: &Path) -> Vec<PathBuf> {
        let Ok(rd) = std::fs::read_dir(Self::root(datadir)) else {
            return Vec::new();
        };
        let mut out: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|d| d.join("meta.json").exists())
            .filter(|d| {
                Self::open(d).is_ok_and(|(_, _, steps)| {
                    !steps.iter().flatten().any(|e| e.role == LiveRole::End)
                })
            })
            .collect();
        out.sort();
        out
    }
}

/// Decode a logged transaction.
pub fn decode(e: &LiveEntry) -> Result<Transaction, LiveError> {
    let damaged = |reason: String| LiveError::Damaged {
        path: PathBuf::from("txs.log"),
        reason: format!("{}: {reason}", e.txid),
    };
    let raw = hex::decode(&e.hex).map_err(|x| damaged(x.to_string()))?;
    deserialize(&raw).map_err(|x| damaged(x.to_string()))
}

/// Send the transactions of one step that the chain does not know, in order. Returns how many were
/// sent now.
pub fn send(backend: &dyn ChainBackend, txs: &[Transaction]) -> Result<usize, ChainError> {
    let mut sent = 0;
    for tx in txs {
        if backend.tx_status(&tx.compute_txid())? != TxStatus::Unknown {
            continue;
        }
        match backend.broadcast(tx) {
            Ok(_) => sent += 1,
            Err(ChainError::Rejected { reason }) if reason.contains("already") => {}
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// What the stream has done so far, rebuilt from its transactions.
#[derive(Debug, Clone)]
pub struct LiveState {
    /// Content id.
    pub content_id: Txid,
    /// The coin the next fan-out spends (first input: the lineage goes on through it).
    pub lineage: Option<Coin>,
    /// Unspent chunk coins, oldest fan-out first, with the fan-out that made them.
    pub coins: VecDeque<(Coin, Txid)>,
    /// The next `live chunk` index.
    pub next_index: u32,
    /// Payloads of the chunks so far, in index order.
    pub payloads: Vec<Vec<u8>>,
    /// Timestamp of the last chunk, ms.
    pub last_timestamp_ms: u64,
    /// Fees so far, sat.
    pub fee_sat: u64,
    /// Virtual bytes so far.
    pub vbytes: u64,
    /// Fan-outs made.
    pub fanouts: u32,
    /// Fan-outs in order, with their txids.
    pub fanout_txids: Vec<Txid>,
    /// The `end` is logged.
    pub ended: bool,
    /// A wallet top-up's coin to the stream's key (a funding transaction after the header),
    /// until the next fan-out spends it beside the lineage coin.
    pub topup: Option<Coin>,
    spent: HashSet<OutPoint>,
}

impl LiveState {
    /// A stream with nothing yet.
    pub fn new(content_id: Txid) -> Self {
        LiveState {
            content_id,
            lineage: None,
            coins: VecDeque::new(),
            next_index: 0,
            payloads: Vec::new(),
            last_timestamp_ms: 0,
            fee_sat: 0,
            vbytes: 0,
            fanouts: 0,
            fanout_txids: Vec::new(),
            ended: false,
            topup: None,
            spent: HashSet::new(),
        }
    }

    /// Take one logged (or just signed) transaction into account.
    pub fn apply(&mut self, role: LiveRole, tx: &Transaction, fee_sat: u64, vsize: u64) {
        self.fee_sat += fee_sat;
        self.vbytes += vsize;
        let txid = tx.compute_txid();
        let last = tx.output.len().saturating_sub(1);
        match role {
            LiveRole::Header => {
                self.lineage = Some((OutPoint::new(txid, last as u32), tx.output[last].clone()));
            }
            LiveRole::Fanout(_) => {
                self.fanouts += 1;
                self.fanout_txids.push(txid);
                for (v, o) in tx.output.iter().enumerate().take(last).skip(1) {
                    self.coins
                        .push_back(((OutPoint::new(txid, v as u32), o.clone()), txid));
                }
                self.lineage = Some((OutPoint::new(txid, last as u32), tx.output[last].clone()));
            }
            LiveRole::Commit(_) | LiveRole::End => {}
            LiveRole::Chunk(_) => {
                for f in cvp::carrier::records_in_tx(tx) {
                    if let Ok(cvp::Record::LiveChunk(c)) = f.record {
                        if c.index == self.next_index {
                            self.next_index += 1;
                            self.last_timestamp_ms = c.timestamp_ms;
                            self.payloads.push(c.payload);
                        }
                    }
                }
            }
            LiveRole::Funding => {
                // A top-up (the header is out): its output to the stream's key waits for the
                // next fan-out. The first funding comes before the header and is its input.
                if let Some(l) = &self.lineage {
                    let key = &l.1.script_pubkey;
                    if let Some((v, o)) = tx
                        .output
                        .iter()
                        .enumerate()
                        .find(|(_, o)| o.script_pubkey == *key)
                    {
                        self.topup = Some((OutPoint::new(txid, v as u32), o.clone()));
                    }
                }
            }
        }
        if role == LiveRole::End {
            self.ended = true;
        }
        if !matches!(role, LiveRole::Funding | LiveRole::Header) {
            for i in &tx.input {
                self.spent.insert(i.previous_output);
            }
            let spent = &self.spent;
            self.coins.retain(|(c, _)| !spent.contains(&c.0));
            if self.topup.as_ref().is_some_and(|c| spent.contains(&c.0)) {
                self.topup = None;
            }
        }
    }

    /// The stream's own unspent coins: the lineage change, the chunk coins and any top-up (a
    /// funding transaction from the wallet must not spend them).
    pub fn held(&self) -> Vec<OutPoint> {
        self.lineage
            .iter()
            .chain(self.coins.iter().map(|(c, _)| c))
            .chain(self.topup.iter())
            .map(|c| c.0)
            .collect()
    }

    /// Take the next coin, oldest first, that `usable` allows (by its fan-out's txid).
    pub fn take_coin(&mut self, usable: impl Fn(&Txid) -> bool) -> Option<Coin> {
        let at = self.coins.iter().position(|(_, f)| usable(f))?;
        self.coins.remove(at).map(|(c, _)| c)
    }

    /// Payload bytes so far.
    pub fn payload_bytes(&self) -> u64 {
        self.payloads.iter().map(|p| p.len() as u64).sum()
    }

    /// The Merkle root over the chunks so far.
    pub fn root(&self) -> [u8; 32] {
        cvp::merkle::root(&self.payloads)
    }
}
