//! The devnet's HTTP server answers a normal request within a second while 1,100 silent
//! connections are held open.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use httpd::probe;
use std::time::{Duration, Instant};

#[test]
fn silent_connections_do_not_lock_out_the_devnet_server() {
    httpd::raise_fd_limit().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = testkit::devnet::open(dir.path());
    let url = testkit::devnet::serve(&d);
    let addr = url.trim_start_matches("http://").parse().unwrap();
    let silent = probe::silent(addr, 1_100).unwrap();
    let t = Instant::now();
    let (status, body) = probe::get(addr, "/blocks/tip/height", Duration::from_secs(5)).unwrap();
    let took = t.elapsed();
    assert_eq!(status, 200);
    assert_eq!(String::from_utf8(body).unwrap(), d.tip().height.to_string());
    assert!(took < Duration::from_secs(1), "answered in {took:?}");
    drop(silent);
}
