//! Gateway memory with 2 GB of films indexed against the same gateway with one film (10 MB).
//!
//! For each case a child process writes a generated index (films of 99,794-byte segments in
//! OP_RETURN units, each transaction spending the previous one's change, so the lineage rule
//! attributes them), then a fresh child opens it as `bitflix serve` does (the catalog is rebuilt
//! from the store, every segment hashed), serves it on loopback and reads every film whole over
//! HTTP in 1 MiB ranges, checking a digest of each. Its peak resident memory is the figure.
//! Run: `cargo run --release -p server --example bench_memory [MB]` (default 2048).
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

#[path = "common/films.rs"]
mod films;

use bitcoin::hashes::{sha256, Hash};
use films::{film_bytes, generate};
use std::path::Path;
use std::time::Instant;

const FILM_MB: usize = 10;

fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Open the index as the gateway does, serve it, read every film back over HTTP.
fn serve_and_read(path: &Path, films: u32, film_len: usize) {
    let t = Instant::now();
    let ix = index::Indexer::open(path).unwrap();
    let open_s = t.elapsed().as_secs_f64();
    let snap = ix.snapshot();
    assert_eq!(snap.summaries().len(), films as usize);
    let published = index::Published::new(snap);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(server::serve(
        listener,
        published.clone(),
        server::View::default(),
        std::future::pending(),
    ));
    let agent = ureq::AgentBuilder::new().build();
    let t = Instant::now();
    let mut read = 0u64;
    for s in published.get().summaries() {
        let mut digest = sha256::HashEngine::default();
        let mut at = 0usize;
        while at < film_len {
            let end = (at + (1 << 20)).min(film_len);
            let resp = agent
                .get(&format!("http://{addr}/api/content/{}/file", s.id))
                .set("Range", &format!("bytes={at}-{}", end - 1))
                .call()
                .unwrap();
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).unwrap();
            assert_eq!(body.len(), end - at);
            bitcoin::hashes::HashEngine::input(&mut digest, &body);
            at = end;
        }
        let f: u32 = s.header.title.as_deref().unwrap()[5..].parse().unwrap();
        let want = sha256::Hash::hash(&film_bytes(f, film_len).collect::<Vec<u8>>());
        assert_eq!(
            sha256::Hash::from_engine(digest),
            want,
            "film {f} read back"
        );
        read += film_len as u64;
    }
    let read_s = t.elapsed().as_secs_f64();
    println!(
        "{}\t{films}\t{open_s:.1}\t{:.0}\t{:.1}",
        read / 1_000_000,
        read as f64 / 1e6 / read_s,
        peak_mb()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let exe = std::env::current_exe().unwrap();
    match args.get(1).map(String::as_str) {
        Some("generate") => {
            return generate(Path::new(&args[2]), args[3].parse().unwrap(), FILM_MB << 20)
        }
        Some("serve") => {
            return serve_and_read(Path::new(&args[2]), args[3].parse().unwrap(), FILM_MB << 20)
        }
        _ => {}
    }
    let total_mb: u32 = args.get(1).map_or(2048, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    println!("MB indexed\tfilms\topen s\tread MB/s\tpeak RSS MB");
    for films in [1, total_mb / FILM_MB as u32] {
        let path = dir.path().join(format!("index-{films}.redb"));
        let run = |mode: &str| {
            let out = std::process::Command::new(&exe)
                .args([mode, path.to_str().unwrap(), &films.to_string()])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            print!("{}", String::from_utf8_lossy(&out.stdout));
        };
        run("generate");
        run("serve");
    }
}
