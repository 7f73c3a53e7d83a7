//! Bundles (docs/cvp.md, "Bundles"): several files in one content, addressed by relative path,
//! such as an HTML/JS/WASM app with its entry page. I/O-free: [`Bundle::encode`] writes the
//! stream, [`Index::decode`] reads its index from a prefix of one (no file bytes needed), and
//! [`Bundle::decode`] reads a whole stream, rejecting trailing bytes.

use crate::cursor::{put_bytes, Cursor};
use crate::{varint, DecodeError};

/// The media type a bundle content declares.
pub const BUNDLE_MEDIA_TYPE: &str = "application/x-cvp-bundle";
/// The magic a bundle stream starts with.
pub const BUNDLE_MAGIC: [u8; 4] = *b"CVPB";
/// The bundle format version this crate writes and reads.
pub const BUNDLE_VERSION: u8 = 1;
/// Most files a bundle may hold.
pub const MAX_FILES: u64 = 10_000;
/// Longest path, in bytes.
pub const MAX_PATH: usize = 255;
/// Longest media type, in bytes.
pub const MAX_TYPE: usize = 127;

/// One file of a bundle, as its index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The relative path (segments joined by `/`).
    pub path: String,
    /// The media type its publisher declares (hostile: readers map it through fixed tables).
    pub media_type: String,
    /// Where its bytes start in the stream.
    pub offset: u64,
    /// How many bytes it has.
    pub len: u64,
}

/// A bundle's index: its files, the first of which is the entry page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The files, in stream order.
    pub entries: Vec<Entry>,
    /// The length of the whole stream the index describes.
    pub total_len: u64,
}

/// A whole bundle: paths, media types and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// `(path, media type, bytes)`; the first is the entry page.
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// Whether `path` is a bundle path: 1 to 255 bytes of `/`-separated segments, none empty, `.` or
/// `..`, without `\`, control characters, `?` or `#` (so every path is one URL path, resolved
/// relative to the bundle and nowhere else).
pub fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= MAX_PATH
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
        && !path
            .chars()
            .any(|c| c.is_control() || matches!(c, '\\' | '?' | '#'))
}

impl Index {
    /// Read the index from `prefix`, the first bytes of a bundle stream (at least the index's
    /// own; `Truncated` asks for more). Checks every path, that paths are unique, and that the
    /// lengths add up without overflow. Returns the index and its length in bytes.
    pub fn decode(prefix: &[u8]) -> Result<(Index, usize), DecodeError> {
        let mut c = Cursor::new(prefix);
        if c.bytes(4, "bundle magic")? != BUNDLE_MAGIC {
            return Err(DecodeError::Inconsistent("not a bundle (no CVPB magic)"));
        }
        let version = c.bytes(1, "bundle version")?[0];
        if version != BUNDLE_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let n = c.varint_in("file count", 1, MAX_FILES)?;
        let mut entries: Vec<Entry> = Vec::new();
        let mut paths = std::collections::HashSet::new();
        let mut offset = 0u64;
        for _ in 0..n {
            let path = c.string("file path")?;
            if !valid_path(&path) {
                return Err(DecodeError::Inconsistent(
                    "a file path is not a bundle path",
                ));
            }
            if !paths.insert(path.clone()) {
                return Err(DecodeError::Inconsistent("two files have the same path"));
            }
            let media_type = c.string("file media type")?;
            if media_type.len() > MAX_TYPE {
                return Err(DecodeError::Inconsistent(
                    "a file media type is over 127 bytes",
                ));
            }
            let len = c.varint()?;
            entries.push(Entry {
                path,
                media_type,
                offset,
                len,
            });
            offset = offset
                .checked_add(len)
                .filter(|o| *o <= crate::MAX_TOTAL_LENGTH)
                .ok_or(DecodeError::Inconsistent(
                    "the files add up past 2^40 bytes",
                ))?;
        }
        let head = prefix.len() - c.remaining();
        for e in &mut entries {
            e.offset += head as u64;
        }
        let total_len = offset + head as u64;
        Ok((Index { entries, total_len }, head))
    }

