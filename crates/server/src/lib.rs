//! `bitflix serve`: the gateway. [`app`] builds the router (tested with `oneshot`); [`serve`]
//! runs it with graceful shutdown. Pages: the catalog (`/`) and a watch page per content
//! (`/watch/{id}`); JSON API under `/api`; the verified file at `/api/content/{id}/file` with HTTP
//! Range support so players can seek.

mod error;
mod openapi;
mod pages;
mod range;

pub use error::ApiError;

use axum::extract::{FromRef, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bitcoin::Txid;
use index::{Catalog, ContentSummary};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// The catalog the server shows, shared with the scanner that fills it.
pub type SharedCatalog = Arc<RwLock<Catalog>>;

/// Rewrapped WebM files, by content and verified length (a film still arriving gets a new entry
/// as it grows).
type WebmCache = Arc<Mutex<HashMap<(Txid, usize), Arc<Vec<u8>>>>>;

#[derive(Clone)]
struct AppState {
    catalog: SharedCatalog,
    webm: WebmCache,
}

impl FromRef<AppState> for SharedCatalog {
    fn from_ref(s: &AppState) -> SharedCatalog {
        Arc::clone(&s.catalog)
    }
}

/// The router.
pub fn app(catalog: SharedCatalog) -> Router {
    let state = AppState {
        catalog,
        webm: Arc::default(),
    };
    Router::new()
        .route("/", get(catalog_page))
        .route("/watch/{id}", get(watch_page))
        .route("/api/catalog", get(api_catalog))
        .route("/api/content/{id}", get(api_content))
        .route("/api/content/{id}/file", get(api_file))
        .route("/api/content/{id}/stream", get(api_stream))
        .route(
            "/api/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .fallback(|| async { ApiError::NotFound("no such page".into()) })
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .with_state(state)
}

/// Serve `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    catalog: SharedCatalog,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(catalog))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The verified CVPM bytes of a film as WebM (the whole stream, or the whole packets of a film
/// still arriving), rewrapped once per verified length.
async fn webm(cache: &WebmCache, id: Txid, cvpm: Vec<u8>) -> Result<Arc<Vec<u8>>, ApiError> {
    let key = (id, cvpm.len());
    if let Some(hit) = cache
        .lock()
        .map_err(|_| ApiError::Internal("cache lock poisoned".into()))?
        .get(&key)
    {
        return Ok(Arc::clone(hit));
    }
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let stream = media::format::Stream::decode_prefix(&cvpm).map_err(|e| e.to_string())?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = dir.path().join("film.webm");
        media::rewrap::to_webm(&stream, &out).map_err(|e| e.to_string())?;
        std::fs::read(&out).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| {
        ApiError::Unplayable(format!(
            "content {id} is declared video/x-cvpm but does not rewrap: {e}"
        ))
    })?;
    let bytes = Arc::new(bytes);
    let mut c = cache
        .lock()
        .map_err(|_| ApiError::Internal("cache lock poisoned".into()))?;
    if c.len() >= 16 {
        c.clear(); // a small bound; films are small
    }
    c.insert(key, Arc::clone(&bytes));
    Ok(bytes)
}

fn parse_id(id: &str) -> Result<Txid, ApiError> {
    if id.len() != 64 {
        return Err(ApiError::BadRequest(
            "a content id is 64 hex characters".into(),
        ));
    }
    id.parse()
        .map_err(|_| ApiError::BadRequest("a content id is 64 hex characters".into()))
}

fn summaries(catalog: &SharedCatalog) -> Result<Vec<ContentSummary>, ApiError> {
    let c = catalog
        .read()
        .map_err(|_| ApiError::Internal("catalog lock poisoned".into()))?;
    Ok(c.summaries())
}

fn summary(catalog: &SharedCatalog, id: &str) -> Result<ContentSummary, ApiError> {
    let id = parse_id(id)?;
    let c = catalog
        .read()
        .map_err(|_| ApiError::Internal("catalog lock poisoned".into()))?;
    c.get(&id)
        .map(|x| c.summary(x))
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))
}

async fn catalog_page(State(c): State<SharedCatalog>) -> Result<Html<String>, ApiError> {
    Ok(Html(pages::catalog(&summaries(&c)?)))
}

async fn watch_page(
    State(c): State<SharedCatalog>,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    Ok(Html(pages::watch(&summary(&c, &id)?)))
}

async fn api_catalog(
    State(c): State<SharedCatalog>,
) -> Result<Json<Vec<ContentSummary>>, ApiError> {
    Ok(Json(summaries(&c)?))
}

async fn api_content(
    State(c): State<SharedCatalog>,
    Path(id): Path<String>,
) -> Result<Json<ContentSummary>, ApiError> {
    Ok(Json(summary(&c, &id)?))
}

/// The verified bytes and media type of a content.
fn verified(st: &AppState, id: &str) -> Result<(Txid, Vec<u8>, String), ApiError> {
    let id = parse_id(id)?;
    let cat = st
        .catalog
        .read()
        .map_err(|_| ApiError::Internal("catalog lock poisoned".into()))?;
    let content = cat
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    let mime = content
        .assembler
        .header()
        .media_type
        .split(';')
        .next()
        .unwrap_or("application/octet-stream")
        .trim()
        .to_string();
    Ok((id, content.verified_bytes(), mime))
}

/// The file players read: CVPM rewrapped to WebM, other media as published.
async fn api_file(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (id, bytes, mime) = verified(&st, &id)?;
    if mime == "video/x-cvpm" {
        let webm = webm(&st.webm, id, bytes).await?;
        return ranged(&webm, "video/webm", &headers);
    }
    ranged(&bytes, &mime, &headers)
}

/// The raw verified stream, exactly as published on chain.
async fn api_stream(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (_, bytes, _) = verified(&st, &id)?;
    ranged(&bytes, "application/octet-stream", &headers)
}

/// A body with HTTP Range support (one range).
fn ranged(bytes: &[u8], mime: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let len = bytes.len() as u64;
    let (status, start, end) = match headers.get(header::RANGE) {
        None => (StatusCode::OK, 0, len),
        Some(v) => {
            let (s, e) = range::parse(v.to_str().unwrap_or(""), len)
                .ok_or(ApiError::RangeNotSatisfiable(len))?;
            (StatusCode::PARTIAL_CONTENT, s, e)
        }
    };
    let mut resp = (status, bytes[start as usize..end as usize].to_vec()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        mime.parse()
            .map_err(|_| ApiError::Internal("bad media type".into()))?,
    );
    h.insert(
        header::ACCEPT_RANGES,
        header::HeaderValue::from_static("bytes"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        let cr = format!("bytes {start}-{}/{len}", end.saturating_sub(1));
        h.insert(
            header::CONTENT_RANGE,
            cr.parse()
                .map_err(|_| ApiError::Internal("bad range".into()))?,
        );
    }
    Ok(resp)
}
