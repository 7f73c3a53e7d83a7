//! The gateway, served as `bitflix serve` serves it, answers a normal request within a second
//! while 1,100 silent connections are held open.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use httpd::probe;
use std::time::{Duration, Instant};

#[test]
fn silent_connections_do_not_lock_out_the_gateway() {
    httpd::raise_fd_limit().unwrap();
    let chain = common::chain();
    let id = chain.publish(61, b"0123456789", "video/mp4", true);
    let addr = common::serve(server::app(chain.catalog()), httpd::Limits::default());
    let silent = probe::silent(addr, 1_100).unwrap();
    let t = Instant::now();
    let (status, body) = probe::get(
        addr,
        &format!("/api/content/{id}/file"),
        Duration::from_secs(5),
    )
    .unwrap();
    let took = t.elapsed();
    assert_eq!((status, body.as_slice()), (200, b"0123456789".as_slice()));
    assert!(took < Duration::from_secs(1), "answered in {took:?}");
    drop(silent);
}
