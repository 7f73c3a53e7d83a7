//! A bundle (docs/cvp.md, "Bundles") published on the devnet and served from the sandbox: an
//! entry page, a script and a WebAssembly module by relative path; types from the extension,
//! never the declared ones; the bundle's CSP; a missing file a 404; the entry redirected into the
//! bundle's folder; the app's file route refused for a content that is no bundle. In Chromium the
//! app runs from the chain: its script instantiates the WASM module, loads another verified
//! content by id, reads a missing file's 404, and cannot read the gateway's API (its origin is
//! opaque).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::http::StatusCode;
use common::{chain, get};
use cvp::bundle::{Bundle, BUNDLE_MEDIA_TYPE};
use std::time::Duration;

/// `(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))`
const ADD_WASM: &[u8] = &[
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01,
    0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, 0x0a, 0x09,
    0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
];

fn app(doc: &bitcoin::Txid) -> Vec<u8> {
    let script = format!(
        r#"(async () => {{
  const r = {{}};
  try {{
    const w = await WebAssembly.instantiateStreaming(fetch('lib/add.wasm'));
    r.sum = w.instance.exports.add(2, 3);
  }} catch (e) {{ r.sum = 'failed: ' + e; }}
  try {{ const a = await fetch('/api/catalog'); r.api = 'read ' + a.status + ' ' + (await a.text()).length; }} catch (e) {{ r.api = 'blocked'; }}
  try {{ r.missing = (await fetch('missing.js')).status; }} catch (e) {{ r.missing = 'failed: ' + e; }}
  try {{ r.doc = await (await fetch('/sandbox/{doc}')).text(); }} catch (e) {{ r.doc = 'failed: ' + e; }}
  r.origin = self.origin;
  window.result = r;
  document.title = 'done';
}})();"#
    );
    Bundle {
        files: vec![
            (
                "index.html".into(),
                // Declared as something else: served by the extension.
                "application/octet-stream".into(),
                b"<!doctype html><title>app</title><p id=p>loading</p><script src=\"js/app.js\"></script>".to_vec(),
            ),
            ("js/app.js".into(), "text/html".into(), script.into_bytes()),
            ("lib/add.wasm".into(), "application/wasm".into(), ADD_WASM.to_vec()),
        ],
    }
    .encode()
}

#[tokio::test]
async fn a_bundle_is_served_by_path_from_the_sandbox() {
    let c = chain();
    let doc = c.publish(21, b"hello from another content", "text/plain", true);
    let id = c.publish(22, &app(&doc), BUNDLE_MEDIA_TYPE, true);
    let catalog = c.catalog();
    let a = || server::app(catalog.clone());
    let (status, h, _) = get(a(), &format!("/sandbox/{id}"), &[]).await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(h["location"], format!("/sandbox/{id}/").as_str());
    let (status, h, body) = get(a(), &format!("/sandbox/{id}/"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("sandbox allow-scripts;") && csp.contains("default-src 'self'"),
        "{csp}"
    );
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(String::from_utf8(body).unwrap().contains("js/app.js"));
    let (status, h, _) = get(a(), &format!("/sandbox/{id}/js/app.js"), &[]).await;
    assert_eq!(
        (status, h["content-type"].to_str().unwrap()),
        (StatusCode::OK, "text/javascript")
    );
    assert!(
        h["etag"].to_str().unwrap().starts_with('"'),
        "complete: immutable"
    );
    let (status, h, body) = get(a(), &format!("/sandbox/{id}/lib/add.wasm"), &[]).await;
    assert_eq!(
        (status, h["content-type"].to_str().unwrap()),
        (StatusCode::OK, "application/wasm")
    );
    assert_eq!(body, ADD_WASM);
    for missing in ["missing.js", "js/../index.html", "JS/app.js"] {
        let (status, h, _) = get(a(), &format!("/sandbox/{id}/{missing}"), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        assert_eq!(
            h["access-control-allow-origin"], "*",
            "the app reads its 404"
        );
    }
    // Never on the gateway's own origin: the file route sends it to the sandbox.
    let (status, h, _) = get(a(), &format!("/api/content/{id}/file"), &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], format!("/sandbox/{id}").as_str());
    // A content that is no bundle has no files by path.
    let (status, _, _) = get(a(), &format!("/sandbox/{doc}/index.html"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The catalog says what it is.
    let (_, _, page) = get(a(), &format!("/watch/{id}"), &[]).await;
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains(&format!("href=\"/sandbox/{id}/\"")),
        "the watch page opens the app"
    );
    let (_, _, page) = get(a(), "/", &[]).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("<span class=\"kind\">app</span>"), "{page}");
    assert!(
        page.contains("<span class=\"kind\">document</span>"),
        "{page}"
    );
}

#[test]
fn the_app_runs_from_the_chain_in_chromium_and_cannot_read_the_gateway() {
    if !testkit::have_chromium() {
        return;
    }
    let c = chain();
    let doc = c.publish(23, b"hello from another content", "text/plain", true);
    let id = c.publish(24, &app(&doc), BUNDLE_MEDIA_TYPE, true);
    let addr = common::serve(server::app(c.catalog()), httpd::Limits::default());
    let browser = testkit::browser::Browser::start(&[]).unwrap();
    let mut page = browser
        .open(&format!("http://{addr}/sandbox/{id}/"))
        .unwrap();
    let done = page.wait_for("document.title === 'done'", Duration::from_secs(60));
    let r = page.eval("JSON.stringify(window.result || null)").unwrap();
    assert!(done.is_ok(), "the app ran: {r}");
    let r: serde_json::Value = serde_json::from_str(r.as_str().unwrap()).unwrap();
    assert_eq!(r["sum"], 5, "its WebAssembly module ran: {r}");
    assert_eq!(
        r["api"], "blocked",
        "its script cannot read the gateway's API: {r}"
    );
    assert_eq!(
        r["missing"], 404,
        "a missing file is a 404 inside the sandbox: {r}"
    );
    assert_eq!(
        r["doc"], "hello from another content",
        "another content by id: {r}"
    );
    assert_eq!(r["origin"], "null", "an opaque origin: {r}");
}
