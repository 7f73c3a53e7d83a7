//! Viewers' choices in an interactive film, end to end in processes (`testkit::live::LiveRig`):
//! `bitflix devnet`, the publisher's `bitflix publish --interactive`, and two viewers'
//! `bitflix serve` gateways, each with its own data directory (viewer key and wallet). A viewer
//! chooses through the gateway (signed by its viewer key), asks what recording costs, records the
//! path on chain in one transaction from its wallet; once mined, the film's story counts it, one
//! per key; a second choice at the same branch is not sent; the other viewer's choice counts
//! beside it; after the gateway restarts, the tally and the viewer's own recorded path are the
//! same. The figures (size and fee of a recorded path) are printed for BENCHMARKS.md. The viewer
//! key goes into `wallet backup` and comes back with `wallet restore`.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use serde_json::Value;
use std::time::{Duration, Instant};
use testkit::live::{get_json, LiveRig};

const WAIT: Duration = Duration::from_secs(120);

/// Three 3 s clips of one colour each (ffmpeg's lavfi), and a manifest: red, then a decision
/// between green and blue.
fn manifest(dir: &std::path::Path) -> std::path::PathBuf {
    for colour in ["red", "green", "blue"] {
        let ok = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("color=c={colour}:s=160x96:r=12:d=3"))
            .args(["-c:v", "ffv1"])
            .arg(dir.join(format!("{colour}.mkv")))
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let toml = r#"title = "Colours"
start = "red"

[[clip]]
name = "red"
input = "red.mkv"

[[clip]]
name = "green"
input = "green.mkv"

[[clip]]
name = "blue"
input = "blue.mkv"

[[decision]]
after = "red"
prompt = "Which colour?"
timeout = 5
default = "Green"
options = [ { label = "Green", next = "green" }, { label = "Blue", next = "blue" } ]
"#;
    let path = dir.join("film.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn post(url: &str, action: &str, body: &str) -> (u16, Value) {
    let r = ureq::post(url)
        .set("x-bitflix-action", action)
        .set("content-type", "application/json")
        .timeout(Duration::from_secs(60))
        .send_string(body);
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{url}: {e}"),
    };
    let status = resp.status();
    (status, resp.into_json().unwrap_or_default())
}

