//! A publish paid by the HD wallet, and its replacement at a higher fee rate.
//!
//! The wallet (bdk) pays the plan's exact cost (fees, 330 sat outputs, a 330 sat final change) in
//! one funding transaction to the plan key; its change goes to an internal address. The journal
//! holds the funding transaction first, then the plan. The funding is signed here, or written as a
//! PSBT for an external signer: then the journal is written and nothing is broadcast until
//! [`import_signed_funding`] brings the signature back.
//!
//! [`bump`] replaces every unfinished, wholly unconfirmed publish by the same publish at a higher
//! rate: the new journal names the one it replaces and its funding spends every input of the
//! replaced funding (BIP125), so a kill at any point leaves either plan in force, never both paid.

use crate::broadcast::Progress;
use crate::estimate::{estimate, estimate_commitment, Estimate};
use crate::hd::{HdError, HdWallet};
use crate::journal::{Journal, JournalError};
use crate::plan::{plan_layout, Layout, Plan, PlanError, PlanRequest, Role, P2TR_DUST};
use crate::publish::{publish_funded, Funding, PublishError, Published};
use crate::Signer;
use bitcoin::{Amount, FeeRate, OutPoint, Psbt, Transaction, Txid};
use chain::{ChainBackend, ChainError, TxStatus};
use cvp::{Carrier, Commitment, ContentInfo};
use std::path::{Path, PathBuf};

/// Room above a publish's cost for the funding transaction's own fee (several inputs).
pub const FUNDING_MARGIN: Amount = Amount::from_sat(100_000);

