#![allow(clippy::unwrap_used, reason = "tests fail loudly")]
use super::*;

const KEY: [u8; 8] = [0x11, 0xa2, 0x03, 0xf4, 0x55, 0x06, 0x77, 0xc8];

fn magic() -> [u8; 4] {
    Network::Regtest.magic().to_bytes()
}

fn genesis() -> Vec<u8> {
    bitcoin::consensus::serialize(&bitcoin::constants::genesis_block(Network::Regtest))
}

/// A block-shaped record body: a distinct header, a count and filler (the reader parses neither).
fn fake_block(i: u32, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    b[..4].copy_from_slice(&i.to_le_bytes());
    b[4..80].fill((i % 251) as u8);
    b[80] = 1;
    for (j, x) in b[81..].iter_mut().enumerate() {
        *x = (j as u32).wrapping_mul(2_654_435_761).wrapping_add(i) as u8;
    }
    b
}

fn hash(block: &[u8]) -> BlockHash {
    BlockHash::from_byte_array(sha256d::Hash::hash(&block[..80]).to_byte_array())
}

fn record(block: &[u8]) -> Vec<u8> {
    let mut r = magic().to_vec();
    r.extend_from_slice(&(block.len() as u32).to_le_bytes());
    r.extend_from_slice(block);
    r
}

/// Write `plain` as block file `n`, obfuscated with `key`; `zeros` raw zero bytes after it
/// (Core's preallocation, never obfuscated).
fn write(dir: &Path, n: u32, plain: &[u8], key: &[u8; 8], zeros: usize) {
    let mut bytes = plain.to_vec();
    unxor(&mut bytes, key, 0);
    bytes.resize(bytes.len() + zeros, 0);
    std::fs::write(dir.join(format!("blk{n:05}.dat")), bytes).unwrap();
}

fn dir_with_key(key: &[u8; 8]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    if *key != [0; 8] {
        std::fs::write(d.path().join("xor.dat"), key).unwrap();
    }
    d
}

#[test]
fn unxor_is_bytewise_by_file_offset() {
    let plain: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    for offset in [0u64, 1, 7, 8, 13, 4_000_003] {
        for cut in [0usize, 1, 5, 8, 9, 999] {
            let mut buf = plain[..cut].to_vec();
            unxor(&mut buf, &KEY, offset);
            for (i, b) in buf.iter().enumerate() {
                assert_eq!(*b, plain[i] ^ KEY[((offset + i as u64) % 8) as usize]);
            }
        }
    }
}

#[test]
fn every_block_is_read_back_with_and_without_a_key_across_files() {
    for key in [KEY, [0; 8]] {
        let d = dir_with_key(&key);
        let blocks: Vec<Vec<u8>> = (1..=6)
            .map(|i| fake_block(i, 100 + 997 * i as usize))
            .collect();
        let mut f0 = record(&genesis());
        for b in &blocks[..3] {
            f0.extend(record(b));
        }
        write(d.path(), 0, &f0, &key, 0);
        let mut f1 = Vec::new();
        for b in &blocks[3..] {
            f1.extend(record(b));
        }
        write(d.path(), 1, &f1, &key, 4096);
        let files = BlockFiles::open(d.path(), Network::Regtest).unwrap();
        assert_eq!(files.obfuscated(), key != [0; 8]);
        // Asked out of order: the later ones are indexed on the way to the first.
        for b in blocks.iter().rev().chain(&blocks) {
            assert_eq!(files.read(&hash(b)).as_deref(), Some(&b[..]));
        }
        assert_eq!(files.read(&hash(&fake_block(99, 200))), None, "not there");
        let s = files.stats();
        assert_eq!((s.served, s.missed, s.indexed, s.skipped), (12, 1, 7, 0));
    }
}

#[test]
fn a_block_written_into_the_preallocated_tail_is_found_later() {
    let d = dir_with_key(&KEY);
    let first = fake_block(1, 500);
    let mut plain = record(&genesis());
    plain.extend(record(&first));
    let written = plain.len();
    write(d.path(), 0, &plain, &KEY, 1 << 16);
    let files = BlockFiles::open(d.path(), Network::Regtest).unwrap();
    let later = fake_block(2, 700);
    assert_eq!(files.read(&hash(&later)), None, "not written yet");
    // The node writes its next block over the zeros, obfuscated by offset.
    let mut rec = record(&later);
    unxor(&mut rec, &KEY, written as u64);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(d.path().join("blk00000.dat"))
        .unwrap();
    f.write_all_at(&rec, written as u64).unwrap();
    assert_eq!(files.read(&hash(&later)), Some(later));
    assert_eq!(files.read(&hash(&first)), Some(first));
    assert_eq!(
        files.stats().skipped,
        0,
        "the zeros were waited at, not skipped"
    );
}

