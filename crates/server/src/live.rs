//! A live stream's routes (docs/cvp.md, "Live streams"; docs/media-format.md, "Live chunks"):
//! the chunks the index holds, attributed by lineage, each muxed once into a WebM fragment of
//! its own (every chunk starts with a keyframe), never the whole prefix again per change.
//!
//! - `GET /api/content/{id}/live`: the live manifest (chunks in index order, with their times,
//!   durations and arrival; `?from=N` lists chunks from index N only).
//! - `GET /api/content/{id}/live/init`: the WebM init segment (from chunk 0's CVPM header and
//!   first keyframe).
//! - `GET /api/content/{id}/live/{n}`: chunk `n` as a fragment whose times start at 0: the player
//!   places it at the chunk's timestamp (`SourceBuffer.timestampOffset`). Immutable for a given
//!   chunk (its ETag names the leaf hash), so a chunk replaced under the same index is another
//!   resource.
//! - `GET /api/content/{id}/live/events`: server-sent events: `live` with the manifest's fields
//!   and the chunks not sent before (the first event: the last few only, where a late viewer
//!   starts), `ended` when an `end` record closed the stream, `gone` when it left the index.

use crate::content::{bytes, classify, Kind};
use crate::{parse_id, ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bitcoin::Txid;
use index::{ContentState, LiveChunk, Snapshot};
use media::format::Stream;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often an event stream looks whether the index published a new state.
const WATCH_EVERY: Duration = Duration::from_millis(20);
/// An event stream ends after this long (the browser reconnects by itself).
const STREAM_FOR: Duration = Duration::from_secs(600);
/// Chunks in the first event of a stream: a late viewer starts at the newest.
const FIRST_EVENT_CHUNKS: usize = 3;
/// Muxed chunks kept, over every stream.
const CACHE_BYTES: usize = 64 << 20;

/// One chunk muxed: its fragment bytes and duration.
#[derive(Debug)]
pub(crate) struct MuxedChunk {
    leaf: [u8; 32],
    duration_ms: u64,
    body: Result<Vec<u8>, String>,
}

/// What chunk 0 gives every other chunk: the CVPM header, the init segment and the MIME type.
#[derive(Debug)]
pub(crate) struct StreamHead {
    leaf: [u8; 32],
    cvpm_header: Vec<u8>,
    init: Vec<u8>,
    mime: String,
}

/// Chunks muxed once each, by (stream, index), checked against the chunk's leaf hash; oldest
/// dropped past [`CACHE_BYTES`].
#[derive(Debug, Default)]
pub struct LiveCache {
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    heads: HashMap<Txid, Arc<StreamHead>>,
    chunks: HashMap<(Txid, u32), Arc<MuxedChunk>>,
    order: VecDeque<(Txid, u32)>,
    bytes: usize,
}

impl LiveCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The stream's head, from chunk 0 (muxed on first use).
    fn head(&self, snap: &Snapshot, id: Txid) -> Result<Arc<StreamHead>, ApiError> {
        let chunks = snap.live_chunks(&id);
        let first = chunks.first().filter(|c| c.index == 0).ok_or_else(|| {
            ApiError::NotFound(format!("chunk 0 of live stream {id} is not here"))
        })?;
        if let Some(h) = self.lock().heads.get(&id).filter(|h| h.leaf == first.leaf) {
            return Ok(Arc::clone(h));
        }
        let payload = snap.read_chunk(&id, 0).map_err(read_error)?;
        let s = Stream::decode_prefix(&payload)
            .map_err(|e| ApiError::Unplayable(format!("chunk 0: {e}")))?;
        let cvpm_header = Stream {
            video: s.video,
            audio: s.audio,
            packets: Vec::new(),
        }
        .encode();
        let s = zero_based(s);
        let head = StreamHead {
            leaf: first.leaf,
            init: media::webm::init_segment(&s)
                .map_err(|e| ApiError::Unplayable(format!("chunk 0: {e}")))?,
            mime: media::webm::mime(&s).map_err(|e| ApiError::Unplayable(e.to_string()))?,
            cvpm_header,
        };
        let head = Arc::new(head);
        self.lock().heads.insert(id, Arc::clone(&head));
        Ok(head)
    }

    /// Chunk `c` of stream `id`, muxed (once per leaf).
    fn chunk(
        &self,
        snap: &Snapshot,
        id: Txid,
        head: &StreamHead,
        c: &LiveChunk,
    ) -> Result<Arc<MuxedChunk>, ApiError> {
        if let Some(m) = self
            .lock()
            .chunks
            .get(&(id, c.index))
            .filter(|m| m.leaf == c.leaf)
        {
            return Ok(Arc::clone(m));
        }
        let payload = snap.read_chunk(&id, c.index).map_err(read_error)?;
        let m = Arc::new(mux_chunk(head, c, &payload));
        let mut g = self.lock();
        let size = m.body.as_ref().map_or(0, Vec::len);
        if g.chunks.insert((id, c.index), Arc::clone(&m)).is_none() {
            g.order.push_back((id, c.index));
        }
        g.bytes = g.bytes.saturating_add(size);
        while g.bytes > CACHE_BYTES {
            let Some(old) = g.order.pop_front() else {
                break;
            };
            if let Some(gone) = g.chunks.remove(&old) {
                g.bytes = g
                    .bytes
                    .saturating_sub(gone.body.as_ref().map_or(0, Vec::len));
            }
        }
        Ok(m)
    }
}

