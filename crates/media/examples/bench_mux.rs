//! The in-process WebM muxer against the ffmpeg rewrap it replaced (IVF and Ogg written to a
//! temporary directory, then `ffmpeg -c copy -f webm`), on the same whole film.
//!
//! ```sh
//! cargo run --release -p media --example bench_mux -- [FILM.cvpm | --minutes N] [--keep DIR]
//! ```
//! With `--minutes N` (default 90) the film is the bundled clip encoded once (the demo's
//! settings) and repeated to N minutes, so that it has a real film's packet count. Also times
//! what an MSE request costs: listing the fragments, and building one.

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

use media::format::{Packet, Stream};
use media::{ivf, ogg, opus};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut minutes = 90u64;
    let (mut input, mut keep) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--minutes" => minutes = it.next().ok_or("--minutes N")?.parse()?,
            "--keep" => keep = Some(PathBuf::from(it.next().ok_or("--keep DIR")?)),
            other => input = Some(PathBuf::from(other)),
        }
    }
    let stream = match input {
        Some(p) => Stream::decode(&std::fs::read(&p)?)?,
        None => film(minutes)?,
    };
    let bytes = stream.encode().len();
    let secs = stream.duration_ms()? as f64 / 1000.0;
    println!(
        "film: {:.0} s, {} packets, {bytes} bytes of CVPM",
        secs,
        stream.packets.len()
    );
    let runs = 5;
    let mut ours = Vec::new();
    let mut webm = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        webm = media::webm::file(&stream)?;
        ours.push(t.elapsed().as_secs_f64());
    }
    let mut theirs = Vec::new();
    let dir = tempfile::tempdir()?;
    for _ in 0..runs {
        let t = Instant::now();
        ffmpeg_rewrap(&stream, dir.path())?;
        theirs.push(t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (median(&mut ours), median(&mut theirs));
    println!(
        "in-process webm::file: {:.2} ms ({} bytes)",
        a * 1e3,
        webm.len()
    );
    let old = std::fs::metadata(dir.path().join("out.webm"))?.len();
    println!("ffmpeg rewrap:         {:.2} ms ({old} bytes)", b * 1e3);
    println!("speed-up: {:.0}x (median of {runs} runs each)", b / a);
    // What the gateway does per MSE request: list the fragments, build one (from the middle).
    let mut list_t = Vec::new();
    let mut one_t = Vec::new();
    let mut list = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        list = media::webm::fragments(&stream, true)?;
        list_t.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let f = media::webm::fragment(&stream, &list[list.len() / 2])?;
        one_t.push(t.elapsed().as_secs_f64());
        std::hint::black_box(f);
    }
    println!(
        "webm::fragments: {:.2} ms ({} fragments); one webm::fragment: {:.2} ms",
        median(&mut list_t) * 1e3,
        list.len(),
        median(&mut one_t) * 1e3
    );
    if let Some(k) = keep {
        std::fs::create_dir_all(&k)?;
        std::fs::write(k.join("ours.webm"), &webm)?;
        std::fs::copy(dir.path().join("out.webm"), k.join("ffmpeg.webm"))?;
    }
    Ok(())
}

/// The bundled clip, encoded with the demo's settings, repeated to `minutes`.
fn film(minutes: u64) -> Result<Stream> {
    let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/bigbuckbunny.mp4");
    let (one, _) = media::encode(&clip, &media::EncodeConfig::default())?;
    let clip_ms = one.duration_ms()?.max(1);
    let repeats = (minutes * 60_000).div_ceil(clip_ms);
    let mut packets: Vec<Packet> = Vec::new();
    for r in 0..repeats {
        let mut first_video = true;
        for p in &one.packets {
            let mut p = p.clone();
            if !p.audio && first_video && r > 0 {
                p.ts_delta = 1; // the next frame after the previous copy's last
            }
            first_video &= p.audio;
            packets.push(p);
        }
    }
    Ok(Stream { packets, ..one })
}

/// What `media::rewrap` did before: IVF and Ogg files, then ffmpeg copying them into WebM.
fn ffmpeg_rewrap(stream: &Stream, dir: &Path) -> Result<()> {
    let v = dir.join("v.ivf");
    std::fs::write(&v, ivf::of_stream(stream, ivf::Start::AsStream)?)?;
    let mut args = vec!["-y", "-v", "error", "-i", path(&v)?];
    let a = dir.join("a.ogg");
    if let Some(audio) = stream.audio {
        let head = opus::opus_head(audio.channels, audio.pre_skip, audio.sample_rate);
        let tags = opus::opus_tags();
        let mut pages: Vec<(&[u8], u64)> = vec![(&head, 0), (&tags, 0)];
        for (granule, p) in stream.times(true)? {
            pages.push((&p.data, granule));
        }
        std::fs::write(&a, ogg::write(1, &pages))?;
        args.extend(["-i", path(&a)?, "-map", "0", "-map", "1"]);
    }
    let out = dir.join("out.webm");
    args.extend(["-c", "copy", "-f", "webm", path(&out)?]);
    let st = Command::new("ffmpeg").args(&args).status()?;
    if !st.success() {
        return Err("ffmpeg failed".into());
    }
    Ok(())
}

fn path(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| "a temporary path that is not utf-8".into())
}