/// Wait for `f` to hold on the story of `id` at gateway `url`; the story.
fn story_until(url: &str, id: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let t = Instant::now();
    loop {
        let s = get_json(&format!("{url}/api/content/{id}/story"));
        if let Some(s) = s.as_ref().filter(|s| f(s)) {
            return s.clone();
        }
        assert!(t.elapsed() < WAIT, "{what}: {s:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn counts(s: &Value) -> Vec<u64> {
    s["branches"][0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["count"].as_u64().unwrap())
        .collect()
}

/// Fund the wallet in gateway data directory `name` with a mature coinbase.
fn fund(rig: &LiveRig, name: &str) {
    let b = testkit::bitflix!(rig.path(name)).json();
    let w = b.ok(&["wallet", "address", "--chain", &rig.core()]);
    let address = w["address"].as_str().unwrap();
    rig.rpc("generatetoaddress", &format!("[101,\"{address}\"]"));
}

/// The publisher's `publish --interactive` of the colour film on the rig's chain; its content id.
fn publish(rig: &LiveRig) -> String {
    let film = manifest(rig.path("").as_path());
    let out = rig.publisher().json().ok(&[
        "publish",
        "--interactive",
        film.to_str().unwrap(),
        "--chain",
        &rig.core(),
        "--carrier",
        "op-return",
    ]);
    out[0]["content_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no content id: {out}"))
        .to_string()
}

#[test]
fn recorded_choices_are_counted_once_per_key_and_survive_a_restart() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let mut rig = LiveRig::start(&testkit::bitflix!(), "2s");
    let id = publish(&rig);
    fund(&rig, "viewer");
    fund(&rig, "viewer2");
    let url = rig.serve("viewer", &rig.core());
    let s = story_until(&url, &id, "the story is complete", |s| {
        s["complete"] == true && s["clips"][2]["end_ms"].is_u64()
    });
    assert_eq!(counts(&s), [0, 0]);
    let key = s["viewer"]["key"].as_str().unwrap().to_string();

    // Choose Blue, see the cost, record.
    let choices = format!("{url}/api/content/{id}/choices");
    let (status, c) = post(&choices, "choose", r#"{"branch_id":1,"option":1}"#);
    assert_eq!(status, 201, "{c}");
    let q = get_json(&format!("{choices}/quote")).unwrap();
    assert_eq!(q["choices"], 1, "{q}");
    let fee = q["fee_sat"].as_u64().unwrap();
    assert!(fee > 0, "{q}");
    println!(
        "a recorded path of 1 choice: {} vB, {fee} sat at {} sat/vB",
        q["vbytes"], q["feerate_sat_vb"]
    );
    let (status, r) = post(
        &format!("{choices}/record"),
        "record",
        &format!(r#"{{"max_fee_sat":{}}}"#, fee * 2),
    );
    assert_eq!(status, 201, "{r}");
    let txid = r["txid"].as_str().unwrap().to_string();
    let s = story_until(&url, &id, "the recorded choice is counted", |s| {
        counts(s) == [0, 1]
    });
    let mine = &s["viewer"]["on_chain"];
    assert_eq!(mine[0]["txid"], txid.as_str(), "{s}");
    assert_eq!(mine[0]["key"], key.as_str());
    assert_eq!(mine[0]["counted"], true);
    assert_eq!(s["viewer"]["path"][0]["txid"], txid.as_str());
    let tx = get_json(&format!("{url}/api/tx/{txid}")).unwrap();
    assert!(
        tx["hex"].as_str().is_some_and(|h| h.len() > 200),
        "the page's link to the transaction: {tx}"
    );

    // The same viewer at the same branch again: kept locally, never sent (its key chose).
    let (status, _) = post(&choices, "choose", r#"{"branch_id":1,"option":0}"#);
    assert_eq!(status, 201);
    let (status, e) = post(
        &format!("{choices}/record"),
        "record",
        r#"{"max_fee_sat":100000}"#,
    );
    assert_eq!(status, 409, "nothing to record: {e}");

    // Another viewer chooses Green: counted beside it.
    let url2 = rig.serve("viewer2", &rig.core());
    story_until(&url2, &id, "the second gateway sees the film", |s| {
        s["complete"] == true
    });
    let c2 = format!("{url2}/api/content/{id}/choices");
    let (status, _) = post(&c2, "choose", r#"{"branch_id":1,"option":0}"#);
    assert_eq!(status, 201);
    let (status, r) = post(
        &format!("{c2}/record"),
        "record",
        r#"{"max_fee_sat":100000}"#,
    );
    assert_eq!(status, 201, "{r}");
    story_until(&url2, &id, "both choices counted", |s| counts(s) == [1, 1]);
    rig.kill_last();

    // The first gateway again, after a restart: the same tally and the same recorded path.
    rig.kill_last();
    let url = rig.serve("viewer", &rig.core());
    let s = story_until(&url, &id, "the tally after a restart", |s| {
        counts(s) == [1, 1]
    });
    assert_eq!(s["viewer"]["on_chain"][0]["txid"], txid.as_str(), "{s}");
    assert_eq!(s["viewer"]["path"][0]["txid"], txid.as_str(), "{s}");
}

#[test]
fn the_page_shows_the_cost_first_and_records_the_path_at_the_end() {
    if !testkit::have_ffmpeg() || !testkit::have_chromium() {
        return;
    }
    let mut rig = LiveRig::start(&testkit::bitflix!(), "2s");
    let id = publish(&rig);
    fund(&rig, "viewer");
    let url = rig.serve("viewer", &rig.core());
    story_until(&url, &id, "the story is complete", |s| {
        s["complete"] == true && s["clips"][2]["end_ms"].is_u64()
    });
    let browser =
        testkit::browser::Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut page = browser.open(&format!("{url}/watch/{id}")).unwrap();
    let state = "JSON.stringify({ s: window.bitflixStory && window.bitflixStory(), cost: document.getElementById('record-cost').textContent, status: document.getElementById('status').textContent })";
    // Opt in: the cost is said before anything is sent.
    page.wait_for(
        "!!window.bitflixStory && window.bitflixStory().clip === 0",
        WAIT,
    )
    .unwrap();
    page.eval("document.getElementById('record-on').click()")
        .unwrap();
    page.wait_for(
        "document.getElementById('record-cost').textContent.startsWith('Nothing to record yet')",
        WAIT,
    )
    .unwrap();
    // Choose Blue: the quote for one choice shows, then at the end the path goes out.
    page.wait_for("!document.getElementById('decision').hidden", WAIT)
        .unwrap();
    page.eval("document.querySelector('#options button[data-option=\"1\"]').click()")
        .unwrap();
    let quoted = page.wait_for(
        "document.getElementById('record-cost').textContent.includes('costs')",
        WAIT,
    );
    let s = page.eval(state).unwrap();
    assert!(quoted.is_ok(), "the cost shows before the recording: {s}");
    let sent = page.wait_for(
        "document.getElementById('record-cost').dataset.txid || false",
        WAIT,
    );
    let s = page.eval(state).unwrap();
    assert!(sent.is_ok(), "the path is recorded at the end: {s}");
    let txid = sent.unwrap();
    let s = story_until(&url, &id, "the page's recorded choice is counted", |s| {
        counts(s) == [0, 1]
    });
    assert_eq!(s["viewer"]["on_chain"][0]["txid"], txid, "{s}");
    // Reloaded, the page lists it as the viewer's recorded path, with its transaction.
    let mut page = browser.open(&format!("{url}/watch/{id}")).unwrap();
    page.wait_for(
        "document.querySelectorAll('#mine li a').length === 1 && document.querySelector('#mine li a').href.includes('/api/tx/')",
        WAIT,
    )
    .unwrap();
    let tally = page
        .eval("Array.from(document.querySelectorAll('table.tally td')).map((t) => t.textContent)")
        .unwrap();
    assert_eq!(
        tally,
        serde_json::json!(["Green", "0", "0", "Blue", "1", "0"])
    );
}

/// The viewer key that signs choices is backed up with the wallet and restored with it.
#[test]
fn the_viewer_key_is_backed_up_and_restored_with_the_wallet() {
    use std::io::Write;
    let dir = testkit::tempdir();
    let old = dir.path().join("old");
    // The gateway makes the key on first use; here, a key file as it writes it.
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("viewer.key"), "11".repeat(32)).unwrap();
    let backup = testkit::bitflix!(&old).json().ok(&["wallet", "backup"]);
    let words = backup["mnemonic"].as_str().unwrap();
    let key = backup["viewer_secret_key"].as_str().unwrap();
    assert_eq!(key, "11".repeat(32));
    let new = dir.path().join("new");
    let mut child = testkit::bitflix!(&new)
        .json()
        .command(&["wallet", "restore", "--from-height", "0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{words}\n{key}").unwrap();
    assert!(child.wait().unwrap().success());
    let again = testkit::bitflix!(&new).json().ok(&["wallet", "backup"]);
    assert_eq!(again["mnemonic"], backup["mnemonic"]);
    assert_eq!(again["viewer_secret_key"], key);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(new.join("viewer.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
