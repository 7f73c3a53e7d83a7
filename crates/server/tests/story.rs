//! The routes of interactive films (`/api/content/{id}/story` and the viewer's choices) over a
//! real film published on the devnet with a clip table and a decision: the story with each clip's
//! span; choices signed through the gateway's viewer (a key held by this test, its choices kept in
//! memory: the binary's own viewer, with its wallet, is tested end to end in crates/bitflix);
//! state changes refused from other origins and without the action header; bad branches and
//! options refused; a gateway without a viewer says so. Needs ffmpeg (the film).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Keypair, Secp256k1, SecretKey};
use bitcoin::Txid;
use common::{chain, film_info, get};
use cvp::{Branch, BranchOption, ClipEntry, Clips, Record};
use server::{LocalChoice, Quote, Recorded, Viewer, ViewerError};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// A viewer whose key is fixed and whose path is in memory; recording is refused (no wallet).
struct TestViewer {
    key: Keypair,
    path: Mutex<Vec<LocalChoice>>,
}

impl Viewer for TestViewer {
    fn key(&self) -> Result<String, ViewerError> {
        Ok(hex::encode(self.key.x_only_public_key().0.serialize()))
    }
    fn choose(
        &self,
        content: Txid,
        branch_id: u32,
        option: u32,
    ) -> Result<LocalChoice, ViewerError> {
        let mut c = cvp::Choice {
            content_id: content.to_byte_array(),
            branch_id,
            option,
            signature: None,
        };
        c.sign(&self.key);
        let l = LocalChoice {
            branch_id,
            option,
            record_hex: hex::encode(Record::Choice(c).encode()),
            at_unix_ms: 1,
            txid: None,
        };
        self.path.lock().unwrap().push(l.clone());
        Ok(l)
    }
    fn forget(&self, _: Txid, branch_id: u32) -> Result<(), ViewerError> {
        self.path
            .lock()
            .unwrap()
            .retain(|c| c.branch_id != branch_id);
        Ok(())
    }
    fn path(&self, _: Txid) -> Result<Vec<LocalChoice>, ViewerError> {
        Ok(self.path.lock().unwrap().clone())
    }
    fn quote(&self, _: Txid) -> Result<Quote, ViewerError> {
        Ok(Quote {
            choices: self.path.lock().unwrap().len(),
            vbytes: 250,
            fee_sat: 250,
            feerate_sat_vb: 1.0,
            balance_sat: 0,
        })
    }
    fn record(&self, _: Txid, max_fee_sat: u64) -> Result<Recorded, ViewerError> {
        Err(ViewerError::Refused(format!(
            "the wallet cannot pay (cap {max_fee_sat} sat)"
        )))
    }
}

/// The bundled clip (5.3 s, a keyframe every second) with clips at 0, 2 and 4 s and a decision after clip 0.
fn fixture() -> Option<(common::Chain, Txid, Txid)> {
    let film = common::film(6)?;
    let c = chain();
    let mut info = film_info("Paths", None);
    info.records = vec![
        Record::Clips(Clips {
            clip_count: 3,
            first_clip: 0,
            clips: ["Start", "Left", "Right"]
                .iter()
                .zip([0, 2000, 4000])
                .map(|(n, s)| ClipEntry {
                    start_ms: s,
                    name: (*n).into(),
                })
                .collect(),
        }),
        Record::Branch(Branch {
            id: 7,
            at_segment: 0,
            timeout_ms: 10_000,
            default_option: 1,
            prompt: "Which way?".into(),
            options: vec![
                BranchOption {
                    next_segment: 1,
                    label: "Left".into(),
                },
                BranchOption {
                    next_segment: 2,
                    label: "Right".into(),
                },
            ],
        }),
    ];
    let id = c.publish_info(11, &film, info, true);
    let plain = c.publish_info(12, &film, film_info("Plain", None), true);
    Some((c, id, plain))
}

fn app(c: &common::Chain, viewer: Option<Arc<dyn Viewer>>) -> axum::Router {
    let mut view = server::View::default();
    if let Some(v) = viewer {
        view = view.with_viewer(v);
    }
    server::app_with(
        c.catalog(),
        view,
        server::Rewrapper::new(server::RewrapLimits::default()),
    )
}

async fn send(
    app: axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let b = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&b).unwrap_or_default())
}

