//! The player in Chromium (driven over the DevTools protocol), against the gateway serving films
//! published on the devnet: the poster shows before play; a film still arriving plays and grows
//! in the same page while its segments are mined; seeking to 80 % of a complete film plays from
//! there; a stream that cannot be played says so in words. Needs ffmpeg and Debian's chromium
//! (scripts/setup.sh).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::{chain, film_info};
use std::time::Duration;
use testkit::browser::{Browser, Page};
use testkit::have_chromium;

const WAIT: Duration = Duration::from_secs(60);

/// What the player shows, for a failure's message.
const STATE: &str = "(() => { const v = document.getElementById('v'); const b = []; for (let i = 0; i < v.buffered.length; i++) b.push([v.buffered.start(i), v.buffered.end(i)]); return { t: v.currentTime, paused: v.paused, ready: v.readyState, buffered: b, duration: v.duration, status: document.getElementById('status').textContent, error: v.dataset.error || null }; })()";

fn ready() -> Option<Vec<u8>> {
    if !have_chromium() {
        return None;
    }
    common::film(6)
}

fn open(published: index::Published, id: &bitcoin::Txid, autoplay: bool) -> (Browser, Page) {
    let addr = common::serve(server::app(published), httpd::Limits::default());
    let policy = if autoplay {
        "--autoplay-policy=no-user-gesture-required"
    } else {
        "--autoplay-policy=user-gesture-required"
    };
    let browser = Browser::start(&[policy]).unwrap();
    let page = browser.open(&format!("http://{addr}/watch/{id}")).unwrap();
    (browser, page)
}

#[test]
fn the_poster_shows_before_play_and_play_starts_the_film() {
    let Some(film) = ready() else { return };
    let c = chain();
    let id = c.publish_info(3, &film, film_info("Poster", Some(common::poster())), true);
    let (_b, mut page) = open(c.catalog(), &id, false);
    page.wait_for(
        "document.readyState === 'complete' && !!document.getElementById('v')",
        WAIT,
    )
    .unwrap();
    let width = page
        .wait_for(
            "(async () => { const v = document.getElementById('v'); if (!v.poster) return 0; const i = new Image(); i.src = v.poster; await i.decode(); return i.naturalWidth; })()",
            WAIT,
        )
        .unwrap();
    assert!(
        width.as_u64().unwrap() >= 96,
        "the poster image loads and decodes: {width}"
    );
    let before = page.eval("(() => { const v = document.getElementById('v'); return [v.paused, v.currentTime, v.poster.endsWith('/poster')]; })()").unwrap();
    assert_eq!(
        before,
        serde_json::json!([true, 0, true]),
        "nothing played yet: the poster is what shows"
    );
    page.wait_for(
        "document.getElementById('status').textContent.includes('Press play')",
        WAIT,
    )
    .unwrap();
    page.call(
        "Runtime.evaluate",
        serde_json::json!({ "expression": "document.getElementById('v').play()", "userGesture": true, "awaitPromise": true }),
    )
    .unwrap();
    page.wait_for("(() => { const v = document.getElementById('v'); return v.videoWidth > 0 && v.currentTime > 0.5; })()", WAIT).unwrap();
}

#[test]
fn a_film_still_arriving_plays_and_grows_without_a_reload() {
    let Some(film) = ready() else { return };
    let c = chain();
    let plan = c.plan(4, &film, film_info("Growing", None));
    let id = plan.content_id;
    let (mut ix, published) = c.index();
    let txs = &plan.txs;
    // Header, fan-out, hash list, and two of the film's four segments.
    let half = txs.len() - 2;
    c.send(&txs[..half]);
    ix.poll(&c.devnet).unwrap();
    published.set(ix.snapshot());
    let (_b, mut page) = open(published.clone(), &id, true);
    page.wait_for(
        "!!document.getElementById('v') && document.getElementById('v').currentTime > 0.2",
        WAIT,
    )
    .unwrap();
    page.eval("window.samePage = 'yes'").unwrap();
    let early = page.eval("(() => { const b = document.getElementById('v').buffered; return b.length ? b.end(b.length - 1) : 0; })()").unwrap();
    let early = early.as_f64().unwrap();
    assert!(
        early < 4.0,
        "only part of the film is there at first: {early}"
    );
    assert!(page
        .eval("document.getElementById('status').textContent")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("Still arriving"));

    c.send(&txs[half..]);
    ix.poll(&c.devnet).unwrap();
    published.set(ix.snapshot());
    let grown = page.wait_for(
        &format!("(() => {{ const v = document.getElementById('v'); return v.currentTime > {} && v.buffered.end(v.buffered.length - 1) > 5.0; }})()", early + 0.2),
        WAIT,
    );
    let state = page.eval(STATE).unwrap();
    assert!(grown.is_ok(), "the film did not grow in the page: {state}");
    assert_eq!(
        page.eval("window.samePage").unwrap(),
        "yes",
        "the same page, not reloaded"
    );
}

#[test]
fn seeking_to_80_percent_of_a_complete_film_plays_from_there() {
    let Some(film) = ready() else { return };
    let c = chain();
    let id = c.publish_info(5, &film, film_info("Seek", None), true);
    let (_b, mut page) = open(c.catalog(), &id, true);
    page.wait_for(
        "!!document.getElementById('v') && document.getElementById('v').currentTime > 0.1",
        WAIT,
    )
    .unwrap();
    let duration = page
        .eval("document.getElementById('v').duration")
        .unwrap()
        .as_f64()
        .unwrap();
    assert!(
        duration > 5.0,
        "the whole film's duration is known at once: {duration}"
    );
    let target = duration * 0.8;
    page.eval(&format!(
        "document.getElementById('v').currentTime = {target}"
    ))
    .unwrap();
    page.wait_for(
        &format!("(() => {{ const v = document.getElementById('v'); return !v.seeking && v.currentTime > {} && v.readyState >= 3; }})()", target + 0.2),
        WAIT,
    )
    .unwrap();
    let err = page
        .eval("document.getElementById('v').dataset.error || ''")
        .unwrap();
    assert_eq!(err, "", "no error while seeking");
}

#[test]
fn a_stream_that_cannot_be_played_says_so_in_words() {
    let Some(_) = ready() else { return };
    let c = chain();
    // Declared a film, but its video packets are not AV1.
    let junk = media::format::Stream {
        video: Some(media::format::Video {
            width: 320,
            height: 180,
            fps_num: 12,
            fps_den: 1,
        }),
        audio: None,
        packets: (0..24)
            .map(|i| media::format::Packet {
                audio: false,
                keyframe: i % 12 == 0,
                ts_delta: u64::from(i > 0),
                data: vec![0x5a; 200],
            })
            .collect(),
    };
    let id = c.publish_info(6, &junk.encode(), film_info("Junk", None), true);
    let (_b, mut page) = open(c.catalog(), &id, true);
    let text = page.wait_for("document.getElementById('status').className.includes('error') && document.getElementById('status').textContent", WAIT).unwrap();
    let text = text.as_str().unwrap();
    assert!(text.contains("cannot be played"), "{text}");
}
