//! The live viewer's routes over a real live stream on the devnet: chunks of real CVPM from the
//! live encoder (ffmpeg's test pattern, 128x72, so that encoding takes a second or two), carried
//! by the wallet's own live transactions (open header, fan-out, a chunk per coin, `end`). The
//! manifest lists chunks in index order with gaps (a chunk not yet sent, a chunk double-spent
//! away), `init` and each chunk are WebM that ffmpeg decodes, a stranger's chunk is a forgery and
//! never served, and the event stream pushes each new chunk, then `ended`, after which the
//! content is an ordinary complete film. In Chromium, the player steps over a gap, never appends
//! a chunk behind its playhead, and after a stall jumps near the live edge.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::http::StatusCode;
use bitcoin::{Amount, FeeRate, ScriptBuf, TxOut, Txid};
use common::{chain, decode, get, Chain};
use cvp::{Carrier, Header, LiveChunk, Record};
use index::{Indexer, Published};
use media::live::{Continue, LiveConfig, LiveEncoder, MediaChunk};
use serde_json::Value;
use std::io::{BufReader, Write};
use std::sync::OnceLock;
use std::time::Duration;
use wallet::plan::live::{Coin, LiveBuilder};
use wallet::Signer;

/// Twelve one-second chunks of the test pattern, encoded once per test binary; `None` (the tests
/// skip, saying so) without ffmpeg.
fn media_chunks() -> Option<&'static [MediaChunk]> {
    static CHUNKS: OnceLock<Option<Vec<MediaChunk>>> = OnceLock::new();
    CHUNKS
        .get_or_init(|| {
            if !testkit::have_ffmpeg() {
                return None;
            }
            let cfg = LiveConfig {
                chunk_ms: 1000,
                width: 128,
                height: 72,
                realtime: false,
                max_seconds: Some(12.0),
                ..LiveConfig::default()
            };
            let mut enc = LiveEncoder::start(&cfg, Continue::default()).unwrap();
            let mut chunks = Vec::new();
            while let Some(c) = enc.next_chunk(&|| false).unwrap() {
                chunks.push(c);
            }
            assert!(chunks.len() >= 11, "{} chunks", chunks.len());
            Some(chunks)
        })
        .as_deref()
}

/// The `live chunk` unit of chunk `index` holding `c`.
fn unit(index: u32, c: &MediaChunk) -> Vec<u8> {
    Record::LiveChunk(LiveChunk {
        index,
        timestamp_ms: c.start_ms,
        payload: c.bytes.clone(),
    })
    .encode()
}

/// A live stream opened on a devnet, with its coins, an indexer and the gateway over it.
struct Live {
    c: Chain,
    seed: u8,
    signer: Signer,
    id: Txid,
    coins: Vec<Coin>,
    lineage: Coin,
    chunks: &'static [MediaChunk],
    ix: Indexer,
    published: Published,
    app: axum::Router,
}

fn builder(s: &Signer) -> LiveBuilder<'_> {
    LiveBuilder::new(s, Carrier::OpReturn, FeeRate::from_sat_per_vb(1).unwrap()).unwrap()
}

impl Live {
    /// The open header and one fan-out of `n` chunk coins, in the mempool, scanned.
    fn open(seed: u8, n: usize, chunks: &'static [MediaChunk]) -> Live {
        let c = chain();
        let signer = common::signer(seed);
        let b = builder(&signer);
        let funding = common::fund(&c.devnet, &signer, 2_000_000);
        let header = Header {
            title: Some("Live".into()),
            media_type: "video/x-cvpm".into(),
            ..Header::default()
        };
        let (h, lineage) = b.header(&funding, &header).unwrap();
        let biggest = chunks.iter().map(|m| unit(0, m).len()).max().unwrap();
        let value = b.coin_value(biggest + 8).unwrap();
        let (f, coins, lineage) = b.fan_out(0, &lineage, &[], n, value).unwrap();
        let id = c.devnet.submit_tx(h.tx).unwrap();
        c.devnet.submit_tx(f.tx).unwrap();
        let (ix, published) = c.index();
        let app = server::app(published.clone());
        Live {
            c,
            seed,
            signer,
            id,
            coins,
            lineage,
            chunks,
            ix,
            published,
            app,
        }
    }

