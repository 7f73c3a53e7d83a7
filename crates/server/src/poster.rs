//! Posters: the image a publisher put in a content's header (`cvp::Header::poster`). Its type is
//! read from its magic bytes against a fixed table (never from anything declared), only small
//! images are served, and a poster never changes: the header is part of the content id's
//! transaction, so it is cached as immutable from the moment the content is known.

use crate::{parse_id, ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use index::ContentSummary;
use sha2::{Digest, Sha256};

/// The largest poster served (bigger ones are not shown: a poster is a few kB).
pub(crate) const MAX_POSTER: usize = 64 * 1024;

/// The poster of `s` and the type it is served with, if it has one the gateway shows.
pub(crate) fn of(s: &ContentSummary) -> Option<(&[u8], &'static str)> {
    let bytes = s.header.poster.as_deref()?;
    if bytes.len() > MAX_POSTER {
        return None;
    }
    media::poster::sniff(bytes).map(|t| (bytes, t.mime()))
}

/// `GET /api/content/{id}/poster`.
pub(crate) async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let snap = st.published.get();
    let s = snap
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    let (bytes, mime) = of(s).ok_or_else(|| {
        ApiError::NotFound(format!(
            "content {id} has no poster this gateway shows (WebP, AVIF or JPEG of at most {MAX_POSTER} bytes)"
        ))
    })?;
    let etag = format!("\"{}\"", hex_prefix(&Sha256::digest(bytes)));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|list| list.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = bytes.to_vec().into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(resp)
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
