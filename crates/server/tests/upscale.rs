//! The viewer-side upscaler (`/static/upscale.js`, issue 14) in Chromium: its WebGL2 shader's
//! pixels (read back with `readPixels`) against the plain-JS reference of the same filter on the
//! same input; the watch page of a film published on the devnet drawing the upscaled picture over
//! the playing video without an error; and (ignored, `scripts/bench-upscale.sh`) the Y-PSNR of the
//! shader against ffmpeg's bicubic and the canvas's own upscale, on frames prepared by the script.
//! Needs Debian's chromium (and ffmpeg for the film).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use common::{chain, film_info};
use std::time::Duration;
use testkit::browser::Browser;
use testkit::have_chromium;

const WAIT: Duration = Duration::from_secs(120);
const UPSCALE_JS: &str = include_str!("../static/upscale.js");

/// A deterministic test picture of `w` x `h` (edges, a gradient, a ring and noise) as ImageData,
/// upscaled by the shader and by the reference to `W` x `H`: the largest and mean difference.
const COMPARE: &str = r#"(async (w, h, W, H) => {
  const px = new Uint8ClampedArray(w * h * 4);
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 4;
    const ring = Math.sin(Math.hypot(x - w / 2, y - h / 2) * 0.9) > 0 ? 200 : 40;
    const edge = x + 2 * y > w ? 230 : 20;
    px[i] = x < w / 3 ? ring : edge;
    px[i + 1] = Math.round((255 * x) / w * 0.5 + rnd() * 60);
    px[i + 2] = y < h / 2 ? edge : Math.round(rnd() * 255);
    px[i + 3] = 255;
  }
  const c = document.createElement('canvas');
  c.width = W; c.height = H;
  const r = BitflixUpscale.renderer(c);
  if (!r) return { error: 'no WebGL2 renderer' };
  r.draw(new ImageData(px, w, h), w, h);
  const got = r.read();
  const want = BitflixUpscale.reference(px, w, h, W, H);
  let max = 0, sum = 0, n = 0;
  for (let i = 0; i < got.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs(got[i] - want[i]);
    max = Math.max(max, d); sum += d; n++;
  }
  return { max, mean: sum / n };
})"#;

#[test]
fn the_shader_matches_its_reference() {
    if !have_chromium() {
        return;
    }
    let browser = Browser::start(&[]).unwrap();
    let mut page = browser.open("about:blank").unwrap();
    page.eval(UPSCALE_JS).unwrap();
    for (w, h, big_w, big_h) in [(40, 24, 200, 120), (33, 19, 150, 97), (64, 36, 128, 72)] {
        let r = page
            .call(
                "Runtime.evaluate",
                serde_json::json!({ "expression": format!("{COMPARE}({w}, {h}, {big_w}, {big_h})"), "awaitPromise": true, "returnByValue": true }),
            )
            .unwrap();
        let v = &r["result"]["value"];
        assert!(v["error"].is_null(), "{v}");
        eprintln!("{w}x{h} to {big_w}x{big_h}: {v}");
        let max = v["max"].as_f64().unwrap();
        let mean = v["mean"].as_f64().unwrap();
        assert!(
            max <= 2.0 && mean < 0.05,
            "{w}x{h} to {big_w}x{big_h}: shader against reference, levels of 255: {v}"
        );
    }
}

#[test]
fn the_reference_is_not_the_bilinear_picture() {
    if !have_chromium() {
        return;
    }
    // A step edge: bilinear gives a ramp; the learned filter steepens it (overshoot toward the
    // sides), so some output differs from the bilinear value by more than a level.
    let browser = Browser::start(&[]).unwrap();
    let mut page = browser.open("about:blank").unwrap();
    page.eval(UPSCALE_JS).unwrap();
    let v = page
        .eval(
            r"(() => {
  const w = 16, h = 8, W = 64, H = 32;
  const px = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) { const x = i % w; const g = x < 8 ? 60 : 190; px.set([g, g, g, 255], i * 4); }
  const out = BitflixUpscale.reference(px, w, h, W, H);
  let most = 0;
  for (let X = 0; X < W; X++) {
    const x = (X + 0.5) * w / W - 0.5; const i = Math.floor(x); const f = x - i;
    const val = (k) => (Math.min(Math.max(k, 0), w - 1) < 8 ? 60 : 190);
    const bil = val(i) * (1 - f) + val(i + 1) * f;
    most = Math.max(most, Math.abs(out[(16 * W + X) * 4] - bil));
  }
  return most;
})()",
        )
        .unwrap();
    eprintln!("step edge: {v}");
    assert!(v.as_f64().unwrap() > 3.0, "{v}");
}

