//! The publishers this gateway's viewer trusts: given at start (`bitflix serve --trust KEY`) or
//! pinned from the watch page, kept in a file so pins survive a restart. With any, the catalog
//! lists only their contents unless asked for all.
//!
//! Pinning changes state, so it is guarded against other origins: the request must carry the
//! header `x-bitflix-action: trust` (a cross-origin page, a sandboxed content included, cannot send
//! it without a CORS preflight, which this server never grants) and an `Origin`, when sent, must
//! be the gateway's own.

use crate::viewer::Viewer;
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use index::ContentSummary;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

/// How this gateway's viewer sees the catalog.
#[derive(Clone, Default)]
pub struct View {
    trusted: Arc<RwLock<Vec<String>>>,
    file: Option<PathBuf>,
    /// The viewer's key, path and wallet, for interactive films.
    viewer: Option<Arc<dyn Viewer>>,
    /// The BitTorrent side, for contents behind a commitment.
    swarms: Option<Arc<dyn crate::Swarms>>,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View")
            .field("trusted", &self.trusted)
            .field("file", &self.file)
            .field("viewer", &self.viewer.is_some())
            .field("swarms", &self.swarms.is_some())
            .finish()
    }
}

/// A publisher key (64 hex digits) or fingerprint (16 or more), lower case; `None` otherwise.
pub fn valid_key(key: &str) -> Option<String> {
    let k = key
        .trim()
        .trim_start_matches("script:")
        .to_ascii_lowercase();
    (k.len() >= 16 && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_hexdigit())).then_some(k)
}

impl View {
    /// Trust `keys` (keys or fingerprints); nothing is kept across restarts.
    pub fn with_trusted(keys: Vec<String>) -> View {
        View {
            trusted: Arc::new(RwLock::new(keys)),
            file: None,
            viewer: None,
            swarms: None,
        }
    }

    /// Trust `keys` and the pins in `file` (one key per line), where pins from the page are saved.
    pub fn with_file(keys: Vec<String>, file: PathBuf) -> std::io::Result<View> {
        let mut all = keys;
        match std::fs::read_to_string(&file) {
            Ok(text) => all.extend(text.lines().filter_map(valid_key)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        all.dedup();
        Ok(View {
            trusted: Arc::new(RwLock::new(all)),
            file: Some(file),
            viewer: None,
            swarms: None,
        })
    }

    /// This view with the viewer's key, path and wallet (interactive films' choices).
    pub fn with_viewer(mut self, viewer: Arc<dyn Viewer>) -> View {
        self.viewer = Some(viewer);
        self
    }

    /// This view fetching contents behind a commitment through `swarms`.
    pub fn with_swarms(mut self, swarms: Arc<dyn crate::Swarms>) -> View {
        self.swarms = Some(swarms);
        self
    }

    /// The BitTorrent side, if this gateway has one.
    pub fn swarms(&self) -> Option<Arc<dyn crate::Swarms>> {
        self.swarms.clone()
    }

    /// The viewer's side, if this gateway has one.
    pub fn viewer(&self) -> Option<Arc<dyn Viewer>> {
        self.viewer.clone()
    }

    /// Whether any publisher is trusted.
    pub fn any(&self) -> bool {
        !self
            .trusted
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// True when `s` comes from a trusted publisher.
    pub fn trusts(&self, s: &ContentSummary) -> bool {
        let trusted = self.trusted.read().unwrap_or_else(PoisonError::into_inner);
        s.publisher
            .as_ref()
            .is_some_and(|p| trusted.iter().any(|t| p.matches(t)))
    }

    fn set(&self, key: String, trust: bool) -> Result<(), ApiError> {
        let mut t = self.trusted.write().unwrap_or_else(PoisonError::into_inner);
        t.retain(|k| *k != key);
        if trust {
            t.push(key);
        }
        if let Some(file) = &self.file {
            let body: String = t.iter().map(|k| format!("{k}\n")).collect();
            durable::write(file, body.as_bytes())
                .map_err(|e| ApiError::Internal(format!("saving {}: {e}", file.display())))?;
        }
        Ok(())
    }
}

/// Only a same-origin page of this gateway may change its state: pin a publisher (`action`
/// `trust`), sign a choice (`choose`), record a path (`record`).
pub(crate) fn guard(headers: &HeaderMap, action: &str) -> Result<(), ApiError> {
    let text = |n| {
        headers
            .get(n)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    if text("x-bitflix-action") != Some(action) {
        return Err(ApiError::Forbidden(format!(
            "this request needs the header x-bitflix-action: {action}"
        )));
    }
    if let Some(origin) = text("origin") {
        let host = text("host").unwrap_or("");
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if own != Some(host) {
            return Err(ApiError::Forbidden(format!(
                "origin {origin} may not change this gateway's state"
            )));
        }
    }
    Ok(())
}

async fn change(
    st: &AppState,
    key: &str,
    headers: &HeaderMap,
    trust: bool,
) -> Result<Response, ApiError> {
    guard(headers, "trust")?;
    let key = valid_key(key).ok_or_else(|| {
        ApiError::BadRequest(
            "a publisher key is 64 hex digits, or its fingerprint of at least 16".into(),
        )
    })?;
    st.view.set(key, trust)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/trust/{key}`: trust a publisher.
pub(crate) async fn pin(
    State(st): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    change(&st, &key, &headers, true).await
}

/// `DELETE /api/trust/{key}`: stop trusting a publisher.
pub(crate) async fn unpin(
    State(st): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    change(&st, &key, &headers, false).await
}
