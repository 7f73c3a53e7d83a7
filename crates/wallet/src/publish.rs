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
    #[error("broadcast stopped ({0}); run again with --resume to finish, nothing is paid twice")]
    Broadcast(#[from] ChainError),
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

/// Plan, journal, broadcast.
pub fn publish(
    datadir: &Path,
    backend: &dyn ChainBackend,
    req: &PlanRequest<'_>,
    signer: &Signer,
    layout: Layout,
    wait_for_block: impl FnMut() -> Result<(), ChainError>,
    progress: impl FnMut(&Progress),
) -> Result<(Plan, Published), PublishError> {
    let p = plan_layout(req, signer, layout)?;
    let title = req.info.title.clone().unwrap_or_default();
    let journal = Journal::from_plan(&p, &title, req.carrier.name());
    let journal_path = journal.save(datadir)?;
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
    let progress = broadcast(&journal, backend, wait_for_block, progress)?;
    Ok(Published {
        journal,
        journal_path: journal_path.into(),
        progress,
    })
}
