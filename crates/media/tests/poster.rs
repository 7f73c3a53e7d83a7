//! Posters made from real clips (the bundled one and the shared samples when present) and from a
//! film that opens on black: each decodes with ffmpeg, fits its budget and is not a uniform frame.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use media::poster::{self, ImageType, PosterConfig};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The luma of an image as ffmpeg decodes it, with its width.
fn decoded_luma(image: &[u8], dir: &Path) -> (Vec<u8>, u32) {
    let file = dir.join("poster.img");
    std::fs::write(&file, image).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&file)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "ffmpeg decodes the poster: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probe = media::probe(&file).unwrap();
    (out.stdout, probe.video.unwrap().0)
}

/// The sample clips: the bundled one, and those of shared/media when this machine has them.
fn clips() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = vec![root.join("assets/bigbuckbunny.mp4")];
    let shared = std::env::var_os("BITFLIX_MEDIA")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            root.join("../shared/media"),
            PathBuf::from("/work/shared/media"),
        ])
        .find(|d| d.is_dir());
    if let Some(dir) = shared {
        let mut more: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
            // The bundled clip is a copy of one of them.
            .filter(|p| p.file_name() != out[0].file_name())
            .collect();
        more.sort();
        out.extend(more);
    }
    out
}

fn assert_good(p: &poster::Poster, budget: usize, dir: &Path, what: &str) {
    assert_eq!(poster::sniff(&p.bytes), Some(ImageType::Webp), "{what}");
    assert!(p.bytes.len() <= budget, "{what}: {} bytes", p.bytes.len());
    let (luma, width) = decoded_luma(&p.bytes, dir);
    assert_eq!(Some(width), p.size.map(|s| s.0), "{what}");
    let spread = poster::luma_std_dev(&luma);
    assert!(
        spread > 20.0,
        "{what}: a uniform picture (luma std dev {spread:.1})"
    );
    println!(
        "{what}: {} bytes, {:?} px, WebP quality {:?}, frame at {:?} s, luma std dev {spread:.1}",
        p.bytes.len(),
        p.size,
        p.quality,
        p.at_seconds
    );
}

#[test]
fn every_sample_clip_gets_a_poster_within_budget() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for clip in clips() {
        for budget in [poster::DEFAULT_BUDGET, 1_200] {
            let cfg = PosterConfig {
                budget,
                ..Default::default()
            };
            let p = poster::make(&clip, &cfg).unwrap();
            let (w, h) = p.size.unwrap();
            let src = media::probe(&clip).unwrap().video.unwrap();
            assert!(w <= src.0.min(320), "{w}");
            // The film's aspect ratio as encoded (storage size), to the even pixel.
            let want = f64::from(w) * f64::from(src.1) / f64::from(src.0);
            assert!((f64::from(h) - want).abs() <= 2.0, "{w}x{h} from {src:?}");
            assert_good(
                &p,
                budget,
                dir.path(),
                &format!("{} at {budget}", clip.display()),
            );
        }
    }
}

#[test]
fn a_film_that_opens_on_black_gets_a_picture_not_the_black() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 3 s of black, then a fade into a test pattern over 1 s, 2 s of it, and a fade to black.
    let film = common::synth(
        dir.path(),
        "opens_black.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=320x240:r=10:d=3[b];testsrc2=s=320x240:r=10:d=4,fade=in:st=0:d=1,fade=out:st=3:d=1[t];[b][t]concat",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let p = poster::make(&film, &PosterConfig::default()).unwrap();
    let at = p.at_seconds.unwrap();
    assert!(
        (4.0..6.0).contains(&at),
        "a frame of the pattern, not a fade: {at} s"
    );
    assert_good(&p, poster::DEFAULT_BUDGET, dir.path(), "opens on black");
    // The aspect ratio of the film as encoded is kept when the caller gives it.
    let wide = PosterConfig {
        aspect: Some((256, 144)),
        ..Default::default()
    };
    assert_eq!(poster::make(&film, &wide).unwrap().size, Some((320, 180)));
}

#[test]
fn an_oversized_file_is_re_encoded_within_budget_and_non_images_refused() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let big = common::synth(
        dir.path(),
        "big.jpg",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=1280x720:d=1",
            "-frames:v",
            "1",
            "-q:v",
            "2",
        ],
    );
    let bytes = std::fs::read(&big).unwrap();
    assert_eq!(poster::sniff(&bytes), Some(ImageType::Jpeg));
    assert!(bytes.len() > poster::DEFAULT_BUDGET * 10);
    let p = poster::fit(&bytes, &PosterConfig::default()).unwrap();
    assert_eq!(p.reencoded_from, Some(bytes.len()));
    assert_good(&p, poster::DEFAULT_BUDGET, dir.path(), "re-encoded JPEG");
    let e = poster::check(&bytes, poster::DEFAULT_BUDGET).unwrap_err();
    assert!(e.to_string().contains(&bytes.len().to_string()), "{e}");
    // A video is not a poster file, whatever ffmpeg could make of it.
    let clip = std::fs::read(&clips()[0]).unwrap();
    assert!(matches!(
        poster::fit(&clip, &PosterConfig::default()),
        Err(poster::PosterError::NotAnImage { .. })
    ));
}
