//! Any Range header against any body length: the gateway's parser never panics, and a range it
//! accepts lies inside the body and reads back the same when written as `bytes=a-b`.
//! The parser's file is compiled in directly: it depends on nothing, so the fuzz build stays
//! free of the server's stack (axum, the index, ffmpeg).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/server/src/range.rs"]
#[allow(dead_code)]
mod range;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (len, header) = data.split_at(8);
    let mut l = [0u8; 8];
    l.copy_from_slice(len);
    let len = u64::from_le_bytes(l);
    let header = String::from_utf8_lossy(header);
    if let Some((start, end)) = range::parse(&header, len) {
        assert!(start < end && end <= len, "{header:?} on {len}: {start}..{end}");
        let again = format!("bytes={start}-{}", end - 1);
        assert_eq!(range::parse(&again, len), Some((start, end)));
    }
});