/// The stream with its first video packet at time 0 (a chunk's first delta counts from the
/// previous chunk's last frame, which a chunk muxed alone does not have).
fn zero_based(mut s: Stream) -> Stream {
    if let Some(p) = s.packets.iter_mut().find(|p| !p.audio) {
        p.ts_delta = 0;
    }
    s
}

/// Mux one chunk's packets (after the stream's CVPM header) into one fragment's bytes.
fn mux_chunk(head: &StreamHead, c: &LiveChunk, payload: &[u8]) -> MuxedChunk {
    let run = || -> Result<(u64, Vec<u8>), String> {
        let s = if c.index == 0 {
            Stream::decode(payload)
        } else {
            let mut b = Vec::with_capacity(head.cvpm_header.len() + payload.len());
            b.extend_from_slice(&head.cvpm_header);
            b.extend_from_slice(payload);
            Stream::decode(&b)
        }
        .map_err(|e| e.to_string())?;
        let s = zero_based(s);
        if !s
            .packets
            .iter()
            .find(|p| !p.audio)
            .is_some_and(|p| p.keyframe)
            && s.video.is_some()
        {
            return Err("the chunk does not start with a keyframe".into());
        }
        let mut body = Vec::new();
        for f in media::webm::fragments(&s, true).map_err(|e| e.to_string())? {
            body.extend(media::webm::fragment(&s, &f).map_err(|e| e.to_string())?);
        }
        Ok((s.duration_ms().map_err(|e| e.to_string())?, body))
    };
    match run() {
        Ok((duration_ms, body)) => MuxedChunk {
            leaf: c.leaf,
            duration_ms,
            body: Ok(body),
        },
        Err(e) => MuxedChunk {
            leaf: c.leaf,
            duration_ms: 0,
            body: Err(format!("chunk {}: {e}", c.index)),
        },
    }
}

