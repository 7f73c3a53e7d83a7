//! The gateway's own viewer, for interactive films (docs/cvp.md, "Interactive films"): a key that
//! signs each choice they make, the path they took, kept on their machine, and recording that
//! path on chain, paid by their wallet, when they opt in. The binary implements [`Viewer`] (the
//! key file, the wallet, the chain backend: `bitflix serve`); a gateway without one plays
//! interactive films and counts the chain's choices, but signs and records nothing.

use bitcoin::Txid;
use serde::{Deserialize, Serialize};

/// One choice the viewer made, signed with their key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalChoice {
    /// The branch.
    pub branch_id: u32,
    /// The option chosen.
    pub option: u32,
    /// The signed `choice` record's unit, hex (what goes on chain).
    pub record_hex: String,
    /// When it was chosen (Unix ms).
    pub at_unix_ms: u64,
    /// The transaction that recorded it on chain, once sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<Txid>,
}

/// What recording the viewer's unrecorded choices of a film costs now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// Choices that would go out (one OP_RETURN output each, in one transaction).
    pub choices: usize,
    /// The transaction's size.
    pub vbytes: u64,
    /// Its fee at the current rate.
    pub fee_sat: u64,
    /// The rate, sat/vB.
    pub feerate_sat_vb: f64,
    /// What the viewer's wallet holds (confirmed).
    pub balance_sat: u64,
}

/// A recorded path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// The transaction carrying the choices.
    pub txid: Txid,
    /// Its fee.
    pub fee_sat: u64,
    /// How many choices it carries.
    pub choices: usize,
}

/// Why the viewer's side could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewerError {
    /// Not possible as asked (nothing to record, a fee over the cap, too little money): said to
    /// the viewer as it is.
    #[error("{0}")]
    Refused(String),
    /// This gateway cannot do it now (no wallet, the chain backend not answering, a file that
    /// could not be written).
    #[error("{0}")]
    Unavailable(String),
}

/// The viewer's key, path and wallet. Calls may block (files, the wallet, the chain): the routes
/// run them off the async workers.
pub trait Viewer: Send + Sync {
    /// The viewer's x-only public key, hex; created (and kept, 0600) on first use.
    fn key(&self) -> Result<String, ViewerError>;
    /// Sign the choice of `option` at `branch_id` of `content` and keep it in the viewer's path
    /// (durably, before answering); an unrecorded choice at the same branch is replaced.
    fn choose(
        &self,
        content: Txid,
        branch_id: u32,
        option: u32,
    ) -> Result<LocalChoice, ViewerError>;
    /// Forget the unrecorded choice at `branch_id` (the viewer went back); recorded ones stay.
    fn forget(&self, content: Txid, branch_id: u32) -> Result<(), ViewerError>;
    /// The viewer's choices of `content`, in the order made.
    fn path(&self, content: Txid) -> Result<Vec<LocalChoice>, ViewerError>;
    /// What recording the unrecorded choices of `content` costs now.
    fn quote(&self, content: Txid) -> Result<Quote, ViewerError>;
    /// Record the unrecorded choices of `content` in one transaction paid by the viewer's wallet,
    /// refused if its fee would pass `max_fee_sat`.
    fn record(&self, content: Txid, max_fee_sat: u64) -> Result<Recorded, ViewerError>;
}
