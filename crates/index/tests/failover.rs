//! Several backends behind `chain::Multi`: the backend suite through it, a backend stopped in the
//! middle of a scan (the scan completes on the other), and lying backends (HTTP proxies in front of
//! the real one that alter a block hash or a block's header): detected, reported, not used.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::response::IntoResponse;
use bitcoin::{Amount, BlockHash, ScriptBuf, Transaction};
use chain::esplora::EsploraBackend;
use chain::testsuite::{self, Control};
use chain::{ChainBackend, Health, Multi};
use cvp::Carrier;
use devnet::{Devnet, DevnetConfig};
use index::Indexer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Ctl(Devnet);

impl Control for Ctl {
    fn mine(&self, n: u32) -> Vec<BlockHash> {
        self.0.mine(n, &self.0.faucet_script()).unwrap()
    }
    fn fund(&self, script: &ScriptBuf, amount: Amount) -> Transaction {
        let txid = self.0.faucet(script, amount).unwrap();
        (*self.0.tx(&txid).unwrap().tx).clone()
    }
}

fn esplora(url: &str) -> Arc<dyn ChainBackend> {
    Arc::new(EsploraBackend::new(url, bitcoin::Network::Regtest))
}

fn multi(urls: &[&str]) -> Multi {
    let members = urls
        .iter()
        .map(|u| (format!("esplora:{u}"), esplora(u)))
        .collect();
    Multi::new(members)
        .unwrap()
        .with_timing(Duration::from_secs(30), Duration::from_secs(600))
}

/// Serve `app` on a loopback port from its own runtime; returns the URL and the count of
/// requests served. When `stop_after` requests have come, the server stops: its runtime is
/// dropped, every connection closed, the port refused.
fn serve(app: axum::Router, stop_after: Option<u64>) -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let c = Arc::clone(&count);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let stop = Arc::new(tokio::sync::Notify::new());
            let (n, s) = (Arc::clone(&c), Arc::clone(&stop));
            let app = app.layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let (n, s) = (Arc::clone(&n), Arc::clone(&s));
                    async move {
                        let seen = n.fetch_add(1, Ordering::SeqCst) + 1;
                        if stop_after.is_some_and(|max| seen > max) {
                            s.notify_one();
                            return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
                        }
                        next.run(req).await
                    }
                },
            ));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            tokio::select! {
                _ = axum::serve(listener, app) => {}
                _ = stop.notified() => {}
            }
        });
        drop(rt);
    });
    (format!("http://{}", rx.recv().unwrap()), count)
}

/// A proxy to `upstream` (GET only) whose answers pass through `alter(path, body)`.
fn proxy(upstream: String, alter: fn(&str, &mut Vec<u8>)) -> (String, Arc<AtomicU64>) {
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let upstream = upstream.clone();
        async move {
            let path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            tokio::task::spawn_blocking(move || {
                let (status, mut body) = match ureq::get(&format!("{upstream}{path}")).call() {
                    Ok(r) => (r.status(), read(r)),
                    Err(ureq::Error::Status(code, r)) => (code, read(r)),
                    Err(e) => (502, e.to_string().into_bytes()),
                };
                alter(&path, &mut body);
                (axum::http::StatusCode::from_u16(status).unwrap(), body).into_response()
            })
            .await
            .unwrap()
        }
    });
    serve(app, None)
}

fn read(r: ureq::Response) -> Vec<u8> {
    let mut v = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut v).unwrap();
    v
}

fn devnet(dir: &tempfile::TempDir) -> Devnet {
    Devnet::open(&dir.path().join("chain"), DevnetConfig::default()).unwrap()
}

#[test]
fn two_servers_of_one_chain_behind_multi_pass_the_backend_suite() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet(&dir);
    let (a, b) = (testkit::devnet::serve(&d), testkit::devnet::serve(&d));
    let m = multi(&[&a, &b]);
    testsuite::run(&m, &Ctl(d.clone()));
    assert!(m.status().iter().all(|s| s.health == Health::Healthy));
    assert!(m.status()[0].in_use);
}

