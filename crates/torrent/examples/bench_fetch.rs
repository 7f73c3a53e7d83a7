//! What checking a committed content costs a viewer: a swarm of `MB` megabytes (default 64) seeded
//! on loopback, fetched by a viewer that reads every byte through `Fetch::read` (the layer against
//! the root, every piece against the layer), against librqbit fetching the same swarm from the
//! same seed to completion with no check of ours (the baseline: the same bytes over the same
//! transport), and a third node that only follows the commitment, as a gateway does, until its
//! checked prefix is the whole stream. Each run uses fresh folders. Prints one JSON line.
//!
//! `cargo run --workspace --example bench_fetch [MB]` (`scripts/bench-fetch.sh`; dependencies are
//! optimised in the dev profile too)
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark fails loudly on the first unexpected error"
)]

use librqbit::{AddTorrent, AddTorrentOptions, Session, SessionOptions};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use torrent::{Node, NodeOptions};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mb: usize = std::env::args()
        .nth(1)
        .map_or(64, |a| a.parse().expect("MB: a number"));
    let n = mb << 20;
    let mut x = 0x2545_f491_u32;
    let bytes: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let swarm = torrent::make(&dir.path().join("seed/swarm"), &bytes).unwrap();
    let make_s = t.elapsed().as_secs_f64();
    let mut o = NodeOptions::new(dir.path().join("seed"));
    o.listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    let seed = Node::start(o).await.unwrap();
    seed.seed(&swarm).await.unwrap();
    let at = seed.listen_addr().unwrap();

    // Ours: the commitment alone, every byte read through the checks.
    let viewer = Node::start(NodeOptions::new(dir.path().join("viewer")))
        .await
        .unwrap();
    let c = cvp::Commitment {
        root: swarm.root,
        length: swarm.length,
        media_code: 1,
        infohash: swarm.infohash,
        seed: Some(at),
    };
    let t = Instant::now();
    let fetch = viewer.fetch(&c).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let mut read = 0u64;
    let step = 4u64 << 20;
    while read < swarm.length {
        let end = (read + step).min(swarm.length);
        let got = fetch.read(read..end, deadline).await.unwrap();
        assert_eq!(got, bytes[read as usize..end as usize]);
        read = end;
    }
    let ours_s = t.elapsed().as_secs_f64();

    // Ours as a gateway sees it: another node given the commitment and no reads, until its
    // follower has checked the whole stream (the prefix a gateway serves).
    let gateway = Node::start(NodeOptions::new(dir.path().join("gateway")))
        .await
        .unwrap();
    let t = Instant::now();
    let followed = gateway.fetch(&c).unwrap();
    while followed.checked_prefix() < swarm.length {
        assert!(t.elapsed() < Duration::from_secs(600), "{followed:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let prefix_s = t.elapsed().as_secs_f64();

    // Baseline: librqbit alone, the same swarm from the same seed, to completion.
    let base_dir = dir.path().join("baseline");
    let session = Session::new_with_opts(
        base_dir.clone(),
        SessionOptions {
            dht: None,
            disable_trackers: true,
            disable_local_service_discovery: true,
            ..SessionOptions::default()
        },
    )
    .await
    .unwrap();
    let t = Instant::now();
    let magnet = format!(
        "magnet:?xt=urn:btih:{}",
        swarm
            .infohash
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let handle = session
        .add_torrent(
            AddTorrent::from_url(magnet.as_str()),
            Some(AddTorrentOptions {
                initial_peers: Some(vec![at]),
                output_folder: Some(base_dir.join("swarm").to_string_lossy().into_owned()),
                ..AddTorrentOptions::default()
            }),
        )
        .await
        .unwrap()
        .into_handle()
        .unwrap();
    handle.wait_until_completed().await.unwrap();
    let base_s = t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "bytes": n,
            "piece_length": swarm.piece_length,
            "make_swarm_s": make_s,
            "checked_fetch_s": ours_s,
            "checked_mb_per_s": mb as f64 / ours_s,
            "prefix_checked_s": prefix_s,
            "ratio_prefix_over_baseline": prefix_s / base_s,
            "baseline_librqbit_s": base_s,
            "baseline_mb_per_s": mb as f64 / base_s,
            "ratio_checked_over_baseline": ours_s / base_s,
        })
    );
}
