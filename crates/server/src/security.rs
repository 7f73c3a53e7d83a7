//! The headers every response carries: a Content-Security-Policy (the pages' own, a sandbox for
//! content in an opaque origin, and a deny-all default for everything else), `nosniff`,
//! `no-referrer`, and `Cache-Control: no-store` where a handler did not say how its response may
//! be cached (the catalog, errors: a cache in front must not keep them; docs/deploy.md).

use axum::http::header::{self, HeaderValue};
use axum::response::Response;

/// The pages: their script and style come from `/static`, media from the gateway itself.
pub(crate) const PAGE_CSP: &str = "default-src 'none'; img-src 'self' data:; media-src 'self' blob:; \
script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Content rendered in the browser that is not audio or video: an opaque origin (no
/// `allow-same-origin`), so its scripts run but can read nothing of the gateway's origin (its API
/// answers without CORS, cookies and storage are denied), open no windows and navigate nothing.
pub(crate) const SANDBOX_CSP: &str = "sandbox allow-scripts";

/// Everything else (JSON, media, files, errors): nothing may load, run or frame it, and opened as
/// a document it is sandboxed too.
pub(crate) const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Add the security headers a handler did not set.
pub(crate) async fn headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DEFAULT_CSP));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}
