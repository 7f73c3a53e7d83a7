//! The gateway behind a real HTTP cache: Debian's nginx with `proxy_cache` and the `slice`
//! module, configured as docs/deploy.md says. The gateway's request counter (`/api/stats`) shows
//! what reached it: a complete film is fetched from it once, a byte range once however many
//! clients ask, a content still arriving every time; the headers survive the proxy.
//!
//! Without nginx the test says so and passes, unless `CI` is set (scripts/setup.sh installs it).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::nginx::{self, Nginx};
use std::net::SocketAddr;

/// The slice the test's nginx caches by (docs/deploy.md uses 1m; a small one here makes a film
/// of a few hundred kilobytes span several).
const SLICE: usize = 64 << 10;

/// The gateway's count of requests of `class` so far.
fn reached(gateway: SocketAddr, class: &str) -> u64 {
    let stats: serde_json::Value = ureq::get(&format!("http://{gateway}/api/stats"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    stats["by_class"][class].as_u64().unwrap()
}

/// `GET path` through `proxy`, with a Range when given: the status and the response.
fn fetch(proxy: SocketAddr, path: &str, range: Option<&str>) -> (u16, ureq::Response) {
    let mut req = ureq::get(&format!("http://{proxy}{path}"));
    if let Some(r) = range {
        req = req.set("Range", r);
    }
    let resp = req.call().unwrap();
    (resp.status(), resp)
}

fn body(resp: ureq::Response) -> Vec<u8> {
    let mut b = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut b).unwrap();
    b
}

fn film(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8 ^ seed)
        .collect()
}

#[test]
fn nginx_caches_what_the_gateway_marks_immutable_and_nothing_else() {
    let Some(exe) = nginx::exe() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no nginx, and CI is set: run scripts/setup.sh"
        );
        println!("skipped: no nginx (scripts/setup.sh installs it)");
        return;
    };
    let chain = common::chain();
    let short = film(20_000, 1);
    let long = film(5 * SLICE - 1_000, 2);
    let arriving = film(30_000, 3);
    let short_id = chain.publish(71, &short, "video/mp4", true);
    let long_id = chain.publish(72, &long, "video/mp4", true);
    let arriving_id = chain.publish(73, &arriving, "video/webm", false);
    let gateway = common::serve(server::app(chain.catalog()), httpd::Limits::default());
    let (http, server) = nginx::gateway_cache(gateway, SLICE);
    let proxy = Nginx::start(&exe, &http, &server).unwrap();
    let proxy = proxy.addr;

    // A complete film (one slice) fetched twice: the gateway serves it once.
    let path = format!("/api/content/{short_id}/file");
    let direct = ureq::get(&format!("http://{gateway}{path}"))
        .call()
        .unwrap();
    let before = reached(gateway, "file");
    for (round, cache) in [(0, "MISS"), (1, "HIT")] {
        let (status, resp) = fetch(proxy, &path, None);
        assert_eq!(status, 200);
        assert_eq!(resp.header("x-cache-status"), Some(cache), "round {round}");
        for h in [
            "etag",
            "content-type",
            "cache-control",
            "content-security-policy",
            "x-content-type-options",
            "referrer-policy",
            "accept-ranges",
        ] {
            assert_eq!(resp.header(h), direct.header(h), "{h} through the cache");
        }
        assert_eq!(resp.header("content-type"), Some("video/mp4"));
        assert_eq!(
            resp.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(body(resp), short);
    }
    assert_eq!(reached(gateway, "file"), before + 1, "one request");

    // A byte range inside the second slice, asked by two clients at once and then by a third:
    // the gateway serves that slice once.
    let path = format!("/api/content/{long_id}/file");
    let before = reached(gateway, "file");
    let (from, to) = (SLICE + 1_000, SLICE + 9_999);
    let range = format!("bytes={from}-{to}");
    let want = long[from..=to].to_vec();
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (path, range) = (path.clone(), range.clone());
            std::thread::spawn(move || {
                let (status, resp) = fetch(proxy, &path, Some(&range));
                let cr = resp.header("content-range").map(str::to_string);
                (status, cr, body(resp))
            })
        })
        .collect();
    for c in clients {
        let (status, cr, b) = c.join().unwrap();
        assert_eq!(status, 206);
        assert_eq!(cr, Some(format!("bytes {from}-{to}/{}", long.len())));
        assert_eq!(b, want);
    }
    let (status, resp) = fetch(proxy, &path, Some(&range));
    assert_eq!((status, resp.header("x-cache-status")), (206, Some("HIT")));
    assert_eq!(body(resp), want);
    assert_eq!(reached(gateway, "file"), before + 1, "one slice reached it");

    // The whole film: the four other slices are fetched, once.
    let (status, resp) = fetch(proxy, &path, None);
    assert_eq!(status, 200);
    assert_eq!(body(resp), long);
    assert_eq!(reached(gateway, "file"), before + 5);
    let (_, resp) = fetch(proxy, &path, None);
    assert_eq!(body(resp), long);
    let (_, resp) = fetch(proxy, &path, Some("bytes=0-99"));
    assert_eq!(body(resp), long[..100].to_vec());
    assert_eq!(reached(gateway, "file"), before + 5, "all from the cache");

    // A content still arriving (`no-store`) is fetched from the gateway every time.
    let path = format!("/api/content/{arriving_id}/file");
    let before = reached(gateway, "file");
    for _ in 0..2 {
        let (status, resp) = fetch(proxy, &path, None);
        assert_eq!(status, 200);
        assert_eq!(resp.header("cache-control"), Some("no-store"));
        assert_eq!(resp.header("etag"), None);
        assert_ne!(resp.header("x-cache-status"), Some("HIT"));
        assert_eq!(body(resp), arriving);
    }
    assert_eq!(reached(gateway, "file"), before + 2);

    // The catalog is never kept, nor is a miss (a content may appear later).
    let before = reached(gateway, "catalog");
    for _ in 0..2 {
        let (status, resp) = fetch(proxy, "/api/catalog", None);
        assert_eq!(status, 200);
        assert_eq!(resp.header("cache-control"), Some("no-store"));
    }
    assert_eq!(reached(gateway, "catalog"), before + 2);
    let missing = format!("/api/content/{}/file", "00".repeat(32));
    let before = reached(gateway, "file");
    for _ in 0..2 {
        let err = ureq::get(&format!("http://{proxy}{missing}")).call();
        assert!(matches!(err, Err(ureq::Error::Status(404, _))), "{err:?}");
    }
    assert_eq!(reached(gateway, "file"), before + 2);

    // A pin from the gateway's own page, seen through the proxy: the proxy passes the Host the
    // browser used, so the same-origin check holds.
    let pin = ureq::post(&format!("http://{proxy}/api/trust/{}", "ab".repeat(16)))
        .set("x-bitflix-action", "trust")
        .set("origin", &format!("http://{proxy}"))
        .call()
        .unwrap();
    assert_eq!(pin.status(), 204);
}