/// Why a wallet-funded publish, a bump or a signature import stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FundError {
    /// The plan failed (nothing was spent).
    #[error("{0}")]
    Plan(#[from] PlanError),
    /// The wallet failed (sync, coin selection, signing).
    #[error("{0}")]
    Wallet(#[from] HdError),
    /// A journal could not be read or written.
    #[error("{0}")]
    Journal(#[from] JournalError),
    /// The publish itself stopped (see [`PublishError`]: `--resume` finishes it).
    #[error("{0}")]
    Publish(#[from] PublishError),
    /// The backend failed while checking what the chain holds.
    #[error("{0}")]
    Chain(#[from] ChainError),
    /// The PSBT file could not be written.
    #[error("writing the funding PSBT: {0}")]
    WritePsbt(#[from] durable::WriteError),
    /// The funding transaction bdk built is not what the plan needs (a bug: nothing was spent).
    #[error("the funding transaction: {0}")]
    Funding(String),
    /// The wallet holds too little (and the chain has no faucet).
    #[error("the wallet holds {have} sat, this publish needs about {need} sat: fund {address}")]
    Insufficient {
        /// Spendable now.
        have: u64,
        /// The publish's cost plus [`FUNDING_MARGIN`].
        need: u64,
        /// A receive address of the wallet.
        address: String,
    },
    /// An unfinished publish is in the way: finish it first (nothing is paid twice).
    #[error("{0}")]
    Unfinished(String),
    /// A publish that cannot be replaced.
    #[error("publish {content}: {reason}")]
    CannotBump {
        /// The publish.
        content: Txid,
        /// Why not.
        reason: String,
    },
    /// The publisher's approval was refused (a fee cap, no confirmation): nothing was signed,
    /// journaled or broadcast.
    #[error("{0}")]
    Refused(String),
    /// No journal is funded by the signed PSBT's transaction.
    #[error("no publish in {datadir} is funded by {txid}")]
    NoSuchFunding {
        /// The data directory searched.
        datadir: PathBuf,
        /// The PSBT's txid.
        txid: Txid,
    },
}

/// One publish to pay from the wallet.
#[derive(Debug, Clone)]
pub struct Publication<'a> {
    /// The stream (published as it is).
    pub stream: &'a [u8],
    /// Title, media type.
    pub info: ContentInfo,
    /// The carrier.
    pub carrier: Carrier,
    /// Fee rate of every transaction, the funding one included.
    pub feerate: FeeRate,
    /// The layout.
    pub layout: Layout,
    /// A content on BitTorrent, pinned by this record (`stream` is then not put on chain: see
    /// [`PlanRequest::commitment`]).
    pub commitment: Option<Commitment>,
}

impl Publication<'_> {
    /// The plan's estimate and what the funding transaction pays the plan key: its fees, its 330
    /// sat outputs, and a final change of 330 sat.
    pub fn cost(&self) -> Result<(Estimate, Amount), PlanError> {
        if let Some(c) = &self.commitment {
            let est = estimate_commitment(c, &self.info, self.carrier, self.feerate)?;
            let need = Amount::from_sat(est.fee_sat + est.locked_sat) + P2TR_DUST;
            return Ok((est, need));
        }
        cost(
            self.stream.len() as u64,
            &self.info,
            self.carrier,
            self.feerate,
            self.layout,
        )
    }
}

fn cost(
    len: u64,
    info: &ContentInfo,
    carrier: Carrier,
    feerate: FeeRate,
    layout: Layout,
) -> Result<(Estimate, Amount), PlanError> {
    let est = estimate(len, info, carrier, feerate, layout)?;
    let need = Amount::from_sat(est.fee_sat + est.locked_sat) + P2TR_DUST;
    Ok((est, need))
}

/// How much more the (synced) wallet needs for a publish costing `need`, if it is short.
pub fn shortfall(w: &HdWallet, need: Amount) -> Option<Amount> {
    let have = w.fundable();
    (have < need + FUNDING_MARGIN).then(|| need + FUNDING_MARGIN - have)
}

/// [`FundError::Insufficient`] for a wallet that cannot pay `need`.
pub fn insufficient(w: &mut HdWallet, need: Amount) -> FundError {
    let have = w.fundable().to_sat();
    match w.receive_address() {
        Ok(a) => FundError::Insufficient {
            have,
            need: (need + FUNDING_MARGIN).to_sat(),
            address: a.to_string(),
        },
        Err(e) => e.into(),
    }
}

/// The output of `funding` that pays `need` to the plan key.
pub fn plan_coin(
    funding: &Transaction,
    signer: &Signer,
    need: Amount,
) -> Result<(OutPoint, bitcoin::TxOut), FundError> {
    let vout = funding
        .output
        .iter()
        .position(|o| o.script_pubkey == signer.script() && o.value == need)
        .ok_or_else(|| FundError::Funding("it does not pay the plan key".into()))?;
    Ok((
        OutPoint::new(funding.compute_txid(), vout as u32),
        funding.output[vout].clone(),
    ))
}

fn fee_of(psbt: &Psbt) -> Result<Amount, FundError> {
    psbt.fee()
        .map_err(|e| FundError::Funding(format!("its fee: {e}")))
}

/// Pay `what` from the synced wallet `w` (which must hold enough) to `signer`'s plan key, then
/// plan, journal and broadcast. With `psbt_out` the funding is written there as a PSBT (base64)
/// instead of signed, and nothing is broadcast.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the flow; the two callbacks keep it free of chain policy"
)]
pub fn publish_from_wallet(
    datadir: &Path,
    backend: &dyn ChainBackend,
    w: &mut HdWallet,
    signer: &Signer,
    what: &Publication<'_>,
    psbt_out: Option<&Path>,
    wait_for_block: impl FnMut() -> Result<(), ChainError>,
    progress: impl FnMut(&Progress),
) -> Result<(Plan, Published), FundError> {
    publish_from_wallet_approved(
        datadir,
        backend,
        w,
        signer,
        what,
        psbt_out,
        |_| Ok(()),
        wait_for_block,
        progress,
    )
}

/// What a publish will pay, known once the wallet built the funding and before anything is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// The funding transaction's fee.
    pub funding_fee: Amount,
    /// The plan's fees (exact: the estimate is the plan's own code).
    pub plan_fee: Amount,
    /// Transactions, the funding one included.
    pub transactions: u64,
}

impl Cost {
    /// Every fee the publish pays.
    pub fn total_fee(&self) -> Amount {
        self.funding_fee + self.plan_fee
    }
}

