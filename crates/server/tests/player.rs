//! The player's routes over a real CVPM film published on the devnet: the manifest, the init
//! segment and the fragments (read back by ffprobe and decoded by ffmpeg, as the browser would
//! get them), a film that grows while it is watched (closed fragments never change; the open one
//! is not served; server-sent events announce each new part), posters, the catalog's order,
//! search and pages, and the HTML 404.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::http::StatusCode;
use common::{chain, decode, film_info, get};
use serde_json::Value;
use std::io::{BufReader, Write};
use std::time::{Duration, Instant};

async fn manifest(app: &axum::Router, id: &bitcoin::Txid) -> Value {
    let (s, _, body) = get(app.clone(), &format!("/api/content/{id}/media"), &[]).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn a_complete_film_is_served_as_init_and_fragments() {
    let Some(film) = common::film(6) else { return };
    let c = chain();
    let poster = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00".to_vec();
    let id = c.publish_info(1, &film, film_info("Bunny", Some(poster.clone())), true);
    let app = server::app(c.catalog());
    let m = manifest(&app, &id).await;
    assert_eq!(m["complete"], true);
    common::assert_av1_webm(&m);
    let frags = m["fragments"].as_array().unwrap();
    assert!(frags.len() >= 3, "a keyframe a second: {m}");
    assert!(frags.iter().all(|f| f["closed"] == true));
    assert!(m["duration_ms"].as_u64().unwrap() >= 5_000, "{m}");

    let (s, h, init) = get(app.clone(), &format!("/api/content/{id}/media/init"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "video/webm");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    let mut whole = init.clone();
    for f in frags {
        let (s, h, body) = get(
            app.clone(),
            &format!("/api/content/{id}/media/{}", f["index"]),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        let etag = h["etag"].to_str().unwrap().to_string();
        let (s, _, _) = get(
            app.clone(),
            &format!("/api/content/{id}/media/{}", f["index"]),
            &[("if-none-match", &etag)],
        )
        .await;
        assert_eq!(s, StatusCode::NOT_MODIFIED);
        whole.extend_from_slice(&body);
    }
    let stream = media::format::Stream::decode(&film).unwrap();
    let frames = stream.packets.iter().filter(|p| !p.audio).count() as u64;
    assert_eq!(
        decode(&whole),
        frames,
        "init + every fragment is the whole film"
    );
    // A seek: the init segment and the last fragment alone decode.
    let last = frags.last().unwrap()["index"].as_u64().unwrap();
    let (_, _, tail) = get(app.clone(), &format!("/api/content/{id}/media/{last}"), &[]).await;
    let mut seek = init.clone();
    seek.extend_from_slice(&tail);
    assert!(decode(&seek) > 0);
    let (s, _, body) = get(
        app.clone(),
        &format!("/api/content/{id}/media/{}", last + 1),
        &[],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "{}",
        String::from_utf8_lossy(&body)
    );
    // The whole seekable file (no ffmpeg on the way).
    let (s, h, file) = get(app.clone(), &format!("/api/content/{id}/file"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "video/webm");
    assert_eq!(decode(&file), frames);
    // The poster, typed by its bytes, and its URL in the API instead of its bytes.
    let (s, h, body) = get(app.clone(), &format!("/api/content/{id}/poster"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "image/webp");
    assert_eq!(body, poster);
    let (_, _, body) = get(app.clone(), &format!("/api/content/{id}"), &[]).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["poster_url"], format!("/api/content/{id}/poster"));
    assert!(
        v["header"].get("poster").is_none(),
        "no poster bytes in JSON: {v}"
    );
    assert!(
        v["duration_ms"].as_u64().unwrap() >= 5_000,
        "the stream's duration: {v}"
    );
    assert_eq!(
        v["lineage"][0]["txid"],
        id.to_string(),
        "the header transaction first"
    );
}

#[tokio::test]
async fn a_film_still_arriving_grows_and_its_closed_fragments_never_change() {
    let Some(film) = common::film(6) else { return };
    let c = chain();
    let plan = c.plan(2, &film, film_info("Growing", None));
    let id = plan.content_id;
    let (mut ix, published) = c.index();
    let app = server::app(published.clone());
    let txs = &plan.txs;
    assert!(
        txs.len() >= 4,
        "the film spans several transactions: {}",
        txs.len()
    );
    // Header, fan-out, hash list, and two of the film's four segments.
    let half = txs.len() - 2;
    c.send(&txs[..half]);
    ix.poll(&c.devnet).unwrap();
    published.set(ix.snapshot());

    let m1 = manifest(&app, &id).await;
    assert_eq!(m1["complete"], false);
    let f1 = m1["fragments"].as_array().unwrap().clone();
    let open = f1.last().unwrap();
    assert_eq!(
        open["closed"], false,
        "the last fragment waits for its next keyframe"
    );
    let (s, h, _) = get(
        app.clone(),
        &format!("/api/content/{id}/media/{}", open["index"]),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_ne!(
        h.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("public, max-age=31536000, immutable")
    );
    let closed: Vec<_> = f1.iter().filter(|f| f["closed"] == true).collect();
    assert!(
        !closed.is_empty(),
        "some fragments are closed at half the film: {m1}"
    );
    let mut before = Vec::new();
    for f in &closed {
        let (s, _, body) = get(
            app.clone(),
            &format!("/api/content/{id}/media/{}", f["index"]),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        before.push(body);
    }

    // An event stream, over a real connection, sees the rest arrive.
    let addr = common::serve(app.clone(), httpd::Limits::default());
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    write!(
        sock,
        "GET /api/content/{id}/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(sock);
    let mut events = Vec::new();
    let read_event = |reader: &mut BufReader<std::net::TcpStream>| common::read_event(reader).1;
    events.push(read_event(&mut reader));
    assert_eq!(events[0]["complete"], false);

    c.send(&txs[half..]);
    ix.poll(&c.devnet).unwrap();
    published.set(ix.snapshot());
    let start = Instant::now();
    loop {
        let e = read_event(&mut reader);
        if e["complete"] == true {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no complete manifest pushed"
        );
    }

    let m2 = manifest(&app, &id).await;
    assert_eq!(m2["complete"], true);
    let f2 = m2["fragments"].as_array().unwrap();
    assert!(f2.len() > closed.len());
    for (f, old) in closed.iter().zip(&before) {
        let (_, _, body) = get(
            app.clone(),
            &format!("/api/content/{id}/media/{}", f["index"]),
            &[],
        )
        .await;
        assert_eq!(
            &body, old,
            "closed fragment {} changed as the film grew",
            f["index"]
        );
    }
}

#[tokio::test]
async fn the_catalog_is_newest_first_searchable_paged_and_unknown_pages_are_html() {
    let c = chain();
    let mut ids = Vec::new();
    for i in 0..3u8 {
        ids.push(c.publish_titled(
            10 + i,
            &[i; 300],
            "video/webm",
            &format!("Film <{i}>"),
            true,
        ));
    }
    let app = server::app(c.catalog());
    let (_, _, body) = get(app.clone(), "/api/catalog", &[]).await;
    let list: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let order: Vec<String> = list
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    let newest: Vec<String> = ids.iter().rev().map(ToString::to_string).collect();
    assert_eq!(order, newest, "newest first");
    let (_, _, body) = get(app.clone(), "/api/catalog?per_page=1&page=2", &[]).await;
    let list: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], ids[1].to_string());

    let (s, h, body) = get(app.clone(), "/?q=film%20%3C1", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("Film &#60;1&#62;") || html.contains("Film &lt;1&gt;"),
        "escaped title: {html}"
    );
    assert!(!html.contains("Film <1>"), "titles are escaped");
    assert!(!html.contains(&ids[0].to_string()), "search filters");
    assert!(html.contains("name=\"viewport\""));

    let (s, h, body) = get(app.clone(), "/no/such/page", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("There is no page at /no/such/page"));
    let (s, _, body) = get(app.clone(), &format!("/watch/{}", "ab".repeat(32)), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(String::from_utf8(body).unwrap().contains("No content"));
    let (s, h, _) = get(app.clone(), "/api/nothing", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        h["content-type"], "application/json",
        "the API answers JSON"
    );
}
