//! Two BitTorrent clients on loopback, as a publisher and a viewer run them: the publisher seeds
//! the swarm of a content, the viewer fetches it by the commitment alone (infohash, seed address)
//! and reads only bytes whose pieces match the chain's root. Seeds that lie are caught; a
//! commitment whose bytes never appear is waiting for peers, not an error. The torrent itself is
//! read back by libtorrent, an independent implementation.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use cvp::{pieces, Commitment};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;
use torrent::{Error, FetchStatus, Node, NodeOptions, SwarmFiles};

fn film(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_u32;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], testkit::free_port()))
}

async fn node(dir: &Path, listen: Option<SocketAddr>) -> Node {
    let mut o = NodeOptions::new(dir);
    o.listen = listen;
    o.retry = Duration::from_millis(300);
    Node::start(o).await.unwrap()
}

/// A publisher's node in `dir`, listening on loopback, seeding `swarm` (checked by the library).
async fn seeding(dir: &Path, swarm: &SwarmFiles) -> Node {
    let seed = node(dir, Some(loopback())).await;
    seed.seed(swarm).await.unwrap();
    seed
}

fn commitment(s: &SwarmFiles, root: [u8; 32], seed: Option<SocketAddr>) -> Commitment {
    Commitment {
        root,
        length: s.length,
        media_code: 1,
        infohash: s.infohash,
        seed,
    }
}

