//! Contents behind a commitment (docs/cvp.md, "Commitments"): their bytes come from BitTorrent
//! through a [`Swarms`] the gateway is given (bitflix's runs a BitTorrent client); without one,
//! the gateway says where the bytes are and serves none.

use cvp::Commitment;
use std::ops::Range;

/// Where a committed content's fetch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SwarmState {
    /// No peer has given the swarm yet: waiting for peers, not an error.
    Waiting(String),
    /// The swarm is being fetched: `checked` bytes from the start are checked against the
    /// chain's pieces root and may be served.
    Fetching {
        /// The checked prefix.
        checked: u64,
        /// Why the prefix will not grow: a piece the swarm holds fails its hash (refused for
        /// good: no peer of this swarm can give another).
        stopped: Option<String>,
    },
    /// The swarm holds other bytes than the committed ones: none is served.
    Refused(String),
}

/// The gateway's BitTorrent side. Both calls return at once: a fetch runs in the background.
pub trait Swarms: Send + Sync + 'static {
    /// Where the fetch of `c` stands, starting it if it is not followed yet.
    fn state(&self, c: &Commitment) -> SwarmState;

    /// Bytes `range` of `c`'s checked prefix, from local storage (a range beyond the prefix is
    /// an error).
    fn read(&self, c: &Commitment, range: Range<u64>) -> Result<Vec<u8>, String>;
}
