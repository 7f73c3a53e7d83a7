//! Strangers' content on the gateway's origin: documents and hostile media types are never served
//! inline there, every response carries the security headers, and caching follows the state.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::http::{HeaderMap, StatusCode};
use common::get;

const HTML: &str = "<!doctype html><script>fetch('/api/catalog')</script>";
const SVG: &str =
    "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(document.domain)</script></svg>";
const HOSTILE_TYPE: &str = "video/x-cvpm\"><script>alert(1)</script>";

fn secure(h: &HeaderMap, what: &str) {
    assert!(h.contains_key("content-security-policy"), "{what}: a CSP");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
}

#[tokio::test]
async fn hostile_content_is_contained() {
    let chain = common::chain();
    let film: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let html = chain.publish(31, HTML.as_bytes(), "text/html", true);
    let svg = chain.publish(32, SVG.as_bytes(), "image/svg+xml; charset=utf-8", true);
    let hostile = chain.publish(33, b"<script>alert(1)</script>", HOSTILE_TYPE, true);
    let mp4 = chain.publish(34, &film, "video/mp4", true);
    let arriving = chain.publish(35, &film[..5_000], "audio/ogg", false);
    let app = server::app(chain.catalog());

    for (id, what) in [(html, "html"), (svg, "svg"), (hostile, "hostile type")] {
        let (s, h, body) = get(app.clone(), &format!("/api/content/{id}/file"), &[]).await;
        assert_eq!(
            s,
            StatusCode::SEE_OTHER,
            "{what} is not served on the UI origin"
        );
        assert_eq!(h["location"], format!("/sandbox/{id}"));
        assert!(!h.contains_key("content-type") || h["content-type"] != "text/html");
        assert!(body.is_empty(), "{what}: no bytes of it on the UI origin");
        secure(&h, what);
        for (name, v) in &h {
            assert!(
                !v.as_bytes().windows(7).any(|w| w == b"<script"),
                "{what}: {name} echoes the chain"
            );
        }
    }

    let (s, h, body) = get(app.clone(), &format!("/sandbox/{html}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, HTML.as_bytes());
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["content-security-policy"], "sandbox allow-scripts");
    secure(&h, "sandboxed html");
    let (_, h, _) = get(app.clone(), &format!("/sandbox/{svg}"), &[]).await;
    assert_eq!(h["content-type"], "image/svg+xml");
    assert!(!h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("allow-same-origin"));

    let (s, h, body) = get(app.clone(), &format!("/sandbox/{hostile}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, b"<script>alert(1)</script>");
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(
        h["content-disposition"],
        format!("attachment; filename=\"{hostile}.bin\"")
    );
    for (name, v) in &h {
        assert!(
            !v.as_bytes().windows(7).any(|w| w == b"<script"),
            "{name} echoes the chain"
        );
    }
    let (_, h, body) = get(app.clone(), &format!("/watch/{hostile}"), &[]).await;
    let page = String::from_utf8(body).unwrap();
    assert!(
        !page.contains("<script>alert"),
        "the type is escaped on the page"
    );
    assert!(page.contains(&format!("/sandbox/{hostile}")) && !page.contains("<video"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        !page.contains("<script>") && !page.contains("style="),
        "no inline script or style on the pages"
    );

    // Complete content: immutable, with a strong validator.
    let uri = format!("/api/content/{mp4}/file");
    let (s, h, body) = get(app.clone(), &uri, &[]).await;
    assert_eq!((s, body.len()), (StatusCode::OK, film.len()));
    assert_eq!(h["content-type"], "video/mp4");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    let etag = h["etag"].to_str().unwrap().to_string();
    assert!(
        etag.starts_with(&format!("\"{mp4}-{}", film.len())),
        "{etag}"
    );
    let (s, h, body) = get(app.clone(), &uri, &[("if-none-match", etag.as_str())]).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(h["etag"], etag.as_str());
    secure(&h, "304");
    let (s, _, _) = get(app.clone(), &uri, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, body) = get(
        app.clone(),
        &uri,
        &[("range", "bytes=0-9"), ("if-range", "\"old\"")],
    )
    .await;
    assert_eq!(
        (s, body.len()),
        (StatusCode::OK, film.len()),
        "a stale If-Range gets all"
    );
    let (s, _, body) = get(
        app.clone(),
        &uri,
        &[("range", "bytes=0-9"), ("if-range", etag.as_str())],
    )
    .await;
    assert_eq!((s, body.len()), (StatusCode::PARTIAL_CONTENT, 10));

    // Content still arriving (in the mempool): never cached, no validator.
    let (s, h, _) = get(app.clone(), &format!("/api/content/{arriving}/file"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "audio/ogg");
    assert_eq!(h["cache-control"], "no-store");
    assert!(!h.contains_key("etag"));
    let (s, _, _) = get(
        app.clone(),
        &format!("/api/content/{arriving}/file"),
        &[("if-none-match", "*")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Every response carries the headers: pages, assets, API, errors.
    for uri in [
        "/".to_string(),
        format!("/watch/{mp4}"),
        "/static/watch.js".into(),
        "/static/bitflix.css".into(),
        "/api/catalog".into(),
        format!("/api/content/{mp4}"),
        format!("/api/content/{mp4}/stream"),
        "/api/openapi.json".into(),
        "/api/content/nothex/file".into(),
        "/no/such/page".into(),
    ] {
        let (_, h, _) = get(app.clone(), &uri, &[]).await;
        secure(&h, &uri);
    }
    let (_, h, _) = get(app.clone(), &format!("/api/content/{mp4}/stream"), &[]).await;
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
}