#[test]
fn the_watch_page_draws_the_upscaled_film() {
    if !have_chromium() {
        return;
    }
    let Some(film) = common::film(6) else { return };
    let c = chain();
    let id = c.publish_info(3, &film, film_info("Upscaled", None), true);
    let addr = common::serve(server::app(c.catalog()), httpd::Limits::default());
    let browser = Browser::start(&["--autoplay-policy=no-user-gesture-required"]).unwrap();
    let mut page = browser.open(&format!("http://{addr}/watch/{id}")).unwrap();
    page.wait_for(
        "document.readyState === 'complete' && !!document.getElementById('upscale')",
        WAIT,
    )
    .unwrap();
    // Headless Chromium renders WebGL in software (SwiftShader): off by default there, so the
    // viewer's choice (remembered) switches it on.
    let first = page
        .eval("(() => { const b = document.getElementById('upscale'); return [b.checked, b.parentElement.textContent]; })()")
        .unwrap();
    assert_eq!(first[0], false, "no GPU: off by default: {first}");
    assert!(first[1].as_str().unwrap().contains("no GPU"), "{first}");
    page.eval("localStorage.setItem('bitflix.upscale', '1'); location.reload()")
        .unwrap();
    page.wait_for(
        "document.readyState === 'complete' && !!document.getElementById('upscale') && document.getElementById('upscale').checked",
        WAIT,
    )
    .unwrap();
    page.call(
        "Runtime.evaluate",
        serde_json::json!({ "expression": "document.getElementById('v').play()", "userGesture": true, "awaitPromise": true }),
    )
    .unwrap();
    page.wait_for(
        "(() => { const v = document.getElementById('v'); return v.currentTime > 1 && v.dataset.upscale === 'on'; })()",
        WAIT,
    )
    .unwrap();
    // The canvas shows the picture (not black), over the video, and the player has no error.
    let v = page
        .eval(
            r"(() => {
  const v = document.getElementById('v');
  const c = document.querySelector('canvas.upscale');
  const t = document.createElement('canvas'); t.width = c.width; t.height = c.height;
  const g = t.getContext('2d'); g.drawImage(c, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let lit = 0; for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 60) lit++;
  return { lit: lit / (d.length / 4), w: c.width, vh: v.videoHeight, hidden: c.hidden, error: v.dataset.error || null, status: document.getElementById('status').className };
})()",
        )
        .unwrap();
    eprintln!("watch page: {v}");
    assert!(
        v["error"].is_null() && !v["status"].as_str().unwrap().contains("error"),
        "{v}"
    );
    assert_eq!(v["hidden"], false, "{v}");
    assert!(
        v["lit"].as_f64().unwrap() > 0.2,
        "the canvas shows the film: {v}"
    );
    // Switched off: the canvas hides, and a reload remembers the choice.
    page.eval("(() => { const b = document.getElementById('upscale'); b.checked = false; b.dispatchEvent(new Event('change')); })()").unwrap();
    page.wait_for("document.querySelector('canvas.upscale').hidden && document.getElementById('v').dataset.upscale === 'off'", WAIT).unwrap();
    page.eval("location.reload()").unwrap();
    page.wait_for(
        "document.readyState === 'complete' && !!document.getElementById('upscale') && document.getElementById('upscale').checked === false",
        WAIT,
    )
    .unwrap();
}