#[test]
fn a_backend_stopped_in_the_middle_of_a_scan_fails_over_and_the_scan_completes() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet(&dir);
    let data: Vec<u8> = (0..40_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let (id, _) = common::publish(&d, 51, &data, "Failover", Carrier::OpReturn);
    d.mine(150, &d.faucet_script()).unwrap();
    let (first, served) = serve(devnet::http::router(d.clone()), Some(120));
    let (second, _) = serve(devnet::http::router(d.clone()), None);
    let m = Arc::new(multi(&[&first, &second]));
    let mut ix = Indexer::in_memory().unwrap();
    ix.poll(m.as_ref()).unwrap();
    assert!(
        served.load(Ordering::SeqCst) > 120,
        "the first backend served the scan until it stopped"
    );
    assert_eq!(ix.cursor().unwrap().unwrap().1, d.tip().hash);
    assert_eq!(ix.snapshot().read_all(&id).unwrap(), data);
    let status = m.status();
    assert!(
        matches!(status[0].health, Health::Down { .. }),
        "{status:?}"
    );
    assert!(status[1].in_use, "{status:?}");
    // New blocks keep coming from the second.
    d.mine(2, &d.faucet_script()).unwrap();
    ix.poll(m.as_ref()).unwrap();
    assert_eq!(ix.cursor().unwrap().unwrap().1, d.tip().hash);
}

/// The height the liars of the next test lie about, and the block whose header they alter.
const LIE_AT: u32 = 60;
const ALTERED_AT: u32 = 30;

#[test]
fn lying_backends_are_detected_reported_and_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet(&dir);
    d.mine(100, &d.faucet_script()).unwrap();
    let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (id, _) = common::publish(&d, 52, &data, "After the lies", Carrier::OpReturn);
    d.mine(1, &d.faucet_script()).unwrap();
    let honest = testkit::devnet::serve(&d);
    // One alters a byte of block ALTERED_AT's header (its nonce)...
    let altered = ChainBackend::block_hash(&d, ALTERED_AT)
        .unwrap()
        .to_string();
    static ALTERED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ALTERED.set(altered.clone()).unwrap();
    let (header_liar, header_served) = proxy(honest.clone(), |path, body| {
        if path == format!("/block/{}/raw", ALTERED.get().unwrap()) {
            body[76] ^= 1;
        }
    });
    // ...the other names block LIE_AT - 1 (real, valid, with proof of work) as block LIE_AT.
    static PREVIOUS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PREVIOUS
        .set(
            ChainBackend::block_hash(&d, LIE_AT - 1)
                .unwrap()
                .to_string(),
        )
        .unwrap();
    let (hash_liar, hash_served) = proxy(honest.clone(), |path, body| {
        if path == format!("/block-height/{LIE_AT}") {
            *body = PREVIOUS.get().unwrap().clone().into_bytes();
        }
    });
    let m = multi(&[&header_liar, &hash_liar, &honest]);
    let mut ix = Indexer::in_memory().unwrap();
    ix.poll(&m).unwrap();
    assert_eq!(ix.cursor().unwrap().unwrap().1, d.tip().hash);
    assert_eq!(ix.snapshot().read_all(&id).unwrap(), data);
    let status = m.status();
    match &status[0].health {
        Health::Disagrees { ours, theirs, .. } => {
            assert_eq!(ours.to_string(), altered, "{status:?}");
            assert_ne!(ours, theirs);
        }
        other => panic!("the header liar is not reported: {other:?}"),
    }
    match &status[1].health {
        Health::Disagrees {
            height,
            ours,
            theirs,
            reason,
        } => {
            assert_eq!(*height, Some(LIE_AT));
            assert_eq!(*ours, ChainBackend::block_hash(&d, LIE_AT).unwrap());
            assert_eq!(theirs.to_string(), *PREVIOUS.get().unwrap());
            assert!(reason.contains("BIP34"), "{reason}");
        }
        other => panic!("the hash liar is not reported: {other:?}"),
    }
    assert!(status[2].in_use, "{status:?}");
    // Neither liar is asked again.
    let (a, b) = (
        header_served.load(Ordering::SeqCst),
        hash_served.load(Ordering::SeqCst),
    );
    d.mine(3, &d.faucet_script()).unwrap();
    ix.poll(&m).unwrap();
    assert_eq!(ix.cursor().unwrap().unwrap().1, d.tip().hash);
    assert_eq!(header_served.load(Ordering::SeqCst), a);
    assert_eq!(hash_served.load(Ordering::SeqCst), b);
}
