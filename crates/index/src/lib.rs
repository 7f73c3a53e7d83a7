//! The viewer's side: scan blocks and the mempool of any [`chain::ChainBackend`] for CVP records,
//! attribute them with the lineage rule, verify and reassemble each content, and keep a catalog.
//!
//! [`Indexer`] persists what it scanned in a redb [`store::Store`] (schema: docs/index-schema.md)
//! and rebuilds the catalog from it on open; [`Scanner`] is the same scan kept in memory only.

pub mod blockscan;
mod catalog;
mod indexer;
mod scan;
pub mod store;

pub use catalog::{Catalog, Content, ContentState, ContentSummary};
pub use indexer::{IndexError, Indexer};
pub use scan::{has_signature, Scanner};
