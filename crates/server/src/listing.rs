//! The catalog and the per-content routes, as pages and as JSON: which contents are listed (trust,
//! search), in which order (newest first) and in pages.

use crate::pages::{Card, CatalogPage, NotFoundPage, WatchPage, PER_PAGE};
use crate::{parse_id, security, ApiError, AppState, View};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use index::ContentSummary;
use std::cmp::Reverse;

/// The query of the catalog routes: `all=1` lists every publisher's contents even when some are
/// trusted; `q` filters by title; `page` (from 1) and, for the API, `per_page` select a page.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct CatalogQuery {
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    per_page: Option<usize>,
}

/// The most contents one API page returns.
const MAX_PER_PAGE: usize = 500;

/// Live streams still open first, then newest first: contents whose header is still in the
/// mempool, then by the header's block, highest first; the id breaks ties.
fn newest_first(s: &ContentSummary) -> (bool, bool, Reverse<Option<u32>>, bitcoin::Txid) {
    (
        s.state != index::ContentState::Live,
        s.first_block.is_some(),
        Reverse(s.first_block),
        s.id,
    )
}

/// The contents the catalog lists for `query`, newest first, with whether each publisher is
/// trusted.
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
    let mut items: Vec<(&ContentSummary, bool)> = snapshot
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
        .collect();
    items.sort_by_key(|(s, _)| newest_first(s));
    items
}

/// An HTML page: the page CSP, never stored (it shows the chain's state now).
pub(crate) fn page(t: &impl Template, status: StatusCode) -> Result<Response, ApiError> {
    let html = t
        .render()
        .map_err(|e| ApiError::Internal(format!("template: {e}")))?;
    let mut resp = (status, Html(html)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(security::PAGE_CSP),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The HTML 404 page.
pub(crate) fn not_found_page(message: String) -> Response {
    page(&NotFoundPage { message }, StatusCode::NOT_FOUND)
        .unwrap_or_else(IntoResponse::into_response)
}

/// A link to catalog page `page` of `q`, keeping its other parameters.
fn link(q: &CatalogQuery, page: usize, all: bool) -> String {
    let mut parts = Vec::new();
    if let Some(text) = q.q.as_deref().filter(|t| !t.is_empty()) {
        parts.push(format!("q={}", encode(text)));
    }
    if all {
        parts.push("all=1".into());
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        "/".into()
    } else {
        format!("/?{}", parts.join("&"))
    }
}

/// Percent-encode a query value (everything but unreserved characters).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /`: the catalog page.
pub(crate) async fn catalog_page(
    State(st): State<AppState>,
    Query(q): Query<CatalogQuery>,
) -> Result<Response, ApiError> {
    let snap = st.published.get();
    let items = listed(&snap, &st.view, &q);
    let total = items.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page_no = q.page.unwrap_or(1).clamp(1, pages);
    let all = q.all.as_deref() == Some("1");
    let cards = items
        .iter()
        .skip((page_no - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|&(s, trusted)| Card::new(s, trusted, st.rewrap.duration_ms(s)))
        .collect();
    let t = CatalogPage {
        cards,
        query: q.q.clone().unwrap_or_default(),
        trusted_only: st.view.any() && !all,
        all_link: link(&q, 1, true),
        page: page_no,
        pages,
        total,
        prev: (page_no > 1).then(|| link(&q, page_no - 1, all)),
        next: (page_no < pages).then(|| link(&q, page_no + 1, all)),
    };
    page(&t, StatusCode::OK)
}

/// `GET /watch/{id}`.
pub(crate) async fn watch_page(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Ok(id) = parse_id(&id) else {
        return Ok(not_found_page(
            "That is not a content id (64 hex characters).".into(),
        ));
    };
    let snap = st.published.get();
    let Some(s) = snap.summary(&id) else {
        return Ok(not_found_page(format!(
            "No content {id} is known to this gateway (yet): it may not be mined or relayed to it."
        )));
    };
    let swarm = s
        .commitment
        .as_ref()
        .and_then(|m| st.view.swarms().map(|sw| sw.state(&m.record)));
    let page_t = WatchPage::new(s, st.view.trusts(s), st.rewrap.duration_ms(s))
        .with_story(snap.story(&id))
        .with_swarm(swarm);
    page(&page_t, StatusCode::OK)
}

/// A JSON body from a borrowed value (the snapshot's summaries are not copied into a `Vec`).
pub(crate) fn json(v: &impl serde::Serialize) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(v).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// A summary with what this viewer adds: whether its publisher is trusted, the poster's URL (the
/// poster's bytes are not repeated in JSON) and the duration known for it.
#[derive(serde::Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    summary: &'a ContentSummary,
    trusted: bool,
    poster_url: Option<String>,
    duration_ms: Option<u64>,
    /// A content behind a commitment, on a gateway that fetches from BitTorrent.
    #[serde(skip_serializing_if = "Option::is_none")]
    swarm: Option<SwarmJson>,
}

/// Where this gateway's fetch of a committed content stands.
#[derive(serde::Serialize)]
struct SwarmJson {
    /// `waiting` (for peers), `fetching` or `refused`.
    state: &'static str,
    /// Bytes from the start checked against the chain's pieces root.
    checked_bytes: u64,
    /// Why it waits, or why the swarm is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<String>,
}

impl SwarmJson {
    fn of(st: &AppState, summary: &ContentSummary) -> Option<SwarmJson> {
        let m = summary.commitment.as_ref()?;
        Some(match st.view.swarms()?.state(&m.record) {
            crate::SwarmState::Waiting(why) => SwarmJson {
                state: "waiting",
                checked_bytes: 0,
                why: Some(why),
            },
            crate::SwarmState::Fetching { checked, stopped } => SwarmJson {
                state: "fetching",
                checked_bytes: checked,
                why: stopped,
            },
            crate::SwarmState::Refused(why) => SwarmJson {
                state: "refused",
                checked_bytes: 0,
                why: Some(why),
            },
        })
    }
}

impl<'a> Listed<'a> {
    fn new(st: &AppState, summary: &'a ContentSummary, trusted: bool) -> Self {
        Listed {
            summary,
            trusted,
            poster_url: crate::poster::of(summary)
                .map(|_| format!("/api/content/{}/poster", summary.id)),
            duration_ms: st.rewrap.duration_ms(summary),
            swarm: SwarmJson::of(st, summary),
        }
    }
}

/// `GET /api/catalog`.
pub(crate) async fn api_catalog(
    State(st): State<AppState>,
    Query(q): Query<CatalogQuery>,
) -> Result<Response, ApiError> {
    let snap = st.published.get();
    let all = listed(&snap, &st.view, &q);
    let per = q.per_page.unwrap_or(MAX_PER_PAGE).clamp(1, MAX_PER_PAGE);
    let skip = q
        .page
        .unwrap_or(1)
        .max(1)
        .saturating_sub(1)
        .saturating_mul(per);
    let items: Vec<Listed<'_>> = all
        .into_iter()
        .skip(skip)
        .take(per)
        .map(|(summary, trusted)| Listed::new(&st, summary, trusted))
        .collect();
    json(&items)
}

/// `GET /api/content/{id}`.
pub(crate) async fn api_content(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let snap = st.published.get();
    let summary = snap
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    json(&Listed::new(&st, summary, st.view.trusts(summary)))
}
