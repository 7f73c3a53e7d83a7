//! Concurrent viewers: CLIENTS keep-alive connections reading random byte ranges (64 KiB to
//! 1 MiB) of 20 films of 10 MiB on loopback for SECONDS, against the gateway (`server::serve`:
//! the router behind httpd's limits, its index on disk as `bitflix serve` opens it) and against
//! Debian's nginx serving the same bytes from plain files (`sendfile on`) at the same paths, with
//! the same load generator (one thread per client, `httpd::probe::KeepAlive`). Each server gets
//! one worker: a tokio runtime of WORKERS threads and one nginx process (`master_process off`).
//! Third, the deployment of docs/deploy.md: nginx's cache in front of the gateway, filled first
//! (the gateway's `/api/stats` says how many requests still reached it). Throughput, requests per
//! second and latency percentiles; shares of the throughput of nginx on files. BENCHMARKS.md
//! "Gateway: concurrent viewers".
//!
//! `cargo run --release -p server --example bench_viewers -- [SECONDS] [CLIENTS] [ROUNDS] [WORKERS]`
//! (default 20, 200, 2, 1); scripts/bench-viewers.sh runs it.
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly")]

#[path = "common/films.rs"]
mod films;
#[path = "../tests/common/nginx.rs"]
mod nginx;

use httpd::probe::KeepAlive;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const FILMS: u32 = 20;
const FILM_LEN: usize = 10 << 20;
const MIN_RANGE: u64 = 64 << 10;
const MAX_RANGE: u64 = 1 << 20;

/// xorshift64*: random enough to spread ranges, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A film and a range `start..=last` of it.
    fn range(&mut self, films: usize) -> (usize, u64, u64) {
        let film = (self.next() % films as u64) as usize;
        let len = MIN_RANGE + self.next() % (MAX_RANGE - MIN_RANGE + 1);
        let start = self.next() % (FILM_LEN as u64 - len + 1);
        (film, start, start + len - 1)
    }
}

/// What one run measured.
struct Run {
    bytes: u64,
    latencies_us: Vec<u32>,
    errors: u64,
    secs: f64,
}

impl Run {
    fn percentile(&self, p: f64) -> f64 {
        let i = ((self.latencies_us.len() as f64 * p) as usize).min(self.latencies_us.len() - 1);
        f64::from(self.latencies_us[i]) / 1000.0
    }

    fn mb_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.secs
    }
}

/// `clients` keep-alive connections to `addr`, each reading random ranges of `paths` one after
/// another for `secs` (reconnecting after an error, which is counted).
fn load(addr: SocketAddr, paths: &Arc<Vec<String>>, clients: usize, secs: f64) -> Run {
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let paths = Arc::clone(paths);
            std::thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1).wrapping_mul(0xA24B_AED4));
                let (mut bytes, mut errors, mut lat) = (0u64, 0u64, Vec::new());
                let mut conn = KeepAlive::connect(addr).ok();
                while Instant::now() < end {
                    let (film, from, last) = rng.range(paths.len());
                    let t = Instant::now();
                    let got = conn.as_mut().map(|k| k.get_range(&paths[film], from, last));
                    match got {
                        Some(Ok((206, n))) if n as u64 == last - from + 1 => {
                            lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                            bytes += n as u64;
                        }
                        _ => {
                            errors += 1;
                            conn = KeepAlive::connect(addr).ok();
                        }
                    }
                }
                (bytes, errors, lat)
            })
        })
        .collect();
    let mut run = Run {
        bytes: 0,
        latencies_us: Vec::new(),
        errors: 0,
        secs: 0.0,
    };
    for t in threads {
        let (b, e, l) = t.join().unwrap();
        run.bytes += b;
        run.errors += e;
        run.latencies_us.extend(l);
    }
    run.secs = start.elapsed().as_secs_f64();
    run.latencies_us.sort_unstable();
    run
}

/// A few ranges of every film read from `addr` and compared with the films' bytes.
fn check(addr: SocketAddr, paths: &[String], films: &[Vec<u8>]) {
    let mut rng = Rng(7);
    for _ in 0..40 {
        let (f, from, last) = rng.range(paths.len());
        let resp = ureq::get(&format!("http://{addr}{}", paths[f]))
            .set("Range", &format!("bytes={from}-{last}"))
            .call()
            .unwrap();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).unwrap();
        assert!(
            body == films[f][from as usize..=last as usize],
            "{addr} {} {from}-{last}",
            paths[f]
        );
    }
}

