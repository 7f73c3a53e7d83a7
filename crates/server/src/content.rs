//! The content routes. A content's declared media type is hostile: it is matched against fixed
//! tables and never echoed. Only audio and video are served inline on the gateway's origin
//! (`/api/content/{id}/file`; CVPM muxed to WebM, and cut into fragments for the player by
//! [`crate::mse`]); documents and images are rendered only in
//! an opaque origin (`/sandbox/{id}`, CSP `sandbox`); anything else is a download. Complete
//! content is immutable (strong ETag, cached for a year); content still arriving is never cached.

use crate::security::SANDBOX_CSP;
use crate::source::{verified, Verified};
use crate::{parse_id, range, ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// How a declared media type is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Audio or video a browser plays: inline on the gateway's origin, with this type.
    Media(&'static str),
    /// CVPM: rewrapped to WebM.
    Cvpm,
    /// A document or image: rendered only in the sandbox, with this type.
    Document(&'static str),
    /// A bundle of files (an app): served only from the sandbox, by path ([`crate::bundle`]).
    Bundle,
    /// Anything else: bytes to download.
    Download,
}

/// Declared type (lower case, no parameters) to the type served inline.
const MEDIA: &[(&str, &str)] = &[
    ("video/webm", "video/webm"),
    ("video/mp4", "video/mp4"),
    ("video/ogg", "video/ogg"),
    ("audio/webm", "audio/webm"),
    ("audio/ogg", "audio/ogg"),
    ("audio/opus", "audio/ogg"),
    ("audio/mpeg", "audio/mpeg"),
    ("audio/mp3", "audio/mpeg"),
    ("audio/mp4", "audio/mp4"),
    ("audio/aac", "audio/aac"),
    ("audio/flac", "audio/flac"),
    ("audio/x-flac", "audio/flac"),
    ("audio/wav", "audio/wav"),
    ("audio/wave", "audio/wav"),
    ("audio/x-wav", "audio/wav"),
];

/// Declared type to the type a sandboxed document is served with.
const DOCUMENTS: &[(&str, &str)] = &[
    ("text/html", "text/html; charset=utf-8"),
    ("application/xhtml+xml", "application/xhtml+xml"),
    ("image/svg+xml", "image/svg+xml"),
    ("text/plain", "text/plain; charset=utf-8"),
    ("image/png", "image/png"),
    ("image/jpeg", "image/jpeg"),
    ("image/gif", "image/gif"),
    ("image/webp", "image/webp"),
    ("image/avif", "image/avif"),
];

/// How content declared as `declared` is served.
pub(crate) fn classify(declared: &str) -> Kind {
    let t = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if t == "video/x-cvpm" {
        return Kind::Cvpm;
    }
    if t == cvp::bundle::BUNDLE_MEDIA_TYPE {
        return Kind::Bundle;
    }
    let find = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(declared, _)| *declared == t)
            .map(|(_, served)| *served)
    };
    find(MEDIA)
        .map(Kind::Media)
        .or_else(|| find(DOCUMENTS).map(Kind::Document))
        .unwrap_or(Kind::Download)
}

/// Where a reply's bytes come from.
pub(crate) enum Body<'a> {
    /// In memory (a rewrapped film).
    Bytes(&'a [u8]),
    /// The verified stream in the index store, read by range.
    Stored(&'a Verified),
    /// `len` bytes of the verified stream from `offset` (a file of a bundle).
    Part(&'a Verified, u64, u64),
}

impl Body<'_> {
    fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Stored(v) => v.len,
            Body::Part(_, _, len) => *len,
        }
    }

    /// Bytes `start..end` as a response body. A stored range of more than [`CHUNK`] is streamed,
    /// read from the store one chunk at a time as the client takes it: a film is never held in
    /// memory whole, however large the range asked.
    fn http(&self, start: u64, end: u64) -> Result<axum::body::Body, ApiError> {
        match self {
            Body::Bytes(b) => Ok(b[start as usize..end as usize].to_vec().into()),
            Body::Part(v, offset, _) => Body::Stored(v).http(offset + start, offset + end),
            Body::Stored(v) if end - start <= CHUNK => Ok(v.read(start..end)?.into()),
            Body::Stored(v) => {
                let read = v.reader();
                let chunks = (start..end).step_by(CHUNK as usize).map(move |at| {
                    let to = (at + CHUNK).min(end);
                    read(at..to).map_err(std::io::Error::other)
                });
                Ok(axum::body::Body::from_stream(futures_util::stream::iter(
                    chunks,
                )))
            }
        }
    }
}

