//! CVPM films muxed to WebM for browsers, in process ([`media::webm`]): the verified stream is
//! read from the index and cut into an init segment and fragments (for Media Source Extensions)
//! at most [`RewrapLimits::parallel`] at a time; one run per content and verified length however
//! many requests ask for it (they all wait for the same run); a run abandoned when every request
//! waiting for it has gone, or when it exceeds its time limit; a content that failed not tried
//! again for a while. What is kept is bounded by count and by bytes.

use crate::ApiError;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::Txid;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify, Semaphore};

/// A film (or the verified prefix of one still arriving) ready for the player.
#[derive(Debug)]
pub(crate) struct Muxed {
    /// The stream as decoded from the chain.
    pub stream: media::format::Stream,
    /// Its MSE type (`video/webm; codecs="..."`).
    pub mime: String,
    /// The WebM init segment.
    pub init: Vec<u8>,
    /// The fragments, in time order (the last one not closed while the film is arriving).
    pub fragments: Vec<media::webm::Fragment>,
    /// Duration of what is here, in milliseconds.
    pub duration_ms: u64,
    /// The stream's audio is not in the WebM (Codec 2: browsers do not play it).
    pub audio_left_out: bool,
    /// The whole stream is here.
    pub complete: bool,
    /// The whole seekable WebM file, made on first use.
    file: tokio::sync::OnceCell<Arc<Webm>>,
}

/// A whole WebM file.
#[derive(Debug)]
pub(crate) struct Webm {
    /// The file.
    pub bytes: Vec<u8>,
    /// The first 16 hex digits of its SHA-256 (for a strong ETag).
    pub digest: String,
}

impl Muxed {
    /// Bytes this holds (what the cache counts).
    fn weight(&self) -> usize {
        let packets: usize = self.stream.packets.iter().map(|p| p.data.len() + 32).sum();
        packets + self.init.len() + self.file.get().map_or(0, |f| f.bytes.len())
    }

    /// The whole seekable WebM (made once, off the async threads).
    pub(crate) async fn file(self: &Arc<Self>) -> Result<Arc<Webm>, ApiError> {
        let me = Arc::clone(self);
        self.file
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || media::webm::file(&me.stream))
                    .await
                    .map_err(|e| ApiError::Internal(format!("the mux task failed: {e}")))?
                    .map_err(|e| ApiError::Unplayable(e.to_string()))
                    .map(|bytes| {
                        let digest = sha256::Hash::hash(&bytes).to_string()[..16].to_string();
                        Arc::new(Webm { bytes, digest })
                    })
            })
            .await
            .cloned()
    }
}

/// How much rewrapping a gateway does.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RewrapLimits {
    /// ffmpeg runs at once.
    pub parallel: usize,
    /// Longest run: a film that takes longer is treated as failed.
    pub time_limit: Duration,
    /// How long a failure is remembered before the content is tried again.
    pub retry_after: Duration,
    /// Films kept.
    pub cached: usize,
    /// Bytes of films kept (their packets, and whole files made for them).
    pub cached_bytes: usize,
}

impl Default for RewrapLimits {
    fn default() -> Self {
        RewrapLimits {
            parallel: 2,
            time_limit: Duration::from_secs(20),
            retry_after: Duration::from_secs(60),
            cached: 64,
            cached_bytes: 256 << 20,
        }
    }
}

/// A content at one verified length (a film still arriving is rewrapped again as it grows).
type Key = (Txid, usize, bool);
type Outcome = Result<Arc<Muxed>, String>;

#[derive(Debug, Default)]
struct Cancel {
    flag: AtomicBool,
    wake: Notify,
}

#[derive(Debug)]
enum Entry {
    /// Muxed; the number is when it was last served (for eviction).
    Ready(Arc<Muxed>, u64),
    Failed(Instant, String),
    Running {
        done: watch::Receiver<Option<Outcome>>,
        waiters: usize,
        cancel: Arc<Cancel>,
    },
}

/// The gateway's rewraps: the cache, the running ffmpegs and who waits for them.
#[derive(Debug)]
pub struct Rewrapper {
    limits: RewrapLimits,
    permits: Arc<Semaphore>,
    entries: Mutex<HashMap<Key, Entry>>,
    runs: AtomicU64,
    clock: AtomicU64,
}