fn read_error(e: index::ReadError) -> ApiError {
    match e {
        index::ReadError::NotFound(_) | index::ReadError::NoChunk { .. } => {
            ApiError::NotFound(e.to_string())
        }
        index::ReadError::Changed(_) => ApiError::Changed(e.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// One chunk as the manifest lists it.
#[derive(Debug, Clone, serde::Serialize)]
struct ChunkInfo {
    index: u32,
    timestamp_ms: u64,
    duration_ms: u64,
    /// The chunk muxes (a chunk that does not is listed, never served: a gap).
    playable: bool,
    height: Option<u32>,
    arrived_unix_ms: Option<u64>,
}

/// What the player needs to know about a live stream now.
#[derive(Debug, serde::Serialize)]
struct LiveManifest {
    id: Txid,
    mime: String,
    /// No `end` record has closed the stream.
    open: bool,
    state: ContentState,
    /// The recording (the closed stream as a verified film, `/media`) is complete: play it.
    /// Confirmed only, as `/media` counts complete (a recording still in the mempool would
    /// leave its last fragment open there).
    recording: bool,
    next_index: u32,
    missing: u32,
    forged_chunks: u32,
    /// The publisher's clock at stream time 0, as this gateway estimates it: the earliest
    /// (arrival - end of chunk) over the chunks it saw arrive. `now - origin - position` is how
    /// far a viewer is behind the publisher (no less than the truth).
    origin_unix_ms: Option<u64>,
    /// The end of the newest chunk (the live edge), in stream time.
    edge_ms: u64,
    chunks: Vec<ChunkInfo>,
}

fn manifest(st: &AppState, id: Txid, from: u32) -> Result<LiveManifest, ApiError> {
    let snap = st.published.get();
    let s = snap
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    if classify(&s.header.media_type) != Kind::Cvpm {
        return Err(ApiError::BadRequest(format!(
            "content {id} is not a CVPM stream"
        )));
    }
    let live = s
        .live
        .clone()
        .ok_or_else(|| ApiError::BadRequest(format!("content {id} is not a live stream")))?;
    let head = st.live.head(&snap, id)?;
    let mut origin: Option<u64> = None;
    let mut edge_ms = 0;
    let mut chunks = Vec::new();
    for c in snap.live_chunks(&id) {
        let m = st.live.chunk(&snap, id, &head, &c)?;
        let end = c.timestamp_ms.saturating_add(m.duration_ms);
        if m.body.is_ok() {
            edge_ms = edge_ms.max(end);
            if let Some(a) = c.arrived_unix_ms {
                let o = a.saturating_sub(end);
                origin = Some(origin.map_or(o, |x| x.min(o)));
            }
        }
        if c.index >= from {
            chunks.push(ChunkInfo {
                index: c.index,
                timestamp_ms: c.timestamp_ms,
                duration_ms: m.duration_ms,
                playable: m.body.is_ok(),
                height: c.height,
                arrived_unix_ms: c.arrived_unix_ms,
            });
        }
    }
    Ok(LiveManifest {
        id,
        mime: head.mime.clone(),
        open: live.open,
        state: s.state,
        recording: s.state == ContentState::Complete,
        next_index: live.next_index,
        missing: live.missing,
        forged_chunks: live.forged_chunks,
        origin_unix_ms: origin,
        edge_ms,
        chunks,
    })
}

/// `?from=N`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct From {
    from: Option<u32>,
}

/// `GET /api/content/{id}/live`.
pub(crate) async fn get_manifest(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<From>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let m = tokio::task::spawn_blocking(move || manifest(&st, id, q.from.unwrap_or(0)))
        .await
        .map_err(|e| ApiError::Internal(format!("the mux task failed: {e}")))??;
    crate::listing::json(&m)
}

/// `GET /api/content/{id}/live/init`.
pub(crate) async fn get_init(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let snap = st.published.get();
    let head = st.live.head(&snap, id)?;
    let etag = format!("\"{id}-live-init-{}\"", hex::encode(&head.leaf[..8]));
    bytes(&head.init, "video/webm", Some(etag), &headers)
}

/// `GET /api/content/{id}/live/{n}`: chunk `n` as a fragment starting at 0.
pub(crate) async fn get_chunk(
    State(st): State<AppState>,
    Path((id, n)): Path<(String, u32)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let snap = st.published.get();
    let c = snap
        .live_chunks(&id)
        .into_iter()
        .find(|c| c.index == n)
        .ok_or_else(|| ApiError::NotFound(format!("live stream {id} holds no chunk {n}")))?;
    let head = st.live.head(&snap, id)?;
    let m = {
        let st = st.clone();
        tokio::task::spawn_blocking(move || st.live.chunk(&snap, id, &head, &c))
            .await
            .map_err(|e| ApiError::Internal(format!("the mux task failed: {e}")))??
    };
    let body = m
        .body
        .as_ref()
        .map_err(|e| ApiError::Unplayable(e.clone()))?;
    let etag = format!("\"{id}-live{n}-{}\"", hex::encode(&m.leaf[..8]));
    bytes(body, "video/webm", Some(etag), &headers)
}

/// `GET /api/content/{id}/live/events`.
pub(crate) async fn events(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let snap = st.published.get();
    let s = snap
        .summary(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no content {id}")))?;
    if classify(&s.header.media_type) != Kind::Cvpm || s.live.is_none() {
        return Err(ApiError::BadRequest(format!(
            "content {id} is not a live CVPM stream"
        )));
    }
    drop(snap);
    let mut resp = Sse::new(stream(st, id))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

type EventResult = Result<Event, std::convert::Infallible>;

/// What an event stream has sent so far.
struct Sent {
    st: AppState,
    id: Txid,
    version: Option<u64>,
    chunks: BTreeSet<(u32, u64, bool)>,
    first: bool,
    /// The `ended` event sent, with whether the recording was complete then.
    ended: Option<bool>,
    done: bool,
    started: tokio::time::Instant,
}

fn stream(st: AppState, id: Txid) -> impl futures_util::Stream<Item = EventResult> {
    let sent = Sent {
        st,
        id,
        version: None,
        chunks: BTreeSet::new(),
        first: true,
        ended: None,
        done: false,
        started: tokio::time::Instant::now(),
    };
    futures_util::stream::unfold(sent, |mut sent| async move {
        loop {
            if sent.done || sent.started.elapsed() > STREAM_FOR {
                return None;
            }
            let version = sent.st.published.version();
            if sent.version != Some(version) {
                sent.version = Some(version);
                if let Some(ev) = next_event(&mut sent).await {
                    return Some((Ok(ev), sent));
                }
            }
            tokio::time::sleep(WATCH_EVERY).await;
        }
    })
}

async fn next_event(sent: &mut Sent) -> Option<Event> {
    let (st, id) = (sent.st.clone(), sent.id);
    let m = tokio::task::spawn_blocking(move || manifest(&st, id, 0))
        .await
        .ok()?;
    let mut m = match m {
        Ok(m) => m,
        Err(ApiError::NotFound(_)) if sent.st.published.get().summary(&id).is_none() => {
            sent.done = true;
            return Some(Event::default().event("gone").data(id.to_string()));
        }
        Err(ApiError::NotFound(_)) => return None, // chunk 0 not here yet
        Err(e) => return Some(Event::default().event("error").data(e.to_string())),
    };
    if !m.open && sent.ended != Some(m.recording) {
        // Closed: with the recording complete the player turns to it; without (a gap, or no
        // root) the stream goes on being shown from its chunks.
        sent.ended = Some(m.recording);
        sent.done = m.recording;
        let data = serde_json::to_string(&m).unwrap_or_default();
        return Some(Event::default().event("ended").data(data));
    }
    // Each chunk once (by index, start and playability); the first event only the newest few.
    let new: Vec<ChunkInfo> = m
        .chunks
        .iter()
        .filter(|c| !sent.chunks.contains(&(c.index, c.timestamp_ms, c.playable)))
        .cloned()
        .collect();
    for c in &m.chunks {
        sent.chunks.insert((c.index, c.timestamp_ms, c.playable));
    }
    let skip = if sent.first {
        new.len().saturating_sub(FIRST_EVENT_CHUNKS)
    } else {
        0
    };
    if new.is_empty() && !sent.first {
        return None;
    }
    sent.first = false;
    m.chunks = new.into_iter().skip(skip).collect();
    let data = serde_json::to_string(&m).unwrap_or_default();
    Some(Event::default().event("live").data(data))
}