fn soon(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_fetches_a_content_from_its_seed_by_the_commitment_alone() {
    let dir = testkit::tempdir();
    let bytes = film(1_000_003);
    let swarm = torrent::make(&dir.path().join("publisher/swarm"), &bytes).unwrap();
    assert_eq!(swarm.root, pieces::pieces_root(&bytes).unwrap());
    let seed = seeding(&dir.path().join("publisher"), &swarm).await;
    let at = seed.listen_addr().unwrap();

    let viewer = node(&dir.path().join("viewer"), None).await;
    let c = commitment(&swarm, swarm.root, Some(at));
    let fetch = viewer.fetch(&c).unwrap();
    assert!(
        matches!(fetch.wait(soon(60)).await, FetchStatus::Ready { .. }),
        "{:?}",
        fetch.status()
    );
    // A range in the middle first (its pieces are asked for first), then the whole stream.
    let mid = fetch.read(300_000..700_001, soon(60)).await.unwrap();
    assert_eq!(mid, bytes[300_000..700_001]);
    let all = fetch.read(0..bytes.len() as u64, soon(60)).await.unwrap();
    assert_eq!(all, bytes);
    assert!(fetch.read(0..0, soon(1)).await.unwrap().is_empty());
    let past = fetch.read(10..bytes.len() as u64 + 1, soon(1)).await;
    assert!(matches!(past, Err(Error::Range { .. })), "{past:?}");
    // The same record gives the same fetch.
    assert!(std::sync::Arc::ptr_eq(&fetch, &viewer.fetch(&c).unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swarm_of_other_bytes_than_the_committed_ones_is_refused_by_its_layer() {
    let dir = testkit::tempdir();
    let bytes = film(400_000);
    let mut corrupt = bytes.clone();
    corrupt[123_456] ^= 0x40;
    // The publisher commits to the film's root, but its swarm holds other bytes (with their own,
    // consistent torrent and layer): the library's SHA-1 checks pass, the layer's root does not.
    let swarm = torrent::make(&dir.path().join("publisher/swarm"), &corrupt).unwrap();
    let seed = seeding(&dir.path().join("publisher"), &swarm).await;
    let viewer = node(&dir.path().join("viewer"), None).await;
    let c = commitment(
        &swarm,
        pieces::pieces_root(&bytes).unwrap(),
        seed.listen_addr(),
    );
    let fetch = viewer.fetch(&c).unwrap();
    match fetch.wait(soon(60)).await {
        FetchStatus::Refused(why) => assert!(why.contains("root"), "{why}"),
        s => panic!("not refused: {s:?}"),
    }
    let read = fetch.read(0..10, soon(5)).await;
    assert!(matches!(read, Err(Error::Refused(_))), "{read:?}");
    // A record that commits to another length than the swarm's stream holds.
    let honest = torrent::make(&dir.path().join("honest/swarm"), &bytes).unwrap();
    let seed2 = seeding(&dir.path().join("honest"), &honest).await;
    let mut c = commitment(&honest, honest.root, seed2.listen_addr());
    c.length += 1;
    match viewer.fetch(&c).unwrap().wait(soon(60)).await {
        FetchStatus::Refused(why) => assert!(why.contains("commits to 400001 bytes"), "{why}"),
        s => panic!("not refused: {s:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_piece_that_does_not_match_its_layer_hash_is_never_served() {
    let dir = testkit::tempdir();
    let bytes = film(600_000);
    let p = torrent::piece_length_for(bytes.len() as u64);
    let layer = pieces::piece_layer(&bytes, p).unwrap();
    let root = pieces::pieces_root(&bytes).unwrap();
    // The true layer and root, but piece 3 of the stream changed: a torrent made from it passes
    // the library's SHA-1 and the layer check, and fails at that piece.
    let mut stream = bytes.clone();
    stream[3 * p as usize + 17] ^= 1;
    let swarm = torrent::make_from_parts(
        &dir.path().join("publisher/swarm"),
        &stream,
        &layer,
        root,
        p,
    )
    .unwrap();
    let seed = seeding(&dir.path().join("publisher"), &swarm).await;
    let viewer = node(&dir.path().join("viewer"), None).await;
    let fetch = viewer
        .fetch(&commitment(&swarm, root, seed.listen_addr()))
        .unwrap();
    assert!(matches!(
        fetch.wait(soon(60)).await,
        FetchStatus::Ready { .. }
    ));
    let good = fetch.read(0..3 * p, soon(60)).await.unwrap();
    assert_eq!(good, bytes[..3 * p as usize]);
    let bad = fetch.read(3 * p + 100..3 * p + 200, soon(60)).await;
    assert!(matches!(bad, Err(Error::BadPiece { index: 3 })), "{bad:?}");
    let across = fetch.read(0..bytes.len() as u64, soon(60)).await;
    assert!(
        matches!(across, Err(Error::BadPiece { index: 3 })),
        "{across:?}"
    );
    // The node's follower stops there: the checked prefix, what a gateway serves, ends before
    // the piece, which is refused for good.
    let t = std::time::Instant::now();
    while !matches!(
        fetch.status(),
        FetchStatus::Ready {
            bad_piece: Some(3),
            ..
        }
    ) {
        assert!(t.elapsed().as_secs() < 60, "{:?}", fetch.status());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(fetch.checked_prefix(), 3 * p);
    assert_eq!(
        fetch.read_checked_prefix(0..3 * p).unwrap(),
        bytes[..3 * p as usize]
    );
    assert!(matches!(
        fetch.read_checked_prefix(0..3 * p + 1),
        Err(Error::Waiting)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_whose_disk_changed_under_it_never_gets_a_wrong_byte_served() {
    let dir = testkit::tempdir();
    let bytes = film(500_000);
    let swarm = torrent::make(&dir.path().join("publisher/swarm"), &bytes).unwrap();
    let seed = seeding(&dir.path().join("publisher"), &swarm).await;
    // After the seed's check, piece 2 changes on its disk: it now sends bytes that fail the
    // torrent's SHA-1, which the viewer's library drops and asks again.
    let p = swarm.piece_length as usize;
    let path = swarm.dir.join(torrent::STREAM);
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[2 * p + 5] ^= 0xff;
    std::fs::write(&path, &on_disk).unwrap();
    let viewer = node(&dir.path().join("viewer"), None).await;
    let fetch = viewer
        .fetch(&commitment(&swarm, swarm.root, seed.listen_addr()))
        .unwrap();
    assert!(matches!(
        fetch.wait(soon(60)).await,
        FetchStatus::Ready { .. }
    ));
    let good = fetch.read(0..2 * p as u64, soon(60)).await.unwrap();
    assert_eq!(good, bytes[..2 * p]);
    let bad = fetch.read(2 * p as u64..2 * p as u64 + 10, soon(8)).await;
    assert!(matches!(bad, Err(Error::Waiting)), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commitment_whose_bytes_never_appear_is_waiting_for_peers() {
    let dir = testkit::tempdir();
    let bytes = film(100_000);
    let swarm = torrent::make(&dir.path().join("nobody"), &bytes).unwrap();
    let viewer = node(&dir.path().join("viewer"), None).await;
    // A seed address where nobody listens, and a record with no seed at all.
    for seed in [Some(loopback()), None] {
        let mut c = commitment(&swarm, swarm.root, seed);
        c.infohash[0] ^= u8::from(seed.is_none());
        let fetch = viewer.fetch(&c).unwrap();
        let started = Instant::now();
        let s = fetch.wait(soon(3)).await;
        assert!(matches!(s, FetchStatus::Waiting { .. }), "{s:?}");
        let read = fetch.read(0..10, soon(2)).await;
        assert!(matches!(read, Err(Error::Waiting)), "{read:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_bounds_lengths_and_drops_the_longest_waiting_fetch_for_a_new_one() {
    let dir = testkit::tempdir();
    let mut o = NodeOptions::new(dir.path());
    o.max_length = 1_000;
    o.max_swarms = 2;
    o.retry = Duration::from_millis(100);
    let viewer = Node::start(o).await.unwrap();
    let mut c = Commitment {
        root: [1; 32],
        length: 1_001,
        media_code: 1,
        infohash: [0; 20],
        seed: Some(loopback()),
    };
    assert!(matches!(viewer.fetch(&c), Err(Error::TooLong { .. })));
    c.length = 1_000;
    let first = viewer.fetch(&c).unwrap();
    c.infohash[0] = 1;
    let second = viewer.fetch(&c).unwrap();
    // A third record: the one that has waited longest makes room; the others are kept.
    c.infohash[0] = 2;
    viewer.fetch(&c).unwrap();
    assert!(std::sync::Arc::ptr_eq(
        &second,
        &viewer
            .fetch(&{
                let mut k = c.clone();
                k.infohash[0] = 1;
                k
            })
            .unwrap()
    ));
    c.infohash[0] = 0;
    assert!(!std::sync::Arc::ptr_eq(&first, &viewer.fetch(&c).unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_record_naming_a_publishers_swarm_is_refused_without_harm_to_it() {
    let dir = testkit::tempdir();
    let bytes = film(300_000);
    let swarm = torrent::make(&dir.path().join("publisher/swarm"), &bytes).unwrap();
    let seed = seeding(&dir.path().join("publisher"), &swarm).await;
    let viewer = node(&dir.path().join("viewer"), None).await;
    let honest = viewer
        .fetch(&commitment(&swarm, swarm.root, seed.listen_addr()))
        .unwrap();
    assert_eq!(
        honest.read(0..1_000, soon(60)).await.unwrap(),
        bytes[..1_000]
    );
    // The same infohash under another root: refused, and the publisher's fetch still reads.
    let stranger = viewer
        .fetch(&commitment(&swarm, [9; 32], seed.listen_addr()))
        .unwrap();
    assert!(matches!(
        stranger.wait(soon(60)).await,
        FetchStatus::Refused(_)
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = honest.read(0..bytes.len() as u64, soon(60)).await.unwrap();
    assert_eq!(all, bytes);
}

/// libtorrent's reading of our torrent: its v1 infohash, whether it is v2 too, its piece length
/// and its files, each with its v2 pieces root.
const READ_TORRENT: &str = r#"
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
fs = ti.files()
print(str(ti.info_hashes().v1), ti.info_hashes().has_v2(), ti.piece_length(),
      ' '.join('%s:%d:%d:%s' % (fs.file_path(i), fs.file_size(i),
               1 if fs.file_flags(i) & lt.file_storage.flag_pad_file else 0, str(fs.root(i)))
               for i in range(fs.num_files())))
"#;

#[test]
fn libtorrent_reads_our_hybrid_torrent_with_the_same_infohash_files_and_pieces_root() {
    if !testkit::have_libtorrent() {
        return;
    }
    let dir = testkit::tempdir();
    for n in [1usize, 65_536, 65_537, 777_777] {
        let bytes = film(n);
        let swarm = torrent::make(&dir.path().join(n.to_string()), &bytes).unwrap();
        let torrent_file = swarm.dir.join(torrent::TORRENT);
        let text = testkit::libtorrent(READ_TORRENT, &[torrent_file.to_str().unwrap()]);
        let f: Vec<&str> = text.split_whitespace().collect();
        let hex: String = swarm.infohash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(f[0], hex, "{text}");
        assert_eq!(f[1], "True", "a v2 torrent too: {text}");
        assert_eq!(f[2], swarm.piece_length.to_string());
        let name: String = swarm.root.iter().map(|b| format!("{b:02x}")).collect();
        let layer_len = n.div_ceil(swarm.piece_length as usize) * 32;
        // The layer, its padding to a whole piece, the stream: v2's pieces root of the stream is
        // the record's root.
        assert!(
            f[3].starts_with(&format!("{name}/layer:{layer_len}:0:")),
            "{text}"
        );
        let pad = swarm.piece_length as usize - layer_len;
        assert!(
            f[4].starts_with(&format!("{name}/.pad/{pad}:{pad}:1:")),
            "{text}"
        );
        assert_eq!(f[5], format!("{name}/stream:{n}:0:{name}"), "{text}");
    }
}
