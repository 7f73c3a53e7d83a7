//! Publishing: CVP carrier transactions, their exact costs, and a journal that makes a killed
//! publish resumable without paying twice.
//!
//! [`plan::plan`] lays out every transaction of a publish (header, then segments, each spending
//! the previous transaction's change so the lineage rule of docs/cvp.md holds) and signs them;
//! the same code with a dummy signer gives [`estimate`]s, so an estimate is the real size.
//! [`journal::Journal`] writes the signed plan to disk before anything is broadcast.

pub mod broadcast;
pub mod estimate;
pub mod journal;
pub mod plan;
pub mod publish;
mod signer;

pub use plan::{plan, plan_layout, Layout, Plan, PlanError, PlanRequest};
pub use signer::Signer;
