//! `bitflix serve`: the gateway. [`app`] builds the router (tested with `oneshot`); [`serve`]
//! runs it with graceful shutdown behind the connection limits of [`httpd`]. Pages: the catalog
//! (`/`) and a watch page per content (`/watch/{id}`), their script and style under `/static`;
//! JSON API under `/api`; a content's file at `/api/content/{id}/file` (audio and video only, with
//! HTTP Range support so players can seek) and `/sandbox/{id}` (anything, in an opaque origin):
//! see [`content`]. Every response carries a CSP, `nosniff` and `no-referrer` ([`security`]).

mod bundle;
mod content;
mod error;
mod listing;
mod live;
mod mse;
mod openapi;
mod pages;
mod poster;
mod range;
mod rewrap;
mod security;
mod source;
mod stats;
mod story;
mod swarm;
mod trust;
mod viewer;

pub use bundle::type_of as bundle_type;
pub use error::ApiError;
pub use rewrap::{RewrapLimits, Rewrapper};
pub use swarm::{SwarmState, Swarms};
pub use trust::{valid_key, View};
pub use viewer::{LocalChoice, Quote, Recorded, Viewer, ViewerError};

use axum::extract::FromRef;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bitcoin::Txid;
use index::Published;
use std::sync::Arc;
use std::time::Duration;

pub use index::Published as SharedCatalog;

#[derive(Clone)]
struct AppState {
    published: Published,
    view: Arc<View>,
    rewrap: Arc<Rewrapper>,
    live: Arc<live::LiveCache>,
    stats: Arc<stats::Stats>,
}

impl FromRef<AppState> for Arc<stats::Stats> {
    fn from_ref(s: &AppState) -> Arc<stats::Stats> {
        Arc::clone(&s.stats)
    }
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
        live: Arc::new(live::LiveCache::default()),
        stats: Arc::clone(&stats),
    };
    Router::new()
        .route("/", get(listing::catalog_page))
        .route("/watch/{id}", get(listing::watch_page))
        .route(
            "/static/bitflix.css",
            get(|| asset("text/css", include_str!("../static/bitflix.css"))),
        )
        .route(
            "/static/watch.js",
            get(|| asset("text/javascript", include_str!("../static/watch.js"))),
        )
        .route(
            "/static/player.js",
            get(|| asset("text/javascript", include_str!("../static/player.js"))),
        )
        .route(
            "/static/story.js",
            get(|| asset("text/javascript", include_str!("../static/story.js"))),
        )
        .route(
            "/static/upscale.js",
            get(|| asset("text/javascript", include_str!("../static/upscale.js"))),
        )
        .route("/api/catalog", get(listing::api_catalog))
        .route("/api/content/{id}", get(listing::api_content))
        .route("/api/content/{id}/poster", get(poster::get))
        .route("/api/content/{id}/media", get(mse::get_manifest))
        .route("/api/content/{id}/media/init", get(mse::get_init))
        .route("/api/content/{id}/media/{n}", get(mse::get_fragment))
        .route("/api/content/{id}/events", get(mse::events))
        .route("/api/content/{id}/live", get(live::get_manifest))
        .route("/api/content/{id}/live/init", get(live::get_init))
        .route("/api/content/{id}/live/events", get(live::events))
        .route("/api/content/{id}/live/{n}", get(live::get_chunk))
        .route("/api/content/{id}/story", get(story::get))
        .route(
            "/api/content/{id}/choices",
            axum::routing::post(story::choose),
        )
        .route("/api/content/{id}/choices/quote", get(story::quote))
        .route(
            "/api/content/{id}/choices/record",
            axum::routing::post(story::record),
        )
        .route(
            "/api/content/{id}/choices/{branch}",
            axum::routing::delete(story::forget),
        )
        .route("/api/tx/{txid}", get(story::tx))
        .route("/api/content/{id}/file", get(content::file))
        .route("/api/content/{id}/stream", get(content::stream))
        .route("/sandbox/{id}", get(content::sandbox))
        .route("/sandbox/{id}/", get(bundle::entry))
        .route("/sandbox/{id}/{*path}", get(bundle::file))
        .route(
            "/api/trust/{key}",
            axum::routing::post(trust::pin).delete(trust::unpin),
        )
        .route(
            "/api/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .route("/api/stats", get(stats::get))
        .fallback(fallback)
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

fn parse_id(id: &str) -> Result<Txid, ApiError> {
    if id.len() != 64 {
        return Err(ApiError::BadRequest(
            "a content id is 64 hex characters".into(),
        ));
    }
    id.parse()
        .map_err(|_| ApiError::BadRequest("a content id is 64 hex characters".into()))
}

/// Unknown paths: JSON under `/api`, an HTML page elsewhere.
async fn fallback(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound("no such API route (see /api/openapi.json)".into()).into_response()
    } else {
        listing::not_found_page(format!("There is no page at {}.", uri.path()))
    }
}
