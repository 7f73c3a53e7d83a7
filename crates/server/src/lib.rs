//! `bitflix serve`: the gateway. [`app`] builds the router (tested with `oneshot`); [`serve`]
//! runs it with graceful shutdown behind the connection limits of [`httpd`]. Pages: the catalog
//! (`/`) and a watch page per content (`/watch/{id}`), their script and style under `/static`;
//! JSON API under `/api`; a content's file at `/api/content/{id}/file` (audio and video only, with
//! HTTP Range support so players can seek) and `/sandbox/{id}` (anything, in an opaque origin):
//! see [`content`]. Every response carries a CSP, `nosniff` and `no-referrer` ([`security`]).

mod content;
mod error;
mod openapi;
mod pages;
mod range;
mod rewrap;
mod security;
mod source;

pub use error::ApiError;
pub use rewrap::{RewrapLimits, Rewrapper};

use axum::extract::{FromRef, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bitcoin::Txid;
use index::{Catalog, ContentSummary};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The catalog the server shows, shared with the scanner that fills it.
pub type SharedCatalog = Arc<RwLock<Catalog>>;

#[derive(Clone)]
struct AppState {
    catalog: SharedCatalog,
    rewrap: Arc<Rewrapper>,
}

impl FromRef<AppState> for SharedCatalog {
    fn from_ref(s: &AppState) -> SharedCatalog {
        Arc::clone(&s.catalog)
    }
}

/// The router, with the default rewrap limits.
pub fn app(catalog: SharedCatalog) -> Router {
    app_with(catalog, Rewrapper::new(RewrapLimits::default()))
}

/// The router, rewrapping films through `rewrap`.
pub fn app_with(catalog: SharedCatalog, rewrap: Arc<Rewrapper>) -> Router {
    let state = AppState { catalog, rewrap };
    Router::new()
        .route("/", get(catalog_page))
        .route("/watch/{id}", get(watch_page))
        .route(
            "/static/bitflix.css",
            get(|| asset("text/css", include_str!("../static/bitflix.css"))),
        )
        .route(
            "/static/watch.js",
            get(|| asset("text/javascript", include_str!("../static/watch.js"))),
        )
        .route("/api/catalog", get(api_catalog))
        .route("/api/content/{id}", get(api_content))
        .route("/api/content/{id}/file", get(content::file))
        .route("/api/content/{id}/stream", get(content::stream))
        .route("/sandbox/{id}", get(content::sandbox))
        .route(
            "/api/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .fallback(|| async { ApiError::NotFound("no such page".into()) })
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::map_response(security::headers))
        .with_state(state)
}

/// Serve `app` on `listener` until `shutdown` resolves, within [`httpd::Limits::default`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    catalog: SharedCatalog,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    httpd::serve(listener, app(catalog), httpd::Limits::default(), shutdown).await
}

async fn asset(mime: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    resp
}

fn page(html: String) -> Response {
    let mut resp = Html(html).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(security::PAGE_CSP),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
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

async fn catalog_page(State(c): State<SharedCatalog>) -> Result<Response, ApiError> {
    Ok(page(pages::catalog(&summaries(&c)?)))
}

async fn watch_page(
    State(c): State<SharedCatalog>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(page(pages::watch(&summary(&c, &id)?)))
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
