//! Any bytes: decoding never panics, and whatever decodes re-encodes to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = cvp::Record::decode(data) {
        assert_eq!(record.encode(), data, "decode -> encode must give back the unit");
    }
});
