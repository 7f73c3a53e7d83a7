//! The mux cache under load: 50 parallel requests for one uncached film mux it once, whichever
//! route they ask (the manifest, the init segment, a fragment, the whole file); no ffmpeg runs on
//! the request path; a film that does not mux fails with a clear error and is not tried again at
//! once.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::http::StatusCode;
use common::get;
use server::{RewrapLimits, Rewrapper};

/// This process's ffmpeg children.
fn ffmpeg_children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                return false;
            };
            let Some((head, rest)) = stat.rsplit_once(") ") else {
                return false;
            };
            head.ends_with("(ffmpeg") && rest.split(' ').nth(1) == Some(me.as_str())
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muxes_are_shared_cached_and_failures_remembered() {
    let Some(bytes) = common::film(6) else { return };
    let chain = common::chain();
    let film = chain.publish(51, &bytes, "video/x-cvpm", true);
    let broken = chain.publish(52, b"CVPM\x01 not a stream", "video/x-cvpm", true);
    let rewrap = Rewrapper::new(RewrapLimits::default());
    let app = server::app_with(chain.catalog(), server::View::default(), rewrap.clone());

    let uris = [
        format!("/api/content/{film}/media"),
        format!("/api/content/{film}/media/init"),
        format!("/api/content/{film}/media/0"),
        format!("/api/content/{film}/file"),
    ];
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (app, uri) = (app.clone(), uris[i % uris.len()].clone());
            tokio::spawn(async move { get(app, &uri, &[]).await })
        })
        .collect();
    let mut files = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let (s, _, body) = t.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{}", uris[i % uris.len()]);
        if i % uris.len() == 3 {
            files.push(body);
        }
        assert_eq!(ffmpeg_children(), 0, "no ffmpeg on the request path");
    }
    assert_eq!(rewrap.runs(), 1, "one mux for 50 requests");
    assert!(files.iter().all(|b| b == &files[0]) && files[0].starts_with(b"\x1a\x45\xdf\xa3"));
    let (s, _, _) = get(app.clone(), &uris[3], &[]).await;
    assert_eq!(
        (s, rewrap.runs()),
        (StatusCode::OK, 1),
        "then served from the cache"
    );

    let bad = format!("/api/content/{broken}/file");
    for _ in 0..3 {
        let (s, _, body) = get(app.clone(), &bad, &[]).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("not a playable stream"), "{text}");
    }
    assert_eq!(rewrap.runs(), 2, "the failure is remembered");
}
