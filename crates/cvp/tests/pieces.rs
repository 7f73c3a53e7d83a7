//! `cvp::pieces` against an independent BitTorrent v2 implementation: libtorrent's own
//! `create_torrent` (Debian's python3-libtorrent, installed by scripts/setup.sh) computes the
//! `pieces root` and the `piece layers` of the same bytes.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

/// What libtorrent makes of `path` at `piece_length`: the pieces root and the piece layer (absent
/// for a file of one piece or less), in hex.
const SCRIPT: &str = r#"
import sys, libtorrent as lt
path, piece = sys.argv[1], int(sys.argv[2])
fs = lt.file_storage()
lt.add_files(fs, path)
t = lt.create_torrent(fs, piece, flags=lt.create_torrent.v2_only)
lt.set_piece_hashes(t, path.rsplit('/', 1)[0])
e = t.generate()
leaf = next(iter(e[b'info'][b'file tree'].values()))[b'']
root = leaf[b'pieces root']
print(root.hex(), e.get(b'piece layers', {}).get(root, b'').hex())
"#;

#[test]
fn pieces_roots_and_layers_match_libtorrent() {
    if !testkit::have_libtorrent() {
        return;
    }
    let dir = testkit::tempdir();
    for n in [1usize, 16_384, 16_385, 50_000, 65_536, 100_000, 300_001] {
        let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
        let path = dir.path().join(format!("f{n}"));
        std::fs::write(&path, &data).unwrap();
        for piece in [16_384u64, 32_768, 262_144] {
            let text = testkit::libtorrent(SCRIPT, &[path.to_str().unwrap(), &piece.to_string()]);
            let mut words = text.split_whitespace();
            let root = words.next().unwrap();
            let layer = words.next().unwrap_or("");
            let ours = cvp::pieces::pieces_root(&data).unwrap();
            assert_eq!(hex::encode(ours), root, "root of {n} bytes");
            let our_layer = cvp::pieces::piece_layer(&data, piece).unwrap();
            if n as u64 > piece {
                assert_eq!(
                    hex::encode(our_layer.concat()),
                    layer,
                    "layer of {n} at {piece}"
                );
            } else {
                assert_eq!(layer, "", "libtorrent has no layer for one piece");
            }
            cvp::pieces::check_layer(&our_layer, n as u64, piece, &ours).unwrap();
        }
    }
}
