//! The whole publish: plan and sign, write the journal, then broadcast. Resuming is calling
//! [`resume`] with the journal: it rebroadcasts only what the chain does not know.

use crate::broadcast::{broadcast, Progress};
use crate::journal::{Journal, JournalError};
use crate::plan::{plan_layout, Layout, Plan, PlanError, PlanRequest};
use crate::Signer;
use chain::{ChainBackend, ChainError};
use std::path::{Path, PathBuf};

/// Why a publish stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Nothing was spent: the plan failed.
    #[error("{0}")]
    Plan(#[from] PlanError),
    /// Nothing was spent: the journal could not be written.
    #[error("{0}")]
    Journal(#[from] JournalError),
    /// Broadcasting stopped; the journal is complete, so `--resume` finishes the job.
    /// (The cause is in the message, not chained as a source, so it is printed once.)
    #[error("broadcast stopped ({0}); run again with --resume to finish, nothing is paid twice")]
    Broadcast(ChainError),
    /// The funding transaction went out as a PSBT and its signature was not imported yet.
    #[error("publish {0} waits for its signed funding PSBT: run `bitflix publish --resume --psbt-signed FILE`")]
    AwaitingSignature(bitcoin::Txid),
}

impl From<ChainError> for PublishError {
    fn from(e: ChainError) -> Self {
        PublishError::Broadcast(e)
    }
}

/// The wallet's funding transaction of a publish, paying the plan's funding coin.
#[derive(Debug, Clone, Copy)]
pub struct Funding<'a> {
    /// The transaction (signed, or unsigned when exported as a PSBT).
    pub tx: &'a bitcoin::Transaction,
    /// Its fee.
    pub fee: bitcoin::Amount,
    /// Whether it is signed. Unsigned: the journal is written and nothing is broadcast.
    pub signed: bool,
}

/// A finished (or resumed) publish.
#[derive(Debug)]
pub struct Published {
    /// The plan.
    pub journal: Journal,
    /// Where the journal is.
    pub journal_path: PathBuf,
    /// What the broadcast did.
    pub progress: Progress,
}

/// Plan, journal, broadcast, spending the funding coin of `req` directly.
pub fn publish(
    datadir: &Path,
    backend: &dyn ChainBackend,
    req: &PlanRequest<'_>,
    signer: &Signer,
    layout: Layout,
    wait_for_block: impl FnMut() -> Result<(), ChainError>,
    progress: impl FnMut(&Progress),
) -> Result<(Plan, Published), PublishError> {
    publish_funded(
        datadir,
        backend,
        req,
        signer,
        layout,
        None,
        wait_for_block,
        progress,
    )
}

/// [`publish`], paid by the wallet's `funding` transaction when there is one (the coin of `req`
/// is one of its outputs): the journal starts with it. An unsigned one (a PSBT out for signing)
/// stops after the journal; `resume` goes on once the signature is imported.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the flow; the two callbacks keep it free of chain policy"
)]
pub fn publish_funded(
    datadir: &Path,
    backend: &dyn ChainBackend,
    req: &PlanRequest<'_>,
    signer: &Signer,
    layout: Layout,
    funding: Option<Funding<'_>>,
    wait_for_block: impl FnMut() -> Result<(), ChainError>,
    progress: impl FnMut(&Progress),
) -> Result<(Plan, Published), PublishError> {
    let p = plan_layout(req, signer, layout)?;
    let title = req.info.title.clone().unwrap_or_default();
    let mut journal = Journal::from_plan(&p, &title, req.carrier.name());
    if let Some(f) = funding {
        journal = journal.with_funding(f.tx, f.fee, f.signed);
    }
    let journal_path = journal.save(datadir)?;
    if journal.awaiting_signature {
        let progress = Progress {
            total: journal.txs.len(),
            ..Default::default()
        };
        return Ok((
            p,
            Published {
                journal,
                journal_path,
                progress,
            },
        ));
    }
    let progress = broadcast(&journal, backend, wait_for_block, progress)?;
    Ok((
        p,
        Published {
            journal,
            journal_path,
            progress,
        },
    ))
}

/// Finish a journal that was interrupted.
pub fn resume(
    journal_path: &Path,
    backend: &dyn ChainBackend,
    wait_for_block: impl FnMut() -> Result<(), ChainError>,
    progress: impl FnMut(&Progress),
) -> Result<Published, PublishError> {
    let journal = Journal::load(journal_path)?;
    if journal.awaiting_signature {
        return Err(PublishError::AwaitingSignature(journal.content_id));
    }
    let progress = broadcast(&journal, backend, wait_for_block, progress)?;
    Ok(Published {
        journal,
        journal_path: journal_path.into(),
        progress,
    })
}
