//! Time to first frame in headless Chromium (real time), each run in a fresh browser profile: the
//! demo film's watch page (the MSE player: manifest, init segment, first fragment, all verified from
//! the chain index) against a baseline page in the same process that plays the same film (the
//! gateway's whole WebM) with a plain `<video>` from a static file server (`python3 -m
//! http.server`).
//!   cold: a gateway (`bitflix serve`) started fresh for the run: nothing muxed or cached in it;
//!   warm: the same gateway again (its mux cache holds the film).
//! The figure is the page's own `performance.now()` at the first `requestVideoFrameCallback`, from
//! navigation. `scripts/bench-ttff.sh [N]` builds the release binary and runs this.
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark fails loudly on the first unexpected error"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::browser::Browser;

fn bitflix() -> PathBuf {
    std::env::var_os("BITFLIX_BIN").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/bitflix"),
        PathBuf::from,
    )
}

fn get(url: &str) -> Option<Vec<u8>> {
    let r = ureq::get(url).call().ok()?;
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut out).ok()?;
    Some(out)
}

/// `bitflix serve` on `listen`, answering.
fn serve(data: &Path, listen: &str) -> Child {
    let child = Command::new(bitflix())
        .args(["--datadir"])
        .arg(data)
        .args(["serve", "--listen", listen, "--chain"])
        .arg(format!("devnet:{}", data.join("devnet").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while get(&format!("http://{listen}/api/catalog")).is_none_or(|b| !b.starts_with(b"[{")) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the gateway did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Milliseconds from navigation to the first frame of `url`'s video, in a fresh browser.
fn ttff(url: &str, expr: &str) -> f64 {
    let browser = Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut page = browser.open(url).unwrap();
    let v = page.wait_for(expr, Duration::from_secs(30)).unwrap();
    let text = v.as_str().unwrap();
    let ms = text
        .split("ttff=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    ms.parse().unwrap()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let ok = Command::new(bitflix())
        .arg("--datadir")
        .arg(&data)
        .args(["demo", "--no-serve", "--no-open"])
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "bitflix demo failed");
    let listen = format!("127.0.0.1:{}", testkit::free_port());
    let mut gw = serve(&data, &listen);
    let list: serde_json::Value =
        serde_json::from_slice(&get(&format!("http://{listen}/api/catalog")).unwrap()).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_string();
    let film = get(&format!("http://{listen}/api/content/{id}/file")).unwrap();
    let _ = gw.kill();
    let _ = gw.wait();
    let web = dir.path().join("static");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(web.join("film.webm"), &film).unwrap();
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>x</title><video id=v autoplay playsinline src=\"film.webm\"></video>\
<script>const v=document.getElementById('v');v.requestVideoFrameCallback(()=>{document.title='ttff='+performance.now().toFixed(0);});</script>",
    )
    .unwrap();
    let sport = testkit::free_port();
    let mut statics = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &sport.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(&web)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base_url = format!("http://127.0.0.1:{sport}/index.html");
    let start = Instant::now();
    while get(&base_url).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no static server"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let watch = format!("http://{listen}/watch/{id}");
    let ours = "(() => { const v = document.getElementById('v'); return v && v.dataset.report && v.dataset.report.includes('ttff=') && v.dataset.report; })()";
    let base = "document.title.startsWith('ttff=') && document.title";
    let (mut cold, mut warm, mut stat) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let mut gw = serve(&data, &listen);
        cold.push(ttff(&watch, ours));
        warm.push(ttff(&watch, ours));
        let _ = gw.kill();
        let _ = gw.wait();
        stat.push(ttff(&base_url, base));
    }
    let _ = statics.kill();
    let _ = statics.wait();
    let runs = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let line = format!(
        "cold gateway runs: {} | warm gateway runs: {} | static baseline runs: {}",
        runs(&cold),
        runs(&warm),
        runs(&stat)
    );
    let (c, w, b) = (median(&mut cold), median(&mut warm), median(&mut stat));
    println!(
        "time to first frame, median of {n} (ms from navigation), {} bytes of film",
        film.len()
    );
    println!("{line}");
    println!("cold {c:.0} ms ({:.2}x the baseline), warm {w:.0} ms ({:.2}x), static file baseline {b:.0} ms", c / b, w / b);
}