impl Rewrapper {
    /// A rewrapper with `limits`.
    pub fn new(limits: RewrapLimits) -> Arc<Rewrapper> {
        Arc::new(Rewrapper {
            permits: Arc::new(Semaphore::new(limits.parallel.max(1))),
            limits,
            entries: Mutex::default(),
            runs: AtomicU64::new(0),
            clock: AtomicU64::new(0),
        })
    }

    /// Mux runs started so far.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    fn entries(&self) -> Result<MutexGuard<'_, HashMap<Key, Entry>>, ApiError> {
        self.entries
            .lock()
            .map_err(|_| ApiError::Internal("rewrap cache lock poisoned".into()))
    }

    /// What is muxed of content `id` at verified length `len`, if it is (no load).
    pub(crate) fn peek(&self, id: Txid, len: usize) -> Option<Arc<Muxed>> {
        let map = self.entries.lock().ok()?;
        [true, false]
            .into_iter()
            .find_map(|complete| match map.get(&(id, len, complete)) {
                Some(Entry::Ready(m, _)) => Some(Arc::clone(m)),
                _ => None,
            })
    }

    /// The duration of `s`: its header's, else that of its stream when it has been muxed.
    pub(crate) fn duration_ms(&self, s: &index::ContentSummary) -> Option<u64> {
        s.header.duration_ms.filter(|d| *d > 0).or_else(|| {
            let len = usize::try_from(s.verified_length).ok()?;
            self.peek(s.id, len).map(|m| m.duration_ms)
        })
    }

    /// The muxed film of `cvpm`, the verified bytes of content `id` (`complete`: all of it).
    pub(crate) async fn muxed(
        self: &Arc<Self>,
        id: Txid,
        len: usize,
        complete: bool,
        load: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
    ) -> Result<Arc<Muxed>, ApiError> {
        // Whether the bytes are all of it belongs to the key: the same length muxed again once
        // complete closes the last fragment.
        let key = (id, len, complete);
        let unplayable = |e: &str| {
            ApiError::Unplayable(format!(
                "content {id} is declared video/x-cvpm but is not a playable stream: {e}"
            ))
        };
        let mut done = {
            let mut map = self.entries()?;
            let now = self.clock.fetch_add(1, Ordering::Relaxed);
            match map.get_mut(&key) {
                Some(Entry::Ready(muxed, used)) => {
                    *used = now;
                    return Ok(Arc::clone(muxed));
                }
                Some(Entry::Failed(at, e)) if at.elapsed() < self.limits.retry_after => {
                    return Err(unplayable(e.as_str()));
                }
                Some(Entry::Running { done, waiters, .. }) => {
                    *waiters += 1;
                    done.clone()
                }
                _ => {
                    self.make_room(&mut map);
                    let (tx, rx) = watch::channel(None);
                    let cancel = Arc::new(Cancel::default());
                    map.insert(
                        key,
                        Entry::Running {
                            done: rx.clone(),
                            waiters: 1,
                            cancel: Arc::clone(&cancel),
                        },
                    );
                    let load: Loader = Box::new(load);
                    tokio::spawn(Arc::clone(self).lead(key, load, complete, tx, cancel));
                    rx
                }
            }
        };
        // From here on this request counts as a waiter until it returns or is dropped.
        let _waiter = Waiter {
            rewrapper: self,
            key,
        };
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| ApiError::Internal("the rewrap task ended without an answer".into()))?
            .clone();
        match outcome {
            Some(Ok(muxed)) => Ok(muxed),
            Some(Err(e)) => Err(unplayable(&e)),
            None => Err(ApiError::Internal("no rewrap outcome".into())),
        }
    }

    /// Drop expired failures and, when full (by count or bytes), the film served least recently.
    fn make_room(&self, map: &mut HashMap<Key, Entry>) {
        let retry = self.limits.retry_after;
        map.retain(|_, e| !matches!(e, Entry::Failed(at, _) if at.elapsed() >= retry));
        let weight = |map: &HashMap<Key, Entry>| -> usize {
            map.values()
                .map(|e| match e {
                    Entry::Ready(m, _) => m.weight(),
                    _ => 0,
                })
                .sum()
        };
        while map.len() >= self.limits.cached || weight(map) > self.limits.cached_bytes {
            let oldest = map
                .iter()
                .filter_map(|(k, e)| match e {
                    Entry::Ready(_, used) => Some((*used, *k)),
                    Entry::Failed(..) => Some((0, *k)),
                    Entry::Running { .. } => None,
                })
                .min();
            match oldest {
                Some((_, k)) => {
                    map.remove(&k);
                }
                None => break, // only runs in progress: they finish or are cancelled
            }
        }
    }

    /// The one run for `key`: wait for a permit, mux, publish the outcome to the waiters and the
    /// cache (unless every waiter left, which cancels it).
    async fn lead(
        self: Arc<Self>,
        key: Key,
        load: Loader,
        complete: bool,
        tx: watch::Sender<Option<Outcome>>,
        cancel: Arc<Cancel>,
    ) {
        let Some(outcome) = self.run(load, complete, &cancel).await else {
            return; // cancelled: the entry is gone already
        };
        if let Ok(mut map) = self.entries.lock() {
            let ours = matches!(map.get(&key), Some(Entry::Running { cancel: c, .. }) if Arc::ptr_eq(c, &cancel));
            if ours {
                let entry = match &outcome {
                    Ok(muxed) => Entry::Ready(
                        Arc::clone(muxed),
                        self.clock.fetch_add(1, Ordering::Relaxed),
                    ),
                    Err(e) => {
                        tracing::warn!("mux of {}: {e}", key.0);
                        Entry::Failed(Instant::now(), e.clone())
                    }
                };
                map.insert(key, entry);
            }
        }
        let _ = tx.send(Some(outcome));
    }

    /// `None` when cancelled before or during the run.
    async fn run(&self, load: Loader, complete: bool, cancel: &Arc<Cancel>) -> Option<Outcome> {
        let _permit = tokio::select! {
            p = Arc::clone(&self.permits).acquire_owned() => p.ok()?,
            () = cancel.wake.notified() => return None,
        };
        if cancel.flag.load(Ordering::Relaxed) {
            return None;
        }
        self.runs.fetch_add(1, Ordering::Relaxed);
        let flag = Arc::clone(cancel);
        // The stream is read from the index only for a run, never for a cached answer.
        let job = tokio::task::spawn_blocking(move || {
            if flag.flag.load(Ordering::Relaxed) {
                return Err(String::new());
            }
            let cvpm = load()?;
            mux(&cvpm, complete)
        });
        let result = tokio::select! {
            r = job => r,
            () = tokio::time::sleep(self.limits.time_limit) => {
                cancel.flag.store(true, Ordering::Relaxed);
                return Some(Err(format!("muxing took longer than {:?}", self.limits.time_limit)));
            }
        };
        if cancel.flag.load(Ordering::Relaxed) {
            return None;
        }
        match result {
            Ok(Ok(muxed)) => Some(Ok(Arc::new(muxed))),
            Ok(Err(e)) => Some(Err(e)),
            Err(e) => Some(Err(format!("the mux task failed: {e}"))),
        }
    }
}

