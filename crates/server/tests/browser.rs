//! In Chromium: a stranger's HTML (and SVG) content, opened from the gateway, runs its script in
//! an opaque origin that can read and change nothing of the gateway's origin. The page tries the
//! API, the cookies and the storage, and writes what it got into its own DOM, which the test reads.
//! Needs Debian's chromium (scripts/setup.sh); skipped without it, or with BITFLIX_NO_BROWSER=1,
//! except in CI (`testkit::have_chromium`).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROBE: &str = "<!doctype html><html><head><title>probe</title></head><body><pre id=out>script did not run</pre><script>
const r = [];
const show = () => { document.getElementById('out').textContent = 'RESULT ' + r.join(' ') + ' END'; };
r.push('origin=' + self.origin);
try { r.push('cookie=' + JSON.stringify(document.cookie)); } catch (e) { r.push('cookie=denied'); }
try { localStorage.setItem('k', 'v'); r.push('storage=allowed'); } catch (e) { r.push('storage=denied'); }
show();
fetch('/api/catalog').then(x => x.text()).then(t => { r.push('fetch=read:' + t.length); show(); },
  () => { r.push('fetch=failed'); show(); });
</script></body></html>";

const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"><text id=\"t\" y=\"20\">script did not run</text>\
<script>document.getElementById('t').textContent = 'RESULT origin=' + self.origin + ' END';</script></svg>";

/// The DOM of `url` once its scripts ran, in a fresh headless Chromium profile.
fn dump_dom(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new("chromium")
        .args(testkit::browser::FLAGS)
        .args(["--virtual-time-budget=5000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium is installed (scripts/setup.sh), or set BITFLIX_NO_BROWSER=1");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish with {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

fn result(dom: &str) -> &str {
    let start = dom
        .find("RESULT ")
        .unwrap_or_else(|| panic!("the script ran: {dom}"));
    let end = dom[start..].find(" END").unwrap() + start;
    &dom[start + 7..end]
}

#[test]
fn a_strangers_html_cannot_reach_the_gateways_origin() {
    if !testkit::have_chromium() {
        return;
    }
    let chain = common::chain();
    let html = chain.publish(41, PROBE.as_bytes(), "text/html", true);
    let svg = chain.publish(42, SVG.as_bytes(), "image/svg+xml", true);
    let addr = common::serve(server::app(chain.catalog()), httpd::Limits::default());

    // Opened where it is linked (the sandbox), and where a stranger would link it (the file route,
    // which redirects to the sandbox).
    for path in [
        format!("/sandbox/{html}"),
        format!("/api/content/{html}/file"),
    ] {
        let dom = dump_dom(&format!("http://{addr}{path}"));
        let got = result(&dom);
        eprintln!("{path}: {got}");
        assert!(
            got.contains("origin=null"),
            "{path}: an opaque origin: {got}"
        );
        assert!(got.contains("cookie=denied"), "{path}: no cookies: {got}");
        assert!(got.contains("storage=denied"), "{path}: no storage: {got}");
        assert!(
            got.contains("fetch=failed"),
            "{path}: the API is unreadable: {got}"
        );
        assert!(!got.contains("fetch=read"), "{path}: {got}");
    }
    let dom = dump_dom(&format!("http://{addr}/sandbox/{svg}"));
    assert_eq!(
        result(&dom),
        "origin=null",
        "the SVG's script is in an opaque origin"
    );
}