/// The most bytes read from the store for one piece of a response body.
const CHUNK: u64 = 1 << 20;

/// One representation of a content, and the headers it is served with.
pub(crate) struct Reply<'a> {
    pub body: Body<'a>,
    pub mime: &'static str,
    /// Set for complete content only (its bytes never change).
    pub etag: Option<String>,
    pub csp: Option<&'static str>,
    pub download: Option<String>,
    /// `Access-Control-Allow-Origin: *`: for the sandbox, whose opaque origin reads an app's files.
    pub cors: bool,
}

impl<'a> Reply<'a> {
    /// The verified bytes as they are.
    fn raw(v: &'a Verified, mime: &'static str) -> Reply<'a> {
        Reply {
            body: Body::Stored(v),
            mime,
            etag: v.complete.then(|| format!("\"{}-{}-raw\"", v.id, v.len)),
            csp: None,
            download: None,
            cors: false,
        }
    }

    fn download(mut self, v: &Verified) -> Self {
        self.download = Some(format!("attachment; filename=\"{}.bin\"", v.id));
        self
    }
}

/// The file players read: audio and video as published (with a type from the table), CVPM
/// rewrapped to WebM; anything else is not served on this origin but redirected to the sandbox.
pub(crate) async fn file(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let v = verified(&st, parse_id(&id)?)?;
    match classify(&v.declared_type) {
        Kind::Media(mime) => ranged(Reply::raw(&v, mime), &headers),
        Kind::Cvpm => {
            let (id, complete) = (v.id, v.complete);
            let muxed = crate::mse::muxed(&st, &v).await?;
            let webm = muxed.file().await?;
            let reply = Reply {
                body: Body::Bytes(&webm.bytes),
                mime: "video/webm",
                etag: complete
                    .then(|| format!("\"{id}-{}-webm-{}\"", webm.bytes.len(), webm.digest)),
                csp: None,
                download: None,
                cors: false,
            };
            ranged(reply, &headers)
        }
        Kind::Document(_) | Kind::Download | Kind::Bundle => {
            let mut resp = StatusCode::SEE_OTHER.into_response();
            let h = resp.headers_mut();
            h.insert(
                header::LOCATION,
                header_value(&format!("/sandbox/{}", v.id))?,
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(resp)
        }
    }
}

/// Any content in an opaque origin: documents and images rendered (their scripts cannot reach
/// the gateway's origin), media played, anything else downloaded.
pub(crate) async fn sandbox(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let v = verified(&st, parse_id(&id)?)?;
    let mut reply = match classify(&v.declared_type) {
        Kind::Media(mime) | Kind::Document(mime) => Reply::raw(&v, mime),
        Kind::Cvpm | Kind::Download => Reply::raw(&v, "application/octet-stream").download(&v),
        // An app's relative paths resolve below its own folder.
        Kind::Bundle => {
            let mut resp = StatusCode::PERMANENT_REDIRECT.into_response();
            resp.headers_mut().insert(
                header::LOCATION,
                header_value(&format!("/sandbox/{}/", v.id))?,
            );
            return Ok(resp);
        }
    };
    reply.csp = Some(SANDBOX_CSP);
    reply.cors = true;
    ranged(reply, &headers)
}

/// The raw verified stream, exactly as published on chain, as a download.
pub(crate) async fn stream(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let v = verified(&st, parse_id(&id)?)?;
    ranged(
        Reply::raw(&v, "application/octet-stream").download(&v),
        &headers,
    )
}

/// Bytes made by the gateway (a fragment, an init segment) with validators, caching and Range:
/// `etag` (and immutable caching) only for bytes that never change.
pub(crate) fn bytes(
    body: &[u8],
    mime: &'static str,
    etag: Option<String>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let reply = Reply {
        body: Body::Bytes(body),
        mime,
        etag,
        csp: None,
        download: None,
        cors: false,
    };
    ranged(reply, headers)
}

pub(crate) fn header_value(s: &str) -> Result<HeaderValue, ApiError> {
    s.parse()
        .map_err(|_| ApiError::Internal(format!("not a header value: {s}")))
}

/// Does a list of entity tags (`If-None-Match`: weak comparison) name `etag`?
fn matches(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// A body with validators, caching and HTTP Range support (one range).
pub(crate) fn ranged(reply: Reply<'_>, headers: &HeaderMap) -> Result<Response, ApiError> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let fresh = match (&reply.etag, text(header::IF_NONE_MATCH)) {
        (Some(etag), Some(list)) => matches(list, etag),
        _ => false,
    };
    // A Range applies only if `If-Range`, when sent, names this exact representation.
    let range = text(header::RANGE).filter(|_| match text(header::IF_RANGE) {
        None => true,
        Some(tag) => reply.etag.as_deref() == Some(tag.trim()),
    });
    let len = reply.body.len();
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let (status, start, end) = match range {
            None => (StatusCode::OK, 0, len),
            Some(v) => {
                let (s, e) = range::parse(v, len).ok_or(ApiError::RangeNotSatisfiable(len))?;
                (StatusCode::PARTIAL_CONTENT, s, e)
            }
        };
        let mut resp = (status, reply.body.http(start, end)?).into_response();
        let h = resp.headers_mut();
        // Known up front even for a streamed body, so players see the size (and hyper checks it).
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(reply.mime));
        if status == StatusCode::PARTIAL_CONTENT {
            let cr = format!("bytes {start}-{}/{len}", end.saturating_sub(1));
            h.insert(header::CONTENT_RANGE, header_value(&cr)?);
        }
        if let Some(d) = &reply.download {
            h.insert(header::CONTENT_DISPOSITION, header_value(d)?);
        }
        resp
    };
    let h = resp.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    match &reply.etag {
        Some(etag) => {
            h.insert(header::ETAG, header_value(etag)?);
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
        }
        None => {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    if let Some(csp) = reply.csp {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    if reply.cors {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::{classify, matches, Kind};

    #[test]
    fn declared_types_map_to_the_tables_only() {
        assert_eq!(classify("video/webm"), Kind::Media("video/webm"));
        assert_eq!(
            classify(" Video/MP4; codecs=\"av01\""),
            Kind::Media("video/mp4")
        );
        assert_eq!(classify("video/x-cvpm"), Kind::Cvpm);
        assert_eq!(
            classify("text/html"),
            Kind::Document("text/html; charset=utf-8")
        );
        assert_eq!(classify("image/svg+xml"), Kind::Document("image/svg+xml"));
        assert_eq!(classify("video/x-cvpm\"><script>"), Kind::Download);
        assert_eq!(classify("video/webm\r\nSet-Cookie: a=b"), Kind::Download);
        assert_eq!(classify("application/javascript"), Kind::Download);
        assert_eq!(classify(""), Kind::Download);
    }

    #[test]
    fn if_none_match_lists() {
        assert!(matches("\"a\"", "\"a\""));
        assert!(matches("W/\"a\", \"b\"", "\"a\""));
        assert!(matches("*", "\"a\""));
        assert!(!matches("\"b\"", "\"a\""));
    }
}
