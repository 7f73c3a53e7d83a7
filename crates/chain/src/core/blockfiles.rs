//! Bitcoin Core's block files (`blk*.dat`), read directly: a gateway beside a full node reads
//! blocks at the disk's speed instead of one REST call each.
//!
//! A block file is a run of records `magic(4) size(u32 LE) block(size)`; since Core 28 every
//! byte is XORed with the 8-byte key in `xor.dat` by its offset in the file. Core preallocates
//! files in 16 MiB chunks of zeros, and a crash can leave a record cut short or garbage behind.
//! The files are untrusted: a record that is not a record is skipped (the reader searches for the
//! next magic, as Core's `-reindex` does), never a panic.
//!
//! The index (block hash → file, offset, length) is built lazily: a block not yet indexed is looked
//! for by reading record headers forward from where the last search stopped, in the node's order,
//! indexing every header on the way. Only the 80-byte headers are read while searching; a block's
//! bytes are read when it is returned, and checked again then (record header and block hash), so a
//! file rewritten since it was indexed is noticed. A block not in the files is `None`: the caller
//! asks the node.

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::{BlockHash, Network};
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Core's MAX_BLOCK_SERIALIZED_SIZE: no record larger than this holds a block.
const MAX_RECORD: u32 = 4_000_000;
/// The smallest block: a header and a transaction count.
const MIN_RECORD: u32 = 81;
/// Record header and block header, what a search reads per record.
const PEEK: usize = 8 + 80;
/// How much a search for the next magic reads at a time.
const SEARCH_CHUNK: usize = 1 << 20;

/// Why a block directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockFilesError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// `xor.dat` is not an 8-byte key.
    #[error("{path} holds {len} bytes, not an 8-byte key")]
    XorKey {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// No `blk*.dat` in the directory.
    #[error("no blk*.dat in {path}{hint}: give the node's blocks directory (e.g. ~/.bitcoin/blocks or ~/.bitcoin/regtest/blocks)")]
    NoBlockFiles {
        /// The directory given.
        path: PathBuf,
        /// A sub-directory that has them, when there is one.
        hint: String,
    },
    /// The files are not this network's.
    #[error("{path} is not a {network} block file: {why}")]
    WrongNetwork {
        /// The first block file.
        path: PathBuf,
        /// The network expected.
        network: Network,
        /// What is wrong.
        why: String,
    },
}

/// Where a block is: its record starts at `pos` (the magic) and the block is `len` bytes after
/// the 8-byte record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    file: u32,
    pos: u64,
    len: u32,
}

/// What was served and skipped, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockFileStats {
    /// Blocks returned from the files.
    pub served: u64,
    /// Blocks asked for and not found in the files (the caller asked the node).
    pub missed: u64,
    /// Records indexed while searching.
    pub indexed: u64,
    /// Places where what should have been a record was not one (a search for the next magic
    /// followed), or an indexed record no longer held its block when read.
    pub skipped: u64,
}

/// The search's position and the index it built.
#[derive(Debug)]
struct Scan {
    /// Keyed by the hash's first 8 bytes; a read checks the whole hash.
    index: HashMap<u64, Loc>,
    file: u32,
    pos: u64,
    handle: Option<(u32, Arc<File>)>,
}

/// A node's block directory.
#[derive(Debug)]
pub struct BlockFiles {
    dir: PathBuf,
    key: [u8; 8],
    magic: [u8; 4],
    scan: Mutex<Scan>,
    reader: Mutex<Option<(u32, Arc<File>)>>,
    served: AtomicU64,
    missed: AtomicU64,
    indexed: AtomicU64,
    skipped: AtomicU64,
}