/// Per case folder under `dir` (`lr/`, `bic/` and `ref/` PNGs of the same numbers): the mean
/// Y-PSNR (BT.601 luma) against `ref` of the shader's output, of ffmpeg's bicubic (`bic`) and of
/// the canvas's `drawImage` upscale (image smoothing "high"), and the shader's time per frame.
const BENCH: &str = r#"(async (dir, k, save) => {
  const load = async (src) => { const i = new Image(); i.src = src; await i.decode(); return i; };
  const pixels = (img, W, H) => { const c = document.createElement('canvas'); c.width = W; c.height = H; const g = c.getContext('2d'); g.imageSmoothingEnabled = true; g.imageSmoothingQuality = 'high'; g.drawImage(img, 0, 0, W, H); return g.getImageData(0, 0, W, H).data; };
  const psnr = (a, b) => { let s = 0; const n = a.length / 4; for (let i = 0; i < a.length; i += 4) { const d = 0.299 * (a[i] - b[i]) + 0.587 * (a[i + 1] - b[i + 1]) + 0.114 * (a[i + 2] - b[i + 2]); s += d * d; } return 10 * Math.log10(255 * 255 / (s / n)); };
  const name = String(k).padStart(3, '0') + '.png';
  const ref = await load(dir + '/ref/' + name);
  const lr = await load(dir + '/lr/' + name);
  const bic = await load(dir + '/bic/' + name);
  const W = ref.naturalWidth, H = ref.naturalHeight, w = lr.naturalWidth, h = lr.naturalHeight;
  const want = pixels(ref, W, H);
  const c = window.benchCanvas || (window.benchCanvas = document.createElement('canvas'));
  if (c.width !== W || c.height !== H || !window.benchR) { c.width = W; c.height = H; window.benchR = window.benchR || BitflixUpscale.renderer(c); }
  const r = window.benchR;
  if (!r) return { error: 'no WebGL2' };
  const src = new ImageData(pixels(lr, w, h), w, h);
  const ms = [];
  for (let rep = 0; rep < 3; rep++) { const t0 = performance.now(); r.draw(src, w, h); r.finish(); ms.push(performance.now() - t0); }
  return { shader: psnr(r.read(), want), bicubic: psnr(pixels(bic, W, H), want), canvas: psnr(pixels(lr, W, H), want), ms, saved: save ? c.toDataURL('image/png') : null, size: [w, h, W, H] };
})"#;

/// `scripts/bench-upscale.sh`: BITFLIX_UPSCALE_FRAMES=dir with case folders (and a file `n` in
/// each with the frame count); BITFLIX_UPSCALE_SAVE=1 also writes the shader's output as
/// base64 PNGs (`out/NNN.png.b64`) for VMAF.
#[test]
#[ignore = "a benchmark: scripts/bench-upscale.sh prepares its frames"]
fn upscale_psnr_benchmark() {
    let dir = std::path::PathBuf::from(std::env::var("BITFLIX_UPSCALE_FRAMES").unwrap());
    let save = std::env::var_os("BITFLIX_UPSCALE_SAVE").is_some();
    let browser = Browser::start(&["--allow-file-access-from-files"]).unwrap();
    let index = dir.join("index.html");
    std::fs::write(&index, "<!doctype html><title>upscale benchmark</title>").unwrap();
    let mut page = browser
        .open(&format!("file://{}", index.display()))
        .unwrap();
    page.wait_for(
        "location.protocol === 'file:' && document.readyState === 'complete'",
        WAIT,
    )
    .unwrap();
    page.eval(UPSCALE_JS).unwrap();
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    for case in cases {
        let n: u32 = std::fs::read_to_string(case.join("n"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let (mut shader, mut bicubic, mut canvas, mut ms) = (0.0, 0.0, 0.0, Vec::new());
        let mut size = serde_json::Value::Null;
        if save {
            std::fs::create_dir_all(case.join("out")).unwrap();
        }
        for k in 1..=n {
            let v = page
                .eval(&format!(
                    "{BENCH}({:?}, {k}, {save})",
                    format!("file://{}", case.display())
                ))
                .unwrap();
            assert!(v["error"].is_null(), "{v}");
            shader += v["shader"].as_f64().unwrap() / f64::from(n);
            bicubic += v["bicubic"].as_f64().unwrap() / f64::from(n);
            canvas += v["canvas"].as_f64().unwrap() / f64::from(n);
            ms.extend(
                v["ms"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap()),
            );
            size = v["size"].clone();
            if let Some(url) = v["saved"].as_str() {
                let b64 = url.trim_start_matches("data:image/png;base64,");
                std::fs::write(case.join("out").join(format!("{k:03}.png.b64")), b64).unwrap();
            }
        }
        ms.sort_by(f64::total_cmp);
        let s = &size;
        println!(
            "upscale: {} {}x{} to {}x{}, {n} frames: Y-PSNR bicubic (ffmpeg) {bicubic:.2} dB, canvas drawImage {canvas:.2} dB, shader {shader:.2} dB: {:+.2} dB over bicubic, {:+.2} dB over the canvas; shader {:.0} ms per frame (p50 of {}, SwiftShader)",
            case.file_name().unwrap().to_string_lossy(),
            s[0], s[1], s[2], s[3],
            shader - bicubic,
            shader - canvas,
            ms[ms.len() / 2],
            ms.len()
        );
    }
}
