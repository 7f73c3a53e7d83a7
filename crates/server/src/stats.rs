//! How many requests reached the gateway, by route class: a middleware of relaxed atomic
//! increments (no lock, no allocation per request), read at `GET /api/stats`. Behind a cache
//! (docs/deploy.md) it shows what the cache did not answer itself. The route also tells what waits
//! in the index's lineage for a parent (forgeries, or parents not seen yet).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use index::Published;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The classes requests are counted in, in the order of [`Stats::counts`].
const CLASSES: [&str; 10] = [
    "page", "static", "catalog", "content", "file", "media", "stream", "sandbox", "stats", "other",
];

/// The class of a request path: fixed prefixes and suffixes, no allocation.
fn class(path: &str) -> usize {
    let content = path.strip_prefix("/api/content/");
    let class = if path == "/" || path.starts_with("/watch/") {
        "page"
    } else if path.starts_with("/static/") {
        "static"
    } else if path == "/api/catalog" {
        "catalog"
    } else if path == "/api/stats" {
        "stats"
    } else if path.starts_with("/sandbox/") {
        "sandbox"
    } else if let Some(rest) = content {
        match rest.split_once('/').map(|(_, tail)| tail) {
            None => "content",
            Some("file") => "file",
            Some("stream") => "stream",
            Some(t) if t.starts_with("media/") => "media",
            Some(_) => "other",
        }
    } else {
        "other"
    };
    CLASSES
        .iter()
        .position(|c| *c == class)
        .unwrap_or(CLASSES.len() - 1)
}

/// Request counters, shared by the middleware and the route that reports them.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    counts: [AtomicU64; CLASSES.len()],
}

impl Stats {
    /// Count one request for `path`.
    fn count(&self, path: &str) {
        self.counts[class(path)].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts as JSON: `{"requests": total, "by_class": {class: n}}`.
    fn report(&self) -> serde_json::Value {
        let by: serde_json::Map<String, serde_json::Value> = CLASSES
            .iter()
            .zip(&self.counts)
            .map(|(c, n)| ((*c).to_string(), n.load(Ordering::Relaxed).into()))
            .collect();
        let total: u64 = by.values().filter_map(serde_json::Value::as_u64).sum();
        serde_json::json!({ "requests": total, "by_class": by })
    }
}

/// The middleware: count the request, then pass it on.
pub(crate) async fn count(State(stats): State<Arc<Stats>>, req: Request, next: Next) -> Response {
    stats.count(req.uri().path());
    next.run(req).await
}

/// `GET /api/stats`: the counts so far, and what waits in the index's lineage in the current
/// snapshot (never cached).
pub(crate) async fn get(
    State(stats): State<Arc<Stats>>,
    State(published): State<Published>,
) -> Response {
    let snap = published.get();
    let mut report = stats.report();
    report["index"] = serde_json::json!({
        "unattributed": snap.unattributed(),
        "stray_live_chunks": snap.stray_live_chunks(),
        "stray_segments": snap.stray_segments(),
    });
    let mut resp = axum::Json(report).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::{class, Stats, CLASSES};

    #[test]
    fn paths_fall_in_their_class() {
        let id = "ab".repeat(32);
        let cases = [
            ("/", "page"),
            (&format!("/watch/{id}"), "page"),
            ("/static/watch.js", "static"),
            ("/api/catalog", "catalog"),
            (&format!("/api/content/{id}"), "content"),
            (&format!("/api/content/{id}/file"), "file"),
            (&format!("/api/content/{id}/media/init"), "media"),
            (&format!("/api/content/{id}/media/7"), "media"),
            (&format!("/api/content/{id}/stream"), "stream"),
            (&format!("/sandbox/{id}"), "sandbox"),
            (&format!("/api/content/{id}/other"), "other"),
            ("/api/stats", "stats"),
            ("/nope", "other"),
        ];
        for (path, want) in cases {
            assert_eq!(CLASSES[class(path)], want, "{path}");
        }
    }

    #[test]
    fn counts_add_up() {
        let s = Stats::default();
        s.count("/api/catalog");
        s.count("/api/catalog");
        s.count(&format!("/api/content/{}/file", "00".repeat(32)));
        let r = s.report();
        assert_eq!(r["requests"], 3);
        assert_eq!(r["by_class"]["catalog"], 2);
        assert_eq!(r["by_class"]["file"], 1);
        assert_eq!(r["by_class"]["page"], 0);
    }
}
