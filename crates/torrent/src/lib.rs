//! Contents that live on BitTorrent behind a CVP `commitment` record (docs/cvp.md, "Commitments"),
//! through librqbit: the swarm's two files made and seeded ([`make`], [`Node::seed`]), and a fetch
//! that checks the swarm's piece layer against the chain's pieces root and every piece of the
//! stream against its layer hash before a byte of it is read ([`Node::fetch`], [`Fetch::read`]).
//!
//! librqbit speaks BitTorrent v1, whose SHA-1 piece hashes only guard the transfer; what the chain
//! pins is the SHA-256 tree of BEP 52, checked here. DHT, trackers, local discovery and UPnP are
//! off: peers come from the record's seed address (or the caller).

mod bencode;
mod fetch;
mod node;
mod swarm;

pub use fetch::{Fetch, FetchStatus, MAX_PIECE_LENGTH};
pub use node::{Node, NodeOptions};
pub use swarm::{make, make_from_parts, piece_length_for, SwarmFiles, LAYER, STREAM, TORRENT};

use std::path::{Path, PathBuf};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The BitTorrent library failed.
    #[error("BitTorrent: {what}: {source}")]
    Library {
        /// What was being done.
        what: &'static str,
        /// librqbit's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A piece tree could not be made or checked.
    #[error(transparent)]
    Pieces(#[from] cvp::pieces::PiecesError),
    /// No peer has answered yet: the content is waiting for peers, which is no error of its own.
    #[error("waiting for peers")]
    Waiting,
    /// The swarm is not the committed content's (its files or its layer disagree with the
    /// record): nothing of it is served.
    #[error("the swarm is refused: {0}")]
    Refused(String),
    /// A piece of the stream does not match its layer hash: it is never served.
    #[error("piece {index} of the stream does not match its hash in the piece layer")]
    BadPiece {
        /// The piece.
        index: u64,
    },
    /// A range outside the content.
    #[error("bytes {start}..{end} are outside a content of {len} bytes")]
    Range {
        /// Start asked.
        start: u64,
        /// End asked.
        end: u64,
        /// The content's length.
        len: u64,
    },
    /// The node holds as many swarms as it may.
    #[error("this node already follows {0} swarms")]
    Full(usize),
    /// The committed content is longer than this node fetches.
    #[error("the content is {length} bytes; this node fetches at most {max}")]
    TooLong {
        /// The committed length.
        length: u64,
        /// The node's limit.
        max: u64,
    },
}

impl Error {
    fn io(what: &'static str, path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    fn library(
        what: &'static str,
        e: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Library {
            what,
            source: e.into(),
        }
    }
}
