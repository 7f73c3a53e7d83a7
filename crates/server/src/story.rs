//! Interactive films (docs/cvp.md, "Interactive films"): the story a player follows (the clip
//! table with each clip's span, the branch points and the chain's tally of viewers' choices), and
//! the viewer's own choices: signed by the gateway's [`Viewer`](crate::Viewer), kept as their
//! path, and recorded on chain when they ask. The routes that change state are guarded against
//! other origins as trust pins are (`x-bitflix-action`, and `Origin` when sent).

use crate::mse::muxed;
use crate::source::verified;
use crate::viewer::{LocalChoice, Viewer, ViewerError};
use crate::{parse_id, ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bitcoin::Txid;
use index::{ChoiceSeen, Story, StoryBranch};
use std::sync::Arc;

/// A clip with where it ends in the stream's timeline.
#[derive(Debug, serde::Serialize)]
struct ClipSpan {
    index: u32,
    name: String,
    start_ms: u64,
    /// The next clip's start, or the end of the stream (once known).
    end_ms: Option<u64>,
}

/// The viewer's side of a story.
#[derive(Debug, serde::Serialize)]
struct ViewerPart<'a> {
    /// The viewer's key (hex), when this gateway has a viewer.
    key: Option<String>,
    /// The choices made here, in order, signed; with the recording transaction once sent.
    path: Vec<LocalChoice>,
    /// The viewer key's choices the chain holds for this film.
    on_chain: Vec<&'a ChoiceSeen>,
    /// Why the viewer's side is not available, if it is not.
    unavailable: Option<String>,
}

/// `GET /api/content/{id}/story` answers this.
#[derive(Debug, serde::Serialize)]
struct StoryOut<'a> {
    id: Txid,
    clips: Vec<ClipSpan>,
    /// Every clip of the table is known.
    complete: bool,
    branches: &'a [StoryBranch],
    flaws: &'a [String],
    viewer: ViewerPart<'a>,
}

fn viewer(st: &AppState) -> Result<Arc<dyn Viewer>, ApiError> {
    st.view.viewer().ok_or_else(|| {
        ApiError::Unavailable("this gateway has no viewer key or wallet (bitflix serve holds them in its data directory)".into())
    })
}

/// Run a blocking viewer call off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ViewerError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("the viewer task failed: {e}")))?
        .map_err(|e| match e {
            ViewerError::Refused(m) => ApiError::Conflict(m),
            ViewerError::Unavailable(m) => ApiError::Unavailable(m),
        })
}

fn story_of<'a>(snap: &'a index::Snapshot, id: &Txid) -> Result<&'a Story, ApiError> {
    snap.story(id)
        .ok_or_else(|| ApiError::NotFound(format!("content {id} is not an interactive film")))
}

/// `GET /api/content/{id}/story`: the clips, the branch points with the chain's tally, the flaws,
/// and the viewer's own path.
pub(crate) async fn get(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let snap = st.published.get();
    let story = story_of(&snap, &id)?;
    // The last clip ends where the stream does, once its verified bytes are muxed.
    let end = match verified(&st, id) {
        Ok(v) if v.len > 0 => muxed(&st, &v).await.ok().map(|m| m.duration_ms),
        _ => None,
    };
    let clips = story
        .clips
        .iter()
        .enumerate()
        .map(|(i, c)| ClipSpan {
            index: c.index,
            name: c.name.clone(),
            start_ms: c.start_ms,
            end_ms: story.clips.get(i + 1).map(|n| n.start_ms).or(end),
        })
        .collect();
    let part = match st.view.viewer() {
        None => ViewerPart {
            key: None,
            path: Vec::new(),
            on_chain: Vec::new(),
            unavailable: Some("this gateway has no viewer: choices are not signed".into()),
        },
        Some(v) => {
            let got = blocking(move || Ok((v.key()?, v.path(id)?))).await;
            match got {
                Ok((key, path)) => ViewerPart {
                    on_chain: snap.choices_by(&id, &key),
                    key: Some(key),
                    path,
                    unavailable: None,
                },
                Err(e) => ViewerPart {
                    key: None,
                    path: Vec::new(),
                    on_chain: Vec::new(),
                    unavailable: Some(e.to_string()),
                },
            }
        }
    };
    crate::listing::json(&StoryOut {
        id,
        clips,
        complete: story.complete,
        branches: &story.branches,
        flaws: &story.flaws,
        viewer: part,
    })
}

/// A JSON body, bounded (a choice or a cap is a few dozen bytes).
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > 4096 {
        return Err(ApiError::BadRequest("the body is over 4096 bytes".into()));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("the body: {e}")))
}

/// A choice the page sends.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ChoiceIn {
    branch_id: u32,
    option: u32,
}

/// `POST /api/content/{id}/choices`: sign the viewer's choice and keep it in their path.
pub(crate) async fn choose(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    crate::trust::guard(&headers, "choose")?;
    let id = parse_id(&id)?;
    let c: ChoiceIn = parse_body(&body)?;
    {
        let snap = st.published.get();
        let story = story_of(&snap, &id)?;
        let b = story
            .branches
            .iter()
            .find(|b| b.id == c.branch_id)
            .ok_or_else(|| {
                ApiError::BadRequest(format!("content {id} has no branch {}", c.branch_id))
            })?;
        if c.option as usize >= b.options.len() {
            return Err(ApiError::BadRequest(format!(
                "branch {} has {} options; {} is not one",
                b.id,
                b.options.len(),
                c.option
            )));
        }
    }
    let v = viewer(&st)?;
    let local = blocking(move || v.choose(id, c.branch_id, c.option)).await?;
    Ok((StatusCode::CREATED, Json(local)).into_response())
}

/// `DELETE /api/content/{id}/choices/{branch}`: the viewer went back: forget that choice unless
/// it is recorded.
pub(crate) async fn forget(
    State(st): State<AppState>,
    Path((id, branch)): Path<(String, u32)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::trust::guard(&headers, "choose")?;
    let id = parse_id(&id)?;
    let v = viewer(&st)?;
    blocking(move || v.forget(id, branch)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/content/{id}/choices/quote`: what recording the unrecorded choices costs now.
pub(crate) async fn quote(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let v = viewer(&st)?;
    let q = blocking(move || v.quote(id)).await?;
    crate::listing::json(&q)
}

/// The cap the page sends with a recording (the quote it showed, with room for a rate change).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RecordIn {
    max_fee_sat: u64,
}

/// `POST /api/content/{id}/choices/record`: record the unrecorded choices on chain, in one
/// transaction paid by the viewer's wallet, refused above `max_fee_sat`.
pub(crate) async fn record(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    crate::trust::guard(&headers, "record")?;
    let id = parse_id(&id)?;
    let r: RecordIn = parse_body(&body)?;
    let v = viewer(&st)?;
    let out = blocking(move || v.record(id, r.max_fee_sat)).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// `GET /api/tx/{txid}`: a transaction the index stored (a recorded path's, a lineage's), raw.
pub(crate) async fn tx(
    State(st): State<AppState>,
    Path(txid): Path<String>,
) -> Result<Response, ApiError> {
    let txid = parse_id(&txid)?;
    let snap = st.published.get();
    let raw = snap
        .raw_tx(&txid)
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| ApiError::NotFound(format!("no CVP transaction {txid} in this index")))?;
    crate::listing::json(&serde_json::json!({ "txid": txid, "hex": hex::encode(raw) }))
}
