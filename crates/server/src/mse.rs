//! The player's routes (Media Source Extensions): a CVPM film's manifest, its WebM init segment
//! and its fragments, and a stream of server-sent events that announces each new verified part of
//! a film still arriving. A fragment is served only once it is closed (its next keyframe has
//! arrived, or the film is complete): its bytes then never change, so it is cached as immutable
//! by browsers and any HTTP cache in front.

use crate::content::{bytes, classify, Kind};
use crate::rewrap::Muxed;
use crate::source::{verified, Verified};
use crate::{parse_id, ApiError, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bitcoin::Txid;
use index::ContentState;
use std::sync::Arc;
use std::time::Duration;

/// How often an event stream looks at the current snapshot for a change of its content.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// An event stream ends after this long (the browser reconnects by itself).
const STREAM_FOR: Duration = Duration::from_secs(600);

/// The muxed film of `v` (CVPM only), from the gateway's cache.
pub(crate) async fn muxed(st: &AppState, v: &Verified) -> Result<Arc<Muxed>, ApiError> {
    if classify(&v.declared_type) != Kind::Cvpm {
        return Err(ApiError::BadRequest(format!(
            "content {} is not a CVPM film: its file is at /api/content/{}/file",
            v.id, v.id
        )));
    }
    if v.len == 0 {
        return Err(ApiError::NotFound(format!(
            "no verified bytes of content {} yet",
            v.id
        )));
    }
    let len = usize::try_from(v.len).map_err(|_| ApiError::Internal("film too large".into()))?;
    st.rewrap.muxed(v.id, len, v.complete, v.loader()).await
}

/// One fragment, as the manifest lists it.
#[derive(Debug, serde::Serialize)]
struct FragmentInfo {
    index: u32,
    start_ms: u64,
    end_ms: u64,
    closed: bool,
}

/// What the player needs to know about a film now.
#[derive(Debug, serde::Serialize)]
struct Manifest {
    id: Txid,
    /// The type for `MediaSource.addSourceBuffer`.
    mime: String,
    /// Every segment is here, verified (the fragments will not change or grow).
    complete: bool,
    /// The content's state in the index.
    state: ContentState,
    segments_verified: u32,
    segment_count: Option<u32>,
    /// Duration of what is here.
    duration_ms: u64,
    /// The film's duration as its header declares it, if it does.
    declared_duration_ms: Option<u64>,
    /// The stream's audio is not in the WebM (Codec 2: browsers do not play it).
    audio_left_out: bool,
    fragments: Vec<FragmentInfo>,
}

async fn manifest(st: &AppState, id: Txid) -> Result<Manifest, ApiError> {
    let v = verified(st, id)?;
    let snap = st.published.get();
    let s = snap
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    let m = muxed(st, &v).await?;
    Ok(Manifest {
        id,
        mime: m.mime.clone(),
        complete: m.complete,
        state: s.state,
        segments_verified: s.segments_verified,
        segment_count: s.header.segment_count,
        duration_ms: m.duration_ms,
        declared_duration_ms: s.header.duration_ms,
        audio_left_out: m.audio_left_out,
        fragments: m
            .fragments
            .iter()
            .map(|f| FragmentInfo {
                index: f.index,
                start_ms: f.start_ms,
                end_ms: f.end_ms,
                closed: f.closed || m.complete,
            })
            .collect(),
    })
}

/// `GET /api/content/{id}/media`: the manifest (never cached: it changes as the film arrives).
pub(crate) async fn get_manifest(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let m = manifest(&st, parse_id(&id)?).await?;
    crate::listing::json(&m)
}

/// `GET /api/content/{id}/media/init`: the WebM header and tracks.
pub(crate) async fn get_init(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let v = verified(&st, parse_id(&id)?)?;
    let m = muxed(&st, &v).await?;
    let etag = m
        .complete
        .then(|| format!("\"{}-init-{}\"", v.id, m.init.len()));
    bytes(&m.init, "video/webm", etag, &headers)
}

/// `GET /api/content/{id}/media/{n}`: fragment `n`, once closed.
pub(crate) async fn get_fragment(
    State(st): State<AppState>,
    Path((id, n)): Path<(String, u32)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let v = verified(&st, parse_id(&id)?)?;
    let m = muxed(&st, &v).await?;
    let f = m
        .fragments
        .iter()
        .find(|f| f.index == n)
        .filter(|f| f.closed || m.complete)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "fragment {n} of content {} is not verified and closed yet",
                v.id
            ))
        })?;
    let body = {
        let m = Arc::clone(&m);
        let f = f.clone();
        tokio::task::spawn_blocking(move || media::webm::fragment(&m.stream, &f))
            .await
            .map_err(|e| ApiError::Internal(format!("the mux task failed: {e}")))?
            .map_err(|e| ApiError::Unplayable(e.to_string()))?
    };
    let etag = format!("\"{}-f{n}-{}\"", v.id, body.len());
    bytes(&body, "video/webm", Some(etag), &headers)
}

/// `GET /api/content/{id}/events`: a `manifest` event now and whenever more of the film is
/// verified; `gone` when the content leaves the index (a reorg, an eviction). The stream ends
/// once the film is complete, or after [`STREAM_FOR`].
pub(crate) async fn events(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    // Refuse at once what has no manifest (not a film, nothing verified yet is fine: it waits).
    let first = st.published.get();
    let s = first
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    if classify(&s.header.media_type) != Kind::Cvpm {
        return Err(ApiError::BadRequest(format!(
            "content {id} is not a CVPM film"
        )));
    }
    let stream = async_stream(st, id);
    let mut resp = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Tells nginx not to buffer the stream (docs/deploy.md).
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

type EventResult = Result<Event, std::convert::Infallible>;

fn async_stream(st: AppState, id: Txid) -> impl futures_util::Stream<Item = EventResult> {
    futures_util::stream::unfold(
        (
            st,
            None::<(u64, ContentState)>,
            false,
            tokio::time::Instant::now(),
        ),
        move |(st, last, done, started)| async move {
            if done {
                return None;
            }
            loop {
                if started.elapsed() > STREAM_FOR {
                    return None;
                }
                let snap = st.published.get();
                let Some(s) = snap.summary(&id) else {
                    let ev = Event::default().event("gone").data(id.to_string());
                    return Some((Ok(ev), (st, last, true, started)));
                };
                let (verified_length, _) = crate::source::progress(&st, s);
                let now = (verified_length, s.state);
                if last != Some(now) && verified_length > 0 {
                    drop(snap);
                    let ev = match manifest(&st, id).await {
                        Ok(m) => {
                            // A committed content's bytes never change once all are checked.
                            let finished = m.complete
                                && matches!(
                                    m.state,
                                    ContentState::Complete | ContentState::Committed
                                );
                            let data = serde_json::to_string(&m).unwrap_or_default();
                            let ev = Event::default().event("manifest").data(data);
                            return Some((Ok(ev), (st, Some(now), finished, started)));
                        }
                        Err(e) => Event::default().event("error").data(e.to_string()),
                    };
                    return Some((Ok(ev), (st, Some(now), false, started)));
                }
                drop(snap);
                tokio::time::sleep(WATCH_EVERY).await;
            }
        },
    )
}