#[test]
fn hostile_records_are_skipped_and_what_follows_is_found() {
    let d = dir_with_key(&KEY);
    let good: Vec<Vec<u8>> = (1..=5).map(|i| fake_block(i, 300)).collect();
    let mut f0 = record(&genesis());
    f0.extend(record(&good[0]));
    f0.extend([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]); // garbage
    f0.extend(record(&good[1]));
    let mut wrong_magic = record(&fake_block(50, 300));
    wrong_magic[0] ^= 1;
    f0.extend(wrong_magic);
    let mut huge = magic().to_vec();
    huge.extend((MAX_RECORD + 1).to_le_bytes());
    f0.extend(huge);
    f0.extend(vec![0u8; 5000]); // a zeroed gap (zeros in the plain text: not raw zeros)
    f0.extend(record(&good[2]));
    let mut past_end = magic().to_vec();
    past_end.extend(1_000_000u32.to_le_bytes());
    past_end.extend(fake_block(51, 200));
    f0.extend(past_end); // a record running past the end of a finished file
    write(d.path(), 0, &f0, &KEY, 3000); // raw zeros too, in a finished file
    let mut f1 = record(&good[3]);
    f1.extend(record(&good[4]));
    let mut cut = record(&fake_block(52, 400));
    cut.truncate(150); // a partially written tail
    f1.extend(cut);
    write(d.path(), 1, &f1, &KEY, 0);
    let files = BlockFiles::open(d.path(), Network::Regtest).unwrap();
    for b in good.iter().rev() {
        assert_eq!(files.read(&hash(b)).as_deref(), Some(&b[..]));
    }
    for i in 50..=52 {
        assert_eq!(files.read(&hash(&fake_block(i, 300))), None);
    }
    assert!(files.stats().skipped >= 4, "{:?}", files.stats());
}

#[test]
fn a_record_rewritten_after_indexing_is_not_returned() {
    let d = dir_with_key(&KEY);
    let b = fake_block(1, 400);
    let mut plain = record(&genesis());
    let at = plain.len() as u64;
    plain.extend(record(&b));
    write(d.path(), 0, &plain, &KEY, 0);
    let files = BlockFiles::open(d.path(), Network::Regtest).unwrap();
    assert_eq!(files.read(&hash(&b)).as_deref(), Some(&b[..]));
    let mut other = record(&fake_block(2, 400));
    unxor(&mut other, &KEY, at);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(d.path().join("blk00000.dat"))
        .unwrap();
    f.write_all_at(&other, at).unwrap();
    assert_eq!(
        files.read(&hash(&b)),
        None,
        "the header no longer hashes to it"
    );
    f.set_len(at + 100).unwrap();
    assert_eq!(files.read(&hash(&b)), None, "cut short: an error, no panic");
}

#[test]
fn random_files_never_panic() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..40 {
        let d = dir_with_key(&KEY);
        let mut f0 = record(&genesis());
        for _ in 0..(rand() % 40) {
            match rand() % 4 {
                0 => f0.extend(record(&fake_block(
                    rand() as u32,
                    81 + (rand() % 3000) as usize,
                ))),
                1 => f0.extend(magic()),
                2 => f0.extend(((rand() % 8000) as u32).to_le_bytes()),
                _ => f0.extend((0..rand() % 500).map(|_| rand() as u8)),
            }
        }
        write(d.path(), 0, &f0, &KEY, (rand() % 100) as usize);
        if round % 2 == 0 {
            let tail: Vec<u8> = (0..rand() % 2000).map(|_| rand() as u8).collect();
            write(d.path(), 1, &tail, &KEY, 0);
        }
        let files = BlockFiles::open(d.path(), Network::Regtest).unwrap();
        for _ in 0..5 {
            let h =
                BlockHash::from_byte_array(hash(&fake_block(rand() as u32, 81)).to_byte_array());
            assert_eq!(files.read(&h), None);
        }
        let g = genesis();
        assert_eq!(files.read(&hash(&g)), Some(g));
    }
}

#[test]
fn directories_that_are_not_a_nodes_are_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let e = BlockFiles::open(d.path(), Network::Regtest).unwrap_err();
    assert!(e.to_string().contains("no blk*.dat"), "{e}");
    std::fs::create_dir(d.path().join("blocks")).unwrap();
    write(&d.path().join("blocks"), 0, &record(&genesis()), &[0; 8], 0);
    let e = BlockFiles::open(d.path(), Network::Regtest).unwrap_err();
    assert!(e.to_string().contains("blocks has them"), "{e}");

    let blocks = d.path().join("blocks");
    let e = BlockFiles::open(&blocks, Network::Bitcoin).unwrap_err();
    assert!(e.to_string().contains("not the magic f9beb4d9"), "{e}");
    write(&blocks, 0, &record(&fake_block(1, 100)), &[0; 8], 0);
    let e = BlockFiles::open(&blocks, Network::Regtest).unwrap_err();
    assert!(e.to_string().contains("not the genesis block"), "{e}");
    std::fs::write(blocks.join("xor.dat"), [1, 2, 3]).unwrap();
    let e = BlockFiles::open(&blocks, Network::Regtest).unwrap_err();
    assert!(e.to_string().contains("not an 8-byte key"), "{e}");
    std::fs::write(blocks.join("xor.dat"), KEY).unwrap();
    let e = BlockFiles::open(&blocks, Network::Regtest).unwrap_err();
    assert!(
        e.to_string().contains("not the magic"),
        "read with the key: {e}"
    );
    std::fs::write(blocks.join("blk00000.dat"), [1, 2]).unwrap();
    let e = BlockFiles::open(&blocks, Network::Regtest).unwrap_err();
    assert!(e.to_string().contains("shorter than a record"), "{e}");
    assert_eq!(file_number("blk00012.dat"), Some(12));
    assert_eq!(file_number("rev00012.dat"), None);
    assert_eq!(file_number("blk12.dat"), None);
}
