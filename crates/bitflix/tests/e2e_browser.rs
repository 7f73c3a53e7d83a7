//! End to end in a real browser: `bitflix demo` (devnet, encode, publish, index, serve) in its own
//! process, its film's watch page opened in headless Chromium (driven over the DevTools
//! protocol): the poster is there, the player decodes the film (a width) and plays it (the
//! position advances). A screenshot goes to target/artifacts/watch.png. `scripts/e2e-browser.sh`
//! runs this test.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use std::process::Stdio;
use std::time::{Duration, Instant};
use testkit::browser::Browser;

#[test]
fn the_demo_film_plays_in_chromium() {
    if !testkit::have_chromium() || !testkit::have_ffmpeg() {
        return;
    }
    let dir = testkit::tempdir();
    let listen = format!("127.0.0.1:{}", testkit::free_port());
    let mut demo = testkit::bitflix!()
        .datadir(dir.path())
        .command(&["demo", "--no-open", "--listen", &listen])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let catalog = format!("http://{listen}/api/catalog");
    let start = Instant::now();
    let (id, game) = loop {
        let list: Option<serde_json::Value> = ureq::get(&catalog)
            .call()
            .ok()
            .and_then(|r| r.into_json().ok());
        // The film, the interactive film and the game: the film by its title.
        let film = list.as_ref().and_then(|l| {
            l.as_array()?
                .iter()
                .find(|c| c["header"]["title"] == "Big Buck Bunny")
                .and_then(|c| c["id"].as_str())
        });
        let game = list.as_ref().and_then(|l| {
            l.as_array()?
                .iter()
                .find(|c| c["header"]["media_type"] == cvp::bundle::BUNDLE_MEDIA_TYPE)
                .and_then(|c| c["id"].as_str())
        });
        if let (Some(id), Some(game)) = (film, game) {
            break (id.to_string(), game.to_string());
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the demo did not serve its film"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let browser = Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut page = browser
        .open(&format!("http://{listen}/watch/{id}"))
        .unwrap();
    let played = page.wait_for(
        "(() => { const v = document.getElementById('v'); return v && v.videoWidth > 0 && v.currentTime > 1 && v.dataset.report; })()",
        Duration::from_secs(60),
    );
    let state = page
        .eval("(() => { const v = document.getElementById('v'); return { report: v && v.dataset.report, error: v && v.dataset.error, status: document.getElementById('status').textContent, poster: v && v.poster }; })()")
        .unwrap();
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    page.screenshot(&shots.join("watch.png")).unwrap();
    // The game, from the chain: it draws its board, and the arrow keys move its tiles.
    let mut play = browser
        .open(&format!("http://{listen}/sandbox/{game}/"))
        .unwrap();
    let board = play.wait_for(
        "(() => { const t = document.querySelectorAll('.tile-container .tile'); return t.length >= 2 ? document.querySelector('.tile-container').innerHTML : false; })()",
        Duration::from_secs(60),
    );
    let game_state = play
        .eval("JSON.stringify({ title: document.title, tiles: document.querySelectorAll('.tile').length, origin: self.origin })")
        .unwrap();
    assert!(board.is_ok(), "the game drew its board: {game_state}");
    let before = board.unwrap();
    let mut moved = false;
    for (key, code) in [
        ("ArrowLeft", 37),
        ("ArrowUp", 38),
        ("ArrowRight", 39),
        ("ArrowDown", 40),
    ] {
        for kind in ["keyDown", "keyUp"] {
            play.call(
                "Input.dispatchKeyEvent",
                serde_json::json!({ "type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code }),
            )
            .unwrap();
        }
        if play
            .wait_for(
                &format!("document.querySelector('.tile-container').innerHTML !== {before}"),
                Duration::from_secs(2),
            )
            .is_ok()
        {
            moved = true;
            break;
        }
    }
    play.screenshot(&shots.join("game.png")).unwrap();
    assert!(moved, "the arrow keys move the tiles: {game_state}");
    let _ = demo.kill();
    let _ = demo.wait();
    println!("e2e: the watch page reports {state}; the game {game_state}");
    assert!(played.is_ok(), "the demo film did not play: {state}");
    assert!(
        state["poster"].as_str().unwrap().ends_with("/poster"),
        "the demo film has a poster: {state}"
    );
}