    /// Chunk `i` (the `i`-th media chunk on the `i`-th coin) into the mempool; its txid.
    fn send(&self, i: u32) -> Txid {
        let txs = builder(&self.signer)
            .chunk(
                i,
                &self.coins[i as usize],
                &unit(i, &self.chunks[i as usize]),
            )
            .unwrap();
        let mut last = None;
        for t in txs {
            last = Some(self.c.devnet.submit_tx(t.tx).unwrap());
        }
        last.unwrap()
    }

    /// Scan what changed and publish it to the gateway.
    fn refresh(&mut self) {
        self.ix.poll(&self.c.devnet).unwrap();
        self.published.set(self.ix.snapshot());
    }

    async fn get(&self, path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        get(
            self.app.clone(),
            &format!("/api/content/{}{path}", self.id),
            &[],
        )
        .await
    }

    async fn json(&self, path: &str) -> Value {
        let (s, _, body) = self.get(path).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    /// The indices the live manifest lists, in its order.
    async fn listed(&self) -> Vec<u64> {
        let m = self.json("/live").await;
        m["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["index"].as_u64().unwrap())
            .collect()
    }

    /// `GET /live/{n}` answers 404 with the API's JSON error.
    async fn not_served(&self, n: u32) {
        let (s, h, body) = self.get(&format!("/live/{n}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "chunk {n}");
        assert_eq!(h["content-type"], "application/json");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
}

#[tokio::test]
async fn the_manifest_lists_chunks_in_index_order_with_gaps_and_serves_them_as_webm() {
    let Some(chunks) = media_chunks() else { return };
    let mut l = Live::open(51, 5, chunks);
    l.send(0);
    l.send(2);
    l.refresh();

    let m = l.json("/live").await;
    assert_eq!(m["open"], true, "{m}");
    assert_eq!(m["state"], "live", "{m}");
    assert_eq!(
        (m["next_index"].as_u64(), m["missing"].as_u64()),
        (Some(3), Some(1))
    );
    common::assert_av1_webm(&m);
    assert_eq!(l.listed().await, [0, 2], "chunk 1 not sent yet: a gap");
    let c2 = &m["chunks"][1];
    assert_eq!(c2["timestamp_ms"].as_u64(), Some(chunks[2].start_ms));
    assert_eq!(c2["playable"], true);
    assert!(c2["duration_ms"].as_u64().unwrap() > 0, "{m}");
    l.not_served(1).await;

    // The init segment and a chunk: WebM, the chunk immutable, and the two decode.
    let (s, h, init) = l.get("/live/init").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "video/webm");
    for n in [0u32, 2] {
        let (s, h, body) = l.get(&format!("/live/{n}")).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(h["content-type"], "video/webm");
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        let mut webm = init.clone();
        webm.extend_from_slice(&body);
        let frames = media::format::Stream::decode_prefix(&chunks[n as usize].bytes)
            .map(|s| s.packets.iter().filter(|p| !p.audio).count())
            .unwrap_or(0);
        let decoded = decode(&webm);
        assert!(decoded > 0, "chunk {n} decodes");
        if n == 0 {
            assert_eq!(decoded, frames as u64, "chunk 0 whole");
        }
    }

    // Chunk 1 arrives late: listed in its place.
    l.send(1);
    l.refresh();
    assert_eq!(l.listed().await, [0, 1, 2]);

    // Chunk 3 arrives, then is double-spent away (a replacement paying more spends its coin to
    // nothing but fees) while chunk 4 arrives: a gap at 3, never chunk 4 moved up.
    l.send(3);
    l.refresh();
    assert_eq!(l.listed().await, [0, 1, 2, 3]);
    let replace = testkit::devnet::key(l.seed).spend(
        std::slice::from_ref(&l.coins[3]),
        vec![TxOut {
            value: Amount::ZERO,
            script_pubkey: ScriptBuf::new_op_return([0u8; 32]),
        }],
    );
    l.c.devnet.submit_tx(replace).unwrap();
    l.send(4);
    l.refresh();
    assert_eq!(
        l.listed().await,
        [0, 1, 2, 4],
        "chunk 3 double-spent: a gap"
    );
    let m = l.json("/live").await;
    assert_eq!(
        (m["next_index"].as_u64(), m["missing"].as_u64()),
        (Some(5), Some(1))
    );
    l.not_served(3).await;
    let (s, _, _) = l.get("/live/4").await;
    assert_eq!(s, StatusCode::OK);

    // A stranger's chunk 5 (real CVPM, on the stranger's own coin: outside the lineage).
    let stranger = common::signer(52);
    let coin = common::fund(&l.c.devnet, &stranger, 200_000);
    let forged = builder(&stranger)
        .chunk(5, &coin, &unit(5, &chunks[1]))
        .unwrap();
    let ftxid = l.c.devnet.submit_tx(forged[0].tx.clone()).unwrap();
    l.refresh();
    assert_eq!(
        l.listed().await,
        [0, 1, 2, 4],
        "the forged chunk is not listed"
    );
    assert_eq!(l.json("/live").await["forged_chunks"], 1);
    l.not_served(5).await;
    let v = l.json("").await;
    assert_eq!(v["live"]["forgeries"][0]["txid"], ftxid.to_string(), "{v}");
    assert_eq!(v["live"]["forgeries"][0]["index"], 5, "{v}");
}

#[tokio::test]
async fn events_push_each_new_chunk_then_ended_and_the_recording_is_a_complete_film() {
    let Some(chunks) = media_chunks() else { return };
    let mut l = Live::open(53, 2, chunks);
    l.send(0);
    l.refresh();

    // Over a real connection, as the browser's EventSource reads it; the socket's read timeout
    // bounds each wait.
    let addr = common::serve(l.app.clone(), httpd::Limits::default());
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    write!(
        sock,
        "GET /api/content/{}/live/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n",
        l.id
    )
    .unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(sock);
    let (name, first) = common::read_event(&mut reader);
    assert_eq!(name, "live", "{first}");
    assert_eq!(first["open"], true);
    assert_eq!(first["chunks"][0]["index"], 0, "{first}");

    // Chunk 1 arrives: an event names it (only new chunks are in an event).
    l.send(1);
    l.refresh();
    loop {
        let (name, e) = common::read_event(&mut reader);
        assert_eq!(name, "live", "{e}");
        let new: Vec<u64> = e["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["index"].as_u64().unwrap())
            .collect();
        assert!(!new.contains(&0), "chunk 0 pushed twice: {e}");
        if new == [1] {
            break;
        }
    }

    // The `end` record with the count and root of the two chunks closes the stream.
    let payloads: Vec<Vec<u8>> = chunks[..2].iter().map(|c| c.bytes.clone()).collect();
    let end = builder(&l.signer)
        .end(&l.lineage, 2, cvp::merkle::root(&payloads))
        .unwrap();
    l.c.devnet.submit_tx(end.tx).unwrap();
    l.refresh();
    let mut ended = || loop {
        let (name, e) = common::read_event(&mut reader);
        if name != "live" {
            assert_eq!(name, "ended", "{e}");
            break e;
        }
    };
    // Verified but unconfirmed: closed, but not yet a recording `/media` calls complete.
    let e = ended();
    assert_eq!(
        (e["open"].as_bool(), e["recording"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(l.json("/media").await["complete"], false);
    testkit::devnet::mine_one(&l.c.devnet).unwrap();
    l.refresh();
    let e = ended();
    assert_eq!(
        (e["open"].as_bool(), e["recording"].as_bool()),
        (Some(false), Some(true))
    );

    // Now an ordinary film: its media manifest is complete and its fragments are closed.
    let m = l.json("/media").await;
    assert_eq!(m["complete"], true, "{m}");
    let frags = m["fragments"].as_array().unwrap();
    assert!(
        !frags.is_empty() && frags.iter().all(|f| f["closed"] == true),
        "{m}"
    );
    let film: Vec<u8> = payloads.concat();
    let (s, _, body) = l.get("/file").await;
    assert_eq!(s, StatusCode::OK);
    let frames = media::format::Stream::decode(&film)
        .unwrap()
        .packets
        .iter()
        .filter(|p| !p.audio)
        .count();
    assert_eq!(
        decode(&body),
        frames as u64,
        "the recording is the two chunks"
    );
}

/// What the player shows, for a failure's message.
const PLAYER: &str = "(() => { const v = document.getElementById('v'); const b = []; for (let i = 0; i < v.buffered.length; i++) b.push([v.buffered.start(i), v.buffered.end(i)]); return { t: v.currentTime, paused: v.paused, buffered: b, live: v.dataset.live || null, status: document.getElementById('status').textContent, error: v.dataset.error || null }; })()";

#[test]
fn the_player_steps_over_a_gap_and_never_appends_a_chunk_behind_it() {
    let Some(chunks) = media_chunks() else { return };
    if !testkit::have_chromium() {
        return;
    }
    let mut l = Live::open(53, 6, chunks);
    l.send(0);
    l.send(1);
    l.refresh();
    let addr = common::serve(l.app.clone(), httpd::Limits::default());
    let browser =
        testkit::browser::Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut page = browser
        .open(&format!("http://{addr}/watch/{}", l.id))
        .unwrap();
    let wait = Duration::from_secs(30);
    page.wait_for(
        "(() => { const v = document.getElementById('v'); return v.dataset.live === '1' && !v.paused && v.currentTime > 0; })()",
        wait,
    )
    .unwrap_or_else(|e| panic!("{e}: {}", page.eval(PLAYER).unwrap_or_default()));
    // Chunk 2 never comes in time (double-spent away, or late): 3, 4 and 5 do.
    for i in [3, 4, 5] {
        l.send(i);
    }
    l.refresh();
    let past = page
        .wait_for(
            "(() => { const v = document.getElementById('v'); return v.currentTime > 3.5 && !v.dataset.error ? v.currentTime : false; })()",
            wait,
        )
        .unwrap_or_else(|e| panic!("{e}: {}", page.eval(PLAYER).unwrap_or_default()));
    assert!(past.as_f64().unwrap() > 3.5);
    // Chunk 2 arrives after the playhead passed it: never appended, nothing replays.
    l.send(2);
    l.refresh();
    std::thread::sleep(Duration::from_secs(2));
    let s = page.eval(PLAYER).unwrap();
    let gap = chunks[2].start_ms as f64 / 1000.0 + 0.25;
    let covered = s["buffered"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r[0].as_f64().unwrap() <= gap && gap < r[1].as_f64().unwrap());
    assert!(!covered, "chunk 2 was appended behind the playhead: {s}");
    assert!(
        s["t"].as_f64().unwrap() > 3.5 && s["error"].is_null(),
        "{s}"
    );
}

#[test]
fn after_a_stall_the_player_catches_up_with_the_live_edge() {
    let Some(chunks) = media_chunks() else { return };
    if !testkit::have_chromium() {
        return;
    }
    let n = chunks.len() as u32;
    let mut l = Live::open(54, chunks.len(), chunks);
    l.send(0);
    l.refresh();
    let addr = common::serve(l.app.clone(), httpd::Limits::default());
    let browser =
        testkit::browser::Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut page = browser
        .open(&format!("http://{addr}/watch/{}", l.id))
        .unwrap();
    let wait = Duration::from_secs(30);
    // Playing chunk 0, then stalled at its end: nothing more arrives for a while.
    page.wait_for(
        "(() => { const v = document.getElementById('v'); return v.dataset.live === '1' && v.currentTime > 0.9; })()",
        wait,
    )
    .unwrap_or_else(|e| panic!("{e}: {}", page.eval(PLAYER).unwrap_or_default()));
    std::thread::sleep(Duration::from_secs(2));
    // The rest arrives at once, far ahead of the playhead: the player jumps near the edge.
    for i in 1..n {
        l.send(i);
    }
    l.refresh();
    let edge =
        (chunks[chunks.len() - 1].start_ms + chunks[chunks.len() - 1].media_ms) as f64 / 1000.0;
    let t = page
        .wait_for(
            &format!("(() => {{ const v = document.getElementById('v'); return v.currentTime > {} && !v.dataset.error ? v.currentTime : false; }})()", edge - 3.0),
            wait,
        )
        .unwrap_or_else(|e| panic!("{e}: {}", page.eval(PLAYER).unwrap_or_default()));
    assert!(t.as_f64().unwrap() <= edge, "{t} past the edge {edge}");
    // It jumped: the middle of what arrived during the stall was never played.
    let skipped = page
        .eval("(() => { const v = document.getElementById('v'); const p = []; for (let i = 0; i < v.played.length; i++) p.push([v.played.start(i), v.played.end(i)]); return p; })()")
        .unwrap();
    let mid = edge / 2.0;
    let played_mid = skipped
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r[0].as_f64().unwrap() <= mid && mid < r[1].as_f64().unwrap());
    assert!(
        !played_mid,
        "played through {mid} s instead of catching up: {skipped}"
    );
}