/// Reads the verified stream when a run starts.
type Loader = Box<dyn FnOnce() -> Result<Vec<u8>, String> + Send>;

/// One request waiting for a run; the last one to leave before the run ends cancels it.
struct Waiter<'a> {
    rewrapper: &'a Rewrapper,
    key: Key,
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let Ok(mut map) = self.rewrapper.entries.lock() else {
            return;
        };
        if let Some(Entry::Running {
            waiters, cancel, ..
        }) = map.get_mut(&self.key)
        {
            *waiters = waiters.saturating_sub(1);
            if *waiters == 0 {
                cancel.flag.store(true, Ordering::Relaxed);
                cancel.wake.notify_one();
                map.remove(&self.key);
            }
        }
    }
}

/// Decode `cvpm` (a verified prefix unless `complete`) and cut it for the player.
fn mux(cvpm: &[u8], complete: bool) -> Result<Muxed, String> {
    let stream = if complete {
        media::format::Stream::decode(cvpm)
    } else {
        media::format::Stream::decode_prefix(cvpm)
    }
    .map_err(|e| e.to_string())?;
    let mime = media::webm::mime(&stream).map_err(|e| e.to_string())?;
    let init = media::webm::init_segment(&stream).map_err(|e| e.to_string())?;
    let fragments = media::webm::fragments(&stream, complete).map_err(|e| e.to_string())?;
    let duration_ms = stream.duration_ms().map_err(|e| e.to_string())?;
    Ok(Muxed {
        audio_left_out: media::webm::audio_left_out(&stream),
        stream,
        mime,
        init,
        fragments,
        duration_ms,
        complete,
        file: tokio::sync::OnceCell::new(),
    })
}
