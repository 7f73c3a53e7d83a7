//! The viewer's side: scan blocks and the mempool of any [`chain::ChainBackend`] for CVP records,
//! attribute them with the lineage rule, verify and reassemble each content, and keep a catalog.
//!
//! This first version keeps the catalog in memory and rescans on start (the redb store with a
//! schema version, reorg undo and crash-safe cursor of issue "Watching" is not built yet).

pub mod blockscan;
mod catalog;
mod scan;

pub use catalog::{Catalog, Content, ContentState, ContentSummary};
pub use scan::{has_signature, Scanner};
