//! CVPM films rewrapped to WebM for browsers: at most [`RewrapLimits::parallel`] ffmpeg runs at
//! a time; one run per content and verified length however many requests ask for it (they all
//! wait for the same run); the run killed when every request waiting for it has gone, or when it
//! exceeds its time limit; a content that failed not tried again for a while.

use crate::ApiError;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::Txid;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify, Semaphore};

/// A film rewrapped to WebM.
#[derive(Debug)]
pub(crate) struct Webm {
    /// The file.
    pub bytes: Vec<u8>,
    /// The first 16 hex digits of its SHA-256 (for a strong ETag: ffmpeg's output is not the
    /// same across its versions).
    pub digest: String,
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
    /// Rewrapped films kept.
    pub cached: usize,
}

impl Default for RewrapLimits {
    fn default() -> Self {
        RewrapLimits {
            parallel: 2,
            time_limit: Duration::from_secs(20),
            retry_after: Duration::from_secs(60),
            cached: 16,
        }
    }
}

/// A content at one verified length (a film still arriving is rewrapped again as it grows).
type Key = (Txid, usize);
type Outcome = Result<Arc<Webm>, String>;

#[derive(Debug, Default)]
struct Cancel {
    flag: AtomicBool,
    wake: Notify,
}

#[derive(Debug)]
enum Entry {
    /// Rewrapped; the number is when it was last served (for eviction).
    Ready(Arc<Webm>, u64),
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

    /// ffmpeg runs started so far.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    fn entries(&self) -> Result<MutexGuard<'_, HashMap<Key, Entry>>, ApiError> {
        self.entries
            .lock()
            .map_err(|_| ApiError::Internal("rewrap cache lock poisoned".into()))
    }

    /// The WebM of `cvpm`, the verified bytes of content `id`.
    pub(crate) async fn webm(
        self: &Arc<Self>,
        id: Txid,
        len: usize,
        load: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
    ) -> Result<Arc<Webm>, ApiError> {
        let key = (id, len);
        let unplayable = |e: &str| {
            ApiError::Unplayable(format!(
                "content {id} is declared video/x-cvpm but does not rewrap: {e}"
            ))
        };
        let mut done = {
            let mut map = self.entries()?;
            let now = self.clock.fetch_add(1, Ordering::Relaxed);
            match map.get_mut(&key) {
                Some(Entry::Ready(webm, used)) => {
                    *used = now;
                    return Ok(Arc::clone(webm));
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
                    tokio::spawn(Arc::clone(self).lead(key, Box::new(load), tx, cancel));
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
            Some(Ok(webm)) => Ok(webm),
            Some(Err(e)) => Err(unplayable(&e)),
            None => Err(ApiError::Internal("no rewrap outcome".into())),
        }
    }

    /// Drop expired failures and, when full, the film served least recently.
    fn make_room(&self, map: &mut HashMap<Key, Entry>) {
        let retry = self.limits.retry_after;
        map.retain(|_, e| !matches!(e, Entry::Failed(at, _) if at.elapsed() >= retry));
        while map.len() >= self.limits.cached {
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

    /// The one run for `key`: wait for a permit, run ffmpeg, publish the outcome to the waiters
    /// and the cache (unless every waiter left, which cancels it).
    async fn lead(
        self: Arc<Self>,
        key: Key,
        load: Loader,
        tx: watch::Sender<Option<Outcome>>,
        cancel: Arc<Cancel>,
    ) {
        let Some(outcome) = self.run(load, &cancel).await else {
            return; // cancelled: the entry is gone already
        };
        if let Ok(mut map) = self.entries.lock() {
            let ours = matches!(map.get(&key), Some(Entry::Running { cancel: c, .. }) if Arc::ptr_eq(c, &cancel));
            if ours {
                let entry = match &outcome {
                    Ok(webm) => {
                        Entry::Ready(Arc::clone(webm), self.clock.fetch_add(1, Ordering::Relaxed))
                    }
                    Err(e) => {
                        tracing::warn!("rewrap of {}: {e}", key.0);
                        Entry::Failed(Instant::now(), e.clone())
                    }
                };
                map.insert(key, entry);
            }
        }
        let _ = tx.send(Some(outcome));
    }

    /// `None` when cancelled before or during the run.
    async fn run(&self, load: Loader, cancel: &Arc<Cancel>) -> Option<Outcome> {
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
        let mut job = tokio::task::spawn_blocking(move || {
            let cvpm = load().map_err(media::MediaError::Input)?;
            to_webm(&cvpm, &flag.flag)
        });
        let result = tokio::select! {
            r = &mut job => r,
            () = tokio::time::sleep(self.limits.time_limit) => {
                cancel.flag.store(true, Ordering::Relaxed);
                let _ = job.await; // ffmpeg is killed and reaped
                return Some(Err(format!("ffmpeg took longer than {:?}", self.limits.time_limit)));
            }
        };
        match result {
            Ok(Ok(bytes)) => {
                let digest = sha256::Hash::hash(&bytes).to_string()[..16].to_string();
                Some(Ok(Arc::new(Webm { bytes, digest })))
            }
            Ok(Err(media::MediaError::Cancelled)) => None,
            Ok(Err(e)) => Some(Err(e.to_string())),
            Err(e) => Some(Err(format!("the rewrap task failed: {e}"))),
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

fn to_webm(cvpm: &[u8], cancel: &AtomicBool) -> Result<Vec<u8>, media::MediaError> {
    let stream = media::format::Stream::decode_prefix(cvpm)?;
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("film.webm");
    media::rewrap::to_file_until(&stream, &out, media::rewrap::Container::WebM, cancel)?;
    Ok(std::fs::read(&out)?)
}
