//! The default change stream: poll the tip and the mempool and report differences.

use crate::{ChainBackend, ChainEvent};
use std::collections::HashSet;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::Duration;

/// Start a thread that polls `backend` every `every` and sends what changed. The thread ends when
/// the receiver is dropped. Errors from the backend are logged and the poll goes on, so a backend
/// that comes back is followed again.
pub fn spawn<B: ChainBackend + ?Sized + 'static>(
    backend: Arc<B>,
    every: Duration,
) -> Receiver<ChainEvent> {
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("chain-poller".into())
        .spawn(move || {
            let mut tip = None;
            let mut mempool: HashSet<bitcoin::Txid> = HashSet::new();
            loop {
                let mut events = Vec::new();
                match backend.tip() {
                    Ok(t) if Some(t) != tip => {
                        tip = Some(t);
                        events.push(ChainEvent::Tip(t));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("poll tip: {e}"),
                }
                match backend.mempool_txids() {
                    Ok(now) => {
                        let now: HashSet<_> = now.into_iter().collect();
                        events.extend(
                            now.difference(&mempool)
                                .map(|t| ChainEvent::MempoolAdded(*t)),
                        );
                        events.extend(
                            mempool
                                .difference(&now)
                                .map(|t| ChainEvent::MempoolRemoved(*t)),
                        );
                        mempool = now;
                    }
                    Err(e) => tracing::warn!("poll mempool: {e}"),
                }
                for e in events {
                    if tx.send(e).is_err() {
                        return;
                    }
                }
                std::thread::sleep(every);
            }
        })
        .ok();
    rx
}