#[tokio::test]
async fn the_story_gives_each_clip_its_span_and_the_decisions() {
    let Some((c, id, plain)) = fixture() else {
        return;
    };
    let (status, _, body) = get(app(&c, None), &format!("/api/content/{id}/story"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let s: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let spans: Vec<(u64, u64)> = s["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["start_ms"].as_u64().unwrap(),
                c["end_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(spans[..2], [(0, 2000), (2000, 4000)], "{s}");
    assert!(
        spans[2].0 == 4000 && spans[2].1 > 5000,
        "the last clip ends with the stream: {s}"
    );
    assert_eq!(s["complete"], true);
    assert_eq!(s["branches"][0]["prompt"], "Which way?");
    assert_eq!(s["branches"][0]["options"][1]["count"], 0);
    assert!(s["viewer"]["key"].is_null() && s["viewer"]["unavailable"].is_string());
    // The watch page plays it with the interactive player and shows the tally.
    let (_, _, page) = get(app(&c, None), &format!("/watch/{id}"), &[]).await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("/static/story.js") && !page.contains("/static/player.js"));
    assert!(page.contains("Which way?") && page.contains("Record my path"));
    // A film without a clip table has no story.
    let (status, _, _) = get(app(&c, None), &format!("/api/content/{plain}/story"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, page) = get(app(&c, None), &format!("/watch/{plain}"), &[]).await;
    assert!(String::from_utf8(page)
        .unwrap()
        .contains("/static/player.js"));
}

#[tokio::test]
async fn choices_are_signed_by_the_viewer_and_guarded() {
    let Some((c, id, _)) = fixture() else {
        return;
    };
    let key =
        Keypair::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[9; 32]).unwrap());
    let viewer = Arc::new(TestViewer {
        key,
        path: Mutex::new(Vec::new()),
    });
    let uri = format!("/api/content/{id}/choices");
    let ok = [
        ("x-bitflix-action", "choose"),
        ("content-type", "application/json"),
    ];
    let body = r#"{"branch_id":7,"option":0}"#;
    // Without a viewer: said, not faked.
    let (status, e) = send(app(&c, None), "POST", &uri, &ok, body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{e}");
    let a = || app(&c, Some(viewer.clone() as Arc<dyn Viewer>));
    // Another origin, or no action header: refused, nothing signed.
    let (status, _) = send(a(), "POST", &uri, &[("content-type", "text/plain")], body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cross = [
        ("x-bitflix-action", "choose"),
        ("origin", "http://evil.example"),
        ("host", "127.0.0.1:8080"),
    ];
    let (status, _) = send(a(), "POST", &uri, &cross, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(viewer.path.lock().unwrap().is_empty());
    // Unknown branch, option out of range, garbage: 400.
    for bad in [
        r#"{"branch_id":8,"option":0}"#,
        r#"{"branch_id":7,"option":2}"#,
        "not json",
    ] {
        let (status, e) = send(a(), "POST", &uri, &ok, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {e}");
    }
    // A good choice: signed by the viewer's key over this content, branch and option.
    let (status, l) = send(a(), "POST", &uri, &ok, body).await;
    assert_eq!(status, StatusCode::CREATED, "{l}");
    let unit = hex::decode(l["record_hex"].as_str().unwrap()).unwrap();
    let Ok(Record::Choice(ch)) = Record::decode(&unit) else {
        panic!("a choice record: {l}")
    };
    assert_eq!(ch.content_id, id.to_byte_array());
    assert_eq!((ch.branch_id, ch.option), (7, 0));
    assert_eq!(ch.verified_signer(), Some(key.x_only_public_key().0));
    // The story shows the viewer's key and path.
    let (_, s) = send(a(), "GET", &format!("/api/content/{id}/story"), &[], "").await;
    assert_eq!(s["viewer"]["path"][0]["option"], 0);
    assert_eq!(
        s["viewer"]["key"],
        hex::encode(key.x_only_public_key().0.serialize())
    );
    // Back: forgotten.
    let (status, _) = send(
        a(),
        "DELETE",
        &format!("{uri}/7"),
        &[("x-bitflix-action", "choose")],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(viewer.path.lock().unwrap().is_empty());
    // The quote is the viewer's; a refused recording is a 409 with the viewer's words.
    let (status, q) = send(a(), "GET", &format!("{uri}/quote"), &[], "").await;
    assert_eq!((status, q["fee_sat"].as_u64()), (StatusCode::OK, Some(250)));
    let rec = [
        ("x-bitflix-action", "record"),
        ("content-type", "application/json"),
    ];
    let (status, e) = send(
        a(),
        "POST",
        &format!("{uri}/record"),
        &rec,
        r#"{"max_fee_sat":500}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    assert!(e["error"].as_str().unwrap().contains("cap 500 sat"), "{e}");
    let (status, _) = send(
        a(),
        "POST",
        &format!("{uri}/record"),
        &ok,
        r#"{"max_fee_sat":500}"#,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "recording needs its own action header"
    );
}
