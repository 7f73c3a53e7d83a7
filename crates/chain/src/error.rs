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
    /// The backend could not serve the request for a reason it stated in words (an RPC error, a
    /// node still starting). Transient.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The backend answered with an HTTP error status (429 and 5xx are transient, others final).
    #[error("backend answered http {status} for {url}: {body}")]
    Http {
        /// The URL asked.
        url: String,
        /// The status code.
        status: u16,
        /// The first bytes of the answer's body, as text.
        body: String,
    },
    /// The request never got an answer: connection refused or reset, a timeout. Transient.
    #[error("backend unreachable at {url}: {source}")]
    Transport {
        /// The URL asked.
        url: String,
        /// The transport's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An answer larger than this reader accepts for its kind.
    #[error("answer too large: {what} is over the limit of {limit} bytes")]
    TooLarge {
        /// What was asked for.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The backend answered with bytes that do not decode, or that do not match what was asked
    /// (a block whose hash or Merkle root is not the one requested).
    #[error("malformed answer from backend: {0}")]
    Decode(String),
    /// A Bitcoin Core block directory (`blocksdir=`) that cannot be used.
    #[error("block files: {0}")]
    BlockFiles(#[from] crate::core::BlockFilesError),
    /// The backend's answer contradicts the other backends or the request (a block that is not
    /// the one asked for); see [`Multi`](crate::multi::Multi). Final for that backend.
    #[error("backend disagrees: {0}")]
    Disagrees(String),
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
    /// True when trying again later may succeed (the backend went away, is overloaded or limits
    /// our rate), false for a final answer.
    pub fn is_transient(&self) -> bool {
        match self {
            ChainError::Unavailable(_) | ChainError::Transport { .. } => true,
            ChainError::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// The HTTP status of an [`Http`](ChainError::Http) answer.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ChainError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ChainError;

    #[test]
    fn rate_limits_and_server_errors_are_transient_client_errors_are_not() {
        let http = |status| ChainError::Http {
            url: "u".into(),
            status,
            body: String::new(),
        };
        assert!(http(429).is_transient());
        assert!(http(503).is_transient());
        assert!(http(500).is_transient());
        assert!(!http(400).is_transient());
        assert!(!http(403).is_transient());
        assert_eq!(http(429).http_status(), Some(429));
        assert!(!ChainError::NotFound("x".into()).is_transient());
        assert!(!ChainError::TooLarge {
            what: "x".into(),
            limit: 1
        }
        .is_transient());
        let t = ChainError::Transport {
            url: "u".into(),
            source: "refused".into(),
        };
        assert!(t.is_transient());
        assert!(std::error::Error::source(&t).is_some(), "the cause is kept");
    }
}
