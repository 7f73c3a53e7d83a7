//! Where the gateway gets a content's bytes and declared media type: the one function the file
//! routes call ([`verified`]). The bytes stay in the index store: a [`Verified`] holds the
//! snapshot it was taken from and reads the ranges a response needs, never the whole film unless
//! asked to.

use crate::ApiError;
use bitcoin::Txid;
use index::{ContentState, Published, ReadError, Snapshot};
use std::ops::Range;
use std::sync::Arc;

/// A content's verified bytes (in the store) and what its publisher says they are.
#[derive(Debug)]
pub(crate) struct Verified {
    /// The content id.
    pub id: Txid,
    /// The state the bytes are read from.
    snapshot: Arc<Snapshot>,
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
        self.snapshot.read(&self.id, range).map_err(read_error)
    }

    /// A reader of ranges that outlives the request's borrow (for a streamed body).
    pub fn reader(&self) -> impl Fn(Range<u64>) -> Result<Vec<u8>, String> + Send + 'static {
        let (snapshot, id) = (Arc::clone(&self.snapshot), self.id);
        move |r| snapshot.read(&id, r).map_err(|e| e.to_string())
    }

    /// A reader of the whole verified stream, for work off the request's task.
    pub fn loader(&self) -> impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static {
        let (snapshot, id, len) = (Arc::clone(&self.snapshot), self.id, self.len);
        move || snapshot.read(&id, 0..len).map_err(|e| e.to_string())
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

/// The verified bytes of content `id` in the current snapshot.
pub(crate) fn verified(published: &Published, id: Txid) -> Result<Verified, ApiError> {
    let snapshot = published.get();
    let s = snapshot
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    if s.state == ContentState::Committed {
        return Err(ApiError::Unavailable(format!(
            "content {id} lives on BitTorrent: the chain holds a commitment to its bytes, not the \
             bytes, and this gateway does not fetch from BitTorrent yet"
        )));
    }
    Ok(Verified {
        id,
        len: s.verified_length,
        declared_type: s.header.media_type.clone(),
        complete: s.state == ContentState::Complete,
        snapshot: Arc::clone(&snapshot),
    })
}
