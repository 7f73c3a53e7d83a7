//! Transient failures retried with backoff: a [`ChainBackend`] that wraps another and tries each
//! read again when the answer was a rate limit, a server error or a dropped connection. Final
//! answers (not found, a bad request, a malformed answer) come back at once; broadcasts are never
//! repeated here (the publisher's broadcaster is idempotent and resumable on its own).

use crate::{BlockRef, ChainBackend, ChainError, ChainEvent, TxStatus};
use bitcoin::{BlockHash, FeeRate, Network, Transaction, Txid};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub first_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for Retry {
    /// Six attempts over about six seconds: 0.2, 0.4, 0.8, 1.6, 3.2 s.
    fn default() -> Self {
        Retry {
            attempts: 6,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl Retry {
    /// Run `f` until it succeeds, fails for good, or the attempts are spent (the last error).
    pub fn run<T>(
        &self,
        what: &str,
        mut f: impl FnMut() -> Result<T, ChainError>,
    ) -> Result<T, ChainError> {
        let mut delay = self.first_delay;
        let mut attempt = 1;
        loop {
            match f() {
                Err(e) if e.is_transient() && attempt < self.attempts => {
                    tracing::debug!(
                        "{what}: {e}; attempt {attempt} of {}, retrying in {delay:?}",
                        self.attempts
                    );
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(self.max_delay);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// A backend whose reads are retried by a [`Retry`] policy.
#[derive(Debug)]
pub struct Retrying {
    inner: Arc<dyn ChainBackend>,
    policy: Retry,
}

impl Retrying {
    /// Wrap `inner`.
    pub fn new(inner: Arc<dyn ChainBackend>, policy: Retry) -> Self {
        Retrying { inner, policy }
    }
}

impl ChainBackend for Retrying {
    fn network(&self) -> Network {
        self.inner.network()
    }

    fn tip(&self) -> Result<BlockRef, ChainError> {
        self.policy.run("tip", || self.inner.tip())
    }

    fn block_hash(&self, height: u32) -> Result<BlockHash, ChainError> {
        self.policy
            .run("block hash", || self.inner.block_hash(height))
    }

    fn raw_block(&self, hash: &BlockHash) -> Result<Vec<u8>, ChainError> {
        self.policy.run("raw block", || self.inner.raw_block(hash))
    }

    fn raw_tx(&self, txid: &Txid) -> Result<Vec<u8>, ChainError> {
        self.policy.run("raw tx", || self.inner.raw_tx(txid))
    }

    fn tx_status(&self, txid: &Txid) -> Result<TxStatus, ChainError> {
        self.policy.run("tx status", || self.inner.tx_status(txid))
    }

    fn mempool_txids(&self) -> Result<Vec<Txid>, ChainError> {
        self.policy.run("mempool", || self.inner.mempool_txids())
    }

    fn broadcast(&self, tx: &Transaction) -> Result<Txid, ChainError> {
        self.inner.broadcast(tx)
    }

    fn fee_estimate(&self, target_blocks: u16) -> Result<FeeRate, ChainError> {
        self.policy
            .run("fee estimate", || self.inner.fee_estimate(target_blocks))
    }

    fn changes(self: Arc<Self>, poll: Duration) -> Result<Receiver<ChainEvent>, ChainError> {
        Arc::clone(&self.inner).changes(poll)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use std::cell::Cell;

    fn quick(attempts: u32) -> Retry {
        Retry {
            attempts,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        }
    }

    fn busy() -> ChainError {
        ChainError::Http {
            url: "u".into(),
            status: 503,
            body: String::new(),
        }
    }

    #[test]
    fn transient_errors_are_retried_until_an_answer() {
        let calls = Cell::new(0);
        let got = quick(5).run("x", || {
            calls.set(calls.get() + 1);
            if calls.get() < 4 {
                Err(busy())
            } else {
                Ok(7)
            }
        });
        assert_eq!(got.unwrap(), 7);
        assert_eq!(calls.get(), 4);
    }

    #[test]
    fn final_answers_and_spent_attempts_come_back() {
        let calls = Cell::new(0);
        let got: Result<(), _> = quick(5).run("x", || {
            calls.set(calls.get() + 1);
            Err(ChainError::NotFound("h".into()))
        });
        assert!(matches!(got, Err(ChainError::NotFound(_))));
        assert_eq!(calls.get(), 1, "a final answer is not retried");
        calls.set(0);
        let got: Result<(), _> = quick(3).run("x", || {
            calls.set(calls.get() + 1);
            Err(busy())
        });
        assert_eq!(got.unwrap_err().http_status(), Some(503));
        assert_eq!(calls.get(), 3);
    }
}
