//! A film published on the devnet, scanned, and served: pages, API, Range, bad requests, and a
//! stranger's forged segment that is never served.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::http::StatusCode;
use bitcoin::key::Keypair;
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use bitcoin::{Amount, FeeRate, TxOut};
use common::{fund, get, signer};
use cvp::{Carrier, ContentInfo, Record, Segment};
use devnet::{Devnet, DevnetConfig};
use index::{Indexer, Published};
use wallet::PlanRequest;

struct Fixture {
    _dir: tempfile::TempDir,
    catalog: Published,
    id: bitcoin::Txid,
    film: Vec<u8>,
    fee: u64,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let d = Devnet::open(dir.path(), DevnetConfig::default()).unwrap();
    let publisher = signer(21);
    let film: Vec<u8> = (0..30_000u32).map(|i| (i % 251) as u8).collect();
    let info = ContentInfo {
        title: Some("<b>Fox</b>".into()),
        media_type: "video/mp4".into(),
        duration_ms: Some(5300),
        poster: None,
        records: Vec::new(),
    };
    let req = PlanRequest {
        stream: &film,
        info,
        carrier: Carrier::OpReturn,
        feerate: FeeRate::from_sat_per_vb(1).unwrap(),
        funding: fund(&d, &publisher, 1_000_000),
        commitment: None,
    };
    let miner = d.faucet_script();
    let (plan, _) = wallet::publish::publish(
        dir.path(),
        &d,
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
    // A stranger claims segment 0 of the film with their own coins.
    let stranger = signer(22);
    let coin = fund(&d, &stranger, 100_000);
    let forged = Record::Segment(Segment {
        index: 0,
        payload: vec![0xee; 30_000],
    })
    .encode();
    let mut tx = bitcoin::Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![bitcoin::TxIn {
            previous_output: coin.0,
            ..Default::default()
        }],
        output: vec![
            TxOut {
                value: Amount::ZERO,
                script_pubkey: cvp::carrier::op_return_script(&forged),
            },
            TxOut {
                value: Amount::from_sat(50_000),
                script_pubkey: stranger.script(),
            },
        ],
    };
    let sig = {
        let secp = Secp256k1::new();
        let kp = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[22; 32]).unwrap());
        let tweaked = bitcoin::key::TapTweak::tap_tweak(kp, &secp, None).to_keypair();
        let h = bitcoin::sighash::SighashCache::new(&tx)
            .taproot_key_spend_signature_hash(
                0,
                &bitcoin::sighash::Prevouts::All(std::slice::from_ref(&coin.1)),
                bitcoin::TapSighashType::Default,
            )
            .unwrap();
        secp.sign_schnorr_no_aux_rand(
            &bitcoin::secp256k1::Message::from_digest(*h.as_ref()),
            &tweaked,
        )
    };
    tx.input[0].witness = bitcoin::Witness::from_slice(&[sig.serialize()]);
    d.submit_tx(tx).unwrap();
    d.mine(1, &miner).unwrap();
    let mut ix = Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    assert_eq!(
        ix.snapshot().unattributed(),
        1,
        "the forged segment is seen and not attributed"
    );
    Fixture {
        _dir: dir,
        catalog: Published::new(ix.snapshot()),
        id: plan.content_id,
        film,
        fee: plan.fee().to_sat(),
    }
}

#[tokio::test]
async fn serves_the_verified_film_and_refuses_bad_requests() {
    let f = fixture();
    let app = server::app(f.catalog.clone());
    let (s, _, body) = get(app.clone(), "/api/catalog", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(list[0]["id"], f.id.to_string());
    assert_eq!(list[0]["state"], "complete");
    assert_eq!(
        list[0]["cost_sat"], f.fee,
        "cost on chain is what the publish paid"
    );
    assert!(
        list[0]["flaws"].as_array().unwrap().is_empty(),
        "the forgery never reached the film"
    );
    let (s, _, body) = get(app.clone(), "/api/stats", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let stats: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        stats["index"],
        serde_json::json!({ "unattributed": 1, "stray_live_chunks": 0, "stray_segments": 1 }),
        "the forged segment waits"
    );

    let (s, h, body) = get(app.clone(), &format!("/api/content/{}/file", f.id), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "video/mp4");
    assert_eq!(
        body, f.film,
        "the served file is the published one, byte for byte"
    );

    let (s, h, body) = get(
        app.clone(),
        &format!("/api/content/{}/file", f.id),
        &[("range", "bytes=100-199")],
    )
    .await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        h["content-range"],
        format!("bytes 100-199/{}", f.film.len())
    );
    assert_eq!(body, f.film[100..200]);

    let (s, _, _) = get(
        app.clone(),
        &format!("/api/content/{}/file", f.id),
        &[("range", "bytes=999999-")],
    )
    .await;
    assert_eq!(s, StatusCode::RANGE_NOT_SATISFIABLE);
    let (s, _, _) = get(app.clone(), "/api/content/nothex", &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = get(
        app.clone(),
        &format!("/api/content/{}", "0".repeat(64)),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = get(app.clone(), "/../../etc/passwd", &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = get(
        app.clone(),
        &format!("/api/content/{}", "9".repeat(5_000)),
        &[],
    )
    .await;
    assert!(s.is_client_error());

    let (s, _, body) = get(
        app.clone(),
        &format!("/api/content/{}/stream", f.id),
        &[("range", "bytes=-10")],
    )
    .await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        body,
        f.film[f.film.len() - 10..],
        "the raw stream's last 10 bytes"
    );
    let (s, _, body) = get(app.clone(), "/api/openapi.json", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    for path in [
        "/api/catalog",
        "/api/content/{id}",
        "/api/content/{id}/file",
        "/api/content/{id}/stream",
        "/sandbox/{id}",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} is described");
    }
    let (s, _, body) = get(app.clone(), "/", &[]).await;
    assert_eq!(s, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("&#60;b&#62;Fox&#60;/b&#62;"),
        "titles from the chain are escaped"
    );
    assert!(!html.contains("<b>Fox</b>"));
    let (s, _, body) = get(app, &format!("/watch/{}", f.id), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let watch = String::from_utf8(body).unwrap();
    assert!(watch.contains(&format!("/api/content/{}/file", f.id)));
    assert!(
        watch.contains("<svg") && watch.contains("bytes of this content per block"),
        "the chart is drawn"
    );
    let total: u64 = list[0]["bytes_by_block"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_u64().unwrap())
        .sum();
    assert_eq!(
        total,
        f.film.len() as u64,
        "the chart accounts for every byte once"
    );
}
