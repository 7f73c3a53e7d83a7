//! The one error type of every backend.

/// What went wrong talking to a chain. Messages are lower-case and name the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The block, transaction or height does not exist on this backend.
    #[error("not found: {0}")]
    NotFound(String),
    /// The backend refused a transaction; the reason is the node's own (Bitcoin Core's strings
    /// where one exists, e.g. `min relay fee not met`).
    #[error("transaction rejected: {reason}")]
    Rejected {
        /// The node's reason string.
        reason: String,
    },
    /// The backend could not be reached or answered with something other than data.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The backend answered with bytes that do not decode.
    #[error("malformed answer from backend: {0}")]
    Decode(String),
    /// The backend is on a different network than asked for.
    #[error("network mismatch: expected {expected}, backend serves {actual}")]
    NetworkMismatch {
        /// The network the caller asked for.
        expected: bitcoin::Network,
        /// The network the backend serves.
        actual: bitcoin::Network,
    },
}

impl ChainError {
    /// True when trying again later may succeed (the backend went away), false for a final answer.
    pub fn is_transient(&self) -> bool {
        matches!(self, ChainError::Unavailable(_))
    }
}
