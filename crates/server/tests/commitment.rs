//! A content behind a `commitment` record (docs/cvp.md, "Commitments"), published in one real
//! transaction on the devnet: the catalog and the watch page say what the chain holds of it (a
//! commitment of so many bytes) and where its bytes are (BitTorrent); its byte routes say so in an
//! error, never an empty file.
#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

mod common;

use axum::http::StatusCode;
use bitcoin::{Amount, TxOut};
use common::{chain, get};
use cvp::{Commitment, Info, Record, UnknownField};

#[tokio::test]
async fn a_commitment_is_shown_as_on_chain_pinned_and_on_bittorrent() {
    let c = chain();
    let d = &c.devnet;
    let key = testkit::devnet::key(31);
    let coin = testkit::devnet::funded(d, &key.script, Amount::from_sat(100_000));
    let record = Record::Commitment(Commitment {
        root: [0xab; 32],
        length: 18_000_000,
        media_code: 1,
        infohash: [0xcd; 20],
        seed: Some("192.0.2.7:6881".parse().unwrap()),
    });
    let unit = record.encode();
    let title = Record::Info(Info {
        fields: vec![UnknownField {
            tag: 3,
            value: b"Two <hours> of film".to_vec(),
        }],
    });
    let tx = key.spend(
        &[coin],
        vec![
            TxOut {
                value: Amount::from_sat(99_000),
                script_pubkey: key.script.clone(),
            },
            TxOut {
                value: Amount::ZERO,
                script_pubkey: cvp::carrier::op_return_script(&unit),
            },
            TxOut {
                value: Amount::ZERO,
                script_pubkey: cvp::carrier::op_return_script(&title.encode()),
            },
        ],
    );
    let id = tx.compute_txid();
    d.submit_tx(tx).unwrap();
    testkit::devnet::mine_one(d).unwrap();
    let catalog = c.catalog();
    let a = || server::app(catalog.clone());

    let (status, _, body) = get(a(), &format!("/api/content/{id}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["state"], "committed");
    assert_eq!(j["header"]["title"], "Two <hours> of film");
    assert_eq!(j["commitment"]["bytes"], "bittorrent");
    assert_eq!(j["commitment"]["unit_bytes"], unit.len());
    assert_eq!(j["commitment"]["seed"], "192.0.2.7:6881");
    assert_eq!(j["cost_sat"], 1_000);
    assert!(j["publisher"]["key"].is_string());

    let label = format!(
        "on chain: {}-byte commitment; bytes: BitTorrent",
        unit.len()
    );
    let (_, _, page) = get(a(), "/", &[]).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(&label), "{page}");
    assert!(page.contains("Two &#60;hours&#62; of film"), "{page}");
    let (_, _, page) = get(a(), &format!("/watch/{id}"), &[]).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(&label), "{page}");
    assert!(page.contains(&"ab".repeat(32)) && page.contains(&"cd".repeat(20)));
    assert!(page.contains("192.0.2.7:6881") && page.contains("18.0 MB"));
    assert!(
        !page.contains("<video"),
        "nothing to play from this gateway yet"
    );

    for route in ["file", "stream", "media"] {
        let (status, _, body) = get(a(), &format!("/api/content/{id}/{route}"), &[]).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{route}");
        assert!(
            String::from_utf8_lossy(&body).contains("BitTorrent"),
            "{route}"
        );
    }
}
