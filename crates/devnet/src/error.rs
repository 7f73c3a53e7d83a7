//! Errors of the devnet.

/// What went wrong. Messages are lower-case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevnetError {
    /// Bitcoin Core's engine refused a block; the reason is the kernel's.
    #[error("block rejected by the kernel: {0}")]
    BlockRejected(String),
    /// The kernel failed (opening the data directory, reading a block).
    #[error("kernel: {0}")]
    Kernel(String),
    /// A file in the data directory could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file in the data directory could not be replaced durably (it is unchanged).
    #[error("{0}")]
    Write(#[from] durable::WriteError),
    /// The faucet has too little to pay.
    #[error("faucet has {have} sat, {need} sat needed")]
    FaucetEmpty {
        /// Spendable balance.
        have: u64,
        /// Amount asked plus fee.
        need: u64,
    },
    /// The mempool refused a transaction (Bitcoin Core's reason string).
    #[error("transaction rejected: {0}")]
    Rejected(String),
    /// A reorg deeper than the chain.
    #[error("cannot reorg {depth} blocks on a chain of height {height}")]
    ReorgTooDeep {
        /// Blocks asked.
        depth: u32,
        /// Chain height.
        height: u32,
    },
}

impl DevnetError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        DevnetError::Io {
            what: what.into(),
            source,
        }
    }
}

impl From<bitcoinkernel::KernelError> for DevnetError {
    fn from(e: bitcoinkernel::KernelError) -> Self {
        DevnetError::Kernel(e.to_string())
    }
}