fn short(hash: &BlockHash) -> u64 {
    let b = hash.as_byte_array();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Undo Core's obfuscation of `buf`, which starts `offset` bytes into its file.
pub fn unxor(buf: &mut [u8], key: &[u8; 8], offset: u64) {
    if *key == [0; 8] {
        return;
    }
    let mut rot = [0u8; 8];
    for (j, r) in rot.iter_mut().enumerate() {
        *r = key[((offset + j as u64) % 8) as usize];
    }
    let k = u64::from_ne_bytes(rot);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ k).to_ne_bytes());
    }
    for (j, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= rot[j];
    }
}

/// `blkNNNNN.dat`'s number.
fn file_number(name: &str) -> Option<u32> {
    let n = name.strip_prefix("blk")?.strip_suffix(".dat")?;
    (n.len() >= 5 && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

/// The numbers of the block files in `dir`, in order.
fn list(dir: &Path) -> Result<Vec<u32>, std::io::Error> {
    let mut v: Vec<u32> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| file_number(&e.file_name().to_string_lossy()))
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// What one step of a search did.
enum Step {
    /// Indexed a record.
    Found(BlockHash, Loc),
    /// Moved past what is not a record.
    Moved,
    /// Reached the end of what is written.
    End,
}

/// What a search found at a record boundary.
enum Peek {
    /// A record whose block header hashes to this.
    Record(BlockHash, u32),
    /// Raw zeros: Core's preallocated, unwritten space.
    Unwritten,
    /// A record cut short by the end of the file.
    CutShort,
    /// Not a record.
    Garbage,
}

impl BlockFiles {
    /// Open the directory holding `blk*.dat` (and `xor.dat` on Core 28+) of a node on `network`.
    pub fn open(dir: &Path, network: Network) -> Result<Self, BlockFilesError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BlockFilesError::Io { path, source }
        };
        let numbers = list(dir).map_err(io(dir))?;
        let Some(&first) = numbers.first() else {
            let sub = dir.join("blocks");
            let hint = if list(&sub).is_ok_and(|v| !v.is_empty()) {
                format!(" (but {} has them)", sub.display())
            } else {
                String::new()
            };
            return Err(BlockFilesError::NoBlockFiles {
                path: dir.to_path_buf(),
                hint,
            });
        };
        let xor = dir.join("xor.dat");
        let key = match std::fs::read(&xor) {
            Ok(k) => <[u8; 8]>::try_from(k.as_slice()).map_err(|_| BlockFilesError::XorKey {
                path: xor.clone(),
                len: k.len() as u64,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => [0; 8],
            Err(e) => return Err(io(&xor)(e)),
        };
        let files = BlockFiles {
            dir: dir.to_path_buf(),
            key,
            magic: [0; 4],
            scan: Mutex::new(Scan {
                index: HashMap::new(),
                file: first,
                pos: 0,
                handle: None,
            }),
            reader: Mutex::new(None),
            served: AtomicU64::new(0),
            missed: AtomicU64::new(0),
            indexed: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        };
        let path = files.path(first);
        let wrong = |why: String| BlockFilesError::WrongNetwork {
            path: path.clone(),
            network,
            why,
        };
        let f = File::open(&path).map_err(io(&path))?;
        let mut head = [0u8; PEEK];
        f.read_exact_at(&mut head, 0)
            .map_err(|_| wrong("shorter than a record".into()))?;
        unxor(&mut head, &key, 0);
        let magic = [head[0], head[1], head[2], head[3]];
        // A custom signet has its own magic; every other network has the one rust-bitcoin knows.
        if network != Network::Signet && magic != network.magic().to_bytes() {
            return Err(wrong(format!(
                "it starts with {}, not the magic {}",
                hex::encode(magic),
                hex::encode(network.magic().to_bytes())
            )));
        }
        let genesis = bitcoin::constants::genesis_block(network).block_hash();
        let found = BlockHash::from_byte_array(sha256d::Hash::hash(&head[8..]).to_byte_array());
        if first == 0 && found != genesis {
            return Err(wrong(format!(
                "its first block is {found}, not the genesis block {genesis}"
            )));
        }
        Ok(BlockFiles { magic, ..files })
    }

    /// Whether the files are obfuscated (a non-zero `xor.dat`).
    pub fn obfuscated(&self) -> bool {
        self.key != [0; 8]
    }

    /// What was served and skipped so far.
    pub fn stats(&self) -> BlockFileStats {
        BlockFileStats {
            served: self.served.load(Ordering::Relaxed),
            missed: self.missed.load(Ordering::Relaxed),
            indexed: self.indexed.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }

    fn path(&self, file: u32) -> PathBuf {
        self.dir.join(format!("blk{file:05}.dat"))
    }

    /// The block `hash` from the files, or `None` when they do not hold it (not yet written,
    /// pruned, unreadable, rewritten): then the node must be asked.
    pub fn read(&self, hash: &BlockHash) -> Option<Vec<u8>> {
        let found = {
            let mut scan = self.scan.lock().unwrap_or_else(PoisonError::into_inner);
            match scan.index.get(&short(hash)) {
                Some(loc) => Some(*loc),
                None => self.search(&mut scan, hash),
            }
        };
        let got = found.and_then(|loc| match self.read_at(loc, hash) {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!("block {hash} in {}: {e}", self.path(loc.file).display());
                None
            }
        });
        match got {
            Some(_) => self.served.fetch_add(1, Ordering::Relaxed),
            None => self.missed.fetch_add(1, Ordering::Relaxed),
        };
        got
    }

    /// Read the block at `loc`, checking it still is the record of `hash`.
    fn read_at(&self, loc: Loc, hash: &BlockHash) -> Result<Option<Vec<u8>>, std::io::Error> {
        let file = {
            let mut cached = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
            match &*cached {
                Some((n, f)) if *n == loc.file => Arc::clone(f),
                _ => {
                    let f = Arc::new(File::open(self.path(loc.file))?);
                    *cached = Some((loc.file, Arc::clone(&f)));
                    f
                }
            }
        };
        let mut head = [0u8; 8];
        file.read_exact_at(&mut head, loc.pos)?;
        unxor(&mut head, &self.key, loc.pos);
        let mut block = vec![0u8; loc.len as usize];
        file.read_exact_at(&mut block, loc.pos + 8)?;
        unxor(&mut block, &self.key, loc.pos + 8);
        let same_record = head[..4] == self.magic && head[4..] == loc.len.to_le_bytes();
        if same_record && sha256d::Hash::hash(&block[..80]).as_byte_array() == hash.as_byte_array()
        {
            return Ok(Some(block));
        }
        self.skipped.fetch_add(1, Ordering::Relaxed);
        Ok(None)
    }

    /// Index records forward from the search's position until `hash` is found or the written part
    /// of the files ends. Problems reading are logged: the node is asked instead.
    fn search(&self, scan: &mut Scan, hash: &BlockHash) -> Option<Loc> {
        loop {
            match self.step(scan) {
                Ok(Step::Found(found, loc)) if found == *hash => return Some(loc),
                Ok(Step::Found(..) | Step::Moved) => {}
                Ok(Step::End) => return None,
                Err(e) => {
                    tracing::debug!("block files at {}: {e}", self.path(scan.file).display());
                    return None;
                }
            }
        }
    }

    /// The file after `file`, if there is one yet.
    fn next_file(&self, file: u32) -> Result<Option<u32>, std::io::Error> {
        if self.path(file + 1).exists() {
            return Ok(Some(file + 1));
        }
        Ok(list(&self.dir)?.into_iter().find(|n| *n > file))
    }

    /// The search's file, opened once.
    fn scan_file(&self, scan: &mut Scan) -> Result<Option<Arc<File>>, std::io::Error> {
        if let Some((n, f)) = &scan.handle {
            if *n == scan.file {
                return Ok(Some(Arc::clone(f)));
            }
        }
        match File::open(self.path(scan.file)) {
            Ok(f) => {
                let f = Arc::new(f);
                scan.handle = Some((scan.file, Arc::clone(&f)));
                Ok(Some(f))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One record at the search's position, indexed; or the position moved past what is not one.
    fn step(&self, scan: &mut Scan) -> Result<Step, std::io::Error> {
        let Some(file) = self.scan_file(scan)? else {
            // Pruned: go on to the next file there is.
            return Ok(match self.next_file(scan.file)? {
                Some(n) => {
                    (scan.file, scan.pos) = (n, 0);
                    Step::Moved
                }
                None => Step::End,
            });
        };
        let len = file.metadata()?.len();
        let peek = self.peek(&file, scan.pos, len)?;
        if let Peek::Record(hash, size) = peek {
            let loc = Loc {
                file: scan.file,
                pos: scan.pos,
                len: size,
            };
            scan.pos += 8 + u64::from(size);
            scan.index.insert(short(&hash), loc);
            self.indexed.fetch_add(1, Ordering::Relaxed);
            return Ok(Step::Found(hash, loc));
        }
        let next = self.next_file(scan.file)?;
        match (peek, next) {
            // The file the node is writing: what follows is not written yet.
            (Peek::Unwritten | Peek::CutShort, None) => Ok(Step::End),
            (Peek::Unwritten, Some(next)) if scan.pos >= len => {
                (scan.file, scan.pos) = (next, 0);
                Ok(Step::Moved)
            }
            // Not a record: on to the next magic in this file, or the next file.
            (_, next) => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                match (self.find_magic(&file, scan.pos + 1, len)?, next) {
                    (Some(at), _) => scan.pos = at,
                    (None, Some(next)) => (scan.file, scan.pos) = (next, 0),
                    (None, None) => {
                        // Nothing after it in the file being written: wait at its end.
                        scan.pos = len.saturating_sub(3).max(scan.pos);
                        return Ok(Step::End);
                    }
                }
                Ok(Step::Moved)
            }
        }
    }

    /// What is at `pos` in a file of `len` bytes.
    fn peek(&self, file: &File, pos: u64, len: u64) -> Result<Peek, std::io::Error> {
        if pos + 8 > len {
            return Ok(if pos >= len {
                Peek::Unwritten
            } else {
                Peek::CutShort
            });
        }
        let mut head = [0u8; PEEK];
        let n = (len - pos).min(PEEK as u64) as usize;
        file.read_exact_at(&mut head[..n], pos)?;
        let raw_zero = head[..8] == [0; 8];
        unxor(&mut head[..n], &self.key, pos);
        if head[..4] != self.magic {
            return Ok(if raw_zero {
                Peek::Unwritten
            } else {
                Peek::Garbage
            });
        }
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if !(MIN_RECORD..=MAX_RECORD).contains(&size) {
            return Ok(Peek::Garbage);
        }
        if n < PEEK || pos + 8 + u64::from(size) > len {
            return Ok(Peek::CutShort);
        }
        let hash = BlockHash::from_byte_array(sha256d::Hash::hash(&head[8..]).to_byte_array());
        Ok(Peek::Record(hash, size))
    }

    /// The offset of the next magic at or after `from`, reading a chunk at a time.
    fn find_magic(&self, file: &File, from: u64, len: u64) -> Result<Option<u64>, std::io::Error> {
        let mut buf = vec![0u8; SEARCH_CHUNK];
        let mut at = from;
        while at + 4 <= len {
            let n = (len - at).min(SEARCH_CHUNK as u64) as usize;
            file.read_exact_at(&mut buf[..n], at)?;
            unxor(&mut buf[..n], &self.key, at);
            if let Some(i) = buf[..n].windows(4).position(|w| w == self.magic) {
                return Ok(Some(at + i as u64));
            }
            // The magic may straddle two chunks.
            at += (n as u64).saturating_sub(3).max(1);
        }
        Ok(None)
    }
}

#[cfg(test)]
#[path = "blockfiles_tests.rs"]
mod tests;
