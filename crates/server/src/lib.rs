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
mod stats;
mod trust;

pub use error::ApiError;
pub use rewrap::{RewrapLimits, Rewrapper};
pub use trust::{valid_key, View};

use axum::extract::{FromRef, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bitcoin::Txid;
use index::{ContentSummary, Published};
use std::sync::Arc;
use std::time::Duration;

pub use index::Published as SharedCatalog;

#[derive(Clone)]
struct AppState {
    published: Published,
    view: Arc<View>,
    rewrap: Arc<Rewrapper>,
}

impl FromRef<AppState> for Published {
    fn from_ref(s: &AppState) -> Published {
        s.published.clone()
    }
}

/// The router, with the default rewrap limits and no trusted publishers.
pub fn app(published: Published) -> Router {
    app_with(
        published,
        View::default(),
        Rewrapper::new(RewrapLimits::default()),
    )
}

/// The router for `view`, rewrapping films through `rewrap`.
pub fn app_with(published: Published, view: View, rewrap: Arc<Rewrapper>) -> Router {
    let stats = Arc::new(stats::Stats::default());
    let state = AppState {
        published,
        view: Arc::new(view),
        rewrap,
    };
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
            "/api/trust/{key}",
            axum::routing::post(trust::pin).delete(trust::unpin),
        )
        .route(
            "/api/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .route("/api/stats", stats::route(&stats))
        .fallback(|| async { ApiError::NotFound("no such page".into()) })
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::map_response(security::headers))
        .layer(axum::middleware::from_fn_with_state(stats, stats::count))
        .with_state(state)
}

/// Serve `app` on `listener` until `shutdown` resolves, within [`httpd::Limits::default`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    published: Published,
    view: View,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app_with(published, view, Rewrapper::new(RewrapLimits::default()));
    httpd::serve(listener, app, httpd::Limits::default(), shutdown).await
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

/// The query of the catalog routes: `all=1` lists every publisher's contents even when some are
/// trusted; `q` filters by title.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct CatalogQuery {
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

/// The contents the catalog lists for `query`, with whether each publisher is trusted.
fn listed<'a>(
    snapshot: &'a index::Snapshot,
    view: &View,
    query: &CatalogQuery,
) -> Vec<(&'a ContentSummary, bool)> {
    let all = !view.any() || query.all.as_deref().is_some_and(|a| a == "1");
    let needle = query
        .q
        .as_deref()
        .map(index::publisher::normalize_title)
        .filter(|q| !q.is_empty());
    snapshot
        .summaries()
        .iter()
        .map(|s| (s, view.trusts(s)))
        .filter(|(_, trusted)| all || *trusted)
        .filter(|(s, _)| {
            needle.as_deref().is_none_or(|n| {
                s.header
                    .title
                    .as_deref()
                    .is_some_and(|t| index::publisher::normalize_title(t).contains(n))
            })
        })
        .collect()
}

async fn catalog_page(
    State(st): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<CatalogQuery>,
) -> Result<Response, ApiError> {
    let snap = st.published.get();
    let items = listed(&snap, &st.view, &q);
    Ok(page(pages::catalog(&items, st.view.any())))
}

async fn watch_page(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let snap = st.published.get();
    let s = snap
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    Ok(page(pages::watch(s, st.view.trusts(s))))
}

/// A JSON body from a borrowed value (the snapshot's summaries are not copied into a `Vec`).
fn json(v: &impl serde::Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(v).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

/// A summary with what this viewer adds: whether its publisher is trusted.
#[derive(serde::Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    summary: &'a ContentSummary,
    trusted: bool,
}

async fn api_catalog(
    State(st): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<CatalogQuery>,
) -> Result<Response, ApiError> {
    let snap = st.published.get();
    let items: Vec<Listed<'_>> = listed(&snap, &st.view, &q)
        .into_iter()
        .map(|(summary, trusted)| Listed { summary, trusted })
        .collect();
    json(&items)
}

async fn api_content(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let snap = st.published.get();
    let summary = snap
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    json(&Listed {
        summary,
        trusted: st.view.trusts(summary),
    })
}
