//! Any sequence of units fed to a reassembler: no panic, no allocation beyond the input, and a
//! stream that finishes always matches the header's root.
//!
//! The first byte picks one of three parts of the input space (its value modulo 3):
//! - 0: units as they come, `[len][unit without the signature]...` (header, segments, hash lists,
//!   end records, all from the fuzzer; the seeds in `seeds/assembler` are in this form);
//! - 1: a stream this target makes (length, contents and unit size from the input), prepared by
//!   cvp (`chunk::prepare`: header, hash lists, segments), whose records are then fed in an order
//!   the input chooses, some left out, repeated, or with one byte changed, and optionally all of
//!   them again, unchanged, at the end;
//! - 2: a hostile publisher: segments of any lengths the input chooses, under a header with a
//!   correct root over them and a segment size and total length that may be left out, given or
//!   wrong; every segment fed.
//!
//! Whenever `finish` yields a stream, the stream is cut again with cvp's own chunking under the
//! header's segment size, and the Merkle root of those segments must be the header's (and the
//! length the header's). A generated stream must also be exactly the original bytes, and when
//! every record was fed unchanged and none was ever changed, it must finish.
#![no_main]
use cvp::{chunk, merkle, Assembler, ChunkPlan, ContentInfo, Record};
use libfuzzer_sys::fuzz_target;

/// Decode one whole unit and give it to the assembler (the first header starts one).
fn feed(asm: &mut Option<Assembler>, unit: &[u8]) {
    match (Record::decode(unit), asm.as_mut()) {
        (Ok(Record::Header(h)), None) => *asm = Some(Assembler::new(h)),
        (Ok(Record::Segment(s)), Some(a)) => {
            let _ = a.add(s);
        }
        (Ok(Record::SegmentHashes(h)), Some(a)) => {
            let _ = a.add_hashes(&h);
        }
        (Ok(Record::End(e)), Some(a)) => {
            let _ = a.apply_end(&e);
        }
        _ => {}
    }
}

/// The stream, if the assembler finishes it, after checking it against the header's root by
/// cvp's own chunking and Merkle tree.
fn finished(a: &Assembler) -> Option<Vec<u8>> {
    let _ = a.verified_prefix();
    let bytes = a.finish().ok()?;
    let h = a.header();
    let root = h.merkle_root.expect("finish verified against a root, so there is one");
    let count = h.segment_count.expect("a finished stream has a segment count");
    if let Some(total) = h.total_length {
        assert_eq!(bytes.len() as u64, total, "the header's total length");
    }
    // The cut the header fixes: its segment size, or a single segment (at most) without one.
    let size = match h.segment_size {
        Some(size) => Some(size),
        None if count <= 1 => Some(u32::try_from(bytes.len()).unwrap_or(u32::MAX).max(1)),
        None => None, // segments of any size: nothing to cut by
    };
    if let Some(segment_size) = size {
        let plan = ChunkPlan {
            segment_size,
            segment_count: count,
        };
        let payloads: Vec<Vec<u8>> = chunk::segments(&bytes, plan).map(|s| s.payload).collect();
        assert_eq!(payloads.len() as u64, u64::from(count), "segment count");
        assert_eq!(merkle::root(&payloads), root, "the finished stream matches the root");
    }
    Some(bytes)
}

fn raw_units(data: &[u8]) {
    let mut asm = None;
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let mut full = cvp::SIGNATURE.to_vec();
        full.extend_from_slice(&tail[..n]);
        feed(&mut asm, &full);
        rest = &tail[n..];
    }
    if let Some(a) = asm {
        finished(&a);
    }
}

fn generated(data: &[u8]) {
    let [flags, l0, l1, u0, u1, seed, ops @ ..] = data else {
        return;
    };
    let len = usize::from(u16::from_le_bytes([*l0, *l1])) % 16_384;
    let max_unit = 10 + usize::from(u16::from_le_bytes([*u0, *u1])) % 1_500;
    let stream = noise(*seed, len);
    let info = ContentInfo {
        media_type: "application/octet-stream".into(),
        ..ContentInfo::default()
    };
    let prepared = chunk::prepare(&stream, info, max_unit).expect("16 KB in units of 10+ bytes");
    let units: Vec<Vec<u8>> = prepared.records().map(|r| r.encode()).collect();
    let (header, rest) = units.split_first().expect("the header comes first");
    let mut asm = None;
    feed(&mut asm, header);
    let mut fed = vec![false; rest.len()];
    let mut changed = false;
    for op in ops.chunks_exact(3) {
        if rest.is_empty() {
            break;
        }
        let pick = usize::from(u16::from_le_bytes([op[0], op[1]] )) % rest.len();
        let unit = &rest[pick];
        match op[2] % 4 {
            // A byte changed (anywhere: the signature, the type, the index or the payload).
            0 => {
                let mut bad = unit.clone();
                let at = usize::from(op[2] >> 2) * 7919 % bad.len();
                bad[at] ^= 1 << (op[0] % 8);
                changed |= bad != *unit;
                feed(&mut asm, &bad);
            }
            // Twice.
            1 => {
                feed(&mut asm, unit);
                feed(&mut asm, unit);
                fed[pick] = true;
            }
            _ => {
                feed(&mut asm, unit);
                fed[pick] = true;
            }
        }
    }
    if flags & 1 != 0 {
        // Everything again, unchanged, last record first.
        for unit in rest.iter().rev() {
            feed(&mut asm, unit);
        }
        fed.iter_mut().for_each(|f| *f = true);
    }
    let a = asm.expect("our own header decodes");
    match finished(&a) {
        Some(bytes) => assert!(bytes == stream, "a finished stream is the original"),
        None => assert!(
            changed || fed.contains(&false),
            "every record fed unchanged, none altered, and the stream did not finish"
        ),
    }
}

/// Deterministic bytes from a seed (xorshift64).
fn noise(seed: u8, len: usize) -> Vec<u8> {
    let mut x = u64::from(seed) | 0x9e37_79b9_0000_0000;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hostile(data: &[u8]) {
    let [flags, size, seed, lens @ ..] = data else {
        return;
    };
    let payloads: Vec<Vec<u8>> = lens
        .iter()
        .take(64)
        .enumerate()
        .map(|(i, &n)| noise(seed.wrapping_add(i as u8), usize::from(n)))
        .collect();
    let total: u64 = payloads.iter().map(|p| p.len() as u64).sum();
    let first = payloads.first().map_or(1, |p| p.len().max(1) as u32);
    let header = cvp::Header {
        media_type: "x".into(),
        total_length: (flags & 1 != 0).then_some(total),
        segment_count: Some(payloads.len() as u32),
        merkle_root: Some(merkle::root(&payloads)),
        segment_size: match flags >> 1 & 3 {
            0 => None,
            1 => Some(first),
            _ => Some(u32::from(*size).max(1)),
        },
        ..cvp::Header::default()
    };
    let mut asm = None;
    feed(&mut asm, &Record::Header(header).encode());
    let Some(a) = asm.as_mut() else {
        return; // a header that does not decode (its fields do not fit together)
    };
    for (index, payload) in payloads.into_iter().enumerate() {
        let _ = a.add(cvp::Segment {
            index: index as u32,
            payload,
        });
    }
    finished(a);
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((&mode, rest)) if mode % 3 == 1 => generated(rest),
        Some((&mode, rest)) if mode % 3 == 2 => hostile(rest),
        Some((_, rest)) => raw_units(rest),
        None => {}
    }
});
