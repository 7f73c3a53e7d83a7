//! Requests per second the gateway answers with no idle connections, and while an attacker keeps
//! 1,100 silent connections open (reopening each one the server closes). BENCHMARKS.md
//! "Gateway under idle connections".
//!
//! `cargo run --release -p server --example bench_idle -- [SECONDS] [CLIENTS]`
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark fails loudly on the first unexpected error"
)]

use httpd::probe;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SILENT: usize = 1_100;

fn serve() -> SocketAddr {
    let published = index::Published::new(index::Indexer::in_memory().unwrap().snapshot());
    // What `server::serve` runs.
    let app = server::app_with(
        published,
        server::View::default(),
        server::Rewrapper::new(server::RewrapLimits::default()),
    );
    probe::serve_on_loopback(app, httpd::Limits::default()).unwrap()
}

/// Requests per second from `clients` keep-alive connections over `secs` (each client
/// reconnects if the server closes it).
fn measure(addr: SocketAddr, clients: usize, secs: u64) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let end = Instant::now() + Duration::from_secs(secs);
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (done, errors) = (Arc::clone(&done), Arc::clone(&errors));
            std::thread::spawn(move || {
                let mut c = probe::KeepAlive::connect(addr).ok();
                while Instant::now() < end {
                    let ok = c
                        .as_mut()
                        .is_some_and(|c| matches!(c.get("/api/catalog"), Ok((200, _))));
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        c = probe::KeepAlive::connect(addr).ok();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    (
        done.load(Ordering::Relaxed) as f64 / secs as f64,
        errors.load(Ordering::Relaxed),
    )
}

/// Keep `SILENT` silent connections open until `stop`, reopening those the server closes.
fn attacker(addr: SocketAddr, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut conns = probe::silent(addr, SILENT).unwrap();
        let mut reopened = 0;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            for c in &mut conns {
                if probe::closed(std::slice::from_ref(c)).unwrap_or(1) == 1 {
                    if let Ok(mut fresh) = probe::silent(addr, 1) {
                        *c = fresh.remove(0);
                        reopened += 1;
                    }
                }
            }
        }
        reopened
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let fds = httpd::raise_fd_limit().unwrap();
    let addr = serve();
    let (quiet, quiet_err) = measure(addr, clients, secs);
    println!("no idle connections:      {quiet:>9.0} req/s ({quiet_err} errors)");
    let stop = Arc::new(AtomicBool::new(false));
    let attack = attacker(addr, Arc::clone(&stop));
    std::thread::sleep(Duration::from_secs(1));
    let (held, held_err) = measure(addr, clients, secs);
    stop.store(true, Ordering::Relaxed);
    let reopened = attack.join().unwrap();
    println!(
        "{SILENT} silent connections: {held:>9.0} req/s ({held_err} errors; the attacker reopened {reopened})"
    );
    println!(
        "ratio: {:.2} ({clients} clients, {secs} s each, GET /api/catalog, open-file limit {fds})",
        held / quiet
    );
}
