//! The swarm behind a commitment (docs/cvp.md, "Commitments"): a hybrid BitTorrent torrent (BEP 52
//! v2 with its v1 compatibility, BEP 47 padding) of two files, `layer` (the stream's BEP 52 piece
//! layer for the torrent's piece length) and `stream` (the content's bytes), in the order v2's
//! file tree sorts them, the layer padded to a whole piece so the stream's v1 pieces are its v2
//! pieces. v1 clients (librqbit) see two files and a padding file; v2 clients (libtorrent) see the
//! stream's pieces root, the record's root.

use crate::bencode::Value;
use crate::Error;
use cvp::pieces;
use sha1::{Digest, Sha1};
use std::path::{Path, PathBuf};

/// The content's file in the swarm.
pub const STREAM: &str = "stream";
/// Its piece layer's file.
pub const LAYER: &str = "layer";
/// The torrent file written beside them (not part of the swarm: what a seed adds to its client).
pub const TORRENT: &str = "swarm.torrent";

/// Smallest piece length a swarm uses: 64 KiB.
pub const MIN_PIECE_LENGTH: u64 = 64 * 1024;
/// A swarm has at most about this many pieces before its pieces grow.
const TARGET_PIECES: u64 = 2048;

/// What [`make`] wrote: the values a commitment record pins, and the torrent to seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmFiles {
    /// The folder holding `stream`, `layer` and `swarm.torrent`.
    pub dir: PathBuf,
    /// BEP 52's pieces root of the stream.
    pub root: [u8; 32],
    /// The stream's length.
    pub length: u64,
    /// The torrent's piece length, which is the layer's.
    pub piece_length: u64,
    /// The v1 infohash (SHA-1 of the bencoded info dictionary).
    pub infohash: [u8; 20],
    /// The whole `.torrent` file.
    pub torrent: Vec<u8>,
}

/// The piece length a swarm of `length` bytes uses: a power of two of at least 64 KiB, giving at
/// most about 2,048 pieces (a small layer to fetch first, pieces small enough to start playing
/// soon).
pub fn piece_length_for(length: u64) -> u64 {
    length
        .div_ceil(TARGET_PIECES)
        .max(MIN_PIECE_LENGTH)
        .next_power_of_two()
}

/// Writes the swarm of `bytes` into `dir` (`stream`, `layer`, `swarm.torrent`): what a publisher
/// seeds and commits to.
pub fn make(dir: &Path, bytes: &[u8]) -> Result<SwarmFiles, Error> {
    let piece_length = piece_length_for(bytes.len() as u64);
    let layer = pieces::piece_layer(bytes, piece_length)?;
    let root = pieces::pieces_root(bytes)?;
    make_from_parts(dir, bytes, &layer, root, piece_length)
}

/// [`make`] with the layer and root given: the tests' way to build a swarm whose layer and stream
/// disagree (a corrupt seed). Not for publishing.
#[doc(hidden)]
pub fn make_from_parts(
    dir: &Path,
    bytes: &[u8],
    layer: &[[u8; 32]],
    root: [u8; 32],
    piece_length: u64,
) -> Result<SwarmFiles, Error> {
    let layer_bytes: Vec<u8> = layer.iter().flatten().copied().collect();
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating the swarm's folder", dir, e))?;
    let stream_path = dir.join(STREAM);
    std::fs::write(&stream_path, bytes).map_err(|e| Error::io("writing", &stream_path, e))?;
    let layer_path = dir.join(LAYER);
    std::fs::write(&layer_path, &layer_bytes).map_err(|e| Error::io("writing", &layer_path, e))?;
    let (info, infohash) = info_dict(bytes, &layer_bytes, &root, piece_length)?;
    // The torrent: the info dictionary, and v2's piece layers of the files longer than a piece
    // (the stream's is its layer; the layer itself always fits one piece).
    let mut torrent = b"d4:info".to_vec();
    torrent.extend_from_slice(&info);
    if bytes.len() as u64 > piece_length {
        let layers = Value::Dict(vec![(root.as_slice(), Value::Bytes(&layer_bytes))]);
        Value::Bytes(b"piece layers").write(&mut torrent);
        layers.write(&mut torrent);
    }
    torrent.push(b'e');
    let torrent_path = dir.join(TORRENT);
    std::fs::write(&torrent_path, &torrent).map_err(|e| Error::io("writing", &torrent_path, e))?;
    Ok(SwarmFiles {
        dir: dir.to_path_buf(),
        root,
        length: bytes.len() as u64,
        piece_length,
        infohash,
        torrent,
    })
}

