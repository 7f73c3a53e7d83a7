//! Any transaction: finding records never panics, and every record found round-trips through its
//! own carrier.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(tx) = bitcoin::consensus::deserialize::<bitcoin::Transaction>(data) else { return };
    for found in cvp::carrier::records_in_tx(&tx) {
        if let Ok(record) = found.record {
            let unit = record.encode();
            assert_eq!(cvp::Record::decode(&unit), Ok(record));
            let script = cvp::carrier::op_return_script(&unit);
            assert_eq!(cvp::carrier::op_return_unit(&script).as_deref(), Some(&unit[..]));
        }
    }
});
