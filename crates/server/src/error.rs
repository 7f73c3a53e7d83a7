//! The one error type of the gateway: details go to the log, users get a clean message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong serving a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Malformed request.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Not allowed from where it came (a state change from another origin).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Unknown content or page.
    #[error("not found: {0}")]
    NotFound(String),
    /// A Range outside the body.
    #[error("range not satisfiable (the body has {0} bytes)")]
    RangeNotSatisfiable(u64),
    /// Content that cannot be turned into a playable file (the publisher's stream is not what it
    /// claims to be).
    #[error("unplayable: {0}")]
    Unplayable(String),
    /// The content changed while it was read (a transaction left the mempool, a reorg): retry.
    #[error("content {0} changed while it was read; try again")]
    Changed(String),
    /// Not possible in the current state (nothing to record, a fee over the cap, too little money).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Something this gateway needs for the request is not there or not answering (no viewer
    /// wallet, the chain backend).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or a broken server state.
    #[error("internal error")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Unplayable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Changed(_) | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(detail) => {
                tracing::error!("internal error: {detail}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut resp = (
            status,
            serde_json::json!({ "error": self.to_string() }).to_string(),
        )
            .into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        if let ApiError::RangeNotSatisfiable(len) = self {
            if let Ok(v) = format!("bytes */{len}").parse() {
                resp.headers_mut()
                    .insert(axum::http::header::CONTENT_RANGE, v);
            }
        }
        resp
    }
}