/// The bytes of padding that bring `len` to a whole number of pieces.
pub(crate) fn padding(len: u64, piece_length: u64) -> u64 {
    len.next_multiple_of(piece_length) - len
}

/// The bencoded hybrid info dictionary of the two files and its SHA-1 (the v1 infohash). Its
/// name is the pieces root in hex: what a client shows, and the same for the same content.
fn info_dict(
    stream: &[u8],
    layer: &[u8],
    root: &[u8; 32],
    piece_length: u64,
) -> Result<(Vec<u8>, [u8; 20]), Error> {
    let p = usize::try_from(piece_length).unwrap_or(usize::MAX);
    let pad = padding(layer.len() as u64, piece_length);
    let zeros = vec![0u8; usize::try_from(pad).unwrap_or(0)];
    let mut hashes = Vec::new();
    let mut piece = Sha1::new();
    let mut filled = 0usize;
    for mut part in [layer, &zeros, stream] {
        while !part.is_empty() {
            let take = (p - filled).min(part.len());
            piece.update(&part[..take]);
            filled += take;
            part = &part[take..];
            if filled == p {
                hashes.extend_from_slice(&piece.finalize_reset());
                filled = 0;
            }
        }
    }
    if filled > 0 {
        hashes.extend_from_slice(&piece.finalize());
    }
    let name = hex::encode(root);
    let layer_root = pieces::pieces_root(layer)?;
    let pad_name = pad.to_string();
    let file = |len: usize, name: &'static str| {
        Value::Dict(vec![
            (b"length", Value::Int(len as u64)),
            (b"path", Value::List(vec![Value::Bytes(name.as_bytes())])),
        ])
    };
    let mut files = vec![file(layer.len(), LAYER)];
    if pad > 0 {
        files.push(Value::Dict(vec![
            (b"attr", Value::Bytes(b"p")),
            (b"length", Value::Int(pad)),
            (
                b"path",
                Value::List(vec![
                    Value::Bytes(b".pad"),
                    Value::Bytes(pad_name.as_bytes()),
                ]),
            ),
        ]));
    }
    files.push(file(stream.len(), STREAM));
    fn tree_file(len: usize, root: &[u8; 32]) -> Value<'_> {
        let entry = Value::Dict(vec![
            (b"length", Value::Int(len as u64)),
            (b"pieces root", Value::Bytes(root)),
        ]);
        Value::Dict(vec![(b"", entry)])
    }
    let info = Value::Dict(vec![
        (
            b"file tree",
            Value::Dict(vec![
                (LAYER.as_bytes(), tree_file(layer.len(), &layer_root)),
                (STREAM.as_bytes(), tree_file(stream.len(), root)),
            ]),
        ),
        (b"files", Value::List(files)),
        (b"meta version", Value::Int(2)),
        (b"name", Value::Bytes(name.as_bytes())),
        (b"piece length", Value::Int(piece_length)),
        (b"pieces", Value::Bytes(&hashes)),
    ])
    .to_vec();
    let infohash = Sha1::digest(&info).into();
    Ok((info, infohash))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn piece_lengths_are_powers_of_two_of_at_least_64_kib_for_about_2048_pieces() {
        assert_eq!(piece_length_for(1), MIN_PIECE_LENGTH);
        assert_eq!(piece_length_for(2048 * 65_536), 65_536);
        assert_eq!(piece_length_for(2048 * 65_536 + 1), 131_072);
        let two_hours = 18_000_000;
        let p = piece_length_for(two_hours);
        assert!(p.is_power_of_two() && two_hours.div_ceil(p) <= 2048);
        assert!(piece_length_for(1 << 40).is_power_of_two());
    }

    #[test]
    fn the_same_bytes_make_the_same_swarm_and_its_layer_reproduces_the_root() {
        let bytes: Vec<u8> = (0..200_001u32).map(|i| (i % 253) as u8).collect();
        let dir = testkit::tempdir();
        let a = make(&dir.path().join("a"), &bytes).unwrap();
        let b = make(&dir.path().join("b"), &bytes).unwrap();
        assert_eq!(a.infohash, b.infohash);
        assert_eq!(a.torrent, b.torrent);
        let layer = std::fs::read(a.dir.join(LAYER)).unwrap();
        let layer: Vec<[u8; 32]> = layer.chunks(32).map(|c| c.try_into().unwrap()).collect();
        pieces::check_layer(&layer, a.length, a.piece_length, &a.root).unwrap();
        let mut other = bytes.clone();
        other[5] ^= 1;
        let c = make(&dir.path().join("c"), &other).unwrap();
        assert_ne!(a.infohash, c.infohash);
    }
}
