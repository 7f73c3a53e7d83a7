//! Where the gateway gets a content's bytes and declared media type: the one function the file
//! routes call ([`verified`]), so the source can change without touching the routes.

use crate::{ApiError, SharedCatalog};
use bitcoin::Txid;
use index::ContentState;

/// A content's verified bytes and what its publisher says they are.
#[derive(Debug)]
pub(crate) struct Verified {
    /// The content id.
    pub id: Txid,
    /// The verified bytes available now (the whole stream once complete).
    pub bytes: Vec<u8>,
    /// The media type declared on chain: hostile, matched against a table and never echoed.
    pub declared_type: String,
    /// Every segment present, verified and confirmed: these bytes never change again.
    pub complete: bool,
}

/// The verified bytes of content `id`.
pub(crate) fn verified(catalog: &SharedCatalog, id: Txid) -> Result<Verified, ApiError> {
    let cat = catalog
        .read()
        .map_err(|_| ApiError::Internal("catalog lock poisoned".into()))?;
    let content = cat
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    Ok(Verified {
        id,
        bytes: content.verified_bytes(),
        declared_type: content.assembler.header().media_type.clone(),
        complete: cat.summary(content).state == ContentState::Complete,
    })
}
