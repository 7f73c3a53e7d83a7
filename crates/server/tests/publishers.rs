//! Who published it: a stranger's look-alike of a film is shown with its own publisher key and
//! marked; with a trusted publisher only that publisher's contents are listed; a film
//! double-spent away in the mempool disappears from a running gateway.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::http::StatusCode;
use bitcoin::key::{Keypair, TapTweak};
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{Prevouts, SighashCache, TapSighashType};
use bitcoin::{Amount, Transaction, TxIn, TxOut, Witness};
use common::{chain, get, signer};
use serde_json::Value;

fn film(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 % 251) as u8).collect()
}

async fn catalog(app: axum::Router, query: &str) -> Vec<Value> {
    let (s, _, body) = get(app, &format!("/api/catalog{query}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    serde_json::from_slice::<Value>(&body)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_look_alike_is_marked_and_trust_lists_only_the_trusted_publisher() {
    let chain = chain();
    let real = film(6_000);
    let original = chain.publish_titled(1, &real, "video/mp4", "Big Buck Bunny", true);
    // A stranger: the same title (other case and spacing), two thirds of the real bytes.
    let copy = chain.publish_titled(2, &real[..4_000], "video/mp4", "big buck  BUNNY", true);
    let published = chain.catalog();
    let snap = published.get();
    let o = snap.summary(&original).unwrap();
    let c = snap.summary(&copy).unwrap();
    let (ok, ck) = (o.publisher.clone().unwrap(), c.publisher.clone().unwrap());
    assert_eq!(
        ok.key,
        hex::encode(&signer(1).script().as_bytes()[2..34]),
        "the output key of the coin the header spends"
    );
    assert_ne!(ok.key, ck.key, "each shown with its own key");
    assert_eq!(c.lookalike_of, Some(original));
    assert_eq!(o.lookalike_of, None, "the earlier one is the original");
    assert_eq!(o.lookalikes, vec![copy]);

    let app = server::app(published.clone());
    let all = catalog(app.clone(), "").await;
    assert_eq!(all.len(), 2);
    let (s, _, page) = get(app.clone(), &format!("/watch/{copy}"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("Look-alike") && page.contains(&ck.fingerprint),
        "{page}"
    );
    assert!(page.contains(&format!("/watch/{original}")));
    let (_, _, index) = get(app, "/", &[]).await;
    assert!(String::from_utf8(index).unwrap().contains("look-alike"));

    // The viewer trusts the real publisher, by fingerprint.
    let view = server::View::with_trusted(vec![ok.fingerprint.clone()]);
    let trusting = server::app_with(
        published,
        view,
        server::Rewrapper::new(server::RewrapLimits::default()),
    );
    let listed = catalog(trusting.clone(), "").await;
    assert_eq!(listed.len(), 1, "only the trusted publisher's film");
    assert_eq!(listed[0]["id"], original.to_string());
    assert_eq!(listed[0]["trusted"], true);
    let everything = catalog(trusting.clone(), "?all=1").await;
    assert_eq!(everything.len(), 2);
    let stranger = everything
        .iter()
        .find(|v| v["id"] == copy.to_string())
        .unwrap();
    assert_eq!(stranger["trusted"], false);
    assert_eq!(stranger["publisher"]["key"], ck.key);
    let searched = catalog(trusting, "?all=1&q=BUCK").await;
    assert_eq!(searched.len(), 2, "search by title, case-folded");
}

#[tokio::test]
async fn a_film_double_spent_away_disappears_from_a_running_gateway() {
    let chain = chain();
    let d = &chain.devnet;
    let id = chain.publish(7, &film(2_000), "video/mp4", false);
    let (mut ix, published) = chain.index();
    let app = server::app(published.clone());
    let (s, _, _) = get(app.clone(), &format!("/api/content/{id}/file"), &[]).await;
    assert_eq!(s, StatusCode::OK, "served from the mempool, verified");
    // The funding coin of the header is spent elsewhere, with a higher fee.
    let header = d.tx(&id).unwrap().tx;
    let coin = header.input[0].previous_output;
    let prevout = d.prevout(&coin).unwrap();
    let mut tx = Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: coin,
            sequence: bitcoin::Sequence::ENABLE_RBF_NO_LOCKTIME,
            ..Default::default()
        }],
        output: vec![TxOut {
            value: prevout.value - Amount::from_sat(200_000),
            script_pubkey: prevout.script_pubkey.clone(),
        }],
    };
    let secp = Secp256k1::new();
    let kp = Keypair::from_secret_key(&secp, &SecretKey::from_slice(&[7; 32]).unwrap());
    let tweaked = kp.tap_tweak(&secp, None).to_keypair();
    let h = SighashCache::new(&tx)
        .taproot_key_spend_signature_hash(0, &Prevouts::All(&[prevout]), TapSighashType::Default)
        .unwrap();
    let sig = secp.sign_schnorr_no_aux_rand(&Message::from_digest(*h.as_ref()), &tweaked);
    tx.input[0].witness = Witness::from_slice(&[sig.serialize()]);
    d.submit_tx(tx).unwrap();
    ix.poll(d).unwrap();
    published.set(ix.snapshot());
    let (s, _, _) = get(app.clone(), &format!("/api/content/{id}"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "gone with its funding");
    assert!(catalog(app, "").await.is_empty());
}

#[tokio::test]
async fn a_film_larger_than_a_read_chunk_streams_whole_from_the_store() {
    let chain = chain();
    let big = film(2_600_000);
    let id = chain.publish(9, &big, "video/mp4", true);
    let app = server::app(chain.catalog());
    let (s, h, body) = get(app.clone(), &format!("/api/content/{id}/file"), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-length"], big.len().to_string());
    assert!(body == big, "the whole film, byte for byte");
    let (s, _, body) = get(
        app,
        &format!("/api/content/{id}/file"),
        &[("range", "bytes=1000000-2500000")],
    )
    .await;
    assert_eq!(s, StatusCode::PARTIAL_CONTENT);
    assert!(body == big[1_000_000..2_500_001]);
}

async fn send(app: axum::Router, method: &str, uri: &str, headers: &[(&str, &str)]) -> StatusCode {
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.oneshot(req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_publisher_pinned_from_the_page_is_trusted_and_other_origins_cannot_pin() {
    let chain = chain();
    let real = chain.publish_titled(3, &film(3_000), "video/mp4", "Pinned", true);
    let other = chain.publish_titled(4, &film(2_000), "video/mp4", "Other", true);
    let published = chain.catalog();
    let fp = published
        .get()
        .summary(&real)
        .unwrap()
        .publisher
        .clone()
        .unwrap()
        .fingerprint;
    let pins = chain.dir.path().join("trusted-publishers");
    let view = server::View::with_file(Vec::new(), pins.clone()).unwrap();
    let app = server::app_with(
        published.clone(),
        view,
        server::Rewrapper::new(server::RewrapLimits::default()),
    );
    let (_, _, page) = get(app.clone(), &format!("/watch/{real}"), &[]).await;
    assert!(String::from_utf8(page)
        .unwrap()
        .contains("data-action=\"trust\""));
    let uri = format!("/api/trust/{fp}");
    // Without the header (a form or an image from anywhere) or from another origin: refused.
    assert_eq!(
        send(app.clone(), "POST", &uri, &[]).await,
        StatusCode::FORBIDDEN
    );
    let foreign = [
        ("x-bitflix-action", "trust"),
        ("origin", "null"),
        ("host", "127.0.0.1:8080"),
    ];
    assert_eq!(
        send(app.clone(), "POST", &uri, &foreign).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(catalog(app.clone(), "").await.len(), 2, "nothing pinned");
    let own = [
        ("x-bitflix-action", "trust"),
        ("origin", "http://127.0.0.1:8080"),
        ("host", "127.0.0.1:8080"),
    ];
    assert_eq!(
        send(app.clone(), "POST", &uri, &own).await,
        StatusCode::NO_CONTENT
    );
    let listed = catalog(app.clone(), "").await;
    assert_eq!(listed.len(), 1, "only the pinned publisher's content");
    assert_eq!(listed[0]["id"], real.to_string());
    assert!(
        std::fs::read_to_string(&pins).unwrap().contains(&fp),
        "kept for the next start"
    );
    let again = server::View::with_file(Vec::new(), pins.clone()).unwrap();
    let app2 = server::app_with(
        published,
        again,
        server::Rewrapper::new(server::RewrapLimits::default()),
    );
    assert_eq!(
        catalog(app2, "").await.len(),
        1,
        "the pin survives a restart"
    );
    assert_eq!(
        send(app.clone(), "DELETE", &uri, &own).await,
        StatusCode::NO_CONTENT
    );
    let all = catalog(app, "").await;
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|v| v["id"] == other.to_string()));
}