/// File requests that reached the gateway so far (its `/api/stats`).
fn file_requests(gateway: SocketAddr) -> u64 {
    let stats: serde_json::Value = ureq::get(&format!("http://{gateway}/api/stats"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    stats["by_class"]["file"].as_u64().unwrap()
}

/// The gateway on `index`, as `bitflix serve` runs it, with `workers` runtime threads.
fn gateway(index: &Path, workers: usize) -> (SocketAddr, Vec<(u32, String)>) {
    let ix = index::Indexer::open(index).unwrap();
    let snap = ix.snapshot();
    let films = snap
        .summaries()
        .iter()
        .map(|s| {
            let n = s.header.title.as_deref().unwrap()[5..].parse().unwrap();
            (n, format!("/api/content/{}/file", s.id))
        })
        .collect();
    let published = index::Published::new(snap);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let view = server::View::default();
            server::serve(listener, published, view, std::future::pending())
                .await
                .unwrap();
        });
        drop(ix);
    });
    (rx.recv().unwrap(), films)
}

fn main() {
    let arg = |i: usize, default: f64| {
        std::env::args()
            .nth(i)
            .map_or(default, |a| a.parse().unwrap())
    };
    let (secs, clients, rounds, workers) = (arg(1, 20.0), arg(2, 200.0), arg(3, 2.0), arg(4, 1.0));
    let (clients, rounds, workers) = (clients as usize, rounds as usize, workers as usize);
    httpd::raise_fd_limit().unwrap();
    let exe = nginx::exe().expect("no nginx (scripts/setup.sh installs it)");
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index.redb");
    let t = Instant::now();
    films::generate(&index, FILMS, FILM_LEN);
    let (gw, listed) = gateway(&index, workers);
    let mut films = vec![Vec::new(); FILMS as usize];
    let www = dir.path().join("www");
    let mut paths = Vec::new();
    for (n, path) in &listed {
        let bytes: Vec<u8> = films::film_bytes(*n, FILM_LEN).collect();
        let file = www.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &bytes).unwrap();
        films[paths.len()] = bytes;
        paths.push(path.clone());
    }
    let tuning = "    sendfile on;\n    tcp_nopush on;\n    keepalive_requests 1000000;";
    let ngx = nginx::Nginx::start(
        &exe,
        tuning,
        &format!(
            "        access_log off;\n        root {};\n        location / {{ }}",
            www.display()
        ),
    )
    .unwrap();
    // The deployment of docs/deploy.md: nginx's cache (1 MiB slices) in front of the gateway,
    // filled by reading every film once.
    let (cache_http, cache_server) = nginx::gateway_cache(gw, 1 << 20);
    let proxy = nginx::Nginx::start(
        &exe,
        &format!("{tuning}\n{cache_http}"),
        &format!("        access_log off;\n{cache_server}"),
    )
    .unwrap();
    for path in &paths {
        let resp = ureq::get(&format!("http://{}{path}", proxy.addr))
            .call()
            .unwrap();
        std::io::copy(&mut resp.into_reader(), &mut std::io::sink()).unwrap();
    }
    println!(
        "{FILMS} films of {} MiB indexed and written in {:.0} s; {clients} clients, {secs} s a run, \
         {workers} worker(s) each",
        FILM_LEN >> 20,
        t.elapsed().as_secs_f64()
    );
    for addr in [gw, ngx.addr, proxy.addr] {
        check(addr, &paths, &films);
    }
    drop(films);
    let paths = Arc::new(paths);
    println!("server\tround\tMB/s\treq/s\tp50 ms\tp99 ms\terrors\treached the gateway");
    let servers = [
        ("gateway", gw),
        ("nginx, files", ngx.addr),
        ("nginx cache, gateway behind", proxy.addr),
    ];
    let mut totals = [0.0f64; 3];
    for round in 1..=rounds {
        for (i, (name, addr)) in servers.into_iter().enumerate() {
            load(addr, &paths, clients, 2.0); // warm up: page cache, connections
            let before = file_requests(gw);
            let r = load(addr, &paths, clients, secs);
            let reached = file_requests(gw) - before;
            totals[i] += r.mb_s();
            println!(
                "{name}\t{round}\t{:.0}\t{:.0}\t{:.1}\t{:.1}\t{}\t{reached}",
                r.mb_s(),
                r.latencies_us.len() as f64 / r.secs,
                r.percentile(0.50),
                r.percentile(0.99),
                r.errors
            );
        }
    }
    println!(
        "throughput against nginx on files: gateway {:.0} %, behind nginx's cache {:.0} %",
        100.0 * totals[0] / totals[1],
        100.0 * totals[2] / totals[1]
    );
}
