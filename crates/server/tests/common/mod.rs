//! Helpers for the gateway's tests: contents published on a throwaway devnet, scanned into a
//! catalog, and the gateway served on a loopback port.
#![allow(dead_code, reason = "each test file uses a different part")]
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

pub mod nginx;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use bitcoin::key::Keypair;
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use bitcoin::{Amount, FeeRate, OutPoint, TxOut, Txid};
use cvp::{Carrier, ContentInfo};
use devnet::{Devnet, DevnetConfig};
use index::{Indexer, Published};
use std::net::SocketAddr;
use tower::ServiceExt;
use wallet::{PlanRequest, Signer};

pub fn signer(seed: u8) -> Signer {
    Signer::new(Keypair::from_secret_key(
        &Secp256k1::new(),
        &SecretKey::from_slice(&[seed; 32]).unwrap(),
    ))
}

pub fn fund(d: &Devnet, s: &Signer, sats: u64) -> (OutPoint, TxOut) {
    let txid = d.faucet(&s.script(), Amount::from_sat(sats)).unwrap();
    d.mine(1, &d.faucet_script()).unwrap();
    let tx = d.tx(&txid).unwrap().tx;
    let vout = tx
        .output
        .iter()
        .position(|o| o.script_pubkey == s.script())
        .unwrap();
    (OutPoint::new(txid, vout as u32), tx.output[vout].clone())
}

/// A devnet in a temporary directory.
pub struct Chain {
    pub dir: tempfile::TempDir,
    pub devnet: Devnet,
}

pub fn chain() -> Chain {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    Chain { dir, devnet }
}

impl Chain {
    /// Publish `stream` as `media_type` with the key of `seed`, leaving it in the mempool when
    /// `confirm` is false (mined otherwise); the content id.
    pub fn publish(&self, seed: u8, stream: &[u8], media_type: &str, confirm: bool) -> Txid {
        self.publish_titled(
            seed,
            stream,
            media_type,
            &format!("content {seed}"),
            confirm,
        )
    }

    /// [`Chain::publish`] with a title.
    pub fn publish_titled(
        &self,
        seed: u8,
        stream: &[u8],
        media_type: &str,
        title: &str,
        confirm: bool,
    ) -> Txid {
        let info = ContentInfo {
            title: Some(title.into()),
            media_type: media_type.into(),
            duration_ms: Some(1000),
            poster: None,
            records: Vec::new(),
        };
        self.publish_info(seed, stream, info, confirm)
    }

    /// The signed transactions of a publish of `stream` with `info` (large OP_RETURNs, fanned
    /// out), in broadcast order, none sent: the test sends them with [`Chain::send`] when it
    /// wants the content to grow.
    pub fn plan(&self, seed: u8, stream: &[u8], info: ContentInfo) -> wallet::Plan {
        let publisher = signer(seed);
        let req = self.request(&publisher, stream, info);
        wallet::plan_layout(&req, &publisher, wallet::Layout::FanOut).unwrap()
    }

    /// A publish of `stream` with `info` in large OP_RETURNs at 1 sat/vB, funded by the faucet.
    fn request<'a>(
        &self,
        publisher: &Signer,
        stream: &'a [u8],
        info: ContentInfo,
    ) -> PlanRequest<'a> {
        PlanRequest {
            stream,
            info,
            carrier: Carrier::OpReturn,
            feerate: FeeRate::from_sat_per_vb(1).unwrap(),
            funding: fund(
                &self.devnet,
                publisher,
                1_000_000 + 20 * stream.len() as u64,
            ),
            commitment: None,
        }
    }

    /// Send `txs` in order, mining a block whenever the mempool refuses a longer unconfirmed
    /// chain, then mine one more.
    pub fn send(&self, txs: &[wallet::plan::PlannedTx]) {
        let miner = self.devnet.faucet_script();
        for t in txs {
            if self.devnet.submit_tx(t.tx.clone()).is_err() {
                self.devnet.mine(1, &miner).unwrap();
                self.devnet.submit_tx(t.tx.clone()).unwrap();
            }
        }
        self.devnet.mine(1, &miner).unwrap();
    }

    /// Publish `stream` with `info` (see [`Chain::publish`]).
    pub fn publish_info(&self, seed: u8, stream: &[u8], info: ContentInfo, confirm: bool) -> Txid {
        let d = &self.devnet;
        let publisher = signer(seed);
        let req = self.request(&publisher, stream, info);
        let miner = d.faucet_script();
        let datadir = self.dir.path().join(format!("publisher-{seed}"));
        std::fs::create_dir_all(&datadir).unwrap();
        let (plan, _) = wallet::publish::publish(
            &datadir,
            d,
            &req,
            &publisher,
            wallet::Layout::FanOut,
            || {
                d.mine(1, &miner)
                    .map(|_| ())
                    .map_err(|e| chain::ChainError::Unavailable(e.to_string()))
            },
            |_| {},
        )
        .unwrap();
        if confirm {
            d.mine(1, &miner).unwrap();
        }
        plan.content_id
    }

    /// Everything on the chain now, scanned (the indexer, to scan again, and what it published).
    pub fn catalog(&self) -> Published {
        self.index().1
    }

    /// The indexer (with its store in memory) and its published snapshot.
    pub fn index(&self) -> (Indexer, Published) {
        let mut ix = Indexer::in_memory().unwrap();
        ix.poll(&self.devnet).unwrap();
        let published = Published::new(ix.snapshot());
        (ix, published)
    }
}

