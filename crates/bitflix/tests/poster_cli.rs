//! Posters end to end on the devnet: `publish --poster auto` makes one from a video, `--poster
//! FILE` takes an image, `auto` on a CVPM stream takes the one beside it; the header the index reads
//! back carries each, byte for byte; `estimate` says what a poster costs, and that cost is the
//! difference of the estimates with and without it. Non-images and a poster on the 80-byte carrier
//! are refused clearly.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let ok = Command::new("ffmpeg")
        .args(["-y", "-v", "error"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg {args:?}");
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The poster of the content titled `title` in `bitflix index --json`.
fn indexed_poster(index: &Value, title: &str) -> Option<String> {
    let c = index["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["header"]["title"] == title)
        .unwrap_or_else(|| panic!("{title} is indexed: {index}"));
    c["poster"].as_str().map(str::to_string)
}

#[test]
fn posters_reach_the_header_and_their_cost_is_the_estimates_difference() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = testkit::tempdir();
    let p = dir.path();
    let chain = format!("devnet:{}", p.join("chain").display());
    let bitflix = testkit::bitflix!(p.join("data")).json();
    let clip = ffmpeg(
        p,
        "clip.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x180:r=10:d=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let jpeg = ffmpeg(
        p,
        "poster.jpg",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=96x64:d=1",
            "-frames:v",
            "1",
            "-q:v",
            "8",
        ],
    );
    let jpeg_bytes = std::fs::read(&jpeg).unwrap();
    assert!(jpeg_bytes.len() < 3000, "{}", jpeg_bytes.len());
    let film: Vec<u8> = (0..20_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let cvpm = p.join("film.cvpm");
    std::fs::write(&cvpm, &film).unwrap();

    // auto on a video published as it is: made from it.
    let out = bitflix.ok(&[
        "publish",
        clip.to_str().unwrap(),
        "--title",
        "Clip",
        "--poster",
        "auto",
        "--chain",
        &chain,
    ]);
    let made = &out[0]["poster"];
    let made_len = made["bytes"].as_u64().unwrap();
    assert!((1..=3000).contains(&made_len), "{out}");
    assert_eq!(made["image_type"], "image/webp");
    assert!(made["fee_sat"].as_u64().unwrap() > 0, "{out}");

    // A FILE.
    let out = bitflix.ok(&[
        "publish",
        cvpm.to_str().unwrap(),
        "--title",
        "With a JPEG",
        "--poster",
        jpeg.to_str().unwrap(),
        "--chain",
        &chain,
    ]);
    assert_eq!(out[0]["poster"]["bytes"], jpeg_bytes.len(), "{out}");
    assert_eq!(out[0]["poster"]["image_type"], "image/jpeg");

    // auto on a CVPM stream: the poster beside it (as `bitflix encode` writes it), else none.
    let beside = ffmpeg(
        p,
        "film.poster.webp",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=64x48:d=1",
            "-frames:v",
            "1",
        ],
    );
    let beside_bytes = std::fs::read(&beside).unwrap();
    let film2 = p.join("film2.cvpm");
    std::fs::write(&film2, &film[..10_000]).unwrap();
    let out = bitflix.ok(&[
        "publish",
        film2.to_str().unwrap(),
        "--title",
        "Bare",
        "--chain",
        &chain,
    ]);
    assert_eq!(out[0]["poster"]["bytes"], 0, "{out}");
    let out = bitflix.ok(&[
        "publish",
        cvpm.to_str().unwrap(),
        "--title",
        "Beside",
        "--chain",
        &chain,
    ]);
    assert_eq!(out[0]["poster"]["bytes"], beside_bytes.len(), "{out}");

    // The index reads each poster back from the header.
    let index = bitflix.ok(&["index", "--chain", &chain]);
    let from_clip = indexed_poster(&index, "Clip").unwrap();
    assert_eq!(from_clip.len() as u64, made_len * 2);
    assert!(from_clip.starts_with("52494646"), "RIFF: {from_clip}");
    assert_eq!(
        indexed_poster(&index, "With a JPEG"),
        Some(hex(&jpeg_bytes))
    );
    assert_eq!(indexed_poster(&index, "Beside"), Some(hex(&beside_bytes)));
    assert_eq!(indexed_poster(&index, "Bare"), None);

    // The estimate's poster cost is the difference of the estimates with and without it.
    for carrier in ["envelope", "op-return"] {
        let est = |poster: &str| {
            let v = bitflix.ok(&[
                "estimate",
                film2.to_str().unwrap(),
                "--carrier",
                carrier,
                "--feerate",
                "3",
                "--poster",
                poster,
            ]);
            v["rows"][0].clone()
        };
        let (with, without) = (est(jpeg.to_str().unwrap()), est("none"));
        assert_eq!(with["poster"]["bytes"], jpeg_bytes.len());
        assert_eq!(without["poster"]["bytes"], 0);
        let fee = |r: &Value| r["fee_sat"].as_u64().unwrap();
        let vb = |r: &Value| r["vbytes"].as_u64().unwrap();
        assert_eq!(
            with["poster"]["fee_sat"],
            fee(&with) - fee(&without),
            "{with}"
        );
        assert_eq!(with["poster"]["vbytes"], vb(&with) - vb(&without), "{with}");
        // About a vbyte per byte in an OP_RETURN, a quarter in a witness; 3 sat/vB.
        let per_byte = fee(&with).abs_diff(fee(&without)) as f64 / jpeg_bytes.len() as f64;
        let want = if carrier == "envelope" { 0.75 } else { 3.0 };
        assert!(
            (per_byte - want).abs() < want * 0.1,
            "{carrier}: {per_byte}"
        );
    }

    // A file over the budget is re-encoded to fit, and says so.
    let est = bitflix.ok(&[
        "estimate",
        film2.to_str().unwrap(),
        "--carrier",
        "envelope",
        "--poster",
        jpeg.to_str().unwrap(),
        "--poster-bytes",
        "400",
    ]);
    let poster = &est["rows"][0]["poster"];
    assert!(poster["bytes"].as_u64().unwrap() <= 400, "{est}");
    assert_eq!(poster["image_type"], "image/webp");
    assert!(
        poster["source"].as_str().unwrap().contains("re-encoded"),
        "{est}"
    );

    // Refused, with the reason.
    let svg = p.join("poster.svg");
    std::fs::write(
        &svg,
        "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
    )
    .unwrap();
    for (args, says) in [
        (
            vec!["--poster", svg.to_str().unwrap()],
            "WebP, AVIF or JPEG",
        ),
        (
            vec![
                "--poster",
                jpeg.to_str().unwrap(),
                "--carrier",
                "op-return-80",
            ],
            "op-return-80",
        ),
        (vec!["--poster-bytes", "10"], "200..=100000"),
    ] {
        let mut all = vec!["publish", film2.to_str().unwrap(), "--chain", &chain];
        all.extend(args);
        let r = bitflix.run(&all);
        assert_eq!(r.code, 1, "{all:?}");
        assert!(r.stderr.contains(says), "{all:?}: {}", r.stderr);
    }
}