/// [`publish_from_wallet`], asking `approve` with the exact [`Cost`] before the funding is signed
/// or exported: an `Err(reason)` stops it as [`FundError::Refused`], with no journal written.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the flow; the callbacks keep it free of chain policy"
)]
pub fn publish_from_wallet_approved(
    datadir: &Path,
    backend: &dyn ChainBackend,
    w: &mut HdWallet,
    signer: &Signer,
    what: &Publication<'_>,
    psbt_out: Option<&Path>,
    approve: impl FnOnce(&Cost) -> Result<(), String>,
    wait_for_block: impl FnMut() -> Result<(), ChainError>,
    progress: impl FnMut(&Progress),
) -> Result<(Plan, Published), FundError> {
    let (est, need) = what.cost()?;
    let mut psbt = w.funding_psbt(signer.script(), need, what.feerate)?;
    let fee = fee_of(&psbt)?;
    approve(&Cost {
        funding_fee: fee,
        plan_fee: Amount::from_sat(est.fee_sat),
        transactions: est.transactions + 1,
    })
    .map_err(FundError::Refused)?;
    let (tx, signed) = match psbt_out {
        Some(path) => {
            durable::write(path, psbt.to_string().as_bytes())?;
            (psbt.unsigned_tx.clone(), false)
        }
        None => (w.sign(&mut psbt)?, true),
    };
    let req = PlanRequest {
        stream: what.stream,
        info: what.info.clone(),
        carrier: what.carrier,
        feerate: what.feerate,
        funding: plan_coin(&tx, signer, need)?,
        commitment: what.commitment.clone(),
    };
    Ok(publish_funded(
        datadir,
        backend,
        &req,
        signer,
        what.layout,
        Some(Funding {
            tx: &tx,
            fee,
            signed,
        }),
        wait_for_block,
        progress,
    )?)
}

/// Refuse to start a new plan while one is unfinished: re-running the same command after a kill
/// must not pay again.
pub fn ensure_nothing_unfinished(
    datadir: &Path,
    backend: &dyn ChainBackend,
) -> Result<(), FundError> {
    for path in Journal::all(datadir) {
        let journal = Journal::load(&path)?;
        if journal.awaiting_signature {
            return Err(FundError::Unfinished(format!(
                "the publish of {} ('{}') waits for its signed funding PSBT: run `bitflix publish --resume --psbt-signed FILE` first",
                journal.content_id, journal.title
            )));
        }
        for t in &journal.txs {
            if backend.tx_status(&t.txid)? == TxStatus::Unknown {
                return Err(FundError::Unfinished(format!(
                    "an interrupted publish of {} ('{}') is not finished: run `bitflix publish --resume` first (nothing will be paid twice)",
                    journal.content_id, journal.title
                )));
            }
        }
    }
    Ok(())
}

/// Replace every unfinished publish in `datadir` by the same publish at `rate`, funded by `w`
/// (which must hold keys). Returns the content ids of the replacements, whose journals are written
/// (and the replaced ones marked) before anything is broadcast: `resume` sends them.
pub fn bump(
    datadir: &Path,
    backend: &dyn ChainBackend,
    w: &mut HdWallet,
    rate: FeeRate,
) -> Result<Vec<Txid>, FundError> {
    bump_approved(datadir, backend, w, rate, |_| Ok(()))
}

/// [`bump`], asking `approve` with each replacement's exact [`Cost`] (its funding fee, which pays
/// the evicted transactions' fees again, and its plan's fees) before its funding is signed: an
/// `Err(reason)` stops it as [`FundError::Refused`], that journal untouched.
pub fn bump_approved(
    datadir: &Path,
    backend: &dyn ChainBackend,
    w: &mut HdWallet,
    rate: FeeRate,
    mut approve: impl FnMut(&Cost) -> Result<(), String>,
) -> Result<Vec<Txid>, FundError> {
    let mut out = Vec::new();
    for path in Journal::all(datadir) {
        let old = Journal::load(&path)?;
        if let Some(new) = bump_one(datadir, backend, w, rate, &path, &old, &mut approve)? {
            out.push(new);
        }
    }
    Ok(out)
}

