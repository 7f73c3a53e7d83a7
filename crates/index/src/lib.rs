//! The viewer's side: scan blocks and the mempool of any [`chain::ChainBackend`] for CVP records,
//! attribute them with the lineage rule, verify each content, and publish the catalog as
//! immutable [`Snapshot`]s whose bytes are read from the store by range.
//!
//! - `cvp::rawblock`: raw blocks walked by length, checked against their hash, Merkle root and
//!   witness commitment, and searched for transactions that may carry CVP units.
//! - [`store`]: the redb index (schema: docs/index-schema.md).
//! - [`Indexer`] (`scanner.rs`): the one scanner, blocks and mempool, reorgs, retries.
//! - `catalog.rs`: lineage attribution and per-segment bookkeeping (no bytes).
//! - `live.rs`: live streams' chunks in index order, their gaps and forgeries.
//! - `strays.rs`: the live chunks and segments waiting in the lineage, kept as they come and go,
//!   by index (segments by length then index, also ranked: `ranked.rs`), so forgeries are counted
//!   by lookups.
//! - `story.rs`: interactive films' clip tables and branch points ([`Snapshot::story`]);
//!   `choices.rs`: the viewers' choices, kept from every transaction and counted per branch.
//! - [`Snapshot`]: summaries, look-alikes, forgeries, and reads by range.
//! - [`publisher`]: who published a content, and look-alike titles.

mod catalog;
mod choices;
mod live;
pub mod publisher;
mod ranked;
mod scanner;
mod sliced;
mod snapshot;
pub mod store;
mod story;
mod strays;

pub use catalog::{Catalog, Committed, Content, SegSource, INFO_LONG_TITLE, MAX_TITLE};
pub use choices::{
    ChoiceSeen, ChoiceState, DEFAULT_MAX_WAITING_CHOICES, DEFAULT_MAX_WAITING_PER_CONTENT,
};
pub use live::{ForgedChunk, LiveChunk, LiveSummary};
pub use publisher::Publisher;
pub use scanner::{default_start_height, IndexError, Indexer, PollReport, Progress};
pub use snapshot::{
    CommitmentSummary, ContentState, ContentSummary, LineageTx, Published, ReadError, Snapshot,
};
pub use story::{Clip, Story, StoryBranch, StoryOption};
