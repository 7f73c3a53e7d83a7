//! Bundles (docs/cvp.md, "Bundles"): an app's files, served only from the sandbox, by relative
//! path: `/sandbox/{id}/` is the entry page and `/sandbox/{id}/PATH` each file, so the app's
//! relative URLs resolve inside its own folder. The types come from a fixed table by the path's
//! extension (the declared ones are never echoed). Every file carries a CSP `sandbox` (an opaque
//! origin: the app cannot read the gateway's pages or API) that allows only this gateway's own
//! URLs: the app loads its files, and other verified content by content id (`/sandbox/{other}`),
//! and nothing from the network. The responses allow any origin to read them (the sandbox's is
//! opaque), which the gateway's own pages and API never do.

use crate::content::{classify, ranged, Body, Kind, Reply};
use crate::source::{verified, Verified};
use crate::{parse_id, ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use cvp::bundle::Index;
use cvp::DecodeError;

/// The CSP of an app's files: an opaque origin, this gateway's URLs only (inline script and
/// WebAssembly allowed: games need them), no forms, no frames of other sites.
pub(crate) const BUNDLE_CSP: &str = "sandbox allow-scripts; default-src 'self' 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' data: blob:; form-action 'none'; base-uri 'none'";

/// The most index bytes read (10,000 files with long paths fit).
const MAX_INDEX: u64 = 4 << 20;

/// File extension to the type it is served with.
const TYPES: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("css", "text/css"),
    ("json", "application/json"),
    ("wasm", "application/wasm"),
    ("txt", "text/plain; charset=utf-8"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("ico", "image/x-icon"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("wav", "audio/wav"),
    ("webm", "video/webm"),
    ("mp4", "video/mp4"),
    ("woff2", "font/woff2"),
    ("woff", "font/woff"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
];

/// The type a bundle file at `path` is served with.
pub fn type_of(path: &str) -> &'static str {
    let ext = path
        .rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    ext.and_then(|e| TYPES.iter().find(|(x, _)| *x == e).map(|(_, t)| *t))
        .unwrap_or("application/octet-stream")
}

/// The bundle index of `v`, read from the verified prefix of its stream.
fn index(v: &Verified) -> Result<Index, ApiError> {
    let mut want = 64 << 10;
    loop {
        let n = want.min(v.len).min(MAX_INDEX);
        let prefix = v.read(0..n)?;
        match Index::decode(&prefix) {
            Ok((ix, _)) => return Ok(ix),
            Err(DecodeError::Truncated(_)) if n < v.len.min(MAX_INDEX) => want *= 4,
            Err(DecodeError::Truncated(_)) if !v.complete => {
                return Err(ApiError::NotFound(format!(
                    "the index of bundle {} is not verified yet",
                    v.id
                )))
            }
            Err(e) => {
                return Err(ApiError::Unplayable(format!(
                    "content {} is declared a bundle but is not one: {e}",
                    v.id
                )))
            }
        }
    }
}

async fn serve(
    st: &AppState,
    id: &str,
    path: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let v = verified(st, parse_id(id)?)?;
    if classify(&v.declared_type) != Kind::Bundle {
        return Err(ApiError::NotFound(format!(
            "content {} is not a bundle: it is at /sandbox/{}",
            v.id, v.id
        )));
    }
    let ix = index(&v)?;
    let e = match path {
        None => ix.entry(),
        Some(p) => ix.find(p),
    }
    .ok_or_else(|| {
        ApiError::NotFound(format!(
            "bundle {} has no file {}",
            v.id,
            path.unwrap_or("(entry)")
        ))
    })?;
    if e.offset + e.len > v.len {
        return Err(ApiError::NotFound(format!(
            "file {} of bundle {} is not verified yet",
            e.path, v.id
        )));
    }
    let reply = Reply {
        body: Body::Part(&v, e.offset, e.len),
        mime: type_of(&e.path),
        etag: v
            .complete
            .then(|| format!("\"{}-{}-{}\"", v.id, e.offset, e.len)),
        csp: Some(BUNDLE_CSP),
        download: None,
        cors: true,
    };
    ranged(reply, headers)
}

/// An error as the app sees it: readable from the sandbox (a missing file is a 404 the app can
/// read), under the same CSP.
fn in_sandbox(r: Result<Response, ApiError>) -> Response {
    let mut resp = r.unwrap_or_else(IntoResponse::into_response);
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(BUNDLE_CSP),
    );
    resp
}

/// `GET /sandbox/{id}/`: a bundle's entry page.
pub(crate) async fn entry(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    in_sandbox(serve(&st, &id, None, &headers).await)
}

/// `GET /sandbox/{id}/{*path}`: a bundle's file.
pub(crate) async fn file(
    State(st): State<AppState>,
    Path((id, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    in_sandbox(serve(&st, &id, Some(&path), &headers).await)
}

#[cfg(test)]
mod tests {
    use super::type_of;

    #[test]
    fn types_come_from_the_extension_only() {
        assert_eq!(type_of("index.html"), "text/html; charset=utf-8");
        assert_eq!(type_of("a/b/Game.WASM"), "application/wasm");
        assert_eq!(type_of("a.b/noext"), "application/octet-stream");
        assert_eq!(type_of("x.exe"), "application/octet-stream");
    }
}
