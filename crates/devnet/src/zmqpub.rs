//! The devnet's changes on a ZMQ `sequence` topic, in Bitcoin Core's format (`-zmqpubsequence`):
//! frames topic, body (32-byte hash in display order + label `C`/`A`/`R`, with an 8-byte mempool
//! sequence after `A` and `R`), and a 4-byte little-endian message counter. A reorg is published
//! as one `C` for the new tip: subscribers re-read the tip on any block label.

use crate::Devnet;
use bitcoin::hashes::Hash;
use chain::ChainEvent;
use zeromq::{Socket, SocketSend, ZmqMessage};

/// The body of one notification.
pub(crate) fn body(event: &ChainEvent, mempool_seq: u64) -> Option<Vec<u8>> {
    let (mut hash, label) = match event {
        ChainEvent::Tip(b) => (b.hash.to_byte_array(), b'C'),
        ChainEvent::MempoolAdded(t) => (t.to_byte_array(), b'A'),
        ChainEvent::MempoolRemoved(t) => (t.to_byte_array(), b'R'),
        _ => return None,
    };
    hash.reverse();
    let mut body = hash.to_vec();
    body.push(label);
    if label != b'C' {
        body.extend_from_slice(&mempool_seq.to_le_bytes());
    }
    Some(body)
}

/// Bind a PUB socket on `endpoint` (e.g. `tcp://127.0.0.1:28332`) and publish the devnet's
/// changes until the process ends. Returns once the socket is bound.
pub async fn publish(devnet: &Devnet, endpoint: &str) -> Result<(), String> {
    let mut socket = zeromq::PubSocket::new();
    socket
        .bind(endpoint)
        .await
        .map_err(|e| format!("binding zmq {endpoint}: {e}"))?;
    let events = devnet.subscribe();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    // The devnet's subscription is a blocking channel: bridge it to the async publisher.
    std::thread::Builder::new()
        .name("devnet-zmq".into())
        .spawn(move || {
            while let Ok(e) = events.recv() {
                if tx.send(e).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let (mut counter, mut mempool_seq) = (0u32, 0u64);
        while let Some(e) = rx.recv().await {
            if !matches!(e, ChainEvent::Tip(_)) {
                mempool_seq += 1;
            }
            let Some(body) = body(&e, mempool_seq) else {
                continue;
            };
            let mut msg = ZmqMessage::from("sequence");
            msg.push_back(body.into());
            msg.push_back(counter.to_le_bytes().to_vec().into());
            counter = counter.wrapping_add(1);
            if let Err(err) = socket.send(msg).await {
                tracing::warn!("zmq publish: {err}");
            }
        }
    });
    Ok(())
}
