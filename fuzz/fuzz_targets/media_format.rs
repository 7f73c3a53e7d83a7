//! Any bytes: the CVPM decoder never panics, and whatever decodes re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    media::format::fuzz_decode(data);
    let _ = media::format::Stream::decode_prefix(data);
});
