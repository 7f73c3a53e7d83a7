//! Where the gateway gets a content's bytes and declared media type: the one function the file
//! routes call ([`verified`]). The bytes stay where they are checked: a [`Verified`] holds the
//! index snapshot it was taken from (or, for a content behind a commitment, the gateway's
//! [`Swarms`] and the record) and reads the ranges a response needs, never the whole film unless
//! asked to.

use crate::swarm::{SwarmState, Swarms};
use crate::{ApiError, AppState};
use bitcoin::Txid;
use cvp::Commitment;
use index::{ContentState, ContentSummary, ReadError, Snapshot};
use std::ops::Range;
use std::sync::Arc;

/// Where a [`Verified`]'s bytes are.
#[derive(Clone)]
enum Bytes {
    /// In the index store, as of this snapshot.
    Store(Arc<Snapshot>),
    /// In the checked prefix of a BitTorrent fetch.
    Swarm(Arc<dyn Swarms>, Commitment),
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bytes::Store(_) => f.write_str("Store"),
            Bytes::Swarm(_, c) => f.debug_tuple("Swarm").field(c).finish(),
        }
    }
}

impl Bytes {
    fn read(&self, id: &Txid, range: Range<u64>) -> Result<Vec<u8>, ApiError> {
        match self {
            Bytes::Store(s) => s.read(id, range).map_err(read_error),
            Bytes::Swarm(sw, c) => sw.read(c, range).map_err(ApiError::Unavailable),
        }
    }
}

/// A content's verified bytes (in the store) and what its publisher says they are.
#[derive(Debug)]
pub(crate) struct Verified {
    /// The content id.
    pub id: Txid,
    /// Where the bytes are read from.
    bytes: Bytes,
    /// Verified bytes available now (the whole stream once complete).
    pub len: u64,
    /// The media type declared on chain: hostile, matched against a table and never echoed.
    pub declared_type: String,
    /// Every segment present, verified and confirmed: these bytes never change again.
    pub complete: bool,
}

impl Verified {
    /// Bytes `range` of the verified stream.
    pub fn read(&self, range: Range<u64>) -> Result<Vec<u8>, ApiError> {
        self.bytes.read(&self.id, range)
    }

    /// A reader of ranges that outlives the request's borrow (for a streamed body).
    pub fn reader(&self) -> impl Fn(Range<u64>) -> Result<Vec<u8>, String> + Send + 'static {
        let (bytes, id) = (self.bytes.clone(), self.id);
        move |r| bytes.read(&id, r).map_err(|e| e.to_string())
    }

    /// A reader of the whole verified stream, for work off the request's task.
    pub fn loader(&self) -> impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static {
        let (bytes, id, len) = (self.bytes.clone(), self.id, self.len);
        move || bytes.read(&id, 0..len).map_err(|e| e.to_string())
    }
}

fn read_error(e: ReadError) -> ApiError {
    match e {
        ReadError::NotFound(id) => ApiError::NotFound(format!("no content {id}")),
        ReadError::Range { len, .. } => ApiError::RangeNotSatisfiable(len),
        ReadError::Changed(id) => ApiError::Changed(id.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// The verified bytes of content `id` in the current snapshot: for a content behind a
/// commitment, the checked prefix of its fetch (waiting for peers and a refused swarm are errors
/// that say so).
pub(crate) fn verified(st: &AppState, id: Txid) -> Result<Verified, ApiError> {
    let snapshot = st.published.get();
    let s = snapshot
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    if let Some(m) = &s.commitment {
        let Some(swarms) = st.view.swarms() else {
            return Err(ApiError::Unavailable(format!(
                "content {id} lives on BitTorrent: the chain holds a commitment to its bytes, not \
                 the bytes, and this gateway does not fetch from BitTorrent (its swarm is {})",
                hex::encode(m.record.infohash)
            )));
        };
        let checked = match swarms.state(&m.record) {
            SwarmState::Fetching { checked, .. } => checked,
            SwarmState::Waiting(why) => {
                return Err(ApiError::Unavailable(format!(
                    "waiting for peers: content {id} lives on BitTorrent and no peer has given its \
                     swarm yet ({why})"
                )))
            }
            SwarmState::Refused(why) => {
                return Err(ApiError::Unplayable(format!(
                    "content {id}'s swarm is refused: {why}"
                )))
            }
        };
        return Ok(Verified {
            id,
            len: checked,
            declared_type: s.header.media_type.clone(),
            complete: checked == m.record.length,
            bytes: Bytes::Swarm(swarms, m.record.clone()),
        });
    }
    Ok(Verified {
        id,
        len: s.verified_length,
        declared_type: s.header.media_type.clone(),
        complete: s.state == ContentState::Complete,
        bytes: Bytes::Store(Arc::clone(&snapshot)),
    })
}

/// How much of `s` is verified now, and whether it is all there: the index's count, or for a
/// content behind a commitment its fetch's checked prefix (what the event streams watch).
pub(crate) fn progress(st: &AppState, s: &ContentSummary) -> (u64, bool) {
    match (&s.commitment, st.view.swarms()) {
        (Some(m), Some(swarms)) => match swarms.state(&m.record) {
            SwarmState::Fetching { checked, .. } => (checked, checked == m.record.length),
            _ => (0, false),
        },
        (Some(_), None) => (0, false),
        (None, _) => (s.verified_length, s.state == ContentState::Complete),
    }
}
