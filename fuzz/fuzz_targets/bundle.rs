//! Any bytes as a bundle stream (docs/cvp.md, "Bundles"): reading its index or the whole bundle
//! never panics; every path read is a bundle path, offsets stay inside the stream the index
//! describes, and a bundle that decodes re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((index, head)) = cvp::bundle::Index::decode(data) {
        assert!(head <= data.len());
        for e in &index.entries {
            assert!(cvp::bundle::valid_path(&e.path), "{:?}", e.path);
            assert!(e.offset >= head as u64 && e.offset + e.len <= index.total_len);
        }
    }
    if let Ok(b) = cvp::bundle::Bundle::decode(data) {
        assert_eq!(b.encode(), data, "decode -> encode must give back the stream");
    }
});
