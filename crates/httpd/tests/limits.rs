//! The accept loop under the attacks it is for: 1,100 silent connections, a silent client past
//! the header-read timeout, a client that stops reading its response.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use axum::routing::get;
use httpd::{probe, Limits};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn start(limits: Limits) -> SocketAddr {
    let app = axum::Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/big", get(|| async { vec![7u8; 64 << 20] }));
    probe::serve_on_loopback(app, limits).unwrap()
}

#[test]
fn silent_connections_do_not_lock_out_a_request() {
    httpd::raise_fd_limit().unwrap();
    let addr = start(Limits::default().max_connections(64));
    let silent = probe::silent(addr, 1_100).unwrap();
    let t = Instant::now();
    let (status, body) = probe::get(addr, "/", Duration::from_secs(5)).unwrap();
    let took = t.elapsed();
    assert_eq!((status, body.as_slice()), (200, b"hello".as_slice()));
    assert!(took < Duration::from_secs(1), "answered in {took:?}");
    std::thread::sleep(Duration::from_millis(300));
    let closed = probe::closed(&silent).unwrap();
    assert!(
        closed >= 1_100 - 64,
        "the server keeps at most its limit open: {closed} of 1100 closed"
    );
}

#[test]
fn a_silent_client_is_closed_after_the_header_read_timeout() {
    let addr = start(Limits::default().header_read_timeout(Duration::from_millis(300)));
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x").unwrap(); // never finishes its head
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = c.read_to_end(&mut buf);
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "closed after {:?}",
        t.elapsed()
    );
}

#[test]
fn a_client_that_stops_reading_is_closed_after_the_idle_timeout() {
    let addr = start(Limits::default().idle_timeout(Duration::from_millis(500)));
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_secs(2)); // the socket buffers fill; the server stalls
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        got += n;
    }
    assert!(
        got < 64 << 20,
        "the stalled response was cut off ({got} bytes read)"
    );
}
