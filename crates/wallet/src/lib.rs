//! Publishing: CVP carrier transactions, their exact costs, and a journal that makes a killed
//! publish resumable without paying twice.
//!
//! [`plan::plan`] lays out every transaction of a publish (header, then segments, each spending
//! the previous transaction's change so the lineage rule of docs/cvp.md holds) and signs them;
//! the same code with a dummy signer gives [`estimate`]s, so an estimate is the real size.
//! [`journal::Journal`] writes the signed plan to disk before anything is broadcast.
//! [`hd::HdWallet`] is the publisher's BIP86 wallet on bdk_wallet, fed by [`sync::sync`]; it pays a
//! publish with one funding transaction (signed here, or exported as a PSBT): [`funded`] is that
//! flow, and the replacement of a stuck publish at a higher fee rate.

pub mod broadcast;
pub mod estimate;
pub mod funded;
pub mod hd;
pub mod journal;
pub mod live;
pub mod plan;
pub mod publish;
mod signer;
pub mod sync;

/// The bdk_wallet this crate builds on (for callers that sign PSBTs or read balances).
pub use bdk_wallet;
pub use plan::{plan, plan_layout, Layout, Plan, PlanError, PlanRequest};
pub use signer::Signer;