/// One request through `app`: status, headers and body.
pub async fn get(
    app: axum::Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 100 << 20)
        .await
        .unwrap()
        .to_vec();
    (status, headers, body)
}

/// Serve `app` on a loopback port from a thread of its own, with `limits`; the address.
pub fn serve(app: axum::Router, limits: httpd::Limits) -> SocketAddr {
    httpd::probe::serve_on_loopback(app, limits).unwrap()
}

/// A real CVPM film (AV1 at 400 kbit/s so that it spans several 100 kB segments, Opus, 320 px at
/// 12 fps, a keyframe every second): the first `seconds` of the bundled demo clip, encoded once per machine and kept in the temporary
/// directory (written whole, then renamed). `None` (the test skips, saying so) without ffmpeg.
pub fn film(seconds: u32) -> Option<Vec<u8>> {
    if !testkit::have_ffmpeg() {
        return None;
    }
    let path = std::env::temp_dir().join(format!("bitflix-test-film-v3-{seconds}s.cvpm"));
    if let Ok(b) = std::fs::read(&path) {
        return Some(b);
    }
    let clip =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/bigbuckbunny.mp4");
    let cfg = media::encode::EncodeConfig {
        cpu_used: 8,
        max_seconds: Some(f64::from(seconds)),
        keyframe_seconds: 1.0,
        video_kbps: 400.0,
        ..Default::default()
    };
    let (stream, _) = media::encode::encode(&clip, &cfg).unwrap();
    let bytes = stream.encode();
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &bytes).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    Some(bytes)
}

/// The header info of a CVPM film titled `title`.
pub fn film_info(title: &str, poster: Option<Vec<u8>>) -> ContentInfo {
    ContentInfo {
        title: Some(title.into()),
        media_type: "video/x-cvpm".into(),
        duration_ms: None,
        poster,
        records: Vec::new(),
    }
}

/// The poster the publisher's own code makes from the bundled clip (`media::poster::make`).
pub fn poster() -> Vec<u8> {
    let clip =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/bigbuckbunny.mp4");
    media::poster::make(&clip, &media::poster::PosterConfig::default())
        .unwrap()
        .bytes
}

/// ffprobe's frame count of the video in `webm`, and ffmpeg's decode of it must be clean.
pub fn decode(webm: &[u8]) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.webm");
    std::fs::write(&path, webm).unwrap();
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames,codec_name",
            "-of",
            "json",
        ])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["streams"][0]["codec_name"], "av1");
    v["streams"][0]["nb_read_frames"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The next server-sent event read from `reader` (its `event:` name, `message` if none, and its
/// `data:` as JSON); the socket's read timeout bounds the wait.
pub fn read_event(reader: &mut impl std::io::BufRead) -> (String, serde_json::Value) {
    let mut name = "message".to_string();
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the event stream ended"
        );
        if let Some(n) = line.strip_prefix("event: ") {
            name = n.trim().to_string();
        } else if let Some(data) = line.strip_prefix("data: ") {
            return (name, serde_json::from_str(data.trim()).unwrap());
        }
    }
}

/// A manifest `m` names AV1 in WebM as its MIME type.
pub fn assert_av1_webm(m: &serde_json::Value) {
    let mime = m["mime"].as_str().unwrap_or_default();
    assert!(mime.starts_with("video/webm; codecs=\"av01."), "{m}");
}
