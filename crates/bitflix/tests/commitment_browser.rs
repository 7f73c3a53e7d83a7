//! Films that live on BitTorrent behind a commitment, end to end in separate processes as people
//! run them: `bitflix devnet`; the publisher's `bitflix publish --carrier commitment` (one 80-byte
//! OP_RETURN, paid through the wallet) and `bitflix serve --bittorrent-listen`, which seeds; a
//! viewer's `bitflix serve` on a data directory of its own, which finds the record on chain,
//! fetches the swarm from the record's seed over loopback, checks every piece against the chain's
//! root and plays the film in Chromium. A record whose bytes never appear shows "waiting for
//! peers". (A seed of other bytes than the committed ones: crates/torrent/tests/loopback.rs.)
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use serde_json::Value;
use std::time::{Duration, Instant};
use testkit::browser::Browser;
use testkit::live::{get_json, LiveRig};

/// The first content of the catalog at `url` titled `title`, waiting up to `limit`.
fn find(url: &str, title: &str, limit: Duration) -> Value {
    let t = Instant::now();
    loop {
        let hit = get_json(&format!("{url}/api/catalog")).and_then(|l| {
            l.as_array()?
                .iter()
                .find(|c| c["header"]["title"] == title)
                .cloned()
        });
        if let Some(c) = hit {
            return c;
        }
        assert!(t.elapsed() < limit, "{url} does not list '{title}'");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_film_on_bittorrent_plays_in_chromium_from_a_viewers_gateway() {
    if !testkit::have_chromium() || !testkit::have_ffmpeg() {
        return;
    }
    let mut rig = LiveRig::start(&testkit::bitflix!(), "2s");
    let core = rig.core();
    let clip =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/bigbuckbunny.mp4");
    let film = rig.path("film.cvpm");
    let (clip_s, film_s) = (clip.to_str().unwrap(), film.to_str().unwrap());
    rig.publisher().json().ok(&[
        "encode",
        clip_s,
        "-o",
        film_s,
        "--kbps",
        "200",
        "--max-seconds",
        "6",
        "--cpu-used",
        "8",
        "--no-measure",
    ]);
    let bytes = std::fs::read(&film).unwrap();
    let seed = format!("127.0.0.1:{}", testkit::free_port());
    let out = rig.publisher().json().ok(&[
        "publish",
        film_s,
        "--carrier",
        "commitment",
        "--seed",
        &seed,
        "--title",
        "Bunny on BitTorrent",
        "--chain",
        &core,
    ]);
    let p = &out[0];
    eprintln!("the commitment publish: {p}");
    assert_eq!(p["carrier"], "commitment", "{out}");
    // The wallet's funding, the commitment, the title.
    assert_eq!(p["transactions"], 3, "{out}");
    assert!(
        p["commitment"]["unit_bytes"].as_u64().unwrap() <= 80,
        "{out}"
    );
    assert_eq!(p["commitment"]["length"], bytes.len() as u64, "{out}");

    // A second record whose bytes no peer has: its seed address answers nothing, and its swarm
    // is removed from the publisher's folder before the publisher seeds.
    let lost = rig.path("lost.bin");
    std::fs::write(&lost, vec![7u8; 100_000]).unwrap();
    let dead = format!("127.0.0.1:{}", testkit::free_port());
    let out = rig.publisher().json().ok(&[
        "publish",
        lost.to_str().unwrap(),
        "--carrier",
        "commitment",
        "--seed",
        &dead,
        "--title",
        "Nobody seeds this",
        "--chain",
        &core,
    ]);
    let swarm = out[0]["commitment"]["swarm"].as_str().unwrap().to_string();
    std::fs::remove_dir_all(&swarm).unwrap();

    rig.serve_with("publisher", &core, &["--bittorrent-listen", &seed]);
    let viewer = rig.serve_with("viewer", &core, &[]);
    let c = find(&viewer, "Bunny on BitTorrent", Duration::from_secs(120));
    let id = c["id"].as_str().unwrap().to_string();
    assert_eq!(c["state"], "committed", "{c}");
    assert_eq!(c["commitment"]["bytes"], "bittorrent", "{c}");

    // The viewer's gateway fetches the swarm and checks it all.
    let t = Instant::now();
    loop {
        let c = get_json(&format!("{viewer}/api/content/{id}")).unwrap();
        if c["swarm"]["checked_bytes"] == bytes.len() as u64 {
            assert_eq!(c["swarm"]["state"], "fetching", "{c}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the viewer did not fetch the swarm: {c}\npublisher: {}\nviewer: {}",
            std::fs::read_to_string(rig.path("publisher.err")).unwrap_or_default(),
            std::fs::read_to_string(rig.path("viewer.err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let got = ureq::get(&format!("{viewer}/api/content/{id}/stream"))
        .call()
        .unwrap();
    let mut served = Vec::new();
    std::io::Read::read_to_end(&mut got.into_reader(), &mut served).unwrap();
    assert!(
        served == bytes,
        "the viewer serves other bytes than the film"
    );

    let browser = Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut page = browser.open(&format!("{viewer}/watch/{id}")).unwrap();
    let played = page.wait_for(
        "(() => { const v = document.getElementById('v'); return v && v.videoWidth > 0 && v.currentTime > 1; })()",
        Duration::from_secs(60),
    );
    let state = page
        .eval("(() => { const v = document.getElementById('v'); return { error: v && v.dataset.error, status: document.getElementById('status').textContent, swarm: document.getElementById('swarm-state').textContent }; })()")
        .unwrap();
    assert!(played.is_ok(), "the film did not play: {played:?} {state}");
    assert!(
        state["swarm"].as_str().unwrap().contains("checked against"),
        "{state}"
    );

    // The record nobody seeds: waiting for peers, on the page and in the API, not an error.
    let lost = find(&viewer, "Nobody seeds this", Duration::from_secs(60));
    let lost_id = lost["id"].as_str().unwrap();
    let mut page = browser.open(&format!("{viewer}/watch/{lost_id}")).unwrap();
    let text = page
        .wait_for(
            "(() => { const s = document.getElementById('swarm-state'); return s && s.textContent; })()",
            Duration::from_secs(20),
        )
        .unwrap();
    assert!(
        text.as_str().unwrap().contains("Waiting for peers"),
        "{text}"
    );
    let c = get_json(&format!("{viewer}/api/content/{lost_id}")).unwrap();
    assert_eq!(c["swarm"]["state"], "waiting", "{c}");
    let r = ureq::get(&format!("{viewer}/api/content/{lost_id}/media")).call();
    match r {
        Err(ureq::Error::Status(503, resp)) => {
            let body = resp.into_string().unwrap();
            assert!(body.contains("waiting for peers"), "{body}");
        }
        other => panic!("the manifest of a swarm nobody seeds: {other:?}"),
    }
}
