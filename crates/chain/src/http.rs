//! One HTTP GET for every backend that speaks HTTP (Esplora, Bitcoin Core's REST): statuses kept
//! as numbers, transport errors kept as sources, and answers bounded by a limit that is an error
//! when exceeded (never a silent truncation).

use crate::ChainError;
use std::io::Read;
use std::time::Duration;

/// Most bytes of a raw block (a block is at most 4,000,000 bytes on the wire).
pub const MAX_BLOCK: u64 = 8 << 20;
/// Most bytes of a mempool txid list: 64 hex digits and punctuation per txid, for a mempool of
/// 300,000 transactions (Core's default 300 MB mempool holds about that many) with room to spare.
pub const MAX_MEMPOOL_LIST: u64 = 64 << 20;
/// Most bytes of any other answer (a transaction, a status document, a height).
pub const MAX_SMALL: u64 = 8 << 20;

/// An agent with the timeouts every backend uses.
pub(crate) fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .build()
}

/// GET `url`; `what` names the answer in errors, `limit` bounds it.
pub(crate) fn get(
    agent: &ureq::Agent,
    url: &str,
    what: &str,
    limit: u64,
) -> Result<Vec<u8>, ChainError> {
    match agent.get(url).call() {
        Ok(resp) => read_limited(resp.into_reader(), url, what, limit),
        Err(ureq::Error::Status(404, _)) => Err(ChainError::NotFound(what.to_string())),
        Err(ureq::Error::Status(status, resp)) => Err(status_error(url, status, resp)),
        Err(ureq::Error::Transport(t)) => Err(ChainError::Transport {
            url: url.to_string(),
            source: Box::new(t),
        }),
    }
}

/// An HTTP error status as a [`ChainError::Http`], with the start of the body.
pub(crate) fn status_error(url: &str, status: u16, resp: ureq::Response) -> ChainError {
    let mut body = String::new();
    let _ = resp.into_reader().take(512).read_to_string(&mut body);
    ChainError::Http {
        url: url.to_string(),
        status,
        body: body.trim().to_string(),
    }
}

/// Read at most `limit` bytes; more is [`ChainError::TooLarge`].
pub(crate) fn read_limited(
    r: impl Read,
    url: &str,
    what: &str,
    limit: u64,
) -> Result<Vec<u8>, ChainError> {
    let mut body = Vec::new();
    r.take(limit.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| ChainError::Transport {
            url: url.to_string(),
            source: Box::new(e),
        })?;
    if body.len() as u64 > limit {
        return Err(ChainError::TooLarge {
            what: what.to_string(),
            limit,
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn an_answer_over_the_limit_is_an_error_that_names_it() {
        let e = read_limited(&[0u8; 11][..], "u", "mempool txids", 10).unwrap_err();
        assert!(matches!(e, ChainError::TooLarge { limit: 10, .. }));
        assert!(e.to_string().contains("mempool txids"), "{e}");
        assert_eq!(
            read_limited(&[0u8; 10][..], "u", "x", 10).unwrap().len(),
            10
        );
    }
}