    /// The file at `path`.
    pub fn find(&self, path: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.path == path)
    }

    /// The entry page (the first file).
    pub fn entry(&self) -> Option<&Entry> {
        self.entries.first()
    }
}

impl Bundle {
    /// The stream: magic, version, the index, then every file's bytes in order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = BUNDLE_MAGIC.to_vec();
        out.push(BUNDLE_VERSION);
        varint::write(&mut out, self.files.len() as u64);
        for (path, media_type, bytes) in &self.files {
            put_bytes(&mut out, path.as_bytes());
            put_bytes(&mut out, media_type.as_bytes());
            varint::write(&mut out, bytes.len() as u64);
        }
        for (_, _, bytes) in &self.files {
            out.extend_from_slice(bytes);
        }
        out
    }

    /// Read a whole stream: its index, then exactly the bytes it lists (no more, no fewer).
    pub fn decode(stream: &[u8]) -> Result<Bundle, DecodeError> {
        let (index, _) = Index::decode(stream)?;
        match (stream.len() as u64).cmp(&index.total_len) {
            std::cmp::Ordering::Less => return Err(DecodeError::Truncated("bundle files")),
            std::cmp::Ordering::Greater => {
                return Err(DecodeError::TrailingBytes {
                    record: "bundle",
                    count: (stream.len() as u64 - index.total_len) as usize,
                })
            }
            std::cmp::Ordering::Equal => {}
        }
        let files = index
            .entries
            .into_iter()
            .map(|e| {
                let (a, b) = (e.offset as usize, (e.offset + e.len) as usize);
                (e.path, e.media_type, stream[a..b].to_vec())
            })
            .collect();
        Ok(Bundle { files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        Bundle {
            files: vec![
                (
                    "index.html".into(),
                    "text/html".into(),
                    b"<p>hi</p>".to_vec(),
                ),
                (
                    "js/app.js".into(),
                    "text/javascript".into(),
                    b"1+1".to_vec(),
                ),
            ],
        }
    }

    #[test]
    fn round_trip_and_offsets() {
        let b = sample();
        let s = b.encode();
        assert_eq!(Bundle::decode(&s).unwrap(), b);
        let (ix, head) = Index::decode(&s).unwrap();
        let app = ix.find("js/app.js").unwrap();
        assert_eq!(&s[app.offset as usize..][..app.len as usize], b"1+1");
        assert_eq!(ix.entry().unwrap().path, "index.html");
        assert_eq!(ix.total_len as usize, s.len());
        assert!(head < s.len());
    }

    #[test]
    fn paths_that_leave_the_bundle_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "a//b",
            "../x",
            "a/./b",
            "a\\b",
            "a?b",
            "a#b",
            "a\nb",
        ] {
            assert!(!valid_path(bad), "{bad:?}");
        }
        assert!(valid_path("assets/sprites/hero.png"));
        let mut b = sample();
        b.files[1].0 = "../app.js".into();
        assert!(Index::decode(&b.encode()).is_err());
        b.files[1].0 = "index.html".into();
        assert_eq!(
            Index::decode(&b.encode()),
            Err(DecodeError::Inconsistent("two files have the same path"))
        );
    }

    #[test]
    fn truncated_and_trailing_streams_are_refused() {
        let s = sample().encode();
        assert_eq!(
            Bundle::decode(&s[..s.len() - 1]),
            Err(DecodeError::Truncated("bundle files"))
        );
        let mut long = s.clone();
        long.push(0);
        assert!(matches!(
            Bundle::decode(&long),
            Err(DecodeError::TrailingBytes { count: 1, .. })
        ));
        // A prefix that ends inside the index asks for more.
        assert!(matches!(
            Index::decode(&s[..8]),
            Err(DecodeError::Truncated(_))
        ));
    }
}