fn bump_one(
    datadir: &Path,
    backend: &dyn ChainBackend,
    w: &mut HdWallet,
    rate: FeeRate,
    path: &Path,
    old: &Journal,
    approve: &mut dyn FnMut(&Cost) -> Result<(), String>,
) -> Result<Option<Txid>, FundError> {
    let refuse = |reason: String| FundError::CannotBump {
        content: old.content_id,
        reason,
    };
    if old.awaiting_signature {
        return Err(refuse(
            "it waits for its signed funding PSBT: nothing to bump".into(),
        ));
    }
    let mut confirmed = 0;
    let mut known = 0;
    let mut evicted_fee = Amount::ZERO;
    for t in &old.txs {
        match backend.tx_status(&t.txid)? {
            TxStatus::Confirmed(_) => confirmed += 1,
            TxStatus::Mempool => {
                known += 1;
                evicted_fee += Amount::from_sat(t.fee_sat);
            }
            _ => {}
        }
    }
    if confirmed == old.txs.len() {
        return Ok(None);
    }
    if confirmed > 0 {
        return Err(refuse(format!(
            "{confirmed} of {} transactions are confirmed; only a wholly unconfirmed publish can be replaced (resume it instead)",
            old.txs.len()
        )));
    }
    if known > 100 {
        return Err(refuse(format!(
            "{known} transactions are in the mempool; a replacement may evict at most 100 (BIP125 rule 5)"
        )));
    }
    let txs = old.transactions().map_err(refuse)?;
    let (Some(old_funding), Some(first)) = (txs.first(), old.txs.first()) else {
        return Err(refuse("it has no transactions".into()));
    };
    if first.role != Role::Funding {
        return Err(refuse(
            "it was funded before the HD wallet (no funding transaction to replace)".into(),
        ));
    }
    let committed = old.commitment().map_err(refuse)?;
    let (stream, info) = match &committed {
        Some((_, info)) => (Vec::new(), info.clone()),
        None => old.stream().map_err(|e| {
            refuse(format!(
                "reading the stream back from {}: {e}",
                path.display()
            ))
        })?,
    };
    let carrier: Carrier = old.carrier.parse().map_err(refuse)?;
    let layout = if old.txs.iter().any(|t| matches!(t.role, Role::Fanout(_))) {
        Layout::FanOut
    } else {
        Layout::Chain
    };
    let commitment = committed.map(|(c, _)| c);
    let (est, need) = Publication {
        stream: &stream,
        info: info.clone(),
        carrier,
        feerate: rate,
        layout,
        commitment: commitment.clone(),
    }
    .cost()?;
    w.sync(backend)?;
    let (signer, _) = w.plan_signer()?;
    let evicted: Vec<Txid> = old.txs.iter().map(|t| t.txid).collect();
    let mut psbt = w.replacement_funding_psbt(
        old_funding,
        &evicted,
        evicted_fee,
        signer.script(),
        need,
        rate,
    )?;
    let fee = fee_of(&psbt)?;
    approve(&Cost {
        funding_fee: fee,
        plan_fee: Amount::from_sat(est.fee_sat),
        transactions: est.transactions + 1,
    })
    .map_err(FundError::Refused)?;
    let funding = w.sign(&mut psbt)?;
    let req = PlanRequest {
        stream: &stream,
        info,
        carrier,
        feerate: rate,
        funding: plan_coin(&funding, &signer, need)?,
        commitment,
    };
    let plan = plan_layout(&req, &signer, layout)?;
    let mut new =
        Journal::from_plan(&plan, &old.title, &old.carrier).with_funding(&funding, fee, true);
    new.replaces = Some(old.content_id);
    // Durable before anything is broadcast; from here on the old journal is out of force.
    new.save(datadir)?;
    Journal::mark_replaced(path, &plan.content_id)?;
    Ok(Some(plan.content_id))
}

/// Finalize a signed funding PSBT with `w` and record it in the journal of `datadir` that planned
/// it. Returns that journal's path.
pub fn import_signed_funding(
    datadir: &Path,
    w: &HdWallet,
    psbt: &mut Psbt,
) -> Result<PathBuf, FundError> {
    let txid = psbt.unsigned_tx.compute_txid();
    let path = Journal::all(datadir)
        .into_iter()
        .find(|p| {
            Journal::load(p)
                .ok()
                .and_then(|j| j.txs.first().map(|t| t.txid == txid))
                .unwrap_or(false)
        })
        .ok_or_else(|| FundError::NoSuchFunding {
            datadir: datadir.to_path_buf(),
            txid,
        })?;
    let tx = w.finalize(psbt)?;
    Journal::import_signed_funding(&path, &tx)?;
    Ok(path)
}
