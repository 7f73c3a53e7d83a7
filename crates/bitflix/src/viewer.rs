//! The viewer's side of `bitflix serve` ([`server::Viewer`]), for interactive films:
//!
//! - `viewer.key` (0600): the viewer key's secret, hex; BIP340 (x-only), created on first use;
//!   `bitflix wallet backup` prints it beside the mnemonic.
//! - `viewer/<content id>.json`: the viewer's choices of that film, signed, in the order made,
//!   with the recording transaction once sent; written durably before a choice is answered.
//! - Recording: one transaction with an OP_RETURN output per signed choice not yet recorded (one
//!   per branch: the chain counts a key's first), paid by the data directory's wallet at the
//!   backend's fee rate, refused above the cap the page sends (the quote it showed, doubled).
//!   The signed transaction is written to `viewer/<content id>.sending` before it is broadcast,
//!   and that file is removed once the path names it: a gateway killed in between sends the same
//!   transaction again at the next recording, never a second one.

use crate::keys;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{rand, Keypair, Secp256k1, SecretKey};
use bitcoin::{Network, Txid};
use chain::ChainBackend;
use server::{LocalChoice, Quote, Recorded, ViewerError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use wallet::hd::HdWallet;

/// The viewer key's file in the data directory.
pub const VIEWER_KEY: &str = "viewer.key";

/// The viewer's key, paths and wallet for `bitflix serve`.
pub struct ViewerSide {
    datadir: PathBuf,
    network: Network,
    backend: Arc<dyn ChainBackend>,
    /// Opened on the first quote or recording; one call at a time uses it.
    wallet: Mutex<Option<HdWallet>>,
    /// One path file change at a time.
    paths: Mutex<()>,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> ViewerError {
    ViewerError::Unavailable(format!("{what}: {e}"))
}

/// The viewer key in `datadir`, created (0600) on first use.
pub fn viewer_key(datadir: &Path) -> anyhow::Result<Keypair> {
    let path = datadir.join(VIEWER_KEY);
    let secp = Secp256k1::new();
    if !path.exists() {
        std::fs::create_dir_all(datadir)?;
        let sk = SecretKey::new(&mut rand::thread_rng());
        durable::write_secret(&path, hex::encode(sk.secret_bytes()).as_bytes())?;
    }
    let text = std::fs::read_to_string(&path)?;
    let bytes = hex::decode(text.trim())
        .map_err(|_| anyhow::anyhow!("{} does not hold a hex key", path.display()))?;
    let sk = SecretKey::from_slice(&bytes)
        .map_err(|_| anyhow::anyhow!("{} does not hold a valid key", path.display()))?;
    Ok(Keypair::from_secret_key(&secp, &sk))
}

/// Write the viewer key `hex` (from `wallet backup`) into `datadir`, refusing to replace another.
pub fn restore_key(datadir: &Path, hex_key: &str) -> anyhow::Result<()> {
    let bytes = hex::decode(hex_key).map_err(|_| {
        anyhow::anyhow!("the viewer key is 64 hex digits, as `wallet backup` prints it")
    })?;
    let sk = SecretKey::from_slice(&bytes)
        .map_err(|_| anyhow::anyhow!("that is not a valid viewer key"))?;
    let path = datadir.join(VIEWER_KEY);
    if path.exists() {
        let have = viewer_key(datadir)?;
        anyhow::ensure!(
            have.secret_bytes() == sk.secret_bytes(),
            "{} holds another viewer key: move it away first",
            path.display()
        );
        return Ok(());
    }
    std::fs::create_dir_all(datadir)?;
    durable::write_secret(&path, hex::encode(sk.secret_bytes()).as_bytes())?;
    Ok(())
}

impl ViewerSide {
    /// The viewer of `datadir` on `network`, recording through `backend`.
    pub fn new(datadir: PathBuf, network: Network, backend: Arc<dyn ChainBackend>) -> ViewerSide {
        ViewerSide {
            datadir,
            network,
            backend,
            wallet: Mutex::new(None),
            paths: Mutex::new(()),
        }
    }

    fn keypair(&self) -> Result<Keypair, ViewerError> {
        viewer_key(&self.datadir).map_err(|e| unavailable("the viewer key", e))
    }

    fn path_file(&self, content: Txid) -> PathBuf {
        self.datadir.join("viewer").join(format!("{content}.json"))
    }

    fn read_path(&self, content: Txid) -> Result<Vec<LocalChoice>, ViewerError> {
        let f = self.path_file(content);
        match std::fs::read(&f) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| unavailable(&format!("{} is damaged", f.display()), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(unavailable(&format!("reading {}", f.display()), e)),
        }
    }

    fn write_path(&self, content: Txid, path: &[LocalChoice]) -> Result<(), ViewerError> {
        let f = self.path_file(content);
        if let Some(dir) = f.parent() {
            std::fs::create_dir_all(dir).map_err(|e| unavailable("the viewer directory", e))?;
        }
        let body = serde_json::to_vec_pretty(path).map_err(|e| unavailable("the path", e))?;
        durable::write(&f, &body).map_err(|e| unavailable(&format!("saving {}", f.display()), e))
    }

    /// The choices a recording would send: not recorded, one per branch, at branches with no
    /// recorded choice.
    fn unrecorded(path: &[LocalChoice]) -> Vec<&LocalChoice> {
        let done: Vec<u32> = path
            .iter()
            .filter(|c| c.txid.is_some())
            .map(|c| c.branch_id)
            .collect();
        path.iter()
            .filter(|c| c.txid.is_none() && !done.contains(&c.branch_id))
            .collect()
    }

    /// The signed recording transaction of `choices`, its fee and size (not sent).
    fn build(
        &self,
        choices: &[&LocalChoice],
    ) -> Result<(bitcoin::Transaction, u64, f64), ViewerError> {
        let mut scripts = Vec::new();
        for c in choices {
            let unit = hex::decode(&c.record_hex).map_err(|e| unavailable("a kept choice", e))?;
            scripts.push(cvp::carrier::op_return_script(&unit));
        }
        let rate = self
            .backend
            .fee_estimate(1)
            .map_err(|e| unavailable("the backend's fee estimate", e))?;
        let mut guard = self.wallet.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            let w = keys::open_wallet(&self.datadir, self.network)
                .map_err(|e| unavailable("the viewer's wallet", format!("{e:#}")))?;
            *guard = Some(w);
        }
        let Some(w) = guard.as_mut() else {
            return Err(ViewerError::Unavailable("the viewer's wallet".into()));
        };
        w.sync(self.backend.as_ref())
            .map_err(|e| unavailable("syncing the viewer's wallet", e))?;
        let mut psbt = w.data_psbt(&scripts, rate).map_err(|e| {
            let text = e.to_string();
            if text.to_lowercase().contains("insufficient") {
                ViewerError::Refused(format!(
                    "the wallet cannot pay for recording ({text}): fund it (bitflix wallet address)"
                ))
            } else {
                unavailable("building the recording", text)
            }
        })?;
        let fee = psbt
            .fee()
            .map_err(|e| unavailable("the recording's fee", e))?
            .to_sat();
        let tx = w
            .sign(&mut psbt)
            .map_err(|e| unavailable("signing the recording", e))?;
        Ok((tx, fee, rate.to_sat_per_kwu() as f64 * 4.0 / 1000.0))
    }

    fn balance(&self) -> u64 {
        let guard = self.wallet.lock().unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map_or(0, |w| w.balance().confirmed.to_sat())
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl server::Viewer for ViewerSide {
    fn key(&self) -> Result<String, ViewerError> {
        Ok(hex::encode(
            self.keypair()?.x_only_public_key().0.serialize(),
        ))
    }

    fn choose(
        &self,
        content: Txid,
        branch_id: u32,
        option: u32,
    ) -> Result<LocalChoice, ViewerError> {
        let mut choice = cvp::Choice {
            content_id: content.to_byte_array(),
            branch_id,
            option,
            signature: None,
        };
        choice.sign(&self.keypair()?);
        let local = LocalChoice {
            branch_id,
            option,
            record_hex: hex::encode(cvp::Record::Choice(choice).encode()),
            at_unix_ms: unix_ms(),
            txid: None,
        };
        let _one = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
        let mut path = self.read_path(content)?;
        path.retain(|c| c.txid.is_some() || c.branch_id != branch_id);
        path.push(local.clone());
        self.write_path(content, &path)?;
        Ok(local)
    }

    fn forget(&self, content: Txid, branch_id: u32) -> Result<(), ViewerError> {
        let _one = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
        let mut path = self.read_path(content)?;
        let before = path.len();
        path.retain(|c| c.txid.is_some() || c.branch_id != branch_id);
        if path.len() != before {
            self.write_path(content, &path)?;
        }
        Ok(())
    }

    fn path(&self, content: Txid) -> Result<Vec<LocalChoice>, ViewerError> {
        self.read_path(content)
    }

    fn quote(&self, content: Txid) -> Result<Quote, ViewerError> {
        let path = self.read_path(content)?;
        let todo = Self::unrecorded(&path);
        if todo.is_empty() {
            return Ok(Quote {
                choices: 0,
                vbytes: 0,
                fee_sat: 0,
                feerate_sat_vb: 0.0,
                balance_sat: self.balance(),
            });
        }
        let (tx, fee_sat, feerate_sat_vb) = self.build(&todo)?;
        Ok(Quote {
            choices: todo.len(),
            vbytes: tx.vsize() as u64,
            fee_sat,
            feerate_sat_vb,
            balance_sat: self.balance(),
        })
    }

    fn record(&self, content: Txid, max_fee_sat: u64) -> Result<Recorded, ViewerError> {
        let _one = self.paths.lock().unwrap_or_else(PoisonError::into_inner);
        let mut path = self.read_path(content)?;
        let sending = self.path_file(content).with_extension("sending");
        // A recording signed and perhaps sent by a gateway that died before noting it.
        let (tx, fee_sat) = match std::fs::read_to_string(&sending) {
            Ok(text) => {
                let tx = hex::decode(text.trim())
                    .ok()
                    .and_then(|b| bitcoin::consensus::deserialize(&b).ok())
                    .ok_or_else(|| {
                        unavailable(&format!("{} is damaged", sending.display()), "not a tx")
                    })?;
                (tx, 0)
            }
            Err(_) => {
                let todo = Self::unrecorded(&path);
                if todo.is_empty() {
                    return Err(ViewerError::Refused(
                        "nothing to record: every choice of this film is recorded already".into(),
                    ));
                }
                let (tx, fee_sat, _) = self.build(&todo)?;
                if fee_sat > max_fee_sat {
                    return Err(ViewerError::Refused(format!(
                        "recording costs {fee_sat} sat now, over the {max_fee_sat} sat allowed: ask for a new quote"
                    )));
                }
                let hex_tx = bitcoin::consensus::encode::serialize_hex(&tx);
                durable::write(&sending, hex_tx.as_bytes())
                    .map_err(|e| unavailable(&format!("saving {}", sending.display()), e))?;
                (tx, fee_sat)
            }
        };
        let txid = tx.compute_txid();
        if let Err(e) = self.backend.broadcast(&tx) {
            // Sent before (the gateway died after broadcasting): the backend knows it.
            if self.backend.raw_tx(&txid).is_err() {
                return Err(unavailable("broadcasting the recording", e));
            }
        }
        // The choices it carries, by their units in its outputs.
        let units: Vec<String> = tx
            .output
            .iter()
            .filter_map(|o| cvp::carrier::op_return_unit(&o.script_pubkey))
            .map(hex::encode)
            .collect();
        let mut count = 0;
        for c in path.iter_mut() {
            if c.txid.is_none() && units.contains(&c.record_hex) {
                c.txid = Some(txid);
                count += 1;
            }
        }
        self.write_path(content, &path)?;
        let _ = std::fs::remove_file(&sending);
        Ok(Recorded {
            txid,
            fee_sat,
            choices: count,
        })
    }
}
