//! Bitcoin Core's ZMQ `sequence` topic as a stream of [`ChainEvent`]s.
//!
//! Each message has three frames: the topic, a body of a 32-byte hash (display byte order) and
//! a label (`C` block connected, `D` disconnected, `A` tx added to the mempool, `R` removed; `A`
//! and `R` carry an 8-byte mempool sequence), and a 4-byte little-endian message counter. ZMQ
//! drops messages when a subscriber falls behind, so a gap in the counter, or a long silence,
//! makes the subscriber re-read the tip and the mempool and report the difference.

use super::CoreBackend;
use crate::{ChainBackend, ChainError, ChainEvent};
use bitcoin::hashes::Hash;
use bitcoin::Txid;
use std::collections::HashSet;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;
use zeromq::{Socket, SocketRecv};

/// One decoded `sequence` notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sequence {
    /// A block was connected or disconnected: the tip moved.
    Block,
    /// A transaction entered the mempool.
    Added(Txid),
    /// A transaction left the mempool.
    Removed(Txid),
}

/// Decode a `sequence` body; `None` for anything else (a newer label is ignored, not fatal).
pub(crate) fn decode(body: &[u8]) -> Option<Sequence> {
    if body.len() < 33 {
        return None;
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&body[..32]);
    hash.reverse();
    match (body[32], body.len()) {
        (b'C' | b'D', 33) => Some(Sequence::Block),
        (b'A', 41) => Some(Sequence::Added(Txid::from_byte_array(hash))),
        (b'R', 41) => Some(Sequence::Removed(Txid::from_byte_array(hash))),
        _ => None,
    }
}

/// What the subscriber remembers to turn a resync into differences.
struct Follower {
    backend: Arc<CoreBackend>,
    out: Sender<ChainEvent>,
    mempool: HashSet<Txid>,
    tip: Option<crate::BlockRef>,
}

impl Follower {
    /// Send, or say the receiver is gone.
    fn send(&self, e: ChainEvent) -> bool {
        self.out.send(e).is_ok()
    }

    fn tip(&mut self) -> bool {
        match self.backend.tip() {
            Ok(t) if Some(t) != self.tip => {
                self.tip = Some(t);
                self.send(ChainEvent::Tip(t))
            }
            Ok(_) => true,
            Err(e) => {
                tracing::warn!("zmq follower, tip: {e}");
                true
            }
        }
    }

    /// Re-read tip and mempool; report what changed.
    fn resync(&mut self) -> bool {
        if !self.tip() {
            return false;
        }
        let now: HashSet<Txid> = match self.backend.mempool_txids() {
            Ok(v) => v.into_iter().collect(),
            Err(e) => {
                tracing::warn!("zmq follower, mempool: {e}");
                return true;
            }
        };
        let added: Vec<_> = now.difference(&self.mempool).copied().collect();
        let removed: Vec<_> = self.mempool.difference(&now).copied().collect();
        self.mempool = now;
        added
            .into_iter()
            .map(ChainEvent::MempoolAdded)
            .chain(removed.into_iter().map(ChainEvent::MempoolRemoved))
            .all(|e| self.send(e))
    }

    fn apply(&mut self, s: Sequence) -> bool {
        match s {
            Sequence::Block => self.tip(),
            Sequence::Added(t) => !self.mempool.insert(t) || self.send(ChainEvent::MempoolAdded(t)),
            Sequence::Removed(t) => {
                !self.mempool.remove(&t) || self.send(ChainEvent::MempoolRemoved(t))
            }
        }
    }
}

/// Subscribe to `endpoint` and follow the node until the receiver is dropped. Fails at once if
/// the endpoint cannot be reached; later outages are ridden out with resyncs.
pub(crate) fn spawn(
    backend: Arc<CoreBackend>,
    endpoint: &str,
    poll: Duration,
) -> Result<Receiver<ChainEvent>, ChainError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ChainError::Unavailable(format!("zmq runtime: {e}")))?;
    let mut socket = zeromq::SubSocket::new();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), socket.connect(endpoint))
            .await
            .map_err(|_| format!("connecting to {endpoint} timed out"))?
            .map_err(|e| format!("connecting to {endpoint}: {e}"))?;
        socket
            .subscribe("sequence")
            .await
            .map_err(|e| format!("subscribing on {endpoint}: {e}"))
    })
    .map_err(ChainError::Unavailable)?;
    let (out, rx) = channel();
    let mut f = Follower {
        backend,
        out,
        mempool: HashSet::new(),
        tip: None,
    };
    // Report where things stand now; from here on, the notifications carry the changes.
    if !f.resync() {
        return Ok(rx);
    }
    let silence = (poll * 10).max(Duration::from_secs(30));
    std::thread::Builder::new()
        .name("core-zmq".into())
        .spawn(move || {
            rt.block_on(async move {
                let mut last: Option<u32> = None;
                loop {
                    let msg = match tokio::time::timeout(silence, socket.recv()).await {
                        Err(_) => {
                            if !f.resync() {
                                return;
                            }
                            continue;
                        }
                        Ok(Err(e)) => {
                            tracing::warn!("zmq: {e}");
                            tokio::time::sleep(poll).await;
                            if !f.resync() {
                                return;
                            }
                            continue;
                        }
                        Ok(Ok(m)) => m,
                    };
                    let (Some(body), counter) = (msg.get(1), msg.get(2)) else {
                        continue;
                    };
                    let counter = counter
                        .filter(|c| c.len() == 4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                    let gap =
                        matches!((last, counter), (Some(l), Some(c)) if c != l.wrapping_add(1));
                    last = counter.or(last);
                    let ok = if gap {
                        f.resync()
                    } else {
                        decode(body).is_none_or(|s| f.apply(s))
                    };
                    if !ok {
                        return;
                    }
                }
            });
        })
        .map_err(|e| ChainError::Unavailable(format!("zmq thread: {e}")))?;
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_label_and_ignores_the_rest() {
        let mut body = (0u8..32).collect::<Vec<_>>();
        body.push(b'A');
        body.extend_from_slice(&7u64.to_le_bytes());
        let Some(Sequence::Added(txid)) = decode(&body) else {
            panic!("an add");
        };
        // Display order on the wire: the txid's string starts with the first byte sent.
        assert!(txid.to_string().starts_with("000102"), "{txid}");
        body[32] = b'R';
        assert!(matches!(decode(&body), Some(Sequence::Removed(t)) if t == txid));
        body.truncate(33);
        body[32] = b'C';
        assert_eq!(decode(&body), Some(Sequence::Block));
        body[32] = b'D';
        assert_eq!(decode(&body), Some(Sequence::Block));
        body[32] = b'Z';
        assert_eq!(decode(&body), None, "a label from a newer Core is ignored");
        assert_eq!(decode(&body[..20]), None, "short bodies are ignored");
        body[32] = b'A';
        assert_eq!(
            decode(&body),
            None,
            "an add without its sequence is malformed"
        );
    }
}
