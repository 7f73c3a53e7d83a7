//! Gateway memory with 2 GB of films indexed against the same gateway with one film (10 MB).
//!
//! For each case a child process writes a generated index (films of 99,794-byte segments in
//! OP_RETURN units, each transaction spending the previous one's change, so the lineage rule
//! attributes them), then a fresh child opens it as `bitflix serve` does (the catalog is rebuilt
//! from the store, every segment hashed), serves it on loopback and reads every film whole over
//! HTTP in 1 MiB ranges, checking a digest of each. Its peak resident memory is the figure.
//! Run: `cargo run --release -p server --example bench_memory [MB]` (default 2048).
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

use bitcoin::hashes::{sha256, sha256d, Hash};
use bitcoin::{Amount, BlockHash, OutPoint, ScriptBuf, Transaction, TxIn, TxOut, Txid};
use cvp::{Header, Record, Segment};
use std::path::Path;
use std::time::Instant;

const SEGMENT: usize = 99_794;
const FILM_MB: usize = 10;

fn film_bytes(film: u32, len: usize) -> impl Iterator<Item = u8> {
    (0..len).map(move |i| (i as u32).wrapping_mul(2_654_435_761).wrapping_add(film) as u8 >> 1)
}

fn tx(parent: OutPoint, units: &[Vec<u8>]) -> Transaction {
    let mut output: Vec<TxOut> = units
        .iter()
        .map(|u| TxOut {
            value: Amount::ZERO,
            script_pubkey: cvp::carrier::op_return_script(u),
        })
        .collect();
    output.push(TxOut {
        value: Amount::from_sat(10_000),
        script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
    });
    Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: parent,
            ..Default::default()
        }],
        output,
    }
}

/// Write `films` films of `film_len` bytes into a new index at `path`.
fn generate(path: &Path, films: u32, film_len: usize) {
    let store = index::store::Store::open(path).unwrap();
    let mut height = 0u32;
    let mut block: Vec<(Txid, Vec<u8>)> = Vec::new();
    let flush = |block: &mut Vec<(Txid, Vec<u8>)>, height: &mut u32| {
        let rows: Vec<(Txid, &[u8])> = block.iter().map(|(t, r)| (*t, r.as_slice())).collect();
        let hash = BlockHash::from_raw_hash(sha256d::Hash::hash(&height.to_le_bytes()));
        store.put_block(*height, hash, &rows).unwrap();
        *height += 1;
        block.clear();
    };
    for f in 0..films {
        let bytes: Vec<u8> = film_bytes(f, film_len).collect();
        let segs: Vec<&[u8]> = bytes.chunks(SEGMENT).collect();
        let header = Record::Header(Header {
            title: Some(format!("film {f}")),
            media_type: "video/mp4".into(),
            total_length: Some(film_len as u64),
            segment_count: Some(segs.len() as u32),
            segment_size: Some(SEGMENT as u32),
            merkle_root: Some(cvp::merkle::root(&segs)),
            ..Header::default()
        });
        let coin = OutPoint::new(
            Txid::from_raw_hash(sha256d::Hash::hash(&f.to_le_bytes())),
            0,
        );
        let mut prev = tx(coin, &[header.encode()]);
        let mut txs = vec![prev.clone()];
        for (i, s) in segs.iter().enumerate() {
            let unit = Record::Segment(Segment {
                index: i as u32,
                payload: s.to_vec(),
            })
            .encode();
            let change = OutPoint::new(prev.compute_txid(), prev.output.len() as u32 - 1);
            prev = tx(change, &[unit]);
            txs.push(prev.clone());
        }
        for t in txs {
            block.push((t.compute_txid(), bitcoin::consensus::serialize(&t)));
            if block.len() == 40 {
                flush(&mut block, &mut height);
            }
        }
    }
    if !block.is_empty() {
        flush(&mut block, &mut height);
    }
}

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
